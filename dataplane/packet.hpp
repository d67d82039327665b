// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Header parsing and rewriting for Ethernet/IPv4/TCP/UDP/SCTP/ICMP, on raw frame bytes. Parsing
/// validates everything the rewrite and the lookup rely on (lengths, IHL, the IPv4 header
/// checksum) and classifies the frame; rewrites update checksums incrementally (checksum.hpp).
/// A frame with one 802.1Q tag is classified Vlan with its TCI: the worker removes the tag
/// (vlan_pop), picks the VLAN's interface and parses the frame again; the tag check costs
/// untagged IPv4 nothing, as it sits behind the ethertype test IPv4 passes anyway.
/// Thread: any. Cost: O(header size); no allocation.

#include <cstddef>
#include <bit>
#include <cstdint>
#include <cstring>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf_core.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "conntrack/flow_key.hpp"
#include "conntrack/sctp_state.hpp"
#include "dataplane/checksum.hpp"
#include "dataplane/sctp.hpp"

namespace dirigo::dp {

/// What a frame is, after parsing.
enum class PktClass : uint8_t {
    Ipv4L4,     ///< IPv4 TCP/UDP/SCTP, whole or a first fragment: has a FlowKey
    Ipv4Icmp,   ///< IPv4 ICMP, not fragmented (not an error about TCP/UDP)
    IcmpError,  ///< ICMP error quoting a TCP/UDP/SCTP packet: `key` is the quoted flow reversed
    Ipv4Other,  ///< other IPv4 (another protocol, or a non-first fragment): routed only
    Fragment,   ///< a fragment of TCP/UDP/SCTP, for reassembly (set by the worker, not the parser)
    Arp,
    Vlan,       ///< one 802.1Q tag (Parsed::vlan_tci): parsed again once the worker removed it
    Ipv6,       ///< IPv6 (l4 and l3_len set, ipv6_header() gives the header; key.proto its next
                ///< header): decided out of line (Worker::decide_ipv6)
    Drop,       ///< see Parsed::reason
    HandedOff,  ///< given to its owner worker; no longer ours
};

/// Why a frame was dropped. Names in kDropNames; keep the two in step.
enum class Drop : uint8_t {
    None = 0,
    Runt,           ///< shorter than its headers claim
    NotIpv4,        ///< ethertype we do not handle (LLDP, ...)
    BadIpHeader,    ///< version, IHL or total length wrong
    BadIpChecksum,
    NotForUs,       ///< unicast to another MAC
    Fragment,       ///< a fragment of TCP/UDP addressed to a service
    NoService,      ///< TCP/UDP to one of our addresses with no service on that port
    NoConn,         ///< non-SYN TCP (non-INIT SCTP) to a service with no connection
    NoBackend,      ///< service has no available real server
    TableFull,      ///< connection table full: new flow refused
    NoRoute,
    TtlExceeded,    ///< TTL ran out; an ICMP error is sent from the slow path
    SlowPathFull,   ///< slow-path ring full
    TxFull,         ///< TX queue full
    NeighUnresolved,///< ARP for the next hop never answered
    NeighQueueFull, ///< too many packets waiting for one ARP answer
    NoMbuf,         ///< mempool empty when the slow path needed a buffer
    Unsupported,    ///< addressed to us, but nothing here answers it (ICMP other than echo, ...)
    HandoffFull,    ///< the ring to the owner worker was full
    NotOnLink,      ///< a DR real server that is not on a connected subnet
    TooBig,         ///< too big to encapsulate, and DF clear (no fragmentation)
    BadL4Header,    ///< TCP data offset below 5 words or beyond the packet
    NotUnicast,     ///< IPv4 in a broadcast or multicast frame: never forwarded, as in Linux
    HostQueueFull,  ///< for the kernel, but its queue (the exception path) was full
    DropPacket,     ///< a new connection's SYN shed by drop_packet (docs/reliability.md)
    SynpBadCookie,  ///< SYN proxy: an ACK matching no entry whose cookie is not ours
    SynpStaleCookie,///< SYN proxy: an ACK with a cookie of ours, but too old
    SynpEarlyDropped,///< SYN proxy: a client segment before the server's SYN-ACK, not held
    Reassembly,     ///< a fragment reassembly gave up on: timed out, table full, overlapping,
                    ///< or one of more fragments than a datagram may have
    UnknownVlan,    ///< tagged with a VLAN id its port does not carry (QinQ and double tags
                    ///< are Unsupported)
    BadIcmp6,       ///< ICMPv6 for us failing validation: its checksum, or, for neighbour
                    ///< discovery, RFC 4861 7.1 (hop limit 255, code 0, length, options); an
                    ///< ICMPv6 error too short to quote a flow, not quoting IPv6, or about a
                    ///< connection of ours with a bad checksum
    Count,
};
inline constexpr const char* kDropNames[] = {
    "none",          "runt",        "not_ipv4",     "bad_ip_header", "bad_ip_checksum",
    "not_for_us",    "fragment",    "no_service",   "no_conn",       "no_backend",
    "table_full",    "no_route",    "ttl_exceeded", "slow_path_full", "tx_full",
    "neigh_unresolved", "neigh_queue_full", "no_mbuf", "unsupported", "handoff_full",
    "not_on_link", "too_big", "bad_l4_header", "not_unicast", "host_queue_full",
    "drop_packet",   "synp_bad_cookie", "synp_stale_cookie", "synp_early_dropped",
    "reassembly",    "unknown_vlan",  "bad_icmp6",
};
static_assert(sizeof(kDropNames) / sizeof(kDropNames[0]) == static_cast<size_t>(Drop::Count),
              "every drop reason has a name");

/// Unaligned-safe 16-bit access to header fields (headers are packed structs).
inline uint16_t load16(const void* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline void store16(void* p, uint16_t v) noexcept { std::memcpy(p, &v, 2); }

/// Parsed view of one frame. Pointers point into the frame.
struct Parsed {
    PktClass cls = PktClass::Drop;
    Drop reason = Drop::None;  ///< why, when cls is Drop
    uint8_t tcp_flags = 0;
    bool first_frag = false;  ///< offset 0 with more fragments to come
    /// Any fragment (first or not) of TCP, UDP or SCTP: the worker reassembles these.
    bool fragment = false;
    /// SCTP: the chunk that drives the state machine (ct::SctpChunk): the first chunk's type, or
    /// ABORT when a COOKIE ECHO or COOKIE ACK is followed by one (as IPVS's set_sctp_state reads).
    uint8_t sctp_chunk = 0;
    // One or the other: a frame is IPv4 or tagged. The union keeps Parsed at its old size.
    union {
        uint16_t l3_len = 0;  ///< IPv4 total length
        uint16_t vlan_tci;    ///< Vlan: the tag's TCI (priority, DEI and VLAN id), host order
    };
    rte_ether_hdr* eth = nullptr;
    rte_ipv4_hdr* ip = nullptr;
    void* l4 = nullptr;   ///< TCP/UDP/ICMP header
    rte_ipv4_hdr* inner = nullptr;  ///< IcmpError: the quoted header
    ct::FlowKey key;      ///< Ipv4L4: the packet's flow; IcmpError: the quoted flow, reversed
};

/// ICMP types whose body quotes the packet that caused them (RFC 792).
inline bool icmp_is_error(uint8_t type) {
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/// Looks inside an ICMP error: when it quotes a TCP/UDP/SCTP packet (an IPv4 header and at least
/// the 8 bytes holding the ports), turns `p` into an IcmpError whose key is the quoted flow seen in
/// the direction of the ICMP message itself.
inline void parse_icmp_error(Parsed& p, uint32_t l4_len) noexcept {
    auto* icmp = static_cast<uint8_t*>(p.l4);
    if (!icmp_is_error(icmp[0]) || l4_len < 8 + sizeof(rte_ipv4_hdr) + 8) {
        return;
    }
    auto* in = reinterpret_cast<rte_ipv4_hdr*>(icmp + 8);
    const uint32_t ihl = static_cast<uint32_t>(in->version_ihl & 0x0f) * 4;
    if ((in->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || l4_len < 8 + ihl + 8 ||
        (in->next_proto_id != IPPROTO_TCP && in->next_proto_id != IPPROTO_UDP &&
         in->next_proto_id != IPPROTO_SCTP) ||
        (rte_be_to_cpu_16(in->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0) {
        return;
    }
    const auto* ports = reinterpret_cast<const uint8_t*>(in) + ihl;
    p.inner = in;
    p.key.saddr = in->dst_addr;
    p.key.daddr = in->src_addr;
    std::memcpy(&p.key.sport, ports + 2, 2);
    std::memcpy(&p.key.dport, ports, 2);
    p.key.proto = in->next_proto_id;
    p.cls = PktClass::IcmpError;
}

/// What the NIC said about the IPv4 header checksum (RTE_MBUF_F_RX_IP_CKSUM_*).
enum class RxCsum : uint8_t { Unknown, Good, Bad };

/// The NIC's verdict on the IPv4 header checksum, from an mbuf's ol_flags.
inline RxCsum rx_ip_csum(uint64_t ol_flags) noexcept {
    switch (ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
        return RxCsum::Good;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD:
        return RxCsum::Bad;
    default:
        return RxCsum::Unknown;  // not checked (or no such offload): check in software
    }
}

/// The 802.1Q tag protocol identifier and QinQ's (802.1ad) service tag.
inline constexpr uint16_t kEtherVlan = RTE_ETHER_TYPE_VLAN;   // 0x8100
inline constexpr uint16_t kEtherQinQ = RTE_ETHER_TYPE_QINQ;   // 0x88a8
/// The VLAN id bits of a TCI.
inline constexpr uint16_t kVlanIdMask = 0x0fff;

/// A frame whose ethertype is a tag (`et`, network order): one 802.1Q tag around anything but
/// another tag becomes Vlan with its TCI; QinQ and double tags are dropped as Unsupported.
/// Cold: only tagged frames come here.
[[gnu::cold, gnu::noinline]] inline void parse_vlan(const uint8_t* frame, uint32_t len,
                                                    uint16_t et, Parsed& p) noexcept {
    p.cls = PktClass::Drop;
    if (et != rte_cpu_to_be_16(kEtherVlan)) {
        p.reason = Drop::Unsupported;  // an 802.1ad service tag (QinQ)
        return;
    }
    if (len < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr)) {
        p.reason = Drop::Runt;
        return;
    }
    const auto* vh = reinterpret_cast<const rte_vlan_hdr*>(frame + sizeof(rte_ether_hdr));
    const uint16_t inner = vh->eth_proto;
    if (inner == rte_cpu_to_be_16(kEtherVlan) || inner == rte_cpu_to_be_16(kEtherQinQ)) {
        p.reason = Drop::Unsupported;  // a second tag
        return;
    }
    p.vlan_tci = rte_be_to_cpu_16(load16(&vh->vlan_tci));
    p.cls = PktClass::Vlan;
}

/// Removes the 802.1Q tag of a frame parse_frame classified Vlan: the MAC addresses move 4
/// bytes up over it. Returns the frame's new start (4 bytes after `frame`).
/// Thread: any. Cost: a 12-byte move.
inline uint8_t* vlan_pop(uint8_t* frame) noexcept {
    std::memmove(frame + sizeof(rte_vlan_hdr), frame, 2 * RTE_ETHER_ADDR_LEN);
    return frame + sizeof(rte_vlan_hdr);
}

/// Writes an 802.1Q tag into a frame whose start moved 4 bytes down to `frame` (the caller
/// prepended them): the MAC addresses move down, the tag (`tci`) fills the gap, and the frame's
/// own ethertype, where it was, becomes the tag's inner one. Thread: any. Cost: a 12-byte move.
inline void vlan_push(uint8_t* frame, uint16_t tci) noexcept {
    std::memmove(frame, frame + sizeof(rte_vlan_hdr), 2 * RTE_ETHER_ADDR_LEN);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    eth->ether_type = rte_cpu_to_be_16(kEtherVlan);
    store16(frame + sizeof(rte_ether_hdr), rte_cpu_to_be_16(tci));
}

/// The chunk an SCTP packet's state machine reads (`l4` its common header, `l4_len` >= 16): the
/// first chunk's type, or ABORT when a COOKIE ECHO or COOKIE ACK is bundled before one (RFC 9260
/// 3.3.7), as IPVS's set_sctp_state reads it. Used by IPv4's parser and IPv6's service6.
inline uint8_t sctp_chunk_of(const uint8_t* l4, uint32_t l4_len) noexcept {
    uint8_t chunk = l4[kSctpHdrLen];
    if (chunk == ct::kSctpCookieEcho || chunk == ct::kSctpCookieAck) {
        const uint32_t clen = rte_be_to_cpu_16(load16(l4 + kSctpHdrLen + 2));
        const uint32_t next = kSctpHdrLen + ((clen + 3) & ~3u);
        if (clen >= kSctpChunkHdrLen && next < l4_len && l4[next] == ct::kSctpAbort) {
            chunk = ct::kSctpAbort;
        }
    }
    return chunk;
}

/// The IPv6 half of parse_frame (the ethertype was 0x86DD): checks the fixed header (version 6,
/// the payload inside the frame) and, for ICMPv6 right after it, its 4-byte header. Extension
/// headers are not walked: a packet whose next header is not ICMPv6 is routed (transit) or, for
/// one of our addresses, left to the kernel. Out of line: IPv4 never carries it.
[[gnu::cold, gnu::noinline]] inline void parse_ipv6(uint8_t* frame, uint32_t len,
                                                    Parsed& p) noexcept {
    const uint32_t l3_avail = len - static_cast<uint32_t>(sizeof(rte_ether_hdr));
    if (l3_avail < sizeof(rte_ipv6_hdr)) {
        p.cls = PktClass::Drop;
        p.reason = Drop::Runt;
        return;
    }
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(frame + sizeof(rte_ether_hdr));
    if ((rte_be_to_cpu_32(ip6->vtc_flow) >> 28) != 6) {
        p.cls = PktClass::Drop;
        p.reason = Drop::BadIpHeader;
        return;
    }
    const uint32_t plen = rte_be_to_cpu_16(ip6->payload_len);
    if (sizeof(rte_ipv6_hdr) + plen > l3_avail) {
        p.cls = PktClass::Drop;
        p.reason = Drop::Runt;
        return;
    }
    p.l3_len = static_cast<uint16_t>(sizeof(rte_ipv6_hdr) + plen);
    p.l4 = ip6 + 1;
    p.key.proto = ip6->proto;
    if (ip6->proto == IPPROTO_ICMPV6 && plen < 4) {
        p.cls = PktClass::Drop;
        p.reason = Drop::Runt;
        return;
    }
    p.cls = PktClass::Ipv6;
}

/// The IPv6 header of a PktClass::Ipv6 packet: right before its `l4`, since no extension header
/// is walked. (Not a Parsed field: the IPv4 burst's array of Parsed stays as it was.)
inline rte_ipv6_hdr* ipv6_header(const Parsed& p) noexcept {
    return reinterpret_cast<rte_ipv6_hdr*>(static_cast<uint8_t*>(p.l4) - sizeof(rte_ipv6_hdr));
}

/// Parses `len` bytes at `frame`; `rx` is what the NIC already checked.
inline void parse_frame(uint8_t* frame, uint32_t len, Parsed& p,
                        RxCsum rx = RxCsum::Unknown) noexcept {
    p.tcp_flags = 0;
    p.l4 = nullptr;
    if (len < sizeof(rte_ether_hdr)) [[unlikely]] {
        p.cls = PktClass::Drop;
        p.reason = Drop::Runt;
        return;
    }
    p.eth = reinterpret_cast<rte_ether_hdr*>(frame);
    const uint16_t et = p.eth->ether_type;
    if (et == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
        if (len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.reason = Drop::Runt;
            return;
        }
        p.cls = PktClass::Arp;
        return;
    }
    if (et != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) [[unlikely]] {
        // IPv6 leaves the IPv4 path here, on the branch IPv4 already pays for.
        if (et == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
            parse_ipv6(frame, len, p);
            return;
        }
        p.cls = PktClass::Drop;
        p.reason = Drop::NotIpv4;
        if (et == rte_cpu_to_be_16(kEtherVlan) || et == rte_cpu_to_be_16(kEtherQinQ)) {
            parse_vlan(frame, len, et, p);
        }
        return;
    }
    const uint32_t l3_avail = len - static_cast<uint32_t>(sizeof(rte_ether_hdr));
    if (l3_avail < sizeof(rte_ipv4_hdr)) [[unlikely]] {
        p.cls = PktClass::Drop;
        p.reason = Drop::Runt;
        return;
    }
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + sizeof(rte_ether_hdr));
    p.ip = ip;
    const uint32_t ihl = static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
    const uint16_t tot = rte_be_to_cpu_16(ip->total_length);
    if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || tot < ihl) [[unlikely]] {
        p.cls = PktClass::Drop;
        p.reason = Drop::BadIpHeader;
        return;
    }
    if (tot > l3_avail) [[unlikely]] {
        p.cls = PktClass::Drop;
        p.reason = Drop::Runt;
        return;
    }
    if (rx == RxCsum::Bad || (rx == RxCsum::Unknown && rte_raw_cksum(ip, ihl) != 0xffff))
        [[unlikely]] {
        p.cls = PktClass::Drop;
        p.reason = Drop::BadIpChecksum;
        return;
    }
    p.l3_len = tot;
    const uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
    const bool fragmented = (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
    uint8_t* l4 = reinterpret_cast<uint8_t*>(ip) + ihl;
    const uint32_t l4_len = tot - ihl;
    p.l4 = l4;
    // A first fragment carries the ports and may follow its connection; later ones carry none.
    p.first_frag = fragmented && (frag & RTE_IPV4_HDR_OFFSET_MASK) == 0;
    if (fragmented) [[unlikely]] {
        const uint8_t proto = ip->next_proto_id;
        p.fragment = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
        if (!p.first_frag) {
            p.cls = PktClass::Ipv4Other;
            return;
        }
    }
    switch (ip->next_proto_id) {
    case IPPROTO_TCP: {
        if (l4_len < sizeof(rte_tcp_hdr)) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.reason = Drop::Runt;
            return;
        }
        const auto* th = reinterpret_cast<const rte_tcp_hdr*>(l4);
        const uint32_t doff = static_cast<uint32_t>(th->data_off >> 4) * 4;
        // A first fragment may end inside the options; a whole segment may not.
        if (doff < sizeof(rte_tcp_hdr) || (!p.first_frag && doff > l4_len)) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.reason = Drop::BadL4Header;
            return;
        }
        p.tcp_flags = th->tcp_flags;
        break;
    }
    case IPPROTO_UDP: {
        if (l4_len < sizeof(rte_udp_hdr)) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.reason = Drop::Runt;
            return;
        }
        break;
    }
    case IPPROTO_SCTP: {
        // The common header and the first chunk's header: the ports for the key, the chunk type
        // for the state machine. The checksum is not verified (IPVS checks it only for an
        // application helper); a NAT rewrite recomputes it.
        if (l4_len < kSctpHdrLen + kSctpChunkHdrLen) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.reason = Drop::Runt;
            return;
        }
        p.sctp_chunk = sctp_chunk_of(l4, l4_len);
        break;
    }
    case IPPROTO_ICMP:
        if (l4_len < sizeof(rte_icmp_hdr)) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.reason = Drop::Runt;
            return;
        }
        p.cls = PktClass::Ipv4Icmp;
        parse_icmp_error(p, l4_len);
        return;
    default:
        p.cls = PktClass::Ipv4Other;
        return;
    }
    p.key.saddr = ip->src_addr;
    p.key.daddr = ip->dst_addr;
    p.key.set_ports_proto(l4, ip->next_proto_id);  // TCP, UDP and SCTP all begin with the ports
    p.cls = PktClass::Ipv4L4;
}

/// Offset of the checksum field in a TCP or UDP header.
inline constexpr size_t l4_csum_offset(uint8_t proto) { return proto == IPPROTO_TCP ? 16 : 6; }

/// rewrite_endpoint's `l4_avail` for a packet parse_frame checked whole.
inline constexpr uint32_t kWholeL4Header = 0xffffffffu;

/// Which end of a TCP/UDP packet a rewrite changes.
enum class Endpoint : uint8_t { Source = 0, Destination = 1 };

/// Rewrites one endpoint of a TCP/UDP/SCTP packet to `addr`:`port` (network order), updating the
/// IPv4 and TCP/UDP checksums incrementally (RFC 1624: every packet of a NAT flow pays a few ALU
/// operations instead of a pass over its payload). SCTP's CRC32c covers no address and has no
/// incremental form: after a port change the caller recomputes it (sctp_set_checksum).
/// `l4_avail` bytes of the L4 header are present: at least the ports; the L4 checksum is updated
/// only when it lies inside them (an ICMP error may quote just the 8 bytes RFC 792 guarantees,
/// and IPVS adjusts only what the quote holds). A UDP datagram sent without a checksum (field
/// zero) keeps none; a computed zero UDP checksum is sent as 0xffff (RFC 768).
inline void rewrite_endpoint(rte_ipv4_hdr* ip, void* l4, uint32_t l4_avail, Endpoint which,
                             uint32_t addr, uint16_t port) noexcept {
    const uint8_t proto = ip->next_proto_id;
    auto* l4b = static_cast<uint8_t*>(l4);
    uint8_t* port_field = l4b + (which == Endpoint::Source ? 0 : 2);
    // The header is a packed struct: address its fields as bytes.
    uint8_t* addr_field = reinterpret_cast<uint8_t*>(ip) +
                          (which == Endpoint::Source ? offsetof(rte_ipv4_hdr, src_addr)
                                                     : offsetof(rte_ipv4_hdr, dst_addr));
    uint32_t old_addr;
    std::memcpy(&old_addr, addr_field, 4);
    // SCTP's checksum is a CRC over the whole packet: the caller recomputes it (sctp_set_checksum);
    // an ICMP error's quote of an SCTP packet keeps the quoted checksum, as IPVS leaves it.
    if (proto != IPPROTO_SCTP && l4_avail >= l4_csum_offset(proto) + 2) {
        uint8_t* csum = l4b + l4_csum_offset(proto);
        const uint16_t c0 = load16(csum);
        if (proto == IPPROTO_TCP || c0 != 0) {
            uint16_t c = csum_replace4(c0, old_addr, addr);  // the pseudo-header holds the address
            c = csum_replace2(c, load16(port_field), port);
            store16(csum, (proto == IPPROTO_UDP && c == 0) ? 0xffff : c);
        }
    }
    ip->hdr_checksum = csum_replace4(ip->hdr_checksum, old_addr, addr);
    std::memcpy(addr_field, &addr, 4);
    store16(port_field, port);
}

/// NAT, client to server: destination becomes the real server (a packet parse_frame checked).
inline void rewrite_dst(rte_ipv4_hdr* ip, void* l4, uint32_t addr, uint16_t port) noexcept {
    rewrite_endpoint(ip, l4, kWholeL4Header, Endpoint::Destination, addr, port);
}

/// NAT, server reply back to the client: source becomes the virtual service.
inline void rewrite_src(rte_ipv4_hdr* ip, void* l4, uint32_t addr, uint16_t port) noexcept {
    rewrite_endpoint(ip, l4, kWholeL4Header, Endpoint::Source, addr, port);
}

/// NAT translation of an ICMP error that quotes a tracked flow (`p` is an IcmpError): the quoted
/// packet's `quoted` end becomes `addr`:`port`, and so does the outer header's opposite end (an
/// error about a packet *from* the VIP is sent *to* it, and the other way round). The quote is
/// rewritten only as far as it goes (at least its ports; its L4 checksum only if quoted too), then
/// the ICMP checksum is recomputed whole: the quote changed in several places, errors are rare.
/// Thread: any. Cost: O(ICMP length).
inline void translate_icmp_error(const Parsed& p, Endpoint quoted, uint32_t addr,
                                 uint16_t port) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    auto* outer = reinterpret_cast<uint8_t*>(ip) +
                  (quoted == Endpoint::Source ? offsetof(rte_ipv4_hdr, dst_addr)
                                              : offsetof(rte_ipv4_hdr, src_addr));
    uint32_t old_addr;
    std::memcpy(&old_addr, outer, 4);
    ip->hdr_checksum = csum_replace4(ip->hdr_checksum, old_addr, addr);
    std::memcpy(outer, &addr, 4);
    const uint32_t icmp_len = p.l3_len - rte_ipv4_hdr_len(ip);
    const uint32_t inner_ihl = rte_ipv4_hdr_len(p.inner);
    // parse_icmp_error checked that the quote holds the inner header and its ports.
    const uint32_t quoted_l4 = icmp_len - static_cast<uint32_t>(sizeof(rte_icmp_hdr)) - inner_ihl;
    rewrite_endpoint(p.inner, reinterpret_cast<uint8_t*>(p.inner) + inner_ihl, quoted_l4, quoted,
                     addr, port);
    auto* icmp = static_cast<rte_icmp_hdr*>(p.l4);
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, icmp_len));
}

/// Decrements the TTL and patches the header checksum. The caller checked ttl > 1.
inline void decrement_ttl(rte_ipv4_hdr* ip) noexcept {
    // TTL and protocol share one 16-bit word of the header: loaded once, decremented in a
    // register and stored once. (A byte store then a reload of the word cannot be forwarded
    // from the store buffer: it stalled ~10 cycles a NAT packet in dirigo-bench's profile.)
    // The TTL is the word's first byte; ttl > 1, so nothing borrows from the protocol.
    uint16_t old_word;
    std::memcpy(&old_word, &ip->time_to_live, 2);
    const uint16_t one = std::endian::native == std::endian::little ? 0x0001 : 0x0100;
    const auto new_word = static_cast<uint16_t>(old_word - one);
    std::memcpy(&ip->time_to_live, &new_word, 2);
    ip->hdr_checksum = csum_replace2(ip->hdr_checksum, old_word, new_word);
}

}  // namespace dirigo::dp
