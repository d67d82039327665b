// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// IPv6 frames for the in-process tests, built independently of the dataplane's code: Ethernet +
// IPv6 + TCP/UDP/ICMPv6 with their checksums over the IPv6 pseudo-header (RFC 8200 8.1), and
// neighbour solicitations to learn a host from.

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "tests/dataplane/packet_builder.hpp"

namespace dirigo::test::v6f {

using V6 = std::array<uint8_t, 16>;

inline V6 v6(const char* s) {
    V6 a{};
    EXPECT_EQ(inet_pton(AF_INET6, s, a.data()), 1) << s;
    return a;
}

inline V6 solicited(const V6& target) {
    V6 g = v6("ff02::1:ff00:0");
    std::memcpy(g.data() + 13, target.data() + 13, 3);
    return g;
}

inline Mac mcast_mac(const V6& group) {
    return {0x33, 0x33, group[12], group[13], group[14], group[15]};
}

inline constexpr size_t kL3 = 14;
inline constexpr size_t kL4 = 14 + 40;

/// The upper-layer checksum sum of an IPv6 frame (pseudo-header and payload, RFC 8200 8.1):
/// 0xffff when the checksum in it verifies.
inline uint16_t l4_sum(const Frame& f) {
    const uint8_t* ip6 = f.b.data() + kL3;
    const uint32_t plen = static_cast<uint32_t>(ip6[4] << 8 | ip6[5]);
    uint32_t s = sum16(ip6 + 8, 32);
    s += plen;
    s += ip6[6];
    s = sum16(f.b.data() + kL4, plen, s);
    return fold(s);
}

/// Ethernet + IPv6 (next header `nh`) + `l4`; the checksum of ICMPv6, TCP or UDP is computed.
inline Frame ip6_frame(const Mac& dst, const Mac& src, const V6& saddr, const V6& daddr,
                       uint8_t hop, uint8_t nh, const std::vector<uint8_t>& l4) {
    Frame f = Frame::eth(dst, src, 0x86dd);
    for (uint8_t b : {0x60, 0, 0, 0}) {
        f.b.push_back(b);
    }
    f.b.push_back(static_cast<uint8_t>(l4.size() >> 8));
    f.b.push_back(static_cast<uint8_t>(l4.size()));
    f.b.push_back(nh);
    f.b.push_back(hop);
    f.b.insert(f.b.end(), saddr.begin(), saddr.end());
    f.b.insert(f.b.end(), daddr.begin(), daddr.end());
    f.b.insert(f.b.end(), l4.begin(), l4.end());
    const size_t off = nh == IPPROTO_ICMPV6 ? 2 : nh == IPPROTO_TCP ? 16 : 6;
    const uint16_t c = static_cast<uint16_t>(~l4_sum(f));
    f.b[kL4 + off] = static_cast<uint8_t>(c >> 8);
    f.b[kL4 + off + 1] = static_cast<uint8_t>(c);
    return f;
}

inline std::vector<uint8_t> tcp_seg(uint16_t sport, uint16_t dport, uint8_t flags,
                                    const std::string& payload = "") {
    // Sized whole first (GCC 12 at -O3 sees a false out-of-bounds copy in a growing insert).
    std::vector<uint8_t> t(20 + payload.size(), 0);
    std::copy(payload.begin(), payload.end(), t.begin() + 20);
    t[0] = static_cast<uint8_t>(sport >> 8);
    t[1] = static_cast<uint8_t>(sport);
    t[2] = static_cast<uint8_t>(dport >> 8);
    t[3] = static_cast<uint8_t>(dport);
    t[7] = 1;      // sequence number
    t[12] = 0x50;  // data offset: 5 words
    t[13] = flags;
    t[14] = 0xff;  // window
    return t;
}

inline std::vector<uint8_t> udp_dgram(uint16_t sport, uint16_t dport, const std::string& payload) {
    std::vector<uint8_t> u(8 + payload.size(), 0);
    std::copy(payload.begin(), payload.end(), u.begin() + 8);
    u[0] = static_cast<uint8_t>(sport >> 8);
    u[1] = static_cast<uint8_t>(sport);
    u[2] = static_cast<uint8_t>(dport >> 8);
    u[3] = static_cast<uint8_t>(dport);
    u[4] = static_cast<uint8_t>((8 + payload.size()) >> 8);
    u[5] = static_cast<uint8_t>(8 + payload.size());
    return u;
}

/// A solicitation from `who` (MAC `mac`) for the director's `dir`, with its source link-layer
/// option: the director learns `who` from it.
inline Frame ns_from(const V6& who, const Mac& mac, const V6& dir) {
    std::vector<uint8_t> b(32, 0);
    b[0] = 135;
    std::copy(dir.begin(), dir.end(), b.begin() + 8);
    b[24] = 1;  // source link-layer address option, 8 bytes
    b[25] = 1;
    std::copy(mac.begin(), mac.end(), b.begin() + 26);
    return ip6_frame(mcast_mac(solicited(dir)), mac, who, solicited(dir), 255, IPPROTO_ICMPV6, b);
}

inline V6 addr_at(const Frame& f, size_t off) {
    V6 a;
    std::memcpy(a.data(), f.b.data() + off, 16);
    return a;
}
inline Mac mac_at(const Frame& f, size_t off) {
    Mac m;
    std::memcpy(m.data(), f.b.data() + off, 6);
    return m;
}
inline uint16_t port_at(const Frame& f, size_t off) {
    return static_cast<uint16_t>(f.b[off] << 8 | f.b[off + 1]);
}

}  // namespace dirigo::test::v6f
