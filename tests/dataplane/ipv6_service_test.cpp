// SPDX-License-Identifier: BSD-3-Clause
// In-process IPv6 service tests: IPv6 NAT (masquerading) end to end through the real Worker, its
// IPv6 connection table and the slow path, on two net_ring ports. Services are added as ipvsadm
// would (control requests); frames and their TCP/UDP checksums (over the IPv6 pseudo-header)
// are built and checked here independently of dataplane/nat6.hpp.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/addr.hpp"
#include "config/config.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"
#include "tests/dataplane/harness.hpp"
#include "tests/dataplane/ipv6_frames.hpp"

namespace dirigo {
namespace {

using namespace test;
using ctl::Reply;
using namespace test::v6f;

const V6 kDirExt = v6("2001:db8:1::1");
const V6 kDirInt = v6("2001:db8:2::1");
const V6 kClient = v6("2001:db8:1::2");
const V6 kVip = v6("2001:db8:1::100");
const V6 kRs1 = v6("2001:db8:2::11");
const V6 kRs2 = v6("2001:db8:2::12");

cfg::Ip6 ip6_of(const V6& a) {
    cfg::Ip6 r;
    std::memcpy(r.b.data(), a.data(), 16);
    return r;
}

class Ipv6ServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        static int seq = 0;
        ++seq;
        cfg::Config cfg;
        cfg.dataplane.conn_table_size = 4096;
        cfg.dataplane.mbufs = 4095;
        cfg.dataplane.rx_desc = 256;
        cfg.dataplane.tx_desc = 256;
        const char* names[2] = {"ext", "int"};
        for (int i = 0; i < 2; ++i) {
            const std::string base = "v6s" + std::to_string(seq) + names[i];
            rx_[i] =
                rte_ring_create((base + "_rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            tx_[i] =
                rte_ring_create((base + "_tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            ASSERT_NE(rx_[i], nullptr);
            ASSERT_NE(tx_[i], nullptr);
            const int pid = rte_eth_from_rings(base.c_str(), &rx_[i], 1, &tx_[i], 1, 0);
            ASSERT_GE(pid, 0);
            char dev[RTE_ETH_NAME_MAX_LEN];
            ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<uint16_t>(pid), dev), 0);
            port_id_[i] = static_cast<uint16_t>(pid);
            cfg::PortCfg pc;
            pc.name = names[i];
            pc.device = dev;
            cfg.ports.push_back(pc);
        }
        cfg.ports[0].addresses = {{ntohl(ip("10.0.0.1")), 24}};
        cfg.ports[0].addresses6 = {*cfg::parse_prefix6("2001:db8:1::1/64")};
        cfg.ports[1].addresses6 = {*cfg::parse_prefix6("2001:db8:2::1/64")};
        auto dp = dp::Dataplane::create(cfg, 1);
        ASSERT_TRUE(dp) << dp.status().message();
        dp_ = std::move(*dp);
        ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
        ASSERT_TRUE(ctl_->load_initial());
        for (int i = 0; i < 2; ++i) {
            mac_[i] = to_mac(dp_->topology()->ports[port_id_[i]].mac);
        }
        // The director learns the client and both servers from their solicitations.
        send(kExt, ns_from(kClient, kClientMac, kDirExt));
        send(kInt, ns_from(kRs1, kRs1Mac, kDirInt));
        send(kInt, ns_from(kRs2, kRs2Mac, kDirInt));
        step();
        (void)recv(kExt);
        (void)recv(kInt);
    }

    void TearDown() override {
        if (!dp_) {
            return;
        }
        (void)recv(kExt);
        (void)recv(kInt);
        ctl_.reset();
        EXPECT_EQ(dp_->shutdown(), 0u) << "mbufs leaked";
        dp_.reset();
        for (int i = 0; i < 2; ++i) {
            rte_ring_free(rx_[i]);
            rte_ring_free(tx_[i]);
        }
    }

    /// ipvsadm -A -6 -t|-u [VIP]:port -s sched; -a -r [rs1]:rport -m; -a -r [rs2]:rport -m.
    void add_service(cfg::Proto proto, uint16_t port, uint16_t rport, const char* sched = "rr") {
        cfg::ServiceKey key;
        key.proto = proto;
        key.port = port;
        key.af = cfg::Family::Inet6;
        key.addr6 = ip6_of(kVip);
        ctl::Request b;
        b.op = ctl::Op::Batch;
        ctl::Request a;
        a.op = ctl::Op::AddService;
        a.service.key = key;
        a.service.scheduler = sched;
        b.batch.push_back(a);
        for (const V6& rs : {kRs1, kRs2}) {
            ctl::Request d;
            d.op = ctl::Op::AddDest;
            d.service.key = key;
            d.dest.af = cfg::Family::Inet6;
            d.dest.addr6 = ip6_of(rs);
            d.dest.port = rport;
            d.dest.fwd = cfg::Fwd::Masq;
            b.batch.push_back(d);
        }
        const Reply r = ctl_->handle(b);
        ASSERT_EQ(r.code, Errc::Ok) << r.message;
    }

    void send(int port, const Frame& f) {
        rte_mbuf* m = to_mbuf(dp_->pool(), f);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(rte_ring_enqueue(rx_[port], m), 0);
    }
    void step() {
        dp_->worker(0).poll_once();
        ctl_->slow_path().poll();
        dp_->worker(0).poll_once();
    }
    std::vector<Frame> recv(int port) {
        std::vector<Frame> out;
        rte_mbuf* m;
        while (rte_ring_dequeue(tx_[port], reinterpret_cast<void**>(&m)) == 0) {
            out.push_back(take_frame(m));
        }
        return out;
    }
    uint64_t drops(dp::Drop d) const {
        return dp_->worker(0).stats().drops[static_cast<size_t>(d)].load();
    }
    Reply list() {
        ctl::Request r;
        r.op = ctl::Op::List;
        return ctl_->handle(r);
    }
    Reply conns() {
        ctl::Request r;
        r.op = ctl::Op::ListConns;
        return ctl_->handle(r);
    }

    Frame client_tcp(uint16_t sport, uint8_t flags, const std::string& data = "") const {
        return ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_TCP,
                         tcp_seg(sport, 80, flags, data));
    }
    Frame server_tcp(const V6& rs, const Mac& mac, uint16_t cport, uint8_t flags,
                     const std::string& data = "") const {
        return ip6_frame(mac_[kInt], mac, rs, kClient, 64, IPPROTO_TCP,
                         tcp_seg(8080, cport, flags, data));
    }

    /// Checks a frame the director sent a real server: MACs, addresses, ports, hop limit and
    /// the checksum.
    void expect_to_server(const Frame& f, const V6& rs, const Mac& mac, uint16_t cport,
                          uint8_t proto, uint16_t rport) {
        EXPECT_EQ(mac_at(f, 0), mac);
        EXPECT_EQ(mac_at(f, 6), mac_[kInt]);
        EXPECT_EQ(f.b[kL3 + 6], proto);
        EXPECT_EQ(f.b[kL3 + 7], 63);  // hop limit decremented
        EXPECT_EQ(addr_at(f, kL3 + 8), kClient);
        EXPECT_EQ(addr_at(f, kL3 + 24), rs);
        EXPECT_EQ(port_at(f, kL4), cport);
        EXPECT_EQ(port_at(f, kL4 + 2), rport);
        EXPECT_EQ(l4_sum(f), 0xffff) << "checksum";
    }
    void expect_to_client(const Frame& f, uint16_t cport, uint8_t proto, uint16_t vport) {
        EXPECT_EQ(mac_at(f, 0), kClientMac);
        EXPECT_EQ(mac_at(f, 6), mac_[kExt]);
        EXPECT_EQ(f.b[kL3 + 6], proto);
        EXPECT_EQ(f.b[kL3 + 7], 63);
        EXPECT_EQ(addr_at(f, kL3 + 8), kVip);
        EXPECT_EQ(addr_at(f, kL3 + 24), kClient);
        EXPECT_EQ(port_at(f, kL4), vport);
        EXPECT_EQ(port_at(f, kL4 + 2), cport);
        EXPECT_EQ(l4_sum(f), 0xffff) << "checksum";
    }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
};

TEST_F(Ipv6ServiceTest, TcpSynsAlternateBetweenServersAndRepliesComeFromTheVip) {
    add_service(cfg::Proto::Tcp, 80, 8080);
    // rr from the list head, newest first (as IPVS's): rs2, then rs1.
    send(kExt, client_tcp(40000, 0x02));
    send(kExt, client_tcp(40001, 0x02));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    expect_to_server(out[0], kRs2, kRs2Mac, 40000, IPPROTO_TCP, 8080);
    expect_to_server(out[1], kRs1, kRs1Mac, 40001, IPPROTO_TCP, 8080);
    EXPECT_EQ(out[0].b[kL4 + 13], 0x02);
    EXPECT_TRUE(recv(kExt).empty());

    // The servers' SYN-ACKs go back to the client from [VIP]:80.
    send(kInt, server_tcp(kRs2, kRs2Mac, 40000, 0x12));
    send(kInt, server_tcp(kRs1, kRs1Mac, 40001, 0x12));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 2u);
    expect_to_client(out[0], 40000, IPPROTO_TCP, 80);
    expect_to_client(out[1], 40001, IPPROTO_TCP, 80);
    EXPECT_EQ(out[0].b[kL4 + 13], 0x12);

    // The client's ACK with data establishes the first connection; the server answers with data.
    send(kExt, client_tcp(40000, 0x10, "GET / HTTP/1.0\r\n\r\n"));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], kRs2, kRs2Mac, 40000, IPPROTO_TCP, 8080);
    send(kInt, server_tcp(kRs2, kRs2Mac, 40000, 0x18, "HTTP/1.0 200 OK\r\n\r\nhello"));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40000, IPPROTO_TCP, 80);

    // Counters: IPVS's ActiveConn/InActConn and the service's and servers' stats.
    const Reply r = list();
    ASSERT_EQ(r.services.size(), 1u);
    const ctl::ServiceInfo& s = r.services[0];
    EXPECT_EQ(s.stats.conns, 2u);
    EXPECT_EQ(s.stats.inpkts, 3u);
    EXPECT_EQ(s.stats.outpkts, 3u);
    ASSERT_EQ(s.dests.size(), 2u);
    for (const ctl::DestInfo& d : s.dests) {
        const bool first = d.server.addr6 == ip6_of(kRs2);  // the established one
        EXPECT_EQ(d.stats.conns, 1u);
        EXPECT_EQ(d.active, first ? 1u : 0u);
        EXPECT_EQ(d.inactive, first ? 0u : 1u);
        EXPECT_EQ(d.stats.inpkts, first ? 2u : 1u);
        EXPECT_EQ(d.stats.outpkts, first ? 2u : 1u);
    }
    EXPECT_EQ(dp_->worker(0).table6()->size(), 2u);
    EXPECT_EQ(dp_->worker(0).stats().conns_created.load(), 2u);
    EXPECT_EQ(dp_->worker(0).table().size(), 0u);  // nothing in the IPv4 table

    // The connection listing shows the IPv6 addresses.
    const Reply c = conns();
    ASSERT_EQ(c.code, Errc::Ok) << c.message;
    ASSERT_EQ(c.conns.size(), 2u);
    for (const ctl::ConnInfo& ci : c.conns) {
        EXPECT_EQ(ci.af, cfg::Family::Inet6);
        EXPECT_EQ(ci.proto, IPPROTO_TCP);
        EXPECT_EQ(ci.caddr6, ip6_of(kClient));
        EXPECT_EQ(ci.vaddr6, ip6_of(kVip));
        EXPECT_EQ(ci.vport, 80);
        EXPECT_EQ(ci.dport, 8080);
        EXPECT_EQ(ci.caddr, 0u);
        if (ci.cport == 40000) {
            EXPECT_EQ(ci.daddr6, ip6_of(kRs2));
            EXPECT_EQ(ci.state, "ESTABLISHED");
        } else {
            EXPECT_EQ(ci.cport, 40001);
            EXPECT_EQ(ci.daddr6, ip6_of(kRs1));
            EXPECT_EQ(ci.state, "SYN_RECV");
        }
    }
}

TEST_F(Ipv6ServiceTest, UnknownNonSynIsACountedNoConnDrop) {
    add_service(cfg::Proto::Tcp, 80, 8080);
    const uint64_t before = drops(dp::Drop::NoConn);
    send(kExt, client_tcp(41000, 0x10, "stray"));  // an ACK of no connection
    send(kExt, client_tcp(41001, 0x12));           // a SYN-ACK opens nothing either
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_EQ(drops(dp::Drop::NoConn), before + 2);
    EXPECT_EQ(dp_->worker(0).table6()->size(), 0u);
}

TEST_F(Ipv6ServiceTest, UdpFlowBothWays) {
    add_service(cfg::Proto::Udp, 53, 5353);
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                         udp_dgram(50000, 53, "query")));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], kRs2, kRs2Mac, 50000, IPPROTO_UDP, 5353);
    send(kInt, ip6_frame(mac_[kInt], kRs2Mac, kRs2, kClient, 64, IPPROTO_UDP,
                         udp_dgram(5353, 50000, "answer!")));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 50000, IPPROTO_UDP, 53);
    // The same flow again: the same server; a new flow: the next server.
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                         udp_dgram(50000, 53, "again")));
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                         udp_dgram(50001, 53, "other")));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    expect_to_server(out[0], kRs2, kRs2Mac, 50000, IPPROTO_UDP, 5353);
    expect_to_server(out[1], kRs1, kRs1Mac, 50001, IPPROTO_UDP, 5353);

    // A zero UDP checksum is invalid over IPv6: dropped and counted, no connection.
    Frame zero = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                           udp_dgram(50002, 53, "nocsum"));
    zero.b[kL4 + 6] = zero.b[kL4 + 7] = 0;
    const uint64_t bad = drops(dp::Drop::BadL4Header);
    send(kExt, zero);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::BadL4Header), bad + 1);

    const Reply r = list();
    ASSERT_EQ(r.services.size(), 1u);
    EXPECT_EQ(r.services[0].stats.conns, 2u);
    EXPECT_EQ(r.services[0].stats.inpkts, 3u);
    EXPECT_EQ(r.services[0].stats.outpkts, 1u);
    const Reply c = conns();
    ASSERT_EQ(c.conns.size(), 2u);
    for (const ctl::ConnInfo& ci : c.conns) {
        EXPECT_EQ(ci.af, cfg::Family::Inet6);
        EXPECT_EQ(ci.proto, IPPROTO_UDP);
        EXPECT_EQ(ci.state, "UDP");
        EXPECT_EQ(ci.vaddr6, ip6_of(kVip));
    }
}

TEST_F(Ipv6ServiceTest, UnresolvedServerIsSolicitedAndThePacketHeld) {
    // A server the director has not heard from: the SYN waits for its advertisement.
    const V6 rs3 = v6("2001:db8:2::13");
    const Mac rs3_mac = {0x02, 0x5e, 0, 0, 0, 0x13};
    cfg::ServiceKey key;
    key.proto = cfg::Proto::Tcp;
    key.port = 443;
    key.af = cfg::Family::Inet6;
    key.addr6 = ip6_of(kVip);
    ctl::Request b;
    b.op = ctl::Op::Batch;
    ctl::Request a;
    a.op = ctl::Op::AddService;
    a.service.key = key;
    a.service.scheduler = "wlc";
    b.batch.push_back(a);
    ctl::Request d;
    d.op = ctl::Op::AddDest;
    d.service.key = key;
    d.dest.af = cfg::Family::Inet6;
    d.dest.addr6 = ip6_of(rs3);
    d.dest.port = 443;
    b.batch.push_back(d);
    ASSERT_EQ(ctl_->handle(b).code, Errc::Ok);
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_TCP,
                         tcp_seg(42000, 443, 0x02)));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b[kL4], 135);  // the director's solicitation for rs3
    EXPECT_EQ(addr_at(out[0], kL4 + 8), rs3);
    // rs3 advertises itself: the held SYN goes out, rewritten.
    std::vector<uint8_t> na(32, 0);
    na[0] = 136;
    na[4] = 0x60;  // solicited, override
    std::copy(rs3.begin(), rs3.end(), na.begin() + 8);
    na[24] = 2;  // target link-layer address option
    na[25] = 1;
    std::copy(rs3_mac.begin(), rs3_mac.end(), na.begin() + 26);
    send(kInt, ip6_frame(mac_[kInt], rs3_mac, rs3, kDirInt, 255, IPPROTO_ICMPV6, na));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], rs3, rs3_mac, 42000, IPPROTO_TCP, 443);
}

TEST_F(Ipv6ServiceTest, ServiceWithoutServersIsNoBackendAndIpv4IsUntouched) {
    cfg::ServiceKey key;
    key.proto = cfg::Proto::Tcp;
    key.port = 80;
    key.af = cfg::Family::Inet6;
    key.addr6 = ip6_of(kVip);
    ctl::Request a;
    a.op = ctl::Op::AddService;
    a.service.key = key;
    a.service.scheduler = "rr";
    ASSERT_EQ(ctl_->handle(a).code, Errc::Ok);
    const uint64_t before = drops(dp::Drop::NoBackend);
    send(kExt, client_tcp(43000, 0x02));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NoBackend), before + 1);
    // The IPv4 address 0.0.0.0:80 is no service: the IPv6 one is not in the IPv4 map.
    const dp::Snapshot* snap = &dp_->current();
    EXPECT_EQ(snap->find_service(IPPROTO_TCP, 0, htons(80)), nullptr);
    EXPECT_NE(snap->find_service6(IPPROTO_TCP, kVip.data(), htons(80)), nullptr);
    EXPECT_EQ(snap->find_service6(IPPROTO_UDP, kVip.data(), htons(80)), nullptr);
    EXPECT_EQ(snap->find_service6(IPPROTO_TCP, kVip.data(), htons(81)), nullptr);
    EXPECT_TRUE(snap->is_vip6(kVip.data()));
    EXPECT_FALSE(snap->is_vip6(kClient.data()));
    EXPECT_FALSE(snap->is_vip6(v6("2001:db8:1::101").data()));
}

// The IPv6 packets of a burst are looked up together before any is decided (stage 2). A packet
// after one that changed the table in the same burst must not act on that stale answer: the
// second datagram of a new flow finds the connection the first made (one connection, one
// server), as IPv4's burst does.
TEST_F(Ipv6ServiceTest, SecondDatagramOfANewFlowInOneBurstFindsItsConnection) {
    add_service(cfg::Proto::Udp, 53, 5353);
    for (const char* data : {"one", "two", "three"}) {
        send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                             udp_dgram(50100, 53, data)));
    }
    dp_->worker(0).poll_once();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 3u);
    for (const Frame& f : out) {
        expect_to_server(f, kRs2, kRs2Mac, 50100, IPPROTO_UDP, 5353);
    }
    EXPECT_EQ(dp_->worker(0).table6()->size(), 1u);
    EXPECT_EQ(dp_->worker(0).stats().live_conns.load(), 1u);
    EXPECT_EQ(list().services.at(0).stats.conns, 1u);
}

// The IPv6 twin of dataplane_test's reliability finding: two packets of one idle-expired flow in
// the same burst act on its entry once, and a new flow that takes the freed entry in between
// does not receive the old flow's packets.
TEST_F(Ipv6ServiceTest, PacketsOfAnExpiredFlowInOneBurstRetireItOnce) {
    add_service(cfg::Proto::Tcp, 80, 8080);
    ctl::Request set;
    set.op = ctl::Op::SetTimeouts;
    set.timeouts = {1, 0, 0};  // tcp (ESTABLISHED) 1 s
    ASSERT_EQ(ctl_->handle(set).code, Errc::Ok);
    // Two established connections (rr: rs2, then rs1).
    const V6 rs[2] = {kRs2, kRs1};
    const Mac rs_mac[2] = {kRs2Mac, kRs1Mac};
    const uint16_t sports[2] = {40200, 40202};
    for (int i = 0; i < 2; ++i) {
        send(kExt, client_tcp(sports[i], 0x02));
        step();
        ASSERT_EQ(recv(kInt).size(), 1u);
        send(kInt, server_tcp(rs[i], rs_mac[i], sports[i], 0x12));
        step();
        ASSERT_EQ(recv(kExt).size(), 1u);
        send(kExt, client_tcp(sports[i], 0x10, "x"));
        step();
        ASSERT_EQ(recv(kInt).size(), 1u);
    }
    ASSERT_EQ(dp_->worker(0).table6()->size(), 2u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));

    // One burst: the first expired flow's ACK twice, then the other's ACK, a new flow's SYN
    // that takes a freed entry, and the other's ACK again.
    const uint64_t noconn = drops(dp::Drop::NoConn);
    send(kExt, client_tcp(40200, 0x10, "x"));
    send(kExt, client_tcp(40200, 0x10, "x"));
    send(kExt, client_tcp(40202, 0x10, "x"));
    send(kExt, client_tcp(40201, 0x02));
    send(kExt, client_tcp(40202, 0x10, "x"));
    dp_->worker(0).poll_once();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u) << "only the new flow's SYN goes out";
    EXPECT_EQ(port_at(out[0], kL4), 40201);
    EXPECT_EQ(drops(dp::Drop::NoConn), noconn + 4);
    EXPECT_EQ(dp_->worker(0).stats().conns_expired.load(), 2u);
    EXPECT_EQ(dp_->worker(0).stats().live_conns.load(), 1u);
    EXPECT_EQ(dp_->worker(0).table6()->size(), 1u);
    const Reply r = list();
    uint32_t active = 0;
    uint32_t inactive = 0;
    for (const ctl::DestInfo& d : r.services.at(0).dests) {
        active += d.active;
        inactive += d.inactive;
    }
    EXPECT_EQ(active, 0u);
    EXPECT_EQ(inactive, 1u);
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("ipv6_service_test", "0", "256"));
    return RUN_ALL_TESTS();
}
