// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The service model: virtual services and their real servers as an operator describes them, with no
/// DPDK types. The config file's `services` section, the control protocol and `dirigoadm` all speak
/// this model; control turns it into the dataplane's immutable Snapshot.
/// Addresses and ports are kept in host byte order.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dirigo::cfg {

/// IPv4 address, host byte order.
using Ip4 = uint32_t;

/// IP protocol numbers: IPPROTO_TCP, IPPROTO_UDP and IPPROTO_SCTP (ipvsadm's -t, -u and
/// --sctp-service).
enum class Proto : uint8_t { Tcp = 6, Udp = 17, Sctp = 132 };

/// LVS forwarding method. Names follow ipvsadm's -L output.
enum class Fwd : uint8_t {
    Masq = 0,    ///< NAT, "-m"
    Route = 1,   ///< direct routing, "-g"
    Tunnel = 2,  ///< IP-in-IP, "-i"
};

/// Encapsulation of a tunnelling (-i) real server: ipvsadm's --tun-type, IPVS's
/// IP_VS_CONN_F_TUNNEL_TYPE_* numbering (the netlink emulation passes it through).
enum class TunType : uint8_t {
    Ipip = 0,  ///< IP-in-IP, the default
    Gue = 1,   ///< IP-in-GUE-in-UDP to tun_port
    Gre = 2,   ///< IP-in-GRE
};

/// Checksum option of a GUE or GRE tunnel: ipvsadm's --tun-nocsum/--tun-csum/--tun-remcsum,
/// IPVS's IP_VS_TUNNEL_ENCAP_FLAG_* values (one at most, as ipvsadm allows).
enum class TunCsum : uint8_t {
    None = 0,    ///< no outer checksum (the default)
    Csum = 1,    ///< UDP checksum (GUE) or GRE checksum
    RemCsum = 2, ///< GUE remote checksum offload (GUE only)
};

/// A prefix such as 10.0.0.0/24.
struct Prefix {
    Ip4 addr = 0;
    uint8_t len = 0;
    bool operator==(const Prefix&) const = default;
};

/// IPv6 address: 16 bytes in network order, as on the wire (config/addr.hpp parses and formats it).
struct Ip6 {
    std::array<uint8_t, 16> b{};
    bool operator==(const Ip6&) const = default;
    auto operator<=>(const Ip6&) const = default;
    /// True for :: (the unspecified address).
    bool is_unspecified() const {
        for (uint8_t x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
    /// True for ff00::/8.
    bool is_multicast() const { return b[0] == 0xff; }
    /// True for fe80::/10.
    bool is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
};

/// An IPv6 prefix such as 2001:db8:1::/64 (or an interface address with its prefix length).
struct Prefix6 {
    Ip6 addr;
    uint8_t len = 0;
    bool operator==(const Prefix6&) const = default;
};

/// Address family of a service or a real server: IPVS's AF_INET and AF_INET6 (ipvsadm -6).
/// An IPv4 one uses the `addr` fields, an IPv6 one the `addr6` fields (the other stays zero).
enum class Family : uint8_t { Inet = 4, Inet6 = 6 };

/// A virtual service's identity: protocol, VIP and port; or, for a firewall-mark service
/// (ipvsadm -f), the mark alone. As in IPVS, a fwmark service has no address or port (both 0)
/// and its protocol is TCP whatever the packets' protocol (the kernel's placeholder).
struct ServiceKey {
    Proto proto = Proto::Tcp;
    Ip4 addr = 0;
    uint16_t port = 0;
    uint32_t fwmark = 0;  ///< nonzero: a firewall-mark service (addr and port are 0)
    Family af = Family::Inet;  ///< Inet6: the VIP is `addr6` (`addr` is 0); ipvsadm -6 for -f
    Ip6 addr6{};               ///< the IPv6 VIP, network order (Family::Inet6 only)
    bool operator==(const ServiceKey&) const = default;
    /// ipvsadm's listing order: address services first (protocol, address, port), then fwmark
    /// services by mark; IPv4 before IPv6 within each.
    std::strong_ordering operator<=>(const ServiceKey& o) const {
        if (auto c = fwmark <=> o.fwmark; c != 0) {
            return c;
        }
        if (auto c = af <=> o.af; c != 0) {
            return c;
        }
        if (auto c = proto <=> o.proto; c != 0) {
            return c;
        }
        if (auto c = addr <=> o.addr; c != 0) {
            return c;
        }
        if (auto c = addr6 <=> o.addr6; c != 0) {
            return c;
        }
        return port <=> o.port;
    }
};

/// Most port ranges one mark rule lists.
inline constexpr size_t kMaxMarkRanges = 64;

/// A firewall mark rule's protocol: 0 matches TCP and UDP.
inline constexpr uint8_t kMarkAnyProto = 0;

/// An inclusive range of destination ports, host order.
struct PortRange {
    uint16_t lo = 0;
    uint16_t hi = 65535;
    bool operator==(const PortRange&) const = default;
};

/// A mark rule (Dirigo's stand-in for iptables' MARK target): a new flow to `dst` (prefix,
/// host order), of `proto` (a Proto value, or kMarkAnyProto), to one of `ports` (empty: any
/// port) gets firewall mark `mark`, which selects the fwmark service of that mark. Rules are
/// ordered; the first match wins. An IPv6 rule (`af` Inet6) matches IPv6 flows to `dst6` and
/// selects the IPv6 fwmark service of its mark (`-f MARK -6`); `dst` is then unused.
struct MarkRule {
    Prefix dst;
    uint8_t proto = kMarkAnyProto;
    std::vector<PortRange> ports;
    uint32_t mark = 0;
    Family af = Family::Inet;
    Prefix6 dst6;
    /// Same match (everything but the mark): the identity a rule is deleted by.
    bool same_match(const MarkRule& o) const {
        return af == o.af && dst == o.dst && dst6 == o.dst6 && proto == o.proto &&
               ports == o.ports;
    }
    bool operator==(const MarkRule&) const = default;
};

/// Service flags (ipvsadm's IP_VS_SVC_F_* meaning, our own numbering).
enum ServiceFlag : uint32_t {
    kSvcPersistent = 1u << 0,
    kSvcHashed = 1u << 1,
    kSvcOnePacket = 1u << 2,
    kSvcSched1 = 1u << 3,  ///< sh-fallback / mh-fallback
    kSvcSched2 = 1u << 4,  ///< sh-port / mh-port
    kSvcSched3 = 1u << 5,
};

/// One real server of a service.
struct RealServer {
    Ip4 addr = 0;
    uint16_t port = 0;
    Fwd fwd = Fwd::Masq;
    int32_t weight = 1;
    uint32_t u_threshold = 0;  ///< 0 = no upper connection threshold
    uint32_t l_threshold = 0;  ///< 0 = no lower threshold
    TunType tun_type = TunType::Ipip;  ///< Fwd::Tunnel only
    uint16_t tun_port = 0;             ///< GUE's UDP destination port (host order), else 0
    TunCsum tun_csum = TunCsum::None;  ///< GUE and GRE only
    /// Inet6: the server is `addr6`. As in IPVS, a server has its service's family, except a
    /// tunnelling (-i) one, which may be of the other (the kernel's mixed-family tunnels).
    Family af = Family::Inet;
    Ip6 addr6{};  ///< network order (Family::Inet6 only)
    bool operator==(const RealServer&) const = default;
    /// Same server: family, address and port (what IPVS finds a destination by).
    bool same_identity(const RealServer& o) const {
        return af == o.af && addr == o.addr && addr6 == o.addr6 && port == o.port;
    }
};

/// One virtual service and its real servers.
struct Service {
    ServiceKey key;
    std::string scheduler = "wlc";  ///< ipvsadm's default
    uint32_t flags = 0;             ///< ServiceFlag bits
    uint32_t timeout = 0;           ///< persistence timeout in seconds, when kSvcPersistent
    Ip4 netmask = 0xffffffffu;      ///< persistence granularity (IPv4 services)
    uint8_t prefix6 = 128;          ///< IPv6 services' persistence granularity (-M as a length)
    std::vector<RealServer> servers;
    bool operator==(const Service&) const = default;
};

}  // namespace dirigo::cfg
