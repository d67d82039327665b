// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Tunnelling (-i) encapsulations as IPVS builds them (ip_vs_xmit.c, ip_vs_tunnel_xmit): IP-in-IP,
/// IP-in-GUE-in-UDP and IP-in-GRE, and IPv6-in-IPv6 (ip_vs_tunnel_xmit_v6, write_encap6), each with
/// the kernel's header layout, so that a real server set up for a kernel director decapsulates
/// Dirigo's frames unchanged (docs/forwarding.md, "Tunnels").
///
/// A connection keeps its encapsulation as one byte (Encap) plus the GUE port, taken from its real
/// server when it starts. The worker calls write_encap() after opening `encap_overhead()` bytes
/// in front of the inner IPv4 header. Thread: any. Cost: the headers, plus one pass over the
/// packet for a GUE or GRE checksum when the server asks for one.

#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "config/model.hpp"
#include "dataplane/checksum.hpp"

namespace dirigo::dp {

/// What goes in front of a tunnelled packet.
enum class Encap : uint8_t {
    Ipip = 0,     ///< outer IPv4, protocol 4
    Gue = 1,      ///< outer IPv4 + UDP (checksum 0) + GUE
    GueCsum = 2,  ///< the same with a UDP checksum (--tun-csum and --tun-remcsum)
    Gre = 3,      ///< outer IPv4 + 4-byte GRE
    GreCsum = 4,  ///< outer IPv4 + 8-byte GRE with its checksum
};

/// The encapsulation of a real server's tunnel settings. --tun-remcsum means a UDP checksum plus,
/// for a packet whose own checksum is left to the NIC (CHECKSUM_PARTIAL in the kernel), a GUE
/// remote-checksum option. Dirigo forwards packets whose checksums are complete, as a kernel
/// director does for packets it did not aggregate, so the kernel would add no option either.
constexpr Encap encap_of(cfg::TunType type, cfg::TunCsum csum) {
    switch (type) {
        case cfg::TunType::Ipip:
            return Encap::Ipip;
        case cfg::TunType::Gue:
            return csum == cfg::TunCsum::None ? Encap::Gue : Encap::GueCsum;
        case cfg::TunType::Gre:
            return csum == cfg::TunCsum::Csum ? Encap::GreCsum : Encap::Gre;
    }
    return Encap::Ipip;
}

inline constexpr uint32_t kGueHeaderLen = 4;  ///< struct guehdr, no options
inline constexpr uint8_t kGueVersion0Ipv4 = IPPROTO_IPIP;  ///< proto_ctype of an IPv4 payload

/// Bytes in front of the inner IPv4 header: the outer header and the tunnel's own headers.
constexpr uint32_t encap_overhead(Encap e) {
    switch (e) {
        case Encap::Ipip:
            return sizeof(rte_ipv4_hdr);
        case Encap::Gue:
        case Encap::GueCsum:
            return sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + kGueHeaderLen;
        case Encap::Gre:
            return sizeof(rte_ipv4_hdr) + 4;
        case Encap::GreCsum:
            return sizeof(rte_ipv4_hdr) + 8;
    }
    return sizeof(rte_ipv4_hdr);
}
inline constexpr uint32_t kMaxEncapOverhead = encap_overhead(Encap::Gue);

/// The outer DS field: the inner one with ECN carried over, except that a CE mark becomes ECT(0)
/// (RFC 6040's normal mode, the kernel's INET_ECN_encapsulate).
constexpr uint8_t outer_tos(uint8_t inner) {
    const uint8_t ecn = inner & 0x3u;
    return static_cast<uint8_t>((inner & ~0x3u) | (ecn == 0x3u ? 0x2u : ecn));
}

/// GUE's UDP source port: a hash of the inner flow scaled into Linux's default ephemeral range
/// 32768..60998, as udp_flow_src_port() spreads flows for ECMP and RSS on the way. (The
/// kernel's hash is keyed per boot, so only the range and the per-flow stability can match.)
inline uint16_t gue_source_port(uint32_t saddr, uint32_t daddr, uint32_t ports) {
    uint32_t h = rte_jhash_3words(saddr, daddr, ports, 0x5eed6a3bu);
    h ^= h << 16;
    constexpr uint32_t kMin = 32768;
    constexpr uint32_t kMax = 60999;
    return static_cast<uint16_t>(((static_cast<uint64_t>(h) * (kMax - kMin)) >> 32) + kMin);
}

/// What write_encap() needs besides the packet.
struct EncapParams {
    Encap encap = Encap::Ipip;
    uint16_t gue_port_be = 0;  ///< GUE: UDP destination port, network order
    uint32_t src = 0;          ///< outer source, network order
    uint32_t dst = 0;          ///< the real server, network order
    uint16_t id_be = 0;        ///< outer IP id when the inner packet has no DF
};

/// Writes the outer headers of a tunnelled packet. `m` starts with `l2_len` bytes of link
/// header, then `encap_overhead(p.encap)` bytes to fill, then the inner IPv4 packet, which ends
/// the mbuf chain (no padding). `inner` is a copy of the inner IPv4 header (it may have been
/// moved), `inner_ports` the first 4 bytes after it (the ports, for GUE's source port).
inline void write_encap(rte_mbuf* m, uint32_t l2_len, const EncapParams& p,
                        const rte_ipv4_hdr& inner, uint32_t inner_ports) {
    auto* base = rte_pktmbuf_mtod(m, uint8_t*);
    auto* outer = reinterpret_cast<rte_ipv4_hdr*>(base + l2_len);
    const uint32_t inner_len = rte_be_to_cpu_16(inner.total_length);
    const uint32_t overhead = encap_overhead(p.encap);
    const uint16_t df = inner.fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    outer->version_ihl = RTE_IPV4_VHL_DEF;
    outer->type_of_service = outer_tos(inner.type_of_service);
    outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(inner_len + overhead));
    // IPVS: id 0 with DF (ip_select_ident), a fresh id without; DF carries over from the inner
    // packet (sysctl pmtu_disc, on by default); the TTL is the inner packet's.
    outer->packet_id = df != 0 ? 0 : p.id_be;
    outer->fragment_offset = df;
    outer->time_to_live = inner.time_to_live;
    outer->src_addr = p.src;
    outer->dst_addr = p.dst;
    uint8_t* tun = base + l2_len + sizeof(rte_ipv4_hdr);
    switch (p.encap) {
        case Encap::Ipip:
            outer->next_proto_id = IPPROTO_IPIP;
            break;
        case Encap::Gue:
        case Encap::GueCsum: {
            outer->next_proto_id = IPPROTO_UDP;
            auto* udp = reinterpret_cast<rte_udp_hdr*>(tun);
            const auto udp_len = static_cast<uint16_t>(inner_len + sizeof(rte_udp_hdr) +
                                                       kGueHeaderLen);
            udp->src_port = rte_cpu_to_be_16(
                gue_source_port(inner.src_addr, inner.dst_addr, inner_ports));
            udp->dst_port = p.gue_port_be;
            udp->dgram_len = rte_cpu_to_be_16(udp_len);
            udp->dgram_cksum = 0;
            // GUE version 0, no control bit, no options (hlen 0), flags 0; the payload's
            // protocol in proto_ctype.
            uint8_t* gue = tun + sizeof(rte_udp_hdr);
            gue[0] = 0;
            gue[1] = kGueVersion0Ipv4;
            gue[2] = 0;
            gue[3] = 0;
            if (p.encap == Encap::GueCsum) {
                // The full UDP checksum over pseudo header, header and payload (udp_set_csum);
                // 0 is sent as 0xffff, 0 meaning "none" in UDP over IPv4.
                uint16_t raw = 0;
                rte_raw_cksum_mbuf(m, l2_len + sizeof(rte_ipv4_hdr), udp_len, &raw);
                uint32_t sum = raw;
                sum += (p.src & 0xffffu) + (p.src >> 16) + (p.dst & 0xffffu) + (p.dst >> 16);
                sum += rte_cpu_to_be_16(IPPROTO_UDP) + udp->dgram_len;
                const auto c = static_cast<uint16_t>(~csum_fold(sum));
                udp->dgram_cksum = c == 0 ? 0xffff : c;
            }
            break;
        }
        case Encap::Gre:
        case Encap::GreCsum: {
            outer->next_proto_id = IPPROTO_GRE;
            // RFC 2784: C bit, version 0, protocol type IPv4; with C a checksum over the GRE
            // header and payload, then 16 reserved bits (gre_build_header).
            const bool csum = p.encap == Encap::GreCsum;
            const uint16_t flags = rte_cpu_to_be_16(csum ? 0x8000 : 0);
            const uint16_t proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
            std::memcpy(tun, &flags, 2);
            std::memcpy(tun + 2, &proto, 2);
            if (csum) {
                std::memset(tun + 4, 0, 4);
                uint16_t raw = 0;
                rte_raw_cksum_mbuf(m, l2_len + sizeof(rte_ipv4_hdr), inner_len + 8, &raw);
                const auto c = static_cast<uint16_t>(~raw);
                std::memcpy(tun + 4, &c, 2);
            }
            break;
        }
    }
    outer->hdr_checksum = 0;
    outer->hdr_checksum = rte_ipv4_cksum(outer);
}

/// Bytes of the tunnel's own headers between the outer IP header (of either family) and the
/// inner packet: none for ipip, UDP + GUE for GUE, GRE's 4 or 8 (ipvs_gue_encap, gre_calc_hlen).
constexpr uint32_t tunnel_hdr_len(Encap e) {
    return encap_overhead(e) - static_cast<uint32_t>(sizeof(rte_ipv4_hdr));
}

/// GUE's UDP source port for an IPv6 inner flow: the addresses folded to a word each (the XOR of
/// their four words), then gue_source_port().
inline uint16_t gue_source_port6(const uint8_t* saddr, const uint8_t* daddr, uint32_t ports) {
    uint32_t s[4];
    uint32_t d[4];
    std::memcpy(s, saddr, 16);
    std::memcpy(d, daddr, 16);
    return gue_source_port(s[0] ^ s[1] ^ s[2] ^ s[3], d[0] ^ d[1] ^ d[2] ^ d[3], ports);
}

/// Writes a tunnel's own headers (UDP + GUE, or GRE) at byte `off` of `m`, in front of an inner
/// packet of `inner_len` bytes that ends the chain, as ipvs_gue_encap and ipvs_gre_encap build
/// them for an inner packet of either family: GUE's proto_ctype and GRE's protocol type name the
/// inner family (IPPROTO_IPIP / IPPROTO_IPV6, ETH_P_IP / ETH_P_IPV6). GUE's UDP checksum is left
/// 0 (the caller sets it: it covers the outer family's pseudo header); GRE's, when the server
/// asks for it, is computed here. Returns the outer header's protocol (next header).
/// Thread: any. Cost: the headers, plus a pass over the packet for a GRE checksum.
inline uint8_t write_tunnel_hdr(rte_mbuf* m, uint32_t off, Encap e, uint16_t gue_port_be,
                                uint16_t gue_sport, bool inner6, uint32_t inner_len) {
    uint8_t* tun = rte_pktmbuf_mtod_offset(m, uint8_t*, off);
    switch (e) {
        case Encap::Ipip:
            return static_cast<uint8_t>(inner6 ? IPPROTO_IPV6 : IPPROTO_IPIP);
        case Encap::Gue:
        case Encap::GueCsum: {
            auto* udp = reinterpret_cast<rte_udp_hdr*>(tun);
            udp->src_port = rte_cpu_to_be_16(gue_sport);
            udp->dst_port = gue_port_be;
            udp->dgram_len = rte_cpu_to_be_16(
                static_cast<uint16_t>(inner_len + sizeof(rte_udp_hdr) + kGueHeaderLen));
            udp->dgram_cksum = 0;
            uint8_t* gue = tun + sizeof(rte_udp_hdr);
            gue[0] = 0;
            gue[1] = inner6 ? static_cast<uint8_t>(IPPROTO_IPV6) : kGueVersion0Ipv4;
            gue[2] = 0;
            gue[3] = 0;
            return IPPROTO_UDP;
        }
        case Encap::Gre:
        case Encap::GreCsum: {
            const bool csum = e == Encap::GreCsum;
            const uint16_t flags = rte_cpu_to_be_16(csum ? 0x8000 : 0);
            const uint16_t proto =
                rte_cpu_to_be_16(inner6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
            std::memcpy(tun, &flags, 2);
            std::memcpy(tun + 2, &proto, 2);
            if (csum) {
                std::memset(tun + 4, 0, 4);
                uint16_t raw = 0;
                rte_raw_cksum_mbuf(m, off, inner_len + 8, &raw);
                const auto c = static_cast<uint16_t>(~raw);
                std::memcpy(tun + 4, &c, 2);
            }
            return IPPROTO_GRE;
        }
    }
    return IPPROTO_IPIP;
}

/// Sets the UDP checksum of a GUE packet over IPv6 whose UDP header is at byte `off` of `m`,
/// right after the outer header `outer` (payload length and addresses written): the pseudo
/// header (RFC 8200 8.1) plus UDP header and payload; 0 is sent as 0xffff (udp6_set_csum).
inline void set_gue_csum6(rte_mbuf* m, uint32_t off, const rte_ipv6_hdr* outer) {
    auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, off);
    uint16_t raw = 0;
    rte_raw_cksum_mbuf(m, off, rte_be_to_cpu_16(udp->dgram_len), &raw);
    uint32_t sum = raw;
    sum += rte_ipv6_phdr_cksum(outer, 0);
    const auto c = static_cast<uint16_t>(~csum_fold(sum));
    udp->dgram_cksum = c == 0 ? 0xffff : c;
}

/// Sets the UDP checksum of a GUE packet over IPv4 whose UDP header is at byte `off` of `m`,
/// right after the outer header `outer` (addresses written): as write_encap's.
inline void set_gue_csum4(rte_mbuf* m, uint32_t off, const rte_ipv4_hdr* outer) {
    auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, off);
    uint16_t raw = 0;
    rte_raw_cksum_mbuf(m, off, rte_be_to_cpu_16(udp->dgram_len), &raw);
    uint32_t sum = raw;
    const uint32_t s = outer->src_addr;
    const uint32_t d = outer->dst_addr;
    sum += (s & 0xffffu) + (s >> 16) + (d & 0xffffu) + (d >> 16);
    sum += rte_cpu_to_be_16(IPPROTO_UDP) + udp->dgram_len;
    const auto c = static_cast<uint16_t>(~csum_fold(sum));
    udp->dgram_cksum = c == 0 ? 0xffff : c;
}

/// Bytes in front of the inner IPv6 header of an IPv6-in-IPv6 packet: the outer IPv6 header.
inline constexpr uint32_t kEncap6Overhead = sizeof(rte_ipv6_hdr);

/// Writes the outer header of an IPv6-in-IPv6 packet (next header 41, RFC 2473) as
/// ip_vs_tunnel_xmit_v6 builds it: version 6, the inner traffic class with its ECN carried as
/// INET_ECN_encapsulate does (outer_tos), flow label 0, payload length the whole inner packet,
/// hop limit the inner packet's (not decremented: the director delivers, it does not route),
/// source `src` (the director's address facing the server) and destination `dst` (the real
/// server), 16 bytes each in network order. `inner` is a copy of the inner header (it may have
/// been moved). Thread: any. Cost: 40 bytes written.
/// With GUE or GRE (`proto` UDP or GRE), `tun_len` bytes of tunnel headers come between the two
/// IPv6 headers and count in the payload length.
inline void write_encap6(rte_ipv6_hdr* outer, const uint8_t* src, const uint8_t* dst,
                         const rte_ipv6_hdr& inner, uint8_t proto = IPPROTO_IPV6,
                         uint32_t tun_len = 0) {
    const auto tclass = static_cast<uint8_t>(rte_be_to_cpu_32(inner.vtc_flow) >> 20);
    outer->vtc_flow =
        rte_cpu_to_be_32((6u << 28) | (static_cast<uint32_t>(outer_tos(tclass)) << 20));
    outer->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(
        rte_be_to_cpu_16(inner.payload_len) + sizeof(rte_ipv6_hdr) + tun_len));
    outer->proto = proto;
    outer->hop_limits = inner.hop_limits;
    std::memcpy(outer->src_addr, src, 16);
    std::memcpy(outer->dst_addr, dst, 16);
}

/// Writes the outer IPv6 header of an IPv4 packet tunnelled to an IPv6 server (an IPv4
/// service's tunnel server of the other family), as ip_vs_tunnel_xmit_v6 builds it for an IPv4
/// inner packet: version 6, traffic class the inner DS field with INET_ECN_encapsulate
/// (outer_tos), flow label 0, payload length `tun_len` + the inner total length, next header
/// `proto` (4 for IPv4-in-IPv6, RFC 2473; UDP or GRE with GUE or GRE), hop limit the inner TTL,
/// `src` -> `dst` (16 bytes each, network order). Thread: any. Cost: 40 bytes written.
inline void write_encap_4in6(rte_ipv6_hdr* outer, const uint8_t* src, const uint8_t* dst,
                             const rte_ipv4_hdr& inner, uint8_t proto, uint32_t tun_len) {
    outer->vtc_flow = rte_cpu_to_be_32(
        (6u << 28) | (static_cast<uint32_t>(outer_tos(inner.type_of_service)) << 20));
    outer->payload_len =
        rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(inner.total_length) + tun_len));
    outer->proto = proto;
    outer->hop_limits = inner.time_to_live;
    std::memcpy(outer->src_addr, src, 16);
    std::memcpy(outer->dst_addr, dst, 16);
}

/// Writes the outer IPv4 header of an IPv6-in-IPv4 packet (protocol 41, RFC 4213), an IPv6
/// service's tunnel to an IPv4 server, as ip_vs_tunnel_xmit builds it for an IPv6 inner packet
/// (ip_vs_prepare_tunneled_skb gives it no DF): total length the inner packet + 20, DF clear
/// with a fresh id `id_be`, TTL the inner hop limit, the DS field from the inner traffic class
/// (outer_tos), `src` -> `dst` (network order), the header checksum. Thread: any.
/// With GUE or GRE (`proto` UDP or GRE), `tun_len` bytes of tunnel headers follow the outer one.
inline void write_encap_6in4(rte_ipv4_hdr* outer, uint32_t src, uint32_t dst, uint16_t id_be,
                             const rte_ipv6_hdr& inner, uint8_t proto = IPPROTO_IPV6,
                             uint32_t tun_len = 0) {
    const auto tclass = static_cast<uint8_t>(rte_be_to_cpu_32(inner.vtc_flow) >> 20);
    outer->version_ihl = RTE_IPV4_VHL_DEF;
    outer->type_of_service = outer_tos(tclass);
    outer->total_length = rte_cpu_to_be_16(
        static_cast<uint16_t>(rte_be_to_cpu_16(inner.payload_len) + sizeof(rte_ipv6_hdr) +
                              sizeof(rte_ipv4_hdr) + tun_len));
    outer->packet_id = id_be;
    outer->fragment_offset = 0;
    outer->time_to_live = inner.hop_limits;
    outer->next_proto_id = proto;
    outer->src_addr = src;
    outer->dst_addr = dst;
    outer->hdr_checksum = 0;
    outer->hdr_checksum = rte_ipv4_cksum(outer);
}

}  // namespace dirigo::dp
