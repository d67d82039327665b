// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: the packet path as plain functions on raw frame bytes, no EAL (dataplane/packet.hpp,
// dataplane/checksum.hpp). The input is one Ethernet frame. It is copied into a heap buffer that
// ends where the frame ends (under ASan, whose redzone catches any read or write past it) or that
// is followed by a canary (without ASan, which catches writes). Then what the worker does with
// each class of frame is done to it, and the checksums must still verify:
//   Ipv4L4     NAT in and out (rewrite_dst, rewrite_src; SCTP's CRC32c recomputed) and the TTL
//              decrement
//   IcmpError  the NAT rewrite of an ICMP error, outer header and quoted header, with the
//              worker's own translate_icmp_error
//   others     the TTL decrement of a routed frame
// ARP frames are only classified here: the slow path answers them from an mbuf.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/checksum.hpp"
#include "dataplane/nd.hpp"
#include "dataplane/packet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace dirigo::dp;

constexpr size_t kGuard = DIRIGO_FUZZ_ASAN ? 0 : 64;
constexpr uint8_t kCanary = 0xa5;
// A real server and a VIP, network order, as NAT would write them.
constexpr uint32_t kServer = 0x020010acu;  // 172.16.0.2
constexpr uint16_t kServerPort = 0x901f;   // 8080
constexpr uint32_t kVip = 0x6400000au;     // 10.0.0.100
constexpr uint16_t kVipPort = 0x5000;      // 80

uint16_t be16(uint32_t v) {
    return rte_cpu_to_be_16(static_cast<uint16_t>(v));
}

bool ip_csum_ok(const rte_ipv4_hdr* ip) {
    const uint32_t ihl = static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
    return csum_fold(csum_partial(ip, ihl)) == 0xffff;
}

/// TCP/UDP checksum over the pseudo-header and `len` bytes of L4.
bool l4_csum_ok(const rte_ipv4_hdr* ip, const void* l4, uint32_t len) {
    uint32_t sum = csum_partial(&ip->src_addr, 8);
    sum += be16(ip->next_proto_id);
    sum += be16(len);
    return csum_fold(csum_partial(l4, len, sum)) == 0xffff;
}

void nat_l4(Parsed& p) {
    rte_ipv4_hdr* ip = p.ip;
    const uint32_t l4_len = p.l3_len - static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
    const uint16_t c0 = load16(static_cast<uint8_t*>(p.l4) + l4_csum_offset(ip->next_proto_id));
    // A first fragment's checksum covers bytes that are not here; a zero UDP checksum is none.
    const bool sctp = ip->next_proto_id == IPPROTO_SCTP;
    const bool check_l4 = !p.first_frag && !sctp && (ip->next_proto_id == IPPROTO_TCP || c0 != 0) &&
                          l4_csum_ok(ip, p.l4, l4_len);
    // SCTP: the worker recomputes the CRC over the whole packet after a port change.
    auto* l4b = static_cast<uint8_t*>(p.l4);
    const bool check_crc = !p.first_frag && sctp && sctp_checksum_ok(l4b, l4_len);
    rewrite_dst(ip, p.l4, kServer, kServerPort);
    DIRIGO_FUZZ_CHECK(ip_csum_ok(ip), "IPv4 checksum after rewrite_dst");
    DIRIGO_FUZZ_CHECK(!check_l4 || l4_csum_ok(ip, p.l4, l4_len), "L4 checksum after rewrite_dst");
    if (sctp && !p.first_frag) {
        sctp_set_checksum(l4b, l4_len);
        DIRIGO_FUZZ_CHECK(sctp_checksum_ok(l4b, l4_len), "SCTP CRC32c after rewrite_dst");
    }
    rewrite_src(ip, p.l4, kVip, kVipPort);
    DIRIGO_FUZZ_CHECK(ip_csum_ok(ip), "IPv4 checksum after rewrite_src");
    DIRIGO_FUZZ_CHECK(!check_l4 || l4_csum_ok(ip, p.l4, l4_len), "L4 checksum after rewrite_src");
    if (check_crc) {
        sctp_set_checksum(l4b, l4_len);
        DIRIGO_FUZZ_CHECK(sctp_checksum_ok(l4b, l4_len), "SCTP CRC32c after rewrite_src");
    }
}

/// The worker's NAT translation of an ICMP error (translate_icmp_error), both directions one
/// after the other.
void nat_icmp_error(Parsed& p) {
    rte_ipv4_hdr* ip = p.ip;
    rte_ipv4_hdr* in = p.inner;
    // The quoted header's checksum is not checked by the parser; when it was right, it stays so.
    const bool check_inner = ip_csum_ok(in);
    // From the client: the VIP becomes the real server, outside and in the quoted source.
    translate_icmp_error(p, Endpoint::Source, kServer, kServerPort);
    // From the server side: the sender becomes the VIP, and so does the quoted destination.
    translate_icmp_error(p, Endpoint::Destination, kVip, kVipPort);
    DIRIGO_FUZZ_CHECK(ip_csum_ok(ip), "outer IPv4 checksum after the ICMP-error rewrite");
    DIRIGO_FUZZ_CHECK(!check_inner || ip_csum_ok(in), "quoted IPv4 checksum after the rewrite");
    auto* icmp = static_cast<rte_icmp_hdr*>(p.l4);
    const uint32_t icmp_len = p.l3_len - static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
    DIRIGO_FUZZ_CHECK(csum_fold(csum_partial(icmp, icmp_len)) == 0xffff, "ICMP checksum");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 16384) {
        return 0;  // a jumbo frame at most; longer inputs only slow the search down
    }
    std::vector<uint8_t> buf(size + kGuard, kCanary);
    if (size != 0) {
        std::memcpy(buf.data(), data, size);
    }
    Parsed p;
    parse_frame(buf.data(), static_cast<uint32_t>(size), p);
    switch (p.cls) {
        case PktClass::Ipv4L4:
            nat_l4(p);
            break;
        case PktClass::IcmpError:
            nat_icmp_error(p);
            break;
        case PktClass::Ipv4Icmp:
        case PktClass::Ipv4Other:
            if (p.ip->time_to_live > 1) {
                decrement_ttl(p.ip);
                DIRIGO_FUZZ_CHECK(ip_csum_ok(p.ip), "IPv4 checksum after decrement_ttl");
            }
            break;
        case PktClass::Ipv6: {
            DIRIGO_FUZZ_CHECK(sizeof(rte_ether_hdr) + p.l3_len <= size,
                              "an IPv6 packet ends inside the frame");
            const uint32_t l4_len = p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr));
            if (ipv6_header(p)->proto == IPPROTO_ICMPV6) {
                // The worker's ND validation reads only inside the message (ASan checks it).
                (void)nd::valid_nd(ipv6_header(p), static_cast<const uint8_t*>(p.l4), l4_len);
            }
            break;
        }
        case PktClass::Drop:
            DIRIGO_FUZZ_CHECK(p.reason != Drop::None, "a dropped frame has a reason");
            break;
        case PktClass::Vlan: {
            // The worker removes the tag and parses again; a second tag never gets this far.
            DIRIGO_FUZZ_CHECK(size >= sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr),
                              "a tag lies inside the frame");
            uint8_t* untagged = vlan_pop(buf.data());
            Parsed q;
            parse_frame(untagged, static_cast<uint32_t>(size - sizeof(rte_vlan_hdr)), q);
            DIRIGO_FUZZ_CHECK(q.cls != PktClass::Vlan, "one tag at most");
            break;
        }
        case PktClass::Arp:
        case PktClass::HandedOff:
        case PktClass::Fragment:  // the worker's class, never the parser's
            DIRIGO_FUZZ_CHECK(p.cls != PktClass::Fragment, "the parser never says Fragment");
            break;
    }
    for (size_t i = size; i < buf.size(); ++i) {
        DIRIGO_FUZZ_CHECK(buf[i] == kCanary, "write past the end of the frame");
    }
    return 0;
}
