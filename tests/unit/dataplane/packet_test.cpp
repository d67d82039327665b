// SPDX-License-Identifier: BSD-3-Clause
// Parsing and rewriting without EAL: every incremental checksum update is compared with a full
// recomputation over many random headers.

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/checksum.hpp"
#include "dataplane/packet.hpp"
#include "tests/dataplane/packet_builder.hpp"

namespace dirigo::dp {
namespace {

using test::Frame;
using test::ip;
using test::Mac;

const Mac kA = {2, 0, 0, 0, 0, 1};
const Mac kB = {2, 0, 0, 0, 0, 2};

TEST(Checksum, Replace2MatchesFullRecomputation) {
    std::mt19937 rng(1);
    for (int i = 0; i < 10000; ++i) {
        uint16_t words[8];
        for (auto& w : words) {
            w = static_cast<uint16_t>(rng());
        }
        words[3] = 0;
        const uint16_t c = csum_full(words, sizeof(words));
        const uint16_t from = words[5];
        const uint16_t to = static_cast<uint16_t>(rng());
        words[5] = to;
        const uint16_t want = csum_full(words, sizeof(words));
        EXPECT_EQ(csum_fold(csum_replace2(c, from, to)) , csum_fold(want)) << i;
        // Both forms verify the same way (a checksum and its one's complement twin).
        words[3] = csum_replace2(c, from, to);
        EXPECT_EQ(csum_fold(csum_partial(words, sizeof(words))), 0xffff) << i;
    }
}

TEST(Checksum, Replace4MatchesFullRecomputation) {
    std::mt19937 rng(2);
    for (int i = 0; i < 10000; ++i) {
        uint32_t words[6];
        for (auto& w : words) {
            w = rng();
        }
        words[1] &= 0xffff0000u;  // checksum lives in the low half of word 1
        const uint16_t c = csum_full(words, sizeof(words));
        uint16_t field = c;
        std::memcpy(reinterpret_cast<uint8_t*>(words) + 4, &field, 2);
        const uint32_t from = words[3];
        const uint32_t to = rng();
        words[3] = to;
        const uint16_t updated = csum_replace4(c, from, to);
        std::memcpy(reinterpret_cast<uint8_t*>(words) + 4, &updated, 2);
        EXPECT_EQ(csum_fold(csum_partial(words, sizeof(words))), 0xffff) << i;
    }
}

TEST(Parse, ClassifiesTcpUdpIcmpArpAndOthers) {
    Parsed p;
    Frame t = Frame::l4(kA, kB, 6, ip("1.2.3.4"), 1000, ip("5.6.7.8"), 80, 0x02);
    parse_frame(t.b.data(), static_cast<uint32_t>(t.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Ipv4L4);
    EXPECT_EQ(p.key.saddr, ip("1.2.3.4"));
    EXPECT_EQ(p.key.daddr, ip("5.6.7.8"));
    EXPECT_EQ(p.key.sport, htons(1000));
    EXPECT_EQ(p.key.dport, htons(80));
    EXPECT_EQ(p.key.proto, 6);
    EXPECT_EQ(p.tcp_flags, 0x02);

    Frame u = Frame::l4(kA, kB, 17, ip("1.2.3.4"), 53, ip("5.6.7.8"), 53, 0, 64, "x");
    parse_frame(u.b.data(), static_cast<uint32_t>(u.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Ipv4L4);
    EXPECT_EQ(p.key.proto, 17);

    Frame e = Frame::icmp_echo(kA, kB, ip("1.2.3.4"), ip("5.6.7.8"));
    parse_frame(e.b.data(), static_cast<uint32_t>(e.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Ipv4Icmp);

    Frame a = Frame::arp(kA, kB, 1, kB, ip("1.2.3.4"), kA, ip("5.6.7.8"));
    parse_frame(a.b.data(), static_cast<uint32_t>(a.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Arp);

    // A first fragment (MF set, offset 0) keeps its ports; a later fragment has none.
    Frame f = t;
    f.b[14 + 6] |= 0x20;
    f.b[14 + 10] = f.b[14 + 11] = 0;
    {
        const uint16_t c0 = static_cast<uint16_t>(~test::fold(test::sum16(f.b.data() + 14, 20)));
        f.b[14 + 10] = static_cast<uint8_t>(c0 >> 8);
        f.b[14 + 11] = static_cast<uint8_t>(c0);
    }
    parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Ipv4L4);
    EXPECT_TRUE(p.first_frag);
    f.b[14 + 7] = 0x10;  // offset 16 x 8 bytes
    f.b[14 + 10] = f.b[14 + 11] = 0;
    const uint16_t c = static_cast<uint16_t>(~test::fold(test::sum16(f.b.data() + 14, 20)));
    f.b[14 + 10] = static_cast<uint8_t>(c >> 8);
    f.b[14 + 11] = static_cast<uint8_t>(c);
    parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Ipv4Other);
}

TEST(Parse, OneVlanTagIsClassifiedThenParsedUntagged) {
    const Frame plain = Frame::l4(kA, kB, 6, ip("1.2.3.4"), 1000, ip("5.6.7.8"), 80, 0x02);
    // Priority 5, VLAN 100: the TCI whole, host order.
    Frame t = test::tagged(plain, (5u << 13) | 100);
    Parsed p;
    parse_frame(t.b.data(), static_cast<uint32_t>(t.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Vlan);
    EXPECT_EQ(p.vlan_tci, (5u << 13) | 100);
    EXPECT_EQ(p.vlan_tci & kVlanIdMask, 100);
    // The worker's next step: the tag goes, the MAC addresses move over it, and the rest parses
    // as the untagged frame does.
    uint8_t* f = vlan_pop(t.b.data());
    EXPECT_EQ(f, t.b.data() + 4);
    EXPECT_TRUE(std::equal(plain.b.begin(), plain.b.end(), f));
    parse_frame(f, static_cast<uint32_t>(t.b.size() - 4), p);
    ASSERT_EQ(p.cls, PktClass::Ipv4L4);
    EXPECT_EQ(p.key.daddr, ip("5.6.7.8"));
    EXPECT_EQ(p.key.dport, htons(80));

    // ARP in a tag is a VLAN frame too (answered on its VLAN once untagged).
    const Frame arp = Frame::arp(kB, kA, 1, kA, ip("10.1.0.2"), Mac{}, ip("10.1.0.1"));
    Frame ta = test::tagged(arp, 100);
    parse_frame(ta.b.data(), static_cast<uint32_t>(ta.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Vlan);
    parse_frame(vlan_pop(ta.b.data()), static_cast<uint32_t>(ta.b.size() - 4), p);
    EXPECT_EQ(p.cls, PktClass::Arp);
}

TEST(Parse, VlanPushWritesTheTagPopRemoves) {
    const Frame plain = Frame::l4(kA, kB, 17, ip("1.2.3.4"), 53, ip("5.6.7.8"), 53, 0, 64, "x");
    // As a worker does: 4 bytes prepended in the headroom, then the tag written into them.
    std::vector<uint8_t> buf(4 + plain.b.size());
    std::copy(plain.b.begin(), plain.b.end(), buf.begin() + 4);
    vlan_push(buf.data(), 4094);
    Frame out;
    out.b = buf;
    EXPECT_EQ(test::tag_of(out), 4094);
    EXPECT_EQ(out.dst_mac(), kA);
    EXPECT_EQ(out.src_mac(), kB);
    EXPECT_EQ(test::untagged(out).b, plain.b);  // the inner ethertype and payload are intact
    Parsed p;
    parse_frame(buf.data(), static_cast<uint32_t>(buf.size()), p);
    EXPECT_EQ(p.cls, PktClass::Vlan);
    EXPECT_EQ(p.vlan_tci, 4094);
}

TEST(Parse, QinQDoubleTagsAndShortTagsAreDropped) {
    const Frame plain = Frame::l4(kA, kB, 6, ip("1.2.3.4"), 1000, ip("5.6.7.8"), 80, 0x02);
    Parsed p;
    // An 802.1ad service tag (QinQ).
    Frame q = test::tagged(test::tagged(plain, 100), 200, 0x88a8);
    parse_frame(q.b.data(), static_cast<uint32_t>(q.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Drop);
    EXPECT_EQ(p.reason, Drop::Unsupported);
    // Two 802.1Q tags, and an 802.1Q tag around an 802.1ad one.
    for (const uint16_t inner : {uint16_t{0x8100}, uint16_t{0x88a8}}) {
        Frame d = test::tagged(test::tagged(plain, 100, inner), 200);
        parse_frame(d.b.data(), static_cast<uint32_t>(d.b.size()), p);
        EXPECT_EQ(p.cls, PktClass::Drop) << std::hex << inner;
        EXPECT_EQ(p.reason, Drop::Unsupported) << std::hex << inner;
    }
    // A frame that ends inside its tag.
    Frame t = test::tagged(plain, 100);
    parse_frame(t.b.data(), 16, p);
    EXPECT_EQ(p.cls, PktClass::Drop);
    EXPECT_EQ(p.reason, Drop::Runt);
    // Another ethertype is still not IPv4 (the kernel's, with host integration).
    Frame lldp = Frame::eth(kA, kB, 0x88cc);
    lldp.b.resize(60, 0);
    parse_frame(lldp.b.data(), static_cast<uint32_t>(lldp.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Drop);
    EXPECT_EQ(p.reason, Drop::NotIpv4);
}

TEST(Parse, RejectsMalformedHeaders) {
    Parsed p;
    Frame t = Frame::l4(kA, kB, 6, ip("1.2.3.4"), 1000, ip("5.6.7.8"), 80);
    for (size_t len = 0; len < t.b.size(); ++len) {
        parse_frame(t.b.data(), static_cast<uint32_t>(len), p);
        EXPECT_EQ(p.cls, PktClass::Drop) << len;
    }
    Frame v = t;
    v.b[14] = 0x65;  // version 6 in an IPv4 ethertype
    parse_frame(v.b.data(), static_cast<uint32_t>(v.b.size()), p);
    EXPECT_EQ(p.reason, Drop::BadIpHeader);
    Frame ihl = t;
    ihl.b[14] = 0x44;  // IHL 16 bytes
    parse_frame(ihl.b.data(), static_cast<uint32_t>(ihl.b.size()), p);
    EXPECT_EQ(p.reason, Drop::BadIpHeader);
    Frame cs = t;
    cs.b[14 + 8] ^= 1;  // TTL changed without the checksum
    parse_frame(cs.b.data(), static_cast<uint32_t>(cs.b.size()), p);
    EXPECT_EQ(p.reason, Drop::BadIpChecksum);
}

TEST(Parse, Ipv6GoesItsOwnWayWithItsHeaderChecked) {
    // Ethernet, then an IPv6 header with `plen` bytes of payload after it (next header `nh`).
    auto v6 = [](uint8_t nh, uint16_t plen) {
        Frame f = Frame::eth(kA, kB, 0x86dd);
        f.b.resize(14 + 40 + plen, 0);
        f.b[14] = 0x60;
        f.b[14 + 4] = static_cast<uint8_t>(plen >> 8);
        f.b[14 + 5] = static_cast<uint8_t>(plen);
        f.b[14 + 6] = nh;
        f.b[14 + 7] = 64;
        return f;
    };
    Parsed p;
    Frame icmp = v6(IPPROTO_ICMPV6, 8);
    parse_frame(icmp.b.data(), static_cast<uint32_t>(icmp.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Ipv6);
    EXPECT_EQ(p.l3_len, 48);
    EXPECT_EQ(p.key.proto, IPPROTO_ICMPV6);
    EXPECT_EQ(static_cast<uint8_t*>(p.l4), icmp.b.data() + 54);
    EXPECT_EQ(reinterpret_cast<uint8_t*>(ipv6_header(p)), icmp.b.data() + 14);
    // Another next header (an extension header, TCP) is not walked: still IPv6, for the worker.
    Frame hbh = v6(0, 8);
    parse_frame(hbh.b.data(), static_cast<uint32_t>(hbh.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Ipv6);
    EXPECT_EQ(p.key.proto, 0);
    // Ethernet padding after the payload is fine.
    Frame padded = v6(IPPROTO_UDP, 4);
    padded.b.resize(padded.b.size() + 10, 0);
    parse_frame(padded.b.data(), static_cast<uint32_t>(padded.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Ipv6);
    EXPECT_EQ(p.l3_len, 44);
    // Cut anywhere before its payload ends: a runt; version 4 in the IPv6 ethertype; ICMPv6
    // shorter than its 4-byte header.
    for (size_t len = 0; len < icmp.b.size(); ++len) {
        parse_frame(icmp.b.data(), static_cast<uint32_t>(len), p);
        EXPECT_EQ(p.cls, PktClass::Drop) << len;
        EXPECT_EQ(p.reason, Drop::Runt) << len;
    }
    Frame v4 = icmp;
    v4.b[14] = 0x40;
    parse_frame(v4.b.data(), static_cast<uint32_t>(v4.b.size()), p);
    EXPECT_EQ(p.reason, Drop::BadIpHeader);
    Frame short_icmp = v6(IPPROTO_ICMPV6, 3);
    parse_frame(short_icmp.b.data(), static_cast<uint32_t>(short_icmp.b.size()), p);
    EXPECT_EQ(p.cls, PktClass::Drop);
    EXPECT_EQ(p.reason, Drop::Runt);
}

TEST(Rewrite, NatBothDirectionsKeepsChecksumsValid) {
    std::mt19937 rng(3);
    for (int i = 0; i < 2000; ++i) {
        const uint8_t proto = (i & 1) ? 6 : 17;
        const uint32_t a = rng();
        const uint32_t b = rng();
        const auto sp = static_cast<uint16_t>(rng());
        const auto dp = static_cast<uint16_t>(rng());
        std::string payload(static_cast<size_t>(rng() % 40), 'x');
        for (auto& ch : payload) {
            ch = static_cast<char>(rng());
        }
        Frame f = Frame::l4(kA, kB, proto, a, sp, b, dp, 0x10, 64, payload);
        Parsed p;
        parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
        ASSERT_EQ(p.cls, PktClass::Ipv4L4);
        const uint32_t na = rng();
        const auto np = static_cast<uint16_t>(rng());
        rewrite_dst(p.ip, p.l4, na, np);
        decrement_ttl(p.ip);
        EXPECT_EQ(f.daddr(), na);
        EXPECT_EQ(htons(f.dport()), np);
        EXPECT_EQ(f.ttl(), 63);
        EXPECT_TRUE(f.ip_csum_ok()) << i;
        EXPECT_TRUE(f.l4_csum_ok()) << i;
        rewrite_src(p.ip, p.l4, b, dp);
        EXPECT_TRUE(f.ip_csum_ok()) << i;
        EXPECT_TRUE(f.l4_csum_ok()) << i;
    }
}

TEST(Rewrite, UdpWithoutChecksumStaysWithout) {
    Frame f = Frame::l4(kA, kB, 17, ip("1.1.1.1"), 1, ip("2.2.2.2"), 2, 0, 64, "abc", false);
    Parsed p;
    parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
    rewrite_dst(p.ip, p.l4, ip("3.3.3.3"), htons(9));
    EXPECT_EQ(f.l4h()[6], 0);
    EXPECT_EQ(f.l4h()[7], 0);
    EXPECT_TRUE(f.ip_csum_ok());
}

}  // namespace
}  // namespace dirigo::dp
