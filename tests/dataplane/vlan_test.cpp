// SPDX-License-Identifier: BSD-3-Clause
// 802.1Q VLAN interfaces through the real worker and slow path (docs/forwarding.md, "VLANs"):
// two net_ring ports, "ext" carrying VLANs 100 and 200 besides its untagged subnet, "int" with
// its untagged subnet and VLAN 300. Frames in, exact frames out, tags included; every mbuf
// accounted for.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"
#include "tests/dataplane/harness.hpp"

namespace dirigo {
namespace {

using namespace test;  // the test network: MACs, port indexes, frame helpers

constexpr uint16_t kV100 = 100;  // ext: clients, and the VIP 10.1.0.100
constexpr uint16_t kV200 = 200;  // ext: another subnet
constexpr uint16_t kV300 = 300;  // int: a second server subnet

class VlanTest : public ::testing::Test {
protected:
    void SetUp() override {
        static int seq = 0;
        ++seq;
        cfg::Config cfg;
        cfg.host.kernel_interfaces = host_rings_;
        cfg.host.queue = 64;
        cfg.dataplane.conn_table_size = 4096;
        cfg.dataplane.mbufs = 4095;
        cfg.dataplane.rx_desc = 256;
        cfg.dataplane.tx_desc = 256;
        const char* names[2] = {"ext", "int"};
        for (int i = 0; i < 2; ++i) {
            const std::string base = "v" + std::to_string(seq) + names[i];
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
        cfg.ports[0].vlans = {
            {kV100, {{ntohl(ip("10.1.0.1")), 24}, {ntohl(ip("10.1.0.100")), 32}}},
            {kV200, {{ntohl(ip("10.2.0.1")), 24}}},
        };
        cfg.ports[1].addresses = {{ntohl(ip("172.16.0.1")), 24}};
        cfg.ports[1].vlans = {{kV300, {{ntohl(ip("172.17.0.1")), 24}}}};
        cfg::Service svc;
        svc.key = {cfg::Proto::Tcp, ntohl(ip("10.1.0.100")), 80};
        svc.scheduler = "rr";
        // One real server on int's VLAN 300, one on its untagged subnet: rr starts with the
        // last one added (the list is newest first, as the kernel's).
        svc.servers = {{ntohl(ip("172.17.0.11")), 8080, cfg::Fwd::Masq, 1, 0, 0},
                       {ntohl(ip("172.16.0.11")), 8080, cfg::Fwd::Masq, 1, 0, 0}};
        cfg.services.push_back(svc);

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
        (void)recv(kExt);
        (void)recv(kInt);
        ctl_.reset();
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
    /// `f` (untagged) as a NIC that strips tags delivers it: the tag in the mbuf's metadata.
    void send_stripped(int port, const Frame& f, uint16_t tci) {
        rte_mbuf* m = to_mbuf(dp_->pool(), f);
        ASSERT_NE(m, nullptr);
        m->vlan_tci = tci;
        m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
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
    /// A host on VLAN `vid` (0: untagged) of `port` asks for our address `ours`: the director
    /// answers on that VLAN and learns the host.
    void learn(int port, uint16_t vid, const Mac& mac, uint32_t addr, uint32_t ours) {
        const Frame req = Frame::arp(kBcast, mac, 1, mac, addr, kZero, ours);
        send(port, vid == 0 ? req : tagged(req, vid));
        step();
        const auto replies = recv(port);
        ASSERT_EQ(replies.size(), 1u);
        EXPECT_EQ(tag_of(replies[0]), vid == 0 ? -1 : vid);
    }
    uint64_t drops(dp::Drop d) const {
        return dp_->worker(0).stats().drops[static_cast<size_t>(d)].load();
    }
    uint16_t iface(int port, uint16_t vid) const {
        return dp_->topology()->vlan_iface(port_id_[port], vid);
    }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
    bool host_rings_ = false;
};

TEST_F(VlanTest, EachVlanIsAnInterfaceOfItsOwn) {
    const dp::Topology& t = *dp_->topology();
    const uint16_t v100 = iface(kExt, kV100);
    const uint16_t v300 = iface(kInt, kV300);
    ASSERT_GE(v100, dp::kMaxPorts);
    ASSERT_GE(v300, dp::kMaxPorts);
    EXPECT_EQ(t.ports[v100].name, "ext.100");
    EXPECT_EQ(t.ports[v100].parent, port_id_[kExt]);
    EXPECT_EQ(t.ports[v100].vlan, kV100);
    EXPECT_EQ(to_mac(t.ports[v100].mac), mac_[kExt]);
    EXPECT_EQ(t.ports[v300].name, "int.300");
    EXPECT_EQ(iface(kExt, kV300), 0);  // ext does not carry VLAN 300
    EXPECT_EQ(iface(kInt, kV100), 0);
    // Owned addresses and connected routes belong to the VLAN's interface.
    EXPECT_EQ(t.local_port(ip("10.1.0.100")), v100);
    EXPECT_EQ(t.local_port(ip("10.0.0.1")), port_id_[kExt]);
    ASSERT_NE(t.route(ip("10.1.0.7")), nullptr);
    EXPECT_EQ(t.route(ip("10.1.0.7"))->port, v100);
    EXPECT_EQ(t.route(ip("172.17.0.11"))->port, v300);
}

TEST_F(VlanTest, ArpOnAVlanIsAnsweredWithItsTag) {
    for (const char* a : {"10.1.0.1", "10.1.0.100"}) {
        send(kExt,
             tagged(Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.1.0.2"), kZero, ip(a)),
                    kV100));
        step();
        const auto out = recv(kExt);
        ASSERT_EQ(out.size(), 1u) << a;
        EXPECT_EQ(tag_of(out[0]), kV100);
        const Frame reply = untagged(out[0]);
        EXPECT_EQ(reply.ethertype(), 0x0806);
        EXPECT_EQ(reply.dst_mac(), kClientMac);
        EXPECT_EQ(reply.src_mac(), mac_[kExt]);
        EXPECT_EQ(reply.arp_op(), 2);
        EXPECT_EQ(reply.arp_sip(), ip(a));
        EXPECT_EQ(reply.arp_sha(), mac_[kExt]);
        EXPECT_EQ(reply.arp_tip(), ip("10.1.0.2"));
    }
    // The same address asked on another VLAN, or untagged: not that interface's, no answer.
    send(kExt, tagged(Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.2.0.2"), kZero,
                                 ip("10.1.0.1")),
                      kV200));
    send(kExt,
         Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.0.0.2"), kZero, ip("10.1.0.1")));
    step();
    EXPECT_TRUE(recv(kExt).empty());
    // A NIC that strips tags: the same answer, tagged.
    send_stripped(
        kExt, Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.2.0.2"), kZero, ip("10.2.0.1")),
        kV200);
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tag_of(out[0]), kV200);
    EXPECT_EQ(untagged(out[0]).arp_sip(), ip("10.2.0.1"));
}

TEST_F(VlanTest, NatFromATaggedClientToServersOnAPortAndOnAVlan) {
    learn(kExt, kV100, kClientMac, ip("10.1.0.2"), ip("10.1.0.1"));
    learn(kInt, 0, kRs1Mac, ip("172.16.0.11"), ip("172.16.0.1"));
    learn(kInt, kV300, kRs2Mac, ip("172.17.0.11"), ip("172.17.0.1"));
    // rr: the first connection to the server on int's untagged subnet, the second to the one on
    // VLAN 300. The second client's frame comes as a tag-stripping NIC delivers it.
    send(kExt,
         tagged(Frame::l4(mac_[kExt], kClientMac, 6, ip("10.1.0.2"), 40000, ip("10.1.0.100"), 80),
                kV100));
    send_stripped(kExt,
                  Frame::l4(mac_[kExt], kClientMac, 6, ip("10.1.0.2"), 40001, ip("10.1.0.100"), 80),
                  kV100);
    step();
    const auto to_rs = recv(kInt);
    ASSERT_EQ(to_rs.size(), 2u);
    EXPECT_EQ(tag_of(to_rs[0]), -1);  // int's own subnet: untagged
    EXPECT_EQ(to_rs[0].dst_mac(), kRs1Mac);
    EXPECT_EQ(to_rs[0].src_mac(), mac_[kInt]);
    EXPECT_EQ(to_rs[0].daddr(), ip("172.16.0.11"));
    EXPECT_EQ(to_rs[0].dport(), 8080);
    EXPECT_EQ(to_rs[0].ttl(), 63);
    EXPECT_TRUE(to_rs[0].ip_csum_ok());
    EXPECT_TRUE(to_rs[0].l4_csum_ok());
    EXPECT_EQ(tag_of(to_rs[1]), kV300);
    const Frame rs2 = untagged(to_rs[1]);
    EXPECT_EQ(rs2.dst_mac(), kRs2Mac);
    EXPECT_EQ(rs2.daddr(), ip("172.17.0.11"));
    EXPECT_EQ(rs2.sport(), 40001);
    EXPECT_TRUE(rs2.ip_csum_ok());
    EXPECT_TRUE(rs2.l4_csum_ok());

    // The replies: from the untagged server and from VLAN 300, both back to VLAN 100 from the VIP.
    send(kInt,
         Frame::l4(mac_[kInt], kRs1Mac, 6, ip("172.16.0.11"), 8080, ip("10.1.0.2"), 40000, 0x12));
    send(kInt, tagged(Frame::l4(mac_[kInt], kRs2Mac, 6, ip("172.17.0.11"), 8080, ip("10.1.0.2"),
                                40001, 0x12),
                      kV300));
    step();
    const auto to_client = recv(kExt);
    ASSERT_EQ(to_client.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(tag_of(to_client[i]), kV100) << i;
        const Frame r = untagged(to_client[i]);
        EXPECT_EQ(r.dst_mac(), kClientMac);
        EXPECT_EQ(r.src_mac(), mac_[kExt]);
        EXPECT_EQ(r.saddr(), ip("10.1.0.100"));
        EXPECT_EQ(r.sport(), 80);
        EXPECT_EQ(r.daddr(), ip("10.1.0.2"));
        EXPECT_EQ(r.dport(), 40000 + i);
        EXPECT_TRUE(r.ip_csum_ok());
        EXPECT_TRUE(r.l4_csum_ok());
    }
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::UnknownVlan), 0u);
}

TEST_F(VlanTest, AnUnresolvedNeighbourOnAVlanIsAskedForWithItsTag) {
    learn(kInt, 0, kRs1Mac, ip("172.16.0.11"), ip("172.16.0.1"));
    // The client is unknown: its reply waits while the slow path asks on VLAN 100.
    send(kExt,
         tagged(Frame::l4(mac_[kExt], kClientMac, 6, ip("10.1.0.2"), 40000, ip("10.1.0.100"), 80),
                kV100));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    send(kInt,
         Frame::l4(mac_[kInt], kRs1Mac, 6, ip("172.16.0.11"), 8080, ip("10.1.0.2"), 40000, 0x12));
    step();
    const auto asks = recv(kExt);
    ASSERT_EQ(asks.size(), 1u);
    EXPECT_EQ(tag_of(asks[0]), kV100);
    const Frame ask = untagged(asks[0]);
    EXPECT_EQ(ask.ethertype(), 0x0806);
    EXPECT_EQ(ask.arp_op(), 1);
    EXPECT_EQ(ask.arp_sip(), ip("10.1.0.1"));  // the VLAN's own address faces the client
    EXPECT_EQ(ask.arp_tip(), ip("10.1.0.2"));
    // The answer, tagged, releases the reply on that VLAN.
    send(kExt, tagged(Frame::arp(mac_[kExt], kClientMac, 2, kClientMac, ip("10.1.0.2"), mac_[kExt],
                                 ip("10.1.0.1")),
                      kV100));
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tag_of(out[0]), kV100);
    EXPECT_EQ(untagged(out[0]).saddr(), ip("10.1.0.100"));
    EXPECT_EQ(untagged(out[0]).dst_mac(), kClientMac);
}

TEST_F(VlanTest, PingToAVlanAddressIsAnsweredOnThatVlan) {
    send(kExt,
         tagged(Frame::icmp_echo(mac_[kExt], kClientMac, ip("10.2.0.2"), ip("10.2.0.1")), kV200));
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tag_of(out[0]), kV200);
    const Frame r = untagged(out[0]);
    EXPECT_EQ(r.saddr(), ip("10.2.0.1"));
    EXPECT_EQ(r.daddr(), ip("10.2.0.2"));
    EXPECT_EQ(r.dst_mac(), kClientMac);
    EXPECT_TRUE(r.ip_csum_ok());
}

TEST_F(VlanTest, UnknownVlansQinQAndDoubleTagsAreCountedDrops) {
    const Frame syn =
        Frame::l4(mac_[kExt], kClientMac, 6, ip("10.1.0.2"), 40000, ip("10.1.0.100"), 80);
    send(kExt, tagged(syn, 999));                         // not carried by ext
    send(kExt, tagged(syn, kV300));                       // int's VLAN, not ext's
    send_stripped(kExt, syn, 4000);                       // not carried, as a stripping NIC says it
    send(kExt, tagged(tagged(syn, kV100), 200, 0x88a8));  // QinQ
    send(kExt, tagged(tagged(syn, kV100), kV100));        // two 802.1Q tags
    send_stripped(kExt, tagged(syn, kV100), kV200);       // one stripped, one left in the frame
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::UnknownVlan), 3u);
    EXPECT_EQ(drops(dp::Drop::Unsupported), 3u);
    EXPECT_STREQ(dp::kDropNames[static_cast<size_t>(dp::Drop::UnknownVlan)], "unknown_vlan");
    // A priority tag (VLAN 0) is the port's own untagged traffic.
    send(kExt, tagged(Frame::icmp_echo(mac_[kExt], kClientMac, ip("10.0.0.2"), ip("10.0.0.1")),
                      5u << 13));
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tag_of(out[0]), -1);
    EXPECT_EQ(out[0].saddr(), ip("10.0.0.1"));
    // TearDown checks that no mbuf leaked.
}

TEST_F(VlanTest, DirectRoutingToAServerOnAVlanKeepsTheFrameButTagsIt) {
    // ipvsadm -A -t 10.1.0.100:443 -s rr; -a ... -r 172.17.0.12 -g: a DR server on VLAN 300.
    const ctl::Request b = service_batch({cfg::Proto::Tcp, ntohl(ip("10.1.0.100")), 443}, "rr",
                                         {{"172.17.0.12", {0, 0, cfg::Fwd::Route, 1, 0, 0}}});
    const ctl::Reply rep = ctl_->handle(b);
    ASSERT_EQ(rep.code, Errc::Ok) << rep.message;
    const Mac rs3 = {0x02, 0x5e, 0, 0, 0, 0x13};
    learn(kInt, kV300, rs3, ip("172.17.0.12"), ip("172.17.0.1"));
    const Frame syn =
        Frame::l4(mac_[kExt], kClientMac, 6, ip("10.1.0.2"), 40000, ip("10.1.0.100"), 443);
    send(kExt, tagged(syn, kV100));
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tag_of(out[0]), kV300);
    const Frame f = untagged(out[0]);
    EXPECT_EQ(f.dst_mac(), rs3);
    EXPECT_EQ(f.src_mac(), mac_[kInt]);
    // Above layer 2 the frame is the client's, untouched (DR).
    EXPECT_EQ(f.daddr(), ip("10.1.0.100"));
    EXPECT_EQ(f.dport(), 443);
    EXPECT_EQ(f.ttl(), 64);
    EXPECT_TRUE(std::equal(f.b.begin() + 12, f.b.end(), syn.b.begin() + 12));
}

class VlanHostTest : public VlanTest {
protected:
    VlanHostTest() { host_rings_ = true; }
    std::vector<Frame> host_frames(uint16_t iface) {
        std::vector<Frame> out;
        rte_mbuf* m;
        while (rte_ring_dequeue(dp_->host_ring(iface), reinterpret_cast<void**>(&m)) == 0) {
            out.push_back(take_frame(m));
        }
        return out;
    }
};

TEST_F(VlanHostTest, AVlansExceptionTrafficGoesUpUntaggedToItsOwnInterface) {
    const uint16_t v100 = iface(kExt, kV100);
    ASSERT_NE(dp_->host_ring(v100), nullptr);
    // ssh to the VLAN's address, tagged on the wire; and one as a stripping NIC delivers it.
    send(kExt,
         tagged(Frame::l4(mac_[kExt], kClientMac, 6, ip("10.1.0.2"), 40000, ip("10.1.0.1"), 22),
                kV100));
    send_stripped(kExt, Frame::icmp_echo(mac_[kExt], kClientMac, ip("10.1.0.2"), ip("10.1.0.1")),
                  kV100);
    step();
    const auto up = host_frames(v100);
    ASSERT_EQ(up.size(), 2u);
    EXPECT_EQ(tag_of(up[0]), -1);
    EXPECT_EQ(up[0].dport(), 22);
    EXPECT_EQ(up[1].proto(), 1);
    EXPECT_TRUE(host_frames(port_id_[kExt]).empty());
    // What the kernel sends on the VLAN's interface leaves the port tagged (worker 0 transmits
    // the inject ring's frames).
    rte_mbuf* m = to_mbuf(dp_->pool(), Frame::l4(kClientMac, mac_[kExt], 6, ip("10.1.0.1"), 22,
                                                 ip("10.1.0.2"), 40000, 0x12));
    ASSERT_NE(m, nullptr);
    m->port = v100;
    ASSERT_EQ(rte_ring_enqueue(dp_->inject_ring(), m), 0);
    dp_->worker(0).poll_once();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(tag_of(out[0]), kV100);
    EXPECT_EQ(untagged(out[0]).sport(), 22);
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("vlan_test", "0", "256"));
    return RUN_ALL_TESTS();
}
