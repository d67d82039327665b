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
    sync::ConnRecord esp = c;
    esp.protocol = sync::kProtoEsp;
    esp.state = 0;
    EXPECT_FALSE(from_wire6(esp, out));
    sync::ConnRecord bypass = c;
    bypass.flags = sync::kFwdBypass;
    EXPECT_FALSE(from_wire6(bypass, out));
    sync::ConnRecord local = c;
    local.flags = sync::kFwdLocal;
    EXPECT_FALSE(from_wire6(local, out));
    sync::ConnRecord v4 = c;
    v4.v6 = false;
    EXPECT_FALSE(from_wire6(v4, out));
    // A protocol-0 record is a fwmark template only with TEMPLATE and a mark.
    sync::ConnRecord ip0 = c;
    ip0.protocol = 0;
    ip0.flags |= sync::kFlagTemplate;
    EXPECT_FALSE(from_wire6(ip0, out));
    ip0.fwmark = 5;
    EXPECT_TRUE(from_wire6(ip0, out));
    ip0.flags &= ~sync::kFlagTemplate;
    EXPECT_FALSE(from_wire6(ip0, out));
    EXPECT_TRUE(from_wire6(c, out));
}

/// A /64 template as sync_conn6 makes one: the client masked, port 0, state NONE, the
/// service's persistence timeout, inactive.
dp::SyncRecord6 tmpl6(uint8_t proto) {
    dp::SyncRecord6 t = rec(proto, ct::TcpState::None, cfg::Fwd::Masq, true);
    std::memcpy(t.caddr, a6("2001:db8:1::").data(), 16);
    t.cport = 0;
    t.timeout_s = 300;
    t.kind = dp::SyncKind::Template;
    return t;
}

TEST(SyncDaemonV6, PersistenceTemplateIsAKernelIpv6TemplateAndComesBackUnchanged) {
    const dp::SyncRecord6 t = tmpl6(IPPROTO_TCP);
    const sync::ConnRecord w = to_wire6(t);
    EXPECT_TRUE(w.v6);
    EXPECT_EQ(w.protocol, IPPROTO_TCP);
    // IP_VS_CONN_F_TEMPLATE | INACTIVE, NAT; state 0 (IP_VS_CTPL_S_NONE); cport 0.
    EXPECT_EQ(w.flags, sync::kFwdMasq | sync::kFlagInactive | sync::kFlagTemplate);
    EXPECT_EQ(w.state, 0);
    EXPECT_EQ(w.cport, 0);
    EXPECT_EQ(w.vport, htons(80));
    EXPECT_EQ(w.dport, htons(8080));
    EXPECT_EQ(w.timeout, 300u);
    EXPECT_EQ(w.fwmark, 0u);
    EXPECT_EQ(w.caddr, a6("2001:db8:1::"));
    EXPECT_EQ(w.daddr, a6("2001:db8:2::11"));
    const auto got = round_trip({w});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags,
              sync::kFwdMasq | sync::kFlagInactive | sync::kFlagTemplate | sync::kFlagSync);
    dp::SyncRecord6 back;
    ASSERT_TRUE(from_wire6(got[0], back));
    EXPECT_EQ(0, std::memcmp(&back, &t, sizeof(t)));
    // A UDP and an SCTP service's templates too: state 0 whatever the protocol.
    for (const uint8_t proto : {uint8_t{IPPROTO_UDP}, uint8_t{IPPROTO_SCTP}}) {
        const dp::SyncRecord6 u = tmpl6(proto);
        const auto g = round_trip({to_wire6(u)});
        ASSERT_EQ(g.size(), 1u);
        EXPECT_EQ(g[0].state, 0);
        ASSERT_TRUE(from_wire6(g[0], back));
        EXPECT_EQ(0, std::memcmp(&back, &u, sizeof(u))) << int{proto};
    }
}

TEST(SyncDaemonV6, FwmarkTemplateCarriesTheMarkAsIpvsKeysIt) {
    dp::SyncRecord6 t = tmpl6(0);
    std::memset(t.vaddr, 0, 16);
    t.vaddr[3] = 7;  // mark 7 as the first word of the virtual address
    t.vport = 0;
    t.rport = 0;
    const sync::ConnRecord w = to_wire6(t);
    EXPECT_EQ(w.protocol, 0);
    EXPECT_EQ(w.fwmark, 7u);
    std::array<uint8_t, 16> mark_addr{};
    mark_addr[3] = 7;
    EXPECT_EQ(w.vaddr, mark_addr);
    EXPECT_EQ(w.vport, 0);
    EXPECT_EQ(w.dport, 0);
    const auto got = round_trip({w});
    ASSERT_EQ(got.size(), 1u);
    dp::SyncRecord6 back;
    ASSERT_TRUE(from_wire6(got[0], back));
    EXPECT_EQ(0, std::memcmp(&back, &t, sizeof(t)));
    // A kernel master's record names the service by its fwmark field: that wins.
    sync::ConnRecord k = got[0];
    k.vaddr = {};
    ASSERT_TRUE(from_wire6(k, back));
    EXPECT_EQ(back.vaddr[3], 7);
}

TEST(SyncDaemonV6, SctpAssociationsCarryIpvsStateNumbers) {
    // IPVS's SCTP states: NONE 0 ... ESTABLISHED 8, SHUTDOWN_SENT 9, SHUTDOWN_RECEIVED 10,
    // SHUTDOWN_ACK_SENT 11, REJECTED 12, CLOSED 13.
    const std::pair<ct::TcpState, uint16_t> states[] = {
        {ct::TcpState::SctpEstablished, 8},       {ct::TcpState::SctpShutdownSent, 9},
        {ct::TcpState::SctpShutdownReceived, 10}, {ct::TcpState::SctpShutdownAckSent, 11},
        {ct::TcpState::SctpClosed, 13},
    };
    for (const auto& [st, num] : states) {
        const dp::SyncRecord6 r = rec(IPPROTO_SCTP, st, cfg::Fwd::Masq, true);
        const sync::ConnRecord w = to_wire6(r);
        EXPECT_EQ(w.protocol, IPPROTO_SCTP);
        EXPECT_EQ(w.state, num);
        const auto got = round_trip({w});
        ASSERT_EQ(got.size(), 1u);
        dp::SyncRecord6 back;
        ASSERT_TRUE(from_wire6(got[0], back));
        EXPECT_EQ(0, std::memcmp(&back, &r, sizeof(r))) << num;
    }
}

TEST(SyncDaemonV6, AnIpv4TunnelServerTravelsInTheKernelsLayout) {
    // The kernel copies an AF_INET destination's nf_inet_addr: its 4 bytes, then 12 zeros.
    dp::SyncRecord6 r = rec(IPPROTO_TCP, ct::TcpState::Established, cfg::Fwd::Tunnel, false);
    std::memset(r.raddr, 0, 16);
    const uint32_t rs = htonl(0xac100029);  // 172.16.0.41
    std::memcpy(r.raddr, &rs, 4);
    r.dest4 = 1;
    const sync::ConnRecord w = to_wire6(r);
    std::array<uint8_t, 16> want{};
    want[0] = 172;
    want[1] = 16;
    want[3] = 41;
    EXPECT_EQ(w.daddr, want);
    EXPECT_EQ(w.flags, sync::kFwdTunnel | sync::kFlagNoOutput);
    const auto got = round_trip({w});
    ASSERT_EQ(got.size(), 1u);
    dp::SyncRecord6 back;
    ASSERT_TRUE(from_wire6(got[0], back));
    EXPECT_EQ(0, std::memcmp(back.raddr, r.raddr, 16));
    EXPECT_EQ(back.dest4, 0);  // the wire cannot say: the backup's worker tells by its servers
}

}  // namespace
}  // namespace dirigo::ctl
