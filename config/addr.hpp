// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Text forms of IPv4 and IPv6 addresses, prefixes and IPv4 endpoints, shared by the config loader, the control
/// plane and dirigoadm. Strict: no leading zeros tricks, no trailing garbage, ranges checked.
/// Thread: any. Cost: O(length), allocates only for the formatted strings.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"

namespace dirigo::cfg {

/// The one decimal parser for ports, weights, thresholds and timeouts (dirigoadm) and for the
/// parts of addresses: ASCII digits only (no sign, no blanks), the whole of `s`, value in
/// [min, max]. Leading zeros are accepted ("080" is 80, as ipvsadm's strtol reads it); a number
/// too large for 64 bits is out of range, never wrapped. std::from_chars underneath.
/// Thread: any. O(length), no allocation.
std::optional<uint64_t> parse_number(std::string_view s, uint64_t min, uint64_t max);

/// "10.0.0.1" -> host-order address.
std::optional<Ip4> parse_ip4(std::string_view s);
/// "10.0.0.0/24" -> prefix; a bare address means /32. Host bits must be... allowed (an interface
/// address such as 10.0.0.1/24 keeps its host part).
std::optional<Prefix> parse_prefix(std::string_view s);
/// "10.0.0.1:80" -> address and port (port 0..65535; ":0" allowed only when allow_zero_port).
struct Endpoint {
    Ip4 addr = 0;
    uint16_t port = 0;
};
std::optional<Endpoint> parse_endpoint(std::string_view s, bool allow_zero_port = false);

/// Host-order address -> "10.0.0.1".
std::string format_ip4(Ip4 a);
/// "10.0.0.1:80".
std::string format_endpoint(Ip4 a, uint16_t port);
/// "10.0.0.0/24".
std::string format_prefix(const Prefix& p);
/// Mask of a prefix length, host order: 24 -> 0xffffff00.
constexpr Ip4 prefix_mask(uint8_t len) { return len == 0 ? 0 : ~Ip4{0} << (32 - len); }
/// The network `p` names, its host bits cleared: 10.0.0.1/24 -> 10.0.0.0/24. A prefix written
/// with host bits set differs from it (the checks say "did you mean" it).
constexpr Prefix network_of(const Prefix& p) { return {p.addr & prefix_mask(p.len), p.len}; }

/// "2001:db8::1" -> address (network order). Strict: what inet_pton(AF_INET6) accepts (hex
/// groups, one "::", an embedded dotted quad last), nothing else: no zone ("%eth0"), no brackets,
/// no blanks. Thread: any. O(length), no allocation.
std::optional<Ip6> parse_ip6(std::string_view s);
/// "2001:db8:1::1/64" -> prefix (length 0..128, decimal without leading zeros); a bare address
/// means /128. Host bits are kept (an interface address keeps its host part).
std::optional<Prefix6> parse_prefix6(std::string_view s);
/// Address -> RFC 5952 text: lowercase, leading zeros dropped, the longest run of two or more
/// zero groups (the first of equals) as "::", as inet_ntop prints it. "2001:db8::1".
std::string format_ip6(const Ip6& a);
/// "2001:db8:1::/64".
std::string format_prefix6(const Prefix6& p);
/// `p` with its host bits cleared: 2001:db8:1::1/64 -> 2001:db8:1::/64.
Prefix6 network_of(const Prefix6& p);
/// True when `a` lies in `p` (its first p.len bits equal p.addr's).
bool prefix_contains(const Prefix6& p, const Ip6& a);

/// "[2001:db8::1]:80" -> IPv6 address and port, ipvsadm's form: brackets required, then ":port"
/// (port 0..65535; ":0" only when allow_zero_port).
struct Endpoint6 {
    Ip6 addr;
    uint16_t port = 0;
};
std::optional<Endpoint6> parse_endpoint6(std::string_view s, bool allow_zero_port = false);
/// "[2001:db8::1]:80", as ipvsadm prints an IPv6 endpoint.
std::string format_endpoint6(const Ip6& a, uint16_t port);
/// An address of either family: "10.0.0.1" or "2001:db8::1".
std::string format_addr(Family af, Ip4 a4, const Ip6& a6);
/// An endpoint of either family: "10.0.0.1:80" or "[2001:db8::1]:80".
std::string format_any_endpoint(Family af, Ip4 a4, const Ip6& a6, uint16_t port);
/// "IPv4" / "IPv6".
std::string_view family_name(Family af);

/// "tcp" / "udp" / "sctp" -> Proto.
std::optional<Proto> parse_proto(std::string_view s);
std::string_view proto_name(Proto p);          ///< "tcp"
std::string_view proto_name_upper(Proto p);    ///< "TCP", as ipvsadm -L prints it
/// An IP protocol number's name as IPVS prints a connection's: "TCP", "UDP", "SCTP", "IP" for 0
/// (a fwmark persistence template), "?" otherwise.
std::string_view ip_proto_name_upper(uint8_t p);
/// "nat"/"masq", "dr"/"route"/"gate", "tun"/"tunnel"/"ipip" -> Fwd.
std::optional<Fwd> parse_fwd(std::string_view s);
std::string_view fwd_name(Fwd f);              ///< "Masq", "Route", "Tunnel"
/// "ipip" / "gue" / "gre" -> TunType (ipvsadm's --tun-type names).
std::optional<TunType> parse_tun_type(std::string_view s);
std::string_view tun_type_name(TunType t);     ///< "ipip", "gue", "gre"
/// "nocsum" / "csum" / "remcsum" -> TunCsum (ipvsadm's --tun-* option names without "tun-").
std::optional<TunCsum> parse_tun_csum(std::string_view s);
std::string_view tun_csum_name(TunCsum c);     ///< "nocsum", "csum", "remcsum"

/// "80,443,8000-8100" -> port ranges (host order), in the order given; each item a port or an
/// inclusive range lo-hi with lo <= hi; at most kMaxMarkRanges items, none empty.
std::optional<std::vector<PortRange>> parse_port_list(std::string_view s);
/// Port ranges -> "80,443,8000-8100"; an empty list (every port) is "*".
std::string format_port_list(const std::vector<PortRange>& ports);
/// "TCP 10.0.0.1:80", "TCP [2001:db8::1]:80", or "FWM 1" ("FWM 1 IPv6" for an IPv6 one) for a
/// firewall-mark service: a key in messages.
std::string format_service_key(const ServiceKey& k);

}  // namespace dirigo::cfg
