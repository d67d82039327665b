// SPDX-License-Identifier: BSD-3-Clause
// In-process dataplane tests: EAL with --no-huge --no-pci, two net_ring ports whose rings the test
// feeds and drains, the real Worker loop (driven with poll_once) and the real Control (rules,
// snapshots, RCU, slow path). Frames in, exact frames out; every mbuf accounted for.

#include <netinet/in.h>
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "config/config.hpp"
#include "conntrack/sctp_state.hpp"
#include "control/control.hpp"
#include "control/sync_daemon.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/sync.hpp"
#include "proto/client.hpp"
#include "tests/dataplane/harness.hpp"

namespace dirigo {
namespace {

using test::Frame;
using test::ip;
using test::Mac;
using namespace test;  // the test network: MACs, port indexes, frame helpers
using Reply = ctl::Reply;

class DataplaneTest : public ::testing::Test {
protected:
    void SetUp() override {
        static int seq = 0;
        ++seq;
        cfg::Config cfg;
        // In-process: no kernel interfaces (no net_tap), unless a test asks for the host rings,
        // which it then reads itself in place of host::Host.
        cfg.host.kernel_interfaces = host_rings_;
        cfg.host.queue = 64;
        cfg.dataplane.reassembly = reassembly_;
        cfg.dataplane.frag_timeout = 1;
        cfg.dataplane.conn_table_size = 4096;
        cfg.dataplane.mbufs = 4095;
        cfg.dataplane.rx_desc = 256;
        cfg.dataplane.tx_desc = 256;
        const char* names[2] = {"ext", "int"};
        for (int i = 0; i < 2; ++i) {
            const std::string base = "t" + std::to_string(seq) + names[i];
            rx_[i] = rte_ring_create((base + "_rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            tx_[i] = rte_ring_create((base + "_tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
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
        cfg.ports[0].addresses = {{ntohl(ip("10.0.0.1")), 24}, {ntohl(ip("10.0.0.100")), 32}};
        cfg.ports[1].addresses = {{ntohl(ip("172.16.0.1")), 24}};
        cfg.routes.push_back({{0, 0}, ntohl(ip("10.0.0.254"))});
        cfg::Service svc;
        svc.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 80};
        svc.scheduler = "rr";
        svc.servers = {{ntohl(ip("172.16.0.11")), 80, cfg::Fwd::Masq, 1, 0, 0},
                       {ntohl(ip("172.16.0.12")), 80, cfg::Fwd::Masq, 1, 0, 0}};
        cfg.services.push_back(svc);
        cfg::Service usvc = svc;
        usvc.key.proto = cfg::Proto::Udp;
        usvc.key.port = 53;
        usvc.servers = {{ntohl(ip("172.16.0.11")), 5353, cfg::Fwd::Masq, 1, 0, 0}};
        cfg.services.push_back(usvc);

        auto dp = dp::Dataplane::create(cfg, 1);
        ASSERT_TRUE(dp) << dp.status().message();
        dp_ = std::move(*dp);
        ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
        ASSERT_TRUE(ctl_->load_initial());
        for (int i = 0; i < 2; ++i) {
            mac_[i] = to_mac(dp_->topology()->ports[port_id_[i]].mac);
        }
    }

    void TearDown() override {
        if (!dp_) {
            return;
        }
        drain(kExt);
        drain(kInt);
        ctl_.reset();
        // What a stopping worker frees (run() does it): held segments, fragments in reassembly.
        dp_->worker(0).release_held();
        EXPECT_EQ(dp_->shutdown(), 0u) << "mbufs leaked";
        dp_.reset();
        for (int i = 0; i < 2; ++i) {
            rte_ring_free(rx_[i]);
            rte_ring_free(tx_[i]);
        }
    }

    void send(int port, const Frame& f) {
        rte_mbuf* m = to_mbuf(dp_->pool(), f);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(rte_ring_enqueue(rx_[port], m), 0);
    }

    // Worker, then slow path, then worker again (to transmit what the slow path injected).
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
    void drain(int port) { (void)recv(port); }

    // Makes the director learn a neighbour the way a host would: it asks for our address.
    void learn(int port, const Mac& mac, uint32_t addr, uint32_t ours) {
        send(port, Frame::arp(kBcast, mac, 1, mac, addr, kZero, ours));
        step();
        const auto replies = recv(port);
        ASSERT_EQ(replies.size(), 1u);
    }

    void learn_all() {
        learn(kExt, kClientMac, ip("10.0.0.2"), ip("10.0.0.1"));
        learn(kInt, kRs1Mac, ip("172.16.0.11"), ip("172.16.0.1"));
        learn(kInt, kRs2Mac, ip("172.16.0.12"), ip("172.16.0.1"));
    }

    /// The frames waiting on `port`'s host ring (taken off it).
    std::vector<Frame> host_frames(int port) {
        std::vector<Frame> out;
        rte_mbuf* m;
        while (rte_ring_dequeue(dp_->host_ring(port_id_[port]), reinterpret_cast<void**>(&m)) ==
               0) {
            out.push_back(take_frame(m));
        }
        return out;
    }

    uint64_t drops(dp::Drop d) const {
        return dp_->worker(0).stats().drops[static_cast<size_t>(d)].load();
    }

    // ipvsadm -a -t KEY -r ADDR:PORT -m for each address.
    void add_dests(const cfg::ServiceKey& key, std::initializer_list<const char*> addrs,
                   uint16_t port) {
        for (const char* a : addrs) {
            ctl::Request r;
            r.op = ctl::Op::AddDest;
            r.service.key = key;
            r.dest = {ntohl(ip(a)), port, cfg::Fwd::Masq, 1, 0, 0};
            const Reply rep = ctl_->handle(r);
            ASSERT_EQ(rep.code, Errc::Ok) << rep.message;
        }
    }

    /// The seeds' HTTP/HTTPS example: fwmark service 1 (rr, persistent 300 s, `netmask`), both
    /// servers with port 0, and the mark rule TCP 10.0.0.100 ports 80 and 443 -> 1. The fixture's
    /// TCP 10.0.0.100:80 goes first: it would take port 80 before any mark.
    void web_fwmark_service(uint32_t netmask = 0xffffffffu) {
        ctl::Request dsvc;
        dsvc.op = ctl::Op::DelService;
        dsvc.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 80};
        ASSERT_EQ(ctl_->handle(dsvc).code, Errc::Ok);
        cfg::ServiceKey key;
        key.fwmark = 1;
        ctl::Request add = service_batch(key, "rr", {{"172.16.0.11", {}}, {"172.16.0.12", {}}});
        cfg::Service& svc = add.batch[0].service;
        svc.flags = cfg::kSvcPersistent;
        svc.timeout = 300;
        svc.netmask = netmask;
        const Reply added = ctl_->handle(add);
        ASSERT_EQ(added.code, Errc::Ok) << added.message;
        ctl::Request mark;
        mark.op = ctl::Op::AddMark;
        mark.mark.dst = {ntohl(ip("10.0.0.100")), 32};
        mark.mark.proto = 6;
        mark.mark.ports = {{80, 80}, {443, 443}};
        mark.mark.mark = 1;
        const Reply marked = ctl_->handle(mark);
        ASSERT_EQ(marked.code, Errc::Ok) << marked.message;
        web_mark_ = mark;
    }
    ctl::Request web_mark_;  ///< web_fwmark_service's AddMark request (a test deletes it)

    /// Adds VIP:port (rr) with `servers` on port `rport` (0: the service's port), in one batch.
    void add_rr_service(cfg::Proto proto, uint16_t port,
                        std::initializer_list<std::pair<const char*, cfg::RealServer>> servers,
                        uint16_t rport = 0) {
        const ctl::Request b =
            service_batch({proto, ntohl(ip("10.0.0.100")), port}, "rr", servers, rport);
        const Reply rep = ctl_->handle(b);
        ASSERT_EQ(rep.code, Errc::Ok) << rep.message;
    }

    // ActiveConn and InActConn summed over the real servers of service `svc` (listing order).
    struct ConnCounts {
        uint64_t active = 0;
        uint64_t inactive = 0;
    };
    ConnCounts conn_counts(size_t svc) {
        const Reply r = list();  // outlives the loop, unlike a temporary's member would
        ConnCounts c;
        for (const auto& d : r.services[svc].dests) {
            c.active += d.active;
            c.inactive += d.inactive;
        }
        return c;
    }

    Reply list() {
        ctl::Request r;
        r.op = ctl::Op::List;
        return ctl_->handle(r);
    }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
    bool host_rings_ = false;  ///< set by HostPathTest before SetUp
    uint32_t reassembly_ = 64;  ///< dataplane.reassembly; 0 (NoReassemblyTest): fragments pass
};

// ---- The exception path (docs/host-integration.md): what goes up to the kernel ----------------

class HostPathTest : public DataplaneTest {
protected:
    HostPathTest() { host_rings_ = true; }
};

TEST_F(HostPathTest, TrafficToOurAddressesThatNoServiceTakesGoesUp) {
    // ssh to the director, a ping, a UDP probe to a port without a service: all up, untouched.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40000, ip("10.0.0.1"), 22));
    send(kExt, Frame::icmp_echo(mac_[kExt], kClientMac, ip("10.0.0.2"), ip("10.0.0.100")));
    send(kInt, Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 5000, ip("172.16.0.1"), 161,
                         0, 64, "public"));
    // A health check's answer: a real server replying to the director's own connection.
    send(kInt, Frame::l4(mac_[kInt], kRs1Mac, 6, ip("172.16.0.11"), 80, ip("172.16.0.1"), 50000,
                         0x12));
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    const auto ext = host_frames(kExt);
    ASSERT_EQ(ext.size(), 2u);
    EXPECT_EQ(ext[0].dport(), 22);
    EXPECT_EQ(ext[0].ttl(), 64);  // not routed: untouched
    EXPECT_EQ(ext[1].proto(), 1);
    const auto in = host_frames(kInt);
    ASSERT_EQ(in.size(), 2u);
    EXPECT_EQ(in[0].dport(), 161);
    EXPECT_EQ(in[1].sport(), 80);
    EXPECT_EQ(dp_->worker(0).stats().to_host.load(), 4u);
    EXPECT_EQ(dp_->worker(0).stats().icmp_echo_replies.load(), 0u);  // the kernel answers
}

TEST_F(HostPathTest, ServicesAndTransitStayOnTheFastPath) {
    learn(kInt, kRs1Mac, ip("172.16.0.11"), ip("172.16.0.1"));
    learn(kInt, kRs2Mac, ip("172.16.0.12"), ip("172.16.0.1"));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40000, ip("10.0.0.100"), 80));
    step();
    EXPECT_EQ(recv(kInt).size(), 1u);
    EXPECT_TRUE(host_frames(kExt).empty());
    // A non-SYN to the service's port with no connection is dropped, not passed up.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40001, ip("10.0.0.100"), 80,
                         0x10));
    step();
    EXPECT_TRUE(host_frames(kExt).empty());
    EXPECT_EQ(drops(dp::Drop::NoConn), 1u);
}

TEST_F(HostPathTest, MulticastAndOtherProtocolsGoUp) {
    // VRRP: IP protocol 112 to 224.0.0.18 in a multicast frame.
    const Mac vrrp_mac = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
    Frame vrrp = Frame::eth(vrrp_mac, kClientMac, 0x0800);
    vrrp.ipv4(112, ip("10.0.0.2"), ip("224.0.0.18"), 255, 20);
    vrrp.b.resize(vrrp.b.size() + 20, 0x21);
    send(kExt, vrrp);
    // GRE to the director (protocol 47), and IPv6 multicast that is not neighbour discovery
    // (an empty packet to ff02::16, where MLD reports go).
    Frame gre = Frame::eth(mac_[kExt], kClientMac, 0x0800);
    gre.ipv4(47, ip("10.0.0.2"), ip("10.0.0.1"), 64, 8);
    gre.b.resize(gre.b.size() + 8, 0);
    send(kExt, gre);
    Frame v6 = Frame::eth(mac_[kExt], kClientMac, 0x86dd);
    v6.b.resize(v6.b.size() + 40, 0);
    v6.b[14] = 0x60;
    v6.b[14 + 6] = 59;  // no next header
    v6.b[14 + 24] = 0xff;
    v6.b[14 + 25] = 0x02;
    v6.b[14 + 39] = 0x16;
    send(kExt, v6);
    step();
    EXPECT_TRUE(recv(kExt).empty());
    const auto up = host_frames(kExt);
    ASSERT_EQ(up.size(), 3u);
    EXPECT_EQ(up[0].proto(), 112);
    EXPECT_EQ(up[1].proto(), 47);
    EXPECT_EQ(drops(dp::Drop::NotUnicast), 0u);
}

TEST_F(HostPathTest, ArpIsAnsweredHereAndTheRestGoesUp) {
    // A request for our address: answered by Dirigo, not passed up (the kernel never answers).
    send(kExt, Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.0.0.2"), kZero, ip("10.0.0.1")));
    step();
    EXPECT_EQ(recv(kExt).size(), 1u);
    EXPECT_TRUE(host_frames(kExt).empty());
    // A reply (to a request the kernel sent) goes up, and Dirigo learns from it too.
    send(kExt, Frame::arp(mac_[kExt], kGwMac, 2, kGwMac, ip("10.0.0.254"), mac_[kExt],
                          ip("10.0.0.1")));
    step();
    const auto up = host_frames(kExt);
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].arp_op(), 2);
    EXPECT_EQ(ctl_->slow_path().stats().arp_up, 1u);
}

TEST_F(HostPathTest, AFullQueueDropsAndCountsWithoutTouchingForwarding) {
    // 63 fit (a ring of 64 holds 63); the rest are dropped and counted.
    for (uint16_t i = 0; i < 100; ++i) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 1000 + i,
                             ip("10.0.0.1"), 9, 0, 64, "flood"));
        if (i % 32 == 31) {
            dp_->worker(0).poll_once();
        }
    }
    // Service traffic in the same bursts is forwarded.
    learn(kInt, kRs1Mac, ip("172.16.0.11"), ip("172.16.0.1"));
    learn(kInt, kRs2Mac, ip("172.16.0.12"), ip("172.16.0.1"));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40000, ip("10.0.0.100"), 80));
    step();
    EXPECT_EQ(recv(kInt).size(), 1u);
    EXPECT_EQ(host_frames(kExt).size(), 63u);
    EXPECT_EQ(drops(dp::Drop::HostQueueFull), 37u);
    EXPECT_EQ(dp_->worker(0).stats().to_host.load(), 63u);
}

TEST_F(DataplaneTest, AnswersArpForOwnedAddressesIncludingTheVip) {
    for (const char* a : {"10.0.0.1", "10.0.0.100"}) {
        send(kExt, Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.0.0.2"), kZero, ip(a)));
        step();
        auto out = recv(kExt);
        ASSERT_EQ(out.size(), 1u) << a;
        EXPECT_EQ(out[0].ethertype(), 0x0806);
        EXPECT_EQ(out[0].dst_mac(), kClientMac);
        EXPECT_EQ(out[0].src_mac(), mac_[kExt]);
        EXPECT_EQ(out[0].arp_op(), 2);
        EXPECT_EQ(out[0].arp_sip(), ip(a));
        EXPECT_EQ(out[0].arp_sha(), mac_[kExt]);
        EXPECT_EQ(out[0].arp_tip(), ip("10.0.0.2"));
    }
    // Not ours (and not on this port): silence.
    send(kExt, Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.0.0.2"), kZero,
                          ip("172.16.0.1")));
    send(kExt, Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.0.0.2"), kZero, ip("10.0.0.9")));
    step();
    EXPECT_TRUE(recv(kExt).empty());
}

TEST_F(DataplaneTest, AnswersIcmpEchoToOwnedAddresses) {
    send(kExt, Frame::icmp_echo(mac_[kExt], kClientMac, ip("10.0.0.2"), ip("10.0.0.100")));
    step();
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& f = out[0];
    EXPECT_EQ(f.dst_mac(), kClientMac);
    EXPECT_EQ(f.src_mac(), mac_[kExt]);
    EXPECT_EQ(f.saddr(), ip("10.0.0.100"));
    EXPECT_EQ(f.daddr(), ip("10.0.0.2"));
    EXPECT_EQ(f.l4h()[0], 0);  // echo reply
    EXPECT_TRUE(f.ip_csum_ok());
    EXPECT_TRUE(f.l4_csum_ok());
    EXPECT_EQ(std::memcmp(f.l4h() + 8, "dirigo!!", 8), 0);
}

TEST_F(DataplaneTest, NatResolvesTheRealServerThenRewritesBothDirections) {
    learn(kExt, kClientMac, ip("10.0.0.2"), ip("10.0.0.1"));
    // The first SYN waits for ARP: the director asks for the real server on the inside port, the
    // first in the list: .12, added last (the list is newest first, as the kernel's).
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40000, ip("10.0.0.100"), 80));
    step();
    auto asks = recv(kInt);
    ASSERT_EQ(asks.size(), 1u);
    EXPECT_EQ(asks[0].ethertype(), 0x0806);
    EXPECT_EQ(asks[0].arp_op(), 1);
    EXPECT_EQ(asks[0].arp_tip(), ip("172.16.0.12"));
    EXPECT_EQ(asks[0].arp_sip(), ip("172.16.0.1"));
    EXPECT_EQ(asks[0].dst_mac(), kBcast);
    // The real server answers; the queued SYN goes out, rewritten.
    send(kInt, Frame::arp(mac_[kInt], kRs2Mac, 2, kRs2Mac, ip("172.16.0.12"), mac_[kInt],
                          ip("172.16.0.1")));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& syn = out[0];
    EXPECT_EQ(syn.dst_mac(), kRs2Mac);
    EXPECT_EQ(syn.src_mac(), mac_[kInt]);
    EXPECT_EQ(syn.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(syn.sport(), 40000);
    EXPECT_EQ(syn.daddr(), ip("172.16.0.12"));
    EXPECT_EQ(syn.dport(), 80);
    EXPECT_EQ(syn.ttl(), 63);
    EXPECT_TRUE(syn.ip_csum_ok());
    EXPECT_TRUE(syn.l4_csum_ok());

    // SYN-ACK from the real server goes back to the client from the VIP.
    send(kInt, Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.16.0.12"), 80, ip("10.0.0.2"), 40000,
                         0x12, 64, ""));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& sa = out[0];
    EXPECT_EQ(sa.dst_mac(), kClientMac);
    EXPECT_EQ(sa.src_mac(), mac_[kExt]);
    EXPECT_EQ(sa.saddr(), ip("10.0.0.100"));
    EXPECT_EQ(sa.sport(), 80);
    EXPECT_EQ(sa.daddr(), ip("10.0.0.2"));
    EXPECT_EQ(sa.dport(), 40000);
    EXPECT_EQ(sa.ttl(), 63);
    EXPECT_TRUE(sa.ip_csum_ok());
    EXPECT_TRUE(sa.l4_csum_ok());

    // The client's ACK establishes the connection: ActiveConn 1 on the first server.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40000, ip("10.0.0.100"), 80,
                         0x10, 64, "GET / HTTP/1.0\r\n\r\n"));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].l4_csum_ok());
    Reply r = list();
    ASSERT_EQ(r.services.size(), 2u);
    EXPECT_EQ(r.services[0].dests[0].active, 1u);
    EXPECT_EQ(r.services[0].dests[0].inactive, 0u);
    EXPECT_EQ(r.services[0].stats.conns, 1u);
    EXPECT_EQ(r.services[0].stats.inpkts, 2u);
    EXPECT_EQ(r.services[0].stats.outpkts, 1u);
}

TEST_F(DataplaneTest, RoundRobinAlternatesAndConnectionsKeepTheirServer) {
    learn_all();
    for (uint16_t i = 0; i < 6; ++i) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"),
                             static_cast<uint16_t>(41000 + i), ip("10.0.0.100"), 80));
    }
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 6u);
    for (size_t i = 0; i < out.size(); ++i) {
        // Newest first, as the kernel's list: the config's .12 was added after .11.
        EXPECT_EQ(out[i].daddr(), ip(i % 2 == 0 ? "172.16.0.12" : "172.16.0.11")) << i;
        EXPECT_EQ(out[i].dst_mac(), i % 2 == 0 ? kRs2Mac : kRs1Mac);
        EXPECT_TRUE(out[i].ip_csum_ok());
        EXPECT_TRUE(out[i].l4_csum_ok());
    }
    // Later packets of the first connections stay on their servers whatever rr does next.
    for (int round = 0; round < 3; ++round) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 41000, ip("10.0.0.100"),
                             80, 0x10));
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 41001, ip("10.0.0.100"),
                             80, 0x10));
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"),
                             static_cast<uint16_t>(42000 + round), ip("10.0.0.100"), 80));
        step();
        out = recv(kInt);
        ASSERT_EQ(out.size(), 3u);
        EXPECT_EQ(out[0].daddr(), ip("172.16.0.12"));
        EXPECT_EQ(out[1].daddr(), ip("172.16.0.11"));
    }
}

TEST_F(DataplaneTest, ARealServersReplyGoesToTheNewestConnectionWithItsTuple) {
    // One client port to two virtual ports, both NAT to 172.16.0.12:80: the server sees the same
    // four-tuple twice (the first connection long closed on its side) and answers the second SYN.
    // Its SYN-ACK is the new connection's, as IPVS's out lookup finds the newest entry: sent from
    // VIP:8080, not from VIP:80 to a client socket in TIME_WAIT (which answers with an ACK that
    // makes the server reset, and the new connection never opens).
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 43000, ip("10.0.0.100"), 80));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].daddr(), ip("172.16.0.12"));
    send(kInt, Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.16.0.12"), 80, ip("10.0.0.2"), 43000,
                         0x12, 64, ""));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].sport(), 80);

    add_rr_service(cfg::Proto::Tcp, 8080, {{"172.16.0.12", cfg::RealServer{}}}, 80);
    send(kExt,
         Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 43000, ip("10.0.0.100"), 8080));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.12"));
    EXPECT_EQ(out[0].dport(), 80);
    EXPECT_EQ(out[0].sport(), 43000);
    for (int i = 0; i < 2; ++i) {
        // The SYN-ACK, then a data segment: both from VIP:8080.
        send(kInt, Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.16.0.12"), 80, ip("10.0.0.2"), 43000,
                             i == 0 ? 0x12 : 0x18, 64, i == 0 ? "" : "web2"));
        step();
        out = recv(kExt);
        ASSERT_EQ(out.size(), 1u) << i;
        EXPECT_EQ(out[0].saddr(), ip("10.0.0.100")) << i;
        EXPECT_EQ(out[0].sport(), 8080) << i;
        EXPECT_TRUE(out[0].l4_csum_ok()) << i;
    }
    // The first connection keeps its client direction; the second still gets its replies after
    // the first one's packets.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 43000, ip("10.0.0.100"), 80,
                         0x10));
    send(kInt, Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.16.0.12"), 80, ip("10.0.0.2"), 43000,
                         0x10, 64, ""));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].sport(), 8080);
}

TEST_F(DataplaneTest, TwoNewConnectionsOfOneBurstWithOneReplyKeyGiveItToTheLater) {
    // The shared reply key of the test above, both SYNs in one burst: the worker stages both
    // reply keys and indexes them at the end of the burst's decisions, in order, so the later
    // SYN's connection (VIP:8080) gets the server's SYN-ACK. The ACK after each SYN, in the same
    // burst, finds its connection by the client key at once.
    learn_all();
    add_rr_service(cfg::Proto::Tcp, 8080, {{"172.16.0.12", cfg::RealServer{}}}, 80);
    const uint32_t client = ip("10.0.0.2");
    const uint32_t vip = ip("10.0.0.100");
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, client, 43001, vip, 80));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, client, 43001, vip, 80, 0x10));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, client, 43001, vip, 8080));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, client, 43001, vip, 8080, 0x10));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);  // both ACKs found their connection (no NoConn drop)
    for (const auto& f : out) {
        EXPECT_EQ(f.daddr(), ip("172.16.0.12"));  // rr's first pick, as in the test above
        EXPECT_EQ(f.dport(), 80);
        EXPECT_EQ(f.sport(), 43001);
    }
    EXPECT_EQ(drops(dp::Drop::NoConn), 0u);
    send(kInt, Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.16.0.12"), 80, client, 43001, 0x12, 64,
                         ""));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].saddr(), vip);
    EXPECT_EQ(out[0].sport(), 8080);
    EXPECT_TRUE(out[0].l4_csum_ok());
}

// ---- SCTP (IPVS's ip_vs_proto_sctp.c) ----------------------------------------------------------

constexpr uint16_t kSctpPort = 5000;
const std::string kInitValue(16, '\x01');  // initiate tag, a_rwnd, streams, initial TSN

/// Client (10.0.0.2:cport) to VIP:5000, one chunk.
Frame sctp_from_client(const Mac& dst, uint16_t cport, uint32_t vtag, uint8_t type,
                       const std::string& value = "") {
    return Frame::sctp(dst, kClientMac, ip("10.0.0.2"), cport, ip("10.0.0.100"), kSctpPort, vtag,
                       {{type, 0, value}});
}

/// Real server `rs` (port `rport`) to the client, one chunk.
Frame sctp_from_server(const Mac& dst, const Mac& rs_mac, const char* rs, uint16_t cport,
                       uint32_t vtag, uint8_t type, const std::string& value = "",
                       uint16_t rport = kSctpPort) {
    return Frame::sctp(dst, rs_mac, ip(rs), rport, ip("10.0.0.2"), cport, vtag, {{type, 0, value}});
}

// Two associations through NAT to servers on another port (so that every rewrite changes bytes
// the CRC covers): rr puts them on the two servers; each packet is rewritten both ways with a
// valid CRC32c (the verification tags untouched); the states follow IPVS's table and ActiveConn
// counts the ESTABLISHED one only.
TEST_F(DataplaneTest, SctpAssociationsThroughNatAreBalancedWithValidChecksums) {
    learn_all();
    constexpr uint16_t kRport = 5001;
    add_rr_service(cfg::Proto::Sctp, kSctpPort,
                   {{"172.16.0.11", cfg::RealServer{}}, {"172.16.0.12", cfg::RealServer{}}},
                   kRport);
    const auto expect_to_server = [&](const Frame& f, const char* rs, uint16_t cport,
                                      uint32_t vtag) {
        EXPECT_EQ(f.proto(), 132);
        EXPECT_EQ(f.saddr(), ip("10.0.0.2"));
        EXPECT_EQ(f.sport(), cport);
        EXPECT_EQ(f.daddr(), ip(rs));
        EXPECT_EQ(f.dport(), kRport);
        EXPECT_EQ(f.ttl(), 63);
        EXPECT_EQ(f.sctp_vtag(), vtag);
        EXPECT_TRUE(f.ip_csum_ok());
        EXPECT_TRUE(f.sctp_crc_ok());
    };
    const auto expect_to_client = [&](const Frame& f, uint16_t cport, uint32_t vtag) {
        EXPECT_EQ(f.dst_mac(), kClientMac);
        EXPECT_EQ(f.saddr(), ip("10.0.0.100"));  // from the VIP
        EXPECT_EQ(f.sport(), kSctpPort);
        EXPECT_EQ(f.daddr(), ip("10.0.0.2"));
        EXPECT_EQ(f.dport(), cport);
        EXPECT_EQ(f.sctp_vtag(), vtag);
        EXPECT_TRUE(f.ip_csum_ok());
        EXPECT_TRUE(f.sctp_crc_ok());
    };
    // Two INITs (verification tag 0, as RFC 9260 requires): rr from the list head, newest first.
    send(kExt, sctp_from_client(mac_[kExt], 40000, 0, ct::kSctpInit, kInitValue));
    send(kExt, sctp_from_client(mac_[kExt], 40001, 0, ct::kSctpInit, kInitValue));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    expect_to_server(out[0], "172.16.0.12", 40000, 0);
    EXPECT_EQ(out[0].dst_mac(), kRs2Mac);
    expect_to_server(out[1], "172.16.0.11", 40001, 0);
    EXPECT_EQ(out[1].dst_mac(), kRs1Mac);

    // Association A (40000, on .12) completes its handshake and carries data.
    send(kInt, sctp_from_server(mac_[kInt], kRs2Mac, "172.16.0.12", 40000, 0xc1c1c1c1,
                                ct::kSctpInitAck, kInitValue + "state-cookie", kRport));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40000, 0xc1c1c1c1);
    send(kExt,
         sctp_from_client(mac_[kExt], 40000, 0x5e5e5e5e, ct::kSctpCookieEcho, "state-cookie"));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], "172.16.0.12", 40000, 0x5e5e5e5e);
    send(kInt, sctp_from_server(mac_[kInt], kRs2Mac, "172.16.0.12", 40000, 0xc1c1c1c1,
                                ct::kSctpCookieAck, "", kRport));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40000, 0xc1c1c1c1);
    send(kExt, sctp_from_client(mac_[kExt], 40000, 0x5e5e5e5e, ct::kSctpData,
                                std::string(12, '\0') + "hello, sctp"));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], "172.16.0.12", 40000, 0x5e5e5e5e);
    send(kInt, sctp_from_server(mac_[kInt], kRs2Mac, "172.16.0.12", 40000, 0xc1c1c1c1,
                                ct::kSctpSack, std::string(12, '\0'), kRport));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40000, 0xc1c1c1c1);

    // Association B (40001, on .11) got an INIT ACK only.
    send(kInt, sctp_from_server(mac_[kInt], kRs1Mac, "172.16.0.11", 40001, 0xb0b0b0b0,
                                ct::kSctpInitAck, kInitValue, kRport));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40001, 0xb0b0b0b0);

    const auto states = [&] {
        ctl::Request r;
        r.op = ctl::Op::ListConns;
        const Reply rep = ctl_->handle(r);
        EXPECT_EQ(rep.code, Errc::Ok) << rep.message;
        std::map<uint16_t, std::string> by_port;
        for (const ctl::ConnInfo& c : rep.conns) {
            EXPECT_EQ(c.proto, IPPROTO_SCTP);
            EXPECT_EQ(c.vport, kSctpPort);
            by_port[c.cport] = c.state;
        }
        return by_port;
    };
    auto st = states();
    EXPECT_EQ(st[40000], "ESTABLISHED");
    EXPECT_EQ(st[40001], "C-SENT");
    const auto sctp_service = [&]() -> ctl::ServiceInfo {
        for (const ctl::ServiceInfo& s : list().services) {
            if (s.service.key.proto == cfg::Proto::Sctp) {
                return s;
            }
        }
        ADD_FAILURE() << "no SCTP service listed";
        return {};
    };
    ctl::ServiceInfo svc = sctp_service();
    ASSERT_EQ(svc.dests.size(), 2u);
    for (const ctl::DestInfo& d : svc.dests) {
        const bool a = d.server.addr == ntohl(ip("172.16.0.12"));
        EXPECT_EQ(d.active, a ? 1u : 0u);
        EXPECT_EQ(d.inactive, a ? 0u : 1u);
        EXPECT_EQ(d.stats.conns, 1u);
    }
    EXPECT_EQ(svc.stats.conns, 2u);
    EXPECT_EQ(svc.stats.inpkts, 4u);   // two INITs, COOKIE ECHO, DATA
    EXPECT_EQ(svc.stats.outpkts, 4u);  // two INIT ACKs, COOKIE ACK, SACK

    // A shuts down from the client: S-RECEIVED, S-ACK-SENT, CLOSED; no longer active.
    send(kExt,
         sctp_from_client(mac_[kExt], 40000, 0x5e5e5e5e, ct::kSctpShutdown, std::string(4, '\0')));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    EXPECT_EQ(states()[40000], "S-RECEIVED");
    send(kInt, sctp_from_server(mac_[kInt], kRs2Mac, "172.16.0.12", 40000, 0xc1c1c1c1,
                                ct::kSctpShutdownAck, "", kRport));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40000, 0xc1c1c1c1);
    EXPECT_EQ(states()[40000], "S-ACK-SENT");
    send(kExt, sctp_from_client(mac_[kExt], 40000, 0x5e5e5e5e, ct::kSctpShutdownComplete));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], "172.16.0.12", 40000, 0x5e5e5e5e);
    EXPECT_EQ(states()[40000], "CLOSED");
    svc = sctp_service();
    for (const ctl::DestInfo& d : svc.dests) {
        EXPECT_EQ(d.active, 0u);
        EXPECT_EQ(d.inactive, 1u);
    }
}

// IPVS's sctp_conn_schedule: only an INIT opens a connection; any other chunk of an unknown
// association is dropped and counted (no_conn), and the INIT after it is scheduled as usual.
TEST_F(DataplaneTest, SctpChunksOtherThanInitOpenNothing) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", cfg::RealServer{}}});
    const uint64_t before = drops(dp::Drop::NoConn);
    const uint8_t kNotInit[] = {
        ct::kSctpData,  ct::kSctpInitAck,  ct::kSctpCookieEcho, ct::kSctpCookieAck,
        ct::kSctpAbort, ct::kSctpShutdown, ct::kSctpHeartbeat,  0x80};
    uint16_t cport = 41000;
    for (uint8_t type : kNotInit) {
        send(kExt, sctp_from_client(mac_[kExt], cport++, 0x1234, type, "x"));
    }
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NoConn), before + sizeof(kNotInit));
    ctl::Request lc;
    lc.op = ctl::Op::ListConns;
    EXPECT_TRUE(ctl_->handle(lc).conns.empty());
    // A runt SCTP header is counted as one, not read past.
    Frame runt = sctp_from_client(mac_[kExt], 41100, 0, ct::kSctpInit);
    runt.b.resize(14 + 20 + 12);
    runt.b[14 + 3] = 32;  // total length: IP header + SCTP common header, no chunk
    runt.b[14 + 10] = 0;
    runt.b[14 + 11] = 0;
    const uint16_t c = static_cast<uint16_t>(~fold(sum16(runt.b.data() + 14, 20)));
    runt.b[14 + 10] = static_cast<uint8_t>(c >> 8);
    runt.b[14 + 11] = static_cast<uint8_t>(c);
    const uint64_t runts = drops(dp::Drop::Runt);
    send(kExt, runt);
    step();
    EXPECT_EQ(drops(dp::Drop::Runt), runts + 1);
    send(kExt, sctp_from_client(mac_[kExt], 41000, 0, ct::kSctpInit, kInitValue));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.11"));
    EXPECT_TRUE(out[0].sctp_crc_ok());
}

// NAT on the service's own port: the CRC covers no address, so the SCTP packet is left as it is
// (IPVS's sctp_dnat_handler recomputes only for a changed port) and stays valid.
TEST_F(DataplaneTest, SctpNatOnTheSamePortKeepsTheChecksumItHad) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", cfg::RealServer{}}});
    const Frame init = sctp_from_client(mac_[kExt], 43000, 0, ct::kSctpInit, kInitValue);
    send(kExt, init);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.11"));
    EXPECT_TRUE(out[0].ip_csum_ok());
    EXPECT_TRUE(out[0].sctp_crc_ok());
    ASSERT_EQ(out[0].b.size(), init.b.size());
    EXPECT_TRUE(std::equal(init.b.begin() + 34, init.b.end(), out[0].b.begin() + 34));
    send(kInt, sctp_from_server(mac_[kInt], kRs1Mac, "172.16.0.11", 43000, 0x99, ct::kSctpInitAck,
                                kInitValue));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.100"));
    EXPECT_TRUE(out[0].sctp_crc_ok());
}

// Direct routing: the SCTP packet leaves as it came (only the MACs change), and the director,
// which sees the client's side only, establishes on the COOKIE ECHO (IPVS's input-only table).
TEST_F(DataplaneTest, SctpDirectRoutingLeavesTheSctpHeaderAlone) {
    learn_all();
    cfg::RealServer dr;
    dr.fwd = cfg::Fwd::Route;
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", dr}});
    const Frame init = sctp_from_client(mac_[kExt], 42000, 0, ct::kSctpInit, kInitValue);
    send(kExt, init);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].dst_mac(), kRs1Mac);
    EXPECT_EQ(out[0].src_mac(), mac_[kInt]);
    // Byte for byte from the IPv4 header on: addresses, TTL, ports, tag and CRC untouched.
    ASSERT_EQ(out[0].b.size(), init.b.size());
    EXPECT_TRUE(std::equal(init.b.begin() + 14, init.b.end(), out[0].b.begin() + 14));
    const Frame echo =
        sctp_from_client(mac_[kExt], 42000, 0x77777777, ct::kSctpCookieEcho, "cookie");
    send(kExt, echo);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(std::equal(echo.b.begin() + 14, echo.b.end(), out[0].b.begin() + 14));
    ctl::Request lc;
    lc.op = ctl::Op::ListConns;
    const Reply rep = ctl_->handle(lc);
    ASSERT_EQ(rep.conns.size(), 1u);
    EXPECT_EQ(rep.conns[0].state, "ESTABLISHED");
    EXPECT_GT(rep.conns[0].expires_ms, 895000u);  // SCTP ESTABLISHED: 900 s
    for (const ctl::ServiceInfo& s : list().services) {
        if (s.service.key.proto == cfg::Proto::Sctp) {
            ASSERT_EQ(s.dests.size(), 1u);
            EXPECT_EQ(s.dests[0].active, 1u);
            EXPECT_EQ(s.dests[0].inactive, 0u);
        }
    }
}

TEST_F(DataplaneTest, UdpNatKeepsAnAbsentChecksumAbsentAndMapsPorts) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5000, ip("10.0.0.100"), 53,
                         0, 64, "query", false));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5001, ip("10.0.0.100"), 53,
                         0, 64, "query", true));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.11"));
    EXPECT_EQ(out[0].dport(), 5353);
    EXPECT_EQ(out[0].l4h()[6], 0);
    EXPECT_EQ(out[0].l4h()[7], 0);
    EXPECT_EQ(out[1].dport(), 5353);
    EXPECT_TRUE(out[1].l4_csum_ok());
    EXPECT_TRUE(out[1].ip_csum_ok());
    // The reply leaves from the service port, not the mapped one.
    send(kInt, Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 5353, ip("10.0.0.2"), 5001,
                         0, 64, "answer", true));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.100"));
    EXPECT_EQ(out[0].sport(), 53);
    EXPECT_TRUE(out[0].l4_csum_ok());
}

TEST_F(DataplaneTest, RoutesOtherTrafficLikeARouter) {
    learn_all();
    // Real server to client, not part of any connection: plain forwarding.
    send(kInt, Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 9999, ip("10.0.0.2"), 7777,
                         0, 9));
    step();
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].saddr(), ip("172.16.0.11"));
    EXPECT_EQ(out[0].daddr(), ip("10.0.0.2"));
    EXPECT_EQ(out[0].ttl(), 8);
    EXPECT_EQ(out[0].dst_mac(), kClientMac);
    EXPECT_TRUE(out[0].ip_csum_ok());
    EXPECT_TRUE(out[0].l4_csum_ok());
    // Off-subnet destination goes to the default gateway, which must be resolved first.
    send(kInt, Frame::icmp_echo(mac_[kInt], kRs1Mac, ip("172.16.0.11"), ip("192.0.2.7")));
    step();
    auto asks = recv(kExt);
    ASSERT_EQ(asks.size(), 1u);
    EXPECT_EQ(asks[0].arp_tip(), ip("10.0.0.254"));
    send(kExt, Frame::arp(mac_[kExt], kGwMac, 2, kGwMac, ip("10.0.0.254"), mac_[kExt],
                          ip("10.0.0.1")));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].dst_mac(), kGwMac);
    EXPECT_EQ(out[0].daddr(), ip("192.0.2.7"));
    EXPECT_EQ(out[0].ttl(), 63);
}

TEST_F(DataplaneTest, ExpiredTtlGetsTimeExceededFromTheIngressAddress) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 43000, ip("172.16.0.11"), 22,
                         0x02, 1));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& f = out[0];
    EXPECT_EQ(f.proto(), 1);
    EXPECT_EQ(f.l4h()[0], 11);  // time exceeded
    EXPECT_EQ(f.saddr(), ip("10.0.0.1"));
    EXPECT_EQ(f.daddr(), ip("10.0.0.2"));
    EXPECT_EQ(f.dst_mac(), kClientMac);
    EXPECT_TRUE(f.ip_csum_ok());
    EXPECT_TRUE(f.l4_csum_ok());
    // The quoted header is the original one.
    uint32_t quoted_dst;
    std::memcpy(&quoted_dst, f.l4h() + 8 + 16, 4);
    EXPECT_EQ(quoted_dst, ip("172.16.0.11"));
}

TEST_F(DataplaneTest, BadFramesAreDroppedAndCountedByReason) {
    learn_all();
    // A runt, a bad IPv4 checksum, LLDP, a frame for another MAC, a non-SYN to the VIP with no
    // connection, and TCP to an owned address without a service.
    Frame runt = Frame::eth(mac_[kExt], kClientMac, 0x0800);
    runt.b.resize(20, 0);
    send(kExt, runt);
    Frame bad = Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 1, ip("10.0.0.100"), 80);
    bad.b[24] ^= 0xff;
    send(kExt, bad);
    Frame lldp = Frame::eth(mac_[kExt], kClientMac, 0x88cc);
    lldp.b.resize(80, 0);
    send(kExt, lldp);
    send(kExt, Frame::l4(Mac{0x02, 0, 0, 0, 0, 0x99}, kClientMac, 6, ip("10.0.0.2"), 1,
                         ip("10.0.0.100"), 80));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 2, ip("10.0.0.100"), 80, 0x10));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 3, ip("10.0.0.100"), 8080));
    Frame trunc = Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 4, ip("10.0.0.100"), 80);
    trunc.b.resize(40);  // IPv4 header claims more than the frame holds
    send(kExt, trunc);
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::Runt), 2u);
    EXPECT_EQ(drops(dp::Drop::BadIpChecksum), 1u);
    EXPECT_EQ(drops(dp::Drop::NotIpv4), 1u);
    EXPECT_EQ(drops(dp::Drop::NotForUs), 1u);
    EXPECT_EQ(drops(dp::Drop::NoConn), 1u);
    EXPECT_EQ(drops(dp::Drop::NoService), 1u);
}

TEST_F(DataplaneTest, RuleChangesReachTheWorkerWithoutDisturbingEstablishedFlows) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44000, ip("10.0.0.100"), 80));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);  // to .11
    // Remove .12 then .11's twin: new flows must all go to .11; the old flow stays on .11.
    ctl::Request del;
    del.op = ctl::Op::DelDest;
    del.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 80};
    del.dest.addr = ntohl(ip("172.16.0.12"));
    del.dest.port = 80;
    ASSERT_EQ(ctl_->handle(del).code, Errc::Ok);
    EXPECT_EQ(ctl_->handle(del).code, Errc::NoDest);
    for (uint16_t i = 1; i <= 4; ++i) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"),
                             static_cast<uint16_t>(44000 + i), ip("10.0.0.100"), 80));
    }
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);
    for (const Frame& f : out) {
        EXPECT_EQ(f.daddr(), ip("172.16.0.11"));
    }
    // Delete the whole service: the established flow still forwards, new ones are refused.
    ctl::Request dsvc;
    dsvc.op = ctl::Op::DelService;
    dsvc.service.key = del.service.key;
    ASSERT_EQ(ctl_->handle(dsvc).code, Errc::Ok);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44000, ip("10.0.0.100"), 80,
                         0x10));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 45000, ip("10.0.0.100"), 80));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].sport(), 44000);
    EXPECT_EQ(drops(dp::Drop::NoService), 1u);
}

TEST_F(DataplaneTest, ConnectionListShowsStateExpiryAndAllThreeEndpoints) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 46000, ip("10.0.0.100"), 80));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 46001, ip("10.0.0.100"), 53,
                         0, 64, "q"));
    step();
    ASSERT_EQ(recv(kInt).size(), 2u);
    ctl::Request r;
    r.op = ctl::Op::ListConns;
    Reply rep = ctl_->handle(r);
    ASSERT_EQ(rep.code, Errc::Ok) << rep.message;
    ASSERT_EQ(rep.conns.size(), 2u);
    const ctl::ConnInfo& tcp = rep.conns[0].proto == IPPROTO_TCP ? rep.conns[0] : rep.conns[1];
    const ctl::ConnInfo& udp = rep.conns[0].proto == IPPROTO_TCP ? rep.conns[1] : rep.conns[0];
    EXPECT_EQ(tcp.state, "SYN_RECV");
    EXPECT_EQ(tcp.caddr, ntohl(ip("10.0.0.2")));
    EXPECT_EQ(tcp.cport, 46000);
    EXPECT_EQ(tcp.vaddr, ntohl(ip("10.0.0.100")));
    EXPECT_EQ(tcp.vport, 80);
    EXPECT_EQ(tcp.daddr, ntohl(ip("172.16.0.12")));  // rr's first: the newest server
    EXPECT_EQ(tcp.dport, 80);
    EXPECT_GT(tcp.expires_ms, 55000u);  // SYN_RECV: 60 s
    EXPECT_LE(tcp.expires_ms, 60000u);
    EXPECT_EQ(udp.state, "UDP");
    EXPECT_EQ(udp.dport, 5353);
    EXPECT_GT(udp.expires_ms, 295000u);  // UDP: 300 s
}

TEST_F(DataplaneTest, TimeoutsFromSetApplyToNewStates) {
    learn_all();
    ctl::Request set;
    set.op = ctl::Op::SetTimeouts;
    set.timeouts = {30, 5, 60};
    ASSERT_EQ(ctl_->handle(set).code, Errc::Ok);
    ctl::Request get;
    get.op = ctl::Op::GetTimeouts;
    Reply g = ctl_->handle(get);
    EXPECT_EQ(g.timeouts.tcp, 30u);
    EXPECT_EQ(g.timeouts.tcp_fin, 5u);
    EXPECT_EQ(g.timeouts.udp, 60u);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 47000, ip("10.0.0.100"), 80));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 47000, ip("10.0.0.100"), 80,
                         0x10));
    step();
    ctl::Request r;
    r.op = ctl::Op::ListConns;
    Reply rep = ctl_->handle(r);
    ASSERT_EQ(rep.conns.size(), 1u);
    EXPECT_EQ(rep.conns[0].state, "ESTABLISHED");
    EXPECT_LE(rep.conns[0].expires_ms, 30000u);
    EXPECT_GT(rep.conns[0].expires_ms, 25000u);
}

// One service with a NAT, a DR and a TUN server (IPVS allows the mix), scheduled rr.
TEST_F(DataplaneTest, MixedServiceForwardsNatDirectRoutingAndTunnel) {
    learn_all();
    const Mac rs3 = {0x02, 0x5e, 0, 0, 0, 0x13};
    learn(kInt, rs3, ip("172.16.0.13"), ip("172.16.0.1"));
    const Mac rs4 = {0x02, 0x5e, 0, 0, 0, 0x14};
    learn(kInt, rs4, ip("172.16.0.14"), ip("172.16.0.1"));
    ctl::Request b;
    b.op = ctl::Op::Batch;
    ctl::Request a;
    a.op = ctl::Op::AddService;
    a.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 8080};
    a.service.scheduler = "rr";
    b.batch.push_back(a);
    const std::pair<const char*, cfg::Fwd> servers[] = {{"172.16.0.11", cfg::Fwd::Masq},
                                                        {"172.16.0.13", cfg::Fwd::Route},
                                                        {"172.16.0.14", cfg::Fwd::Tunnel}};
    for (const auto& [addr, fwd] : servers) {
        ctl::Request d;
        d.op = ctl::Op::AddDest;
        d.service.key = a.service.key;
        d.dest = {ntohl(ip(addr)), 8080, fwd, 1, 0, 0};
        b.batch.push_back(d);
    }
    ASSERT_EQ(ctl_->handle(b).code, Errc::Ok);
    for (uint16_t i = 0; i < 3; ++i) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"),
                             static_cast<uint16_t>(50000 + i), ip("10.0.0.100"), 8080, 0x02, 64,
                             "hello"));
    }
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 3u);
    // rr from the list head, newest first as in the kernel: TUN (50000), DR (50001), NAT (50002).
    // NAT: destination rewritten.
    EXPECT_EQ(out[2].daddr(), ip("172.16.0.11"));
    EXPECT_EQ(out[2].ttl(), 63);
    // DR: only the MACs change.
    const Frame& dr = out[1];
    EXPECT_EQ(dr.dst_mac(), rs3);
    EXPECT_EQ(dr.src_mac(), mac_[kInt]);
    EXPECT_EQ(dr.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(dr.daddr(), ip("10.0.0.100"));
    EXPECT_EQ(dr.dport(), 8080);
    EXPECT_EQ(dr.ttl(), 64);
    EXPECT_TRUE(dr.ip_csum_ok());
    EXPECT_TRUE(dr.l4_csum_ok());
    // TUN: an outer IPv4 header from the director to the real server, the packet inside intact.
    const Frame& tun = out[0];
    EXPECT_EQ(tun.dst_mac(), rs4);
    EXPECT_EQ(tun.proto(), 4);
    EXPECT_EQ(tun.saddr(), ip("172.16.0.1"));
    EXPECT_EQ(tun.daddr(), ip("172.16.0.14"));
    EXPECT_TRUE(tun.ip_csum_ok());
    EXPECT_EQ(tun.iph()[6] & 0x40, 0x40);  // DF carried from the inner header
    Frame inner;
    inner.b.assign(tun.b.begin(), tun.b.begin() + 14);
    inner.b.insert(inner.b.end(), tun.b.begin() + 34, tun.b.end());
    EXPECT_EQ(tun.ip_len(), inner.ip_len() + 20);
    EXPECT_EQ(inner.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(inner.daddr(), ip("10.0.0.100"));
    EXPECT_EQ(inner.sport(), 50000);
    EXPECT_EQ(inner.ttl(), 64);
    EXPECT_TRUE(inner.ip_csum_ok());
    EXPECT_TRUE(inner.l4_csum_ok());
    // DR/TUN connections are inbound-only: the client's ACK alone establishes them.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 50001, ip("10.0.0.100"), 8080,
                         0x10));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    Reply r = list();
    ASSERT_EQ(r.services.size(), 3u);
    EXPECT_EQ(r.services[2].dests[1].active, 1u);    // DR (list: TUN, DR, NAT)
    EXPECT_EQ(r.services[2].dests[0].inactive, 1u);  // TUN
}

TEST_F(DataplaneTest, TunnelAppliesTheMtuRule) {
    learn_all();
    cfg::RealServer rs;
    rs.fwd = cfg::Fwd::Tunnel;
    add_rr_service(cfg::Proto::Udp, 9000, {{"172.16.0.12", rs}});
    // 1490 bytes of IP: fits the 1500-byte port, but not with 20 more in front.
    const std::string big(1490 - 28, 'z');
    Frame df = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 6000, ip("10.0.0.100"), 9000,
                         0, 64, big);
    send(kExt, df);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto icmp = recv(kExt);
    ASSERT_EQ(icmp.size(), 1u);
    EXPECT_EQ(icmp[0].proto(), 1);
    EXPECT_EQ(icmp[0].l4h()[0], 3);  // destination unreachable
    EXPECT_EQ(icmp[0].l4h()[1], 4);  // fragmentation needed
    EXPECT_EQ(icmp[0].l4h()[6] << 8 | icmp[0].l4h()[7], 1480);
    EXPECT_EQ(icmp[0].daddr(), ip("10.0.0.2"));
    EXPECT_TRUE(icmp[0].l4_csum_ok());
    // Without DF the encapsulated packet is fragmented on the way out, as IPVS lets ip_fragment
    // do (the tunnel's outer header has no DF either); a small one goes through whole.
    Frame nodf = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 6001, ip("10.0.0.100"), 9000,
                           0, 64, big);
    nodf.b[14 + 6] = 0;
    nodf.b[14 + 10] = nodf.b[14 + 11] = 0;
    const uint16_t c = static_cast<uint16_t>(~test::fold(test::sum16(nodf.b.data() + 14, 20)));
    nodf.b[14 + 10] = static_cast<uint8_t>(c >> 8);
    nodf.b[14 + 11] = static_cast<uint8_t>(c);
    send(kExt, nodf);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 6002, ip("10.0.0.100"), 9000,
                         0, 64, "small"));
    step();
    EXPECT_EQ(drops(dp::Drop::TooBig), 0u);
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 3u);
    // Two fragments of the outer packet (1510 bytes of IP: 1500 + 30 with its second header),
    // whose payload is the inner packet exactly, then the small one.
    std::vector<uint8_t> outer_payload;
    uint16_t frag_id = 0;
    for (size_t i = 0; i < 2; ++i) {
        const Frame& f = out[i];
        EXPECT_EQ(f.proto(), 4);
        EXPECT_TRUE(f.ip_csum_ok());
        EXPECT_LE(f.ip_len(), 1500u);
        const uint16_t off = static_cast<uint16_t>(f.iph()[6] << 8 | f.iph()[7]);
        EXPECT_EQ(off & 0x4000, 0);                       // no DF
        EXPECT_EQ((off & 0x2000) != 0, i == 0);           // MF on the first only
        EXPECT_EQ(static_cast<size_t>(off & 0x1fff) * 8, outer_payload.size());
        const uint16_t id = static_cast<uint16_t>(f.iph()[4] << 8 | f.iph()[5]);
        if (i == 0) {
            frag_id = id;
        }
        EXPECT_EQ(id, frag_id);
        outer_payload.insert(outer_payload.end(), f.b.begin() + 34, f.b.begin() + 14 +
                                                                        static_cast<long>(f.ip_len()));
    }
    EXPECT_EQ(outer_payload, std::vector<uint8_t>(nodf.b.begin() + 14, nodf.b.end()));
    EXPECT_EQ(out[2].proto(), 4);
    EXPECT_EQ(out[2].ip_len(), 20u + 28u + 5u);
}

// GUE and GRE tunnels (ipvsadm --tun-type gue|gre): the outer headers byte for byte as IPVS
// writes them (ip_vs_tunnel_xmit, ipvs_gue_encap, ipvs_gre_encap: struct guehdr, gre_build_header),
// the inner packet untouched.
TEST_F(DataplaneTest, GueAndGreTunnelsWriteTheKernelsHeaders) {
    learn_all();
    struct Rs {
        const char* addr;
        Mac mac;
        cfg::TunType type;
        uint16_t port;
        cfg::TunCsum csum;
    };
    const Rs servers[] = {
        {"172.16.0.21", {0x02, 0x5e, 0, 0, 0, 0x21}, cfg::TunType::Gue, 6080, cfg::TunCsum::None},
        {"172.16.0.22", {0x02, 0x5e, 0, 0, 0, 0x22}, cfg::TunType::Gue, 5555, cfg::TunCsum::Csum},
        {"172.16.0.23", {0x02, 0x5e, 0, 0, 0, 0x23}, cfg::TunType::Gre, 0, cfg::TunCsum::None},
        {"172.16.0.24", {0x02, 0x5e, 0, 0, 0, 0x24}, cfg::TunType::Gre, 0, cfg::TunCsum::Csum},
        {"172.16.0.25", {0x02, 0x5e, 0, 0, 0, 0x25}, cfg::TunType::Gue, 6081,
         cfg::TunCsum::RemCsum},
    };
    const auto tunnel = [](const Rs& rs) {
        cfg::RealServer d;
        d.fwd = cfg::Fwd::Tunnel;
        d.tun_type = rs.type;
        d.tun_port = rs.port;
        d.tun_csum = rs.csum;
        return std::pair{rs.addr, d};
    };
    for (const Rs& rs : servers) {
        learn(kInt, rs.mac, ip(rs.addr), ip("172.16.0.1"));
    }
    add_rr_service(cfg::Proto::Tcp, 443,
                   {tunnel(servers[0]), tunnel(servers[1]), tunnel(servers[2]), tunnel(servers[3]),
                    tunnel(servers[4])});
    std::vector<Frame> sent;
    for (uint16_t i = 0; i < 5; ++i) {
        // An odd-length payload and ECN CE (tos 0x03) on the inner packet.
        Frame f = Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"),
                            static_cast<uint16_t>(51000 + i), ip("10.0.0.100"), 443, 0x02, 57,
                            "hello, tunnel");
        f.b[14 + 1] = 0xb7;  // DSCP 45, ECN CE
        f.b[14 + 10] = f.b[14 + 11] = 0;
        const uint16_t c = static_cast<uint16_t>(~test::fold(test::sum16(f.b.data() + 14, 20)));
        f.b[14 + 10] = static_cast<uint8_t>(c >> 8);
        f.b[14 + 11] = static_cast<uint8_t>(c);
        send(kExt, f);
        sent.push_back(f);
    }
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 5u);
    for (const Rs& rs : servers) {
        const Frame* got = nullptr;
        for (const Frame& f : out) {
            if (f.daddr() == ip(rs.addr)) {
                got = &f;
            }
        }
        ASSERT_NE(got, nullptr) << rs.addr;
        // Which client packet it carries: the inner source port.
        const size_t hdr = rs.type == cfg::TunType::Gue ? 8 + 4
                           : rs.csum == cfg::TunCsum::Csum ? 8
                                                           : 4;
        const size_t inner_at = 34 + hdr;
        const uint16_t inner_sport =
            static_cast<uint16_t>(got->b[inner_at + 20] << 8 | got->b[inner_at + 21]);
        const Frame& in = sent[inner_sport - 51000];
        const std::vector<uint8_t> inner(in.b.begin() + 14, in.b.end());

        // The frame IPVS would send, built here from the kernel's layouts.
        Frame want = Frame::eth(rs.mac, mac_[kInt], 0x0800);
        const size_t tot = 20 + hdr + inner.size();
        const uint8_t proto = rs.type == cfg::TunType::Gue ? 17 : 47;
        const uint32_t src = ip("172.16.0.1");
        const uint32_t dst = ip(rs.addr);
        uint8_t oh[20] = {0x45, 0xb6,  // DSCP kept, CE becomes ECT(0) (INET_ECN_encapsulate)
                          static_cast<uint8_t>(tot >> 8), static_cast<uint8_t>(tot),
                          0, 0, 0x40, 0,  // id 0 with DF; DF from the inner header
                          57, proto, 0, 0};  // the inner TTL, not decremented
        std::memcpy(oh + 12, &src, 4);
        std::memcpy(oh + 16, &dst, 4);
        const uint16_t oc = static_cast<uint16_t>(~test::fold(test::sum16(oh, 20)));
        oh[10] = static_cast<uint8_t>(oc >> 8);
        oh[11] = static_cast<uint8_t>(oc);
        want.b.insert(want.b.end(), oh, oh + 20);
        if (rs.type == cfg::TunType::Gue) {
            // UDP from a flow-hashed ephemeral port to the tunnel port, then struct guehdr:
            // version 0, control 0, hlen 0, proto_ctype IPPROTO_IPIP, flags 0.
            const uint16_t sport = got->sport();
            EXPECT_GE(sport, 32768);
            EXPECT_LE(sport, 60998);
            const size_t ulen = 8 + 4 + inner.size();
            const uint8_t uh[12] = {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
                                    static_cast<uint8_t>(rs.port >> 8),
                                    static_cast<uint8_t>(rs.port),
                                    static_cast<uint8_t>(ulen >> 8), static_cast<uint8_t>(ulen),
                                    0, 0, 0x00, 0x04, 0x00, 0x00};
            const size_t at = want.b.size();
            want.b.insert(want.b.end(), uh, uh + 12);
            want.b.insert(want.b.end(), inner.begin(), inner.end());
            if (rs.csum != cfg::TunCsum::None) {
                // --tun-csum and --tun-remcsum: udp_set_csum's full checksum (remcsum adds no
                // option for a packet whose checksum is complete).
                uint32_t sum = test::sum16(want.b.data() + 26, 8) + 17 + static_cast<uint32_t>(ulen);
                sum = test::sum16(want.b.data() + at, ulen, sum);
                uint16_t uc = static_cast<uint16_t>(~test::fold(sum));
                uc = uc == 0 ? 0xffff : uc;
                want.b[at + 6] = static_cast<uint8_t>(uc >> 8);
                want.b[at + 7] = static_cast<uint8_t>(uc);
            }
        } else {
            // gre_build_header: flags (C with a checksum), version 0, protocol ETH_P_IP; with C,
            // the checksum over header and payload, then 16 reserved bits.
            const bool c = rs.csum == cfg::TunCsum::Csum;
            const uint8_t gh[8] = {static_cast<uint8_t>(c ? 0x80 : 0), 0, 0x08, 0x00, 0, 0, 0, 0};
            const size_t at = want.b.size();
            want.b.insert(want.b.end(), gh, gh + (c ? 8 : 4));
            want.b.insert(want.b.end(), inner.begin(), inner.end());
            if (c) {
                const uint16_t gc = static_cast<uint16_t>(
                    ~test::fold(test::sum16(want.b.data() + at, want.b.size() - at)));
                want.b[at + 4] = static_cast<uint8_t>(gc >> 8);
                want.b[at + 5] = static_cast<uint8_t>(gc);
            }
        }
        EXPECT_EQ(got->b, want.b) << rs.addr;
        EXPECT_TRUE(got->ip_csum_ok());
        EXPECT_TRUE(got->l4_csum_ok() || proto == 47);
    }
    // The next packet of each flow takes the same tunnel with the same GUE source port.
    for (const Frame& f : sent) {
        Frame ack = f;
        ack.b[14 + 20 + 13] = 0x10;  // ACK instead of SYN
        uint32_t sum = ack.pseudo_sum();
        ack.b[14 + 20 + 16] = ack.b[14 + 20 + 17] = 0;
        sum = test::sum16(ack.l4h(), ack.ip_len() - 20, sum);
        const uint16_t tc = static_cast<uint16_t>(~test::fold(sum));
        ack.b[14 + 20 + 16] = static_cast<uint8_t>(tc >> 8);
        ack.b[14 + 20 + 17] = static_cast<uint8_t>(tc);
        send(kExt, ack);
    }
    step();
    auto again = recv(kInt);
    ASSERT_EQ(again.size(), 5u);
    for (const Frame& f : again) {
        for (const Frame& first : out) {
            if (first.daddr() == f.daddr()) {
                EXPECT_EQ(f.b.size(), first.b.size());
                EXPECT_EQ(f.proto(), first.proto());
                if (f.proto() == 17) {
                    EXPECT_EQ(f.sport(), first.sport());
                    EXPECT_TRUE(f.l4_csum_ok());
                }
            }
        }
    }
}

// A GUE tunnel's overhead is 32 bytes: a DF packet that fits IP-in-IP but not GUE gets
// "fragmentation needed" with the MTU left inside the GUE tunnel.
TEST_F(DataplaneTest, GueTunnelMtuRuleCountsItsHeaders) {
    learn_all();
    cfg::RealServer rs;
    rs.fwd = cfg::Fwd::Tunnel;
    rs.tun_type = cfg::TunType::Gue;
    rs.tun_port = 6080;
    add_rr_service(cfg::Proto::Udp, 9000, {{"172.16.0.12", rs}});
    const std::string payload(1470 - 28, 'g');  // 1470 + 20 fits, 1470 + 32 does not
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 6000, ip("10.0.0.100"), 9000,
                         0, 64, payload));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto icmp = recv(kExt);
    ASSERT_EQ(icmp.size(), 1u);
    EXPECT_EQ(icmp[0].l4h()[0], 3);
    EXPECT_EQ(icmp[0].l4h()[1], 4);
    EXPECT_EQ(icmp[0].l4h()[6] << 8 | icmp[0].l4h()[7], 1500 - 32);
}

TEST_F(DataplaneTest, IcmpErrorsAboutNatFlowsAreTranslatedBothWays) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 7000, ip("10.0.0.100"), 53,
                         0, 64, "q"));
    step();
    auto fwd = recv(kInt);
    ASSERT_EQ(fwd.size(), 1u);  // 10.0.0.2:7000 -> 172.16.0.11:5353
    // The real server says port unreachable about the packet it got: the client must see it
    // come from the VIP, quoting a packet sent to the VIP.
    send(kInt, Frame::icmp_error(mac_[kInt], kRs1Mac, ip("172.16.0.11"), ip("10.0.0.2"), 3, 3, fwd[0]));
    step();
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& e = out[0];
    EXPECT_EQ(e.saddr(), ip("10.0.0.100"));
    EXPECT_EQ(e.daddr(), ip("10.0.0.2"));
    EXPECT_EQ(e.dst_mac(), kClientMac);
    EXPECT_TRUE(e.ip_csum_ok());
    EXPECT_TRUE(e.l4_csum_ok());
    Frame quoted;
    quoted.b.assign(e.b.begin(), e.b.begin() + 14);
    quoted.b.insert(quoted.b.end(), e.b.begin() + 42, e.b.end());
    EXPECT_EQ(quoted.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(quoted.daddr(), ip("10.0.0.100"));
    EXPECT_EQ(quoted.sport(), 7000);
    EXPECT_EQ(quoted.dport(), 53);
    EXPECT_TRUE(quoted.ip_csum_ok());

    // The client says port unreachable about a reply from the VIP: the real server must see it
    // about its own packet.
    send(kInt, Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 5353, ip("10.0.0.2"), 7000,
                         0, 64, "a"));
    step();
    auto reply = recv(kExt);
    ASSERT_EQ(reply.size(), 1u);
    send(kExt, Frame::icmp_error(mac_[kExt], kClientMac, ip("10.0.0.2"), ip("10.0.0.100"), 3, 3,
                          reply[0]));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& r = out[0];
    EXPECT_EQ(r.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(r.daddr(), ip("172.16.0.11"));
    EXPECT_EQ(r.dst_mac(), kRs1Mac);
    EXPECT_TRUE(r.ip_csum_ok());
    EXPECT_TRUE(r.l4_csum_ok());
    Frame q2;
    q2.b.assign(r.b.begin(), r.b.begin() + 14);
    q2.b.insert(q2.b.end(), r.b.begin() + 42, r.b.end());
    EXPECT_EQ(q2.saddr(), ip("172.16.0.11"));
    EXPECT_EQ(q2.sport(), 5353);
    EXPECT_EQ(q2.daddr(), ip("10.0.0.2"));
    EXPECT_TRUE(q2.ip_csum_ok());
    // An error about no connection of ours, addressed to us, is dropped and counted.
    Frame stray = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.100"), 1, ip("10.0.0.2"), 2);
    send(kExt, Frame::icmp_error(mac_[kExt], kClientMac, ip("10.0.0.2"), ip("10.0.0.100"), 3, 3, stray));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NoConn), 1u);
}

// An ICMP error from a real server about an SCTP packet of a NAT association (server port 5001)
// reaches the client from the VIP, quoting the packet as the client sent it (VIP:5000).
// SCTP in a chain of mbufs (here an INIT made whole from two fragments; a scattered jumbo frame
// alike) is dropped as `unsupported`: the chunk look-ahead and the CRC32c read one buffer.
TEST_F(DataplaneTest, SctpInAChainOfMbufsIsACountedDrop) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", cfg::RealServer{}}}, 5001);
    Frame init = Frame::sctp(mac_[kExt], kClientMac, ip("10.0.0.2"), 44100, ip("10.0.0.100"),
                             kSctpPort, 0, {{ct::kSctpInit, 0, std::string(1200, 'i')}});
    init.b[14 + 4] = 0x12;  // its own IP id
    for (const Frame& f : fragments_of(init, 576)) {
        send(kExt, f);
    }
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(dp_->worker(0).stats().reasm_ok.load(), 1u);
    EXPECT_EQ(drops(dp::Drop::Unsupported), 1u);
}

TEST_F(DataplaneTest, IcmpErrorsAboutSctpNatAssociationsAreTranslated) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", cfg::RealServer{}}}, 5001);
    send(kExt, sctp_from_client(mac_[kExt], 44000, 0, ct::kSctpInit, kInitValue));
    step();
    auto fwd = recv(kInt);
    ASSERT_EQ(fwd.size(), 1u);
    ASSERT_EQ(fwd[0].dport(), 5001);
    send(kInt, Frame::icmp_error(mac_[kInt], kRs1Mac, ip("172.16.0.11"), ip("10.0.0.2"), 3, 3, fwd[0]));
    step();
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& e = out[0];
    EXPECT_EQ(e.saddr(), ip("10.0.0.100"));
    EXPECT_EQ(e.daddr(), ip("10.0.0.2"));
    EXPECT_TRUE(e.ip_csum_ok());
    EXPECT_TRUE(e.l4_csum_ok());  // the ICMP checksum
    Frame quoted;
    quoted.b.assign(e.b.begin(), e.b.begin() + 14);
    quoted.b.insert(quoted.b.end(), e.b.begin() + 42, e.b.end());
    EXPECT_EQ(quoted.proto(), 132);
    EXPECT_EQ(quoted.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(quoted.daddr(), ip("10.0.0.100"));
    EXPECT_EQ(quoted.sport(), 44000);
    EXPECT_EQ(quoted.dport(), kSctpPort);
    EXPECT_TRUE(quoted.ip_csum_ok());
}

/// dataplane.reassembly = 0: fragments are not reassembled (the rules before reassembly).
class NoReassemblyTest : public DataplaneTest {
protected:
    NoReassemblyTest() { reassembly_ = 0; }
};

TEST_F(NoReassemblyTest, FirstFragmentsFollowTheirFlowOthersToAServiceAreDropped) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 8000, ip("10.0.0.100"), 53,
                         0, 64, "open"));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    Frame first = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 8000, ip("10.0.0.100"), 53,
                            0, 64, "first-part");
    set_frag(first, true, 0);
    send(kExt, first);
    Frame fresh = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 8001, ip("10.0.0.100"), 53,
                            0, 64, "first-part");
    set_frag(fresh, true, 0);
    send(kExt, fresh);
    Frame later = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 8000, ip("10.0.0.100"), 53,
                            0, 64, "second-part");
    set_frag(later, false, 3);
    send(kExt, later);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.11"));
    EXPECT_EQ(out[0].dport(), 5353);
    EXPECT_TRUE(out[0].ip_csum_ok());
    EXPECT_EQ(drops(dp::Drop::Fragment), 2u);
}

// ---- Fragmentation on the way out (docs/forwarding.md, "Fragments") ----

// A datagram of `n` bytes whose every byte differs from its neighbours'.
std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    }
    return s;
}

// The fragments of one datagram put back together by their offsets, as a receiver would: the
// first fragment's headers with the whole length, then every payload at its offset. Checks the
// fragments' own headers on the way: valid checksums, one id, MF on all but the last, at most
// `mtu` bytes each, payloads of a multiple of 8 bytes but the last's.
Frame reassemble(const std::vector<Frame>& frags, size_t mtu) {
    Frame whole;
    if (frags.empty()) {
        ADD_FAILURE() << "no fragments";
        return whole;
    }
    std::vector<uint8_t> payload;
    size_t total = 0;
    for (size_t i = 0; i < frags.size(); ++i) {
        const Frame& f = frags[i];
        EXPECT_TRUE(f.ip_csum_ok()) << "fragment " << i;
        EXPECT_LE(f.ip_len(), mtu) << "fragment " << i;
        EXPECT_EQ(f.b.size(), 14 + f.ip_len()) << "fragment " << i;
        EXPECT_EQ(f.iph()[4] << 8 | f.iph()[5], frags[0].iph()[4] << 8 | frags[0].iph()[5]);
        const uint16_t fo = static_cast<uint16_t>(f.iph()[6] << 8 | f.iph()[7]);
        const bool more = (fo & 0x2000) != 0;
        EXPECT_EQ(fo & 0x4000, 0) << "fragment " << i << " has DF";
        EXPECT_EQ(more, i + 1 < frags.size()) << "fragment " << i;
        const size_t off = static_cast<size_t>(fo & 0x1fff) * 8;
        const size_t len = f.ip_len() - 20;
        if (more) {
            EXPECT_EQ(len % 8, 0u) << "fragment " << i;
        }
        if (payload.size() < off + len) {
            payload.resize(off + len);
        }
        std::memcpy(payload.data() + off, f.b.data() + 34, len);
        total += len;
    }
    EXPECT_EQ(total, payload.size()) << "fragments overlap or leave holes";
    whole.b.assign(frags[0].b.begin(), frags[0].b.begin() + 34);
    whole.b.insert(whole.b.end(), payload.begin(), payload.end());
    const size_t tot = 20 + payload.size();
    whole.b[14 + 2] = static_cast<uint8_t>(tot >> 8);
    whole.b[14 + 3] = static_cast<uint8_t>(tot);
    return whole;
}

// The fragments of a NAT answer to the client's port `cport` (UDP service VIP:53): each to the
// client from the VIP, and together the rewritten `answer`, its checksum valid.
void expect_answer_from_vip(const std::vector<Frame>& frags, const Mac& ext, uint16_t cport,
                            const std::string& answer) {
    for (const Frame& f : frags) {
        EXPECT_EQ(f.dst_mac(), kClientMac);
        EXPECT_EQ(f.saddr(), ip("10.0.0.100"));
        EXPECT_EQ(f.daddr(), ip("10.0.0.2"));
    }
    const Frame whole = reassemble(frags, 1500);
    const Frame want = Frame::l4(ext, kClientMac, 17, ip("10.0.0.100"), 53, ip("10.0.0.2"), cport,
                                 0, 63, answer);
    EXPECT_TRUE(whole.l4_csum_ok());
    EXPECT_TRUE(std::equal(whole.b.begin() + 34, whole.b.end(), want.b.begin() + 34,
                           want.b.end()))
        << "the answer the client reassembles is not the rewritten one";
}

// An 8 KB UDP datagram (DF clear, received scattered over four mbufs) through the UDP NAT
// service leaves as six fragments of at most 1500 bytes whose reassembly is the rewritten
// datagram, checksum valid; the reply likewise, from the VIP.
TEST_F(DataplaneTest, NatFragmentsADatagramLargerThanTheMtuBothWays) {
    learn_all();
    const std::string data = pattern(8192);
    Frame q = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5000, ip("10.0.0.100"), 53,
                        0, 64, data);
    set_frag(q, false, 0);  // DF clear
    rte_mbuf* m = test::to_mbuf_chain(dp_->pool(), q, 2048);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->nb_segs, 5);
    ASSERT_EQ(rte_ring_enqueue(rx_[kExt], m), 0);
    step();
    auto frags = recv(kInt);
    ASSERT_EQ(frags.size(), 6u);
    for (const Frame& f : frags) {
        EXPECT_EQ(f.dst_mac(), kRs1Mac);
        EXPECT_EQ(f.src_mac(), mac_[kInt]);
        EXPECT_EQ(f.saddr(), ip("10.0.0.2"));
        EXPECT_EQ(f.daddr(), ip("172.16.0.11"));
        EXPECT_EQ(f.proto(), 17);
        EXPECT_EQ(f.ttl(), 63);
    }
    EXPECT_EQ(frags[0].ip_len(), 1500u);
    Frame whole = reassemble(frags, 1500);
    Frame want = Frame::l4(mac_[kInt], kRs1Mac, 17, ip("10.0.0.2"), 5000, ip("172.16.0.11"), 5353,
                           0, 63, data);
    EXPECT_EQ(whole.ip_len(), want.ip_len());
    EXPECT_TRUE(whole.l4_csum_ok());
    EXPECT_TRUE(std::equal(whole.b.begin() + 34, whole.b.end(), want.b.begin() + 34,
                           want.b.end()))
        << "the reassembled datagram is not the rewritten one";
    const auto& st = dp_->worker(0).stats();
    EXPECT_EQ(st.frag_packets.load(), 1u);
    EXPECT_EQ(st.frag_out.load(), 6u);

    // The reply, 8000 bytes from the real server, leaves toward the client from VIP:53.
    const std::string answer = pattern(8000);
    Frame r = Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 5353, ip("10.0.0.2"), 5000, 0,
                        64, answer);
    set_frag(r, false, 0);
    m = test::to_mbuf_chain(dp_->pool(), r, 2048);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_ring_enqueue(rx_[kInt], m), 0);
    step();
    frags = recv(kExt);
    ASSERT_EQ(frags.size(), 6u);
    expect_answer_from_vip(frags, mac_[kExt], 5000, answer);
    EXPECT_EQ(st.frag_packets.load(), 2u);
    EXPECT_EQ(st.frag_out.load(), 12u);
    EXPECT_EQ(st.frag_needed.load(), 0u);
}

// ---- Reassembly (docs/forwarding.md, "Fragments") ----

// An 8000-byte datagram to the UDP service, arriving as six fragments (the last one first):
// reassembled, then scheduled and rewritten whole, then fragmented again for the inside port.
// The real server's 3000-byte answer, fragmented by its own IP layer, comes back the same way
// from VIP:53 (without reassembly the later fragments, which carry no ports, would leave
// untranslated, from the real server's address).
TEST_F(DataplaneTest, FragmentsAreReassembledThenNatedAndFragmentedAgain) {
    learn_all();
    const std::string data = pattern(8000);
    const Frame q = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5004, ip("10.0.0.100"),
                              53, 0, 64, data);
    const auto parts = fragments_of(q, 1500);
    ASSERT_EQ(parts.size(), 6u);
    send(kExt, parts.back());
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        send(kExt, parts[i]);
    }
    step();
    auto frags = recv(kInt);
    ASSERT_EQ(frags.size(), 6u);
    for (const Frame& f : frags) {
        EXPECT_EQ(f.dst_mac(), kRs1Mac);
        EXPECT_EQ(f.saddr(), ip("10.0.0.2"));
        EXPECT_EQ(f.daddr(), ip("172.16.0.11"));
    }
    Frame whole = reassemble(frags, 1500);
    Frame want = Frame::l4(mac_[kInt], kRs1Mac, 17, ip("10.0.0.2"), 5004, ip("172.16.0.11"), 5353,
                           0, 63, data);
    EXPECT_EQ(whole.ip_len(), want.ip_len());
    EXPECT_TRUE(whole.l4_csum_ok());
    EXPECT_TRUE(std::equal(whole.b.begin() + 34, whole.b.end(), want.b.begin() + 34,
                           want.b.end()))
        << "the datagram the real server reassembles is not the rewritten one";
    const auto& st = dp_->worker(0).stats();
    EXPECT_EQ(st.reasm_in.load(), 6u);
    EXPECT_EQ(st.reasm_ok.load(), 1u);
    EXPECT_EQ(st.frag_packets.load(), 1u);

    const std::string answer = pattern(3000);
    const Frame r = Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 5353, ip("10.0.0.2"),
                              5004, 0, 64, answer);
    for (const Frame& f : fragments_of(r, 1500)) {
        send(kInt, f);
    }
    step();
    auto back = recv(kExt);
    ASSERT_EQ(back.size(), 3u);
    expect_answer_from_vip(back, mac_[kExt], 5004, answer);
    EXPECT_EQ(st.reasm_in.load(), 9u);
    EXPECT_EQ(st.reasm_ok.load(), 2u);
    EXPECT_EQ(drops(dp::Drop::Reassembly), 0u);
    EXPECT_EQ(drops(dp::Drop::Fragment), 0u);
}

// A datagram that fits the MTU once whole (two small fragments, as a path with a smaller MTU
// makes them) leaves as one packet: the reassembled chain of mbufs, rewritten.
TEST_F(DataplaneTest, AReassembledDatagramThatFitsLeavesWhole) {
    learn_all();
    const std::string data = pattern(1000);
    const Frame q = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5005, ip("10.0.0.100"),
                              53, 0, 64, data);
    const auto parts = fragments_of(q, 576);
    ASSERT_EQ(parts.size(), 2u);
    for (const Frame& f : parts) {
        send(kExt, f);
    }
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& f = out[0];
    const Frame want = Frame::l4(mac_[kInt], kRs1Mac, 17, ip("10.0.0.2"), 5005, ip("172.16.0.11"),
                                 5353, 0, 63, data);
    EXPECT_EQ(f.ip_len(), want.ip_len());
    EXPECT_EQ(f.b.size(), want.b.size());
    EXPECT_TRUE(f.ip_csum_ok());
    EXPECT_TRUE(f.l4_csum_ok());
    EXPECT_EQ(f.dport(), 5353);
    EXPECT_TRUE(std::equal(f.b.begin() + 34, f.b.end(), want.b.begin() + 34, want.b.end()));
}

// Fragments of a datagram that never completes wait for dataplane.frag_timeout (1 s here), then
// are freed and counted as `reassembly`; nothing of them is sent.
TEST_F(DataplaneTest, FragmentsThatNeverCompleteAreFreedAfterTheTimeout) {
    learn_all();
    const Frame q = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5006, ip("10.0.0.100"),
                              53, 0, 64, pattern(3000));
    const auto parts = fragments_of(q, 1500);
    ASSERT_EQ(parts.size(), 3u);
    send(kExt, parts[0]);
    send(kExt, parts[2]);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::Reassembly), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::Reassembly), 2u);
    EXPECT_EQ(dp_->worker(0).stats().reasm_ok.load(), 0u);
    // The missing middle alone, later, completes nothing.
    send(kExt, parts[1]);
    step();
    EXPECT_TRUE(recv(kInt).empty());
}

// With DF set the datagram is not sent: the client gets "fragmentation needed" with the next
// hop's MTU, quoting its own packet (to the VIP, not the rewritten one).
TEST_F(DataplaneTest, NatAnswersFragmentationNeededForADfDatagramLargerThanTheMtu) {
    learn_all();
    Frame q = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5002, ip("10.0.0.100"), 53,
                        0, 64, pattern(8192));  // DF set, as Frame::l4 makes it
    rte_mbuf* m = test::to_mbuf_chain(dp_->pool(), q, 2048);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_ring_enqueue(rx_[kExt], m), 0);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto icmp = recv(kExt);
    ASSERT_EQ(icmp.size(), 1u);
    EXPECT_EQ(icmp[0].proto(), 1);
    EXPECT_EQ(icmp[0].l4h()[0], 3);  // destination unreachable
    EXPECT_EQ(icmp[0].l4h()[1], 4);  // fragmentation needed
    EXPECT_EQ(icmp[0].l4h()[6] << 8 | icmp[0].l4h()[7], 1500);
    EXPECT_EQ(icmp[0].daddr(), ip("10.0.0.2"));
    EXPECT_TRUE(icmp[0].l4_csum_ok());
    uint32_t quoted_dst;
    std::memcpy(&quoted_dst, icmp[0].l4h() + 8 + 16, 4);
    EXPECT_EQ(quoted_dst, ip("10.0.0.100"));
    EXPECT_EQ(icmp[0].l4h()[8 + 20 + 2] << 8 | icmp[0].l4h()[8 + 20 + 3], 53);
    EXPECT_EQ(icmp[0].l4h()[8 + 8], 64);  // the quoted TTL, as received
    const auto& st = dp_->worker(0).stats();
    EXPECT_EQ(st.frag_needed.load(), 1u);
    EXPECT_EQ(st.frag_packets.load(), 0u);
}

// Routed transit (no service) fragments too; a scattered packet within the MTU goes through
// NAT whole, its checksum updated with the payload left in its later segments.
TEST_F(DataplaneTest, TransitFragmentsAndScatteredPacketsWithinTheMtuPassWhole) {
    learn_all();
    learn(kExt, kGwMac, ip("10.0.0.254"), ip("10.0.0.1"));
    const std::string data = pattern(3000);
    Frame t = Frame::l4(mac_[kInt], kRs1Mac, 17, ip("172.16.0.11"), 7000, ip("192.0.2.7"), 7001, 0,
                        64, data);
    set_frag(t, false, 0);
    rte_mbuf* m = test::to_mbuf_chain(dp_->pool(), t, 1024);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_ring_enqueue(rx_[kInt], m), 0);
    step();
    auto frags = recv(kExt);
    ASSERT_EQ(frags.size(), 3u);  // 3008 bytes of UDP: 1480 + 1480 + 48
    for (const Frame& f : frags) {
        EXPECT_EQ(f.dst_mac(), kGwMac);
        EXPECT_EQ(f.ttl(), 63);
    }
    Frame whole = reassemble(frags, 1500);
    EXPECT_TRUE(whole.l4_csum_ok());
    EXPECT_TRUE(std::equal(whole.b.begin() + 34, whole.b.end(), t.b.begin() + 34, t.b.end()));

    Frame q = Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5003, ip("10.0.0.100"), 53, 0,
                        64, pattern(1400));
    m = test::to_mbuf_chain(dp_->pool(), q, 512);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_ring_enqueue(rx_[kExt], m), 0);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ip_len(), q.ip_len());
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.11"));
    EXPECT_EQ(out[0].dport(), 5353);
    EXPECT_TRUE(out[0].ip_csum_ok());
    EXPECT_TRUE(out[0].l4_csum_ok());
    EXPECT_EQ(dp_->worker(0).stats().frag_packets.load(), 1u);
}

// The real socket server against hostile clients: truncated frames, a wrong version, an
// oversized length, random bytes. Each gets an error reply or a closed connection; the daemon
// keeps serving and never applies anything from them.
// Socket mode and group as configured (issue 16): a user outside the group is refused by the
// kernel before the daemon sees anything; a member of the group gets in.
TEST_F(DataplaneTest, SocketModeAndGroupKeepOthersOut) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to act as another user";
    }
    const group* adm = ::getgrnam("adm");
    if (adm == nullptr) {
        GTEST_SKIP() << "no group adm on this machine";
    }
    const gid_t adm_gid = adm->gr_gid;
    const std::string dir = "/tmp/dirigo_grp_test_" + std::to_string(getpid());
    cfg::Config cfg;
    cfg.control.socket = dir + "/ctl.sock";
    cfg.control.mode = 0660;
    cfg.control.group = "adm";
    ctl_.reset();
    ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
    ASSERT_TRUE(ctl_->open_socket());
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);  // the directory is not what is being tested
    struct stat st {};
    ASSERT_EQ(::stat(cfg.control.socket.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(st.st_gid, adm_gid);

    // connect() as user nobody, with or without adm among its groups: 0 or the errno.
    const auto connect_as_nobody = [&](bool in_group) {
        const pid_t child = ::fork();
        if (child == 0) {
            const gid_t groups[1] = {adm_gid};
            if (::setgroups(in_group ? 1 : 0, groups) != 0 || ::setgid(65534) != 0 ||
                ::setuid(65534) != 0) {
                ::_exit(100);
            }
            const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", cfg.control.socket.c_str());
            const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
            ::_exit(rc == 0 ? 0 : (errno & 0x7f));
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    EXPECT_EQ(connect_as_nobody(false), EACCES) << "a user outside the group got in";
    EXPECT_EQ(connect_as_nobody(true), 0) << "a member of the group was refused";
    ctl_->close_socket();
    ::rmdir(dir.c_str());
}

TEST_F(DataplaneTest, SocketSurvivesMalformedInputAndKeepsServing) {
    const std::string dir = "/tmp/dirigo_sock_test_" + std::to_string(getpid());
    cfg::Config cfg;
    cfg.control.socket = dir + "/ctl.sock";
    cfg.control.mode = 0600;
    // A second Control over the same dataplane, only for its socket.
    ctl_.reset();
    ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
    ASSERT_TRUE(ctl_->open_socket());
    struct stat st {};
    ASSERT_EQ(::stat(cfg.control.socket.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::atomic<bool> stop{false};
    std::thread server([&] { ctl_->run(stop); });

    auto raw = [&](const std::vector<uint8_t>& bytes) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", cfg.control.socket.c_str());
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
        ::shutdown(fd, SHUT_WR);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        std::vector<uint8_t> got(65536);
        ssize_t n = 0;
        size_t total = 0;
        while ((n = ::recv(fd, got.data() + total, got.size() - total, 0)) > 0) {
            total += static_cast<size_t>(n);
        }
        ::close(fd);
        got.resize(total);
        return got;
    };
    ctl::Request add;
    add.op = ctl::Op::AddService;
    add.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 7777};
    add.service.scheduler = "rr";
    const std::vector<uint8_t> good = ctl::encode_request(add);
    // Truncated at every length: no reply for an incomplete frame, nothing applied.
    for (size_t len = 0; len < good.size(); len += 3) {
        raw(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(len)));
    }
    // Wrong version: an error reply.
    std::vector<uint8_t> badver = good;
    badver[4] = 99;
    auto r1 = raw(badver);
    ASSERT_GE(r1.size(), ctl::kHeaderSize);
    auto rep1 = ctl::decode_reply(std::span<const uint8_t>(r1).subspan(ctl::kHeaderSize));
    ASSERT_TRUE(rep1);
    EXPECT_EQ(rep1->code, Errc::Protocol);
    // Oversized length: an error reply, connection closed.
    std::vector<uint8_t> big = good;
    big[8] = big[9] = big[10] = big[11] = 0xff;
    auto r2 = raw(big);
    ASSERT_GE(r2.size(), ctl::kHeaderSize);
    // Random bytes.
    std::mt19937 rng(7);
    for (int i = 0; i < 50; ++i) {
        std::vector<uint8_t> junk(1 + rng() % 200);
        for (auto& b : junk) {
            b = static_cast<uint8_t>(rng());
        }
        raw(junk);
    }
    // A valid header with a corrupt payload.
    std::vector<uint8_t> corrupt = good;
    corrupt[ctl::kHeaderSize] = 0xee;
    corrupt[ctl::kHeaderSize + 1] = 0xee;
    auto r3 = raw(corrupt);
    ASSERT_GE(r3.size(), ctl::kHeaderSize);

    // Still serving, and none of the above was applied.
    ctl::Request ping;
    ping.op = ctl::Op::Ping;
    auto pong = ctl::call(cfg.control.socket, ping, 5000);
    ASSERT_TRUE(pong) << pong.status().message();
    EXPECT_EQ(pong->info.version, DIRIGO_VERSION);
    ctl::Request l;
    l.op = ctl::Op::List;
    auto listed = ctl::call(cfg.control.socket, l, 5000);
    ASSERT_TRUE(listed);
    for (const auto& si : listed->services) {
        EXPECT_NE(si.service.key.port, 7777);
    }
    auto added = ctl::call(cfg.control.socket, add, 5000);
    ASSERT_TRUE(added);
    EXPECT_EQ(added->code, Errc::Ok);
    stop = true;
    server.join();
    ctl_->close_socket();
    EXPECT_NE(::access(cfg.control.socket.c_str(), F_OK), 0) << "socket file removed";
    ::rmdir(dir.c_str());
}

/// Opens a socket server of its own over the test's dataplane; run() serves on a thread.
class SocketServer {
public:
    SocketServer(std::unique_ptr<ctl::Control>& ctl, dp::Dataplane& dp, const std::string& tag)
        : ctl_(ctl), dir_("/tmp/dirigo_sock_" + tag + "_" + std::to_string(getpid())) {
        cfg_.control.socket = dir_ + "/ctl.sock";
        ctl_.reset();
        ctl_ = std::make_unique<ctl::Control>(dp, cfg_);
        EXPECT_TRUE(ctl_->open_socket());
    }
    ~SocketServer() {
        stop();
        ctl_->close_socket();
        ::rmdir(dir_.c_str());
    }
    void start() {
        stop_ = false;
        thread_ = std::thread([this] { ctl_->run(stop_); });
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    /// A connected client socket, or -1.
    int connect(bool nonblocking = false) const {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", cfg_.control.socket.c_str());
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }
    const std::string& path() const { return cfg_.control.socket; }

private:
    std::unique_ptr<ctl::Control>& ctl_;
    std::string dir_;
    cfg::Config cfg_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// 64 connections that never send anything used to fill every client slot for good: the 65th
// client was accepted and closed at once. Now the longest idle one makes room, and idle clients
// are closed after the idle timeout.
TEST_F(DataplaneTest, SocketIdleClientsDoNotLockOthersOut) {
    SocketServer srv(ctl_, *dp_, "idle");
    srv.start();
    std::vector<int> idle;
    for (size_t i = 0; i < ctl::kMaxClients + 8; ++i) {
        idle.push_back(srv.connect());
        ASSERT_GE(idle.back(), 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // all accepted
    ctl::Request ping;
    ping.op = ctl::Op::Ping;
    for (int i = 0; i < 3; ++i) {
        auto pong = ctl::call(srv.path(), ping, 5000);
        ASSERT_TRUE(pong) << pong.status().message();
        EXPECT_EQ(pong->info.version, DIRIGO_VERSION);
    }
    for (int fd : idle) {
        ::close(fd);
    }
    srv.stop();

    // The idle timeout: a client that says nothing is closed (the read sees end of file).
    ctl_->server().set_idle_timeout(std::chrono::milliseconds(200));
    srv.start();
    const int fd = srv.connect();
    ASSERT_GE(fd, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint8_t b = 0;
    EXPECT_EQ(::recv(fd, &b, 1, 0), 0) << "closed by the daemon, not timed out";
    ::close(fd);
}

// A client that sends requests and never reads the replies: the daemon stops reading it once its
// unread replies reach the bound, instead of buffering without limit; when the client reads,
// every reply comes, in order.
TEST_F(DataplaneTest, SocketClientThatDoesNotReadIsBounded) {
    SocketServer srv(ctl_, *dp_, "backlog");
    srv.start();
    const int fd = srv.connect(true);
    ASSERT_GE(fd, 0);
    ctl::Request ping;
    ping.op = ctl::Op::Ping;
    const std::vector<uint8_t> frame = ctl::encode_request(ping);
    // Push requests for a while; the kernel buffers fill once the daemon stops reading.
    std::vector<uint8_t> many;
    for (int i = 0; i < 4096; ++i) {
        many.insert(many.end(), frame.begin(), frame.end());
    }
    // The stream stays whole across rounds: a round that stops in the middle of a frame (the
    // socket is full) resumes there, so the daemon never sees a torn frame.
    size_t sent_bytes = 0;
    size_t pos = 0;  // in `many`, a whole number of frames long
    for (int round = 0; round < 200; ++round) {
        // At most one buffer's worth a round, so the loop ends even if the daemon read forever.
        for (size_t round_bytes = 0; round_bytes < many.size();) {
            const ssize_t n = ::send(fd, many.data() + pos, many.size() - pos, MSG_NOSIGNAL);
            if (n <= 0) {
                break;
            }
            round_bytes += static_cast<size_t>(n);
            sent_bytes += static_cast<size_t>(n);
            pos = (pos + static_cast<size_t>(n)) % many.size();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    srv.stop();
    const size_t sent = sent_bytes / frame.size();
    // Without the bound the daemon read everything and held a reply for each request.
    EXPECT_LE(ctl_->server().out_bytes(), ctl::kMaxClientOutBytes + 64 * 1024);

    // Reading now gets every reply.
    srv.start();
    const int bfd = fd;
    const int flags = ::fcntl(bfd, F_GETFL);
    ::fcntl(bfd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{10, 0};
    ::setsockopt(bfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t replies = 0;
    std::vector<uint8_t> buf;
    uint8_t chunk[65536];
    while (replies < sent) {
        const ssize_t n = ::recv(bfd, chunk, sizeof(chunk), 0);
        ASSERT_GT(n, 0) << replies << " of " << sent << " replies";
        buf.insert(buf.end(), chunk, chunk + n);
        size_t used = 0;
        while (buf.size() - used >= ctl::kHeaderSize) {
            auto h = ctl::decode_header(
                std::span<const uint8_t>(buf.data() + used, ctl::kHeaderSize));
            ASSERT_TRUE(h);
            if (buf.size() - used < ctl::kHeaderSize + h->length) {
                break;
            }
            auto rep = ctl::decode_reply(
                std::span<const uint8_t>(buf.data() + used + ctl::kHeaderSize, h->length));
            ASSERT_TRUE(rep);
            EXPECT_EQ(rep->info.version, DIRIGO_VERSION);
            used += ctl::kHeaderSize + h->length;
            ++replies;
        }
        buf.erase(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(used));
    }
    EXPECT_EQ(replies, sent);
    ::close(bfd);
}

TEST_F(DataplaneTest, ConnectionsExpireAfterTheirTimeoutAndReleaseTheirCounts) {
    learn_all();
    ctl::Request set;
    set.op = ctl::Op::SetTimeouts;
    set.timeouts = {0, 0, 1};  // udp 1 s; tcp and tcpfin unchanged
    ASSERT_EQ(ctl_->handle(set).code, Errc::Ok);
    for (uint16_t i = 0; i < 10; ++i) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"),
                             static_cast<uint16_t>(9100 + i), ip("10.0.0.100"), 53, 0, 64, "q"));
    }
    step();
    ASSERT_EQ(recv(kInt).size(), 10u);
    EXPECT_EQ(list().services[1].dests[0].inactive, 10u);
    EXPECT_EQ(dp_->worker(0).table().size(), 10u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    // The bounded sweep walks the (4096-entry) table 64 entries per loop.
    for (int i = 0; i < 4096 / 64 + 1; ++i) {
        dp_->worker(0).poll_once();
    }
    EXPECT_EQ(dp_->worker(0).table().size(), 0u);
    EXPECT_EQ(list().services[1].dests[0].inactive, 0u);
    EXPECT_EQ(dp_->worker(0).stats().conns_expired.load(), 10u);
}

// A reliability finding: two packets of one idle-expired flow in the same burst both acted on its
// entry (the bulk lookup ran before the first one retired it): counts released twice, and a new
// flow that took the freed entry in between received the old flow's packets.
TEST_F(DataplaneTest, PacketsOfAnExpiredFlowInOneBurstRetireItOnce) {
    learn_all();
    ctl::Request set;
    set.op = ctl::Op::SetTimeouts;
    set.timeouts = {1, 0, 0};  // tcp (ESTABLISHED) 1 s
    ASSERT_EQ(ctl_->handle(set).code, Errc::Ok);
    const auto ack = [this](uint16_t sport) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), sport, ip("10.0.0.100"),
                             80, 0x10, 64, "x"));
    };
    // Two established connections, so that both patterns below run on an expired entry.
    for (uint16_t sport : {40000, 40002}) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), sport, ip("10.0.0.100"), 80));
        step();
        auto out = recv(kInt);
        ASSERT_EQ(out.size(), 1u);
        send(kInt, Frame::l4(mac_[kInt], out[0].dst_mac(), 6, out[0].daddr(), 80, ip("10.0.0.2"),
                             sport, 0x12, 64, ""));
        step();
        ASSERT_EQ(recv(kExt).size(), 1u);
        ack(sport);
        step();
        ASSERT_EQ(recv(kInt).size(), 1u);
    }
    ASSERT_EQ(conn_counts(0).active, 2u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));

    // One burst: the expired flow's ACK, its ACK again, then (second pattern) the other expired
    // flow's ACK, a new flow's SYN that takes the freed entry, and that ACK again.
    ack(40000);
    ack(40000);
    ack(40002);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 40001, ip("10.0.0.100"), 80));
    ack(40002);
    dp_->worker(0).poll_once();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u) << "only the new flow's SYN goes out";
    EXPECT_EQ(out[0].sport(), 40001);
    EXPECT_EQ(drops(dp::Drop::NoConn), 4u);
    EXPECT_EQ(dp_->worker(0).stats().conns_expired.load(), 2u);
    EXPECT_EQ(dp_->worker(0).stats().live_conns.load(), 1u);
    EXPECT_EQ(dp_->worker(0).table().size(), 1u);
    EXPECT_EQ(conn_counts(0).active, 0u);
    EXPECT_EQ(conn_counts(0).inactive, 1u);
}

// A reliability finding: an ICMP error quoting an IPv4 header plus only the 8 transport bytes RFC
// 792 guarantees (what many routers send) made the NAT translation update the quoted TCP
// checksum, 2 bytes past the packet. The frame is the finding's, with the test network's MACs.
TEST_F(DataplaneTest, IcmpErrorQuotingEightBytesIsTranslatedWithinThePacket) {
    learn_all();
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 41000, ip("10.0.0.100"), 80));
    step();
    const auto syn = recv(kInt);
    ASSERT_EQ(syn.size(), 1u);
    Frame f;
    f.b.insert(f.b.end(), mac_[kExt].begin(), mac_[kExt].end());
    f.b.insert(f.b.end(), kClientMac.begin(), kClientMac.end());
    for (const char* hex : {"0800", "4500003812344000400114 2c0a0000020a000064",
                            "0304570a00000578", "450000281234400040061437 0a0000640a000002",
                            "0050a02800000001"}) {
        std::string h(hex);
        h.erase(std::remove(h.begin(), h.end(), ' '), h.end());
        for (size_t i = 0; i + 1 < h.size(); i += 2) {
            f.b.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
        }
    }
    ASSERT_EQ(f.b.size(), 14u + 0x38u);
    ASSERT_TRUE(f.ip_csum_ok());
    ASSERT_TRUE(f.l4_csum_ok());
    // Sentinels just past the frame, inside the mbuf's tailroom.
    rte_mbuf* m = to_mbuf(dp_->pool(), f);
    ASSERT_NE(m, nullptr);
    auto* tail = rte_pktmbuf_mtod(m, uint8_t*) + rte_pktmbuf_data_len(m);
    ASSERT_GE(rte_pktmbuf_tailroom(m), 16u);
    std::memset(tail, 0xa5, 16);
    ASSERT_EQ(rte_ring_enqueue(rx_[kExt], m), 0);
    step();
    rte_mbuf* out = nullptr;
    ASSERT_EQ(rte_ring_dequeue(tx_[kInt], reinterpret_cast<void**>(&out)), 0);
    const auto* end = rte_pktmbuf_mtod(out, const uint8_t*) + rte_pktmbuf_data_len(out);
    for (int i = 0; i < 16; ++i) {
        EXPECT_EQ(end[i], 0xa5) << "byte " << i << " past the packet was written";
    }
    const Frame e = take_frame(out);
    ASSERT_EQ(e.b.size(), f.b.size());
    EXPECT_EQ(e.daddr(), syn[0].daddr());  // to the real server
    EXPECT_EQ(e.saddr(), ip("10.0.0.2"));
    EXPECT_TRUE(e.ip_csum_ok());
    EXPECT_TRUE(e.l4_csum_ok());
    Frame quoted;
    quoted.b.assign(e.b.begin(), e.b.begin() + 14);
    quoted.b.insert(quoted.b.end(), e.b.begin() + 42, e.b.end());
    EXPECT_EQ(quoted.saddr(), syn[0].daddr());
    EXPECT_EQ(quoted.sport(), 80);
    EXPECT_EQ(quoted.daddr(), ip("10.0.0.2"));
    EXPECT_EQ(quoted.dport(), 41000);
    EXPECT_TRUE(quoted.ip_csum_ok());
}

// Linux forwards only frames sent to its own MAC; broadcast and multicast IPv4 is neither routed
// nor served. ARP in a broadcast frame is still answered.
TEST_F(DataplaneTest, BroadcastAndMulticastFramesAreNotRouted) {
    learn_all();
    const Mac mcast = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    send(kInt, Frame::l4(kBcast, kRs1Mac, 17, ip("172.16.0.11"), 5000, ip("255.255.255.255"), 67));
    send(kInt, Frame::l4(mcast, kRs1Mac, 17, ip("172.16.0.11"), 5353, ip("224.0.0.251"), 5353));
    send(kInt, Frame::l4(kBcast, kRs1Mac, 17, ip("172.16.0.11"), 5000, ip("10.0.0.77"), 9));
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NotUnicast), 3u);
    learn(kExt, kClientMac, ip("10.0.0.2"), ip("10.0.0.1"));  // ARP broadcast: answered
}

// A TCP data offset below five words, or beyond the segment, is dropped before any connection
// work.
TEST_F(DataplaneTest, TcpDataOffsetIsChecked) {
    learn_all();
    for (uint8_t doff : {uint8_t{4}, uint8_t{15}}) {
        Frame f = Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 43000, ip("10.0.0.100"), 80);
        f.b[34 + 12] = static_cast<uint8_t>(doff << 4);
        send(kExt, f);
    }
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::BadL4Header), 2u);
    EXPECT_EQ(dp_->worker(0).table().size(), 0u);
}

// -o: every UDP datagram is scheduled on its own and leaves no connection entry, as in IPVS.
TEST_F(DataplaneTest, OnePacketSchedulingSchedulesEveryDatagram) {
    learn_all();
    ctl::Request add;
    add.op = ctl::Op::AddService;
    add.service.key = {cfg::Proto::Udp, ntohl(ip("10.0.0.100")), 514};
    add.service.scheduler = "rr";
    add.service.flags = cfg::kSvcOnePacket;
    ASSERT_EQ(ctl_->handle(add).code, Errc::Ok);
    add_dests(add.service.key, {"172.16.0.11", "172.16.0.12"}, 514);
    for (int i = 0; i < 4; ++i) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 6000, ip("10.0.0.100"),
                             514, 0, 64, "log"));
    }
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_NE(out[0].daddr(), out[1].daddr()) << "one client port, two servers";
    EXPECT_EQ(out[0].daddr(), out[2].daddr());
    EXPECT_EQ(out[1].daddr(), out[3].daddr());
    for (const Frame& f : out) {
        EXPECT_EQ(f.dport(), 514);
        EXPECT_TRUE(f.l4_csum_ok());
    }
    EXPECT_EQ(dp_->worker(0).table().size(), 0u);
    const Reply r = list();
    ASSERT_EQ(r.services.size(), 3u);
    for (const auto& s : r.services) {
        if (s.service.key.port == 514) {
            EXPECT_EQ(s.stats.conns, 4u);
            for (const auto& d : s.dests) {
                EXPECT_EQ(d.active + d.inactive, 0u);
            }
        }
    }
}

// A persistent port-zero service takes every port of its address that has no service of its
// own; the real server sees the client's port, and one template holds the client to one server.
TEST_F(DataplaneTest, PersistentPortZeroServiceTakesEveryOtherPort) {
    learn_all();
    ctl::Request add;
    add.op = ctl::Op::AddService;
    add.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 0};
    add.service.scheduler = "rr";
    add.service.flags = cfg::kSvcPersistent;
    add.service.timeout = 300;
    add.service.netmask = 0xffffffffu;
    const Reply added = ctl_->handle(add);
    ASSERT_EQ(added.code, Errc::Ok) << added.message;
    add_dests(add.service.key, {"172.16.0.11", "172.16.0.12"}, 0);
    for (uint16_t port : {8080, 9090, 22}) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44000, ip("10.0.0.100"),
                             port));
    }
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].dport(), 8080);
    EXPECT_EQ(out[1].dport(), 9090);
    EXPECT_EQ(out[2].dport(), 22);
    EXPECT_EQ(out[0].daddr(), out[1].daddr());
    EXPECT_EQ(out[0].daddr(), out[2].daddr());
    // Port 80 keeps its own service, and the reply comes back from the VIP's port.
    send(kInt, Frame::l4(mac_[kInt], out[0].dst_mac(), 6, out[0].daddr(), 9090, ip("10.0.0.2"),
                         44000, 0x12, 64, ""));
    step();
    const auto back = recv(kExt);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].saddr(), ip("10.0.0.100"));
    EXPECT_EQ(back[0].sport(), 9090);
    // Not persistent: refused.
    add.service.key.port = 0;
    add.service.key.proto = cfg::Proto::Udp;
    add.service.flags = 0;
    const Reply r = ctl_->handle(add);
    EXPECT_EQ(r.code, Errc::Invalid);
    EXPECT_NE(r.message.find("Zero port specified for non-persistent service"), std::string::npos)
        << r.message;
}

// ipvsadm -A -f 1 -s rr -p 300; -a -f 1 -r .11 -m; -a -f 1 -r .12 -m, with a mark rule for the
// VIP's TCP ports 80 and 443 (IPVS's HTTP/HTTPS example): a client lands on one real server on
// both ports, which keep their numbers; the next client gets the other server; a port or a
// protocol outside the rules gets no service; dropping the rule leaves established flows alone.
TEST_F(DataplaneTest, FwmarkServiceKeepsAClientOnOneServerAcrossItsPorts) {
    learn_all();
    web_fwmark_service();

    // Client A on 80 then 443, client B on 443 then 80.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44000, ip("10.0.0.100"), 80));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44001, ip("10.0.0.100"), 443));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.3"), 45000, ip("10.0.0.100"), 443));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.3"), 45001, ip("10.0.0.100"), 80));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].dport(), 80);  // port-0 servers: the packet's port
    EXPECT_EQ(out[1].dport(), 443);
    EXPECT_EQ(out[2].dport(), 443);
    EXPECT_EQ(out[3].dport(), 80);
    EXPECT_EQ(out[0].daddr(), out[1].daddr());  // A: one server on both ports
    EXPECT_EQ(out[2].daddr(), out[3].daddr());  // B: one server on both ports
    EXPECT_NE(out[0].daddr(), out[2].daddr());  // rr between the clients' templates
    // The reply leaves from the VIP and the port the client used.
    send(kInt, Frame::l4(mac_[kInt], out[1].dst_mac(), 6, out[1].daddr(), 443, ip("10.0.0.2"),
                         44001, 0x12, 64, ""));
    step();
    const auto back = recv(kExt);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].saddr(), ip("10.0.0.100"));
    EXPECT_EQ(back[0].sport(), 443);

    // Outside the rules: another port, and UDP to a marked port.
    const uint64_t no_service = drops(dp::Drop::NoService);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44002, ip("10.0.0.100"), 8080));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 44003, ip("10.0.0.100"), 443));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NoService), no_service + 2);

    // The service lists as IPVS's: the mark alone, its connections counted.
    const Reply l = list();
    const ctl::ServiceInfo* fwm = nullptr;
    for (const ctl::ServiceInfo& si : l.services) {
        fwm = si.service.key.fwmark == 1 ? &si : fwm;
    }
    ASSERT_NE(fwm, nullptr);
    EXPECT_EQ(fwm->service.key.addr, 0u);
    EXPECT_EQ(fwm->stats.conns, 4u);
    // Its persistence templates as IPVS makes them: protocol IP (0), the mark as the virtual
    // address, port 0; the connections keep their own protocol.
    ctl::Request lc;
    lc.op = ctl::Op::ListConns;
    const Reply conns = ctl_->handle(lc);
    ASSERT_EQ(conns.code, Errc::Ok);
    int templates = 0;
    for (const ctl::ConnInfo& c : conns.conns) {
        if (c.state == "NONE") {
            ++templates;
            EXPECT_EQ(c.proto, 0);
            EXPECT_EQ(c.vaddr, 1u);
            EXPECT_EQ(c.vport, 0);
            EXPECT_EQ(c.cport, 0);
        } else {
            EXPECT_EQ(c.proto, IPPROTO_TCP);
        }
    }
    EXPECT_EQ(templates, 2);

    // Without the rule: A's established flow still forwards, a new one is refused.
    ctl::Request del = web_mark_;
    del.op = ctl::Op::DelMark;
    ASSERT_EQ(ctl_->handle(del).code, Errc::Ok);
    send(kExt,
         Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44000, ip("10.0.0.100"), 80, 0x10));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 44004, ip("10.0.0.100"), 80));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].sport(), 44000);
    EXPECT_EQ(drops(dp::Drop::NoService), no_service + 3);
}

// A rule whose mark has no service, ahead of one that has: first match wins, no service.
TEST_F(DataplaneTest, FirstMatchingMarkRuleWinsEvenWithoutItsService) {
    learn_all();
    ctl::Request add;
    add.op = ctl::Op::AddService;
    add.service.key.fwmark = 2;
    add.service.scheduler = "rr";
    ASSERT_EQ(ctl_->handle(add).code, Errc::Ok);
    add_dests(add.service.key, {"172.16.0.12"}, 0);
    ctl::Request b;
    b.op = ctl::Op::Batch;
    ctl::Request m;
    m.op = ctl::Op::AddMark;
    m.mark.dst = {ntohl(ip("10.0.0.100")), 32};
    m.mark.ports = {{9000, 9000}};
    m.mark.mark = 7;  // no such service
    b.batch.push_back(m);
    m.mark.dst = {ntohl(ip("10.0.0.0")), 24};
    m.mark.ports = {{8000, 9999}};
    m.mark.mark = 2;
    b.batch.push_back(m);
    ASSERT_EQ(ctl_->handle(b).code, Errc::Ok);
    send(kExt,
         Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 44000, ip("10.0.0.100"), 9000));
    send(kExt,
         Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 44001, ip("10.0.0.100"), 9001));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.12"));
    EXPECT_EQ(out[0].dport(), 9001);
}

// SCTP by a mark rule that names it; a rule without a protocol (--tcp-udp) does not take it.
TEST_F(DataplaneTest, AnSctpMarkRuleSelectsAFwmarkServiceForAnInit) {
    learn_all();
    ctl::Request add;
    add.op = ctl::Op::AddService;
    add.service.key.fwmark = 5;
    add.service.scheduler = "rr";
    ASSERT_EQ(ctl_->handle(add).code, Errc::Ok);
    add_dests(add.service.key, {"172.16.0.12"}, 0);
    ctl::Request m;
    m.op = ctl::Op::AddMark;
    m.mark.dst = {ntohl(ip("10.0.0.100")), 32};
    m.mark.ports = {{kSctpPort, kSctpPort}};
    m.mark.mark = 5;  // TCP and UDP: not SCTP
    ASSERT_EQ(ctl_->handle(m).code, Errc::Ok);
    send(kExt, sctp_from_client(mac_[kExt], 41000, 0, ct::kSctpInit, kInitValue));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    m.mark.proto = IPPROTO_SCTP;
    ASSERT_EQ(ctl_->handle(m).code, Errc::Ok);
    send(kExt, sctp_from_client(mac_[kExt], 41001, 0, ct::kSctpInit, kInitValue));
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.12"));
    EXPECT_EQ(out[0].dport(), kSctpPort);  // a port-0 server: the packet's port
    const Reply l = list();
    for (const ctl::ServiceInfo& si : l.services) {
        if (si.service.key.fwmark == 5) {
            EXPECT_EQ(si.stats.conns, 1u);
        }
    }
}

TEST_F(DataplaneTest, FullTableRefusesOnlyNewFlows) {
    learn_all();
    // The fixture's table holds 4096 connections.
    const uint32_t cap = dp_->worker(0).table().capacity();
    for (uint32_t i = 0; i < cap; i += 256) {
        for (uint32_t j = i; j < i + 256 && j < cap; ++j) {
            send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, htonl(0x0a000002u),
                                 static_cast<uint16_t>(10000 + j), ip("10.0.0.100"), 53, 0, 64,
                                 "q"));
        }
        for (int k = 0; k < 10; ++k) {
            step();
        }
        drain(kInt);
    }
    ASSERT_EQ(dp_->worker(0).table().size(), cap);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, htonl(0x0a000002u), 9999, ip("10.0.0.100"),
                         53, 0, 64, "new"));
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, htonl(0x0a000002u), 10000, ip("10.0.0.100"),
                         53, 0, 64, "old"));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].sport(), 10000);
    EXPECT_EQ(drops(dp::Drop::TableFull), 1u);
}

// A SYN flood fills the table with connections that never reach ESTABLISHED: a new client's SYN
// then takes the place of one of those, never of an established connection.
TEST_F(DataplaneTest, FullTableEvictsHalfOpenConnectionsForNewClients) {
    learn_all();
    const auto ack = [this](uint16_t sport) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), sport, ip("10.0.0.100"),
                             80, 0x10, 64, "x"));
    };
    // One established connection: SYN, the server's SYN-ACK, the client's ACK.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 30000, ip("10.0.0.100"), 80));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    send(kInt, Frame::l4(mac_[kInt], out[0].dst_mac(), 6, out[0].daddr(), 80, ip("10.0.0.2"), 30000,
                         0x12, 64, ""));
    step();
    ASSERT_EQ(recv(kExt).size(), 1u);
    ack(30000);
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    // The flood: SYNs from many sources until the table is full.
    const uint32_t cap = dp_->worker(0).table().capacity();
    for (uint32_t i = 0; i + 1 < cap; i += 256) {
        for (uint32_t j = i; j < i + 256 && j + 1 < cap; ++j) {
            send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, htonl(0x0b000000u + j), 1024,
                                 ip("10.0.0.100"), 80));
        }
        for (int k = 0; k < 10; ++k) {
            step();
        }
        drain(kInt);
    }
    ASSERT_EQ(dp_->worker(0).table().size(), cap);
    // A new client gets in; the established connection still forwards.
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), 30001, ip("10.0.0.100"), 80));
    ack(30000);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].sport(), 30001);
    EXPECT_EQ(out[1].sport(), 30000);
    EXPECT_EQ(drops(dp::Drop::TableFull), 0u);
    EXPECT_EQ(dp_->worker(0).stats().conns_evicted.load(), 1u);
    EXPECT_EQ(dp_->worker(0).table().size(), cap);
    EXPECT_EQ(conn_counts(0).active, 1u);
    EXPECT_EQ(conn_counts(0).inactive, cap - 1);
}

// ---- Flood defences (IPVS's drop_entry, drop_packet, secure_tcp; docs/reliability.md) -----------

class DefenseTest : public DataplaneTest {
protected:
    // The config's defense group, applied as a reload would, and evaluated at once.
    void set_defense(const cfg::DefenseCfg& d) {
        cfg::Config c = ctl_->config();
        c.defense = d;
        ctl_->set_config_rules(c);
        ctl_->update_defense_level(true);
    }

    void syn(uint32_t saddr, uint16_t sport) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, saddr, sport, ip("10.0.0.100"), 80));
    }
    void ack(uint16_t sport) {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), sport, ip("10.0.0.100"),
                             80, 0x10, 64, "x"));
    }

    // A full handshake from 10.0.0.2:sport through the director: SYN, the server's SYN-ACK, the
    // client's ACK. Returns the real server's address.
    uint32_t open_conn(uint16_t sport) {
        syn(ip("10.0.0.2"), sport);
        step();
        auto out = recv(kInt);
        EXPECT_EQ(out.size(), 1u);
        if (out.size() != 1) {
            return 0;
        }
        const uint32_t rs = out[0].daddr();
        send(kInt, Frame::l4(mac_[kInt], out[0].dst_mac(), 6, rs, 80, ip("10.0.0.2"), sport,
                             0x12, 64, ""));
        step();
        EXPECT_EQ(recv(kExt).size(), 1u);
        ack(sport);
        step();
        EXPECT_EQ(recv(kInt).size(), 1u);
        return rs;
    }

    // `n` SYNs from distinct spoofed sources in 11.0.0.0/8, a burst at a time.
    void flood(uint32_t n) {
        for (uint32_t i = 0; i < n; i += 256) {
            for (uint32_t j = i; j < i + 256 && j < n; ++j) {
                syn(htonl(0x0b000000u + j), 1024);
            }
            for (int k = 0; k < 10; ++k) {
                step();
            }
            drain(kInt);
        }
    }

    uint64_t worker_stat(std::atomic<uint64_t> dp::WorkerStats::*c) const {
        return (dp_->worker(0).stats().*c).load();
    }
};

TEST_F(DefenseTest, DropPacketAlwaysShedsOneNewSynInRate) {
    learn_all();
    open_conn(30000);
    cfg::DefenseCfg d;
    d.drop_packet = 3;
    d.am_droprate = 4;
    set_defense(d);
    EXPECT_EQ(dp_->defense().drop_rate, 4u);
    EXPECT_EQ(ctl_->defense_modes().drop_packet, 3);
    for (uint16_t i = 0; i < 8; ++i) {
        syn(ip("10.0.0.2"), static_cast<uint16_t>(31000 + i));
    }
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 6u);
    // IPVS's countdown: the 4th and the 8th are dropped.
    EXPECT_EQ(out[2].sport(), 31002);
    EXPECT_EQ(out[3].sport(), 31004);
    EXPECT_EQ(drops(dp::Drop::DropPacket), 2u);
    // An established connection's packets are never shed.
    for (int i = 0; i < 8; ++i) {
        ack(30000);
    }
    step();
    EXPECT_EQ(recv(kInt).size(), 8u);
    EXPECT_EQ(drops(dp::Drop::DropPacket), 2u);
    // Off again: every SYN gets in.
    set_defense(cfg::DefenseCfg{});
    EXPECT_EQ(dp_->defense().drop_rate, 0u);
    for (uint16_t i = 0; i < 8; ++i) {
        syn(ip("10.0.0.2"), static_cast<uint16_t>(32000 + i));
    }
    step();
    EXPECT_EQ(recv(kInt).size(), 8u);
    EXPECT_EQ(drops(dp::Drop::DropPacket), 2u);
    // The shed SYNs are in --list-ports' drop list.
    ctl::Request req;
    req.op = ctl::Op::ListPorts;
    const Reply r = ctl_->handle(req);
    bool listed = false;
    for (const auto& dv : r.drops) {
        listed |= dv.reason == "drop_packet" && dv.count == 2;
    }
    EXPECT_TRUE(listed);
}

// drop_packet sheds SCTP INITs as IPVS's sctp_conn_schedule does (ip_vs_todrop), with the same
// countdown as SYNs; an association's later chunks are never shed.
TEST_F(DefenseTest, DropPacketShedsSctpInitsToo) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", cfg::RealServer{}}});
    cfg::DefenseCfg d;
    d.drop_packet = 3;
    d.am_droprate = 4;
    set_defense(d);
    for (uint16_t i = 0; i < 8; ++i) {
        send(kExt, sctp_from_client(mac_[kExt], static_cast<uint16_t>(33000 + i), 0, ct::kSctpInit,
                                    kInitValue));
    }
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 6u);
    EXPECT_EQ(out[3].sport(), 33004);  // the 4th INIT was shed
    EXPECT_EQ(drops(dp::Drop::DropPacket), 2u);
    for (int i = 0; i < 8; ++i) {
        send(kExt, sctp_from_client(mac_[kExt], 33000, 0x42, ct::kSctpData, "x"));
    }
    step();
    EXPECT_EQ(recv(kInt).size(), 8u);
    EXPECT_EQ(drops(dp::Drop::DropPacket), 2u);
}

TEST_F(DefenseTest, DropPacketAutomaticFollowsTableOccupancy) {
    learn_all();
    cfg::DefenseCfg d;
    d.drop_packet = 1;
    d.amemthresh = 1024;
    set_defense(d);
    // An empty table: off, and the mode reads 1.
    EXPECT_EQ(dp_->defense().drop_rate, 0u);
    EXPECT_EQ(ctl_->defense_modes().drop_packet, 1);
    const uint32_t cap = dp_->worker(0).table().capacity();
    flood(cap - 512);
    ASSERT_EQ(dp_->worker(0).table().size(), cap - 512);
    EXPECT_EQ(drops(dp::Drop::DropPacket), 0u);
    // 512 free entries, below amemthresh: on, mode 2, one SYN in 1024 / (1024 - 512) = 2.
    ctl_->update_defense_level(true);
    EXPECT_EQ(ctl_->defense_modes().drop_packet, 2);
    EXPECT_EQ(dp_->defense().drop_rate, 2u);
    for (uint16_t i = 0; i < 4; ++i) {
        syn(ip("10.0.0.2"), static_cast<uint16_t>(31000 + i));
    }
    step();
    EXPECT_EQ(recv(kInt).size(), 2u);
    EXPECT_EQ(drops(dp::Drop::DropPacket), 2u);
}

TEST_F(DefenseTest, DropEntryRemovesHalfOpenEntriesInSlicesNeverEstablishedOnes) {
    learn_all();
    open_conn(30000);  // entry 0: ESTABLISHED
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5000, ip("10.0.0.100"), 53,
                         0, 64, "q"));  // entry 1: a fresh UDP flow
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    flood(300);  // entries 2..301: SYN_RECV
    ASSERT_EQ(dp_->worker(0).table().size(), 302u);
    // Off: nothing is removed.
    for (int i = 0; i < 4; ++i) {
        dp_->worker(0).poll_once();
    }
    EXPECT_EQ(worker_stat(&dp::WorkerStats::conns_dropentry), 0u);

    cfg::DefenseCfg d;
    d.drop_entry = 3;
    set_defense(d);
    ASSERT_TRUE(dp_->defense().drop_entry);
    // This second's share is 1/32 of the 4096-entry table, 128 entries, 64 a loop: entries 0..127
    // are examined and the 126 half-open among them removed.
    dp_->worker(0).poll_once();
    EXPECT_EQ(worker_stat(&dp::WorkerStats::conns_dropentry), 62u);
    for (int i = 0; i < 4; ++i) {
        dp_->worker(0).poll_once();
    }
    const uint64_t dropped = worker_stat(&dp::WorkerStats::conns_dropentry);
    // (More only if a second passed between the loops, on a very slow machine.)
    EXPECT_GE(dropped, 126u);
    EXPECT_EQ(dp_->worker(0).table().size(), 302u - dropped);
    // The established connection and the UDP flow are still there and forward.
    ack(30000);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 17, ip("10.0.0.2"), 5000, ip("10.0.0.100"), 53,
                         0, 64, "q2"));
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(drops(dp::Drop::NoConn), 0u);
    EXPECT_EQ(conn_counts(0).active, 1u);
    EXPECT_EQ(conn_counts(0).inactive, 300u - dropped);
}

TEST_F(DefenseTest, DropEntryNeverRemovesEstablishedConnectionsOfAFullTable) {
    learn_all();
    // A table of established connections only, then drop_entry for many seconds' worth of
    // slices: nothing qualifies.
    const uint32_t n = 64;
    for (uint16_t i = 0; i < n; ++i) {
        open_conn(static_cast<uint16_t>(40000 + i));
    }
    cfg::DefenseCfg d;
    d.drop_entry = 3;
    set_defense(d);
    for (int i = 0; i < 200; ++i) {
        dp_->worker(0).poll_once();
    }
    EXPECT_EQ(worker_stat(&dp::WorkerStats::conns_dropentry), 0u);
    EXPECT_EQ(conn_counts(0).active, n);
}

TEST_F(DefenseTest, SecureTcpEstablishesOnlyOnTheRealServersAnswer) {
    learn_all();
    cfg::DefenseCfg d;
    d.secure_tcp = 3;
    set_defense(d);
    ASSERT_TRUE(dp_->defense().secure_tcp);
    // SYN, the server's SYN-ACK, the client's ACK: with the secure table the client's ACK does
    // not establish the connection (a spoofed handshake cannot).
    open_conn(30000);
    EXPECT_EQ(conn_counts(0).active, 0u);
    EXPECT_EQ(conn_counts(0).inactive, 1u);
    EXPECT_GE(worker_stat(&dp::WorkerStats::secure_tcp_held), 1u);
    // The real server's next packet does.
    ctl::Request req;
    req.op = ctl::Op::ListConns;
    Reply r = ctl_->handle(req);
    ASSERT_EQ(r.conns.size(), 1u);
    EXPECT_EQ(r.conns[0].state, "SYNACK");
    const uint32_t rs = htonl(r.conns[0].daddr);
    send(kInt, Frame::l4(mac_[kInt], kRs1Mac, 6, rs, 80, ip("10.0.0.2"), 30000, 0x10, 64, "ok"));
    step();
    EXPECT_EQ(recv(kExt).size(), 1u);
    EXPECT_EQ(conn_counts(0).active, 1u);
    // Secure off: the normal table, where the client's ACK establishes.
    set_defense(cfg::DefenseCfg{});
    open_conn(30001);
    EXPECT_EQ(conn_counts(0).active, 2u);
}

// A full table under a flood evicts the stalest half-open entry of its sample: a handshake still
// in progress (a fresh entry) survives.
TEST_F(DefenseTest, FullTableEvictsTheStalestHalfOpenEntry) {
    learn_all();
    const uint32_t cap = dp_->worker(0).table().capacity();
    flood(cap - 1);
    // A legitimate client's SYN takes the last entry, then the flood goes on.
    syn(ip("10.0.0.2"), 30000);
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    ASSERT_EQ(dp_->worker(0).table().size(), cap);
    for (uint32_t j = 0; j < 64; ++j) {
        syn(htonl(0x0c000000u + j), 1024);
    }
    for (int k = 0; k < 4; ++k) {
        step();
    }
    drain(kInt);
    EXPECT_EQ(worker_stat(&dp::WorkerStats::conns_evicted), 64u);
    // The client's handshake completes: its entry is still there.
    ack(30000);
    step();
    EXPECT_EQ(recv(kInt).size(), 1u);
    EXPECT_EQ(drops(dp::Drop::NoConn), 0u);
}

// ---- The SYN proxy (docs/reliability.md, "The SYN proxy") ---------------------------------------

namespace {

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
uint32_t get32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// A TCP segment with the given numbers, flags and payload, and an MSS option when `mss` is set.
Frame tcp_seg(const Mac& dst, const Mac& src, uint32_t saddr, uint16_t sport, uint32_t daddr,
              uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
              const std::string& payload = "", uint16_t mss = 0) {
    Frame f = Frame::eth(dst, src, 0x0800);
    const size_t hl = mss != 0 ? 24 : 20;
    const size_t l4len = hl + payload.size();
    f.ipv4(6, saddr, daddr, 64, l4len);
    const size_t off = f.b.size();
    f.b.resize(off + l4len, 0);
    uint8_t* h = f.b.data() + off;
    put16(h, sport);
    put16(h + 2, dport);
    put32(h + 4, seq);
    put32(h + 8, ack);
    h[12] = static_cast<uint8_t>((hl / 4) << 4);
    h[13] = flags;
    put16(h + 14, 29200);
    if (mss != 0) {
        h[20] = 2;
        h[21] = 4;
        put16(h + 22, mss);
    }
    std::memcpy(h + hl, payload.data(), payload.size());
    put16(h + 16, static_cast<uint16_t>(~fold(f.pseudo_sum() + sum16(h, l4len))));
    return f;
}

uint32_t seq_of(const Frame& f) { return get32(f.l4h() + 4); }
uint32_t ack_of(const Frame& f) { return get32(f.l4h() + 8); }
uint8_t flags_of(const Frame& f) { return f.l4h()[13]; }
uint16_t win_of(const Frame& f) { return static_cast<uint16_t>(f.l4h()[14] << 8 | f.l4h()[15]); }
// The MSS option when it is the header's only option, else 0.
uint16_t mss_of(const Frame& f) {
    const uint8_t* h = f.l4h();
    if ((h[12] >> 4) != 6 || h[20] != 2 || h[21] != 4) {
        return 0;
    }
    return static_cast<uint16_t>(h[22] << 8 | h[23]);
}
std::string payload_of(const Frame& f) {
    const size_t hl = static_cast<size_t>(f.l4h()[12] >> 4) * 4;
    const auto* p = reinterpret_cast<const char*>(f.l4h() + hl);
    return std::string(p, f.ip_len() - 20 - hl);
}
// Both checksums verified from scratch, over the whole header and segment (the test's own sums,
// not the dataplane's), and the frame as long as its IPv4 header says.
bool checksums_ok(const Frame& f) {
    if (f.b.size() < 14 + f.ip_len()) {
        return false;
    }
    const bool ip = fold(sum16(f.iph(), 20)) == 0xffff;
    const bool tcp = fold(f.pseudo_sum() + sum16(f.l4h(), f.ip_len() - 20)) == 0xffff;
    return ip && tcp;
}

}  // namespace

class SynProxyTest : public DefenseTest {
protected:
    static constexpr uint16_t kSport = 30000;
    static constexpr uint32_t kIsn = 1000;
    static constexpr uint32_t kServerIsn = 50000;

    void SetUp() override {
        DefenseTest::SetUp();
        learn_all();
        cfg::DefenseCfg d;
        d.syn_proxy = 3;
        set_defense(d);
        ASSERT_TRUE(dp_->defense().syn_proxy);
    }

    void client(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& payload = "",
                uint16_t mss = 0) {
        send(kExt, tcp_seg(mac_[kExt], kClientMac, ip("10.0.0.2"), kSport, ip("10.0.0.100"), 80,
                           flags, seq, ack, payload, mss));
        step();
    }
    void server(uint32_t rs, uint8_t flags, uint32_t seq, uint32_t ack,
                const std::string& payload = "") {
        send(kInt, tcp_seg(mac_[kInt], rs == ip("172.16.0.11") ? kRs1Mac : kRs2Mac, rs, 80,
                           ip("10.0.0.2"), kSport, flags, seq, ack, payload));
        step();
    }

    // The client's SYN (MSS 1400) and our SYN-ACK: returns its cookie.
    uint32_t syn_for_cookie() {
        client(0x02, kIsn, 0, "", 1400);
        const auto out = recv(kExt);
        EXPECT_EQ(out.size(), 1u);
        EXPECT_TRUE(recv(kInt).empty());
        return out.empty() ? 0 : seq_of(out[0]);
    }

    // SYN, SYN-ACK, the client's ACK: returns the SYN that reached the real server.
    Frame handshake_to_server(uint32_t& cookie) {
        cookie = syn_for_cookie();
        client(0x10, kIsn + 1, cookie + 1);
        auto out = recv(kInt);
        EXPECT_EQ(out.size(), 1u);
        return out.empty() ? Frame{} : out[0];
    }

    std::string conn_state() {
        ctl::Request req;
        req.op = ctl::Op::ListConns;
        const Reply r = ctl_->handle(req);
        return r.conns.size() == 1 ? r.conns[0].state : "(" + std::to_string(r.conns.size()) + ")";
    }
};

TEST_F(SynProxyTest, SynIsAnsweredWithACookieAndNoEntry) {
    client(0x02, kIsn, 0, "", 1400);
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(recv(kInt).empty());
    const Frame& sa = out[0];
    EXPECT_TRUE(checksums_ok(sa));
    EXPECT_EQ(sa.dst_mac(), kClientMac);
    EXPECT_EQ(sa.src_mac(), mac_[kExt]);
    EXPECT_EQ(sa.saddr(), ip("10.0.0.100"));
    EXPECT_EQ(sa.daddr(), ip("10.0.0.2"));
    EXPECT_EQ(sa.sport(), 80);
    EXPECT_EQ(sa.dport(), kSport);
    EXPECT_EQ(flags_of(sa), 0x12);
    EXPECT_EQ(ack_of(sa), kIsn + 1);
    EXPECT_EQ(mss_of(sa), 1460);  // the only option
    EXPECT_EQ(win_of(sa), 1460);  // one segment: the proxy holds one
    EXPECT_EQ(dp_->worker(0).table().size(), 0u);
    // The cookie is the one the worker's secret makes for this flow, ISN and MSS.
    const dp::CookieResult r = dp_->worker(0).syn_cookie().check(
        ip("10.0.0.2"), ip("10.0.0.100"), htons(kSport), htons(80), kIsn, seq_of(sa),
        dp_->worker(0).clock_ms());
    EXPECT_EQ(r.check, dp::CookieCheck::Valid);
    EXPECT_EQ(r.mss, 1220);  // 1400 rounded down to the cookie's table
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_cookies_sent), 1u);
    EXPECT_EQ(conn_counts(0).inactive, 0u);
}

TEST_F(SynProxyTest, SpliceTranslatesSequenceNumbersBothWays) {
    uint32_t cookie = 0;
    const Frame syn = handshake_to_server(cookie);
    // The SYN the client would have sent: its ISN, the MSS the cookie kept, nothing acked.
    EXPECT_TRUE(checksums_ok(syn));
    const uint32_t rs = syn.daddr();
    EXPECT_TRUE(rs == ip("172.16.0.11") || rs == ip("172.16.0.12"));
    EXPECT_EQ(syn.saddr(), ip("10.0.0.2"));
    EXPECT_EQ(syn.sport(), kSport);
    EXPECT_EQ(syn.dport(), 80);
    EXPECT_EQ(flags_of(syn), 0x02);
    EXPECT_EQ(seq_of(syn), kIsn);
    EXPECT_EQ(ack_of(syn), 0u);
    EXPECT_EQ(mss_of(syn), 1220);
    EXPECT_EQ(win_of(syn), 29200);  // the client's ACK's window
    EXPECT_EQ(dp_->worker(0).table().size(), 1u);
    EXPECT_EQ(conn_state(), "SYN_SENT");
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_cookies_valid), 1u);

    // The server's SYN-ACK: answered with the ACK that completes its handshake; the client sees
    // nothing of it.
    server(rs, 0x12, kServerIsn, kIsn + 1);
    EXPECT_TRUE(recv(kExt).empty());
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(checksums_ok(out[0]));
    EXPECT_EQ(out[0].daddr(), rs);
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.2"));
    EXPECT_EQ(flags_of(out[0]), 0x10);
    EXPECT_EQ(seq_of(out[0]), kIsn + 1);
    EXPECT_EQ(ack_of(out[0]), kServerIsn + 1);
    EXPECT_EQ(conn_state(), "ESTABLISHED");
    EXPECT_EQ(conn_counts(0).active, 1u);
    EXPECT_EQ(conn_counts(0).inactive, 0u);
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_handshakes), 1u);

    // Data both ways: the client's ack moves into the server's numbers, the server's seq into
    // the cookie's.
    client(0x18, kIsn + 1, cookie + 1, "GET /");
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(checksums_ok(out[0]));
    EXPECT_EQ(seq_of(out[0]), kIsn + 1);
    EXPECT_EQ(ack_of(out[0]), kServerIsn + 1);
    EXPECT_EQ(payload_of(out[0]), "GET /");
    server(rs, 0x18, kServerIsn + 1, kIsn + 6, "200 OK");
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(checksums_ok(out[0]));
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.100"));
    EXPECT_EQ(out[0].sport(), 80);
    EXPECT_EQ(seq_of(out[0]), cookie + 1);
    EXPECT_EQ(ack_of(out[0]), kIsn + 6);
    EXPECT_EQ(payload_of(out[0]), "200 OK");
    // A RST from the client is translated too.
    client(0x14, kIsn + 6, cookie + 7);
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(checksums_ok(out[0]));
    EXPECT_EQ(ack_of(out[0]), kServerIsn + 7);
    EXPECT_EQ(conn_state(), "CLOSE");
}

TEST_F(SynProxyTest, ASegmentBeforeTheServersAnswerIsHeldThenSentInPlaceOfTheAck) {
    uint32_t cookie = 0;
    const uint32_t rs = handshake_to_server(cookie).daddr();
    client(0x18, kIsn + 1, cookie + 1, "GET /");  // held
    client(0x18, kIsn + 6, cookie + 1, "more");   // only one per connection: dropped
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_early_held), 1u);
    EXPECT_EQ(drops(dp::Drop::SynpEarlyDropped), 1u);
    server(rs, 0x12, kServerIsn, kIsn + 1);
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);  // the held segment acknowledges the SYN-ACK itself
    EXPECT_TRUE(checksums_ok(out[0]));
    EXPECT_EQ(payload_of(out[0]), "GET /");
    EXPECT_EQ(seq_of(out[0]), kIsn + 1);
    EXPECT_EQ(ack_of(out[0]), kServerIsn + 1);
    EXPECT_EQ(out[0].daddr(), rs);
    EXPECT_EQ(out[0].dst_mac(), rs == ip("172.16.0.11") ? kRs1Mac : kRs2Mac);
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_EQ(conn_state(), "ESTABLISHED");
}

TEST_F(SynProxyTest, AHeldSegmentIsFreedWhenNothingComes) {
    // Left held at the end of the test: the worker frees it (TearDown counts the mbufs).
    uint32_t cookie = 0;
    handshake_to_server(cookie);
    client(0x18, kIsn + 1, cookie + 1, "GET /");
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_early_held), 1u);
    // As the daemon's worker does when it stops (Worker::run).
    dp_->worker(0).release_held();
}

TEST_F(SynProxyTest, BadAndStaleCookiesAreCountedDropsWithoutEntries) {
    const uint32_t cookie = syn_for_cookie();
    // Wrong cookie, and the right cookie with another ISN (tampered), then a bare ACK of nothing.
    client(0x10, kIsn + 1, cookie + 2);
    client(0x10, kIsn + 2, cookie + 1);
    client(0x10, 77, 12345);
    EXPECT_EQ(drops(dp::Drop::SynpBadCookie), 3u);
    // A cookie the worker made three periods ago: stale.
    const uint64_t past =
        dp_->worker(0).clock_ms() - 3 * (uint64_t{1} << dp::SynCookie::kPeriodShift);
    const uint32_t old = dp_->worker(0).syn_cookie().make(
        ip("10.0.0.2"), ip("10.0.0.100"), htons(kSport), htons(80), kIsn, 1460, past);
    client(0x10, kIsn + 1, old + 1);
    EXPECT_EQ(drops(dp::Drop::SynpStaleCookie), 1u);
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_TRUE(recv(kExt).empty());  // nothing is sent back (as Linux and IPVS)
    EXPECT_EQ(dp_->worker(0).table().size(), 0u);
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_cookies_valid), 0u);
    // The good one still opens the connection.
    client(0x10, kIsn + 1, cookie + 1);
    EXPECT_EQ(recv(kInt).size(), 1u);
    EXPECT_EQ(dp_->worker(0).table().size(), 1u);
}

TEST_F(SynProxyTest, AServersRstReachesTheClientAtTheSequenceItExpects) {
    uint32_t cookie = 0;
    const uint32_t rs = handshake_to_server(cookie).daddr();
    client(0x18, kIsn + 1, cookie + 1, "GET /");  // held, then freed by the RST
    server(rs, 0x14, 0, kIsn + 1);
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(checksums_ok(out[0]));
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.100"));
    EXPECT_EQ(flags_of(out[0]) & 0x04, 0x04);
    EXPECT_EQ(seq_of(out[0]), cookie + 1);
    EXPECT_EQ(conn_state(), "CLOSE");
    EXPECT_EQ(drops(dp::Drop::SynpEarlyDropped), 1u);
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_handshakes), 0u);
}

TEST_F(SynProxyTest, AHeldSegmentExpiresAfterASecondAndIsCounted) {
    uint32_t cookie = 0;
    const uint32_t rs = handshake_to_server(cookie).daddr();
    client(0x18, kIsn + 1, cookie + 1, "GET /");
    ASSERT_EQ(worker_stat(&dp::WorkerStats::synp_early_held), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    // The expiry scan visits 8 of the 256 slots a loop.
    for (uint32_t i = 0; i < dp::kSynpHoldSlots / dp::kSynpHoldSweep; ++i) {
        dp_->worker(0).poll_once();
    }
    EXPECT_EQ(drops(dp::Drop::SynpEarlyDropped), 1u);
    // Nothing is held any more: the server's SYN-ACK gets the bare ACK.
    server(rs, 0x12, kServerIsn, kIsn + 1);
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(flags_of(out[0]), 0x10);
    EXPECT_EQ(payload_of(out[0]), "");
    EXPECT_EQ(ack_of(out[0]), kServerIsn + 1);
}

TEST_F(SynProxyTest, AServiceWithADirectRoutingServerIsNotProxied) {
    ctl::Request r;
    r.op = ctl::Op::AddDest;
    r.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 80};
    r.dest = {ntohl(ip("172.16.0.13")), 80, cfg::Fwd::Route, 1, 0, 0};
    ASSERT_EQ(ctl_->handle(r).code, Errc::Ok);
    learn(kInt, {0x02, 0x5e, 0, 0, 0, 0x13}, ip("172.16.0.13"), ip("172.16.0.1"));
    for (uint16_t i = 0; i < 3; ++i) {
        send(kExt, tcp_seg(mac_[kExt], kClientMac, ip("10.0.0.2"), static_cast<uint16_t>(31000 + i),
                           ip("10.0.0.100"), 80, 0x02, kIsn, 0, "", 1400));
    }
    step();
    drain(kInt);
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_cookies_sent), 0u);
    EXPECT_EQ(dp_->worker(0).table().size(), 3u);  // scheduled as usual, entries and all
}

TEST_F(SynProxyTest, OffOrAutomaticWithRoomTheSynGoesToTheServer) {
    cfg::DefenseCfg d;
    d.syn_proxy = 1;  // automatic, and the table is nearly empty
    set_defense(d);
    EXPECT_FALSE(dp_->defense().syn_proxy);
    EXPECT_TRUE(dp_->defense().syn_proxy_ack);
    client(0x02, kIsn, 0, "", 1400);
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(seq_of(out[0]), kIsn);
    EXPECT_EQ(mss_of(out[0]), 1400);  // untouched
    EXPECT_EQ(worker_stat(&dp::WorkerStats::synp_cookies_sent), 0u);
    EXPECT_EQ(dp_->worker(0).table().size(), 1u);
}

TEST_F(DataplaneTest, BatchIsAllOrNothing) {
    ctl::Request batch;
    batch.op = ctl::Op::Batch;
    ctl::Request add;
    add.op = ctl::Op::AddService;
    add.service.key = {cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 443};
    add.service.scheduler = "rr";
    batch.batch.push_back(add);
    ctl::Request dup = add;  // the same service again: the whole batch must fail
    batch.batch.push_back(dup);
    Reply r = ctl_->handle(batch);
    EXPECT_EQ(r.code, Errc::ServiceExists);
    EXPECT_NE(r.message.find("nothing was applied"), std::string::npos);
    EXPECT_EQ(list().services.size(), 2u);
    batch.batch.pop_back();
    EXPECT_EQ(ctl_->handle(batch).code, Errc::Ok);
    EXPECT_EQ(list().services.size(), 3u);
}

// ---- Connection sync (docs/sync.md): what a master's worker queues, what a backup's installs ----

class SyncTest : public DataplaneTest {
protected:
    /// Publishes the dataplane's sync flag to the worker (any rule change republishes).
    void set_master(bool on) {
        dp::SyncParams p = dp_->sync();
        p.master = on;
        dp_->set_sync(p);
        ctl::Request nop;
        nop.op = ctl::Op::SetTimeouts;  // all zero: every timeout stays, the snapshot is new
        ASSERT_EQ(ctl_->handle(nop).code, Errc::Ok);
    }
    /// The records worker 0 queued for control since the last call.
    std::vector<dp::SyncRecord> queued() {
        std::vector<dp::SyncRecord> out;
        dp::SyncRecord r;
        while (rte_ring_sc_dequeue_elem(dp_->sync_out(0), &r, sizeof(r)) == 0) {
            out.push_back(r);
        }
        return out;
    }
    void client(uint16_t sport, uint8_t flags, const std::string& payload = "") {
        send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.0.2"), sport, ip("10.0.0.100"),
                             80, flags, 64, payload));
        step();
    }
    /// SYN, the server's SYN-ACK, the client's ACK: ESTABLISHED after two client packets.
    Frame handshake(uint16_t sport) {
        client(sport, 0x02);
        auto out = recv(kInt);
        EXPECT_EQ(out.size(), 1u);
        const Frame syn = out.empty() ? Frame{} : out[0];
        send(kInt, Frame::l4(mac_[kInt], syn.dst_mac(), 6, syn.daddr(), 80, ip("10.0.0.2"), sport,
                             0x12, 64, ""));
        step();
        EXPECT_EQ(recv(kExt).size(), 1u);
        client(sport, 0x10);
        EXPECT_EQ(recv(kInt).size(), 1u);
        return syn;
    }
    void install(dp::SyncRecord r) {
        ASSERT_EQ(rte_ring_sp_enqueue_elem(dp_->sync_in(0), &r, sizeof(r)), 0);
    }
    static dp::SyncRecord record(uint16_t sport, const char* rs, ct::TcpState st) {
        dp::SyncRecord r;
        r.client.saddr = ip("10.0.0.2");
        r.client.daddr = ip("10.0.0.100");
        r.client.sport = htons(sport);
        r.client.dport = htons(80);
        r.client.proto = IPPROTO_TCP;
        r.raddr = ip(rs);
        r.rport = htons(80);
        r.state = static_cast<uint8_t>(st);
        r.fwd = static_cast<uint8_t>(cfg::Fwd::Masq);
        r.timeout_s = 900;
        r.inactive = st == ct::TcpState::Established ? 0 : 1;
        return r;
    }
    std::vector<ctl::ConnInfo> conns() {
        ctl::Request r;
        r.op = ctl::Op::ListConns;
        return ctl_->handle(r).conns;
    }
};

TEST_F(SyncTest, MasterQueuesOnTheThirdClientPacketEveryFiftiethAndOnClosingStates) {
    learn_all();
    set_master(true);
    handshake(41000);  // two client packets: SYN_RECV, then ESTABLISHED, not due yet
    EXPECT_TRUE(queued().empty());
    client(41000, 0x18, "a");  // the third: sync_threshold
    EXPECT_EQ(recv(kInt).size(), 1u);
    auto q = queued();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].kind, dp::SyncKind::Conn);
    EXPECT_EQ(q[0].client.sport, htons(41000));
    EXPECT_EQ(q[0].client.daddr, ip("10.0.0.100"));
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::Established));
    EXPECT_EQ(q[0].inactive, 0);
    EXPECT_EQ(q[0].timeout_s, 900u);
    EXPECT_EQ(q[0].fwd, static_cast<uint8_t>(cfg::Fwd::Masq));
    // Packets 4..52 are not due; the 53rd is (3 + sync_period).
    for (int i = 4; i <= 52; ++i) {
        client(41000, 0x18, "b");
    }
    EXPECT_TRUE(queued().empty());
    client(41000, 0x18, "c");
    EXPECT_EQ(queued().size(), 1u);
    // The server's packets never count; a FIN from the client (FIN_WAIT) is sent at once.
    client(41000, 0x11);
    q = queued();
    ASSERT_EQ(q.size(), 1u);
    // IPVS's input table: a client's FIN in ESTABLISHED is CLOSE_WAIT.
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::CloseWait));
    EXPECT_EQ(q[0].inactive, 1);
    drain(kInt);
    EXPECT_EQ(dp_->worker(0).stats().sync_lost.load(), 0u);
    // Stopped: nothing is queued any more.
    set_master(false);
    handshake(41001);
    client(41001, 0x18, "a");
    EXPECT_TRUE(queued().empty());
    drain(kInt);
}

TEST_F(SyncTest, MasterSendsAPersistentConnectionsTemplateWithIt) {
    learn_all();
    ctl::Request edit;
    edit.op = ctl::Op::EditService;
    edit.service = list().services[0].service;
    edit.service.flags |= cfg::kSvcPersistent;
    edit.service.timeout = 300;
    edit.service.netmask = 0xffffff00;
    ASSERT_EQ(ctl_->handle(edit).code, Errc::Ok) << ctl_->handle(edit).message;
    set_master(true);
    handshake(42000);
    client(42000, 0x18, "a");
    drain(kInt);
    const auto q = queued();
    ASSERT_EQ(q.size(), 2u);
    EXPECT_EQ(q[0].kind, dp::SyncKind::Conn);
    EXPECT_EQ(q[1].kind, dp::SyncKind::Template);
    EXPECT_EQ(q[1].client.saddr, ip("10.0.0.0"));  // masked with -M 255.255.255.0
    EXPECT_EQ(q[1].client.sport, 0);
    EXPECT_EQ(q[1].client.dport, htons(80));
    EXPECT_EQ(q[1].raddr, q[0].raddr);
    EXPECT_EQ(q[1].timeout_s, 300u);
    EXPECT_EQ(q[1].state, static_cast<uint8_t>(ct::TcpState::None));
}

TEST_F(SyncTest, BackupInstallsForwardsAndCountsSyncedConnections) {
    learn_all();
    // rr would send the next new flow to 172.16.0.11; the synced one names .12.
    install(record(43000, "172.16.0.12", ct::TcpState::Established));
    install(record(43001, "172.16.0.11", ct::TcpState::SynRecv));
    dp::SyncRecord foreign = record(43002, "172.16.0.99", ct::TcpState::Established);
    install(foreign);  // no such real server here
    dp::SyncRecord bad = record(43003, "172.16.0.11", ct::TcpState::Established);
    bad.state = 200;
    install(bad);
    step();
    const dp::WorkerStats& st = dp_->worker(0).stats();
    EXPECT_EQ(st.sync_installed.load(), 2u);
    EXPECT_EQ(st.sync_no_service.load(), 2u);
    // IPVS counts a synced connection by its activity flag: one active, one inactive.
    auto c = conn_counts(0);
    EXPECT_EQ(c.active, 1u);
    EXPECT_EQ(c.inactive, 1u);
    const auto listed = conns();
    ASSERT_EQ(listed.size(), 2u);
    for (const auto& ci : listed) {
        if (ci.cport == 43000) {
            EXPECT_EQ(ci.state, "ESTABLISHED");
            EXPECT_EQ(ci.daddr, ntohl(ip("172.16.0.12")));
            EXPECT_GT(ci.expires_ms, 890'000u);
        }
    }
    // The synced entry forwards: the client's data goes to .12, the reply is translated back.
    client(43000, 0x18, "after failover");
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.12"));
    send(kInt, Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.16.0.12"), 80, ip("10.0.0.2"), 43000,
                         0x18, 64, "reply"));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.100"));
    EXPECT_TRUE(out[0].l4_csum_ok());
    // An update moves the counts as a state change does; the entry is not duplicated.
    install(record(43000, "172.16.0.12", ct::TcpState::FinWait));
    step();
    EXPECT_EQ(st.sync_updated.load(), 1u);
    c = conn_counts(0);
    EXPECT_EQ(c.active, 0u);
    EXPECT_EQ(c.inactive, 2u);
    EXPECT_EQ(conns().size(), 2u);
}

// SCTP as IPVS syncs it: ESTABLISHED and the shutdown states only, a change to a shutdown state
// at once; on the wire IPVS's SCTP state numbers (ESTABLISHED 8, SHUTDOWN_RECEIVED 10).
TEST_F(SyncTest, MasterSendsSctpAssociationsInIpvssStates) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort, {{"172.16.0.11", cfg::RealServer{}}});
    set_master(true);
    const auto from_client = [&](uint8_t type, const std::string& value = "") {
        send(kExt, sctp_from_client(mac_[kExt], 45000, 0x42, type, value));
        step();
        EXPECT_EQ(recv(kInt).size(), 1u);
    };
    from_client(ct::kSctpInit, kInitValue);  // INIT1: not a synced state
    send(kInt, sctp_from_server(mac_[kInt], kRs1Mac, "172.16.0.11", 45000, 0x24, ct::kSctpInitAck,
                                kInitValue));
    step();
    EXPECT_EQ(recv(kExt).size(), 1u);
    from_client(ct::kSctpCookieEcho, "cookie");  // C-REPLIED: not synced either
    EXPECT_TRUE(queued().empty());
    send(kInt,
         sctp_from_server(mac_[kInt], kRs1Mac, "172.16.0.11", 45000, 0x24, ct::kSctpCookieAck));
    step();
    EXPECT_EQ(recv(kExt).size(), 1u);
    from_client(ct::kSctpData, std::string(16, 'd'));  // the third client packet, ESTABLISHED
    auto q = queued();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].client.proto, IPPROTO_SCTP);
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::SctpEstablished));
    EXPECT_EQ(q[0].inactive, 0);
    EXPECT_EQ(q[0].timeout_s, 900u);
    EXPECT_EQ(ctl::to_wire(q[0]).protocol, IPPROTO_SCTP);
    EXPECT_EQ(ctl::to_wire(q[0]).state, 8);                // IP_VS_SCTP_S_ESTABLISHED
    from_client(ct::kSctpShutdown, std::string(4, '\0'));  // S-RECEIVED: sent at once
    q = queued();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::SctpShutdownReceived));
    EXPECT_EQ(q[0].inactive, 1);
    EXPECT_EQ(ctl::to_wire(q[0]).state, 10);  // IP_VS_SCTP_S_SHUTDOWN_RECEIVED
    EXPECT_EQ(dp_->worker(0).stats().sync_lost.load(), 0u);
}

// A backup installs a synced SCTP association: listed with its state, counted active, and the
// client's next chunk follows it (NAT, the CRC recomputed for the server's port).
TEST_F(SyncTest, BackupInstallsAndForwardsASyncedSctpAssociation) {
    learn_all();
    add_rr_service(cfg::Proto::Sctp, kSctpPort,
                   {{"172.16.0.11", cfg::RealServer{}}, {"172.16.0.12", cfg::RealServer{}}}, 5001);
    dp::SyncRecord r = record(46000, "172.16.0.11", ct::TcpState::SctpEstablished);
    r.client.proto = IPPROTO_SCTP;
    r.client.dport = htons(kSctpPort);
    r.rport = htons(5001);
    r.inactive = 0;
    install(r);
    step();
    EXPECT_EQ(dp_->worker(0).stats().sync_installed.load(), 1u);
    const auto listed = conns();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].proto, IPPROTO_SCTP);
    EXPECT_EQ(listed[0].state, "ESTABLISHED");
    EXPECT_EQ(listed[0].daddr, ntohl(ip("172.16.0.11")));
    // rr would pick .12 for a new association; the synced one stays on .11.
    send(kExt, sctp_from_client(mac_[kExt], 46000, 0x42, ct::kSctpData, std::string(16, 'd')));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), ip("172.16.0.11"));
    EXPECT_EQ(out[0].dport(), 5001);
    EXPECT_TRUE(out[0].sctp_crc_ok());
    for (const ctl::ServiceInfo& s : list().services) {
        if (s.service.key.proto == cfg::Proto::Sctp) {
            uint32_t active = 0;
            for (const ctl::DestInfo& d : s.dests) {
                active += d.active;
            }
            EXPECT_EQ(active, 1u);
        }
    }
}

TEST_F(SyncTest, BackupInstallsATemplateThatSteersTheClientsNextConnection) {
    learn_all();
    ctl::Request edit;
    edit.op = ctl::Op::EditService;
    edit.service = list().services[0].service;
    edit.service.flags |= cfg::kSvcPersistent;
    edit.service.timeout = 300;
    edit.service.netmask = 0xffffffff;
    ASSERT_EQ(ctl_->handle(edit).code, Errc::Ok);
    dp::SyncRecord t = record(0, "172.16.0.12", ct::TcpState::None);
    t.kind = dp::SyncKind::Template;
    t.timeout_s = 300;
    t.inactive = 1;
    install(t);
    step();
    EXPECT_EQ(dp_->worker(0).stats().sync_templates.load(), 1u);
    const Reply l = list();
    for (const auto& d : l.services[0].dests) {
        // PersistConn counts the template on .12 only.
        EXPECT_EQ(d.persistent, d.server.addr == ntohl(ip("172.16.0.12")) ? 1u : 0u)
            << d.server.addr;
    }
    // Two new connections from the client both land on the template's server.
    for (uint16_t sport : {44000, 44001}) {
        client(sport, 0x02);
        const auto out = recv(kInt);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].daddr(), ip("172.16.0.12"));
    }
}

// A fwmark service's template goes out as IPVS sends one (protocol 0, the mark as its address),
// and a backup installs such a template against its own fwmark service.
TEST_F(SyncTest, FwmarkTemplatesAreSyncedByTheirMark) {
    learn_all();
    web_fwmark_service(0xffffff00);
    set_master(true);
    const Frame syn = handshake(42000);
    client(42000, 0x18, "a");
    drain(kInt);
    const auto q = queued();
    ASSERT_EQ(q.size(), 2u);
    EXPECT_EQ(q[0].kind, dp::SyncKind::Conn);
    EXPECT_EQ(q[0].client.proto, IPPROTO_TCP);
    EXPECT_EQ(q[0].client.dport, htons(80));
    EXPECT_EQ(q[1].kind, dp::SyncKind::Template);
    EXPECT_EQ(q[1].client.proto, 0);
    EXPECT_EQ(q[1].client.daddr, htonl(1));
    EXPECT_EQ(q[1].client.saddr, ip("10.0.0.0"));
    EXPECT_EQ(q[1].client.dport, 0);
    EXPECT_EQ(q[1].rport, 0);
    EXPECT_EQ(q[1].raddr, syn.daddr());
    const sync::ConnRecord w = ctl::to_wire(q[1]);
    EXPECT_EQ(w.protocol, 0);
    EXPECT_EQ(w.fwmark, 1u);
    EXPECT_NE(w.flags & sync::kFlagTemplate, 0u);
    set_master(false);

    // Backup side: a template for another client network names the server rr would not pick
    // next; that client's SYN to port 443 lands on it.
    dp::SyncRecord t = q[1];
    t.client.saddr = ip("10.0.1.0");
    const uint64_t before = dp_->worker(0).stats().sync_templates.load();
    install(t);
    step();
    EXPECT_EQ(dp_->worker(0).stats().sync_templates.load(), before + 1);
    send(kExt, Frame::l4(mac_[kExt], kClientMac, 6, ip("10.0.1.7"), 46000, ip("10.0.0.100"), 443));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].daddr(), syn.daddr());
    EXPECT_EQ(out[0].dport(), 443);
    // A protocol-0 record that is not a template, or names no service, installs nothing.
    dp::SyncRecord bad = t;
    bad.kind = dp::SyncKind::Conn;
    install(bad);
    bad = t;
    bad.client.daddr = htonl(9);
    install(bad);
    const uint64_t no_svc = dp_->worker(0).stats().sync_no_service.load();
    step();
    EXPECT_EQ(dp_->worker(0).stats().sync_no_service.load(), no_svc + 2);
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("dataplane_test", "0", "256"));
    return RUN_ALL_TESTS();
}
