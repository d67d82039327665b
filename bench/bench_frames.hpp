// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Frames for the benchmarks: Ethernet/IPv4/TCP, Ethernet/IPv6/TCP, ARP requests and IPv6
/// neighbour solicitations built from scratch with full checksums,
/// plus the cheap patch a traffic generator applies to a template to turn it into one flow's
/// packet. A template is a frame whose per-flow fields (one address and one port) are zero; the
/// patch writes them and adds them into both checksums (RFC 1071: a one's complement sum of raw
/// memory words is byte-order independent, so everything stays in wire order).
/// Thread: any. Cost: O(frame) to build, a few ALU operations to patch; no allocation when
/// patching.

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_icmp.h>
#include <rte_tcp.h>

#include "dataplane/checksum.hpp"

namespace dirigo::bench {

/// Offsets in a frame without VLAN tag or IPv4 options.
inline constexpr size_t kEthLen = sizeof(rte_ether_hdr);
inline constexpr size_t kIpOff = kEthLen;
inline constexpr size_t kL4Off = kEthLen + sizeof(rte_ipv4_hdr);
inline constexpr size_t kTcpFrameMin = kL4Off + sizeof(rte_tcp_hdr);  ///< 54 bytes
/// Bytes of a frame the generator rewrites on every pass: one cache line, all the headers.
inline constexpr size_t kHeaderBytes = 64;
/// A "64-byte frame" on the wire is 60 bytes in the mbuf plus the 4-byte FCS the NIC appends.
inline constexpr uint16_t kFcsLen = 4;

/// TCP flag bits, as in the header's flags byte.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

/// The same for IPv6 (no extension headers): the smallest IPv6 TCP frame is 74 bytes, 78 on the
/// wire, so an IPv6 template's header bytes span two cache lines.
inline constexpr size_t kL4Off6 = kEthLen + sizeof(rte_ipv6_hdr);
inline constexpr size_t kTcpFrameMin6 = kL4Off6 + sizeof(rte_tcp_hdr);  ///< 74 bytes
/// Bytes of an IPv6 frame the generator rewrites on every pass: all the headers (74 bytes),
/// copied as 80 (the mbuf's data room is far larger than the frame).
inline constexpr size_t kHeaderBytes6 = 80;

/// An IPv6 address as on the wire.
using Addr6 = std::array<uint8_t, 16>;

/// One frame's bytes, at least kHeaderBytes long (zero padded) so the header line can be copied
/// whole.
struct FrameBytes {
    std::vector<uint8_t> b;
    uint16_t len = 0;  ///< the frame's real length (data_len of its mbuf)
};

/// An Ethernet/IPv4/TCP frame of `frame_len` bytes (>= 60; the IPv4 datagram fills everything
/// after the Ethernet header except padding up to 60 bytes) with valid IPv4 and TCP checksums.
/// Addresses and ports are network order.
inline FrameBytes tcp_frame(const rte_ether_addr& dst, const rte_ether_addr& src, uint32_t saddr,
                            uint16_t sport, uint32_t daddr, uint16_t dport, uint8_t flags,
                            uint16_t frame_len, uint8_t ttl = 64) {
    FrameBytes f;
    f.len = frame_len < 60 ? 60 : frame_len;
    f.b.assign(f.len < kHeaderBytes ? kHeaderBytes : f.len, 0);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.b.data());
    rte_ether_addr_copy(&dst, &eth->dst_addr);
    rte_ether_addr_copy(&src, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    // The datagram: 40 bytes for a minimum frame (the rest is Ethernet padding), else all of it.
    const uint16_t ip_len = f.len <= 60 ? static_cast<uint16_t>(kTcpFrameMin - kEthLen)
                                        : static_cast<uint16_t>(f.len - kEthLen);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.b.data() + kIpOff);
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(ip_len);
    ip->packet_id = rte_cpu_to_be_16(0x1234);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = ttl;
    ip->next_proto_id = IPPROTO_TCP;
    ip->src_addr = saddr;
    ip->dst_addr = daddr;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = dp::csum_full(ip, sizeof(rte_ipv4_hdr));
    auto* th = reinterpret_cast<rte_tcp_hdr*>(f.b.data() + kL4Off);
    th->src_port = sport;
    th->dst_port = dport;
    th->sent_seq = rte_cpu_to_be_32(0x12345678);
    th->recv_ack = rte_cpu_to_be_32(flags & kTcpAck ? 0x9abcdef0u : 0u);
    th->data_off = 5 << 4;
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(0xffff);
    th->cksum = 0;
    // Pseudo-header (addresses, protocol, TCP length) plus the segment.
    const uint16_t l4_len = static_cast<uint16_t>(ip_len - sizeof(rte_ipv4_hdr));
    uint32_t sum = dp::csum_partial(&ip->src_addr, 8);
    sum += rte_cpu_to_be_16(IPPROTO_TCP);
    sum += rte_cpu_to_be_16(l4_len);
    sum = dp::csum_partial(th, l4_len, sum);
    th->cksum = static_cast<uint16_t>(~dp::csum_fold(sum));
    return f;
}

/// An ARP request (60 bytes) from `sha`/`sip` asking for `tip`, broadcast. Addresses network order.
inline FrameBytes arp_request(const rte_ether_addr& sha, uint32_t sip, uint32_t tip) {
    FrameBytes f;
    f.len = 60;
    f.b.assign(kHeaderBytes, 0);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.b.data());
    std::memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
    rte_ether_addr_copy(&sha, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(f.b.data() + kEthLen);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    rte_ether_addr_copy(&sha, &arp->arp_data.arp_sha);
    arp->arp_data.arp_sip = sip;
    arp->arp_data.arp_tip = tip;
    return f;
}

/// An Ethernet/IPv6/TCP frame: the smallest (74 bytes, no payload) unless `frame_len` is larger,
/// with a valid TCP checksum over the IPv6 pseudo-header (RFC 8200 8.1). Ports network order.
inline FrameBytes tcp6_frame(const rte_ether_addr& dst, const rte_ether_addr& src,
                             const Addr6& saddr, uint16_t sport, const Addr6& daddr, uint16_t dport,
                             uint8_t flags, uint16_t frame_len = kTcpFrameMin6,
                             uint8_t hop_limit = 64) {
    FrameBytes f;
    f.len = frame_len < kTcpFrameMin6 ? static_cast<uint16_t>(kTcpFrameMin6) : frame_len;
    f.b.assign(f.len < kHeaderBytes6 ? kHeaderBytes6 : f.len, 0);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.b.data());
    rte_ether_addr_copy(&dst, &eth->dst_addr);
    rte_ether_addr_copy(&src, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    const auto l4_len = static_cast<uint16_t>(f.len - kL4Off6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f.b.data() + kIpOff);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(l4_len);
    ip->proto = IPPROTO_TCP;
    ip->hop_limits = hop_limit;
    std::memcpy(ip->src_addr, saddr.data(), 16);
    std::memcpy(ip->dst_addr, daddr.data(), 16);
    auto* th = reinterpret_cast<rte_tcp_hdr*>(f.b.data() + kL4Off6);
    th->src_port = sport;
    th->dst_port = dport;
    th->sent_seq = rte_cpu_to_be_32(0x12345678);
    th->recv_ack = rte_cpu_to_be_32(flags & kTcpAck ? 0x9abcdef0u : 0u);
    th->data_off = 5 << 4;
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(0xffff);
    th->cksum = 0;
    // Pseudo-header: both addresses, the upper-layer length (32 bits) and the next header.
    uint32_t sum = dp::csum_partial(ip->src_addr, 32);
    sum += rte_cpu_to_be_16(l4_len);
    sum += rte_cpu_to_be_16(IPPROTO_TCP);
    sum = dp::csum_partial(th, l4_len, sum);
    th->cksum = static_cast<uint16_t>(~dp::csum_fold(sum));
    return f;
}

/// A neighbour solicitation (RFC 4861 4.3) from `sha`/`sip` for `target`, sent to the target's
/// solicited-node multicast group, with the source link-layer address option: the director
/// learns `sip` from it as it learns an IPv4 host from its ARP request.
inline FrameBytes neighbour_solicitation(const rte_ether_addr& sha, const Addr6& sip,
                                         const Addr6& target) {
    constexpr size_t kNsLen = 32;  // type, code, checksum, reserved, target, 8-byte option
    FrameBytes f;
    f.len = static_cast<uint16_t>(kL4Off6 + kNsLen);
    f.b.assign(f.len < kHeaderBytes6 ? kHeaderBytes6 : f.len, 0);
    Addr6 group = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0};
    std::memcpy(group.data() + 13, target.data() + 13, 3);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.b.data());
    eth->dst_addr = {{0x33, 0x33, group[12], group[13], group[14], group[15]}};
    rte_ether_addr_copy(&sha, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f.b.data() + kIpOff);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(kNsLen);
    ip->proto = IPPROTO_ICMPV6;
    ip->hop_limits = 255;
    std::memcpy(ip->src_addr, sip.data(), 16);
    std::memcpy(ip->dst_addr, group.data(), 16);
    uint8_t* ns = f.b.data() + kL4Off6;
    ns[0] = 135;  // neighbour solicitation
    std::memcpy(ns + 8, target.data(), 16);
    ns[24] = 1;  // source link-layer address
    ns[25] = 1;  // in units of 8 bytes
    std::memcpy(ns + 26, sha.addr_bytes, RTE_ETHER_ADDR_LEN);
    uint32_t sum = dp::csum_partial(ip->src_addr, 32);
    sum += rte_cpu_to_be_16(kNsLen);
    sum += rte_cpu_to_be_16(IPPROTO_ICMPV6);
    sum = dp::csum_partial(ns, kNsLen, sum);
    const auto c = static_cast<uint16_t>(~dp::csum_fold(sum));
    std::memcpy(ns + 2, &c, 2);
    return f;
}

/// Which endpoint of a template the generator fills in per flow.
enum class Patch : uint8_t {
    Src,  ///< source address and port (client -> VIP)
    Dst,  ///< destination address and port (real server -> client)
};

/// A TCP frame template with its per-flow endpoint zeroed, and the complemented checksums, so that
/// writing a flow costs two stores and two folds.
struct Template {
    alignas(64) std::array<uint8_t, kHeaderBytes> head{};
    FrameBytes full;  ///< the whole frame (payload included), written once per mbuf
    Patch patch = Patch::Src;
    uint16_t ip_base = 0;  ///< ~IPv4 checksum of the template
    uint16_t l4_base = 0;  ///< ~TCP checksum of the template

    /// Makes a template from `f`, whose `patch` endpoint must be zero.
    static Template make(const FrameBytes& f, Patch patch) {
        Template t;
        t.full = f;
        std::memcpy(t.head.data(), f.b.data(), kHeaderBytes);
        t.patch = patch;
        uint16_t c;
        std::memcpy(&c, f.b.data() + kIpOff + 10, 2);
        t.ip_base = static_cast<uint16_t>(~c);
        std::memcpy(&c, f.b.data() + kL4Off + 16, 2);
        t.l4_base = static_cast<uint16_t>(~c);
        return t;
    }

    /// Writes the header line to `dst` with the endpoint set to `addr`:`port` (network order).
    /// Thread: any. Cost: one 64-byte copy and a few ALU operations.
    void write(uint8_t* dst, uint32_t addr, uint16_t port) const noexcept {
        std::memcpy(dst, head.data(), kHeaderBytes);
        const size_t a_off = kIpOff + (patch == Patch::Src ? 12 : 16);
        const size_t p_off = kL4Off + (patch == Patch::Src ? 0 : 2);
        std::memcpy(dst + a_off, &addr, 4);
        std::memcpy(dst + p_off, &port, 2);
        const uint32_t a = (addr & 0xffffu) + (addr >> 16);
        const uint16_t ip_c = static_cast<uint16_t>(~dp::csum_fold(ip_base + a));
        const uint16_t l4_c = static_cast<uint16_t>(~dp::csum_fold(l4_base + a + port));
        std::memcpy(dst + kIpOff + 10, &ip_c, 2);
        std::memcpy(dst + kL4Off + 16, &l4_c, 2);
    }
};

/// The IPv6 twin of Template. A flow's IPv6 client address is a fixed /96 (client6_prefix in
/// bench_traffic.hpp) followed by the same 32 bits as its IPv4 client address, so writing a flow
/// patches the same 6 bytes as in IPv4 (the address's last 4 bytes and the port) and one
/// checksum (IPv6 has none of its own): the generator's cost per frame differs from IPv4's only
/// by the longer header copy.
struct Template6 {
    alignas(64) std::array<uint8_t, kHeaderBytes6> head{};
    FrameBytes full;
    Patch patch = Patch::Src;
    uint16_t l4_base = 0;  ///< ~TCP checksum of the template

    /// Makes a template from `f`, whose `patch` endpoint's last 4 address bytes and port are zero.
    static Template6 make(const FrameBytes& f, Patch patch) {
        Template6 t;
        t.full = f;
        std::memcpy(t.head.data(), f.b.data(), kHeaderBytes6);
        t.patch = patch;
        uint16_t c;
        std::memcpy(&c, f.b.data() + kL4Off6 + 16, 2);
        t.l4_base = static_cast<uint16_t>(~c);
        return t;
    }

    /// Writes the header bytes to `dst` with the endpoint's low 32 address bits set to `addr`
    /// and its port to `port` (network order). Thread: any. Cost: an 80-byte copy and a few ALU
    /// operations.
    void write(uint8_t* dst, uint32_t addr, uint16_t port) const noexcept {
        std::memcpy(dst, head.data(), kHeaderBytes6);
        const size_t a_off = kIpOff + (patch == Patch::Src ? 8 : 24) + 12;
        const size_t p_off = kL4Off6 + (patch == Patch::Src ? 0 : 2);
        std::memcpy(dst + a_off, &addr, 4);
        std::memcpy(dst + p_off, &port, 2);
        const uint32_t a = (addr & 0xffffu) + (addr >> 16);
        const uint16_t l4_c = static_cast<uint16_t>(~dp::csum_fold(l4_base + a + port));
        std::memcpy(dst + kL4Off6 + 16, &l4_c, 2);
    }
};

}  // namespace dirigo::bench
