// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// dirigoadm's output: protocol replies turned into text laid out column for column as ipvsadm
/// prints it, so that scripts which parse `ipvsadm -Ln`, `--stats`, `--rate`, `-c`, `-S` or
/// `--timeout` output work unchanged. Every function here is pure: it takes reply values and
/// returns text. Name lookups (listings without -n) go through a Namer that the caller supplies,
/// so tests use a fake one and numeric output never looks anything up.
/// The only deliberate difference from ipvsadm is the first line of a full listing,
/// "Dirigo Virtual Server version X (size=N)".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/model.hpp"
#include "config/status.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl::cli {

/// Output switches: ipvsadm's FMT_* flags. When several table layouts are asked for, the first
/// of stats, rate, thresholds, persistent_conn, tun_info wins, as in ipvsadm.
struct FormatOpts {
    bool numeric = false;          ///< -n: no name lookups
    bool stats = false;            ///< --stats
    bool rate = false;             ///< --rate
    bool thresholds = false;       ///< --thresholds
    bool persistent_conn = false;  ///< --persistent-conn
    bool nosort = false;           ///< --nosort: keep the daemon's order
    bool exact = false;            ///< --exact: no K/M/G/T scaling
    bool tun_info = false;         ///< --tun-info: a TunnelInfo column
    /// Field-wise equality (for tests).
    bool operator==(const FormatOpts&) const = default;
};

/// Reverse lookups for listings without -n. Return nullopt to print the number instead.
class Namer {
public:
    virtual ~Namer() = default;
    /// Host name of `addr` (host byte order).
    virtual std::optional<std::string> host(cfg::Ip4 addr) const = 0;
    /// Service name of `port` for `proto` ("http" for tcp/80).
    virtual std::optional<std::string> service(uint16_t port, cfg::Proto proto) const = 0;
};

/// A Namer that knows no names: every address and port prints as a number.
class NumericNamer final : public Namer {
public:
    /// Always nullopt.
    std::optional<std::string> host(cfg::Ip4) const override { return std::nullopt; }
    /// Always nullopt.
    std::optional<std::string> service(uint16_t, cfg::Proto) const override { return std::nullopt; }
};

/// "10.0.0.1:80", or "web1:http" when not numeric and `namer` knows the names.
/// Thread: any. Cost: two Namer calls unless numeric.
std::string format_addr_port(cfg::Ip4 addr, uint16_t port, cfg::Proto proto, const FormatOpts& opts,
                             const Namer& namer);
/// Either family: an IPv6 endpoint is bracketed, "[2001:db8::1]:80", as ipvsadm prints it. IPv6
/// addresses are not resolved to names (the port is, without -n).
/// Thread: any. Cost: one Namer call unless numeric.
std::string format_addr_port(cfg::Family af, cfg::Ip4 addr, const cfg::Ip6& addr6, uint16_t port,
                             cfg::Proto proto, const FormatOpts& opts, const Namer& namer);

/// ipvsadm's print_largenum: a 9-column right-aligned number, scaled to K/M/G/T (decimal)
/// above 99,999,999 unless `exact`; exact numbers widen the column when they need more than 8
/// digits. Thread: any. O(1).
std::string format_largenum(uint64_t v, bool exact);

/// "Dirigo Virtual Server version 0.1.0 (size=1048576)\n", from a Ping reply.
std::string format_banner(const Info& info);

/// The two title lines of a service table for `opts` (ipvsadm's print_title).
std::string format_title(const FormatOpts& opts);

/// One service and its real servers in the layout `opts` selects (ipvsadm's
/// print_service_entry). Real servers are sorted by address then port unless nosort.
std::string format_service(const ServiceInfo& svc, const FormatOpts& opts, const Namer& namer);

/// `dirigoadm -L [-n] [--stats|--rate|...]`: banner, title, then every service, sorted by
/// protocol, address and port unless nosort. Thread: any. Cost: O(n log n) in services + dests.
std::string format_list(const Info& info, const std::vector<ServiceInfo>& services,
                        const FormatOpts& opts, const Namer& namer);

/// `dirigoadm -S [-n]`: the rules as `-A ...` / `-a ...` lines that `dirigoadm -R` (and
/// ipvsadm -R) reads back.
std::string format_save(const std::vector<ServiceInfo>& services, const FormatOpts& opts,
                        const Namer& namer);

/// `dirigoadm -L -c [-n]`: "IPVS connection entries" and one line per connection.
/// The mark rules in order, one `--add-mark` command a line (without the program name), so
/// that `dirigoadm --list-marks | dirigoadm -R` restores them. Thread: any. O(rules).
std::string format_marks(const std::vector<cfg::MarkRule>& marks);

std::string format_conns(const std::vector<ConnInfo>& conns, const FormatOpts& opts,
                         const Namer& namer);

/// `dirigoadm -L --timeout`: "Timeout (tcp tcpfin udp): 900 120 300\n".
std::string format_timeouts(const cfg::TimeoutCfg& t);

// ---- dirigo's views (beyond ipvsadm, in its style) ----
// Counters are scaled as with --stats (format_largenum) unless --exact. Lists are sorted unless
// --nosort: ports by port id, workers by id, neighbours by address, routes by destination then
// prefix length.

/// A link speed for the Speed column: "10G", "2.5G", "100M", or "-" when unknown (0).
/// Thread: any. O(1).
std::string link_speed_text(uint32_t mbps);

/// The Busy% column: busy_loops * 100 / loops with one decimal ("37.5"), rounded to nearest;
/// "-" when the worker has not looped yet. Busy loops above loops (two relaxed reads of a running
/// worker) count as 100.0. Thread: any. O(1).
std::string busy_percent_text(uint64_t busy_loops, uint64_t loops);

/// `dirigoadm --list-ports`: one line per port (name, device, link, speed, MTU, queues, packet
/// and error counters), a second line with its port id, MAC, byte counters and addresses, then
/// "Drops by reason" with the non-zero reasons in the daemon's order (every reason with --exact).
/// Thread: any. Cost: O(ports + addresses + drops).
std::string format_ports(const std::vector<PortView>& ports, const std::vector<DropView>& drops,
                         const FormatOpts& opts);

/// `dirigoadm --list-workers`: one line per worker with its lcore, packets, drops, busy ratio
/// and connections (live, created, handed off to their owner, taken over from other workers),
/// then the sleeps it took while idle (adaptive polling; 0 when busy-polling).
/// Thread: any. Cost: O(workers log workers).
std::string format_workers(const std::vector<WorkerView>& workers, const FormatOpts& opts);

/// `dirigoadm --list-neighbours`: address (a host name through `namer` unless numeric), MAC ("-"
/// while unresolved), port and state ("resolved", "incomplete" or "failed", as `ip neigh` says).
/// Thread: any. Cost: O(n log n) plus one Namer call per entry unless numeric.
std::string format_neighbours(const std::vector<NeighbourView>& neighbours, const FormatOpts& opts,
                              const Namer& namer);

/// `dirigoadm --list-routes`: destination prefix, gateway ("via 10.0.0.254", the gateway named
/// through `namer` unless numeric, or "connected") and port.
/// Thread: any. Cost: O(n log n) plus one Namer call per gateway unless numeric.
std::string format_routes(const std::vector<RouteView>& routes, const FormatOpts& opts,
                          const Namer& namer);

/// The scheduler flags of a service as ipvsadm names them for -b and prints them in listings
/// ("sh-fallback,sh-port", "flag-1"); empty when none is set.
std::string sched_flags_text(const cfg::Service& svc);

/// The message dirigoadm prints when the daemon refuses `op` with `code`. Codes that ipvsadm
/// scripts may test for print ipvsadm's exact words ("Service not defined", "No such service",
/// "Destination already exists", ...); other codes print the daemon's own message.
/// For a Batch (dirigoadm -R) the daemon's message is preferred because it names the rule.
/// `-L --daemon`: ipvsadm 1.31's lines, one per running sync daemon, e.g.
/// "master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)".
std::string format_daemons(const std::vector<DaemonView>& daemons);

std::string error_message(Op op, Errc code, std::string_view daemon_message);

/// `dirigoadm -h`.
std::string usage_text(std::string_view program);

/// The first line of `dirigoadm -h`: "dirigoadm v0.1.0 (ipvsadm v1.31 compatible command
/// line)\n".
std::string version_text();
/// `dirigoadm -v`, with the version the daemon answered, in ipvsadm's "(compiled with popt and
/// IPVS v1.2.1)" place: "dirigoadm v0.1.0 (ipvsadm v1.31 compatible command line and dirigo
/// v0.1.0)\n".
std::string version_text(std::string_view daemon_version);

}  // namespace dirigo::ctl::cli
