// SPDX-License-Identifier: BSD-3-Clause
#include "config/addr.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <arpa/inet.h>

namespace dirigo::cfg {

namespace {

/// An unsigned decimal of 1..max_digits digits. A leading zero is refused unless the number is "0"
/// itself: "010" means 8 to inet_aton() and 10 to a person, so neither reading is safe.
std::optional<uint32_t> parse_decimal(std::string_view s, size_t max_digits) {
    if (s.size() > max_digits || (s.size() > 1 && s.front() == '0')) {
        return std::nullopt;
    }
    const auto v = parse_number(s, 0, UINT32_MAX);
    if (!v) {
        return std::nullopt;
    }
    return static_cast<uint32_t>(*v);
}

/// ASCII case-insensitive equality; names in the config are plain ASCII.
bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = static_cast<char>(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = static_cast<char>(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<uint64_t> parse_number(std::string_view s, uint64_t min, uint64_t max) {
    // from_chars takes no sign and no blanks for an unsigned type, but accepts nothing else to
    // be checked: an empty string, trailing garbage and overflow all come back as errors here.
    if (s.empty() || s.front() < '0' || s.front() > '9') {
        return std::nullopt;
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
        return std::nullopt;
    }
    return v;
}

std::optional<Ip4> parse_ip4(std::string_view s) {
    Ip4 addr = 0;
    for (int part = 0; part < 4; ++part) {
        const size_t dot = s.find('.');
        // The last part must not be followed by another dot; the others must be.
        if ((part < 3) == (dot == std::string_view::npos)) {
            return std::nullopt;
        }
        const std::string_view digits = part < 3 ? s.substr(0, dot) : s;
        const auto v = parse_decimal(digits, 3);
        if (!v || *v > 255) {
            return std::nullopt;
        }
        addr = (addr << 8) | *v;
        if (part < 3) {
            s.remove_prefix(dot + 1);
        }
    }
    return addr;
}

std::optional<Prefix> parse_prefix(std::string_view s) {
    const size_t slash = s.find('/');
    const auto addr = parse_ip4(s.substr(0, slash));
    if (!addr) {
        return std::nullopt;
    }
    if (slash == std::string_view::npos) {
        return Prefix{*addr, 32};
    }
    const auto len = parse_decimal(s.substr(slash + 1), 2);
    if (!len || *len > 32) {
        return std::nullopt;
    }
    return Prefix{*addr, static_cast<uint8_t>(*len)};
}

std::optional<Ip6> parse_ip6(std::string_view s) {
    // The longest text form is 45 characters (six groups and a dotted quad). inet_pton wants a
    // C string: a NUL inside `s` would end it early, so it is refused here.
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (s.empty() || s.size() >= buf.size() || s.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    std::memcpy(buf.data(), s.data(), s.size());
    Ip6 a;
    if (inet_pton(AF_INET6, buf.data(), a.b.data()) != 1) {
        return std::nullopt;
    }
    return a;
}

std::optional<Prefix6> parse_prefix6(std::string_view s) {
    const size_t slash = s.find('/');
    const auto addr = parse_ip6(s.substr(0, slash));
    if (!addr) {
        return std::nullopt;
    }
    if (slash == std::string_view::npos) {
        return Prefix6{*addr, 128};
    }
    const auto len = parse_decimal(s.substr(slash + 1), 3);
    if (!len || *len > 128) {
        return std::nullopt;
    }
    return Prefix6{*addr, static_cast<uint8_t>(*len)};
}

std::string format_ip6(const Ip6& a) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    // Cannot fail: the family is right and the buffer holds the longest form.
    (void)inet_ntop(AF_INET6, a.b.data(), buf.data(), buf.size());
    return std::string(buf.data());
}

std::string format_prefix6(const Prefix6& p) {
    std::string out = format_ip6(p.addr);
    out += '/';
    out += std::to_string(p.len);
    return out;
}

Prefix6 network_of(const Prefix6& p) {
    Prefix6 n = p;
    for (size_t i = 0; i < n.addr.b.size(); ++i) {
        const int bits = static_cast<int>(p.len) - static_cast<int>(i) * 8;
        if (bits <= 0) {
            n.addr.b[i] = 0;
        } else if (bits < 8) {
            n.addr.b[i] = static_cast<uint8_t>(n.addr.b[i] & (0xff00u >> bits));
        }
    }
    return n;
}

bool prefix_contains(const Prefix6& p, const Ip6& a) {
    return network_of(p) == network_of(Prefix6{a, p.len});
}

std::optional<Endpoint> parse_endpoint(std::string_view s, bool allow_zero_port) {
    const size_t colon = s.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto addr = parse_ip4(s.substr(0, colon));
    const auto port = parse_decimal(s.substr(colon + 1), 5);
    if (!addr || !port || *port > 65535 || (*port == 0 && !allow_zero_port)) {
        return std::nullopt;
    }
    return Endpoint{*addr, static_cast<uint16_t>(*port)};
}

std::optional<Endpoint6> parse_endpoint6(std::string_view s, bool allow_zero_port) {
    if (s.size() < 2 || s.front() != '[') {
        return std::nullopt;
    }
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
        return std::nullopt;
    }
    const auto addr = parse_ip6(s.substr(1, close - 1));
    const auto port = parse_decimal(s.substr(close + 2), 5);
    if (!addr || !port || *port > 65535 || (*port == 0 && !allow_zero_port)) {
        return std::nullopt;
    }
    return Endpoint6{*addr, static_cast<uint16_t>(*port)};
}

std::string format_endpoint6(const Ip6& a, uint16_t port) {
    std::string out = "[";
    out += format_ip6(a);
    out += "]:";
    out += std::to_string(port);
    return out;
}

std::string format_addr(Family af, Ip4 a4, const Ip6& a6) {
    return af == Family::Inet6 ? format_ip6(a6) : format_ip4(a4);
}

std::string format_any_endpoint(Family af, Ip4 a4, const Ip6& a6, uint16_t port) {
    return af == Family::Inet6 ? format_endpoint6(a6, port) : format_endpoint(a4, port);
}

std::string_view family_name(Family af) {
    return af == Family::Inet6 ? "IPv6" : "IPv4";
}

std::string format_ip4(Ip4 a) {
    std::string out;
    out.reserve(15);
    for (int shift = 24; shift >= 0; shift -= 8) {
        out += std::to_string((a >> shift) & 0xffu);
        if (shift != 0) {
            out += '.';
        }
    }
    return out;
}

std::string format_endpoint(Ip4 a, uint16_t port) {
    return format_ip4(a) + ':' + std::to_string(port);
}

std::string format_prefix(const Prefix& p) {
    return format_ip4(p.addr) + '/' + std::to_string(p.len);
}

std::optional<Proto> parse_proto(std::string_view s) {
    if (iequals(s, "tcp")) {
        return Proto::Tcp;
    }
    if (iequals(s, "udp")) {
        return Proto::Udp;
    }
    if (iequals(s, "sctp")) {
        return Proto::Sctp;
    }
    return std::nullopt;
}

std::string_view proto_name(Proto p) {
    switch (p) {
        case Proto::Tcp:
            return "tcp";
        case Proto::Udp:
            return "udp";
        case Proto::Sctp:
            return "sctp";
    }
    return "?";
}

std::string_view proto_name_upper(Proto p) {
    switch (p) {
        case Proto::Tcp:
            return "TCP";
        case Proto::Udp:
            return "UDP";
        case Proto::Sctp:
            return "SCTP";
    }
    return "?";
}

std::string_view ip_proto_name_upper(uint8_t p) {
    return p == 0 ? std::string_view("IP") : proto_name_upper(static_cast<Proto>(p));
}

std::optional<Fwd> parse_fwd(std::string_view s) {
    struct Alias {
        std::string_view name;
        Fwd fwd;
    };
    // The spellings of ipvsadm's -m/-g/-i, its -L output and keepalived's lb_kind.
    static constexpr std::array<Alias, 9> kAliases{{
        {"nat", Fwd::Masq},
        {"masq", Fwd::Masq},
        {"dr", Fwd::Route},
        {"route", Fwd::Route},
        {"gate", Fwd::Route},
        {"direct", Fwd::Route},
        {"tun", Fwd::Tunnel},
        {"tunnel", Fwd::Tunnel},
        {"ipip", Fwd::Tunnel},
    }};
    for (const Alias& a : kAliases) {
        if (iequals(s, a.name)) {
            return a.fwd;
        }
    }
    return std::nullopt;
}

std::string_view fwd_name(Fwd f) {
    switch (f) {
        case Fwd::Masq:
            return "Masq";
        case Fwd::Route:
            return "Route";
        case Fwd::Tunnel:
            return "Tunnel";
    }
    return "?";
}

std::optional<TunType> parse_tun_type(std::string_view s) {
    for (TunType t : {TunType::Ipip, TunType::Gue, TunType::Gre}) {
        if (s == tun_type_name(t)) {
            return t;
        }
    }
    return std::nullopt;
}

std::string_view tun_type_name(TunType t) {
    switch (t) {
        case TunType::Ipip:
            return "ipip";
        case TunType::Gue:
            return "gue";
        case TunType::Gre:
            return "gre";
    }
    return "?";
}

std::optional<TunCsum> parse_tun_csum(std::string_view s) {
    for (TunCsum c : {TunCsum::None, TunCsum::Csum, TunCsum::RemCsum}) {
        if (s == tun_csum_name(c)) {
            return c;
        }
    }
    return std::nullopt;
}

std::string_view tun_csum_name(TunCsum c) {
    switch (c) {
        case TunCsum::None:
            return "nocsum";
        case TunCsum::Csum:
            return "csum";
        case TunCsum::RemCsum:
            return "remcsum";
    }
    return "?";
}

std::optional<std::vector<PortRange>> parse_port_list(std::string_view s) {
    std::vector<PortRange> out;
    size_t pos = 0;
    while (true) {
        const size_t comma = s.find(',', pos);
        const std::string_view item =
            s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        if (item.empty() || out.size() == kMaxMarkRanges) {
            return std::nullopt;
        }
        const size_t dash = item.find('-');
        const auto lo = parse_number(item.substr(0, dash), 0, 65535);
        const auto hi =
            dash == std::string_view::npos ? lo : parse_number(item.substr(dash + 1), 0, 65535);
        if (!lo || !hi || *lo > *hi) {
            return std::nullopt;
        }
        out.push_back({static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)});
        if (comma == std::string_view::npos) {
            return out;
        }
        pos = comma + 1;
    }
}

std::string format_port_list(const std::vector<PortRange>& ports) {
    if (ports.empty()) {
        return "*";
    }
    std::string out;
    for (const PortRange& r : ports) {
        if (!out.empty()) {
            out += ',';
        }
        out += std::to_string(r.lo);
        if (r.hi != r.lo) {
            out += '-' + std::to_string(r.hi);
        }
    }
    return out;
}

std::string format_service_key(const ServiceKey& k) {
    if (k.fwmark != 0) {
        std::string out = "FWM ";
        out += std::to_string(k.fwmark);
        if (k.af == Family::Inet6) {
            out += " IPv6";
        }
        return out;
    }
    std::string out(proto_name_upper(k.proto));
    out += ' ';
    out += format_any_endpoint(k.af, k.addr, k.addr6, k.port);
    return out;
}

}  // namespace dirigo::cfg
