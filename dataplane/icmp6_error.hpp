// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// ICMPv6 errors about IPv6 NAT connections (docs/forwarding.md, "ICMP errors"): the view of an
/// error's quoted packet, and its NAT translation as Linux IPVS's ip_vs_nat_icmp_v6 does it.
///
/// An error (RFC 4443: destination unreachable 1, packet too big 2, time exceeded 3, parameter
/// problem 4) quotes as much of the packet that caused it as fits. When that packet was one of a
/// NAT connection's, the error is about addresses the other side never saw: an error from the
/// real server's side quotes client -> real server, one from the client's side quotes VIP ->
/// client. The translation rewrites the quoted end that NAT changed and the outer end opposite
/// to it, then recomputes the ICMPv6 checksum, which covers the outer pseudo-header (RFC 4443
/// 2.3). Like the kernel, it leaves the quoted packet's own TCP/UDP checksum as it was.
/// Thread: any. Cost: O(message length) for the checksum; no memory beyond the packet.

#include <cstdint>
#include <cstring>

#include <netinet/in.h>
#include <rte_ip.h>

#include "conntrack/conn_table6.hpp"
#include "dataplane/nd.hpp"
#include "dataplane/packet.hpp"

namespace dirigo::dp {

/// ICMPv6 types that quote the packet that caused them (RFC 4443 3.1-3.4).
inline bool icmp6_is_error(uint8_t type) noexcept {
    return type == nd::kDestUnreach || type == nd::kPacketTooBig || type == nd::kTimeExceeded ||
           type == nd::kParamProblem;
}

/// The ICMPv6 header before the quote: type, code, checksum and 4 bytes (MTU, pointer, unused).
inline constexpr uint32_t kIcmp6HeaderLen = 8;
/// The shortest quote that names a flow: the IPv6 header and the 8 bytes holding the ports.
inline constexpr uint32_t kIcmp6MinQuote = sizeof(rte_ipv6_hdr) + 8;

/// What parse_icmp6_error() found.
enum class Icmp6Quote : uint8_t {
    Flow,       ///< a TCP or UDP packet: `key` is set
    Other,      ///< an IPv6 packet of another next header (not walked): no connection of ours
    Malformed,  ///< too short to quote an IPv6 header and 8 bytes, or not IPv6 inside
};

/// The quoted packet of an ICMPv6 error.
struct Icmp6ErrorView {
    rte_ipv6_hdr* inner = nullptr;  ///< the quoted IPv6 header
    uint8_t* inner_l4 = nullptr;    ///< its TCP/UDP header (at least the ports are there)
    /// The quoted flow reversed: the direction of the error itself (its sender's side first), so
    /// that a connection table lookup names the connection and which side the error came from.
    ct::FlowKey6 key;
};

/// Reads the quote of the ICMPv6 error of `icmp_len` bytes at `icmp` (whole in one buffer; its
/// type is an error). Extension headers inside the quote are not walked.
/// Thread: any. Cost: O(1).
inline Icmp6Quote parse_icmp6_error(uint8_t* icmp, uint32_t icmp_len, Icmp6ErrorView& v) noexcept {
    if (icmp_len < kIcmp6HeaderLen + kIcmp6MinQuote) {
        return Icmp6Quote::Malformed;
    }
    auto* in = reinterpret_cast<rte_ipv6_hdr*>(icmp + kIcmp6HeaderLen);
    if ((rte_be_to_cpu_32(in->vtc_flow) >> 28) != 6) {
        return Icmp6Quote::Malformed;
    }
    if (in->proto != IPPROTO_TCP && in->proto != IPPROTO_UDP) {
        return Icmp6Quote::Other;
    }
    v.inner = in;
    v.inner_l4 = reinterpret_cast<uint8_t*>(in + 1);
    std::memcpy(v.key.saddr, in->dst_addr, 16);
    std::memcpy(v.key.daddr, in->src_addr, 16);
    std::memcpy(&v.key.sport, v.inner_l4 + 2, 2);
    std::memcpy(&v.key.dport, v.inner_l4, 2);
    v.key.proto = in->proto;
    return Icmp6Quote::Flow;
}

/// NAT translation of an ICMPv6 error (`ip6` its outer header, `icmp_len` bytes at `icmp`) whose
/// quote `v` names a tracked connection: the quoted packet's `quoted` end becomes [`addr`]:`port`
/// and so does the outer header's opposite end (an error about a packet *to* the real server
/// comes back *from* the VIP; one about a packet *from* the VIP is sent *to* the real server).
/// Then the ICMPv6 checksum is computed afresh over the outer pseudo-header and the message.
/// The quoted TCP/UDP checksum is left alone, as the kernel leaves it.
/// Thread: any. Cost: O(icmp_len).
inline void translate_icmp6_error(rte_ipv6_hdr* ip6, uint8_t* icmp, uint32_t icmp_len,
                                  const Icmp6ErrorView& v, Endpoint quoted, const uint8_t* addr,
                                  uint16_t port) noexcept {
    if (quoted == Endpoint::Destination) {
        std::memcpy(ip6->src_addr, addr, 16);
        std::memcpy(v.inner->dst_addr, addr, 16);
        store16(v.inner_l4 + 2, port);
    } else {
        std::memcpy(ip6->dst_addr, addr, 16);
        std::memcpy(v.inner->src_addr, addr, 16);
        store16(v.inner_l4, port);
    }
    nd::set_checksum(ip6, icmp, icmp_len);
}

}  // namespace dirigo::dp
