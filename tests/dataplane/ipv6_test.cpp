// SPDX-License-Identifier: BSD-3-Clause
// In-process IPv6 tests: the director's own IPv6 presence (neighbour discovery, echo) and IPv6
// transit routing (rte_lpm6, hop limit, neighbour resolution by solicitation, time exceeded and
// packet too big), through the real Worker and slow path, on two net_ring ports. Frames and
// their checksums are built and checked here independently of dataplane/nd.hpp.

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

namespace dirigo {
namespace {

using namespace test;
using V6 = std::array<uint8_t, 16>;

V6 v6(const char* s) {
    V6 a{};
    EXPECT_EQ(inet_pton(AF_INET6, s, a.data()), 1) << s;
    return a;
}

V6 solicited(const V6& target) {
    V6 g = v6("ff02::1:ff00:0");
    std::memcpy(g.data() + 13, target.data() + 13, 3);
    return g;
}

Mac mcast_mac(const V6& group) { return {0x33, 0x33, group[12], group[13], group[14], group[15]}; }

constexpr size_t kL3 = 14;       // the IPv6 header's offset in a frame
constexpr size_t kL4 = 14 + 40;  // the ICMPv6 (or other) header's

/// The ICMPv6 checksum sum of a frame (pseudo-header and message): 0xffff when it verifies.
uint16_t icmp6_sum(const Frame& f) {
    const uint8_t* ip6 = f.b.data() + kL3;
    const uint32_t plen = static_cast<uint32_t>(ip6[4] << 8 | ip6[5]);
    uint32_t s = sum16(ip6 + 8, 32);
    s += plen;
    s += ip6[6];
    s = sum16(f.b.data() + kL4, plen, s);
    return fold(s);
}

/// Ethernet + IPv6 (next header `nh`) + `l4` as the payload; for ICMPv6 the checksum (bytes 2-3
/// of `l4`) is computed. `plen_delta` lies about the payload length.
Frame ip6_frame(const Mac& dst, const Mac& src, const V6& saddr, const V6& daddr, uint8_t hop,
                uint8_t nh, const std::vector<uint8_t>& l4) {
    Frame f = Frame::eth(dst, src, 0x86dd);
    f.b.push_back(0x60);
    f.b.push_back(0);
    f.b.push_back(0);
    f.b.push_back(0);
    f.b.push_back(static_cast<uint8_t>(l4.size() >> 8));
    f.b.push_back(static_cast<uint8_t>(l4.size()));
    f.b.push_back(nh);
    f.b.push_back(hop);
    f.b.insert(f.b.end(), saddr.begin(), saddr.end());
    f.b.insert(f.b.end(), daddr.begin(), daddr.end());
    f.b.insert(f.b.end(), l4.begin(), l4.end());
    if (nh == IPPROTO_ICMPV6) {
        const uint16_t c = static_cast<uint16_t>(~icmp6_sum(f));
        f.b[kL4 + 2] = static_cast<uint8_t>(c >> 8);
        f.b[kL4 + 3] = static_cast<uint8_t>(c);
    }
    return f;
}

/// An ND message body: type, code 0, checksum 0, 4 bytes (`flags` first), target, and a
/// link-layer address option of type `opt` (0: none).
std::vector<uint8_t> nd_body(uint8_t type, uint8_t flags, const V6& target, uint8_t opt,
                             const Mac& lladdr) {
    std::vector<uint8_t> b = {type, 0, 0, 0, flags, 0, 0, 0};
    b.insert(b.end(), target.begin(), target.end());
    if (opt != 0) {
        b.push_back(opt);
        b.push_back(1);
        b.insert(b.end(), lladdr.begin(), lladdr.end());
    }
    return b;
}

V6 addr_at(const Frame& f, size_t off) {
    V6 a;
    std::memcpy(a.data(), f.b.data() + off, 16);
    return a;
}
Mac mac_at(const Frame& f, size_t off) {
    Mac m;
    std::memcpy(m.data(), f.b.data() + off, 6);
    return m;
}

const V6 kDirExt = v6("2001:db8:1::1");
const V6 kDirInt = v6("2001:db8:2::1");
const V6 kClient = v6("2001:db8:1::2");
const V6 kGw = v6("2001:db8:2::fe");
const V6 kFar = v6("2001:db8:100::5");  // behind kGw

class Ipv6Test : public ::testing::Test {
protected:
    void SetUp() override {
        static int seq = 0;
        ++seq;
        cfg::Config cfg;
        // In-process: no net_tap; with host_rings_ the test reads the host rings itself.
        cfg.host.kernel_interfaces = host_rings_;
        cfg.host.queue = 64;
        cfg.dataplane.conn_table_size = 4096;
        cfg.dataplane.mbufs = 4095;
        cfg.dataplane.rx_desc = 256;
        cfg.dataplane.tx_desc = 256;
        const char* names[2] = {"ext", "int"};
        for (int i = 0; i < 2; ++i) {
            const std::string base = "v6t" + std::to_string(seq) + names[i];
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
        cfg.ports[0].addresses = {{ntohl(ip("10.0.0.1")), 24}};
        cfg.ports[0].addresses6 = {*cfg::parse_prefix6("2001:db8:1::1/64")};
        cfg.ports[1].addresses6 = {*cfg::parse_prefix6("2001:db8:2::1/64")};
        cfg.routes6.push_back({*cfg::parse_prefix6("2001:db8:100::/48"), *cfg::parse_ip6("2001:db8:2::fe")});
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
        if (host_rings_) {
            (void)host_frames(kExt);
            (void)host_frames(kInt);
        }
        ctl_.reset();
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
    const dp::SlowPathStats& slow() { return ctl_->slow_path().stats(); }

    /// The client's solicitation for the director's ext address (it learns the client from it).
    Frame client_ns(uint8_t hop = 255) const {
        return ip6_frame(mcast_mac(solicited(kDirExt)), kClientMac, kClient, solicited(kDirExt),
                         hop, IPPROTO_ICMPV6, nd_body(135, 0, kDirExt, 1, kClientMac));
    }

    /// A UDP datagram (next header 17, checksum left 0: transit does not look) from the client
    /// to `dst`, `len` bytes of payload.
    Frame transit(const V6& dst, uint8_t hop, size_t len = 32) const {
        std::vector<uint8_t> udp(8 + len, 0xab);
        udp[0] = 0x30;
        udp[1] = 0x39;
        udp[2] = 0;
        udp[3] = 53;
        udp[4] = static_cast<uint8_t>(udp.size() >> 8);
        udp[5] = static_cast<uint8_t>(udp.size());
        udp[6] = udp[7] = 0;
        return ip6_frame(mac_[kExt], kClientMac, kClient, dst, hop, IPPROTO_UDP, udp);
    }

    /// The gateway's advertisement answering the director's solicitation.
    Frame gw_na() const {
        return ip6_frame(mac_[kInt], kGwMac, kGw, kDirInt, 255, IPPROTO_ICMPV6,
                         nd_body(136, 0x60, kGw, 2, kGwMac));
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

    bool host_rings_ = false;
    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
};

TEST_F(Ipv6Test, SolicitationForAnOwnedAddressGetsASolicitedOverrideAdvertisement) {
    send(kExt, client_ns());
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& na = out[0];
    ASSERT_EQ(na.b.size(), kL4 + 32);
    EXPECT_EQ(mac_at(na, 0), kClientMac);
    EXPECT_EQ(mac_at(na, 6), mac_[kExt]);
    EXPECT_EQ(na.b[12], 0x86);
    EXPECT_EQ(na.b[13], 0xdd);
    EXPECT_EQ(na.b[kL3] >> 4, 6);
    EXPECT_EQ(na.b[kL3 + 4] << 8 | na.b[kL3 + 5], 32);  // payload length
    EXPECT_EQ(na.b[kL3 + 6], IPPROTO_ICMPV6);
    EXPECT_EQ(na.b[kL3 + 7], 255);
    EXPECT_EQ(addr_at(na, kL3 + 8), kDirExt);
    EXPECT_EQ(addr_at(na, kL3 + 24), kClient);
    EXPECT_EQ(na.b[kL4], 136);
    EXPECT_EQ(na.b[kL4 + 1], 0);
    EXPECT_EQ(na.b[kL4 + 4], 0x60);  // solicited, override; not a router
    EXPECT_EQ(addr_at(na, kL4 + 8), kDirExt);
    EXPECT_EQ(na.b[kL4 + 24], 2);  // target link-layer address
    EXPECT_EQ(na.b[kL4 + 25], 1);
    EXPECT_EQ(mac_at(na, kL4 + 26), mac_[kExt]);
    EXPECT_EQ(icmp6_sum(na), 0xffff);
    // And the solicitor is a neighbour now (its source link-layer option).
    rte_ether_addr mac;
    ASSERT_TRUE(dp_->neigh6().lookup(kClient.data(), &mac));
    EXPECT_EQ(to_mac(mac), kClientMac);
    EXPECT_EQ(slow().na_sent, 1u);
}

TEST_F(Ipv6Test, DuplicateAddressProbeIsAnsweredToAllNodes) {
    const V6 any{};
    send(kExt, ip6_frame(mcast_mac(solicited(kDirExt)), kClientMac, any, solicited(kDirExt), 255,
                         IPPROTO_ICMPV6, nd_body(135, 0, kDirExt, 0, kZero)));
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& na = out[0];
    EXPECT_EQ(mac_at(na, 0), (Mac{0x33, 0x33, 0, 0, 0, 1}));
    EXPECT_EQ(addr_at(na, kL3 + 8), kDirExt);
    EXPECT_EQ(addr_at(na, kL3 + 24), v6("ff02::1"));
    EXPECT_EQ(na.b[kL3 + 7], 255);
    EXPECT_EQ(na.b[kL4], 136);
    EXPECT_EQ(na.b[kL4 + 4], 0x20);  // override only: not solicited (RFC 4861 7.2.4)
    EXPECT_EQ(mac_at(na, kL4 + 26), mac_[kExt]);
    EXPECT_EQ(icmp6_sum(na), 0xffff);
    rte_ether_addr mac;
    EXPECT_FALSE(dp_->neigh6().lookup(any.data(), &mac));  // nothing learned from ::
}

TEST_F(Ipv6Test, SolicitationForAnotherAddressGetsNoAnswer) {
    const V6 other = v6("2001:db8:1::99");
    send(kExt, ip6_frame(mcast_mac(solicited(other)), kClientMac, kClient, solicited(other), 255,
                         IPPROTO_ICMPV6, nd_body(135, 0, other, 1, kClientMac)));
    // The director's own address on the other port is not an answer on this one either.
    send(kExt, ip6_frame(mcast_mac(solicited(kDirInt)), kClientMac, kClient, solicited(kDirInt),
                         255, IPPROTO_ICMPV6, nd_body(135, 0, kDirInt, 1, kClientMac)));
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(slow().nd_in, 2u);
    EXPECT_EQ(slow().na_sent, 0u);
}

TEST_F(Ipv6Test, EchoRequestGetsAnEchoReply) {
    std::vector<uint8_t> echo = {128, 0, 0, 0, 0x12, 0x34, 0, 7};
    for (int i = 0; i < 56; ++i) {
        echo.push_back(static_cast<uint8_t>(i));
    }
    const Frame req = ip6_frame(mac_[kExt], kClientMac, kClient, kDirExt, 64, IPPROTO_ICMPV6, echo);
    send(kExt, req);
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& rep = out[0];
    ASSERT_EQ(rep.b.size(), req.b.size());
    EXPECT_EQ(mac_at(rep, 0), kClientMac);
    EXPECT_EQ(mac_at(rep, 6), mac_[kExt]);
    EXPECT_EQ(addr_at(rep, kL3 + 8), kDirExt);
    EXPECT_EQ(addr_at(rep, kL3 + 24), kClient);
    EXPECT_EQ(rep.b[kL3 + 7], 64);
    EXPECT_EQ(rep.b[kL4], 129);
    EXPECT_EQ(rep.b[kL4 + 1], 0);
    EXPECT_TRUE(std::equal(rep.b.begin() + kL4 + 4, rep.b.end(), req.b.begin() + kL4 + 4));
    EXPECT_EQ(icmp6_sum(rep), 0xffff);
    EXPECT_EQ(dp_->worker(0).stats().icmp_echo_replies.load(), 1u);
    EXPECT_EQ(dp_->worker(0).stats().ports[port_id_[kExt]].rx.load(), 1u);
    EXPECT_EQ(dp_->worker(0).stats().ports[port_id_[kExt]].tx.load(), 1u);
}

TEST_F(Ipv6Test, TransitIsRoutedThroughLpm6AfterTheGatewayIsSolicited) {
    const Frame in = transit(kFar, 64);
    send(kExt, in);
    step();
    EXPECT_TRUE(recv(kExt).empty());
    // First the solicitation for the gateway, from the int port's address, to its group.
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& ns = out[0];
    ASSERT_EQ(ns.b.size(), kL4 + 32);
    EXPECT_EQ(mac_at(ns, 0), (Mac{0x33, 0x33, 0xff, 0, 0, 0xfe}));
    EXPECT_EQ(mac_at(ns, 6), mac_[kInt]);
    EXPECT_EQ(addr_at(ns, kL3 + 8), kDirInt);
    EXPECT_EQ(addr_at(ns, kL3 + 24), solicited(kGw));
    EXPECT_EQ(ns.b[kL3 + 7], 255);
    EXPECT_EQ(ns.b[kL4], 135);
    EXPECT_EQ(addr_at(ns, kL4 + 8), kGw);
    EXPECT_EQ(ns.b[kL4 + 24], 1);  // source link-layer address
    EXPECT_EQ(mac_at(ns, kL4 + 26), mac_[kInt]);
    EXPECT_EQ(icmp6_sum(ns), 0xffff);
    EXPECT_EQ(ctl_->slow_path().pending_next_hops(), 1u);

    // The gateway answers: the held packet leaves, hop limit one less, nothing else changed.
    send(kInt, gw_na());
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& fwd = out[0];
    ASSERT_EQ(fwd.b.size(), in.b.size());
    EXPECT_EQ(mac_at(fwd, 0), kGwMac);
    EXPECT_EQ(mac_at(fwd, 6), mac_[kInt]);
    EXPECT_EQ(fwd.b[kL3 + 7], 63);
    Frame expect = in;
    expect.b[kL3 + 7] = 63;
    EXPECT_TRUE(std::equal(fwd.b.begin() + 12, fwd.b.end(), expect.b.begin() + 12));
    EXPECT_EQ(ctl_->slow_path().pending_next_hops(), 0u);
    EXPECT_EQ(slow().released, 1u);

    // Resolved: the next one goes straight through the worker.
    send(kExt, transit(kFar, 2));
    dp_->worker(0).poll_once();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(mac_at(out[0], 0), kGwMac);
    EXPECT_EQ(out[0].b[kL3 + 7], 1);
    EXPECT_EQ(dp_->worker(0).stats().forwarded.load(), 2u);
    EXPECT_EQ(dp_->worker(0).stats().to_slow_path.load(), 2u);  // the first packet and the NA
}

TEST_F(Ipv6Test, OnLinkTransitIsResolvedForItsDestination) {
    const V6 host = v6("2001:db8:2::42");
    send(kExt, transit(host, 64));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(addr_at(out[0], kL4 + 8), host);  // solicited for the destination itself
    send(kInt, ip6_frame(mac_[kInt], kRs1Mac, host, kDirInt, 255, IPPROTO_ICMPV6,
                         nd_body(136, 0x60, host, 2, kRs1Mac)));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(mac_at(out[0], 0), kRs1Mac);
    EXPECT_EQ(out[0].b[kL3 + 7], 63);
}

TEST_F(Ipv6Test, HopLimitOneGetsTimeExceededFromTheIngressAddress) {
    send(kExt, client_ns());  // the director learns the client (the error goes back to it)
    step();
    ASSERT_EQ(recv(kExt).size(), 1u);
    const Frame in = transit(kFar, 1);
    send(kExt, in);
    step();
    EXPECT_TRUE(recv(kInt).empty());
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& te = out[0];
    EXPECT_EQ(mac_at(te, 0), kClientMac);
    EXPECT_EQ(mac_at(te, 6), mac_[kExt]);
    EXPECT_EQ(addr_at(te, kL3 + 8), kDirExt);
    EXPECT_EQ(addr_at(te, kL3 + 24), kClient);
    EXPECT_EQ(te.b[kL4], 3);      // time exceeded
    EXPECT_EQ(te.b[kL4 + 1], 0);  // hop limit exceeded in transit
    // The whole offending packet is quoted (it is short), as it arrived.
    ASSERT_EQ(te.b.size(), kL4 + 8 + (in.b.size() - kL3));
    EXPECT_TRUE(std::equal(te.b.begin() + kL4 + 8, te.b.end(), in.b.begin() + kL3));
    EXPECT_EQ(icmp6_sum(te), 0xffff);
    EXPECT_EQ(slow().icmp6_sent, 1u);
}

TEST_F(Ipv6Test, TooBigForTheEgressGetsPacketTooBigWithItsMtu) {
    send(kExt, client_ns());
    step();
    ASSERT_EQ(recv(kExt).size(), 1u);
    send(kExt, transit(kFar, 64, 1500 - 40 - 8 + 1));  // one byte over the int port's 1500
    step();
    EXPECT_TRUE(recv(kInt).empty());
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    const Frame& ptb = out[0];
    EXPECT_EQ(ptb.b[kL4], 2);
    EXPECT_EQ(ptb.b[kL4 + 1], 0);
    EXPECT_EQ((ptb.b[kL4 + 4] << 24) | (ptb.b[kL4 + 5] << 16) | (ptb.b[kL4 + 6] << 8) |
                  ptb.b[kL4 + 7],
              1500);
    EXPECT_EQ(ptb.b.size(), 14u + 1280u);  // the quote fills the minimum MTU
    EXPECT_EQ(icmp6_sum(ptb), 0xffff);
    // Exactly the MTU passes (to the slow path, for the gateway's solicitation).
    send(kExt, transit(kFar, 64, 1500 - 40 - 8));
    step();
    EXPECT_EQ(recv(kInt).size(), 1u);  // the solicitation
    EXPECT_TRUE(recv(kExt).empty());
}

TEST_F(Ipv6Test, InvalidNeighbourDiscoveryAndBadChecksumsAreCountedDrops) {
    // An NS that a router forwarded (hop limit 64).
    send(kExt, client_ns(64));
    // An NS with its checksum broken.
    Frame bad = client_ns();
    bad.b[kL4 + 2] ^= 0x01;
    send(kExt, bad);
    // An NS shorter than 24 bytes.
    send(kExt, ip6_frame(mcast_mac(solicited(kDirExt)), kClientMac, kClient, solicited(kDirExt),
                         255, IPPROTO_ICMPV6, {135, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x01}));
    // An option of length 0.
    std::vector<uint8_t> zero_opt = nd_body(135, 0, kDirExt, 1, kClientMac);
    zero_opt[25] = 0;
    send(kExt, ip6_frame(mcast_mac(solicited(kDirExt)), kClientMac, kClient, solicited(kDirExt),
                         255, IPPROTO_ICMPV6, zero_opt));
    // A duplicate address probe with a source link-layer option.
    send(kExt, ip6_frame(mcast_mac(solicited(kDirExt)), kClientMac, V6{}, solicited(kDirExt), 255,
                         IPPROTO_ICMPV6, nd_body(135, 0, kDirExt, 1, kClientMac)));
    // A solicited advertisement to a multicast group.
    send(kExt, ip6_frame(mcast_mac(v6("ff02::1")), kClientMac, kClient, v6("ff02::1"), 255,
                         IPPROTO_ICMPV6, nd_body(136, 0x60, kClient, 2, kClientMac)));
    // An echo request with a bad checksum.
    Frame echo = ip6_frame(mac_[kExt], kClientMac, kClient, kDirExt, 64, IPPROTO_ICMPV6,
                           {128, 0, 0, 0, 0, 1, 0, 1});
    echo.b[kL4 + 3] ^= 0x10;
    send(kExt, echo);
    // A packet whose payload length runs past the frame, and one that is not version 6.
    Frame trunc = client_ns();
    trunc.b.resize(trunc.b.size() - 10);
    send(kExt, trunc);
    Frame v5 = client_ns();
    v5.b[kL3] = 0x50;
    send(kExt, v5);
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::BadIcmp6), 7u);
    EXPECT_EQ(drops(dp::Drop::Runt), 1u);
    EXPECT_EQ(drops(dp::Drop::BadIpHeader), 1u);
    EXPECT_EQ(slow().nd_in, 0u);
    rte_ether_addr mac;
    EXPECT_FALSE(dp_->neigh6().lookup(kClient.data(), &mac));  // nothing learned from any
}

TEST_F(Ipv6Test, UnresolvedNeighbourDropsItsQueueAfterTheLastSolicitation) {
    send(kExt, transit(kFar, 64));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    // No answer: the slow path asks twice more, a second apart, then gives up and counts.
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end = rte_rdtsc() + 4 * hz;
    while (ctl_->slow_path().pending_next_hops() != 0 && rte_rdtsc() < end) {
        step();
        rte_delay_us_sleep(10000);
    }
    EXPECT_EQ(ctl_->slow_path().pending_next_hops(), 0u);
    EXPECT_EQ(recv(kInt).size(), 2u);  // the second and third solicitations
    EXPECT_EQ(slow().unresolved_drops, 1u);
    EXPECT_EQ(slow().neigh6_failed, 1u);
    bool failed = false;
    dp_->neigh6().for_each([&](const cfg::Ip6& ip, uint16_t, const rte_ether_addr&,
                               dp::NeighTable6::State s) {
        failed = failed || (ip.b == kGw && s == dp::NeighTable6::State::Failed);
    });
    EXPECT_TRUE(failed);
}

class Ipv6HostPathTest : public Ipv6Test {
protected:
    Ipv6HostPathTest() { host_rings_ = true; }
};

TEST_F(Ipv6HostPathTest, WhatDirigoDoesNotServeGoesUpButNotTheSolicitationsItAnswers) {
    // Answered here, never passed up: a solicitation for our address, and an echo request.
    send(kExt, client_ns());
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kDirExt, 64, IPPROTO_ICMPV6,
                         {128, 0, 0, 0, 0, 9, 0, 1}));
    // Up: TCP to our address (ssh), a solicitation for an address that is not ours (the kernel's
    // link-local), an advertisement (the kernel may have asked), and MLD-like multicast.
    std::vector<uint8_t> syn(20, 0);
    syn[0] = 0x9c;
    syn[1] = 0x40;
    syn[3] = 22;
    syn[12] = 5 << 4;
    syn[13] = 0x02;
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kDirExt, 64, IPPROTO_TCP, syn));
    const V6 ll = v6("fe80::1");
    send(kExt, ip6_frame(mcast_mac(solicited(ll)), kClientMac, kClient, solicited(ll), 255,
                         IPPROTO_ICMPV6, nd_body(135, 0, ll, 1, kClientMac)));
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kDirExt, 255, IPPROTO_ICMPV6,
                         nd_body(136, 0x60, kClient, 2, kClientMac)));
    send(kExt, ip6_frame(mcast_mac(v6("ff02::16")), kClientMac, kClient, v6("ff02::16"), 1,
                         IPPROTO_ICMPV6, {143, 0, 0, 0, 0, 0, 0, 0}));
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].b[kL4], 129);  // the worker's echo reply in the first loop
    EXPECT_EQ(out[1].b[kL4], 136);  // the slow path's advertisement, injected
    const auto up = host_frames(kExt);
    ASSERT_EQ(up.size(), 4u);
    // The worker's own frames go up in the burst's order; the slow path's ND after them.
    EXPECT_EQ(up[0].b[kL3 + 6], IPPROTO_TCP);
    EXPECT_EQ(up[1].b[kL4], 143);
    EXPECT_EQ(up[2].b[kL4], 135);
    EXPECT_EQ(addr_at(up[2], kL4 + 8), ll);
    EXPECT_EQ(up[3].b[kL4], 136);
    EXPECT_EQ(slow().nd_up, 2u);
    EXPECT_EQ(slow().na_sent, 1u);
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("ipv6_test", "0", "256"));
    return RUN_ALL_TESTS();
}
