// SPDX-License-Identifier: BSD-3-Clause
// In-process IPv6 persistence tests (ipvsadm -A -6 ... -p TIMEOUT -M PREFIXLEN) through the real
// Worker, its IPv6 connection table and the shared template table, on two net_ring ports: a
// client's prefix sticks to one real server, -Lnc lists the templates as IPVS makes them, and a
// removed server's template is bound anew.

#include <algorithm>
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
#include "dataplane/sctp.hpp"
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
const V6 kNeighbour = v6("2001:db8:1::3");  // kClient's /64
const V6 kFar = v6("2001:db8:5::2");        // another /64
const V6 kClientNet = v6("2001:db8:1::");   // kClient masked to /64
const V6 kFarNet = v6("2001:db8:5::");

cfg::Ip6 ip6_of(const V6& a) {
    cfg::Ip6 r;
    std::memcpy(r.b.data(), a.data(), 16);
    return r;
}

class Ipv6PersistTest : public ::testing::Test {
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
            const std::string base = "v6p" + std::to_string(seq) + names[i];
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

    /// ipvsadm -A -6 -t|-u [VIP]:port -s sched -p 300 -M prefix; -a -r [rs1]:rport -m; -a -r
    /// [rs2]:rport -m.
    void add_service(cfg::Proto proto, uint16_t port, uint16_t rport, uint8_t prefix,
                     const char* sched = "rr") {
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
        a.service.flags = cfg::kSvcPersistent;
        a.service.timeout = 300;
        a.service.prefix6 = prefix;
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
        return syn_from(kClient, sport, flags, data);
    }
    Frame syn_from(const V6& who, uint16_t sport, uint8_t flags = 0x02,
                   const std::string& data = "") const {
        return ip6_frame(mac_[kExt], kClientMac, who, kVip, 64, IPPROTO_TCP,
                         tcp_seg(sport, 80, flags, data));
    }
    /// The real server each of `syns` went to, in order.
    std::vector<V6> servers_of(const std::vector<Frame>& syns) {
        for (const Frame& f : syns) {
            send(kExt, f);
        }
        step();
        std::vector<V6> out;
        for (const Frame& f : recv(kInt)) {
            EXPECT_EQ(port_at(f, kL4 + 2), 8080);
            EXPECT_EQ(l4_sum(f), 0xffff) << "checksum";
            out.push_back(addr_at(f, kL3 + 24));
        }
        return out;
    }
    /// The persistence templates -Lnc lists (state NONE).
    std::vector<ctl::ConnInfo> templates() {
        std::vector<ctl::ConnInfo> out;
        for (const ctl::ConnInfo& c : conns().conns) {
            if (c.state == "NONE") {
                out.push_back(c);
            }
        }
        return out;
    }
    uint32_t persistent_of(const V6& rs) {
        const Reply listing = list();  // the loop below walks into it
        for (const ctl::DestInfo& d : listing.services.at(0).dests) {
            if (d.server.addr6 == ip6_of(rs)) {
                return d.persistent;
            }
        }
        return 0xffffffffu;
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
        if (proto != IPPROTO_SCTP) {  // SCTP: a CRC32c, checked by sctp_crc_ok
            EXPECT_EQ(l4_sum(f), 0xffff) << "checksum";
        }
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
        if (proto != IPPROTO_SCTP) {  // SCTP: a CRC32c, checked by sctp_crc_ok
            EXPECT_EQ(l4_sum(f), 0xffff) << "checksum";
        }
    }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
};

TEST_F(Ipv6PersistTest, OnePrefixStaysOnOneServerAndAnotherPrefixIsScheduledAnew) {
    add_service(cfg::Proto::Tcp, 80, 8080, 64);
    // rr from the list head, newest first: kClient's /64 gets rs2, and keeps it for every
    // connection of any address in it; kFar's /64 is scheduled anew (rs1) and keeps that.
    const auto got =
        servers_of({syn_from(kClient, 40000), syn_from(kClient, 40001), syn_from(kNeighbour, 40002),
                    syn_from(kFar, 40003), syn_from(kFar, 40004), syn_from(kNeighbour, 40005)});
    ASSERT_EQ(got.size(), 6u);
    EXPECT_EQ(got[0], kRs2);
    EXPECT_EQ(got[1], kRs2);
    EXPECT_EQ(got[2], kRs2);
    EXPECT_EQ(got[3], kRs1);
    EXPECT_EQ(got[4], kRs1);
    EXPECT_EQ(got[5], kRs2);
    // PersistConn: one template per server; the connections are counted as usual.
    EXPECT_EQ(persistent_of(kRs1), 1u);
    EXPECT_EQ(persistent_of(kRs2), 1u);
    const Reply l = list();
    for (const ctl::DestInfo& d : l.services.at(0).dests) {
        EXPECT_EQ(d.stats.conns, d.server.addr6 == ip6_of(kRs2) ? 4u : 2u);
        EXPECT_EQ(d.inactive, d.server.addr6 == ip6_of(kRs2) ? 4u : 2u);
    }
    // -Lnc: the six connections plus two templates, as ip_vs_sched_persist makes them: the
    // client masked to /64 with port 0, the service's VIP and port, the server and its port.
    EXPECT_EQ(conns().conns.size(), 8u);
    const auto t = templates();
    ASSERT_EQ(t.size(), 2u);
    for (const ctl::ConnInfo& c : t) {
        EXPECT_EQ(c.af, cfg::Family::Inet6);
        EXPECT_EQ(c.proto, IPPROTO_TCP);
        EXPECT_EQ(c.cport, 0);
        EXPECT_EQ(c.vaddr6, ip6_of(kVip));
        EXPECT_EQ(c.vport, 80);
        EXPECT_EQ(c.dport, 8080);
        EXPECT_GT(c.expires_ms, 299000u);
        EXPECT_LE(c.expires_ms, 300000u);
        EXPECT_EQ(c.caddr, 0u);
        if (c.caddr6 == ip6_of(kClientNet)) {
            EXPECT_EQ(c.daddr6, ip6_of(kRs2));
        } else {
            EXPECT_EQ(c.caddr6, ip6_of(kFarNet));
            EXPECT_EQ(c.daddr6, ip6_of(kRs1));
        }
    }
}

TEST_F(Ipv6PersistTest, WithoutAPrefixEachAddressIsItsOwnClient) {
    add_service(cfg::Proto::Tcp, 80, 8080, 128);
    const auto got = servers_of({syn_from(kClient, 40000), syn_from(kNeighbour, 40001),
                                 syn_from(kClient, 40002), syn_from(kNeighbour, 40003)});
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], kRs2);
    EXPECT_EQ(got[1], kRs1);
    EXPECT_EQ(got[2], kRs2);
    EXPECT_EQ(got[3], kRs1);
    const auto t = templates();
    ASSERT_EQ(t.size(), 2u);
    for (const ctl::ConnInfo& c : t) {
        EXPECT_TRUE(c.caddr6 == ip6_of(kClient) || c.caddr6 == ip6_of(kNeighbour));
        EXPECT_EQ(c.daddr6, ip6_of(c.caddr6 == ip6_of(kClient) ? kRs2 : kRs1));
    }
}

TEST_F(Ipv6PersistTest, RemovedServersTemplateIsBoundAnew) {
    add_service(cfg::Proto::Tcp, 80, 8080, 64);
    ASSERT_EQ(servers_of({syn_from(kClient, 40000)}), std::vector<V6>{kRs2});
    ASSERT_EQ(persistent_of(kRs2), 1u);
    ctl::Request del;
    del.op = ctl::Op::DelDest;
    del.service.key = list().services.at(0).service.key;
    del.dest.af = cfg::Family::Inet6;
    del.dest.addr6 = ip6_of(kRs2);
    del.dest.port = 8080;
    ASSERT_EQ(ctl_->handle(del).code, Errc::Ok);
    // The template's server is gone: the /64's next connection is scheduled and the template
    // follows it to rs1, where PersistConn now counts it.
    EXPECT_EQ(servers_of({syn_from(kNeighbour, 40001), syn_from(kClient, 40002)}),
              (std::vector<V6>{kRs1, kRs1}));
    EXPECT_EQ(persistent_of(kRs1), 1u);
    const auto t = templates();
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].caddr6, ip6_of(kClientNet));
    EXPECT_EQ(t[0].daddr6, ip6_of(kRs1));
}

TEST_F(Ipv6PersistTest, UdpDatagramsOfOnePrefixShareAServer) {
    add_service(cfg::Proto::Udp, 53, 8080, 64);
    for (uint16_t sport = 50000; sport < 50004; ++sport) {
        const V6& who = (sport & 1) != 0 ? kNeighbour : kClient;
        send(kExt, ip6_frame(mac_[kExt], kClientMac, who, kVip, 64, IPPROTO_UDP,
                             udp_dgram(sport, 53, "q")));
    }
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);
    for (const Frame& f : out) {
        EXPECT_EQ(addr_at(f, kL3 + 24), kRs2);
        EXPECT_EQ(l4_sum(f), 0xffff);
    }
    const auto t = templates();
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].proto, IPPROTO_UDP);
    EXPECT_EQ(t[0].vport, 53);
    EXPECT_EQ(dp_->worker(0).table6()->size(), 4u);
}

// -f 1 -6 -p 300 -M 64 behind an IPv6 mark rule for the VIP's TCP ports 80 and 443: one /64's
// connections to both ports land on one real server with the packet's port (port-0 servers);
// a port outside the rule is not served; -Lnc lists the template as IPVS makes a fwmark one.
TEST_F(Ipv6PersistTest, Ipv6FwmarkServiceKeepsBothPortsOfAPrefixOnOneServer) {
    cfg::ServiceKey key;
    key.fwmark = 1;
    key.af = cfg::Family::Inet6;
    ctl::Request b;
    b.op = ctl::Op::Batch;
    ctl::Request a;
    a.op = ctl::Op::AddService;
    a.service.key = key;
    a.service.scheduler = "rr";
    a.service.flags = cfg::kSvcPersistent;
    a.service.timeout = 300;
    a.service.prefix6 = 64;
    b.batch.push_back(a);
    for (const V6& rs : {kRs1, kRs2}) {
        ctl::Request d;
        d.op = ctl::Op::AddDest;
        d.service.key = key;
        d.dest.af = cfg::Family::Inet6;
        d.dest.addr6 = ip6_of(rs);
        d.dest.port = 0;
        b.batch.push_back(d);
    }
    ctl::Request m;
    m.op = ctl::Op::AddMark;
    m.mark.af = cfg::Family::Inet6;
    m.mark.dst6 = {ip6_of(kVip), 128};
    m.mark.proto = IPPROTO_TCP;
    m.mark.ports = {{80, 80}, {443, 443}};
    m.mark.mark = 1;
    b.batch.push_back(m);
    ASSERT_EQ(ctl_->handle(b).code, Errc::Ok);
    auto syn = [this](const V6& who, uint16_t sport, uint16_t dport) {
        return ip6_frame(mac_[kExt], kClientMac, who, kVip, 64, IPPROTO_TCP,
                         tcp_seg(sport, dport, 0x02));
    };
    send(kExt, syn(kClient, 40000, 80));
    send(kExt, syn(kClient, 40001, 443));
    send(kExt, syn(kNeighbour, 40002, 443));
    send(kExt, syn(kFar, 40003, 443));
    send(kExt, syn(kFar, 40004, 80));
    send(kExt, syn(kClient, 40005, 8080));  // not marked: no service, not sent to a server
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 5u);
    const uint16_t want_port[5] = {80, 443, 443, 443, 80};
    const V6 want_rs[5] = {kRs2, kRs2, kRs2, kRs1, kRs1};
    for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(addr_at(out[i], kL3 + 24), want_rs[i]) << i;
        EXPECT_EQ(port_at(out[i], kL4 + 2), want_port[i]) << i;
        EXPECT_EQ(l4_sum(out[i]), 0xffff) << i;
    }
    EXPECT_EQ(dp_->worker(0).table6()->size(), 5u);
    const auto t = templates();
    ASSERT_EQ(t.size(), 2u);
    cfg::Ip6 mark_addr;
    mark_addr.b[3] = 1;  // the mark as the first word of the virtual address
    for (const ctl::ConnInfo& c : t) {
        EXPECT_EQ(c.proto, 0);  // IPPROTO_IP, listed "IP"
        EXPECT_EQ(c.af, cfg::Family::Inet6);
        EXPECT_EQ(c.vaddr6, mark_addr);
        EXPECT_EQ(c.vport, 0);
        EXPECT_EQ(c.dport, 0);
        EXPECT_EQ(c.daddr6, ip6_of(c.caddr6 == ip6_of(kClientNet) ? kRs2 : kRs1));
    }
}

/// An SCTP packet from `src`:`sport` to `dst`:`dport` with one chunk of type `chunk` (and a
/// 4-byte body), its CRC32c computed with the scalar reference (dp::sctp_crc32c_sw).
Frame sctp_frame(const Mac& to, const Mac& from, const V6& src, const V6& dst, uint16_t sport,
                 uint16_t dport, uint8_t chunk) {
    std::vector<uint8_t> l4(12 + 8, 0);
    l4[0] = static_cast<uint8_t>(sport >> 8);
    l4[1] = static_cast<uint8_t>(sport);
    l4[2] = static_cast<uint8_t>(dport >> 8);
    l4[3] = static_cast<uint8_t>(dport);
    l4[4] = 0x12;  // verification tag
    l4[5] = 0x34;
    l4[6] = 0x56;
    l4[7] = 0x78;
    l4[12] = chunk;
    l4[15] = 8;  // chunk length
    l4[16] = 0xab;
    Frame f = ip6_frame(to, from, src, dst, 64, IPPROTO_SCTP, l4);
    // ip6_frame wrote a 16-bit sum over the tag: put the tag back, then the CRC.
    std::copy(l4.begin(), l4.begin() + 12, f.b.begin() + kL4);
    const uint32_t crc = dp::sctp_crc32c_sw(f.b.data() + kL4, static_cast<uint32_t>(l4.size()));
    for (int i = 0; i < 4; ++i) {
        f.b[kL4 + 8 + i] = static_cast<uint8_t>(crc >> (8 * i));  // little-endian, as Linux
    }
    return f;
}

bool sctp_crc_ok(const Frame& f) {
    const uint8_t* ip6 = f.b.data() + kL3;
    const auto plen = static_cast<uint32_t>(ip6[4] << 8 | ip6[5]);
    const uint8_t* l4 = f.b.data() + kL4;
    const uint32_t stored = static_cast<uint32_t>(l4[8]) | static_cast<uint32_t>(l4[9]) << 8 |
                            static_cast<uint32_t>(l4[10]) << 16 |
                            static_cast<uint32_t>(l4[11]) << 24;
    return stored == dp::sctp_crc32c_sw(l4, plen);
}

// --sctp-service [VIP]:5000 with servers on port 6000: an INIT opens the association (and
// nothing else does); both directions are rewritten with a correct CRC32c; the state follows
// IPVS's SCTP table to ESTABLISHED.
TEST_F(Ipv6PersistTest, SctpAssociationThroughAnIpv6NatService) {
    add_service(cfg::Proto::Sctp, 5000, 6000, 128);
    const uint64_t no_conn = drops(dp::Drop::NoConn);
    send(kExt, sctp_frame(mac_[kExt], kClientMac, kClient, kVip, 40000, 5000, 0));  // DATA
    step();
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::NoConn), no_conn + 1);
    EXPECT_EQ(dp_->worker(0).table6()->size(), 0u);

    send(kExt, sctp_frame(mac_[kExt], kClientMac, kClient, kVip, 40000, 5000, ct::kSctpInit));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_server(out[0], kRs2, kRs2Mac, 40000, IPPROTO_SCTP, 6000);
    EXPECT_TRUE(sctp_crc_ok(out[0])) << "CRC32c after the port rewrite";
    EXPECT_EQ(out[0].b[kL4 + 4], 0x12);  // the verification tag is untouched

    send(kInt, sctp_frame(mac_[kInt], kRs2Mac, kRs2, kClient, 6000, 40000, ct::kSctpInitAck));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    expect_to_client(out[0], 40000, IPPROTO_SCTP, 5000);
    EXPECT_TRUE(sctp_crc_ok(out[0])) << "CRC32c after the port rewrite";

    send(kExt, sctp_frame(mac_[kExt], kClientMac, kClient, kVip, 40000, 5000, ct::kSctpCookieEcho));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    send(kInt, sctp_frame(mac_[kInt], kRs2Mac, kRs2, kClient, 6000, 40000, ct::kSctpCookieAck));
    step();
    ASSERT_EQ(recv(kExt).size(), 1u);
    std::string state;
    for (const ctl::ConnInfo& c : conns().conns) {
        if (c.state != "NONE") {
            EXPECT_EQ(c.proto, IPPROTO_SCTP);
            EXPECT_EQ(c.af, cfg::Family::Inet6);
            state = c.state;
        }
    }
    EXPECT_EQ(state, "ESTABLISHED");
    const Reply l = list();
    for (const ctl::DestInfo& d : l.services.at(0).dests) {
        EXPECT_EQ(d.active, d.server.addr6 == ip6_of(kRs2) ? 1u : 0u);
    }
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("ipv6_persist_test", "0", "256"));
    return RUN_ALL_TESTS();
}
