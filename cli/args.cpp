// SPDX-License-Identifier: BSD-3-Clause
#include "cli/args.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>

#include "config/addr.hpp"
#include "schedulers/names.hpp"

namespace dirigo::ctl::cli {

namespace {

// ---- the option table ----

enum class ArgKind : uint8_t { None, Required, Optional };

enum class Tag : uint8_t {
    Command,  // a command: Spec::cmd says which
    // options
    Tcp,
    Udp,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ops,
    SchedFlags,
    Socket,
    Fwmark,
    TcpUdp,  // --tcp-udp: a mark rule for both protocols
    Mark,    // --mark N
    // ipvsadm options that dirigo does not implement
    Sctp,
    Ipv6,
    Pe,
    StartDaemon,
    StopDaemon,
    McastInterface,
    SyncId,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
};

struct Spec {
    char short_name;  // '\0': long only
    std::string_view long_name;
    ArgKind arg;
    Tag tag;
    Command cmd = Command::List;  // for Tag::Command
};

constexpr ArgKind kNo = ArgKind::None;
constexpr ArgKind kReq = ArgKind::Required;
constexpr ArgKind kOpt = ArgKind::Optional;

// ipvsadm 1.31's popt table, plus --socket and dirigo's views (long options only: a letter of our
// own could collide with one a later ipvsadm takes).
constexpr std::array kSpecs = {
    Spec{'A', "add-service", kNo, Tag::Command, Command::AddService},
    Spec{'E', "edit-service", kNo, Tag::Command, Command::EditService},
    Spec{'D', "delete-service", kNo, Tag::Command, Command::DelService},
    Spec{'C', "clear", kNo, Tag::Command, Command::Clear},
    Spec{'L', "list", kNo, Tag::Command, Command::List},
    Spec{'l', "list", kNo, Tag::Command, Command::List},
    Spec{'Z', "zero", kNo, Tag::Command, Command::Zero},
    Spec{'a', "add-server", kNo, Tag::Command, Command::AddServer},
    Spec{'e', "edit-server", kNo, Tag::Command, Command::EditServer},
    Spec{'d', "delete-server", kNo, Tag::Command, Command::DelServer},
    Spec{'\0', "set", kNo, Tag::Command, Command::SetTimeouts},
    Spec{'h', "help", kNo, Tag::Command, Command::Help},
    Spec{'v', "version", kNo, Tag::Command, Command::Version},
    Spec{'R', "restore", kNo, Tag::Command, Command::Restore},
    Spec{'S', "save", kNo, Tag::Command, Command::Save},
    Spec{'\0', "start-daemon", kReq, Tag::StartDaemon},
    Spec{'\0', "stop-daemon", kReq, Tag::StopDaemon},
    Spec{'t', "tcp-service", kReq, Tag::Tcp},
    Spec{'u', "udp-service", kReq, Tag::Udp},
    Spec{'\0', "sctp-service", kReq, Tag::Sctp},
    Spec{'f', "fwmark-service", kReq, Tag::Fwmark},
    Spec{'s', "scheduler", kReq, Tag::Scheduler},
    Spec{'p', "persistent", kOpt, Tag::Persistent},
    Spec{'M', "netmask", kReq, Tag::Netmask},
    Spec{'r', "real-server", kReq, Tag::Server},
    Spec{'m', "masquerading", kNo, Tag::Masq},
    Spec{'i', "ipip", kNo, Tag::Ipip},
    Spec{'g', "gatewaying", kNo, Tag::Gate},
    Spec{'w', "weight", kReq, Tag::Weight},
    Spec{'x', "u-threshold", kReq, Tag::UThreshold},
    Spec{'y', "l-threshold", kReq, Tag::LThreshold},
    Spec{'n', "numeric", kNo, Tag::Numeric},
    Spec{'c', "connection", kNo, Tag::Connection},
    Spec{'\0', "mcast-interface", kReq, Tag::McastInterface},
    Spec{'\0', "syncid", kReq, Tag::SyncId},
    Spec{'\0', "timeout", kNo, Tag::Timeout},
    Spec{'\0', "daemon", kNo, Tag::Daemon},
    Spec{'\0', "stats", kNo, Tag::Stats},
    Spec{'\0', "rate", kNo, Tag::Rate},
    Spec{'\0', "thresholds", kNo, Tag::Thresholds},
    Spec{'\0', "persistent-conn", kNo, Tag::PersistentConn},
    Spec{'\0', "nosort", kNo, Tag::NoSort},
    Spec{'\0', "sort", kNo, Tag::Sort},
    Spec{'X', "exact", kNo, Tag::Exact},
    Spec{'6', "ipv6", kNo, Tag::Ipv6},
    Spec{'o', "ops", kNo, Tag::Ops},
    Spec{'\0', "pe", kReq, Tag::Pe},
    Spec{'b', "sched-flags", kReq, Tag::SchedFlags},
    Spec{'\0', "mcast-group", kReq, Tag::McastGroup},
    Spec{'\0', "mcast-port", kReq, Tag::McastPort},
    Spec{'\0', "mcast-ttl", kReq, Tag::McastTtl},
    Spec{'\0', "sync-maxlen", kReq, Tag::SyncMaxlen},
    Spec{'\0', "tun-info", kNo, Tag::TunInfo},
    Spec{'\0', "tun-type", kReq, Tag::TunType},
    Spec{'\0', "tun-port", kReq, Tag::TunPort},
    Spec{'\0', "tun-nocsum", kNo, Tag::TunNoCsum},
    Spec{'\0', "tun-csum", kNo, Tag::TunCsum},
    Spec{'\0', "tun-remcsum", kNo, Tag::TunRemCsum},
    Spec{'\0', "socket", kReq, Tag::Socket},
    Spec{'\0', "list-ports", kNo, Tag::Command, Command::ListPorts},
    Spec{'\0', "list-workers", kNo, Tag::Command, Command::ListWorkers},
    Spec{'\0', "list-neighbours", kNo, Tag::Command, Command::ListNeighbours},
    Spec{'\0', "list-neighbors", kNo, Tag::Command, Command::ListNeighbours},
    Spec{'\0', "list-routes", kNo, Tag::Command, Command::ListRoutes},
    Spec{'\0', "add-mark", kNo, Tag::Command, Command::AddMark},
    Spec{'\0', "del-mark", kNo, Tag::Command, Command::DelMark},
    Spec{'\0', "list-marks", kNo, Tag::Command, Command::ListMarks},
    Spec{'\0', "tcp-udp", kReq, Tag::TcpUdp},
    Spec{'\0', "mark", kReq, Tag::Mark},
};

const Spec* find_long(std::string_view name) {
    for (const Spec& s : kSpecs) {
        if (s.long_name == name) {
            return &s;
        }
    }
    return nullptr;
}

const Spec* find_short(char c) {
    for (const Spec& s : kSpecs) {
        if (s.short_name != '\0' && s.short_name == c) {
            return &s;
        }
    }
    return nullptr;
}

// ---- ipvsadm's command/option compatibility table ----

// Options in ipvsadm's optnames order (the ones dirigo implements).
enum OptIdx : unsigned {
    kOptNumeric,
    kOptConnection,
    kOptService,
    kOptScheduler,
    kOptPersistent,
    kOptNetmask,
    kOptServer,
    kOptForward,
    kOptWeight,
    kOptUThreshold,
    kOptLThreshold,
    kOptTimeout,
    kOptDaemon,
    kOptStats,
    kOptRate,
    kOptThresholds,
    kOptPersistentConn,
    kOptNoSort,
    kOptExact,
    kOptOps,
    kOptSchedFlags,
    kOptTunInfo,
    kOptTunType,
    kOptTunPort,
    kOptTunNoCsum,
    kOptTunCsum,
    kOptTunRemCsum,
    kOptMcastInterface,
    kOptSyncId,
    kOptMcastGroup,
    kOptMcastPort,
    kOptMcastTtl,
    kOptSyncMaxlen,
    kOptMark,
    kNumOpts,
};

constexpr std::array<std::string_view, kNumOpts> kOptNames = {
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "exact",
    "ops",
    "sched-flags",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
    "mcast-interface",
    "syncid",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "mark",
};

// ipvsadm's commands_v_options: '+' compulsory, 'x' illegal, '1' at most one of the '1's,
// ' ' optional. One column per option, in kOptNames order: numeric, connection, Service-address,
// scheduler, persistent, Mask, real-server, forwarding, weight, x u-threshold, y l-threshold,
// timeout, daemon, sTats, Rate, tHresholds, Persistent-conn, Nosort, eXact, ops, b sched-flags,
// Info (tun-info), tun-tYpe, tun-port, tun-nocsum, tun-csum, tun-remcsum, then the sync daemon's:
// mcast-interface, syncid, mcast-group, mcast-port, mcast-ttl, sync-maxlen (ipvsadm 1.31 allows
// only --start-daemon all six, and -L and --stop-daemon --syncid), then Dirigo's --mark.
struct CommandRow {
    Command cmd;
    std::string_view name;  // ipvsadm's cmdnames, for messages
    std::string_view opts;  // "ncSspMrfwxytdTRHPNXobIY" + the six sync columns
};

// One row per command that takes options, in ipvsadm's cmdnames order; -h and -v have none.
constexpr std::array kCommands = {
    CommandRow{Command::AddService, "add-service", "xx+   xxxxxxxxxxxxx  xxxxxxxxxxxxx"},
    CommandRow{Command::EditService, "edit-service", "xx+   xxxxxxxxxxxxx  xxxxxxxxxxxxx"},
    CommandRow{Command::DelService, "delete-service", "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    CommandRow{Command::Clear, "flush", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    CommandRow{Command::List, "list", " 11xxxxxxxx11      xx xxxxxx xxxxx"},
    CommandRow{Command::AddServer, "add-server", "xx+xxx+    xxxxxxxxxxx     xxxxxxx"},
    CommandRow{Command::DelServer, "delete-server", "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    CommandRow{Command::EditServer, "edit-server", "xx+xxx+    xxxxxxxxxxx     xxxxxxx"},
    CommandRow{Command::SetTimeouts, "set", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    CommandRow{Command::Restore, "restore", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    CommandRow{Command::Save, "save", " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    CommandRow{Command::StartDaemon, "start-daemon", "xxxxxxxxxxxxxxxxxxxxxxxxxxx      x"},
    CommandRow{Command::StopDaemon, "stop-daemon", "xxxxxxxxxxxxxxxxxxxxxxxxxxxx xxxxx"},
    CommandRow{Command::Zero, "zero", "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    // dirigo's views: -n and --nosort everywhere, --exact where there are counters to scale.
    CommandRow{Command::ListPorts, "list-ports", " xxxxxxxxxxxxxxxx  xxxxxxxxxxxxxxx"},
    CommandRow{Command::ListWorkers, "list-workers", " xxxxxxxxxxxxxxxx  xxxxxxxxxxxxxxx"},
    CommandRow{Command::ListNeighbours, "list-neighbours", " xxxxxxxxxxxxxxxx xxxxxxxxxxxxxxxx"},
    CommandRow{Command::ListRoutes, "list-routes", " xxxxxxxxxxxxxxxx xxxxxxxxxxxxxxxx"},
    // Mark rules: the match (-t, -u or --tcp-udp) and --mark.
    CommandRow{Command::AddMark, "add-mark", "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx+"},
    CommandRow{Command::DelMark, "del-mark", "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "},
    CommandRow{Command::ListMarks, "list-marks", " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
};

constexpr bool table_is_complete() {
    for (const CommandRow& row : kCommands) {
        if (row.opts.size() != kNumOpts) {
            return false;
        }
    }
    return true;
}
static_assert(table_is_complete(), "every row of kCommands needs one column per option");

const CommandRow* command_row(Command c) {
    for (const CommandRow& row : kCommands) {
        if (row.cmd == c) {
            return &row;
        }
    }
    return nullptr;
}

std::optional<ArgError> generic_opt_check(Command cmd, uint64_t options) {
    const CommandRow* r = command_row(cmd);
    if (r == nullptr) {
        return std::nullopt;
    }
    const std::string_view row = r->opts;
    const std::string cmd_name(r->name);
    int exclusive = -1;
    for (unsigned j = 0; j < kNumOpts; ++j) {
        const std::string opt_name(kOptNames[j]);
        if ((options & (uint64_t{1} << j)) == 0) {
            if (row[j] == '+') {
                return ArgError{2, "You need to supply the '" + opt_name + "' option for the '" +
                                       cmd_name + "' command"};
            }
            continue;
        }
        if (row[j] == 'x') {
            return ArgError{
                2, "Illegal '" + opt_name + "' option with the '" + cmd_name + "' command"};
        }
        if (row[j] == '1') {
            if (exclusive < 0) {
                exclusive = static_cast<int>(j);
                continue;
            }
            return ArgError{2, "The option '" + opt_name + "' conflicts with the '" +
                                   std::string(kOptNames[static_cast<unsigned>(exclusive)]) +
                                   "' option in the '" + cmd_name + "' command"};
        }
    }
    return std::nullopt;
}

// ---- value parsers (ipvsadm's string_to_number, parse_service, parse_timeout) ----

/// ipvsadm's string_to_number over the one decimal parser: digits only, range checked, never
/// wrapped (-w 70000 is refused, not 4464).
std::optional<uint64_t> parse_number(std::string_view s, uint64_t min, uint64_t max) {
    return cfg::parse_number(s, min, max);
}

bool all_digits(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

struct AddrPort {
    cfg::Family af = cfg::Family::Inet;
    cfg::Ip4 addr = 0;
    cfg::Ip6 addr6{};
    uint16_t port = 0;
    bool has_port = false;
};

/// A dotted quad, else a host name. Digits-and-dots that are not a strict dotted quad ("10.1",
/// "010.0.0.1") are refused rather than handed to the resolver, whose inet_aton() would read
/// them as 10.0.0.1 and 8.0.0.1.
std::optional<cfg::Ip4> parse_host(std::string_view s, const Resolver* res) {
    if (auto a = cfg::parse_ip4(s)) {
        return a;
    }
    if (res == nullptr || s.empty() || s.find_first_not_of("0123456789.") == s.npos) {
        return std::nullopt;
    }
    return res->host(s);
}

/// A port: a number 0..65535, else a service name.
std::optional<uint16_t> parse_port(std::string_view port, cfg::Proto proto, const Resolver* res) {
    if (!port.empty() && all_digits(port)) {
        // A number is a port or nothing: handing "99999" to the resolver would come back as
        // 34463, since getaddrinfo() wraps numeric services. ipvsadm refuses it.
        const auto n = parse_number(port, 0, 65535);
        if (!n) {
            return std::nullopt;
        }
        return static_cast<uint16_t>(*n);
    }
    if (res != nullptr && !port.empty()) {
        return res->service(port, proto);
    }
    return std::nullopt;
}

/// host[:port] with names allowed for both parts, as ipvsadm's parse_service; IPv6 as ipvsadm
/// takes it: "[2001:db8::1]:80" (brackets when a port follows, and then the port is required),
/// or a bare "2001:db8::1" with no port. IPv6 host names are not resolved.
std::optional<AddrPort> parse_addr_port(std::string_view s, cfg::Proto proto, const Resolver* res) {
    if (s.empty() || all_digits(s)) {
        return std::nullopt;
    }
    AddrPort ap;
    if (s.front() == '[') {
        const size_t close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
            return std::nullopt;
        }
        const auto a6 = cfg::parse_ip6(s.substr(1, close - 1));
        const auto port = parse_port(s.substr(close + 2), proto, res);
        if (!a6 || !port) {
            return std::nullopt;
        }
        ap.af = cfg::Family::Inet6;
        ap.addr6 = *a6;
        ap.port = *port;
        ap.has_port = true;
        return ap;
    }
    if (const auto a6 = cfg::parse_ip6(s)) {
        ap.af = cfg::Family::Inet6;
        ap.addr6 = *a6;
        return ap;
    }
    const size_t colon = s.rfind(':');
    const std::string_view host = colon == std::string_view::npos ? s : s.substr(0, colon);
    const auto addr = parse_host(host, res);
    if (!addr) {
        return std::nullopt;
    }
    ap.addr = *addr;
    if (colon != std::string_view::npos) {
        ap.has_port = true;
        const auto port = parse_port(s.substr(colon + 1), proto, res);
        if (!port) {
            return std::nullopt;
        }
        ap.port = *port;
    }
    return ap;
}

ArgError bad(std::string msg) {
    return ArgError{2, std::move(msg)};
}

/// An ipvsadm feature that dirigo does not have: "-f: firewall-mark services are not supported
/// by dirigo; use -t or -u".
ArgError unsupported(std::string msg) {
    return bad(std::move(msg));
}

// ---- scheduler flags (-b) ----

/// ipvsadm's parse_sched_flags, with its two messages: each comma-separated flag must exist
/// ("invalid scheduler flag") and suit the scheduler ("incompatible scheduler flag").
std::optional<ArgError> parse_sched_flags(sched::SchedKind kind, std::string_view text,
                                          uint32_t& flags) {
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string_view::npos) {
            comma = text.size();
        }
        const std::string_view flag = text.substr(pos, comma - pos);
        pos = comma + 1;
        if (flag.empty()) {
            continue;  // strtok skips empty fields
        }
        if (!sched::parse_sched_flags(flag)) {
            return bad("invalid scheduler flag `" + std::string(flag) + "'");
        }
        if (!sched::parse_sched_flags(flag, kind)) {
            return bad("incompatible scheduler flag `" + std::string(flag) + "'");
        }
    }
    const auto all = sched::parse_sched_flags(text, kind);
    if (!all) {
        return bad("invalid scheduler flag `" + std::string(text) + "'");
    }
    flags = *all;
    return std::nullopt;
}

// ---- the parser ----

/// One option occurrence: which option, how it was spelled, and its argument.
struct Occurrence {
    const Spec* spec = nullptr;
    std::string spelled;  // "-t" or "--tcp-service", for messages
    std::optional<std::string> arg;
};

/// Splits argv into option occurrences and positional words the way popt does: bundled short
/// options (-Ln), attached (-t10.0.0.1:80, --weight=3) or separate arguments, an optional
/// argument (-p) taken from the next word only when that word does not start with '-', and "--"
/// ending the options.
struct Tokens {
    std::vector<Occurrence> occ;
    std::vector<std::string> positional;
    /// A syntax error after occ: reported only once the options before it are applied, so
    /// that (as with popt) "-h --bogus" still shows the help.
    std::optional<ArgError> error;
};

Tokens tokenize(std::span<const std::string> args) {
    Tokens t;
    std::vector<Occurrence>& occ = t.occ;
    std::vector<std::string>& positional = t.positional;
    const auto stop = [&t](ArgError e) {
        t.error = std::move(e);
        return std::move(t);
    };
    const auto unknown = [](std::string spelled) {
        return ArgError{255, spelled + ": unknown option", true};
    };
    const auto missing = [](std::string spelled) {
        return ArgError{255, spelled + ": missing argument", true};
    };
    bool options_done = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || a.size() < 2 || a[0] != '-') {
            positional.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (a[1] == '-') {
            const std::string_view body = std::string_view(a).substr(2);
            const size_t eq = body.find('=');
            const std::string_view name = body.substr(0, eq);
            const Spec* spec = find_long(name);
            const std::string spelled = "--" + std::string(name);
            if (spec == nullptr) {
                return stop(unknown(spelled));
            }
            Occurrence o{spec, spelled, std::nullopt};
            if (eq != std::string_view::npos) {
                if (spec->arg == ArgKind::None) {
                    return stop(
                        ArgError{255, spelled + ": option does not take an argument", true});
                }
                o.arg = std::string(body.substr(eq + 1));
            } else if (spec->arg == ArgKind::Required) {
                if (i + 1 >= args.size()) {
                    return stop(missing(spelled));
                }
                o.arg = args[++i];
            } else if (spec->arg == ArgKind::Optional && i + 1 < args.size() &&
                       !args[i + 1].starts_with('-')) {
                o.arg = args[++i];
            }
            occ.push_back(std::move(o));
            continue;
        }
        // A bundle of short options.
        for (size_t k = 1; k < a.size(); ++k) {
            const Spec* spec = find_short(a[k]);
            const std::string spelled = std::string("-") + a[k];
            if (spec == nullptr) {
                return stop(unknown(spelled));
            }
            Occurrence o{spec, spelled, std::nullopt};
            if (spec->arg != ArgKind::None) {
                std::string_view rest = std::string_view(a).substr(k + 1);
                if (rest.starts_with('=')) {
                    rest.remove_prefix(1);
                }
                if (!rest.empty()) {
                    o.arg = std::string(rest);
                } else if (spec->arg == ArgKind::Required) {
                    if (i + 1 >= args.size()) {
                        return stop(missing(spelled));
                    }
                    o.arg = args[++i];
                } else if (i + 1 < args.size() && !args[i + 1].starts_with('-')) {
                    o.arg = args[++i];
                }
                occ.push_back(std::move(o));
                break;  // the rest of the word was the argument
            }
            occ.push_back(std::move(o));
        }
    }
    return t;
}

/// Everything the options said, before the per-command checks.
struct State {
    std::optional<Command> cmd;
    uint64_t options = 0;  ///< bit i: option OptIdx i was given
    cfg::Service service;
    std::optional<AddrPort> server;
    cfg::RealServer dest;
    std::optional<std::string> sched_flags;
    FormatOpts fmt;
    std::string socket;
    bool socket_given = false;
    ctl::DaemonCfg daemon;
    bool mark_mode = false;  ///< a mark command: -t/-u/--sctp-service/--tcp-udp take a rule's match
    cfg::MarkRule mark;
};

/// A mark rule's match, ADDR[/LEN][:PORTS]: "10.0.0.100:80,443", "10.0.0.0/24:8000-8100",
/// "10.0.0.100" (every port).
std::optional<ArgError> parse_mark_match(std::string_view s, cfg::MarkRule& m) {
    const ArgError e = bad("illegal mark rule address[/len][:ports] specified");
    if (!s.empty() && s[0] == '[') {
        // An IPv6 rule, bracketed as ipvsadm writes an IPv6 service: [ADDR[/LEN]][:PORTS].
        const size_t close = s.find(']');
        if (close == std::string_view::npos ||
            (close + 1 < s.size() && s[close + 1] != ':')) {
            return e;
        }
        const auto pfx = cfg::parse_prefix6(s.substr(1, close - 1));
        if (!pfx) {
            return e;
        }
        if (const cfg::Prefix6 net = cfg::network_of(*pfx); net != *pfx) {
            std::string msg = "host bits are set in mark rule address ";
            msg += s.substr(1, close - 1);
            msg += " (did you mean ";
            msg += cfg::format_prefix6(net);
            msg += "?)";
            return bad(msg);
        }
        m.af = cfg::Family::Inet6;
        m.dst6 = *pfx;
        m.ports.clear();
        if (close + 1 < s.size()) {
            const auto ports = cfg::parse_port_list(s.substr(close + 2));
            if (!ports) {
                return e;
            }
            m.ports = *ports;
        }
        return std::nullopt;
    }
    const size_t colon = s.find(':');
    const std::string_view where = s.substr(0, colon);
    const auto pfx = cfg::parse_prefix(where);
    if (!pfx) {
        return e;
    }
    if (const cfg::Prefix net = cfg::network_of(*pfx); net != *pfx) {
        return bad("host bits are set in mark rule address " + std::string(where) +
                   " (did you mean " + cfg::format_prefix(net) + "?)");
    }
    m.dst = *pfx;
    m.ports.clear();
    if (colon != std::string_view::npos) {
        const auto ports = cfg::parse_port_list(s.substr(colon + 1));
        if (!ports) {
            return e;
        }
        m.ports = *ports;
    }
    return std::nullopt;
}

std::optional<ArgError> set_command(State& st, Command c) {
    if (st.cmd) {
        return bad("multiple commands specified");
    }
    st.cmd = c;
    return std::nullopt;
}

std::optional<ArgError> set_option(State& st, OptIdx o) {
    if ((st.options & (uint64_t{1} << o)) != 0) {
        return bad("multiple '" + std::string(kOptNames[o]) + "' options specified");
    }
    st.options |= uint64_t{1} << o;
    return std::nullopt;
}

/// ipvsadm 1.31's tunnel checks for -a/-e, in its order: tunnel options need -i, then its table
/// of tunnel types and options ('+' compulsory, 'x' illegal, '1' at most one of the '1's).
std::optional<ArgError> tunnel_opt_check(const cfg::RealServer& d, uint64_t options) {
    constexpr std::array<OptIdx, 4> kTunOpts = {kOptTunPort, kOptTunNoCsum, kOptTunCsum,
                                                kOptTunRemCsum};
    const auto given = [options](OptIdx o) { return (options & (uint64_t{1} << o)) != 0; };
    if ((given(kOptTunType) || std::any_of(kTunOpts.begin(), kTunOpts.end(), given)) &&
        d.fwd != cfg::Fwd::Tunnel) {
        return bad("Tunnel options conflict with forward method");
    }
    //                       port nocsum csum remcsum
    constexpr std::array<std::string_view, 3> kTable = {"xxxx", "+111", "x11x"};
    const std::string_view row = kTable[static_cast<size_t>(d.tun_type)];
    const std::string type(cfg::tun_type_name(d.tun_type));
    int last = -1;
    for (size_t j = 0; j < kTunOpts.size(); ++j) {
        const std::string name(kOptNames[kTunOpts[j]]);
        if (!given(kTunOpts[j])) {
            if (row[j] == '+') {
                return bad("You need to supply the '" + name + "' option for the '" + type +
                           "' tunnel type");
            }
            continue;
        }
        if (row[j] == 'x') {
            return bad("Illegal '" + name + "' option with the '" + type + "' tunnel type");
        }
        if (row[j] == '1') {
            if (last >= 0) {
                return bad("The option '" + name + "' conflicts with the '" +
                           std::string(kOptNames[kTunOpts[static_cast<size_t>(last)]]) +
                           "' option in the '" + type + "' tunnel type");
            }
            last = static_cast<int>(j);
        }
    }
    return std::nullopt;
}

std::optional<ArgError> parse_timeout(const std::string& s, uint32_t min, uint32_t& out) {
    const auto v = parse_number(s, min, kMaxTimeout);
    if (!v) {
        return bad("invalid timeout value `" + s + "' specified");
    }
    out = static_cast<uint32_t>(*v);
    return std::nullopt;
}

/// Applies one option occurrence to the state.
std::optional<ArgError> apply(State& st, const Occurrence& o, const ParseEnv& env) {
    const std::string arg = o.arg.value_or("");
    switch (o.spec->tag) {
        case Tag::Command:
            return set_command(st, o.spec->cmd);
        case Tag::TcpUdp:
            if (!st.mark_mode) {
                return bad(o.spelled + " is for mark rules (--add-mark, --del-mark)");
            }
            [[fallthrough]];
        case Tag::Tcp:
        case Tag::Udp:
        case Tag::Sctp: {
            if (auto e = set_option(st, kOptService)) {
                return e;
            }
            if (st.mark_mode) {
                st.mark.proto = o.spec->tag == Tag::Tcp    ? static_cast<uint8_t>(cfg::Proto::Tcp)
                                : o.spec->tag == Tag::Udp  ? static_cast<uint8_t>(cfg::Proto::Udp)
                                : o.spec->tag == Tag::Sctp ? static_cast<uint8_t>(cfg::Proto::Sctp)
                                                           : cfg::kMarkAnyProto;
                return parse_mark_match(arg, st.mark);
            }
            st.service.key.proto = o.spec->tag == Tag::Tcp   ? cfg::Proto::Tcp
                                   : o.spec->tag == Tag::Udp ? cfg::Proto::Udp
                                                             : cfg::Proto::Sctp;
            const auto ap = parse_addr_port(arg, st.service.key.proto, env.resolver);
            if (!ap) {
                return bad("illegal virtual server address[:port] specified");
            }
            st.service.key.af = ap->af;
            st.service.key.addr = ap->addr;
            st.service.key.addr6 = ap->addr6;
            st.service.key.port = ap->port;
            return std::nullopt;
        }
        case Tag::Scheduler:
            if (auto e = set_option(st, kOptScheduler)) {
                return e;
            }
            st.service.scheduler = arg;
            return std::nullopt;
        case Tag::Persistent:
            if (auto e = set_option(st, kOptPersistent)) {
                return e;
            }
            st.service.flags |= cfg::kSvcPersistent;
            st.service.timeout = kDefaultPersistTimeout;
            if (o.arg) {
                return parse_timeout(arg, 1, st.service.timeout);
            }
            return std::nullopt;
        case Tag::Netmask: {
            if (auto e = set_option(st, kOptNetmask)) {
                return e;
            }
            // ipvsadm reads -M by the family of the -t/-u/-f -6 given before it: an IPv6
            // service's mask is a prefix length 1..128.
            if (st.service.key.af == cfg::Family::Inet6) {
                const auto len = parse_number(arg, 1, 128);
                if (!len) {
                    return bad("illegal ipv6 netmask specified");
                }
                st.service.prefix6 = static_cast<uint8_t>(*len);
                return std::nullopt;
            }
            const auto m = parse_host(arg, env.resolver);
            if (!m) {
                return bad("illegal virtual server persistent mask specified");
            }
            st.service.netmask = *m;
            return std::nullopt;
        }
        case Tag::Server: {
            if (auto e = set_option(st, kOptServer)) {
                return e;
            }
            st.server = parse_addr_port(arg, st.service.key.proto, env.resolver);
            if (!st.server) {
                return bad("illegal real server address[:port] specified");
            }
            return std::nullopt;
        }
        case Tag::Masq:
        case Tag::Ipip:
        case Tag::Gate:
            if (auto e = set_option(st, kOptForward)) {
                return e;
            }
            st.dest.fwd = o.spec->tag == Tag::Masq   ? cfg::Fwd::Masq
                          : o.spec->tag == Tag::Ipip ? cfg::Fwd::Tunnel
                                                     : cfg::Fwd::Route;
            return std::nullopt;
        case Tag::Weight: {
            if (auto e = set_option(st, kOptWeight)) {
                return e;
            }
            const auto w = parse_number(arg, 0, kMaxWeight);
            if (!w) {
                return bad("illegal weight specified");
            }
            st.dest.weight = static_cast<int32_t>(*w);
            return std::nullopt;
        }
        case Tag::UThreshold:
        case Tag::LThreshold: {
            const bool upper = o.spec->tag == Tag::UThreshold;
            if (auto e = set_option(st, upper ? kOptUThreshold : kOptLThreshold)) {
                return e;
            }
            const auto v = parse_number(arg, 0, INT_MAX);
            if (!v) {
                return bad(upper ? "illegal u_threshold specified"
                                 : "illegal l_threshold specified");
            }
            (upper ? st.dest.u_threshold : st.dest.l_threshold) = static_cast<uint32_t>(*v);
            return std::nullopt;
        }
        case Tag::Numeric:
            st.fmt.numeric = true;
            return set_option(st, kOptNumeric);
        case Tag::Connection:
            return set_option(st, kOptConnection);
        case Tag::Timeout:
            return set_option(st, kOptTimeout);
        case Tag::Daemon:
            return set_option(st, kOptDaemon);
        case Tag::Stats:
            st.fmt.stats = true;
            return set_option(st, kOptStats);
        case Tag::Rate:
            st.fmt.rate = true;
            return set_option(st, kOptRate);
        case Tag::Thresholds:
            st.fmt.thresholds = true;
            return set_option(st, kOptThresholds);
        case Tag::PersistentConn:
            st.fmt.persistent_conn = true;
            return set_option(st, kOptPersistentConn);
        case Tag::NoSort:
            st.fmt.nosort = true;
            return set_option(st, kOptNoSort);
        case Tag::Sort:
            return std::nullopt;  // sorting is the default; accepted for compatibility
        case Tag::Exact:
            st.fmt.exact = true;
            return set_option(st, kOptExact);
        case Tag::Ops:
            st.service.flags |= cfg::kSvcOnePacket;
            return set_option(st, kOptOps);
        case Tag::SchedFlags:
            st.sched_flags = arg;
            return set_option(st, kOptSchedFlags);
        case Tag::Socket:
            if (st.socket_given) {
                return bad("multiple 'socket' options specified");
            }
            if (arg.empty()) {
                return bad("illegal socket path specified");
            }
            st.socket = arg;
            st.socket_given = true;
            return std::nullopt;
        case Tag::Fwmark: {
            if (auto e = set_option(st, kOptService)) {
                return e;
            }
            // ipvsadm's parse_fwmark: a decimal 1..UINT_MAX.
            const auto m = parse_number(arg, 1, UINT32_MAX);
            if (!m) {
                return bad("invalid fwmark value `" + arg + "' specified");
            }
            st.service.key = cfg::ServiceKey{};
            st.service.key.fwmark = static_cast<uint32_t>(*m);
            return std::nullopt;
        }
        case Tag::Mark: {
            if (auto e = set_option(st, kOptMark)) {
                return e;
            }
            const auto m = parse_number(arg, 1, UINT32_MAX);
            if (!m) {
                return bad("invalid mark value `" + arg + "' specified");
            }
            st.mark.mark = static_cast<uint32_t>(*m);
            return std::nullopt;
        }
        case Tag::Ipv6:
            // ipvsadm: -6 makes the -f given before it an IPv6 fwmark service.
            if (st.service.key.fwmark == 0) {
                return bad("-6 used before -f");
            }
            st.service.key.af = cfg::Family::Inet6;
            st.service.prefix6 = 128;
            return std::nullopt;
        case Tag::Pe:
            return unsupported(o.spelled + ": persistence engines are not supported by dirigo");
        // ipvsadm 1.31's parse_options, message for message.
        case Tag::StartDaemon:
        case Tag::StopDaemon: {
            const bool start = o.spec->tag == Tag::StartDaemon;
            if (auto e = set_command(st, start ? Command::StartDaemon : Command::StopDaemon)) {
                return e;
            }
            if (arg == "master") {
                st.daemon.role = ctl::SyncRole::Master;
            } else if (arg == "backup") {
                st.daemon.role = ctl::SyncRole::Backup;
            } else {
                return bad(start ? "illegal start-daemon parameter specified"
                                 : "illegal start_daemon specified");
            }
            return std::nullopt;
        }
        case Tag::McastInterface:
            // Cut to IP_VS_IFNAME_MAXLEN - 1 characters, as ipvsadm's strncpy does.
            st.daemon.mcast_ifn = arg.substr(0, 15);
            return set_option(st, kOptMcastInterface);
        case Tag::SyncId: {
            const auto v = parse_number(arg, 0, 255);
            if (!v) {
                return bad("illegal syncid specified");
            }
            st.daemon.syncid = static_cast<uint8_t>(*v);
            return set_option(st, kOptSyncId);
        }
        case Tag::McastGroup: {
            if (arg.find(':') != std::string::npos) {
                return unsupported(o.spelled + " " + arg +
                                   ": IPv6 sync groups are not supported by dirigo");
            }
            const auto ip = cfg::parse_ip4(arg);
            if (!ip || (*ip >> 28) != 0xe) {
                return bad("invalid IPv4 mcast-group `" + arg + "'");
            }
            st.daemon.mcast_group = *ip;
            return set_option(st, kOptMcastGroup);
        }
        case Tag::McastPort: {
            const auto v = parse_number(arg, 1, 65535);
            if (!v) {
                return bad("illegal mcast-port specified");
            }
            st.daemon.mcast_port = static_cast<uint16_t>(*v);
            return set_option(st, kOptMcastPort);
        }
        case Tag::McastTtl: {
            const auto v = parse_number(arg, 1, 255);
            if (!v) {
                return bad("illegal mcast-ttl specified");
            }
            st.daemon.mcast_ttl = static_cast<uint8_t>(*v);
            return set_option(st, kOptMcastTtl);
        }
        case Tag::SyncMaxlen: {
            const auto v = parse_number(arg, 1, 65535 - 20 - 8);
            if (!v) {
                return bad("illegal sync-maxlen specified");
            }
            st.daemon.sync_maxlen = static_cast<uint16_t>(*v);
            return set_option(st, kOptSyncMaxlen);
        }
        case Tag::TunInfo:
            st.fmt.tun_info = true;
            return set_option(st, kOptTunInfo);
        case Tag::TunType: {
            const auto t = cfg::parse_tun_type(arg);
            if (!t) {
                return bad("illegal tunnel type specified");
            }
            st.dest.tun_type = *t;
            return set_option(st, kOptTunType);
        }
        case Tag::TunPort: {
            const auto v = parse_number(arg, 1, 65535);
            if (!v) {
                return bad("illegal tunnel port specified");
            }
            st.dest.tun_port = static_cast<uint16_t>(*v);
            return set_option(st, kOptTunPort);
        }
        // ipvsadm ORs the flag bits; at most one of the three gets through tunnel_opt_check.
        case Tag::TunNoCsum:
            return set_option(st, kOptTunNoCsum);
        case Tag::TunCsum:
            st.dest.tun_csum = cfg::TunCsum::Csum;
            return set_option(st, kOptTunCsum);
        case Tag::TunRemCsum:
            st.dest.tun_csum = cfg::TunCsum::RemCsum;
            return set_option(st, kOptTunRemCsum);
    }
    return std::nullopt;
}

Outcome<Invocation> parse_tokens(std::span<const std::string> args, const ParseEnv& env) {
    Tokens tok = tokenize(args);
    const std::vector<std::string>& positional = tok.positional;

    State st;
    st.socket = env.socket;
    for (const Occurrence& o : tok.occ) {
        const Command c = o.spec->cmd;
        st.mark_mode =
            st.mark_mode ||
            (o.spec->tag == Tag::Command &&
             (c == Command::AddMark || c == Command::DelMark || c == Command::ListMarks));
    }
    st.dest.fwd = cfg::Fwd::Route;  // ipvsadm's default forwarding method is -g
    st.service.scheduler.clear();
    for (const Occurrence& o : tok.occ) {
        if (auto e = apply(st, o, env)) {
            return *e;
        }
        // -h and -v end parsing as soon as they are seen, as in ipvsadm.
        if (st.cmd == Command::Help || st.cmd == Command::Version) {
            Invocation inv;
            inv.cmd = *st.cmd;
            inv.socket = st.socket;
            inv.socket_given = st.socket_given;
            inv.request.op = *st.cmd == Command::Version ? Op::Version : Op::Ping;
            return inv;
        }
    }
    if (tok.error) {
        return *tok.error;
    }
    if (!st.cmd) {
        return ArgError{255, "", true};
    }
    const Command cmd = *st.cmd;

    cfg::TimeoutCfg timeouts;
    size_t used = 0;
    if (cmd == Command::SetTimeouts) {
        if (positional.size() < 3) {
            return bad("--set option requires 3 timeout values");
        }
        if (auto e = parse_timeout(positional[0], 0, timeouts.tcp)) {
            return *e;
        }
        if (auto e = parse_timeout(positional[1], 0, timeouts.tcp_fin)) {
            return *e;
        }
        if (auto e = parse_timeout(positional[2], 0, timeouts.udp)) {
            return *e;
        }
        used = 3;
    }
    if (positional.size() > used) {
        return bad("unexpected argument " + positional[used]);
    }

    if (auto e = generic_opt_check(cmd, st.options)) {
        return *e;
    }

    Invocation inv;
    inv.cmd = cmd;
    inv.fmt = st.fmt;
    inv.socket = st.socket;
    inv.socket_given = st.socket_given;
    Request& req = inv.request;
    req.service.key = st.service.key;
    const bool has_service = (st.options & (uint64_t{1} << kOptService)) != 0;

    switch (cmd) {
        case Command::AddService:
        case Command::EditService: {
            const bool fwm = st.service.key.fwmark != 0;
            if (!fwm && st.service.key.port == 0 && (st.service.flags & cfg::kSvcPersistent) == 0) {
                return bad("Zero port specified for non-persistent service");
            }
            if ((st.service.flags & cfg::kSvcOnePacket) != 0 && !fwm &&
                st.service.key.proto != cfg::Proto::Udp) {
                return bad("One-Packet Scheduling is only for UDP virtual services");
            }
            if (st.service.scheduler.empty()) {
                st.service.scheduler = "wlc";  // ipvsadm's default scheduler
            }
            const auto kind = sched::parse_sched(st.service.scheduler);
            if (!kind) {
                return bad("unknown scheduler `" + st.service.scheduler +
                           "'; valid schedulers are: " + sched::sched_names());
            }
            st.service.scheduler = std::string(sched::sched_name(*kind));
            if (st.sched_flags) {
                uint32_t flags = 0;
                if (auto e = parse_sched_flags(*kind, *st.sched_flags, flags)) {
                    return *e;
                }
                st.service.flags &= ~(cfg::kSvcSched1 | cfg::kSvcSched2 | cfg::kSvcSched3);
                st.service.flags |= flags;
            }
            req.op = cmd == Command::AddService ? Op::AddService : Op::EditService;
            req.service = st.service;
            break;
        }
        case Command::DelService:
            req.op = Op::DelService;
            break;
        case Command::Clear:
            req.op = Op::Clear;
            break;
        case Command::AddServer:
        case Command::EditServer:
        case Command::DelServer: {
            cfg::RealServer& d = st.dest;
            d.af = st.server->af;
            d.addr = st.server->addr;
            d.addr6 = st.server->addr6;
            d.port = st.server->has_port ? st.server->port : st.service.key.port;
            // ipvsadm 1.31, as the kernel: only a tunnel crosses address families.
            if (cmd != Command::DelServer && d.af != st.service.key.af &&
                d.fwd != cfg::Fwd::Tunnel) {
                return bad("Different address family is allowed only for tunneling servers");
            }
            if (auto e = tunnel_opt_check(d, st.options)) {
                return *e;
            }
            if (cmd != Command::DelServer && d.fwd != cfg::Fwd::Masq) {
                // Direct routing and tunnelling do not rewrite ports: the real server must listen
                // on the service's port. ipvsadm silently forces it; a different port is a mistake
                // worth reporting.
                if (st.service.key.port != 0 && d.port != st.service.key.port) {
                    return bad("cannot map service port " + std::to_string(st.service.key.port) +
                               " to real server port " + std::to_string(d.port) + " with " +
                               (d.fwd == cfg::Fwd::Route ? "direct routing (-g, the default)"
                                                         : "tunnelling (-i)") +
                               ": port mapping needs masquerading (-m)");
                }
                d.port = st.service.key.port;
            }
            req.op = cmd == Command::AddServer    ? Op::AddDest
                     : cmd == Command::EditServer ? Op::EditDest
                                                  : Op::DelDest;
            req.dest = d;
            break;
        }
        case Command::SetTimeouts:
            req.op = Op::SetTimeouts;
            req.timeouts = timeouts;
            break;
        case Command::Zero:
            req.op = Op::Zero;
            req.has_key = has_service;
            break;
        case Command::Save:
            req.op = Op::List;
            break;
        case Command::List: {
            const uint64_t o = st.options;
            const auto any = [o](std::initializer_list<OptIdx> l) {
                for (OptIdx i : l) {
                    if ((o & (uint64_t{1} << i)) != 0) {
                        return true;
                    }
                }
                return false;
            };
            if ((any({kOptConnection, kOptTimeout, kOptDaemon}) &&
                 any({kOptStats, kOptRate, kOptThresholds})) ||
                (any({kOptTimeout, kOptDaemon}) && any({kOptPersistentConn}))) {
                return bad("options conflicts in the list command");
            }
            if (any({kOptConnection})) {
                inv.list = ListWhat::Conns;
                req.op = Op::ListConns;
            } else if (has_service) {
                inv.list = ListWhat::Service;
                req.op = Op::List;
                req.has_key = true;
            } else if (any({kOptTimeout})) {
                inv.list = ListWhat::Timeouts;
                req.op = Op::GetTimeouts;
            } else if (any({kOptDaemon})) {
                inv.list = ListWhat::Daemon;
                req.op = Op::ListDaemons;
            } else {
                inv.list = ListWhat::All;
                req.op = Op::List;
            }
            break;
        }
        case Command::ListPorts:
            req.op = Op::ListPorts;
            break;
        case Command::ListWorkers:
            req.op = Op::ListWorkers;
            break;
        case Command::ListNeighbours:
            req.op = Op::ListNeighbours;
            break;
        case Command::ListRoutes:
            req.op = Op::ListRoutes;
            break;
        case Command::AddMark:
        case Command::DelMark:
            req.op = cmd == Command::AddMark ? Op::AddMark : Op::DelMark;
            req.mark = st.mark;
            req.service.key = cfg::ServiceKey{};
            break;
        case Command::ListMarks:
            req.op = Op::ListMarks;
            break;
        case Command::StartDaemon:
            req.op = Op::StartDaemon;
            req.daemon = st.daemon;
            break;
        case Command::StopDaemon:
            req.op = Op::StopDaemon;
            req.daemon.role = st.daemon.role;
            break;
        case Command::Restore:
        case Command::Help:
        case Command::Version:
            break;
    }
    return inv;
}

}  // namespace

Outcome<Invocation> parse_args(std::span<const std::string> args, const ParseEnv& env) {
    if (args.empty()) {
        // Like ipvsadm with no arguments: list the table (names resolved).
        Invocation inv;
        inv.socket = env.socket;
        inv.request.op = Op::List;
        return inv;
    }
    return parse_tokens(args, env);
}

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::string cur;
    bool in_word = false;
    char quote = '\0';
    for (char c : line) {
        if (quote != '\0') {
            if (c == quote) {
                quote = '\0';
            } else {
                cur.push_back(c);
            }
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
            if (in_word) {
                words.push_back(std::move(cur));
                cur.clear();
                in_word = false;
            }
        } else {
            cur.push_back(c);
            in_word = true;
        }
    }
    if (in_word) {
        words.push_back(std::move(cur));
    }
    return words;
}

Outcome<Request> parse_restore(std::string_view text, const Resolver* resolver) {
    Request batch;
    batch.op = Op::Batch;
    ParseEnv env;
    env.resolver = resolver;
    size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

        const std::vector<std::string> words = split_words(line);
        if (words.empty() || words.front().starts_with('#')) {
            continue;
        }
        const std::string where = "line " + std::to_string(line_no) + ": ";
        Outcome<Invocation> inv = parse_tokens(words, env);
        if (!inv.ok()) {
            ArgError e = inv.error();
            e.message = where + (e.message.empty() ? "no command given" : e.message);
            e.try_help = false;
            return e;
        }
        // Only rule changes (kOps' `mutates`) may be batched; -Z gets its own explanation.
        if (inv.value().cmd == Command::Zero) {
            // Counters are not rules: the daemon applies a batch as one rule change.
            return ArgError{2, where +
                                   "-Z is not allowed in restore input (counters are "
                                   "not rules); run dirigoadm -Z on its own"};
        }
        if (!is_mutation(inv.value().request.op)) {
            return ArgError{2, where +
                                   "only commands that change rules (-A -E -D -C -a -e -d --set "
                                   "--add-mark --del-mark) are allowed in restore input"};
        }
        if (inv.value().socket_given) {
            return ArgError{2, where + "--socket is not allowed in restore input"};
        }
        batch.batch.push_back(std::move(inv.value().request));
    }
    return batch;
}

}  // namespace dirigo::ctl::cli
