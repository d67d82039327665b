// SPDX-License-Identifier: BSD-3-Clause
// sync/wire.hpp against golden messages written by hand, byte by byte, from the struct layouts
// and the sender's rules of the Linux kernel's net/netfilter/ipvs/ip_vs_sync.c (read at commit
// 002c6ca75289a4ac4f6738213dd2d258704886e4) and include/uapi/linux/ip_vs.h (commit
// 0a255400434dd39397ce8e87696b6e3fd82c057f): struct ip_vs_sync_mesg (v1 header),
// struct ip_vs_sync_v4 / ip_vs_sync_v6 (records), the option triplets, struct
// ip_vs_sync_mesg_v0 and struct ip_vs_sync_conn_v0 (v0). No byte here was produced by the codec.

#include "sync/wire.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace dirigo::sync;
using Bytes = std::vector<uint8_t>;

/// IPv4 address a.b.c.d in network order.
uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    const uint8_t bytes[4] = {a, b, c, d};
    uint32_t v;
    std::memcpy(&v, bytes, 4);
    return v;
}

struct Decoded {
    DecodeError err = DecodeError::None;
    std::vector<ConnRecord> recs;
    size_t calls = 0;
};

Decoded decode_all(const Bytes& m, uint8_t want_syncid = 0) {
    Decoded d;
    d.err = decode(std::span<const uint8_t>(m), want_syncid, [&](const ConnRecord& c) {
        d.recs.push_back(c);
        ++d.calls;
    });
    return d;
}

/// The records below are as a master holds them; a backup receives them with kFlagSync set.
ConnRecord received(ConnRecord r) {
    r.flags |= kFlagSync;
    return r;
}
std::vector<ConnRecord> received(std::vector<ConnRecord> v) {
    for (ConnRecord& r : v) {
        r = received(r);
    }
    return v;
}

Bytes build(const std::vector<ConnRecord>& recs, uint8_t syncid = 7) {
    MessageBuilder b(syncid, kMaxMessage);
    for (const ConnRecord& r : recs) {
        EXPECT_TRUE(b.add(r));
    }
    const auto m = b.finish();
    return Bytes(m.begin(), m.end());
}

// ---------------------------------------------------------------------------------------------
// Golden 1: two IPv4 TCP NAT connections, syncid 7.
// clang-format off
const Bytes kTwoTcpNat = {
    // struct ip_vs_sync_mesg: reserved 0, syncid 7, size be16 80, nr_conns 2, version 1, spare 0
    0x00, 0x07, 0x00, 0x50, 0x02, 0x01, 0x00, 0x00,
    // struct ip_vs_sync_v4 #1: type 0 (IPv4), protocol 6 (TCP), ver_size = version 0 | size 36
    0x00, 0x06, 0x00, 0x24,
    // flags be32: IP_VS_CONN_F_MASQ
    0x00, 0x00, 0x00, 0x00,
    // state be16 IP_VS_TCP_S_ESTABLISHED (1), cport 40000
    0x00, 0x01, 0x9c, 0x40,
    // vport 80, dport 8080
    0x00, 0x50, 0x1f, 0x90,
    // fwmark be32 0
    0x00, 0x00, 0x00, 0x00,
    // timeout be32 900 seconds
    0x00, 0x00, 0x03, 0x84,
    // caddr 192.0.2.10, vaddr 198.51.100.1, daddr 10.1.0.2
    0xc0, 0x00, 0x02, 0x0a, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x02,
    // struct ip_vs_sync_v4 #2 (36 is a multiple of 4: no padding before it)
    0x00, 0x06, 0x00, 0x24,
    // flags: IP_VS_CONN_F_INACTIVE | IP_VS_CONN_F_MASQ
    0x00, 0x00, 0x01, 0x00,
    // state IP_VS_TCP_S_SYN_RECV (3), cport 40001
    0x00, 0x03, 0x9c, 0x41,
    // vport 80, dport 8080
    0x00, 0x50, 0x1f, 0x90,
    // fwmark 0, timeout 60
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c,
    // caddr 192.0.2.11, vaddr 198.51.100.1, daddr 10.1.0.3
    0xc0, 0x00, 0x02, 0x0b, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x03,
};
// clang-format on

ConnRecord tcp_nat(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t state,
                   uint32_t timeout) {
    ConnRecord r;
    r.protocol = kProtoTcp;
    r.flags = kFwdMasq;
    r.state = state;
    r.cport = htons(cport);
    r.vport = htons(80);
    r.dport = htons(8080);
    r.timeout = timeout;
    r.set_v4(caddr, ip4(198, 51, 100, 1), daddr);
    return r;
}

std::vector<ConnRecord> two_tcp_nat() {
    ConnRecord a = tcp_nat(ip4(192, 0, 2, 10), 40000, ip4(10, 1, 0, 2), kTcpEstablished, 900);
    ConnRecord b = tcp_nat(ip4(192, 0, 2, 11), 40001, ip4(10, 1, 0, 3), kTcpSynRecv, 60);
    b.flags |= kFlagInactive;
    return {a, b};
}

// ---------------------------------------------------------------------------------------------
// Golden 2: a persistence template of a TCP service (client 192.0.2.10 stuck to 10.1.0.2:8080).
// clang-format off
const Bytes kTemplate = {
    // struct ip_vs_sync_mesg: reserved 0, syncid 7, size 44, nr_conns 1, version 1, spare 0
    0x00, 0x07, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x00,
    // struct ip_vs_sync_v4: type 0, protocol TCP, ver_size 36
    0x00, 0x06, 0x00, 0x24,
    // flags: IP_VS_CONN_F_TEMPLATE | IP_VS_CONN_F_MASQ
    0x00, 0x00, 0x10, 0x00,
    // state 0 (template: IP_VS_CTPL_S_NONE), cport 0 (persistence is per client address)
    0x00, 0x00, 0x00, 0x00,
    // vport 80, dport 8080
    0x00, 0x50, 0x1f, 0x90,
    // fwmark 0, timeout 300 (the service's persistence timeout)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2c,
    // caddr 192.0.2.10, vaddr 198.51.100.1, daddr 10.1.0.2
    0xc0, 0x00, 0x02, 0x0a, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x02,
};
// clang-format on

ConnRecord tcp_template() {
    ConnRecord r = tcp_nat(ip4(192, 0, 2, 10), 0, ip4(10, 1, 0, 2), 0, 300);
    r.flags = kFwdMasq | kFlagTemplate;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Golden 3: an FTP control connection with sequence adjustments (record length 62), then a plain
// one: the sender puts 2 zero bytes BEFORE the second record, counted in the message size but
// not in either record's ver_size.
// clang-format off
const Bytes kSeqPadded = {
    // struct ip_vs_sync_mesg: reserved 0, syncid 7, size 108, nr_conns 2, version 1, spare 0
    0x00, 0x07, 0x00, 0x6c, 0x02, 0x01, 0x00, 0x00,
    // struct ip_vs_sync_v4 #1: type 0, protocol TCP, ver_size 62 (36 + option 2 + 24)
    0x00, 0x06, 0x00, 0x3e,
    // flags: IP_VS_CONN_F_IN_SEQ | IP_VS_CONN_F_OUT_SEQ | IP_VS_CONN_F_MASQ
    0x00, 0x00, 0x06, 0x00,
    // state ESTABLISHED, cport 40002
    0x00, 0x01, 0x9c, 0x42,
    // vport 21, dport 21
    0x00, 0x15, 0x00, 0x15,
    // fwmark 0, timeout 900
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x84,
    // caddr 192.0.2.12, vaddr 198.51.100.1, daddr 10.1.0.2
    0xc0, 0x00, 0x02, 0x0c, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x02,
    // option: type IPVS_OPT_SEQ_DATA (1), length 24 = sizeof(struct ip_vs_sync_conn_options)
    0x01, 0x18,
    // in_seq (struct ip_vs_seq, be32 each): init_seq 0x11223344, delta 5, previous_delta 0
    0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,
    // out_seq: init_seq 0x55667788, delta -5, previous_delta 3
    0x55, 0x66, 0x77, 0x88, 0xff, 0xff, 0xff, 0xfb, 0x00, 0x00, 0x00, 0x03,
    // padding: offset 70 -> 72
    0x00, 0x00,
    // struct ip_vs_sync_v4 #2: type 0, TCP, ver_size 36, flags MASQ, ESTABLISHED, cport 40003
    0x00, 0x06, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x9c, 0x43,
    // vport 21, dport 21, fwmark 0, timeout 900
    0x00, 0x15, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x84,
    // caddr 192.0.2.13, vaddr 198.51.100.1, daddr 10.1.0.2
    0xc0, 0x00, 0x02, 0x0d, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x02,
};
// clang-format on

std::vector<ConnRecord> seq_padded() {
    ConnRecord a = tcp_nat(ip4(192, 0, 2, 12), 40002, ip4(10, 1, 0, 2), kTcpEstablished, 900);
    a.vport = htons(21);
    a.dport = htons(21);
    a.flags |= kFlagInSeq | kFlagOutSeq;
    a.has_seq = true;
    a.in_seq = {0x11223344, 5, 0};
    a.out_seq = {0x55667788, 0xfffffffb, 3};
    ConnRecord b = tcp_nat(ip4(192, 0, 2, 13), 40003, ip4(10, 1, 0, 2), kTcpEstablished, 900);
    b.vport = htons(21);
    b.dport = htons(21);
    return {a, b};
}

// ---------------------------------------------------------------------------------------------
// Golden 4: an IPv6 UDP connection, direct routing, with a firewall mark.
// clang-format off
const Bytes kV6 = {
    // struct ip_vs_sync_mesg: reserved 0, syncid 7, size 80, nr_conns 1, version 1, spare 0
    0x00, 0x07, 0x00, 0x50, 0x01, 0x01, 0x00, 0x00,
    // struct ip_vs_sync_v6: type 1 (STYPE_F_INET6), protocol 17 (UDP), ver_size 72
    0x01, 0x11, 0x00, 0x48,
    // flags: IP_VS_CONN_F_DROUTE
    0x00, 0x00, 0x00, 0x03,
    // state IP_VS_UDP_S_NORMAL (0), cport 53000
    0x00, 0x00, 0xcf, 0x08,
    // vport 53, dport 53
    0x00, 0x35, 0x00, 0x35,
    // fwmark 42, timeout 300
    0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x01, 0x2c,
    // caddr 2001:db8::10
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
    // vaddr 2001:db8:1::1
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    // daddr 2001:db8:2::2
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
};
// clang-format on

ConnRecord udp_v6() {
    ConnRecord r;
    r.v6 = true;
    r.protocol = kProtoUdp;
    r.flags = kFwdDroute;
    r.cport = htons(53000);
    r.vport = htons(53);
    r.dport = htons(53);
    r.fwmark = 42;
    r.timeout = 300;
    r.caddr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    r.vaddr = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    r.daddr = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
    return r;
}

// ---------------------------------------------------------------------------------------------
// Golden 5: a SIP persistence template carrying the persistence engine's data (a Call-ID) and
// name (record length 57), then a UDP connection after 3 bytes of padding.
// clang-format off
const Bytes kPeSip = {
    // struct ip_vs_sync_mesg: reserved 0, syncid 7, size 104, nr_conns 2, version 1, spare 0
    0x00, 0x07, 0x00, 0x68, 0x02, 0x01, 0x00, 0x00,
    // struct ip_vs_sync_v4 #1: type 0, protocol UDP, ver_size 57 (36 + 2 + 14 + 2 + 3)
    0x00, 0x11, 0x00, 0x39,
    // flags: IP_VS_CONN_F_TEMPLATE | IP_VS_CONN_F_MASQ
    0x00, 0x00, 0x10, 0x00,
    // state 0, cport 0
    0x00, 0x00, 0x00, 0x00,
    // vport 5060, dport 5060
    0x13, 0xc4, 0x13, 0xc4,
    // fwmark 0, timeout 360
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x68,
    // caddr 192.0.2.20, vaddr 198.51.100.2, daddr 10.1.0.5
    0xc0, 0x00, 0x02, 0x14, 0xc6, 0x33, 0x64, 0x02, 0x0a, 0x01, 0x00, 0x05,
    // option IPVS_OPT_PE_DATA (2), length 14: "a84b4c76e66710"
    0x02, 0x0e, 'a', '8', '4', 'b', '4', 'c', '7', '6', 'e', '6', '6', '7', '1', '0',
    // option IPVS_OPT_PE_NAME (3), length 3: "sip" (no NUL)
    0x03, 0x03, 's', 'i', 'p',
    // padding: offset 65 -> 68
    0x00, 0x00, 0x00,
    // struct ip_vs_sync_v4 #2: type 0, UDP, ver_size 36, flags MASQ, state 0, cport 5060
    0x00, 0x11, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0xc4,
    // vport 5060, dport 5060, fwmark 0, timeout 300
    0x13, 0xc4, 0x13, 0xc4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2c,
    // caddr 192.0.2.20, vaddr 198.51.100.2, daddr 10.1.0.5
    0xc0, 0x00, 0x02, 0x14, 0xc6, 0x33, 0x64, 0x02, 0x0a, 0x01, 0x00, 0x05,
};
// clang-format on

std::vector<ConnRecord> pe_sip() {
    ConnRecord t;
    t.protocol = kProtoUdp;
    t.flags = kFwdMasq | kFlagTemplate;
    t.vport = htons(5060);
    t.dport = htons(5060);
    t.timeout = 360;
    t.set_v4(ip4(192, 0, 2, 20), ip4(198, 51, 100, 2), ip4(10, 1, 0, 5));
    constexpr std::string_view kCallId = "a84b4c76e66710";
    t.pe_data_len = kCallId.size();
    std::memcpy(t.pe_data.data(), kCallId.data(), kCallId.size());
    t.pe_name_len = 3;
    std::memcpy(t.pe_name.data(), "sip", 3);
    ConnRecord c = t;
    c.flags = kFwdMasq;
    c.cport = htons(5060);
    c.timeout = 300;
    c.pe_data_len = 0;
    c.pe_data = {};
    c.pe_name_len = 0;
    c.pe_name = {};
    return {t, c};
}

// ---------------------------------------------------------------------------------------------
// Golden 6: a version-0 message: two TCP connections, the second with its sequence block.
// clang-format off
const Bytes kV0 = {
    // struct ip_vs_sync_mesg_v0: nr_conns 2, syncid 7, size be16 76
    0x02, 0x07, 0x00, 0x4c,
    // struct ip_vs_sync_conn_v0 #1: reserved 0, protocol TCP, cport 40000, vport 80, dport 8080
    0x00, 0x06, 0x9c, 0x40, 0x00, 0x50, 0x1f, 0x90,
    // caddr 192.0.2.10, vaddr 198.51.100.1, daddr 10.1.0.2
    0xc0, 0x00, 0x02, 0x0a, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x02,
    // flags be16 MASQ, state be16 ESTABLISHED
    0x00, 0x00, 0x00, 0x01,
    // struct ip_vs_sync_conn_v0 #2: reserved 0, TCP, cport 40002, vport 21, dport 21
    0x00, 0x06, 0x9c, 0x42, 0x00, 0x15, 0x00, 0x15,
    // caddr 192.0.2.12, vaddr 198.51.100.1, daddr 10.1.0.2
    0xc0, 0x00, 0x02, 0x0c, 0xc6, 0x33, 0x64, 0x01, 0x0a, 0x01, 0x00, 0x02,
    // flags be16 IN_SEQ | OUT_SEQ, state ESTABLISHED
    0x06, 0x00, 0x00, 0x01,
    // struct ip_vs_sync_conn_options, copied from the sender's memory (v0 does not convert it):
    // in_seq and out_seq as a little-endian sender holds them
    0x44, 0x33, 0x22, 0x11, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x88, 0x77, 0x66, 0x55, 0xfb, 0xff, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00,
};
// clang-format on

std::vector<ConnRecord> v0_records() {
    std::vector<ConnRecord> v = seq_padded();
    ConnRecord a = two_tcp_nat()[0];
    a.timeout = 0;  // v0 carries no timeout: the backup uses the protocol's
    ConnRecord b = v[0];
    b.timeout = 0;
    return {a, b};
}

// ---------------------------------------------------------------------------------------------

TEST(SyncWireEncode, TwoTcpNatMatchesGolden) {
    EXPECT_EQ(build(two_tcp_nat()), kTwoTcpNat);
}

TEST(SyncWireEncode, TemplateMatchesGolden) {
    EXPECT_EQ(build({tcp_template()}), kTemplate);
}

TEST(SyncWireEncode, SeqOptionAndPaddingMatchGolden) {
    EXPECT_EQ(build(seq_padded()), kSeqPadded);
}

TEST(SyncWireEncode, V6MatchesGolden) {
    EXPECT_EQ(build({udp_v6()}), kV6);
}

TEST(SyncWireEncode, PeDataAndNameMatchGolden) {
    EXPECT_EQ(build(pe_sip()), kPeSip);
}

TEST(SyncWireEncode, SyncFlagIsSentAndHashedIsNot) {
    // The kernel sends cp->flags without HASHED; SYNC stays if the connection has it.
    ConnRecord r = two_tcp_nat()[0];
    r.flags = kFwdMasq | kFlagHashed;
    Bytes want = kTwoTcpNat;
    want[3] = 0x2c;
    want[4] = 1;
    want.resize(kHeaderSize + kRecordSizeV4);
    EXPECT_EQ(build({r}), want);
}

TEST(SyncWireEncode, SeqDataFollowsTheFlagsNotHasSeq) {
    std::vector<ConnRecord> v = seq_padded();
    v[0].has_seq = false;  // ignored when encoding
    EXPECT_EQ(build(v), kSeqPadded);
    v[1].has_seq = true;  // no seq flag: no option
    v[1].in_seq = {1, 2, 3};
    EXPECT_EQ(build(v), kSeqPadded);
}

TEST(SyncWireEncode, PeNameOnlyWithPeData) {
    ConnRecord r = two_tcp_nat()[0];
    r.pe_name_len = 3;
    std::memcpy(r.pe_name.data(), "sip", 3);
    r.pe_data_len = 0;
    Bytes want = kTwoTcpNat;
    want[3] = 0x2c;
    want[4] = 1;
    want.resize(kHeaderSize + kRecordSizeV4);
    EXPECT_EQ(build({r}), want);
}

TEST(SyncWireEncode, PaddingIsZeroOnAReusedBuffer) {
    MessageBuilder b(7, kMaxMessage);
    // Fill the bytes where padding will go with non-zero data first.
    ConnRecord junk = udp_v6();
    junk.fwmark = 0xffffffff;
    junk.timeout = 0xffffffff;
    junk.caddr.fill(0xff);
    junk.vaddr.fill(0xff);
    junk.daddr.fill(0xff);
    ASSERT_TRUE(b.add(junk));
    ASSERT_TRUE(b.add(junk));
    b.reset();
    for (const ConnRecord& r : seq_padded()) {
        ASSERT_TRUE(b.add(r));
    }
    const auto m = b.finish();
    EXPECT_EQ(Bytes(m.begin(), m.end()), kSeqPadded);
    b.reset();
    for (const ConnRecord& r : pe_sip()) {
        ASSERT_TRUE(b.add(r));
    }
    const auto m2 = b.finish();
    EXPECT_EQ(Bytes(m2.begin(), m2.end()), kPeSip);
}

TEST(SyncWireEncode, SyncidAndEmptyMessage) {
    MessageBuilder b(3, 1500);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.size(), kHeaderSize);
    b.set_syncid(7);
    const auto m = b.finish();
    EXPECT_EQ(Bytes(m.begin(), m.end()), (Bytes{0x00, 0x07, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00}));
    const Decoded d = decode_all(Bytes(m.begin(), m.end()), 7);
    EXPECT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.calls, 0u);
}

// ---------------------------------------------------------------------------------------------

TEST(SyncWireDecode, TwoTcpNat) {
    const Decoded d = decode_all(kTwoTcpNat, 7);
    ASSERT_EQ(d.err, DecodeError::None);
    ASSERT_EQ(d.recs.size(), 2u);
    EXPECT_EQ(d.recs, received(two_tcp_nat()));
    EXPECT_FALSE(d.recs[0].v6);
    EXPECT_EQ(d.recs[0].caddr4(), ip4(192, 0, 2, 10));
    EXPECT_EQ(d.recs[0].vaddr4(), ip4(198, 51, 100, 1));
    EXPECT_EQ(d.recs[0].daddr4(), ip4(10, 1, 0, 2));
    EXPECT_EQ(ntohs(d.recs[0].cport), 40000);
    EXPECT_EQ(d.recs[0].state, kTcpEstablished);
    EXPECT_EQ(d.recs[0].timeout, 900u);
    EXPECT_EQ(d.recs[1].flags, kFwdMasq | kFlagInactive | kFlagSync);
    EXPECT_EQ(d.recs[1].state, kTcpSynRecv);
}

TEST(SyncWireDecode, Template) {
    const Decoded d = decode_all(kTemplate);
    ASSERT_EQ(d.err, DecodeError::None);
    ASSERT_EQ(d.recs.size(), 1u);
    EXPECT_EQ(d.recs[0], received(tcp_template()));
    EXPECT_EQ(d.recs[0].cport, 0);
    EXPECT_EQ(d.recs[0].timeout, 300u);
}

TEST(SyncWireDecode, SeqOptionAndPadding) {
    const Decoded d = decode_all(kSeqPadded);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs, received(seq_padded()));
    EXPECT_TRUE(d.recs[0].has_seq);
    EXPECT_EQ(d.recs[0].out_seq.delta, 0xfffffffbu);
    EXPECT_FALSE(d.recs[1].has_seq);
}

TEST(SyncWireDecode, V6) {
    const Decoded d = decode_all(kV6);
    ASSERT_EQ(d.err, DecodeError::None);
    ASSERT_EQ(d.recs.size(), 1u);
    EXPECT_EQ(d.recs[0], received(udp_v6()));
    EXPECT_TRUE(d.recs[0].v6);
    EXPECT_EQ(d.recs[0].fwmark, 42u);
}

TEST(SyncWireDecode, PeDataAndName) {
    const Decoded d = decode_all(kPeSip);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs, received(pe_sip()));
    EXPECT_EQ(d.recs[0].pe_name_view(), "sip");
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(d.recs[0].pe_data.data()),
                               d.recs[0].pe_data_len),
              "a84b4c76e66710");
}

TEST(SyncWireDecode, V0) {
    const Decoded d = decode_all(kV0, 7);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs, received(v0_records()));
    EXPECT_EQ(d.recs[1].in_seq.init_seq, 0x11223344u);
}

TEST(SyncWireDecode, FlagsAsABackupKeepsThem) {
    // v1: only IP_VS_CONN_F_BACKUP_MASK survives, plus SYNC.
    Bytes m = kTemplate;
    m[12] = 0xff;  // bits 24-31: not sent by the kernel, dropped
    m[13] = 0x01;  // bit 16 (NFCT): dropped
    m[14] = 0x3f;  // ONE_PACKET, TEMPLATE, NO_CPORT, IN_SEQ, OUT_SEQ, INACTIVE
    m[15] = 0xe7;  // NOOUTPUT, HASHED, SYNC, fwd 7
    // With IN/OUT_SEQ set but no seq option, no sequence data is delivered.
    const Decoded d = decode_all(m);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs[0].flags, kBackupFlagsMask | kFlagSync);
    EXPECT_FALSE(d.recs[0].has_seq);
    // v0: all 16 bits but HASHED, plus SYNC.
    Bytes v0 = kV0;
    v0[24] = 0x20;  // ONE_PACKET
    v0[25] = 0x40;  // HASHED
    const Decoded d0 = decode_all(v0);
    ASSERT_EQ(d0.err, DecodeError::None);
    EXPECT_EQ(d0.recs[0].flags, kFlagOnePacket | kFlagSync);
}

TEST(SyncWireDecode, SyncidFilter) {
    EXPECT_EQ(decode_all(kTwoTcpNat, 0).err, DecodeError::None);
    EXPECT_EQ(decode_all(kTwoTcpNat, 7).err, DecodeError::None);
    const Decoded d = decode_all(kTwoTcpNat, 8);
    EXPECT_EQ(d.err, DecodeError::ForeignSyncid);
    EXPECT_EQ(d.calls, 0u);
    EXPECT_EQ(decode_all(kV0, 8).err, DecodeError::ForeignSyncid);
}

TEST(SyncWireDecode, OptionalUnknownOptionIsSkipped) {
    // Append an option of type 0x44 (unknown, optional bit set) to the template's record.
    Bytes m = kTemplate;
    m.insert(m.end(), {0x44, 0x02, 0xaa, 0xbb});
    m[3] = static_cast<uint8_t>(m.size());
    m[11] = 40;  // ver_size
    const Decoded d = decode_all(m);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs[0], received(tcp_template()));
    // The optional bit on a known type: 0x41 is sequence data.
    Bytes s = kSeqPadded;
    s[44] = 0x41;
    const Decoded ds = decode_all(s);
    ASSERT_EQ(ds.err, DecodeError::None);
    EXPECT_EQ(ds.recs, received(seq_padded()));
}

TEST(SyncWireDecode, PeNameWithoutPeDataIsIgnored) {
    Bytes m = kTemplate;
    m.insert(m.end(), {0x03, 0x03, 's', 'i', 'p'});
    m[3] = static_cast<uint8_t>(m.size());
    m[11] = 41;
    const Decoded d = decode_all(m);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs[0], received(tcp_template()));
}

TEST(SyncWireDecode, TemplatesSkipTheProtocolAndStateChecks) {
    Bytes m = kTemplate;
    m[9] = 0;     // protocol 0 (a fwmark service's template)
    m[17] = 200;  // state
    const Decoded d = decode_all(m);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs[0].protocol, 0);
    EXPECT_EQ(d.recs[0].state, 200);
}

TEST(SyncWireDecode, AnyOddTypeIsIpv6AndTrailingBytesAreIgnored) {
    Bytes m = kV6;
    m[8] = 0x03;
    m.push_back(0xee);  // after the last record: the kernel never looks there
    m[3] = static_cast<uint8_t>(m.size());
    const Decoded d = decode_all(m);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs[0], received(udp_v6()));
}

TEST(SyncWireDecode, StateRanges) {
    Bytes m = kTemplate;
    m[14] = 0;  // a connection, not a template
    m[17] = kTcpSynAck;
    EXPECT_EQ(decode_all(m).err, DecodeError::None);
    m[9] = kProtoSctp;
    m[17] = 13;  // IP_VS_SCTP_S_CLOSED, the last of the kernel's 14 SCTP states
    EXPECT_EQ(decode_all(m).err, DecodeError::None);
    m[17] = 14;
    EXPECT_EQ(decode_all(m).err, DecodeError::BadState);
    m[9] = kProtoUdp;
    m[17] = 0;
    EXPECT_EQ(decode_all(m).err, DecodeError::None);
    m[17] = 1;
    EXPECT_EQ(decode_all(m).err, DecodeError::BadState);
    m[9] = kProtoEsp;
    m[17] = 0;
    EXPECT_EQ(decode_all(m).err, DecodeError::None);
    m[9] = 1;  // ICMP: no IPVS protocol
    EXPECT_EQ(decode_all(m).err, DecodeError::BadProtocol);
}

// ---------------------------------------------------------------------------------------------
// Malformed messages: each returns its error and delivers no record at all.

void expect_refused(const Bytes& m, DecodeError want, const char* what) {
    const Decoded d = decode_all(m);
    EXPECT_EQ(d.err, want) << what << ": got " << error_name(d.err);
    EXPECT_EQ(d.calls, 0u) << what;
}

TEST(SyncWireMalformed, TruncatedAtEveryLength) {
    for (const Bytes* g : {&kTwoTcpNat, &kTemplate, &kSeqPadded, &kV6, &kPeSip, &kV0}) {
        for (size_t len = 0; len < g->size(); ++len) {
            Bytes m(g->begin(), g->begin() + static_cast<std::ptrdiff_t>(len));
            // As received: the size field no longer matches.
            expect_refused(m, len < 4 ? DecodeError::TooShort : DecodeError::BadSize, "cut");
            // With the size field patched to the cut length: the records no longer fit.
            if (len >= 4) {
                m[2] = static_cast<uint8_t>(len >> 8);
                m[3] = static_cast<uint8_t>(len);
                const DecodeError want = (*g)[0] == 0 && len < kHeaderSize ? DecodeError::TooShort
                                                                           : DecodeError::BadRecord;
                expect_refused(m, want, "cut with size patched");
            }
        }
    }
}

TEST(SyncWireMalformed, SizeMismatch) {
    Bytes m = kTwoTcpNat;
    m[3] += 1;
    expect_refused(m, DecodeError::BadSize, "size + 1");
    m = kTwoTcpNat;
    m.push_back(0);
    expect_refused(m, DecodeError::BadSize, "one byte more than size");
}

TEST(SyncWireMalformed, HeaderFields) {
    Bytes m = kTwoTcpNat;
    m[5] = 2;
    expect_refused(m, DecodeError::BadVersion, "version 2");
    m[5] = 0;
    expect_refused(m, DecodeError::BadVersion, "version 0 with a v1 layout");
    m = kTwoTcpNat;
    m[0] = 1;
    expect_refused(m, DecodeError::BadReserved, "reserved 1");
    m = kTwoTcpNat;
    m[7] = 1;
    expect_refused(m, DecodeError::BadReserved, "spare 1");
}

TEST(SyncWireMalformed, RecordBounds) {
    Bytes m = kTwoTcpNat;
    m[47] = 40;  // second record claims 40 bytes, 36 left
    expect_refused(m, DecodeError::BadRecord, "record length beyond buffer");
    m = kTwoTcpNat;
    m[10] = 0x0f;
    m[11] = 0xff;
    expect_refused(m, DecodeError::BadRecord, "record length 4095");
    m = kTwoTcpNat;
    m[11] = 32;  // shorter than struct ip_vs_sync_v4
    expect_refused(m, DecodeError::BadRecord, "record shorter than its fixed part");
    m = kTwoTcpNat;
    m[4] = 3;  // a third record that is not there
    expect_refused(m, DecodeError::BadRecord, "more records than bytes");
    m = kV6;
    m[8] = 0;  // an IPv6-sized record read as IPv4: 36 bytes of options that are not options
    expect_refused(m, DecodeError::BadOption, "v6 record typed v4");
    m = kTwoTcpNat;
    m[8] = 2;
    expect_refused(m, DecodeError::BadRecord, "record type 2");
    m = kTwoTcpNat;
    m[8] = 1;  // IPv4-sized record read as IPv6
    expect_refused(m, DecodeError::BadRecord, "v4 record typed v6");
}

TEST(SyncWireMalformed, RecordVersion) {
    Bytes m = kTwoTcpNat;
    m[46] = 0x10;  // second record: version 1
    expect_refused(m, DecodeError::BadRecordVersion, "record version 1");
}

TEST(SyncWireMalformed, Options) {
    Bytes m = kSeqPadded;
    m[45] = 23;  // seq option of 23 bytes (the record still ends where it did)
    expect_refused(m, DecodeError::BadOption, "seq option length 23");
    m = kSeqPadded;
    m[45] = 25;  // runs past the record
    expect_refused(m, DecodeError::BadOption, "seq option past the record");

    // Option header truncated, zero length.
    Bytes t = kTemplate;
    t.push_back(0x44);
    t[3] = static_cast<uint8_t>(t.size());
    t[11] = 37;
    expect_refused(t, DecodeError::BadOption, "one byte of option header");
    t.push_back(0x00);
    t[3] = static_cast<uint8_t>(t.size());
    t[11] = 38;
    expect_refused(t, DecodeError::BadOption, "option length 0");

    // PE name longer than IP_VS_PENAME_MAXLEN.
    Bytes n = kTemplate;
    n.insert(n.end(), {kOptPeName, 17});
    n.insert(n.end(), 17, 'x');
    n[3] = static_cast<uint8_t>(n.size());
    n[11] = 36 + 2 + 17;
    expect_refused(n, DecodeError::BadOption, "PE name of 17 bytes");
}

TEST(SyncWireMalformed, DuplicateOptions) {
    // Turning the PE data option (14 bytes) into a second name: the name appears twice.
    Bytes m = kPeSip;
    m[44] = kOptPeName;
    expect_refused(m, DecodeError::DuplicateOption, "PE name twice");
    // The other way round: data twice, then no name.
    m = kPeSip;
    m[60] = kOptPeData;
    expect_refused(m, DecodeError::DuplicateOption, "PE data twice");
    // Sequence data twice.
    Bytes s(kSeqPadded.begin(), kSeqPadded.begin() + 70);
    s.insert(s.end(), kSeqPadded.begin() + 44, kSeqPadded.begin() + 70);
    s[3] = static_cast<uint8_t>(s.size());
    s[4] = 1;
    s[11] = 88;
    expect_refused(s, DecodeError::DuplicateOption, "seq data twice");
}

TEST(SyncWireMalformed, UnknownMandatoryOptionAndMissingPeName) {
    Bytes m = kTemplate;
    m.insert(m.end(), {0x04, 0x02, 0xaa, 0xbb});
    m[3] = static_cast<uint8_t>(m.size());
    m[11] = 40;
    expect_refused(m, DecodeError::UnknownOption, "option type 4");
    Bytes p = kPeSip;
    p[60] = 0x44;  // the name becomes an unknown optional option: data without a name
    expect_refused(p, DecodeError::MissingPeName, "PE data without name");
}

TEST(SyncWireMalformed, TcpStateOutOfRange) {
    for (uint8_t state : {11, 12, 255}) {
        Bytes m = kTwoTcpNat;
        m[53] = state;  // the SECOND record: the first must not be delivered either
        expect_refused(m, DecodeError::BadState, "TCP state");
    }
    Bytes m = kTwoTcpNat;
    m[52] = 0x01;  // state 256 + 3
    expect_refused(m, DecodeError::BadState, "TCP state 259");
    m = kTwoTcpNat;
    m[45] = 1;  // second record: ICMP
    expect_refused(m, DecodeError::BadProtocol, "protocol 1");
}

TEST(SyncWireMalformed, ForeignSyncid) {
    for (const Bytes* g : {&kTwoTcpNat, &kPeSip, &kV0}) {
        const Decoded d = decode_all(*g, 9);
        EXPECT_EQ(d.err, DecodeError::ForeignSyncid);
        EXPECT_EQ(d.calls, 0u);
    }
}

TEST(SyncWireMalformed, V0) {
    Bytes m = kV0;
    m[0] = 3;
    expect_refused(m, DecodeError::BadRecord, "v0: three records announced, two sent");
    m = kV0;
    m.resize(52);  // the second record without its sequence block
    m[3] = 52;
    expect_refused(m, DecodeError::BadRecord, "v0: seq flags without the seq block");
    m = kV0;
    m[27] = 11;
    expect_refused(m, DecodeError::BadState, "v0: TCP state 11");
    m = kV0;
    m[5] = 47;  // GRE
    expect_refused(m, DecodeError::BadProtocol, "v0: protocol 47");
}

TEST(SyncWireMalformed, TooShort) {
    expect_refused({}, DecodeError::TooShort, "empty");
    expect_refused({0x00, 0x07, 0x00}, DecodeError::TooShort, "3 bytes");
    expect_refused({0x00, 0x07, 0x00, 0x04}, DecodeError::TooShort, "v1 header cut at 4");
}

TEST(SyncWireDecode, ErrorNames) {
    EXPECT_EQ(error_name(DecodeError::None), "none");
    EXPECT_EQ(error_name(DecodeError::ForeignSyncid), "foreign_syncid");
    EXPECT_EQ(error_name(DecodeError::BadState), "bad_state");
    for (size_t i = 0; i < kDecodeErrorCount; ++i) {
        EXPECT_FALSE(error_name(static_cast<DecodeError>(i)).empty());
        EXPECT_NE(error_name(static_cast<DecodeError>(i)), "unknown");
    }
}

// ---------------------------------------------------------------------------------------------

TEST(SyncWireRoundTrip, EveryGoldenRecord) {
    std::vector<ConnRecord> all;
    for (const auto& v : {two_tcp_nat(), seq_padded(), pe_sip()}) {
        all.insert(all.end(), v.begin(), v.end());
    }
    all.push_back(tcp_template());
    all.push_back(udp_v6());
    const Bytes m = build(all);
    const Decoded d = decode_all(m, 7);
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs, received(all));
    // Building what was received gives the same bytes but for the SYNC flag, and decodes to the
    // same records.
    const Bytes again = build(d.recs);
    EXPECT_EQ(again, build(received(all)));
    EXPECT_EQ(decode_all(again).recs, d.recs);
}

TEST(SyncWireRoundTrip, V0DecodesToWhatV1Carries) {
    const Decoded d = decode_all(kV0);
    ASSERT_EQ(d.err, DecodeError::None);
    const Decoded again = decode_all(build(d.recs));
    ASSERT_EQ(again.err, DecodeError::None);
    EXPECT_EQ(again.recs, d.recs);
}

TEST(SyncWireRoundTrip, LongestRecord) {
    ConnRecord r = udp_v6();
    r.flags |= kFlagTemplate | kFlagInSeq;
    r.has_seq = true;
    r.in_seq = {1, 2, 3};
    r.pe_data_len = 255;
    for (size_t i = 0; i < 255; ++i) {
        r.pe_data[i] = static_cast<uint8_t>(i);
    }
    r.pe_name_len = kMaxPeNameLen;
    std::memcpy(r.pe_name.data(), "0123456789abcdef", 16);
    MessageBuilder b(7, 0);  // clamped up to kMinMaxlen: exactly this record
    EXPECT_EQ(b.maxlen(), kMinMaxlen);
    ASSERT_TRUE(b.add(r));
    EXPECT_EQ(b.size(), kMinMaxlen);
    const auto m = b.finish();
    const Decoded d = decode_all(Bytes(m.begin(), m.end()));
    ASSERT_EQ(d.err, DecodeError::None);
    ASSERT_EQ(d.recs.size(), 1u);
    EXPECT_EQ(d.recs[0], received(r));
}

// ---------------------------------------------------------------------------------------------

TEST(SyncWireBuilder, MaxlenIsClamped) {
    EXPECT_EQ(MessageBuilder(0, 0).maxlen(), kMinMaxlen);
    EXPECT_EQ(MessageBuilder(0, 1500).maxlen(), 1500u);
    EXPECT_EQ(MessageBuilder(0, 1 << 20).maxlen(), kMaxMessage);
    MessageBuilder b(0, 1500);
    b.set_maxlen(70000);
    EXPECT_EQ(b.maxlen(), kMaxMessage);
}

TEST(SyncWireBuilder, FillsToMaxlenAndRefusesBeyond) {
    // 1472 = a 1500-byte MTU minus IPv4 and UDP headers, the kernel's default sync_maxlen.
    MessageBuilder b(7, 1472);
    const ConnRecord r = two_tcp_nat()[0];
    size_t n = 0;
    while (b.add(r)) {
        ++n;
    }
    EXPECT_EQ(n, (1472 - kHeaderSize) / kRecordSizeV4);  // 40
    EXPECT_EQ(b.size(), kHeaderSize + n * kRecordSizeV4);
    EXPECT_EQ(b.count(), n);
    // A refused add leaves the message as it was.
    const size_t before = b.size();
    EXPECT_FALSE(b.add(seq_padded()[0]));
    EXPECT_EQ(b.size(), before);
    EXPECT_EQ(b.count(), n);
    const auto m = b.finish();
    EXPECT_EQ(m.size(), before);
    const Decoded d = decode_all(Bytes(m.begin(), m.end()));
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs.size(), n);
    // After reset the refused record goes in.
    b.reset();
    EXPECT_TRUE(b.empty());
    EXPECT_TRUE(b.add(seq_padded()[0]));
}

TEST(SyncWireBuilder, PaddingCountsAgainstMaxlen) {
    // A 62-byte record then a 36-byte one need 8 + 62 + 2 + 36 = 108 bytes, not 106.
    const std::vector<ConnRecord> v = seq_padded();
    MessageBuilder b(7, 0);
    b.set_maxlen(0);
    ASSERT_EQ(b.maxlen(), kMinMaxlen);
    // Leave exactly 36 bytes free behind a record ending 1 past a boundary: the 36-byte record
    // would fit, but not with the 3 bytes of padding before it.
    ASSERT_TRUE(b.add(v[0]));   // ends at 70
    ConnRecord big = udp_v6();  // starts at 72: 72 + 2 + data bytes
    big.pe_data_len = static_cast<uint8_t>(kMinMaxlen - 36 - 72 - 72 - 2);
    big.pe_name_len = 1;
    big.pe_name[0] = 'x';
    big.pe_data_len -= 3;  // the name option takes 3
    ASSERT_TRUE(b.add(big));
    ASSERT_EQ(b.size(), kMinMaxlen - 36);
    ASSERT_EQ(b.size() % 4, 1u);
    EXPECT_FALSE(b.add(v[1]));
    EXPECT_EQ(b.count(), 2);
}

TEST(SyncWireBuilder, At255Records) {
    MessageBuilder b(7, kMaxMessage);
    const ConnRecord r = two_tcp_nat()[0];
    for (size_t i = 0; i < kMaxConnsPerMessage; ++i) {
        ASSERT_TRUE(b.add(r)) << i;
    }
    EXPECT_EQ(b.count(), 255);
    EXPECT_FALSE(b.add(r));
    const auto m = b.finish();
    EXPECT_EQ(m[4], 255);
    const Decoded d = decode_all(Bytes(m.begin(), m.end()));
    ASSERT_EQ(d.err, DecodeError::None);
    EXPECT_EQ(d.recs.size(), 255u);
    b.reset();
    EXPECT_TRUE(b.add(r));
    EXPECT_EQ(b.count(), 1);
}

}  // namespace
