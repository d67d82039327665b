// SPDX-License-Identifier: BSD-3-Clause
// In-process tests of IPv6 direct routing (-g) and IPv6-in-IPv6 tunnels (-i) through the real
// Worker, its IPv6 connection table and the slow path, on two net_ring ports. Every frame the
// director sends is compared byte for byte with the one a kernel director builds
// (ip_vs_dr_xmit_v6: the client's packet with a new Ethernet header; ip_vs_tunnel_xmit_v6: an
// outer IPv6 header in front of it), built here independently of dataplane/tunnel.hpp.

#include <array>
#include <cstring>
#include <memory>
#include <string>
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
const V6 kRs3 = v6("2001:db8:2::13");  // not yet in the neighbour table
const Mac kRs3Mac = {0x02, 0x5e, 0, 0, 0, 0x13};
const Mac kRs4Mac = {0x02, 0x5e, 0, 0, 0, 0x41};  // an IPv4 tunnel server, 172.16.0.41

cfg::Ip6 ip6_of(const V6& a) {
    cfg::Ip6 r;
    std::memcpy(r.b.data(), a.data(), 16);
    return r;
}

/// The frame `f` with its Ethernet addresses replaced: what direct routing sends.
Frame with_macs(const Frame& f, const Mac& dst, const Mac& src) {
    Frame g = f;
    std::memcpy(g.b.data(), dst.data(), 6);
    std::memcpy(g.b.data() + 6, src.data(), 6);
    return g;
}

/// The kernel's IPv6-in-IPv6 frame for inner frame `f` (ip_vs_tunnel_xmit_v6): Ethernet, then
/// version 6 with traffic class `tclass`, flow label 0, payload length the whole inner packet,
/// next header 41, the inner hop limit, `src` -> `dst`, then the inner packet unchanged.
Frame ip6ip6(const Frame& f, const Mac& dst_mac, const Mac& src_mac, uint8_t tclass, const V6& src,
             const V6& dst) {
    Frame g = Frame::eth(dst_mac, src_mac, 0x86dd);
    const size_t inner_len = f.b.size() - kL3;
    g.b.push_back(static_cast<uint8_t>(0x60 | tclass >> 4));
    g.b.push_back(static_cast<uint8_t>((tclass & 0x0f) << 4));
    g.b.push_back(0);
    g.b.push_back(0);
    g.b.push_back(static_cast<uint8_t>(inner_len >> 8));
    g.b.push_back(static_cast<uint8_t>(inner_len));
    g.b.push_back(41);
    g.b.push_back(f.b[kL3 + 7]);
    g.b.insert(g.b.end(), src.begin(), src.end());
    g.b.insert(g.b.end(), dst.begin(), dst.end());
    g.b.insert(g.b.end(), f.b.begin() + kL3, f.b.end());
    return g;
}

/// Sets the traffic class and flow label of an IPv6 frame (neither is in any checksum).
void set_class_flow(Frame& f, uint8_t tclass, uint32_t flow) {
    f.b[kL3] = static_cast<uint8_t>(0x60 | tclass >> 4);
    f.b[kL3 + 1] = static_cast<uint8_t>((tclass & 0x0f) << 4 | ((flow >> 16) & 0x0f));
    f.b[kL3 + 2] = static_cast<uint8_t>(flow >> 8);
    f.b[kL3 + 3] = static_cast<uint8_t>(flow);
}

/// The kernel's IPv6-in-IPv4 frame for inner frame `f` (ip_vs_tunnel_xmit for an IPv6 packet):
/// Ethernet (IPv4), then IPv4 with DS `tos`, total length inner + 20, id `id`, no DF, TTL the
/// inner hop limit, protocol 41, `src` -> `dst`, its checksum, then the inner packet unchanged.
Frame ip6ip4(const Frame& f, const Mac& dst_mac, const Mac& src_mac, uint8_t tos, uint16_t id,
             uint32_t src, uint32_t dst) {
    Frame g = Frame::eth(dst_mac, src_mac, 0x0800);
    const size_t total = f.b.size() - kL3 + 20;
    std::vector<uint8_t> h(20, 0);
    h[0] = 0x45;
    h[1] = tos;
    h[2] = static_cast<uint8_t>(total >> 8);
    h[3] = static_cast<uint8_t>(total);
    h[4] = static_cast<uint8_t>(id >> 8);
    h[5] = static_cast<uint8_t>(id);
    h[8] = f.b[kL3 + 7];  // TTL: the inner hop limit
    h[9] = 41;            // IPv6
    std::memcpy(h.data() + 12, &src, 4);
    std::memcpy(h.data() + 16, &dst, 4);
    const auto c = static_cast<uint16_t>(~fold(sum16(h.data(), 20)));
    h[10] = static_cast<uint8_t>(c >> 8);
    h[11] = static_cast<uint8_t>(c);
    g.b.insert(g.b.end(), h.begin(), h.end());
    g.b.insert(g.b.end(), f.b.begin() + kL3, f.b.end());
    return g;
}

uint32_t be32_at(const Frame& f, size_t off) {
    return static_cast<uint32_t>(f.b[off] << 24 | f.b[off + 1] << 16 | f.b[off + 2] << 8 |
                                 f.b[off + 3]);
}

class Ipv6DrTunTest : public ::testing::Test {
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
            std::string base = "v6dt";
            base += std::to_string(seq);
            base += names[i];
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
        cfg.ports[1].addresses = {{ntohl(ip("172.16.0.1")), 24}};
        cfg.ports[1].addresses6 = {*cfg::parse_prefix6("2001:db8:2::1/64")};
        auto dp = dp::Dataplane::create(cfg, 1);
        ASSERT_TRUE(dp) << dp.status().message();
        dp_ = std::move(*dp);
        ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
        ASSERT_TRUE(ctl_->load_initial());
        for (int i = 0; i < 2; ++i) {
            mac_[i] = to_mac(dp_->topology()->ports[port_id_[i]].mac);
        }
        // The director learns the client and two servers from their solicitations.
        send(kExt, ns_from(kClient, kClientMac, kDirExt));
        send(kInt, ns_from(kRs1, kRs1Mac, kDirInt));
        send(kInt, ns_from(kRs2, kRs2Mac, kDirInt));
        // And the IPv4 tunnel server from its ARP request.
        send(kInt,
             Frame::arp(kBcast, kRs4Mac, 1, kRs4Mac, ip("172.16.0.41"), kZero, ip("172.16.0.1")));
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

    /// ipvsadm -A -6 -t|-u [VIP]:80 -s rr; -a -r [rs]:80 -g|-i for each of `servers`.
    void add_service(cfg::Proto proto, cfg::Fwd fwd, std::initializer_list<V6> servers,
                     cfg::TunType tun = cfg::TunType::Ipip) {
        cfg::ServiceKey key;
        key.proto = proto;
        key.port = 80;
        key.af = cfg::Family::Inet6;
        key.addr6 = ip6_of(kVip);
        ctl::Request b;
        b.op = ctl::Op::Batch;
        ctl::Request a;
        a.op = ctl::Op::AddService;
        a.service.key = key;
        a.service.scheduler = "rr";
        b.batch.push_back(a);
        for (const V6& rs : servers) {
            ctl::Request d;
            d.op = ctl::Op::AddDest;
            d.service.key = key;
            d.dest.af = cfg::Family::Inet6;
            d.dest.addr6 = ip6_of(rs);
            d.dest.port = 80;
            d.dest.fwd = fwd;
            d.dest.tun_type = tun;
            if (tun == cfg::TunType::Gue) {
                d.dest.tun_port = 6080;
            }
            b.batch.push_back(d);
        }
        const Reply r = ctl_->handle(b);
        ASSERT_EQ(r.code, Errc::Ok) << r.message;
    }

    /// ipvsadm -A -6 -t|-u [VIP]:80 -s rr; -a -r 172.16.0.41:80 -i: an IPv4 tunnel server of
    /// an IPv6 service (IPv6-in-IPv4), as the kernel allows.
    void add_service_4(cfg::Proto proto, cfg::TunType tun = cfg::TunType::Ipip) {
        cfg::ServiceKey key;
        key.proto = proto;
        key.port = 80;
        key.af = cfg::Family::Inet6;
        key.addr6 = ip6_of(kVip);
        ctl::Request b;
        b.op = ctl::Op::Batch;
        ctl::Request a;
        a.op = ctl::Op::AddService;
        a.service.key = key;
        a.service.scheduler = "rr";
        b.batch.push_back(a);
        ctl::Request d;
        d.op = ctl::Op::AddDest;
        d.service.key = key;
        d.dest.af = cfg::Family::Inet;
        d.dest.addr = ntohl(ip("172.16.0.41"));
        d.dest.port = 80;
        d.dest.fwd = cfg::Fwd::Tunnel;
        d.dest.tun_type = tun;
        b.batch.push_back(d);
        last_ = ctl_->handle(b);
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
    const dp::WorkerStats& stats() const { return dp_->worker(0).stats(); }
    uint64_t drops(dp::Drop d) const { return stats().drops[static_cast<size_t>(d)].load(); }
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

    Frame client_tcp(uint16_t sport, uint8_t flags, uint8_t hop = 64,
                     const std::string& data = "") const {
        return ip6_frame(mac_[kExt], kClientMac, kClient, kVip, hop, IPPROTO_TCP,
                         tcp_seg(sport, 80, flags, data));
    }
    Frame client_udp(uint16_t sport, const std::string& data, uint8_t hop = 64) const {
        return ip6_frame(mac_[kExt], kClientMac, kClient, kVip, hop, IPPROTO_UDP,
                         udp_dgram(sport, 80, data));
    }

    /// A Packet Too Big the director sent the client about `quoted`, with MTU `mtu`.
    void expect_too_big(const Frame& ptb, const Frame& quoted, uint32_t mtu) {
        EXPECT_EQ(mac_at(ptb, 0), kClientMac);
        EXPECT_EQ(addr_at(ptb, kL3 + 8), kDirExt);
        EXPECT_EQ(addr_at(ptb, kL3 + 24), kClient);
        EXPECT_EQ(ptb.b[kL3 + 6], IPPROTO_ICMPV6);
        EXPECT_EQ(ptb.b[kL4], 2);  // Packet Too Big
        EXPECT_EQ(ptb.b[kL4 + 1], 0);
        EXPECT_EQ(be32_at(ptb, kL4 + 4), mtu);
        // The quote: the packet as the client sent it, cut to fill the minimum MTU.
        ASSERT_EQ(ptb.b.size(), 14u + 1280u);
        EXPECT_TRUE(std::equal(ptb.b.begin() + kL4 + 8, ptb.b.end(), quoted.b.begin() + kL3));
        EXPECT_EQ(l4_sum(ptb), 0xffff);
    }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
    Reply last_;
};

TEST_F(Ipv6DrTunTest, DirectRoutingSendsTheClientsPacketUnchangedButItsEthernetHeader) {
    add_service(cfg::Proto::Tcp, cfg::Fwd::Route, {kRs1, kRs2});
    // rr from the list head, newest first: rs2, then rs1. The second SYN comes with hop limit 1:
    // a kernel director takes it in at LOCAL_IN and sends it on unchanged (no hop-limit check,
    // no decrement), and so does Dirigo.
    Frame syn1 = client_tcp(40000, 0x02);
    set_class_flow(syn1, 0xb9, 0x12345);
    const Frame syn2 = client_tcp(40001, 0x02, 1);
    send(kExt, syn1);
    send(kExt, syn2);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].b, with_macs(syn1, kRs2Mac, mac_[kInt]).b);
    EXPECT_EQ(out[1].b, with_macs(syn2, kRs1Mac, mac_[kInt]).b);
    EXPECT_TRUE(recv(kExt).empty());

    // The connection is the client's side only (input-only): its ACK establishes it and
    // reaches the same server; a server's answer to the client is no reply of the director's
    // (it would go straight to the client), so the reply direction has no key.
    const Frame ack = client_tcp(40000, 0x10, 64, "GET / HTTP/1.0\r\n\r\n");
    send(kExt, ack);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b, with_macs(ack, kRs2Mac, mac_[kInt]).b);
    const Reply r = list();
    ASSERT_EQ(r.services.size(), 1u);
    const ctl::ServiceInfo& svc = r.services[0];
    // IPVS's counters: packets in, none out (the servers answer the client directly).
    EXPECT_EQ(svc.stats.conns, 2u);
    EXPECT_EQ(svc.stats.inpkts, 3u);
    EXPECT_EQ(svc.stats.outpkts, 0u);
    ASSERT_EQ(svc.dests.size(), 2u);
    for (const ctl::DestInfo& d : svc.dests) {
        // rs2 has the established connection, rs1 the half-open one.
        const bool first = d.server.addr6 == ip6_of(kRs2);
        EXPECT_EQ(d.server.fwd, cfg::Fwd::Route);
        EXPECT_EQ(d.active, first ? 1u : 0u);
        EXPECT_EQ(d.inactive, first ? 0u : 1u);
        EXPECT_EQ(d.stats.inpkts, first ? 2u : 1u);
        EXPECT_EQ(d.stats.outpkts, 0u);
    }
    // IPVS's input-only states: a SYN opens SYN_RECV, the client's ACK makes it ESTABLISHED.
    const Reply c = conns();
    ASSERT_EQ(c.conns.size(), 2u);
    for (const ctl::ConnInfo& ci : c.conns) {
        EXPECT_EQ(ci.af, cfg::Family::Inet6);
        EXPECT_EQ(ci.daddr6, ip6_of(ci.cport == 40000 ? kRs2 : kRs1));
        EXPECT_EQ(ci.state, ci.cport == 40000 ? "ESTABLISHED" : "SYN_RECV");
    }
    // No reply key: the server's own packet to the client is no packet of the connection.
    EXPECT_EQ(dp_->worker(0).table6()->size(), 2u);
}

TEST_F(Ipv6DrTunTest, DirectRoutingToAnUnresolvedServerSolicitsItAndHoldsThePacket) {
    add_service(cfg::Proto::Udp, cfg::Fwd::Route, {kRs3});
    const Frame d = client_udp(41000, "query");
    send(kExt, d);
    step();
    // The solicitation is for the server (not the VIP the packet is addressed to).
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b[kL3 + 6], IPPROTO_ICMPV6);
    EXPECT_EQ(out[0].b[kL4], 135);
    EXPECT_EQ(addr_at(out[0], kL4 + 8), kRs3);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), solicited(kRs3));
    // The server answers; the held packet leaves unchanged but for its Ethernet header.
    std::vector<uint8_t> na(32, 0);
    na[0] = 136;
    na[4] = 0x60;  // solicited, override
    std::copy(kRs3.begin(), kRs3.end(), na.begin() + 8);
    na[24] = 2;  // target link-layer address option
    na[25] = 1;
    std::copy(kRs3Mac.begin(), kRs3Mac.end(), na.begin() + 26);
    send(kInt, ip6_frame(mac_[kInt], kRs3Mac, kRs3, kDirInt, 255, IPPROTO_ICMPV6, na));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b, with_macs(d, kRs3Mac, mac_[kInt]).b);
}

TEST_F(Ipv6DrTunTest, DirectRoutingTooBigForTheServersLinkGetsPacketTooBigWithTheMtu) {
    add_service(cfg::Proto::Udp, cfg::Fwd::Route, {kRs1});
    const Frame big = client_udp(41001, std::string(1500 - 40 - 8 + 1, 'x'));
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_too_big(out[0], big, 1500);
    // Exactly the MTU goes through.
    const Frame fits = client_udp(41001, std::string(1500 - 40 - 8, 'x'));
    send(kExt, fits);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b, with_macs(fits, kRs1Mac, mac_[kInt]).b);
}

TEST_F(Ipv6DrTunTest, TunnelBuildsTheKernelsIpv6InIpv6Header) {
    add_service(cfg::Proto::Tcp, cfg::Fwd::Tunnel, {kRs1, kRs2});
    // DSCP EF with CE: the outer header carries ECT(0) (INET_ECN_encapsulate); the flow label
    // is not copied (0 outside); the outer hop limit is the inner one, neither decremented.
    Frame syn1 = client_tcp(42000, 0x02);
    set_class_flow(syn1, 0xbb, 0xabcde);
    const Frame syn2 = client_tcp(42001, 0x02, 1);
    send(kExt, syn1);
    send(kExt, syn2);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].b, ip6ip6(syn1, kRs2Mac, mac_[kInt], 0xba, kDirInt, kRs2).b);
    EXPECT_EQ(out[1].b, ip6ip6(syn2, kRs1Mac, mac_[kInt], 0x00, kDirInt, kRs1).b);
    EXPECT_EQ(out[1].b[kL3 + 7], 1);  // the outer hop limit
    // ECT(1) and ECT(0) are carried as they are.
    Frame ect = client_tcp(42000, 0x10, 64, "x");
    set_class_flow(ect, 0x01, 0);
    send(kExt, ect);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b, ip6ip6(ect, kRs2Mac, mac_[kInt], 0x01, kDirInt, kRs2).b);
    EXPECT_TRUE(recv(kExt).empty());
    const Reply r = list();
    ASSERT_EQ(r.services.size(), 1u);
    EXPECT_EQ(r.services[0].stats.inpkts, 3u);
    EXPECT_EQ(r.services[0].stats.outpkts, 0u);
    const Reply c = conns();
    ASSERT_EQ(c.conns.size(), 2u);
    for (const ctl::ConnInfo& ci : c.conns) {
        EXPECT_EQ(ci.state, ci.cport == 42000 ? "ESTABLISHED" : "SYN_RECV");
    }
}

TEST_F(Ipv6DrTunTest, TunnelPacketTooBigCarriesTheMtuLessTheOuterHeader) {
    add_service(cfg::Proto::Udp, cfg::Fwd::Tunnel, {kRs1});
    const uint64_t before = stats().frag_needed.load();
    const Frame big = client_udp(43000, std::string(1460 - 40 - 8 + 1, 'y'));
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_too_big(out[0], big, 1460);
    EXPECT_EQ(stats().frag_needed.load(), before + 1);
    // 1460 bytes inside make exactly a 1500-byte tunnel packet.
    const Frame fits = client_udp(43000, std::string(1460 - 40 - 8, 'y'));
    send(kExt, fits);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b.size(), 14u + 1500u);
    EXPECT_EQ(out[0].b, ip6ip6(fits, kRs1Mac, mac_[kInt], 0x00, kDirInt, kRs1).b);
}

TEST_F(Ipv6DrTunTest, TunnelToAnUnresolvedServerSolicitsItAndSendsTheEncapsulatedPacket) {
    add_service(cfg::Proto::Udp, cfg::Fwd::Tunnel, {kRs3});
    const Frame d = client_udp(44000, "hello");
    send(kExt, d);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b[kL4], 135);
    EXPECT_EQ(addr_at(out[0], kL4 + 8), kRs3);
    send(kInt, ns_from(kRs3, kRs3Mac, kDirInt));
    step();
    out = recv(kInt);
    // The director's advertisement in answer, and the held packet.
    ASSERT_EQ(out.size(), 2u);
    const Frame& tun = out[0].b[kL3 + 6] == 41 ? out[0] : out[1];
    EXPECT_EQ(tun.b, ip6ip6(d, kRs3Mac, mac_[kInt], 0x00, kDirInt, kRs3).b);
}

TEST_F(Ipv6DrTunTest, NonSynWithoutAConnectionIsACountedDrop) {
    add_service(cfg::Proto::Tcp, cfg::Fwd::Route, {kRs1});
    const uint64_t before = drops(dp::Drop::NoConn);
    send(kExt, client_tcp(45000, 0x10));
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NoConn), before + 1);
}

TEST_F(Ipv6DrTunTest, Ipv4TunnelServerOfAnIpv6ServiceGetsTheKernelsIpv6InIpv4) {
    add_service_4(cfg::Proto::Tcp);
    ASSERT_EQ(last_.code, Errc::Ok) << last_.message;
    Frame syn = client_tcp(46000, 0x02, 33);
    set_class_flow(syn, 0xbb, 0x54321);  // CE becomes ECT(0) outside; no flow label in IPv4
    send(kExt, syn);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const auto id = static_cast<uint16_t>(out[0].b[kL3 + 4] << 8 | out[0].b[kL3 + 5]);
    EXPECT_EQ(out[0].b,
              ip6ip4(syn, kRs4Mac, mac_[kInt], 0xba, id, ip("172.16.0.1"), ip("172.16.0.41")).b);
    // The next packet has the next id (no DF: ip_select_ident gives each a fresh one).
    const Frame ack = client_tcp(46000, 0x10, 64, "hi");
    send(kExt, ack);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b, ip6ip4(ack, kRs4Mac, mac_[kInt], 0, static_cast<uint16_t>(id + 1),
                               ip("172.16.0.1"), ip("172.16.0.41"))
                            .b);
    // Listed in its own family: the connection's destination is the IPv4 server.
    const Reply c = conns();
    ASSERT_EQ(c.conns.size(), 1u);
    EXPECT_EQ(c.conns[0].af, cfg::Family::Inet6);
    EXPECT_EQ(c.conns[0].daddr, ntohl(ip("172.16.0.41")));
    EXPECT_TRUE(c.conns[0].daddr6.is_unspecified());
    EXPECT_EQ(c.conns[0].state, "ESTABLISHED");
    const Reply r = list();
    ASSERT_EQ(r.services.size(), 1u);
    EXPECT_EQ(r.services[0].stats.inpkts, 2u);
    EXPECT_EQ(r.services[0].stats.outpkts, 0u);
}

TEST_F(Ipv6DrTunTest, Ipv6InIpv4PacketTooBigCarriesTheMtuLessTwenty) {
    add_service_4(cfg::Proto::Udp);
    ASSERT_EQ(last_.code, Errc::Ok) << last_.message;
    const Frame big = client_udp(47000, std::string(1480 - 40 - 8 + 1, 'z'));
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_too_big(out[0], big, 1480);
    const Frame fits = client_udp(47000, std::string(1480 - 40 - 8, 'z'));
    send(kExt, fits);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b.size(), 14u + 1500u);
}

TEST_F(Ipv6DrTunTest, MixedFamilyGreIsAcceptedAndDirectRoutingRefused) {
    // GUE and GRE across families are served (tests/dataplane/mixed_tunnel_test.cpp).
    add_service_4(cfg::Proto::Tcp, cfg::TunType::Gre);
    EXPECT_EQ(last_.code, Errc::Ok) << last_.message;
    // A non-tunnel server of the other family: ipvsadm's message.
    cfg::ServiceKey key;
    key.proto = cfg::Proto::Tcp;
    key.addr = ntohl(ip("10.0.0.100"));
    key.port = 80;
    ctl::Request a;
    a.op = ctl::Op::AddService;
    a.service.key = key;
    a.service.scheduler = "rr";
    ASSERT_EQ(ctl_->handle(a).code, Errc::Ok);
    ctl::Request d;
    d.op = ctl::Op::AddDest;
    d.service.key = key;
    d.dest.af = cfg::Family::Inet6;
    d.dest.addr6 = ip6_of(kRs1);
    d.dest.port = 80;
    d.dest.fwd = cfg::Fwd::Route;
    const Reply r = ctl_->handle(d);
    EXPECT_EQ(r.code, Errc::Invalid);
    EXPECT_EQ(r.message, "Different address family is allowed only for tunneling servers");
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("ipv6_dr_tun_test", "0", "256"));
    return RUN_ALL_TESTS();
}
