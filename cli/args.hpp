// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// dirigoadm's command line: ipvsadm's syntax (commands, options, bundled short options such as
/// -Ln, optional -p timeout, --set's three values, ipvsadm's table of which option goes with which
/// command, and its error messages and exit codes) turned into a protocol Request plus output
/// switches by a pure function. Nothing here touches the network or the process environment: the
/// caller passes the default socket path and a Resolver for host and port names, so every path is
/// unit-testable (tests/unit/cli/args_test.cpp).
///
/// Exit codes follow ipvsadm: 2 for a bad argument, 255 for an unknown option or a missing command
/// (with the "Try `dirigoadm -h'" hint).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/model.hpp"
#include "cli/format.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl::cli {

/// The socket dirigoadm talks to when neither --socket nor DIRIGO_SOCKET says otherwise.
inline constexpr std::string_view kDefaultSocket = "/run/dirigo/dirigo.sock";

/// Longest persistence or protocol timeout ipvsadm accepts: 31 days, in seconds.
inline constexpr uint32_t kMaxTimeout = 86400 * 31;
/// ipvsadm's default persistence timeout for a bare -p, in seconds.
inline constexpr uint32_t kDefaultPersistTimeout = 300;
/// Highest weight ipvsadm accepts.
inline constexpr int32_t kMaxWeight = 65535;

/// The ipvsadm command given.
enum class Command : uint8_t {
    List,         ///< -L, -l, --list (also: no arguments at all)
    AddService,   ///< -A, --add-service
    EditService,  ///< -E, --edit-service
    DelService,   ///< -D, --delete-service
    Clear,        ///< -C, --clear
    AddServer,    ///< -a, --add-server
    EditServer,   ///< -e, --edit-server
    DelServer,    ///< -d, --delete-server
    SetTimeouts,  ///< --set tcp tcpfin udp
    Restore,      ///< -R, --restore (rules on stdin, see parse_restore)
    Save,         ///< -S, --save
    Zero,         ///< -Z, --zero
    Help,         ///< -h, --help
    Version,      ///< -v, --version
    StartDaemon,  ///< --start-daemon master|backup [daemon options]
    StopDaemon,   ///< --stop-daemon master|backup
    // dirigo's own views, beyond ipvsadm: long options only, so ipvsadm's letters stay its own.
    ListPorts,       ///< --list-ports: ports, their counters, drops by reason
    ListWorkers,     ///< --list-workers: per-worker packets, busy ratio, connections
    ListNeighbours,  ///< --list-neighbours (or --list-neighbors): the ARP table
    ListRoutes,      ///< --list-routes: the route table
    // Firewall mark rules (Dirigo's stand-in for iptables' MARK target, for -f services).
    AddMark,    ///< --add-mark -t|-u|--tcp-udp ADDR[/LEN][:PORTS] --mark N
    DelMark,    ///< --del-mark -t|-u|--tcp-udp ADDR[/LEN][:PORTS] [--mark N]
    ListMarks,  ///< --list-marks: the rules, as --add-mark commands
};

/// What a List command shows.
enum class ListWhat : uint8_t {
    All,       ///< every service, with the banner line (sends Ping, then List)
    Service,   ///< the one service given with -t/-u, without the banner
    Conns,     ///< -c: the connection table
    Timeouts,  ///< --timeout
    Daemon,    ///< --daemon: the running connection sync daemons
};

/// A parsed command line.
struct Invocation {
    Command cmd = Command::List;
    ListWhat list = ListWhat::All;
    FormatOpts fmt;
    /// What to send. For changes it is complete; for List/Save it is the List (or ListConns,
    /// GetTimeouts) request; for the views their List* op; unused for Help, Version and Restore.
    Request request;
    std::string socket;         ///< socket path: --socket, else the ParseEnv default
    bool socket_given = false;  ///< --socket was on the command line
};

/// A command line that cannot run: what to print on stderr and the exit code.
struct ArgError {
    int exit_code = 2;
    std::string message;
    bool try_help = false;  ///< follow the message with "Try `dirigoadm -h' ..."
};

/// A value or the ArgError that explains its absence.
template <class T>
class Outcome {
public:
    /// Success. Thread: any. Cost: a move.
    Outcome(T v) : v_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
    /// Failure. Thread: any. Cost: a move.
    Outcome(ArgError e) : v_(std::move(e)) {}  // NOLINT(google-explicit-constructor)
    /// True when there is a value.
    bool ok() const { return std::holds_alternative<T>(v_); }
    /// The value; only when ok().
    T& value() { return std::get<T>(v_); }
    /// The value; only when ok().
    const T& value() const { return std::get<T>(v_); }
    /// The error; only when !ok().
    const ArgError& error() const { return std::get<ArgError>(v_); }

private:
    std::variant<T, ArgError> v_;
};

/// Forward name lookups for addresses and ports given as names (ipvsadm resolves these
/// whether or not -n is given; -n only affects output).
class Resolver {
public:
    virtual ~Resolver() = default;
    /// IPv4 address of host `name` (host byte order), or nullopt.
    virtual std::optional<cfg::Ip4> host(std::string_view name) const = 0;
    /// Port number of service `name` for `proto` ("http" -> 80), or nullopt.
    virtual std::optional<uint16_t> service(std::string_view name, cfg::Proto proto) const = 0;
};

/// A Resolver that knows no names: only dotted quads and numeric ports parse.
class NumericResolver final : public Resolver {
public:
    /// Always nullopt.
    std::optional<cfg::Ip4> host(std::string_view) const override { return std::nullopt; }
    /// Always nullopt.
    std::optional<uint16_t> service(std::string_view, cfg::Proto) const override {
        return std::nullopt;
    }
};

/// What parse_args needs from outside the command line.
struct ParseEnv {
    std::string socket = std::string(kDefaultSocket);  ///< DIRIGO_SOCKET or kDefaultSocket
    const Resolver* resolver = nullptr;                ///< nullptr: numeric names only
};

/// argv without argv[0] -> Invocation. No arguments means `-L` (as ipvsadm lists the table).
/// Thread: any. Cost: O(arguments) plus resolver calls for names.
Outcome<Invocation> parse_args(std::span<const std::string> args, const ParseEnv& env);

/// `dirigoadm -R` input (ipvsadm-save format: one command per line without the program name,
/// e.g. "-A -t 10.0.0.1:80 -s rr"; blank lines and lines starting with '#' are skipped) -> one
/// Batch request, so the daemon applies all of it or none of it. Only commands that change rules
/// are allowed (-A -E -D -C -a -e -d --set); -Z is refused, counters not being rules. Errors name
/// the line: "line 3: illegal weight specified". Thread: any. Cost: O(input).
Outcome<Request> parse_restore(std::string_view text, const Resolver* resolver);

/// Splits one line into words at blanks; '...' and "..." quote blanks. Used by parse_restore.
std::vector<std::string> split_words(std::string_view line);

}  // namespace dirigo::ctl::cli
