// SPDX-License-Identifier: BSD-3-Clause
// In-process tests of the kernel's remaining tunnels through the real Worker, control and slow
// path on two net_ring ports: an IPv4 service's IPv6 tunnel server (IPv4-in-IPv6, next header 4),
// GUE and GRE over IPv6, and GUE and GRE across families (IPv4 inside IPv6, IPv6 inside IPv4),
// with the MTU answers of __ip_vs_get_out_rt_v6 / ensure_mtu_is_adequate. Every tunnelled frame
// is compared byte for byte with the one ip_vs_tunnel_xmit(_v6), ipvs_gue_encap and
// ipvs_gre_encap build, assembled here independently of dataplane/tunnel.hpp (only GUE's UDP
// source port, a keyed per-flow hash in the kernel too, is taken from the output and checked for
// its range). TearDown checks that no mbuf leaked.

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
const V6 kRs3 = v6("2001:db8:2::13");  // not in the neighbour table
const Mac kRs3Mac = {0x02, 0x5e, 0, 0, 0, 0x13};
const Mac kRs4Mac = {0x02, 0x5e, 0, 0, 0, 0x41};  // an IPv4 tunnel server, 172.16.0.41

cfg::Ip6 ip6_of(const V6& a) {
    cfg::Ip6 r;
    std::memcpy(r.b.data(), a.data(), 16);
    return r;
}

uint32_t be32_at(const Frame& f, size_t off) {
    return static_cast<uint32_t>(f.b[off] << 24 | f.b[off + 1] << 16 | f.b[off + 2] << 8 |
                                 f.b[off + 3]);
}

uint16_t be16_at(const Frame& f, size_t off) {
    return static_cast<uint16_t>(f.b[off] << 8 | f.b[off + 1]);
}

/// The kernel's tunnel header between the outer IP header and the inner packet of `inner_len`
/// bytes: none (ipip), UDP (source port `sport`, destination 6080, length, checksum 0 for now)
/// + GUE version 0 with proto_ctype `inner_proto` (ipvs_gue_encap), or GRE with the C bit when
/// `gre_csum` and protocol type `ethertype` (ipvs_gre_encap, gre_build_header; checksum 0 for
/// now).
enum class T { Ipip, Gue, Gre, GreCsum };
std::vector<uint8_t> tun_hdr(T t, size_t inner_len, uint16_t sport, uint8_t inner_proto) {
    switch (t) {
        case T::Ipip:
            return {};
        case T::Gue: {
            const size_t len = 8 + 4 + inner_len;
            return {static_cast<uint8_t>(sport >> 8),
                    static_cast<uint8_t>(sport),
                    6080 >> 8,
                    6080 & 0xff,
                    static_cast<uint8_t>(len >> 8),
                    static_cast<uint8_t>(len),
                    0,
                    0,
                    0,
                    inner_proto,
                    0,
                    0};
        }
        case T::Gre:
        case T::GreCsum: {
            const uint16_t et = inner_proto == 41 ? 0x86dd : 0x0800;
            std::vector<uint8_t> h = {static_cast<uint8_t>(t == T::GreCsum ? 0x80 : 0), 0,
                                      static_cast<uint8_t>(et >> 8), static_cast<uint8_t>(et)};
            if (t == T::GreCsum) {
                h.insert(h.end(), {0, 0, 0, 0});
            }
            return h;
        }
    }
    return {};
}

/// The outer protocol of a tunnel type carrying `inner_proto`.
uint8_t outer_proto(T t, uint8_t inner_proto) {
    if (t == T::Ipip) {
        return inner_proto;
    }
    return t == T::Gue ? static_cast<uint8_t>(IPPROTO_UDP) : static_cast<uint8_t>(IPPROTO_GRE);
}

/// Fills a GRE checksum at `off` (over GRE header and payload, to the end of the frame).
void fill_gre_csum(Frame& f, size_t off) {
    const auto c = static_cast<uint16_t>(~fold(sum16(f.b.data() + off, f.b.size() - off)));
    f.b[off + 4] = static_cast<uint8_t>(c >> 8);
    f.b[off + 5] = static_cast<uint8_t>(c);
}

/// The kernel's frame for an inner IP packet (`inner` from its first IP byte) tunnelled over
/// IPv6 (ip_vs_tunnel_xmit_v6): Ethernet (IPv6), version 6 with traffic class `tclass`, flow
/// label 0, payload length tunnel header + inner, next header, hop limit `hop` (the inner TTL
/// or hop limit), `src` -> `dst`, the tunnel header, the inner packet unchanged. GUE's UDP
/// checksum over the IPv6 pseudo header when `gue_csum` (0 stays 0: udp6_set_csum with
/// nocheck), GRE's when asked.
Frame over6(const std::vector<uint8_t>& inner, uint8_t inner_proto, T t, uint16_t sport,
            bool gue_csum, const Mac& dst_mac, const Mac& src_mac, uint8_t tclass, uint8_t hop,
            const V6& src, const V6& dst) {
    Frame g = Frame::eth(dst_mac, src_mac, 0x86dd);
    const std::vector<uint8_t> th = tun_hdr(t, inner.size(), sport, inner_proto);
    const size_t plen = th.size() + inner.size();
    g.b.push_back(static_cast<uint8_t>(0x60 | tclass >> 4));
    g.b.push_back(static_cast<uint8_t>((tclass & 0x0f) << 4));
    g.b.push_back(0);
    g.b.push_back(0);
    g.b.push_back(static_cast<uint8_t>(plen >> 8));
    g.b.push_back(static_cast<uint8_t>(plen));
    g.b.push_back(outer_proto(t, inner_proto));
    g.b.push_back(hop);
    g.b.insert(g.b.end(), src.begin(), src.end());
    g.b.insert(g.b.end(), dst.begin(), dst.end());
    g.b.insert(g.b.end(), th.begin(), th.end());
    g.b.insert(g.b.end(), inner.begin(), inner.end());
    if (t == T::Gue && gue_csum) {
        uint32_t s = sum16(g.b.data() + kL3 + 8, 32);
        s += static_cast<uint32_t>(plen);
        s += IPPROTO_UDP;
        s = sum16(g.b.data() + kL4, plen, s);
        auto c = static_cast<uint16_t>(~fold(s));
        c = c == 0 ? 0xffff : c;
        g.b[kL4 + 6] = static_cast<uint8_t>(c >> 8);
        g.b[kL4 + 7] = static_cast<uint8_t>(c);
    }
    if (t == T::GreCsum) {
        fill_gre_csum(g, kL4);
    }
    return g;
}

/// The kernel's frame for an IPv6 packet tunnelled over IPv4 with GUE or GRE (ip_vs_tunnel_xmit):
/// IPv4 with DS `tos`, total length, id `id`, no DF, TTL the inner hop limit, the outer protocol,
/// `src` -> `dst` and its checksum, then the tunnel header and the inner packet.
Frame over4(const std::vector<uint8_t>& inner, T t, uint16_t sport, bool gue_csum,
            const Mac& dst_mac, const Mac& src_mac, uint8_t tos, uint16_t id, uint8_t ttl,
            uint32_t src, uint32_t dst) {
    Frame g = Frame::eth(dst_mac, src_mac, 0x0800);
    const std::vector<uint8_t> th = tun_hdr(t, inner.size(), sport, 41);
    const size_t total = 20 + th.size() + inner.size();
    std::vector<uint8_t> h(20, 0);
    h[0] = 0x45;
    h[1] = tos;
    h[2] = static_cast<uint8_t>(total >> 8);
    h[3] = static_cast<uint8_t>(total);
    h[4] = static_cast<uint8_t>(id >> 8);
    h[5] = static_cast<uint8_t>(id);
    h[8] = ttl;
    h[9] = outer_proto(t, 41);
    std::memcpy(h.data() + 12, &src, 4);
    std::memcpy(h.data() + 16, &dst, 4);
    const auto c = static_cast<uint16_t>(~fold(sum16(h.data(), 20)));
    h[10] = static_cast<uint8_t>(c >> 8);
    h[11] = static_cast<uint8_t>(c);
    g.b.insert(g.b.end(), h.begin(), h.end());
    g.b.insert(g.b.end(), th.begin(), th.end());
    g.b.insert(g.b.end(), inner.begin(), inner.end());
    constexpr size_t kTun = 14 + 20;
    if (t == T::Gue && gue_csum) {
        const size_t ulen = total - 20;
        uint32_t s = sum16(h.data() + 12, 8);
        s += IPPROTO_UDP;
        s += static_cast<uint32_t>(ulen);
        s = sum16(g.b.data() + kTun, ulen, s);
        auto cs = static_cast<uint16_t>(~fold(s));
        cs = cs == 0 ? 0xffff : cs;
        g.b[kTun + 6] = static_cast<uint8_t>(cs >> 8);
        g.b[kTun + 7] = static_cast<uint8_t>(cs);
    }
    if (t == T::GreCsum) {
        fill_gre_csum(g, kTun);
    }
    return g;
}

/// The IP packet of frame `f` (everything after Ethernet).
std::vector<uint8_t> l3_of(const Frame& f) {
    return std::vector<uint8_t>(f.b.begin() + 14, f.b.end());
}

/// Sets the DS field of an IPv4 frame and fixes its header checksum.
void set_tos4(Frame& f, uint8_t tos) {
    f.b[15] = tos;
    f.b[24] = 0;
    f.b[25] = 0;
    const auto c = static_cast<uint16_t>(~fold(sum16(f.b.data() + 14, 20)));
    f.b[24] = static_cast<uint8_t>(c >> 8);
    f.b[25] = static_cast<uint8_t>(c);
}

/// Clears DF in an IPv4 frame and fixes its header checksum.
void clear_df(Frame& f) {
    f.b[20] = 0;
    set_tos4(f, f.b[15]);
}

class MixedTunnelTest : public ::testing::Test {
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
            std::string base = "mxtn";
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
        // The IPv4 client (ICMP errors go back to it) and the IPv4 tunnel server from their ARP
        // requests.
        send(kExt,
             Frame::arp(kBcast, kClientMac, 1, kClientMac, ip("10.0.0.2"), kZero, ip("10.0.0.1")));
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

    /// One real server of add(): IPv6 when `addr6` is set, else IPv4 `addr` (dotted).
    struct Rs {
        const char* addr = nullptr;
        V6 addr6{};
        bool v6 = false;
    };
    static Rs rs6(const V6& a) { return {nullptr, a, true}; }
    static Rs rs4(const char* a) { return {a, {}, false}; }

    /// ipvsadm -A -t|-u VIP:80 -s rr (IPv4 `10.0.0.100`, or `[2001:db8:1::100]` with `svc6`);
    /// -a -r SERVER:80 -i --tun-type TUN [--tun-port 6080] [--tun-csum] for each server.
    Reply add(bool svc6, cfg::Proto proto, std::initializer_list<Rs> servers,
              cfg::TunType tun = cfg::TunType::Ipip, cfg::TunCsum csum = cfg::TunCsum::None) {
        cfg::ServiceKey key;
        key.proto = proto;
        key.port = 80;
        if (svc6) {
            key.af = cfg::Family::Inet6;
            key.addr6 = ip6_of(kVip);
        } else {
            key.addr = ntohl(ip("10.0.0.100"));
        }
        ctl::Request b;
        b.op = ctl::Op::Batch;
        ctl::Request a;
        a.op = ctl::Op::AddService;
        a.service.key = key;
        a.service.scheduler = "rr";
        b.batch.push_back(a);
        for (const Rs& rs : servers) {
            ctl::Request d;
            d.op = ctl::Op::AddDest;
            d.service.key = key;
            if (rs.v6) {
                d.dest.af = cfg::Family::Inet6;
                d.dest.addr6 = ip6_of(rs.addr6);
            } else {
                d.dest.addr = ntohl(ip(rs.addr));
            }
            d.dest.port = 80;
            d.dest.fwd = cfg::Fwd::Tunnel;
            d.dest.tun_type = tun;
            d.dest.tun_csum = csum;
            if (tun == cfg::TunType::Gue) {
                d.dest.tun_port = 6080;
            }
            b.batch.push_back(d);
        }
        return ctl_->handle(b);
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

    Frame client4_tcp(uint16_t sport, uint8_t flags, uint8_t ttl = 64,
                      const std::string& data = "") const {
        return Frame::l4(mac_[kExt], kClientMac, IPPROTO_TCP, ip("10.0.0.2"), sport,
                         ip("10.0.0.100"), 80, flags, ttl, data);
    }
    Frame client4_udp(uint16_t sport, const std::string& data, uint8_t ttl = 64) const {
        return Frame::l4(mac_[kExt], kClientMac, IPPROTO_UDP, ip("10.0.0.2"), sport,
                         ip("10.0.0.100"), 80, 0, ttl, data);
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

TEST_F(MixedTunnelTest, Ipv4ServiceIpv6ServerGetsTheKernelsIpv4InIpv6) {
    const Reply r = add(false, cfg::Proto::Tcp, {rs6(kRs1), rs6(kRs2)});
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    // DSCP EF with CE: ECT(0) outside (INET_ECN_encapsulate); the hop limit is the inner TTL.
    Frame syn1 = client4_tcp(40000, 0x02, 33);
    set_tos4(syn1, 0xbb);
    const Frame syn2 = client4_tcp(40001, 0x02);
    send(kExt, syn1);
    send(kExt, syn2);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(syn1), 4, T::Ipip, 0, false, kRs2Mac, mac_[kInt], 0xba, 33, kDirInt, kRs2).b);
    EXPECT_EQ(
        out[1].b,
        over6(l3_of(syn2), 4, T::Ipip, 0, false, kRs1Mac, mac_[kInt], 0x00, 64, kDirInt, kRs1).b);
    // The connection keeps its server: the next packet goes the same way.
    const Frame ack = client4_tcp(40000, 0x10, 64, "hello");
    send(kExt, ack);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(ack), 4, T::Ipip, 0, false, kRs2Mac, mac_[kInt], 0x00, 64, kDirInt, kRs2).b);
    EXPECT_TRUE(recv(kExt).empty());
    // Listed in the server's own family: an IPv4 connection with an IPv6 destination.
    const Reply c = conns();
    ASSERT_EQ(c.conns.size(), 2u);
    for (const ctl::ConnInfo& ci : c.conns) {
        EXPECT_EQ(ci.af, cfg::Family::Inet);
        EXPECT_EQ(ci.daddr, 0u);
        EXPECT_EQ(ci.daddr6, ip6_of(ci.cport == 40000 ? kRs2 : kRs1));
        EXPECT_EQ(ci.state, ci.cport == 40000 ? "ESTABLISHED" : "SYN_RECV");
    }
    const Reply l = list();
    ASSERT_EQ(l.services.size(), 1u);
    EXPECT_EQ(l.services[0].stats.inpkts, 3u);
    EXPECT_EQ(l.services[0].stats.outpkts, 0u);
}

// An ICMP error from the client about a reply of an IPv4-in-IPv6 connection (the server answers
// the client directly from the VIP) goes into the connection's tunnel to its IPv6 server, as the
// connection's packets do (IPVS's ip_vs_in_icmp sends it with the connection's xmit).
TEST_F(MixedTunnelTest, ClientIcmpErrorAboutAnIpv4InIpv6ConnectionGoesDownItsTunnel) {
    const Reply r = add(false, cfg::Proto::Udp, {rs6(kRs1)});
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    send(kExt, client4_udp(40000, "query"));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    // The server's answer reached the client straight from VIP:80; the client's port is closed.
    const Frame answer = Frame::l4(kClientMac, kRs1Mac, IPPROTO_UDP, ip("10.0.0.100"), 80,
                                   ip("10.0.0.2"), 40000, 0, 64, "answer");
    const Frame err = Frame::icmp_error(mac_[kExt], kClientMac, ip("10.0.0.2"),
                                        ip("10.0.0.100"), 3, 3, answer);
    send(kExt, err);
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b, over6(l3_of(err), 4, T::Ipip, 0, false, kRs1Mac, mac_[kInt], 0x00, 64,
                              kDirInt, kRs1)
                            .b);
    EXPECT_TRUE(recv(kExt).empty());
}

TEST_F(MixedTunnelTest, Ipv4ServiceGueOverIpv6WithoutChecksumLeavesItZero) {
    const Reply r = add(false, cfg::Proto::Udp, {rs6(kRs1)}, cfg::TunType::Gue);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame d = client4_udp(41000, "datagram");
    send(kExt, d);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const uint16_t sport = be16_at(out[0], kL4);
    EXPECT_GE(sport, 32768);
    EXPECT_LE(sport, 60998);
    // --tun-nocsum over IPv6: udp6_set_csum(nocheck) sends checksum 0, as the kernel does.
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(d), 4, T::Gue, sport, false, kRs1Mac, mac_[kInt], 0, 64, kDirInt, kRs1).b);
    EXPECT_EQ(be16_at(out[0], kL4 + 6), 0);
    // The same flow keeps its source port.
    send(kExt, d);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(be16_at(out[0], kL4), sport);
}

TEST_F(MixedTunnelTest, Ipv4ServiceGueOverIpv6WithChecksum) {
    const Reply r = add(false, cfg::Proto::Tcp, {rs6(kRs1)}, cfg::TunType::Gue, cfg::TunCsum::Csum);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame syn = client4_tcp(41500, 0x02);
    send(kExt, syn);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const uint16_t sport = be16_at(out[0], kL4);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(syn), 4, T::Gue, sport, true, kRs1Mac, mac_[kInt], 0, 64, kDirInt, kRs1).b);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);  // verifies over the IPv6 pseudo header
}

TEST_F(MixedTunnelTest, Ipv4ServiceGreOverIpv6WithAndWithoutChecksum) {
    Reply r = add(false, cfg::Proto::Tcp, {rs6(kRs1)}, cfg::TunType::Gre);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame syn = client4_tcp(42000, 0x02);
    send(kExt, syn);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b,
              over6(l3_of(syn), 4, T::Gre, 0, false, kRs1Mac, mac_[kInt], 0, 64, kDirInt, kRs1).b);
    // The server changes to GRE with a checksum; a new connection takes it.
    ctl::Request e;
    e.op = ctl::Op::EditDest;
    e.service.key.proto = cfg::Proto::Tcp;
    e.service.key.addr = ntohl(ip("10.0.0.100"));
    e.service.key.port = 80;
    e.dest.af = cfg::Family::Inet6;
    e.dest.addr6 = ip6_of(kRs1);
    e.dest.port = 80;
    e.dest.fwd = cfg::Fwd::Tunnel;
    e.dest.tun_type = cfg::TunType::Gre;
    e.dest.tun_csum = cfg::TunCsum::Csum;
    r = ctl_->handle(e);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame syn2 = client4_tcp(42001, 0x02);
    send(kExt, syn2);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(syn2), 4, T::GreCsum, 0, false, kRs1Mac, mac_[kInt], 0, 64, kDirInt, kRs1).b);
}

TEST_F(MixedTunnelTest, Ipv6ServiceGueAndGreOverIpv6) {
    Reply r = add(true, cfg::Proto::Udp, {rs6(kRs1)}, cfg::TunType::Gue);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame d = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 50, IPPROTO_UDP,
                              udp_dgram(43000, 80, "six"));
    send(kExt, d);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    uint16_t sport = be16_at(out[0], kL4);
    EXPECT_GE(sport, 32768);
    EXPECT_LE(sport, 60998);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(d), 41, T::Gue, sport, false, kRs1Mac, mac_[kInt], 0, 50, kDirInt, kRs1).b);
    // GUE with a checksum, then GRE with one, for a TCP service.
    r = add(true, cfg::Proto::Tcp, {rs6(kRs2)}, cfg::TunType::Gue, cfg::TunCsum::Csum);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame syn = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_TCP,
                                tcp_seg(43001, 80, 0x02, ""));
    send(kExt, syn);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    sport = be16_at(out[0], kL4);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(syn), 41, T::Gue, sport, true, kRs2Mac, mac_[kInt], 0, 64, kDirInt, kRs2).b);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);
}

TEST_F(MixedTunnelTest, Ipv6ServiceGreOverIpv6WithChecksumAndTooBig) {
    const Reply r = add(true, cfg::Proto::Udp, {rs6(kRs1)}, cfg::TunType::Gre, cfg::TunCsum::Csum);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame d = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                              udp_dgram(44000, 80, "gre"));
    send(kExt, d);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(
        out[0].b,
        over6(l3_of(d), 41, T::GreCsum, 0, false, kRs1Mac, mac_[kInt], 0, 64, kDirInt, kRs1).b);
    // The MTU inside: 1500 - 40 - 8 (GRE with its checksum).
    const Frame big = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                                udp_dgram(44000, 80, std::string(1452 - 48 + 1, 'g')));
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_too_big(out[0], big, 1452);
}

TEST_F(MixedTunnelTest, Ipv6ServiceGueAndGreToAnIpv4Server) {
    Reply r =
        add(true, cfg::Proto::Tcp, {rs4("172.16.0.41")}, cfg::TunType::Gue, cfg::TunCsum::Csum);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame syn = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 40, IPPROTO_TCP,
                                tcp_seg(45000, 80, 0x02, ""));
    send(kExt, syn);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const uint16_t id = be16_at(out[0], kL3 + 4);
    const uint16_t sport = be16_at(out[0], kL3 + 20);
    EXPECT_GE(sport, 32768);
    EXPECT_EQ(out[0].b, over4(l3_of(syn), T::Gue, sport, true, kRs4Mac, mac_[kInt], 0, id, 40,
                              ip("172.16.0.1"), ip("172.16.0.41"))
                            .b);
    // GRE (no checksum) across families, for a UDP service: protocol type IPv6.
    r = add(true, cfg::Proto::Udp, {rs4("172.16.0.41")}, cfg::TunType::Gre);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame d = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                              udp_dgram(45001, 80, "gre"));
    send(kExt, d);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b,
              over4(l3_of(d), T::Gre, 0, false, kRs4Mac, mac_[kInt], 0,
                    static_cast<uint16_t>(id + 1), 64, ip("172.16.0.1"), ip("172.16.0.41"))
                  .b);
    // The MTU inside: 1500 - 20 - 4; a longer IPv6 packet gets Packet Too Big.
    const Frame big = ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                                udp_dgram(45001, 80, std::string(1476 - 48 + 1, 'q')));
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_too_big(out[0], big, 1476);
}

TEST_F(MixedTunnelTest, Ipv4InIpv6WithDfTooLongGetsFragmentationNeededWithTheMtuLeft) {
    const Reply r = add(false, cfg::Proto::Udp, {rs6(kRs1)}, cfg::TunType::Gue);
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const uint64_t before = stats().frag_needed.load();
    // 1500 - 40 - 8 - 4 = 1448 fit inside; one byte more with DF is refused.
    const Frame big = client4_udp(46000, std::string(1448 - 28 + 1, 'x'));
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& icmp = out[0];
    EXPECT_EQ(icmp.dst_mac(), kClientMac);
    EXPECT_EQ(icmp.ethertype(), 0x0800);
    EXPECT_EQ(icmp.iph()[9], IPPROTO_ICMP);
    EXPECT_EQ(icmp.l4h()[0], 3);  // destination unreachable
    EXPECT_EQ(icmp.l4h()[1], 4);  // fragmentation needed
    EXPECT_EQ(be16_at(icmp, 34 + 6), 1448);
    EXPECT_EQ(stats().frag_needed.load(), before + 1);
    // Exactly the MTU left: a 1500-byte tunnel packet.
    const Frame fits = client4_udp(46000, std::string(1448 - 28, 'x'));
    send(kExt, fits);
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b.size(), 14u + 1500u);
}

TEST_F(MixedTunnelTest, Ipv4InIpv6WithoutDfTooLongIsSentAsIpv6Fragments) {
    const Reply r = add(false, cfg::Proto::Udp, {rs6(kRs1)});
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    Frame big = client4_udp(47000, std::string(1600, 'f'));
    clear_df(big);
    send(kExt, big);
    step();
    EXPECT_TRUE(recv(kExt).empty());
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    // ip6_fragment: each fragment an outer IPv6 header with a fragment header (44) whose next
    // header is 4; together they carry the inner IPv4 packet unchanged.
    std::vector<uint8_t> joined;
    for (size_t i = 0; i < out.size(); ++i) {
        const Frame& f = out[i];
        EXPECT_LE(f.b.size(), 14u + 1500u);
        EXPECT_EQ(mac_at(f, 0), kRs1Mac);
        EXPECT_EQ(f.b[kL3 + 6], 44);
        EXPECT_EQ(addr_at(f, kL3 + 8), kDirInt);
        EXPECT_EQ(addr_at(f, kL3 + 24), kRs1);
        EXPECT_EQ(f.b[kL4], 4);
        const uint16_t off_m = be16_at(f, kL4 + 2);
        EXPECT_EQ(off_m & 1, i + 1 < out.size() ? 1 : 0);
        EXPECT_EQ(static_cast<size_t>(off_m >> 3) * 8, joined.size());
        joined.insert(joined.end(), f.b.begin() + kL4 + 8, f.b.end());
    }
    EXPECT_EQ(joined, l3_of(big));
    EXPECT_GE(stats().frag_out.load(), 2u);
}

TEST_F(MixedTunnelTest, Ipv4InIpv6ToAnUnresolvedServerSolicitsItThenSends) {
    const Reply r = add(false, cfg::Proto::Tcp, {rs6(kRs3)});
    ASSERT_EQ(r.code, Errc::Ok) << r.message;
    const Frame syn = client4_tcp(48000, 0x02);
    send(kExt, syn);
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].b[kL3 + 6], IPPROTO_ICMPV6);
    EXPECT_EQ(out[0].b[kL4], 135);  // a neighbour solicitation
    EXPECT_EQ(addr_at(out[0], kL4 + 8), kRs3);
    // The server answers; the held packet goes out encapsulated.
    send(kInt, ns_from(kRs3, kRs3Mac, kDirInt));
    step();
    out = recv(kInt);
    std::vector<Frame> tunnelled;
    for (const Frame& f : out) {
        if (f.b[kL3 + 6] == 4) {
            tunnelled.push_back(f);
        }
    }
    ASSERT_EQ(tunnelled.size(), 1u);
    EXPECT_EQ(tunnelled[0].b,
              over6(l3_of(syn), 4, T::Ipip, 0, false, kRs3Mac, mac_[kInt], 0, 64, kDirInt, kRs3).b);
}

TEST_F(MixedTunnelTest, DirectRoutingToTheOtherFamilyIsStillRefused) {
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
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("mixed_tunnel_test", "0", "256"));
    return RUN_ALL_TESTS();
}
