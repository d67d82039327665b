// SPDX-License-Identifier: BSD-3-Clause
// The sync daemon's conversions of IPv6 connections (no EAL): a worker's SyncRecord6 to the
// kernel's version-1 IPv6 record and back, through the real MessageBuilder and decoder, and
// what a backup refuses to hold for IPv6.
#include "control/sync_daemon.hpp"

#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "conntrack/tcp_state.hpp"

namespace dirigo::ctl {
namespace {

std::array<uint8_t, 16> a6(const char* s) {
    std::array<uint8_t, 16> a{};
    EXPECT_EQ(inet_pton(AF_INET6, s, a.data()), 1) << s;
    return a;
}

dp::SyncRecord6 rec(uint8_t proto, ct::TcpState st, cfg::Fwd fwd, bool inactive) {
    dp::SyncRecord6 r;
    std::memcpy(r.caddr, a6("2001:db8:1::2").data(), 16);
    std::memcpy(r.vaddr, a6("2001:db8:1::100").data(), 16);
    std::memcpy(r.raddr, a6("2001:db8:2::11").data(), 16);
    r.cport = htons(40000);
    r.vport = htons(80);
    r.rport = htons(8080);
    r.proto = proto;
    r.state = static_cast<uint8_t>(st);
    r.fwd = static_cast<uint8_t>(fwd);
    r.timeout_s = 900;
    r.inactive = inactive ? 1 : 0;
    return r;
}

std::vector<sync::ConnRecord> round_trip(const std::vector<sync::ConnRecord>& in,
                                         size_t* messages = nullptr) {
    sync::MessageBuilder mb(9, 1472);
    std::vector<sync::ConnRecord> out;
    size_t n = 0;
    auto flush = [&] {
        const auto msg = mb.finish();
        EXPECT_LE(msg.size(), 1472u);
        EXPECT_EQ(sync::decode(msg, 9, [&](const sync::ConnRecord& c) { out.push_back(c); }),
                  sync::DecodeError::None);
        mb.reset();
        ++n;
    };
    for (const sync::ConnRecord& c : in) {
        if (!mb.add(c)) {
            flush();
            EXPECT_TRUE(mb.add(c));
        }
    }
    if (!mb.empty()) {
        flush();
    }
    if (messages != nullptr) {
        *messages = n;
    }
    return out;
}

TEST(SyncDaemonV6, TcpNatConnectionIsAKernelIpv6RecordAndComesBackUnchanged) {
    const dp::SyncRecord6 r = rec(IPPROTO_TCP, ct::TcpState::Established, cfg::Fwd::Masq, false);
    const sync::ConnRecord w = to_wire6(r);
    EXPECT_TRUE(w.v6);
    EXPECT_EQ(w.protocol, IPPROTO_TCP);
    EXPECT_EQ(w.flags, sync::kFwdMasq);
    EXPECT_EQ(w.state, sync::kTcpEstablished);
    EXPECT_EQ(w.cport, htons(40000));
    EXPECT_EQ(w.vport, htons(80));
    EXPECT_EQ(w.dport, htons(8080));
    EXPECT_EQ(w.timeout, 900u);
    EXPECT_EQ(w.caddr, a6("2001:db8:1::2"));
    EXPECT_EQ(w.vaddr, a6("2001:db8:1::100"));
    EXPECT_EQ(w.daddr, a6("2001:db8:2::11"));
    const auto got = round_trip({w});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags, sync::kFwdMasq | sync::kFlagSync);
    dp::SyncRecord6 back;
    ASSERT_TRUE(from_wire6(got[0], back));
    EXPECT_EQ(0, std::memcmp(&back, &r, sizeof(r)));
}

TEST(SyncDaemonV6, StatesFlagsAndMethodsSurviveTheWire) {
    std::vector<dp::SyncRecord6> sent = {
        rec(IPPROTO_TCP, ct::TcpState::CloseWait, cfg::Fwd::Masq, true),
        rec(IPPROTO_TCP, ct::TcpState::TimeWait, cfg::Fwd::Route, true),
        rec(IPPROTO_UDP, ct::TcpState::Udp, cfg::Fwd::Masq, true),
        rec(IPPROTO_UDP, ct::TcpState::Udp, cfg::Fwd::Tunnel, false),
    };
    std::vector<sync::ConnRecord> wire;
    for (const auto& r : sent) {
        wire.push_back(to_wire6(r));
    }
    EXPECT_EQ(wire[0].state, sync::kTcpCloseWait);
    EXPECT_EQ(wire[0].flags, sync::kFwdMasq | sync::kFlagInactive);
    EXPECT_EQ(wire[1].flags, sync::kFwdDroute | sync::kFlagNoOutput | sync::kFlagInactive);
    EXPECT_EQ(wire[2].state, 0);  // UDP has one state in IPVS
    EXPECT_EQ(wire[3].flags, sync::kFwdTunnel | sync::kFlagNoOutput);
    const auto got = round_trip(wire);
    ASSERT_EQ(got.size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
        dp::SyncRecord6 back;
        ASSERT_TRUE(from_wire6(got[i], back)) << i;
        EXPECT_EQ(0, std::memcmp(&back, &sent[i], sizeof(back))) << i;
    }
}

TEST(SyncDaemonV6, TwentyIpv6RecordsFillA1472ByteMessage) {
    std::vector<sync::ConnRecord> wire;
    for (uint16_t i = 0; i < 41; ++i) {
        dp::SyncRecord6 r = rec(IPPROTO_TCP, ct::TcpState::Established, cfg::Fwd::Masq, false);
        r.cport = htons(static_cast<uint16_t>(30000 + i));
        wire.push_back(to_wire6(r));
    }
    size_t messages = 0;
    const auto got = round_trip(wire, &messages);
    ASSERT_EQ(got.size(), 41u);
    EXPECT_EQ(messages, 3u);  // (1472 - 8) / 72 = 20 a message
    EXPECT_EQ(got[40].cport, htons(30040));
}

TEST(SyncDaemonV6, WhatIpv6CannotHoldIsRefused) {
    sync::ConnRecord c = to_wire6(rec(IPPROTO_TCP, ct::TcpState::Established, cfg::Fwd::Masq, 0));
    dp::SyncRecord6 out;
    sync::ConnRecord t = c;
    t.flags |= sync::kFlagTemplate;
    EXPECT_FALSE(from_wire6(t, out));  // no IPv6 persistence templates yet
    sync::ConnRecord sctp = c;
    sctp.protocol = IPPROTO_SCTP;
    EXPECT_FALSE(from_wire6(sctp, out));
    sync::ConnRecord bypass = c;
    bypass.flags = sync::kFwdBypass;
    EXPECT_FALSE(from_wire6(bypass, out));
    sync::ConnRecord local = c;
    local.flags = sync::kFwdLocal;
    EXPECT_FALSE(from_wire6(local, out));
    sync::ConnRecord v4 = c;
    v4.v6 = false;
    EXPECT_FALSE(from_wire6(v4, out));
    EXPECT_TRUE(from_wire6(c, out));
}

}  // namespace
}  // namespace dirigo::ctl
