// SPDX-License-Identifier: BSD-3-Clause
// SCTP without EAL: CRC32c against published vectors (RFC 3720 B.4, the "123456789" check value),
// the crc32-instruction path against its scalar twin, the checksum's byte order, and parsing and
// NAT rewriting of SCTP frames.

#include "dataplane/sctp.hpp"

#include <random>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/packet.hpp"
#include "tests/dataplane/packet_builder.hpp"

namespace dirigo::dp {
namespace {

using test::Chunk;
using test::Frame;
using test::ip;
using test::Mac;

const Mac kA = {2, 0, 0, 0, 0, 1};
const Mac kB = {2, 0, 0, 0, 0, 2};

TEST(Crc32c, PublishedVectors) {
    std::array<uint8_t, 32> buf{};
    // RFC 3720 appendix B.4 (iSCSI uses the same CRC32c as SCTP).
    EXPECT_EQ(crc32c_sw(buf.data(), 32), 0x8a9136aau);
    buf.fill(0xff);
    EXPECT_EQ(crc32c_sw(buf.data(), 32), 0x62a8ab43u);
    for (uint8_t i = 0; i < 32; ++i) {
        buf[i] = i;
    }
    EXPECT_EQ(crc32c_sw(buf.data(), 32), 0x46dd794eu);
    for (uint8_t i = 0; i < 32; ++i) {
        buf[i] = static_cast<uint8_t>(31 - i);
    }
    EXPECT_EQ(crc32c_sw(buf.data(), 32), 0x113fdb5cu);
    // The CRC catalogue's check value for CRC-32/ISCSI.
    constexpr std::string_view kCheck = "123456789";
    EXPECT_EQ(crc32c_sw(reinterpret_cast<const uint8_t*>(kCheck.data()), 9), 0xe3069283u);
}

TEST(Crc32c, SctpChecksumOfRfc3720ZerosIsStoredLittleEndian) {
    // A 32-byte SCTP packet of zeros: its checksum is RFC 3720's zeros vector, and the field holds
    // it least significant byte first (the bytes aa 36 91 8a that B.4 shows).
    std::array<uint8_t, 32> pkt{};
    EXPECT_EQ(sctp_crc32c(pkt.data(), 32), 0x8a9136aau);
    EXPECT_EQ(sctp_crc32c_sw(pkt.data(), 32), 0x8a9136aau);
    sctp_set_checksum(pkt.data(), 32);
    EXPECT_EQ(pkt[8], 0xaa);
    EXPECT_EQ(pkt[9], 0x36);
    EXPECT_EQ(pkt[10], 0x91);
    EXPECT_EQ(pkt[11], 0x8a);
    EXPECT_TRUE(sctp_checksum_ok(pkt.data(), 32));
    // The stored field does not feed the computation.
    EXPECT_EQ(sctp_crc32c(pkt.data(), 32), 0x8a9136aau);
    pkt[20] ^= 1;
    EXPECT_FALSE(sctp_checksum_ok(pkt.data(), 32));
}

TEST(Crc32c, InstructionPathMatchesScalarTwin) {
#if !defined(__SSE4_2__)
    GTEST_SKIP() << "built without SSE4.2: sctp_crc32c is the scalar twin itself";
#endif
    std::mt19937 rng(7);
    std::vector<uint8_t> pkt(1600);
    for (uint32_t len = 12; len <= 1600; len += 1 + (len / 7)) {
        for (auto& b : pkt) {
            b = static_cast<uint8_t>(rng());
        }
        // Odd offsets too: a packet's SCTP header need not be 8-byte aligned.
        for (uint32_t off : {0u, 1u, 2u, 3u}) {
            if (off + len > pkt.size()) {
                continue;
            }
            const uint8_t* p = pkt.data() + off;
            ASSERT_EQ(sctp_crc32c(p, len), sctp_crc32c_sw(p, len)) << len << " at +" << off;
        }
    }
}

TEST(SctpParse, KeyAndDecidingChunk) {
    Parsed p;
    Frame init = Frame::sctp(kA, kB, ip("1.2.3.4"), 40000, ip("5.6.7.8"), 5000, 0,
                             {{ct::kSctpInit, 0, std::string(16, 'i')}});
    ASSERT_TRUE(init.sctp_crc_ok());
    parse_frame(init.b.data(), static_cast<uint32_t>(init.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Ipv4L4);
    EXPECT_EQ(p.key.proto, IPPROTO_SCTP);
    EXPECT_EQ(p.key.sport, htons(40000));
    EXPECT_EQ(p.key.dport, htons(5000));
    EXPECT_EQ(p.sctp_chunk, ct::kSctpInit);

    // COOKIE ECHO then ABORT: the ABORT decides, as in IPVS's set_sctp_state.
    Frame ce_abort =
        Frame::sctp(kA, kB, ip("1.2.3.4"), 40000, ip("5.6.7.8"), 5000, 7,
                    {{ct::kSctpCookieEcho, 0, std::string(5, 'c')}, {ct::kSctpAbort, 0, ""}});
    parse_frame(ce_abort.b.data(), static_cast<uint32_t>(ce_abort.b.size()), p);
    EXPECT_EQ(p.sctp_chunk, ct::kSctpAbort);
    // COOKIE ECHO then DATA: the COOKIE ECHO decides.
    Frame ce_data = Frame::sctp(kA, kB, ip("1.2.3.4"), 40000, ip("5.6.7.8"), 5000, 7,
                                {{ct::kSctpCookieEcho, 0, "cookie"}, {ct::kSctpData, 3, "d"}});
    parse_frame(ce_data.b.data(), static_cast<uint32_t>(ce_data.b.size()), p);
    EXPECT_EQ(p.sctp_chunk, ct::kSctpCookieEcho);
    // DATA then ABORT: only COOKIE ECHO and COOKIE ACK look further.
    Frame d_abort = Frame::sctp(kA, kB, ip("1.2.3.4"), 40000, ip("5.6.7.8"), 5000, 7,
                                {{ct::kSctpData, 3, "d"}, {ct::kSctpAbort, 0, ""}});
    parse_frame(d_abort.b.data(), static_cast<uint32_t>(d_abort.b.size()), p);
    EXPECT_EQ(p.sctp_chunk, ct::kSctpData);
}

TEST(SctpParse, BoundedReads) {
    Parsed p;
    // A COOKIE ACK whose length points past the packet: no read beyond it, the COOKIE ACK stands.
    Frame f = Frame::sctp(kA, kB, ip("1.2.3.4"), 40000, ip("5.6.7.8"), 5000, 7,
                          {{ct::kSctpCookieAck, 0, ""}});
    uint8_t* chunk = f.b.data() + 34 + 12;
    chunk[2] = 0xff;
    chunk[3] = 0xfc;
    parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Ipv4L4);
    EXPECT_EQ(p.sctp_chunk, ct::kSctpCookieAck);
    // A chunk length below the header's own size is not followed either.
    chunk[2] = 0;
    chunk[3] = 0;
    parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
    EXPECT_EQ(p.sctp_chunk, ct::kSctpCookieAck);
    // Shorter than the common header and one chunk header: a runt.
    for (size_t l4 = 0; l4 < 16; ++l4) {
        Frame t = f;
        const size_t tot = 20 + l4;
        t.b.resize(14 + tot);
        t.b[14 + 2] = static_cast<uint8_t>(tot >> 8);
        t.b[14 + 3] = static_cast<uint8_t>(tot);
        t.b[14 + 10] = 0;
        t.b[14 + 11] = 0;
        const uint16_t c = static_cast<uint16_t>(~test::fold(test::sum16(t.b.data() + 14, 20)));
        t.b[14 + 10] = static_cast<uint8_t>(c >> 8);
        t.b[14 + 11] = static_cast<uint8_t>(c);
        parse_frame(t.b.data(), static_cast<uint32_t>(t.b.size()), p);
        EXPECT_EQ(p.cls, PktClass::Drop) << l4;
        EXPECT_EQ(p.reason, Drop::Runt) << l4;
    }
}

TEST(SctpRewrite, NatRewriteThenCrcIsValid) {
    Parsed p;
    Frame f = Frame::sctp(kA, kB, ip("1.2.3.4"), 40000, ip("10.0.0.100"), 5000, 0x01020304,
                          {{ct::kSctpData, 3, std::string(301, 'x')}});
    parse_frame(f.b.data(), static_cast<uint32_t>(f.b.size()), p);
    ASSERT_EQ(p.cls, PktClass::Ipv4L4);
    rewrite_dst(p.ip, p.l4, ip("172.16.0.11"), htons(5001));
    // The IPv4 header is patched incrementally; the SCTP CRC is left for a full pass.
    EXPECT_EQ(test::fold(test::sum16(f.iph(), 20)), 0xffff);
    EXPECT_FALSE(f.sctp_crc_ok());
    sctp_set_checksum(static_cast<uint8_t*>(p.l4), p.l3_len - 20);
    EXPECT_TRUE(f.sctp_crc_ok());
    EXPECT_EQ(f.daddr(), ip("172.16.0.11"));
    EXPECT_EQ(f.dport(), 5001);
    EXPECT_EQ(f.sctp_vtag(), 0x01020304u);  // the verification tag is the endpoints' own
}

}  // namespace
}  // namespace dirigo::dp
