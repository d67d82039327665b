// SPDX-License-Identifier: BSD-3-Clause
#include "config/loader.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include <libconfig.h++>

#include "config/addr.hpp"
#include "config/validate.hpp"

namespace dirigo::cfg {

namespace {

namespace lc = libconfig;

using KeyList = std::initializer_list<std::string_view>;

constexpr size_t kMaxSocketPath = 107;  // sizeof(sockaddr_un::sun_path) minus the NUL
constexpr size_t kMaxDeviceName = 63;   // RTE_ETH_NAME_MAX_LEN minus the NUL (no DPDK headers here)
constexpr size_t kMaxPortName = 31;
constexpr int64_t kMaxSeconds = 31536000;  // one year: longer timeouts are typos
// Connection timeouts: ipvsadm's --set limit, 31 days (an IPv4 entry's expiry tick holds more,
// conntrack/expiry.hpp).
constexpr int64_t kMaxConnTimeout = 86400 * 31;
constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr int64_t kMaxIdlePolls = 100000000;  // ~10 s of empty loops: more is "never sleep"
constexpr int64_t kMaxSleepUs = 100000;       // 100 ms: a longer first-packet delay is a typo
constexpr int64_t kMaxReassembly = 16384;     // datagrams in reassembly per worker
constexpr int64_t kMaxFragsPerDatagram = 8;   // DPDK's RTE_LIBRTE_IP_FRAG_MAX_FRAG

std::string_view type_name(lc::Setting::Type t) {
    switch (t) {
        case lc::Setting::TypeNone:
            return "nothing";
        case lc::Setting::TypeInt:
        case lc::Setting::TypeInt64:
            return "an integer";
        case lc::Setting::TypeFloat:
            return "a float";
        case lc::Setting::TypeString:
            return "a string";
        case lc::Setting::TypeBoolean:
            return "a boolean";
        case lc::Setting::TypeGroup:
            return "a group";
        case lc::Setting::TypeArray:
            return "an array";
        case lc::Setting::TypeList:
            return "a list";
    }
    return "an unknown type";
}

bool is_int(const lc::Setting& s) {
    return s.getType() == lc::Setting::TypeInt || s.getType() == lc::Setting::TypeInt64;
}

int64_t int_value(const lc::Setting& s) {
    if (s.getType() == lc::Setting::TypeInt) {
        return static_cast<int>(s);
    }
    return static_cast<long long>(s);
}

std::string in_quotes(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

std::string octal(uint64_t v) {
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + (v & 7)));
        v >>= 3;
    } while (v != 0);
    return '0' + digits;
}

/// Edit distance, to suggest the key a typo meant.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

/// The file a setting or a syntax error came from. libconfig names an included file as the
/// @include line spelled it; show the path that was actually read.
std::string source_name(const char* src, const std::string& file, const std::string& include_dir) {
    if (src == nullptr || src == file) {
        return file;
    }
    if (!include_dir.empty() && src[0] != '/') {
        return include_dir + '/' + src;
    }
    return src;
}

/// Walks one parsed libconfig tree into a Config. Every check reports where it failed; the first
/// failure stops the walk.
class Loader {
public:
    /// `include_dir` is where libconfig resolved `@include` names from (empty: the cwd).
    Loader(std::string file, std::string include_dir, const LoadOptions& opts)
        : file_(std::move(file)), include_dir_(std::move(include_dir)), opts_(opts) {}

    Result<Config> run(const lc::Setting& root) {
        if (auto st =
                check_keys(root, {"eal", "control", "metrics", "ports", "routes", "services",
                                  "marks", "dataplane", "timeouts", "defense", "host", "log"});
            !st) {
            return st;
        }
        Config cfg;
        // In this order whatever the file's order: routes are checked against the ports.
        using Step = Status (Loader::*)(const lc::Setting&, Config&);
        for (const Step step :
             {&Loader::load_eal, &Loader::load_control, &Loader::load_metrics, &Loader::load_ports,
              &Loader::load_routes, &Loader::load_services, &Loader::load_marks,
              &Loader::load_dataplane, &Loader::load_timeouts, &Loader::load_defense,
              &Loader::load_host, &Loader::load_log}) {
            if (auto st = (this->*step)(root, cfg); !st) {
                return st;
            }
        }
        return cfg;
    }

private:
    // ---- locations and messages ----

    unsigned line_of(const lc::Setting& s) const {
        // The root group has no line; point at the top of the file.
        const unsigned line = s.getSourceLine();
        return line == 0 ? 1 : line;
    }

    std::string where(const lc::Setting& s) const {
        return source_name(s.getSourceFile(), file_, include_dir_) + ':' +
               std::to_string(line_of(s));
    }

    /// "FILE:LINE: PATH: what", located at `at`.
    Status fail(const lc::Setting& at, std::string_view what, Errc code = Errc::Invalid) const {
        return {code, where(at) + ": " + at.getPath() + ": " + std::string(what)};
    }

    /// A prefix read from `text` at `at` (a route's, a mark rule's) must name its network.
    Status no_host_bits(const lc::Setting& at, const std::string& text, const Prefix& p) const {
        if (const Prefix net = network_of(p); net != p) {
            return fail(at, "host bits are set in " + in_quotes(text) + " (did you mean \"" +
                                format_prefix(net) + "\"?)");
        }
        return Status::ok();
    }

    /// An error about `key` of `group` that has no setting of its own (e.g. it is missing).
    Status fail_key(const lc::Setting& group, std::string_view key, std::string_view what) const {
        std::string path = group.isRoot() ? std::string() : group.getPath() + '.';
        path += key;
        return {Errc::Invalid, where(group) + ": " + path + ": " + std::string(what)};
    }

    // ---- generic readers ----

    Status check_keys(const lc::Setting& group, KeyList allowed) const {
        for (int i = 0; i < group.getLength(); ++i) {
            const lc::Setting& child = group[i];
            const std::string_view name = child.getName();
            std::string_view best;
            size_t best_dist = 3;  // suggest only close matches
            bool known = false;
            for (const std::string_view a : allowed) {
                if (a == name) {
                    known = true;
                    break;
                }
                const size_t d = edit_distance(name, a);
                if (d < best_dist) {
                    best = a;
                    best_dist = d;
                }
            }
            if (known) {
                continue;
            }
            std::string msg = "unknown key";
            if (!best.empty()) {
                msg += "; did you mean " + in_quotes(best) + "?";
            }
            msg += " (allowed here: ";
            for (const std::string_view a : allowed) {
                msg += a;
                msg += a == *(allowed.end() - 1) ? ")" : ", ";
            }
            return fail(child, msg);
        }
        return Status::ok();
    }

    static const lc::Setting* find(const lc::Setting& group, const char* key) {
        return group.exists(key) ? &group[key] : nullptr;
    }

    Status require(const lc::Setting& group, const char* key, const lc::Setting*& out) const {
        out = find(group, key);
        return out != nullptr ? Status::ok() : fail_key(group, key, "required key is missing");
    }

    Status expect_type(const lc::Setting& s, lc::Setting::Type t, std::string_view what) const {
        if (s.getType() == t) {
            return Status::ok();
        }
        return fail(
            s, "expected " + std::string(what) + ", got " + std::string(type_name(s.getType())));
    }

    Status read_string(const lc::Setting& s, std::string& out) const {
        if (auto st = expect_type(s, lc::Setting::TypeString, "a string"); !st) {
            return st;
        }
        out = s.c_str();
        return Status::ok();
    }

    Status read_nonempty_string(const lc::Setting& s, std::string& out) const {
        if (auto st = read_string(s, out); !st) {
            return st;
        }
        return out.empty() ? fail(s, "must not be empty") : Status::ok();
    }

    Status read_int(const lc::Setting& s, int64_t lo, int64_t hi, int64_t& out) const {
        if (!is_int(s)) {
            return fail(s, "expected an integer, got " + std::string(type_name(s.getType())));
        }
        out = int_value(s);
        if (out < lo || out > hi) {
            return fail(s, std::to_string(out) + " is out of range " + std::to_string(lo) + ".." +
                               std::to_string(hi));
        }
        return Status::ok();
    }

    /// Reads `group.key` into `out` if present; leaves the default otherwise.
    template <class T>
    Status opt_int(const lc::Setting& group, const char* key, int64_t lo, int64_t hi,
                   T& out) const {
        const lc::Setting* s = find(group, key);
        if (s == nullptr) {
            return Status::ok();
        }
        int64_t v = 0;
        if (auto st = read_int(*s, lo, hi, v); !st) {
            return st;
        }
        out = static_cast<T>(v);
        return Status::ok();
    }

    /// `[ "a", "b" ]` or `( "a", "b" )`: both spellings of a sequence of strings.
    Status expect_strings(const lc::Setting& s) const {
        if (!s.isArray() && !s.isList()) {
            return fail(s,
                        "expected an array of strings, got " + std::string(type_name(s.getType())));
        }
        for (int i = 0; i < s.getLength(); ++i) {
            if (auto st = expect_type(s[i], lc::Setting::TypeString, "a string"); !st) {
                return st;
            }
        }
        return Status::ok();
    }

    /// `( { ... }, { ... } )`. An empty array `[]` also counts as an empty list.
    Status expect_groups(const lc::Setting& s) const {
        if (s.isArray() && s.getLength() == 0) {
            return Status::ok();
        }
        if (!s.isList()) {
            return fail(s, "expected a list of groups ( { ... }, ... ), got " +
                               std::string(type_name(s.getType())));
        }
        for (int i = 0; i < s.getLength(); ++i) {
            if (auto st = expect_type(s[i], lc::Setting::TypeGroup, "a group { ... }"); !st) {
                return st;
            }
        }
        return Status::ok();
    }

    // ---- sections ----

    Status load_eal(const lc::Setting& root, Config& cfg) {
        const lc::Setting* eal = nullptr;
        if (auto st = require(root, "eal", eal); !st) {
            return st;
        }
        if (auto st = expect_strings(*eal); !st) {
            return st;
        }
        for (int i = 0; i < eal->getLength(); ++i) {
            cfg.eal.emplace_back((*eal)[i].c_str());
        }
        return Status::ok();
    }

    Status read_mode(const lc::Setting& s, uint32_t& out) const {
        uint64_t mode = 0;
        if (s.getType() == lc::Setting::TypeString) {
            const std::string_view text = s.c_str();
            if (text.empty() || text.size() > 5) {
                return fail(
                    s, "bad mode " + in_quotes(text) + " (expected octal digits, e.g. \"0660\")");
            }
            for (const char c : text) {
                if (c < '0' || c > '7') {
                    return fail(s, "bad mode " + in_quotes(text) +
                                       " (expected octal digits, e.g. \"0660\")");
                }
                mode = mode * 8 + static_cast<uint64_t>(c - '0');
            }
        } else if (is_int(s)) {
            const int64_t v = int_value(s);
            if (v < 0) {
                return fail(s, "mode must not be negative");
            }
            if (s.getFormat() == lc::Setting::FormatHex) {
                mode = static_cast<uint64_t>(v);
            } else {
                // libconfig reads `0660` as decimal 660, dropping the zero that meant octal. Read
                // the digits as chmod does, so 0660 and 660 both mean rw-rw----.
                uint64_t scale = 1;
                for (int64_t rest = v; rest != 0 && mode <= 0777; rest /= 10, scale *= 8) {
                    const int64_t digit = rest % 10;
                    if (digit > 7) {
                        return fail(s, "mode " + std::to_string(v) +
                                           " is not octal (write it as a string, e.g. \"0660\")");
                    }
                    mode += static_cast<uint64_t>(digit) * scale;
                }
            }
        } else {
            return fail(
                s, "expected a mode such as \"0660\", got " + std::string(type_name(s.getType())));
        }
        if (mode > 0777) {
            return fail(s, "mode " + octal(mode) + " is out of range (at most 0777)");
        }
        out = static_cast<uint32_t>(mode);
        return Status::ok();
    }

    Status load_control(const lc::Setting& root, Config& cfg) {
        const lc::Setting* ctl = find(root, "control");
        if (ctl == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_type(*ctl, lc::Setting::TypeGroup, "a group { ... }"); !st) {
            return st;
        }
        if (auto st = check_keys(*ctl, {"socket", "mode", "group", "rules"}); !st) {
            return st;
        }
        if (const lc::Setting* s = find(*ctl, "socket")) {
            if (auto st = read_nonempty_string(*s, cfg.control.socket); !st) {
                return st;
            }
            if (cfg.control.socket.size() > kMaxSocketPath) {
                return fail(
                    *s, "socket path is longer than " + std::to_string(kMaxSocketPath) + " bytes");
            }
        }
        if (const lc::Setting* s = find(*ctl, "mode")) {
            if (auto st = read_mode(*s, cfg.control.mode); !st) {
                return st;
            }
        }
        if (const lc::Setting* s = find(*ctl, "group")) {
            if (auto st = read_string(*s, cfg.control.group); !st) {
                return st;
            }
        }
        if (const lc::Setting* s = find(*ctl, "rules")) {
            if (auto st = read_nonempty_string(*s, cfg.control.rules); !st) {
                return st;
            }
            if (cfg.control.rules.front() != '/') {
                return fail(*s, "rules must be an absolute path (the daemon may chdir)");
            }
        }
        return Status::ok();
    }

    Status load_metrics(const lc::Setting& root, Config& cfg) {
        const lc::Setting* m = find(root, "metrics");
        if (m == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_type(*m, lc::Setting::TypeGroup, "a group { ... }"); !st) {
            return st;
        }
        if (auto st = check_keys(*m, {"listen"}); !st) {
            return st;
        }
        // An empty group leaves the endpoint off, as no group does.
        const lc::Setting* s = find(*m, "listen");
        if (s == nullptr) {
            return Status::ok();
        }
        std::string text;
        if (auto st = read_nonempty_string(*s, text); !st) {
            return st;
        }
        const auto ep = parse_endpoint(text);
        if (!ep) {
            return fail(*s, "bad listen address " + in_quotes(text) +
                                " (expected IPv4 address and port, e.g. \"127.0.0.1:9180\")");
        }
        cfg.metrics.enabled = true;
        cfg.metrics.addr = ep->addr;
        cfg.metrics.port = ep->port;
        return Status::ok();
    }

    Status load_log(const lc::Setting& root, Config& cfg) {
        const lc::Setting* g = find(root, "log");
        if (g == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_type(*g, lc::Setting::TypeGroup, "a group { ... }"); !st) {
            return st;
        }
        if (auto st = check_keys(*g, {"level"}); !st) {
            return st;
        }
        const lc::Setting* s = find(*g, "level");
        if (s == nullptr) {
            return Status::ok();
        }
        std::string name;
        if (auto st = read_string(*s, name); !st) {
            return st;
        }
        static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
            {"emerg", LogLevel::Emerg},   {"alert", LogLevel::Alert},
            {"crit", LogLevel::Crit},     {"err", LogLevel::Err},
            {"error", LogLevel::Err},     {"warning", LogLevel::Warning},
            {"notice", LogLevel::Notice}, {"info", LogLevel::Info},
            {"debug", LogLevel::Debug},
        };
        for (const auto& [text, level] : kLevels) {
            if (name == text) {
                cfg.log.level = level;
                return Status::ok();
            }
        }
        return fail(*s, "unknown log level " + in_quotes(name) +
                            " (expected \"emerg\", \"alert\", \"crit\", \"err\", \"warning\", "
                            "\"notice\", \"info\" or \"debug\")");
    }

    Status check_port_name(const lc::Setting& s, const std::string& name) const {
        if (name.size() > kMaxPortName) {
            return fail(s, "name " + in_quotes(name) + " is longer than " +
                               std::to_string(kMaxPortName) + " characters");
        }
        for (const char c : name) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
            if (!ok) {
                return fail(s, "name " + in_quotes(name) +
                                   " may only contain letters, digits, '_', '-' and '.'");
            }
        }
        return Status::ok();
    }

    /// A port's or a VLAN's `addresses`: prefixes, each address owned once in the whole file.
    /// A port's or a VLAN's `addresses`. IPv6 ones (a ':' in the text) go to `v6_port`'s; a
    /// VLAN has none (nullptr: refused).
    Status load_addresses(const lc::Setting& addrs, bool required, std::vector<Prefix>& out,
                          PortCfg* v6_port) {
        if (auto st = expect_strings(addrs); !st) {
            return st;
        }
        if (required && addrs.getLength() == 0) {
            return fail(addrs, "at least one address is required");
        }
        for (int i = 0; i < addrs.getLength(); ++i) {
            const lc::Setting& a = addrs[i];
            const std::string_view text = a.c_str();
            if (text.find(':') != std::string_view::npos) {
                if (v6_port == nullptr) {
                    return fail(a, "IPv6 addresses on a VLAN are not supported (" +
                                       in_quotes(text) + ")");
                }
                if (auto st = load_address6(a, text, *v6_port); !st) {
                    return st;
                }
                continue;
            }
            const auto prefix = parse_prefix(text);
            if (!prefix) {
                return fail(a,
                            "bad prefix " + in_quotes(text) + " (expected e.g. \"10.0.0.1/24\")");
            }
            if (prefix->addr == 0) {
                return fail(a, "0.0.0.0 cannot be a port address");
            }
            if (auto [it, fresh] = addresses_.try_emplace(prefix->addr, line_of(a)); !fresh) {
                return fail(a, "address " + format_ip4(prefix->addr) +
                                   " is already assigned (line " + std::to_string(it->second) +
                                   ")");
            }
            out.push_back(*prefix);
        }
        return Status::ok();
    }

    /// `vlans = ( { id = 100; addresses = ("10.1.0.1/24"); }, ... )`: 802.1Q sub-interfaces.
    Status load_vlans(const lc::Setting& vlans, PortCfg& port) {
        if (auto st = expect_groups(vlans); !st) {
            return st;
        }
        std::map<uint16_t, unsigned> ids;  // id -> line of first use
        for (int i = 0; i < vlans.getLength(); ++i) {
            const lc::Setting& g = vlans[i];
            if (auto st = check_keys(g, {"id", "addresses"}); !st) {
                return st;
            }
            VlanCfg v;
            const lc::Setting* id = nullptr;
            if (auto st = require(g, "id", id); !st) {
                return st;
            }
            int64_t n = 0;
            // 0 means "priority tag only" and 4095 is reserved (IEEE 802.1Q).
            if (auto st = read_int(*id, 1, 4094, n); !st) {
                return st;
            }
            v.id = static_cast<uint16_t>(n);
            if (auto [it, fresh] = ids.try_emplace(v.id, line_of(*id)); !fresh) {
                return fail(*id, "duplicate VLAN " + std::to_string(v.id) + " on port " +
                                     in_quotes(port.name) + " (first at line " +
                                     std::to_string(it->second) + ")");
            }
            if (++vlan_count_ > kMaxVlans) {
                return fail(
                    g, "more than " + std::to_string(kMaxVlans) + " VLANs in all ports together");
            }
            const lc::Setting* addrs = nullptr;
            if (auto st = require(g, "addresses", addrs); !st) {
                return st;
            }
            if (auto st = load_addresses(*addrs, true, v.addresses, nullptr); !st) {
                return st;
            }
            port.vlans.push_back(std::move(v));
        }
        return Status::ok();
    }

    Status load_port(const lc::Setting& p, PortCfg& port) {
        if (auto st = check_keys(
                p, {"name", "device", "addresses", "mtu", "kernel_name", "side", "vlans"});
            !st) {
            return st;
        }
        const lc::Setting* name = nullptr;
        const lc::Setting* device = nullptr;
        const lc::Setting* addrs = nullptr;
        if (auto st = require(p, "name", name); !st) {
            return st;
        }
        if (auto st = read_nonempty_string(*name, port.name); !st) {
            return st;
        }
        if (auto st = check_port_name(*name, port.name); !st) {
            return st;
        }
        if (auto [it, fresh] = port_names_.try_emplace(port.name, line_of(*name)); !fresh) {
            return fail(*name, "duplicate port name " + in_quotes(port.name) +
                                   " (first used at line " + std::to_string(it->second) + ")");
        }
        if (auto st = require(p, "device", device); !st) {
            return st;
        }
        if (auto st = read_nonempty_string(*device, port.device); !st) {
            return st;
        }
        if (port.device.size() > kMaxDeviceName) {
            return fail(*device, "device name is longer than " + std::to_string(kMaxDeviceName) +
                                     " characters");
        }
        if (auto [it, fresh] = devices_.try_emplace(port.device, line_of(*device)); !fresh) {
            return fail(*device, "device " + in_quotes(port.device) +
                                     " is already used by another port (line " +
                                     std::to_string(it->second) + ")");
        }
        // A trunk may carry only VLANs: then the port itself needs no address.
        const lc::Setting* vlans = find(p, "vlans");
        if (vlans == nullptr || find(p, "addresses") != nullptr) {
            if (auto st = require(p, "addresses", addrs); !st) {
                return st;
            }
            if (auto st = load_addresses(*addrs, vlans == nullptr, port.addresses, &port); !st) {
                return st;
            }
        }
        if (vlans != nullptr) {
            if (auto st = load_vlans(*vlans, port); !st) {
                return st;
            }
        }
        if (const lc::Setting* kn = find(p, "kernel_name"); kn != nullptr) {
            if (auto st = read_nonempty_string(*kn, port.kernel_name); !st) {
                return st;
            }
            if (auto st = check_port_name(*kn, port.kernel_name); !st) {
                return st;
            }
        }
        if (const lc::Setting* sd = find(p, "side"); sd != nullptr) {
            std::string side;
            if (auto st = read_string(*sd, side); !st) {
                return st;
            }
            if (side == "client") {
                port.side = PortSide::Client;
            } else if (side == "server") {
                port.side = PortSide::Server;
            } else if (side == "both") {
                port.side = PortSide::Both;
            } else {
                return fail(*sd, "unknown port side " + in_quotes(side) +
                                     " (expected \"client\", \"server\" or \"both\")");
            }
        }
        return opt_int(p, "mtu", 68, 9702, port.mtu);
    }

    /// One IPv6 entry of a port's `addresses`: a unicast address that is not link-local (the
    /// port's link-local address is derived from its MAC), with a prefix length.
    Status load_address6(const lc::Setting& a, std::string_view text, PortCfg& port) {
        const auto prefix = parse_prefix6(text);
        if (!prefix) {
            return fail(a, "bad IPv6 prefix " + in_quotes(text) +
                               " (expected e.g. \"2001:db8:1::1/64\")");
        }
        if (prefix->addr.is_unspecified() || prefix->addr.is_multicast()) {
            return fail(a, format_ip6(prefix->addr) + " cannot be a port address (unspecified or "
                                                      "multicast)");
        }
        if (prefix->addr.is_link_local()) {
            return fail(a, "link-local " + format_ip6(prefix->addr) +
                               " cannot be configured (each port has its own, from its MAC)");
        }
        if (network_of(*prefix).addr == prefix->addr && prefix->len < 127) {
            return fail(a, "address " + format_ip6(prefix->addr) + " is the subnet-router "
                               "anycast address of " + format_prefix6(*prefix) +
                               " (give the port's own address, e.g. ::1 in it)");
        }
        if (auto [it, fresh] = addresses6_.try_emplace(prefix->addr, line_of(a)); !fresh) {
            return fail(a, "address " + format_ip6(prefix->addr) + " is already assigned (line " +
                               std::to_string(it->second) + ")");
        }
        port.addresses6.push_back(*prefix);
        return Status::ok();
    }

    Status load_ports(const lc::Setting& root, Config& cfg) {
        const lc::Setting* ports = nullptr;
        if (auto st = require(root, "ports", ports); !st) {
            return st;
        }
        if (auto st = expect_groups(*ports); !st) {
            return st;
        }
        if (ports->getLength() == 0) {
            return fail(*ports, "at least one port is required");
        }
        for (int i = 0; i < ports->getLength(); ++i) {
            PortCfg port;
            if (auto st = load_port((*ports)[i], port); !st) {
                return st;
            }
            port_settings_.push_back(&(*ports)[i]);
            cfg.ports.push_back(std::move(port));
        }
        return Status::ok();
    }

    /// `via` must be a neighbour on a connected subnet, and not one of our own addresses.
    Status check_gateway(const lc::Setting& s, Ip4 via, const Config& cfg) const {
        bool connected = false;
        std::string subnets;
        // Every interface's addresses: the ports' own, then their VLANs'.
        std::vector<std::pair<std::string, const std::vector<Prefix>*>> ifaces;
        for (const PortCfg& port : cfg.ports) {
            ifaces.emplace_back("port " + in_quotes(port.name), &port.addresses);
            for (const VlanCfg& v : port.vlans) {
                ifaces.emplace_back("VLAN interface " + in_quotes(vlan_name(port, v.id)),
                                    &v.addresses);
            }
        }
        for (const auto& [iface, addresses] : ifaces) {
            for (const Prefix& p : *addresses) {
                if (via == p.addr) {
                    return fail(s, "gateway " + format_ip4(via) + " is an address of " + iface +
                                       ", not a neighbour");
                }
                const Ip4 mask = prefix_mask(p.len);
                if ((via & mask) == (p.addr & mask)) {
                    connected = true;
                    // The network and broadcast addresses of a real subnet are not hosts.
                    if (p.len <= 30 && ((via & ~mask) == 0 || (via | mask) == ~Ip4{0})) {
                        return fail(s, "gateway " + format_ip4(via) +
                                           " is the network or broadcast address of " +
                                           format_prefix({p.addr & mask, p.len}));
                    }
                }
                if (p.len < 32) {
                    subnets +=
                        (subnets.empty() ? "" : ", ") + format_prefix({p.addr & mask, p.len});
                }
            }
        }
        if (!connected) {
            return fail(s, "gateway " + format_ip4(via) + " is not on a connected subnet" +
                               (subnets.empty() ? std::string(" (no port has a subnet)")
                                                : " (connected: " + subnets + ")"));
        }
        return Status::ok();
    }

    /// An IPv6 route: its prefix names a network, `via` is an IPv6 neighbour on a connected
    /// IPv6 subnet of some port.
    Status load_route6(const lc::Setting& r, const lc::Setting& pfx, const std::string& ptext,
                       std::map<std::pair<Ip6, uint8_t>, unsigned>& seen, Config& cfg) const {
        const auto prefix = parse_prefix6(ptext);
        if (!prefix) {
            return fail(pfx, "bad IPv6 prefix " + in_quotes(ptext) +
                                 " (expected e.g. \"2001:db8:2::/64\")");
        }
        if (const Prefix6 net = network_of(*prefix); net != *prefix) {
            return fail(pfx, "host bits are set in " + in_quotes(ptext) + " (did you mean \"" +
                                 format_prefix6(net) + "\"?)");
        }
        if (auto [it, fresh] = seen.try_emplace({prefix->addr, prefix->len}, line_of(pfx));
            !fresh) {
            return fail(pfx, "duplicate route " + format_prefix6(*prefix) + " (first at line " +
                                 std::to_string(it->second) + ")");
        }
        const lc::Setting* via = nullptr;
        if (auto st = require(r, "via", via); !st) {
            return st;
        }
        std::string text;
        if (auto st = read_string(*via, text); !st) {
            return st;
        }
        const auto gw = parse_ip6(text);
        if (!gw) {
            return fail(*via, (parse_ip4(text) ? "an IPv6 route needs an IPv6 gateway, not "
                                               : "bad IPv6 address ") +
                                  in_quotes(text));
        }
        bool connected = false;
        for (const PortCfg& port : cfg.ports) {
            for (const Prefix6& p : port.addresses6) {
                if (p.addr == *gw) {
                    return fail(*via, "gateway " + format_ip6(*gw) + " is an address of port " +
                                          in_quotes(port.name) + ", not a neighbour");
                }
                connected = connected || (p.len < 128 && prefix_contains(p, *gw));
            }
        }
        if (!connected) {
            return fail(*via, "gateway " + format_ip6(*gw) +
                                  " is not on a connected IPv6 subnet of any port");
        }
        cfg.routes6.push_back({*prefix, *gw});
        return Status::ok();
    }

    Status load_routes(const lc::Setting& root, Config& cfg) {
        const lc::Setting* routes = find(root, "routes");
        if (routes == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_groups(*routes); !st) {
            return st;
        }
        std::map<std::pair<Ip4, uint8_t>, unsigned> seen;
        std::map<std::pair<Ip6, uint8_t>, unsigned> seen6;
        for (int i = 0; i < routes->getLength(); ++i) {
            const lc::Setting& r = (*routes)[i];
            if (auto st = check_keys(r, {"prefix", "via"}); !st) {
                return st;
            }
            const lc::Setting* pfx = nullptr;
            const lc::Setting* via = nullptr;
            std::string text;
            RouteCfg route;
            if (auto st = require(r, "prefix", pfx); !st) {
                return st;
            }
            if (auto st = read_string(*pfx, text); !st) {
                return st;
            }
            if (text.find(':') != std::string::npos) {
                if (auto st = load_route6(r, *pfx, text, seen6, cfg); !st) {
                    return st;
                }
                continue;
            }
            const auto prefix = parse_prefix(text);
            if (!prefix) {
                return fail(*pfx,
                            "bad prefix " + in_quotes(text) + " (expected e.g. \"10.1.0.0/16\")");
            }
            if (auto st = no_host_bits(*pfx, text, *prefix); !st) {
                return st;
            }
            route.prefix = *prefix;
            if (auto [it, fresh] = seen.try_emplace({prefix->addr, prefix->len}, line_of(*pfx));
                !fresh) {
                return fail(*pfx, "duplicate route " + format_prefix(*prefix) + " (first at line " +
                                      std::to_string(it->second) + ")");
            }
            if (auto st = require(r, "via", via); !st) {
                return st;
            }
            if (auto st = read_string(*via, text); !st) {
                return st;
            }
            const auto gw = parse_ip4(text);
            if (!gw) {
                return fail(*via, "bad address " + in_quotes(text));
            }
            if (auto st = check_gateway(*via, *gw, cfg); !st) {
                return st;
            }
            route.via = *gw;
            cfg.routes.push_back(route);
        }
        return Status::ok();
    }

    Status load_flags(const lc::Setting& s, uint32_t& flags) const {
        struct Name {
            std::string_view name;
            uint32_t flag;
        };
        static constexpr std::array<Name, 6> kNames{{
            {"sh-fallback", kSvcSched1},
            {"mh-fallback", kSvcSched1},
            {"sh-port", kSvcSched2},
            {"mh-port", kSvcSched2},
            {"flag-3", kSvcSched3},
            {"ops", kSvcOnePacket},
        }};
        if (auto st = expect_strings(s); !st) {
            return st;
        }
        for (int i = 0; i < s.getLength(); ++i) {
            const std::string_view text = s[i].c_str();
            bool known = false;
            for (const Name& n : kNames) {
                if (n.name == text) {
                    flags |= n.flag;
                    known = true;
                }
            }
            if (!known) {
                return fail(s[i], "unknown flag " + in_quotes(text) +
                                      " (expected sh-fallback, mh-fallback, sh-port, mh-port, " +
                                      "flag-3 or ops)");
            }
        }
        return Status::ok();
    }

    Status load_server(const lc::Setting& g, const Service& svc, RealServer& rs) const {
        if (auto st = check_keys(g, {"address", "forward", "weight", "u_threshold", "l_threshold",
                                     "tun_type", "tun_port", "tun_csum"});
            !st) {
            return st;
        }
        const lc::Setting* addr = nullptr;
        std::string text;
        if (auto st = require(g, "address", addr); !st) {
            return st;
        }
        if (auto st = read_string(*addr, text); !st) {
            return st;
        }
        // IPv6 as ipvsadm writes it: "[2001:db8::11]:80", or the bare address for the
        // service's port.
        if (!text.empty() && text.front() == '[') {
            const auto ep = parse_endpoint6(text, true);
            if (!ep) {
                return fail(*addr, "bad address " + in_quotes(text) +
                                       " (expected [ipv6]:port, e.g. \"[2001:db8::11]:80\")");
            }
            rs.af = Family::Inet6;
            rs.addr6 = ep->addr;
            rs.port = ep->port;
        } else if (const auto a6 = parse_ip6(text)) {
            rs.af = Family::Inet6;
            rs.addr6 = *a6;
        } else if (text.find(':') != std::string::npos) {
            const auto ep = parse_endpoint(text, true);
            if (!ep) {
                return fail(*addr, "bad address " + in_quotes(text) +
                                       " (expected ip, ip:port, ipv6 or [ipv6]:port)");
            }
            rs.addr = ep->addr;
            rs.port = ep->port;
        } else {
            const auto ip = parse_ip4(text);
            if (!ip) {
                return fail(*addr, "bad address " + in_quotes(text) + " (expected ip or ip:port)");
            }
            rs.addr = *ip;
        }
        if (rs.port == 0) {
            rs.port = svc.key.port;  // as ipvsadm: no port means the service's port
        }
        if (const lc::Setting* fwd = find(g, "forward")) {
            if (auto st = read_string(*fwd, text); !st) {
                return st;
            }
            const auto f = parse_fwd(text);
            if (!f) {
                return fail(*fwd, "unknown forwarding method " + in_quotes(text) +
                                      " (expected nat, dr or tun)");
            }
            rs.fwd = *f;
        }
        if (const lc::Setting* t = find(g, "tun_type")) {
            if (auto st = read_string(*t, text); !st) {
                return st;
            }
            const auto tt = parse_tun_type(text);
            if (!tt) {
                return fail(*t, "unknown tunnel type " + in_quotes(text) +
                                    " (expected ipip, gue or gre)");
            }
            rs.tun_type = *tt;
        }
        if (const lc::Setting* c = find(g, "tun_csum")) {
            if (auto st = read_string(*c, text); !st) {
                return st;
            }
            const auto tc = parse_tun_csum(text);
            if (!tc) {
                return fail(*c, "unknown tunnel checksum option " + in_quotes(text) +
                                    " (expected nocsum, csum or remcsum)");
            }
            rs.tun_csum = *tc;
        }
        for (Status st : {opt_int(g, "tun_port", 1, 65535, rs.tun_port),
                          opt_int(g, "weight", 0, kMaxWeight, rs.weight),
                          opt_int(g, "u_threshold", 0, kMaxU32, rs.u_threshold),
                          opt_int(g, "l_threshold", 0, kMaxU32, rs.l_threshold)}) {
            if (!st) {
                return st;
            }
        }
        if (auto st = check_server(svc, rs); !st) {
            return fail(g, st.message(), st.code());
        }
        return Status::ok();
    }

    Status load_service(const lc::Setting& g, Service& svc) const {
        if (auto st = check_keys(g, {"protocol", "address", "fwmark", "ipv6", "scheduler",
                                     "persistent", "netmask", "prefix6", "flags", "servers"});
            !st) {
            return st;
        }
        const lc::Setting* s = nullptr;
        std::string text;
        if ((s = find(g, "fwmark")) != nullptr) {
            // IPVS's firewall-mark service: the mark alone, no protocol, address or port.
            for (const char* k : {"protocol", "address"}) {
                if (find(g, k) != nullptr) {
                    return fail(*find(g, k), std::string("a fwmark service takes no ") + k +
                                                 " (the mark rules in `marks` match packets)");
                }
            }
            int64_t mark = 0;
            if (auto st = read_int(*s, 1, kMaxU32, mark); !st) {
                return st;
            }
            svc.key.fwmark = static_cast<uint32_t>(mark);
            // ipvsadm's -f MARK -6: an IPv6 fwmark service.
            if ((s = find(g, "ipv6")) != nullptr) {
                if (auto st = expect_type(*s, lc::Setting::TypeBoolean, "true or false"); !st) {
                    return st;
                }
                svc.key.af = static_cast<bool>(*s) ? Family::Inet6 : Family::Inet;
            }
        } else if (const lc::Setting* v6 = find(g, "ipv6")) {
            return fail(*v6, "ipv6 is for fwmark services (an address service's family is its "
                             "address's)");
        } else if (auto st = load_service_address(g, svc); !st) {
            return st;
        }
        return load_service_rest(g, svc);
    }

    Status load_service_address(const lc::Setting& g, Service& svc) const {
        const lc::Setting* s = nullptr;
        std::string text;
        if (auto st = require(g, "protocol", s); !st) {
            return st;
        }
        if (auto st = read_string(*s, text); !st) {
            return st;
        }
        const auto proto = parse_proto(text);
        if (!proto) {
            return fail(*s, "unknown protocol " + in_quotes(text) +
                                " (expected \"tcp\", \"udp\" or \"sctp\")");
        }
        svc.key.proto = *proto;

        if (auto st = require(g, "address", s); !st) {
            return st;
        }
        if (auto st = read_string(*s, text); !st) {
            return st;
        }
        if (!text.empty() && text.front() == '[') {
            const auto ep6 = parse_endpoint6(text);
            if (!ep6) {
                return fail(*s, "bad address " + in_quotes(text) +
                                    " (expected [ipv6]:port, e.g. \"[2001:db8::100]:80\")");
            }
            if (ep6->addr.is_unspecified() || ep6->addr.is_multicast()) {
                return fail(*s, "service address " + in_quotes(text) +
                                    " is not a unicast IPv6 address");
            }
            svc.key.af = Family::Inet6;
            svc.key.addr6 = ep6->addr;
            svc.key.port = ep6->port;
            return Status::ok();
        }
        if (parse_ip6(text)) {
            return fail(*s, "missing port in " + in_quotes(text) +
                                " (an IPv6 service is written [ipv6]:port)");
        }
        const auto ep = parse_endpoint(text);
        if (!ep) {
            return fail(*s, parse_ip4(text)
                                ? "missing port in " + in_quotes(text) + " (expected ip:port)"
                                : "bad address " + in_quotes(text) + " (expected ip:port)");
        }
        if (ep->addr == 0) {
            return fail(*s, "service address must not be 0.0.0.0");
        }
        svc.key.addr = ep->addr;
        svc.key.port = ep->port;
        return Status::ok();
    }

    Status load_service_rest(const lc::Setting& g, Service& svc) const {
        const lc::Setting* s = nullptr;
        std::string text;
        if ((s = find(g, "scheduler")) != nullptr) {
            if (auto st = read_nonempty_string(*s, svc.scheduler); !st) {
                return st;
            }
        }
        if (opts_.check_scheduler) {
            if (auto why = opts_.check_scheduler(svc.scheduler)) {
                return fail(s != nullptr ? *s : g, *why, Errc::NoScheduler);
            }
        }
        if ((s = find(g, "persistent")) != nullptr) {
            int64_t t = 0;
            if (auto st = read_int(*s, 1, kMaxSeconds, t); !st) {
                return st;
            }
            svc.flags |= kSvcPersistent;
            svc.timeout = static_cast<uint32_t>(t);
        }
        if ((s = find(g, "netmask")) != nullptr) {
            if (auto st = read_string(*s, text); !st) {
                return st;
            }
            const auto mask = parse_ip4(text);
            if (!mask || !contiguous_mask(*mask)) {
                return fail(*s, "bad netmask " + in_quotes(text) +
                                    " (expected a contiguous mask, e.g. \"255.255.255.0\")");
            }
            if (svc.key.af == Family::Inet6) {
                return fail(*s, "netmask is for IPv4 services; an IPv6 service's persistence "
                                "granularity is prefix6 (a length, e.g. 64)");
            }
            svc.netmask = *mask;
        }
        // ipvsadm's -M for an IPv6 service: a prefix length 1..128.
        if ((s = find(g, "prefix6")) != nullptr) {
            if (svc.key.af != Family::Inet6) {
                return fail(*s, "prefix6 is for IPv6 services; an IPv4 service's persistence "
                                "granularity is netmask");
            }
            int64_t len = 0;
            if (auto st = read_int(*s, 1, 128, len); !st) {
                return st;
            }
            svc.prefix6 = static_cast<uint8_t>(len);
        }
        if ((s = find(g, "flags")) != nullptr) {
            if (auto st = load_flags(*s, svc.flags); !st) {
                return st;
            }
        }
        if ((s = find(g, "servers")) != nullptr) {
            if (auto st = expect_groups(*s); !st) {
                return st;
            }
            std::map<ServerId, unsigned> seen;
            for (int i = 0; i < s->getLength(); ++i) {
                const lc::Setting& sg = (*s)[i];
                RealServer rs;
                if (auto st = load_server(sg, svc, rs); !st) {
                    return st;
                }
                if (auto [it, fresh] = seen.try_emplace(server_id(rs), line_of(sg)); !fresh) {
                    return fail(sg,
                                "duplicate real server " +
                                    format_any_endpoint(rs.af, rs.addr, rs.addr6, rs.port) +
                                    " (first at line " + std::to_string(it->second) + ")",
                                Errc::DestExists);
                }
                svc.servers.push_back(rs);
            }
        }
        // Everything above should already hold; this keeps the loader and the control plane
        // from drifting apart.
        if (auto st = validate_service(svc); !st) {
            return fail(g, st.message(), st.code());
        }
        return Status::ok();
    }

    Status load_services(const lc::Setting& root, Config& cfg) {
        const lc::Setting* services = find(root, "services");
        if (services == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_groups(*services); !st) {
            return st;
        }
        std::map<ServiceKey, unsigned> seen;
        for (int i = 0; i < services->getLength(); ++i) {
            const lc::Setting& g = (*services)[i];
            Service svc;
            if (auto st = load_service(g, svc); !st) {
                return st;
            }
            if (auto [it, fresh] = seen.try_emplace(svc.key, line_of(g)); !fresh) {
                return fail(g,
                            "duplicate service " + format_service_key(svc.key) +
                                " (first at line " + std::to_string(it->second) + ")",
                            Errc::ServiceExists);
            }
            cfg.services.push_back(std::move(svc));
        }
        return Status::ok();
    }

    /// `marks = ( { address = "10.0.0.100/32"; protocol = "tcp"; ports = "80,443"; mark = 1; } )`
    Status load_marks(const lc::Setting& root, Config& cfg) {
        const lc::Setting* marks = find(root, "marks");
        if (marks == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_groups(*marks); !st) {
            return st;
        }
        if (static_cast<size_t>(marks->getLength()) > kMaxMarkRules) {
            return fail(*marks, "more than " + std::to_string(kMaxMarkRules) + " mark rules",
                        Errc::Resource);
        }
        std::map<std::string, unsigned> seen;
        for (int i = 0; i < marks->getLength(); ++i) {
            const lc::Setting& g = (*marks)[i];
            if (auto st = check_keys(g, {"address", "protocol", "ports", "mark"}); !st) {
                return st;
            }
            MarkRule m;
            const lc::Setting* s = nullptr;
            std::string text;
            if (auto st = require(g, "address", s); !st) {
                return st;
            }
            if (auto st = read_string(*s, text); !st) {
                return st;
            }
            const auto pfx = parse_prefix(text);
            const auto pfx6 = pfx ? std::nullopt : parse_prefix6(text);
            if (!pfx && !pfx6) {
                return fail(*s, "bad address " + in_quotes(text) +
                                    " (expected an address or prefix, e.g. \"10.0.0.100/32\" or "
                                    "\"2001:db8::100/128\")");
            }
            if (pfx) {
                if (auto st = no_host_bits(*s, text, *pfx); !st) {
                    return st;
                }
                m.dst = *pfx;
            } else {
                // An IPv6 rule: it selects the IPv6 fwmark service of its mark (-f MARK -6).
                m.af = Family::Inet6;
                m.dst6 = *pfx6;
            }
            if ((s = find(g, "protocol")) != nullptr) {
                if (auto st = read_string(*s, text); !st) {
                    return st;
                }
                const auto proto = parse_proto(text);
                if (!proto) {
                    return fail(*s, "unknown protocol " + in_quotes(text) +
                                        " (expected \"tcp\", \"udp\" or \"sctp\"; omit it for "
                                        "TCP and UDP)");
                }
                m.proto = static_cast<uint8_t>(*proto);
            }
            if ((s = find(g, "ports")) != nullptr) {
                if (auto st = read_string(*s, text); !st) {
                    return st;
                }
                const auto ports = parse_port_list(text);
                if (!ports) {
                    return fail(*s, "bad port list " + in_quotes(text) +
                                        " (expected e.g. \"80,443\" or \"8000-8100\"; omit it "
                                        "for every port)");
                }
                m.ports = *ports;
            }
            if (auto st = require(g, "mark", s); !st) {
                return st;
            }
            int64_t mark = 0;
            if (auto st = read_int(*s, 1, kMaxU32, mark); !st) {
                return st;
            }
            m.mark = static_cast<uint32_t>(mark);
            if (auto st = validate_mark(m); !st) {
                return fail(g, st.message(), st.code());
            }
            const std::string where =
                m.af == Family::Inet6 ? format_prefix6(m.dst6) : format_prefix(m.dst);
            const std::string id =
                std::to_string(m.proto) + " " + where + " " + format_port_list(m.ports);
            if (auto [it, fresh] = seen.try_emplace(id, line_of(g)); !fresh) {
                return fail(g, "duplicate mark rule " + where + " ports " +
                                   format_port_list(m.ports) + " (first at line " +
                                   std::to_string(it->second) + ")");
            }
            cfg.marks.push_back(std::move(m));
        }
        return Status::ok();
    }

    Status load_dataplane(const lc::Setting& root, Config& cfg) {
        const lc::Setting* dp = find(root, "dataplane");
        if (dp == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_type(*dp, lc::Setting::TypeGroup, "a group { ... }"); !st) {
            return st;
        }
        if (auto st = check_keys(*dp, {"conn_table_size", "mbufs", "mbuf_size", "rx_desc",
                                       "tx_desc",
                                       "neighbours", "arp_timeout", "expire_nodest_conn",
                                       "persist_templates", "poll", "idle_polls",
                                       "max_sleep_us", "reassembly", "frag_timeout"});
            !st) {
            return st;
        }
        DataplaneCfg& d = cfg.dataplane;
        for (Status st :
             {opt_int(*dp, "conn_table_size", 1024, int64_t{1} << 27, d.conn_table_size),
              opt_int(*dp, "mbufs", 1023, int64_t{1} << 24, d.mbufs),
              opt_int(*dp, "mbuf_size", 2176, 65535, d.mbuf_size),
              opt_int(*dp, "rx_desc", 64, 4096, d.rx_desc),
              opt_int(*dp, "tx_desc", 64, 4096, d.tx_desc),
              opt_int(*dp, "neighbours", 16, int64_t{1} << 20, d.neighbours),
              opt_int(*dp, "arp_timeout", 1, 86400, d.arp_timeout),
              opt_int(*dp, "persist_templates", 64, int64_t{1} << 24, d.persist_templates),
              opt_int(*dp, "idle_polls", 1, kMaxIdlePolls, d.idle_polls),
              opt_int(*dp, "max_sleep_us", 1, kMaxSleepUs, d.max_sleep_us),
              opt_int(*dp, "reassembly", 0, kMaxReassembly, d.reassembly),
              opt_int(*dp, "frag_timeout", 1, 300, d.frag_timeout)}) {
            if (!st) {
                return st;
            }
        }
        // Fragments wait in mbufs: reassembly must not be able to starve reception. The default
        // shrinks to fit a small pool; a value given explicitly must fit.
        const int64_t frag_room = int64_t{d.mbufs} / 2 / kMaxFragsPerDatagram;
        if (const lc::Setting* r = find(*dp, "reassembly"); r == nullptr) {
            d.reassembly = static_cast<uint32_t>(std::min<int64_t>(d.reassembly, frag_room));
        } else if (int64_t{d.reassembly} > frag_room) {
            return fail(*r, "reassembly " + std::to_string(d.reassembly) + " may hold " +
                                std::to_string(int64_t{d.reassembly} * kMaxFragsPerDatagram) +
                                " mbufs, more than half of dataplane.mbufs (" +
                                std::to_string(d.mbufs) + ")");
        }
        if (const lc::Setting* e = find(*dp, "expire_nodest_conn"); e != nullptr) {
            if (auto st = expect_type(*e, lc::Setting::TypeBoolean, "true or false"); !st) {
                return st;
            }
            d.expire_nodest_conn = static_cast<bool>(*e);
        }
        if (const lc::Setting* p = find(*dp, "poll"); p != nullptr) {
            std::string mode;
            if (auto st = read_string(*p, mode); !st) {
                return st;
            }
            if (mode == "busy") {
                d.poll = PollMode::Busy;
            } else if (mode == "adaptive") {
                d.poll = PollMode::Adaptive;
            } else {
                return fail(*p, "unknown poll mode " + in_quotes(mode) +
                                    " (expected \"busy\" or \"adaptive\")");
            }
        }
        return Status::ok();
    }

    /// IPVS's defence strategies (docs/reliability.md, "Floods"). Runs after load_dataplane:
    /// an automatic mode needs a threshold below the table size.
    Status load_defense(const lc::Setting& root, Config& cfg) {
        const lc::Setting* g = find(root, "defense");
        if (g == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_type(*g, lc::Setting::TypeGroup, "a group { ... }"); !st) {
            return st;
        }
        if (auto st = check_keys(*g, {"drop_entry", "drop_packet", "secure_tcp", "syn_proxy",
                                      "am_droprate", "amemthresh"});
            !st) {
            return st;
        }
        DefenseCfg& d = cfg.defense;
        for (Status st : {opt_int(*g, "drop_entry", 0, 3, d.drop_entry),
                          opt_int(*g, "drop_packet", 0, 3, d.drop_packet),
                          opt_int(*g, "secure_tcp", 0, 3, d.secure_tcp),
                          opt_int(*g, "syn_proxy", 0, 3, d.syn_proxy),
                          opt_int(*g, "am_droprate", 1, int64_t{1} << 30, d.am_droprate),
                          opt_int(*g, "amemthresh", 1, int64_t{1} << 30, d.amemthresh)}) {
            if (!st) {
                return st;
            }
        }
        const auto automatic = [](uint8_t m) { return m == 1 || m == 2; };
        if ((automatic(d.drop_entry) || automatic(d.drop_packet) || automatic(d.secure_tcp) ||
             automatic(d.syn_proxy)) &&
            d.amemthresh >= cfg.dataplane.conn_table_size) {
            const lc::Setting* at = find(*g, "amemthresh");
            return fail(at != nullptr ? *at : *g,
                        "amemthresh " + std::to_string(d.amemthresh) +
                            " must be below dataplane.conn_table_size (" +
                            std::to_string(cfg.dataplane.conn_table_size) +
                            ") for an automatic mode (1 or 2)");
        }
        return Status::ok();
    }

    /// Kernel interface names: at most 15 characters (IFNAMSIZ), unique. Checked here, once the
    /// host group has said whether there are kernel interfaces at all.
    Status load_host(const lc::Setting& root, Config& cfg) {
        HostCfg& h = cfg.host;
        const lc::Setting* g = find(root, "host");
        if (g != nullptr) {
            if (auto st = expect_type(*g, lc::Setting::TypeGroup, "a group { ... }"); !st) {
                return st;
            }
            if (auto st = check_keys(*g, {"kernel_interfaces", "queue", "rate", "burst"}); !st) {
                return st;
            }
            if (const lc::Setting* e = find(*g, "kernel_interfaces"); e != nullptr) {
                if (auto st = expect_type(*e, lc::Setting::TypeBoolean, "true or false"); !st) {
                    return st;
                }
                h.kernel_interfaces = static_cast<bool>(*e);
            }
            for (Status st : {opt_int(*g, "queue", 64, 65536, h.queue),
                              opt_int(*g, "rate", 1, 10000000, h.rate),
                              opt_int(*g, "burst", 1, 10000000, h.burst)}) {
                if (!st) {
                    return st;
                }
            }
            if ((h.queue & (h.queue - 1)) != 0) {
                return fail(*find(*g, "queue"), "must be a power of two (64 to 65536)");
            }
        }
        if (!h.kernel_interfaces) {
            return Status::ok();
        }
        std::map<std::string, std::string> seen;  // kernel name -> "port \"ext\"" (its owner)
        for (size_t i = 0; i < cfg.ports.size(); ++i) {
            const PortCfg& p = cfg.ports[i];
            const std::string& kn = kernel_name(p);
            if (kn.size() > 15) {
                return fail(*port_settings_[i], "kernel interface name " + in_quotes(kn) +
                                                    " is longer than 15 characters (set "
                                                    "kernel_name, or host.kernel_interfaces = "
                                                    "false)");
            }
            if (auto [it, fresh] = seen.try_emplace(kn, "port " + in_quotes(p.name)); !fresh) {
                return fail(*port_settings_[i],
                            it->second + " already has the kernel interface " + in_quotes(kn));
            }
            // Each VLAN gets a kernel interface of its own, "<kernel name>.<id>".
            for (const VlanCfg& v : p.vlans) {
                const std::string vk = vlan_kernel_name(p, v.id);
                if (vk.size() > 15) {
                    return fail(*port_settings_[i],
                                "kernel interface name " + in_quotes(vk) + " of VLAN " +
                                    std::to_string(v.id) +
                                    " is longer than 15 characters (set a shorter kernel_name, "
                                    "or host.kernel_interfaces = false)");
                }
                if (auto [it, fresh] =
                        seen.try_emplace(vk, "VLAN interface " + in_quotes(vlan_name(p, v.id)));
                    !fresh) {
                    return fail(*port_settings_[i],
                                it->second + " already has the kernel interface " + in_quotes(vk));
                }
            }
        }
        return Status::ok();
    }

    Status load_timeouts(const lc::Setting& root, Config& cfg) {
        const lc::Setting* to = find(root, "timeouts");
        if (to == nullptr) {
            return Status::ok();
        }
        if (auto st = expect_type(*to, lc::Setting::TypeGroup, "a group { ... }"); !st) {
            return st;
        }
        if (auto st = check_keys(*to, {"tcp", "tcp_fin", "udp"}); !st) {
            return st;
        }
        TimeoutCfg& t = cfg.timeouts;
        for (Status st : {opt_int(*to, "tcp", 1, kMaxConnTimeout, t.tcp),
                          opt_int(*to, "tcp_fin", 1, kMaxConnTimeout, t.tcp_fin),
                          opt_int(*to, "udp", 1, kMaxConnTimeout, t.udp)}) {
            if (!st) {
                return st;
            }
        }
        return Status::ok();
    }

    std::string file_;
    std::string include_dir_;
    const LoadOptions& opts_;
    std::map<std::string, unsigned> port_names_;  // name -> line of first use
    std::vector<const lc::Setting*> port_settings_;  // each port's group, in order
    std::map<std::string, unsigned> devices_;
    std::map<Ip4, unsigned> addresses_;
    size_t vlan_count_ = 0;  // VLANs of every port so far (at most kMaxVlans)
    std::map<Ip6, unsigned> addresses6_;
};

/// Runs `read` (which fills a libconfig::Config) and the loader, turning libconfig's exceptions
/// into a Status. This is the only place libconfig exceptions are caught.
Result<Config> parse(const std::string& name, const std::string& include_dir,
                     const LoadOptions& opts, const std::function<void(lc::Config&)>& read) {
    lc::Config lcfg;
    if (!include_dir.empty()) {
        lcfg.setIncludeDir(include_dir.c_str());
    }
    try {
        read(lcfg);
        return Loader(name, include_dir, opts).run(lcfg.getRoot());
    } catch (const lc::ParseException& e) {
        // libconfig's own text is often just "syntax error"; don't say it twice.
        const std::string what = e.getError();
        return Status(Errc::Invalid,
                      source_name(e.getFile(), name, include_dir) + ':' +
                          std::to_string(e.getLine()) + ": " +
                          (what.starts_with("syntax error") ? what : "syntax error: " + what));
    } catch (const lc::FileIOException&) {
        return Status(Errc::Io, name + ": cannot read the file (or a file it includes)");
    } catch (const lc::ConfigException& e) {
        // The loader checks every type before converting, so this is a bug.
        return Status(Errc::Internal, name + ": internal error while reading: " + e.what());
    }
}

}  // namespace

Result<Config> load_file(const std::string& path, const LoadOptions& opts) {
    // libconfig's FileIOException says nothing about why; open the file first for the reason.
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) {
        return Status(Errc::Io, path + ": cannot open: " + std::generic_category().message(errno));
    }
    std::fclose(f);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return Status(Errc::Io, path + ": cannot open: is a directory");
    }
    // `@include "x.conf"` is relative to the including file, not to the daemon's cwd.
    const std::string dir = std::filesystem::path(path).parent_path().string();
    return parse(path, dir, opts, [&path](lc::Config& c) { c.readFile(path.c_str()); });
}

Result<Config> load_string(const std::string& text, const std::string& name,
                           const LoadOptions& opts) {
    return parse(name, "", opts, [&text](lc::Config& c) { c.readString(text); });
}

}  // namespace dirigo::cfg
