// SPDX-License-Identifier: BSD-3-Clause
// In-process tests of IPv6 connections beyond plain NAT forwarding, through the real Worker and
// its IPv6 connection table on two net_ring ports: connection sync (the records a master queues
// for an IPv6 connection, a backup's installs and their forwarding) and ICMPv6 errors about
// IPv6 NAT connections (translated both ways, byte for byte; malformed ones dropped and
// counted). Expected frames are built independently of the dataplane's code (ipv6_frames.hpp
// computes every checksum afresh over the IPv6 pseudo-header).

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
#include <rte_ring_elem.h>

#include "config/addr.hpp"
#include "config/config.hpp"
#include "control/control.hpp"
#include "control/sync_daemon.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/sctp.hpp"
#include "sync/wire.hpp"
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
const V6 kRouter = v6("2001:db8:2::fe");  ///< a router on the real servers' side

cfg::Ip6 ip6_of(const V6& a) {
    cfg::Ip6 r;
    std::memcpy(r.b.data(), a.data(), 16);
    return r;
}

class Ipv6SyncTest : public ::testing::Test {
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
            std::string base = "v6y" + std::to_string(seq);
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
        cfg.ports[1].addresses6 = {*cfg::parse_prefix6("2001:db8:2::1/64")};
        auto dp = dp::Dataplane::create(cfg, 1);
        ASSERT_TRUE(dp) << dp.status().message();
        dp_ = std::move(*dp);
        ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
        ASSERT_TRUE(ctl_->load_initial());
        for (int i = 0; i < 2; ++i) {
            mac_[i] = to_mac(dp_->topology()->ports[port_id_[i]].mac);
        }
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

    /// ipvsadm -A -6 -t|-u|--sctp-service [VIP]:80 -s rr [FLAGS]; -a -r [rs1]:8080 -m; -a -r
    /// [rs2]:8080 -m. With kSvcPersistent: -p 300 -M `prefix`.
    void add_service(cfg::Proto proto, uint32_t flags = 0, uint8_t prefix = 128) {
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
        a.service.flags = flags;
        if ((flags & cfg::kSvcPersistent) != 0) {
            a.service.timeout = 300;
            a.service.prefix6 = prefix;
        }
        b.batch.push_back(a);
        for (const V6& rs : {kRs1, kRs2}) {
            ctl::Request d;
            d.op = ctl::Op::AddDest;
            d.service.key = key;
            d.dest.af = cfg::Family::Inet6;
            d.dest.addr6 = ip6_of(rs);
            d.dest.port = 8080;
            d.dest.fwd = cfg::Fwd::Masq;
            b.batch.push_back(d);
        }
        const Reply r = ctl_->handle(b);
        ASSERT_EQ(r.code, Errc::Ok) << r.message;
    }
    /// Publishes the dataplane's sync flag to the worker (any rule change republishes).
    void set_master(bool on) {
        dp::SyncParams p = dp_->sync();
        p.master = on;
        dp_->set_sync(p);
        ctl::Request nop;
        nop.op = ctl::Op::SetTimeouts;  // all zero: every timeout stays, the snapshot is new
        ASSERT_EQ(ctl_->handle(nop).code, Errc::Ok);
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
    std::vector<ctl::ConnInfo> conns() {
        ctl::Request r;
        r.op = ctl::Op::ListConns;
        return ctl_->handle(r).conns;
    }
    /// The IPv6 records worker 0 queued for control since the last call.
    std::vector<dp::SyncRecord6> queued6() {
        std::vector<dp::SyncRecord6> out;
        dp::SyncRecord6 r;
        while (rte_ring_sc_dequeue_elem(dp_->sync6_out(0), &r, sizeof(r)) == 0) {
            out.push_back(r);
        }
        return out;
    }
    size_t queued4() {
        size_t n = 0;
        dp::SyncRecord r;
        while (rte_ring_sc_dequeue_elem(dp_->sync_out(0), &r, sizeof(r)) == 0) {
            ++n;
        }
        return n;
    }
    void install(dp::SyncRecord6 r) {
        ASSERT_EQ(rte_ring_sp_enqueue_elem(dp_->sync6_in(0), &r, sizeof(r)), 0);
    }
    static dp::SyncRecord6 record(uint16_t cport, const V6& rs, ct::TcpState st) {
        dp::SyncRecord6 r;
        std::memcpy(r.caddr, kClient.data(), 16);
        std::memcpy(r.vaddr, kVip.data(), 16);
        std::memcpy(r.raddr, rs.data(), 16);
        r.cport = htons(cport);
        r.vport = htons(80);
        r.rport = htons(8080);
        r.proto = IPPROTO_TCP;
        r.state = static_cast<uint8_t>(st);
        r.fwd = static_cast<uint8_t>(cfg::Fwd::Masq);
        r.timeout_s = 900;
        r.inactive = st == ct::TcpState::Established ? 0 : 1;
        return r;
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
    /// SYN, the server's SYN-ACK, the client's ACK (two client packets: ESTABLISHED). Returns
    /// the SYN as the director sent it to its real server.
    Frame handshake(uint16_t cport) {
        send(kExt, client_tcp(cport, 0x02));
        step();
        auto out = recv(kInt);
        EXPECT_EQ(out.size(), 1u);
        const Frame syn = out.empty() ? Frame{} : out[0];
        const V6 rs = addr_at(syn, kL3 + 24);
        send(kInt, server_tcp(rs, rs == kRs1 ? kRs1Mac : kRs2Mac, cport, 0x12));
        step();
        EXPECT_EQ(recv(kExt).size(), 1u);
        send(kExt, client_tcp(cport, 0x10));
        step();
        EXPECT_EQ(recv(kInt).size(), 1u);
        return syn;
    }

    /// An ICMPv6 error of `type`/`code` with its 4-byte `param` (MTU, pointer), quoting
    /// `quote` (the invoking packet from its IPv6 header on, cut to `quote_len` bytes).
    static std::vector<uint8_t> icmp6_error(uint8_t type, uint8_t code, uint32_t param,
                                            const std::vector<uint8_t>& quote) {
        std::vector<uint8_t> b(8 + quote.size(), 0);
        b[0] = type;
        b[1] = code;
        b[4] = static_cast<uint8_t>(param >> 24);
        b[5] = static_cast<uint8_t>(param >> 16);
        b[6] = static_cast<uint8_t>(param >> 8);
        b[7] = static_cast<uint8_t>(param);
        std::copy(quote.begin(), quote.end(), b.begin() + 8);
        return b;
    }
    /// The IPv6 packet of frame `f` (from its IPv6 header on).
    static std::vector<uint8_t> l3_of(const Frame& f) {
        return std::vector<uint8_t>(f.b.begin() + kL3, f.b.end());
    }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
};

// ---- Sync, master ------------------------------------------------------------------------------

TEST_F(Ipv6SyncTest, MasterQueuesAnIpv6RecordOnTheThirdClientPacketAndOnClosingStates) {
    add_service(cfg::Proto::Tcp);
    set_master(true);
    const Frame syn = handshake(40000);  // two client packets: not due yet
    const V6 rs = addr_at(syn, kL3 + 24);
    EXPECT_TRUE(queued6().empty());
    send(kExt, client_tcp(40000, 0x18, "a"));  // the third: sync_threshold
    step();
    EXPECT_EQ(recv(kInt).size(), 1u);
    auto q = queued6();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(V6(std::to_array(q[0].caddr)), kClient);
    EXPECT_EQ(V6(std::to_array(q[0].vaddr)), kVip);
    EXPECT_EQ(V6(std::to_array(q[0].raddr)), rs);
    EXPECT_EQ(q[0].cport, htons(40000));
    EXPECT_EQ(q[0].vport, htons(80));
    EXPECT_EQ(q[0].rport, htons(8080));
    EXPECT_EQ(q[0].proto, IPPROTO_TCP);
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::Established));
    EXPECT_EQ(q[0].inactive, 0);
    EXPECT_EQ(q[0].timeout_s, 900u);
    EXPECT_EQ(q[0].fwd, static_cast<uint8_t>(cfg::Fwd::Masq));
    EXPECT_EQ(queued4(), 0u);  // nothing on the IPv4 ring

    // As the kernel sends it: a version-1 IPv6 record (type 1, 72 bytes), NAT, ESTABLISHED.
    sync::MessageBuilder mb(7, 1472);
    ASSERT_TRUE(mb.add(ctl::to_wire6(q[0])));
    const auto msg = mb.finish();
    ASSERT_EQ(msg.size(), 8u + 72u);
    EXPECT_EQ(msg[8], 1);            // type: IPv6
    EXPECT_EQ(msg[9], IPPROTO_TCP);  // protocol
    EXPECT_EQ(msg[10] << 8 | msg[11], 72);
    EXPECT_EQ(msg[16] << 8 | msg[17], 1);  // state ESTABLISHED
    EXPECT_EQ(0, std::memcmp(msg.data() + 8 + 24, kClient.data(), 16));
    EXPECT_EQ(0, std::memcmp(msg.data() + 8 + 40, kVip.data(), 16));
    EXPECT_EQ(0, std::memcmp(msg.data() + 8 + 56, rs.data(), 16));

    // Packets 4..52 are not due; the 53rd is (3 + sync_period).
    for (int i = 4; i <= 52; ++i) {
        send(kExt, client_tcp(40000, 0x18, "b"));
        step();
        (void)recv(kInt);
    }
    EXPECT_TRUE(queued6().empty());
    send(kExt, client_tcp(40000, 0x18, "c"));
    step();
    (void)recv(kInt);
    EXPECT_EQ(queued6().size(), 1u);
    // The server's packets never count; a FIN from the client is sent at once (CLOSE_WAIT).
    send(kInt, server_tcp(rs, rs == kRs1 ? kRs1Mac : kRs2Mac, 40000, 0x18, "data"));
    step();
    EXPECT_EQ(recv(kExt).size(), 1u);
    EXPECT_TRUE(queued6().empty());
    send(kExt, client_tcp(40000, 0x11));
    step();
    (void)recv(kInt);
    q = queued6();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::CloseWait));
    EXPECT_EQ(q[0].inactive, 1);
    EXPECT_EQ(dp_->worker(0).stats().sync_lost.load(), 0u);
    EXPECT_EQ(dp_->worker(0).stats().sync_queued.load(), 3u);

    // Without a master daemon nothing is queued.
    set_master(false);
    handshake(40001);
    send(kExt, client_tcp(40001, 0x18, "a"));
    step();
    (void)recv(kInt);
    EXPECT_TRUE(queued6().empty());
}

TEST_F(Ipv6SyncTest, MasterSendsUdpOnItsThirdDatagram) {
    add_service(cfg::Proto::Udp);
    set_master(true);
    for (int i = 0; i < 3; ++i) {
        send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                             udp_dgram(5353, 80, "q")));
        step();
        EXPECT_EQ(recv(kInt).size(), 1u);
        EXPECT_EQ(queued6().size(), i == 2 ? 1u : 0u);
    }
}

// ---- Sync, backup ------------------------------------------------------------------------------

TEST_F(Ipv6SyncTest, BackupInstallsForwardsAndCountsSyncedIpv6Connections) {
    add_service(cfg::Proto::Tcp);
    // rr would send the next new flow to rs2; the synced one names rs1.
    install(record(43000, kRs1, ct::TcpState::Established));
    install(record(43001, kRs2, ct::TcpState::SynRecv));
    install(record(43002, v6("2001:db8:2::99"), ct::TcpState::Established));  // no such server
    dp::SyncRecord6 other = record(43003, kRs1, ct::TcpState::Established);
    other.vport = htons(443);  // no such service
    install(other);
    step();
    const dp::WorkerStats& st = dp_->worker(0).stats();
    EXPECT_EQ(st.sync_installed.load(), 2u);
    EXPECT_EQ(st.sync_no_service.load(), 2u);
    EXPECT_EQ(dp_->worker(0).table6()->size(), 2u);
    // IPVS counts a synced connection by its activity flag.
    Reply r = list();
    ASSERT_EQ(r.services.size(), 1u);
    for (const ctl::DestInfo& d : r.services[0].dests) {
        const bool first = d.server.addr6 == ip6_of(kRs1);
        EXPECT_EQ(d.active, first ? 1u : 0u);
        EXPECT_EQ(d.inactive, first ? 0u : 1u);
    }
    // -Lnc shows them.
    const auto listed = conns();
    ASSERT_EQ(listed.size(), 2u);
    for (const ctl::ConnInfo& ci : listed) {
        EXPECT_EQ(ci.af, cfg::Family::Inet6);
        EXPECT_EQ(ci.caddr6, ip6_of(kClient));
        EXPECT_EQ(ci.vaddr6, ip6_of(kVip));
        if (ci.cport == 43000) {
            EXPECT_EQ(ci.state, "ESTABLISHED");
            EXPECT_EQ(ci.daddr6, ip6_of(kRs1));
            EXPECT_GT(ci.expires_ms, 890'000u);
        } else {
            EXPECT_EQ(ci.state, "SYN_RECV");
            EXPECT_EQ(ci.daddr6, ip6_of(kRs2));
        }
    }

    // After a failover the next mid-flow segment (no SYN) finds its entry and goes to rs1; the
    // reply is translated back to the VIP.
    send(kExt, client_tcp(43000, 0x18, "after failover"));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), kRs1);
    EXPECT_EQ(port_at(out[0], kL4 + 2), 8080);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);
    send(kInt, server_tcp(kRs1, kRs1Mac, 43000, 0x18, "reply"));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(addr_at(out[0], kL3 + 8), kVip);
    EXPECT_EQ(port_at(out[0], kL4), 80);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), kClient);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);
    EXPECT_EQ(drops(dp::Drop::NoConn), 0u);
    r = list();
    for (const ctl::DestInfo& d : r.services[0].dests) {
        if (d.server.addr6 == ip6_of(kRs1)) {
            EXPECT_EQ(d.stats.inpkts, 1u);
            EXPECT_EQ(d.stats.outpkts, 1u);
            EXPECT_EQ(d.active, 1u);
        }
    }

    // An update moves the counts as a state change does; the entry is not duplicated.
    install(record(43000, kRs1, ct::TcpState::FinWait));
    step();
    EXPECT_EQ(st.sync_updated.load(), 1u);
    r = list();
    for (const ctl::DestInfo& d : r.services[0].dests) {
        EXPECT_EQ(d.active, 0u);
        EXPECT_EQ(d.inactive, 1u);
    }
    EXPECT_EQ(conns().size(), 2u);
}

TEST_F(Ipv6SyncTest, ReceivedWireRecordsBecomeInstalledConnections) {
    add_service(cfg::Proto::Tcp);
    // A kernel master's IPv6 record, through the decoder and the backup's conversion.
    dp::SyncRecord6 sent = record(44000, kRs2, ct::TcpState::Established);
    sync::MessageBuilder mb(0, 1472);
    ASSERT_TRUE(mb.add(ctl::to_wire6(sent)));
    sync::ConnRecord tmpl = ctl::to_wire6(sent);
    tmpl.flags |= sync::kFlagTemplate;  // a template for a service that is not persistent here
    tmpl.cport = 0;
    ASSERT_TRUE(mb.add(tmpl));
    const auto msg = mb.finish();
    std::vector<sync::ConnRecord> got;
    ASSERT_EQ(sync::decode(msg, 0, [&](const sync::ConnRecord& c) { got.push_back(c); }),
              sync::DecodeError::None);
    ASSERT_EQ(got.size(), 2u);
    dp::SyncRecord6 t6;
    ASSERT_TRUE(ctl::from_wire6(got[1], t6));
    EXPECT_EQ(t6.kind, dp::SyncKind::Template);
    dp::SyncRecord6 r6;
    ASSERT_TRUE(ctl::from_wire6(got[0], r6));
    EXPECT_EQ(0, std::memcmp(&r6, &sent, sizeof(r6)));
    install(r6);
    install(t6);
    step();
    EXPECT_EQ(dp_->worker(0).stats().sync_installed.load(), 1u);
    EXPECT_EQ(dp_->worker(0).stats().sync_templates.load(), 0u);
    EXPECT_EQ(dp_->worker(0).stats().sync_no_service.load(), 1u);  // -p is not set here
    send(kExt, client_tcp(44000, 0x10, "x"));
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), kRs2);
}

// ---- Sync of IPv6 persistence templates, SCTP, IPv4 tunnel servers; one-packet scheduling ------

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
    l4[7] = 0x78;
    l4[12] = chunk;
    l4[15] = 8;  // chunk length
    Frame f = ip6_frame(to, from, src, dst, 64, IPPROTO_SCTP, l4);
    // ip6_frame wrote a 16-bit sum over the tag: put the tag back, then the CRC.
    std::copy(l4.begin(), l4.begin() + 12, f.b.begin() + kL4);
    const uint32_t crc = dp::sctp_crc32c_sw(f.b.data() + kL4, static_cast<uint32_t>(l4.size()));
    for (int i = 0; i < 4; ++i) {
        f.b[kL4 + 8 + i] = static_cast<uint8_t>(crc >> (8 * i));  // little-endian, as Linux
    }
    return f;
}

/// The records `recs` through a real message: to_wire6, MessageBuilder, decode, from_wire6, as a
/// backup's control thread receives a master's.
std::vector<dp::SyncRecord6> over_the_wire(const std::vector<dp::SyncRecord6>& recs) {
    sync::MessageBuilder mb(7, 1472);
    for (const dp::SyncRecord6& r : recs) {
        EXPECT_TRUE(mb.add(ctl::to_wire6(r)));
    }
    std::vector<dp::SyncRecord6> out;
    EXPECT_EQ(sync::decode(mb.finish(), 7,
                           [&](const sync::ConnRecord& c) {
                               dp::SyncRecord6 r;
                               EXPECT_TRUE(ctl::from_wire6(c, r));
                               out.push_back(r);
                           }),
              sync::DecodeError::None);
    return out;
}

const V6 kClientNet = v6("2001:db8:1::");    ///< kClient's /64
const V6 kNeighbour = v6("2001:db8:1::77");  ///< another client of that /64
const V6 kOtherNet = v6("2001:db8:1:5::2");  ///< a client of another /64

TEST_F(Ipv6SyncTest, MasterSendsAPersistentConnectionsTemplateAfterIt) {
    add_service(cfg::Proto::Tcp, cfg::kSvcPersistent, 64);
    set_master(true);
    const Frame syn = handshake(41000);
    const V6 rs = addr_at(syn, kL3 + 24);
    send(kExt, client_tcp(41000, 0x18, "a"));
    step();
    (void)recv(kInt);
    const auto q = queued6();
    ASSERT_EQ(q.size(), 2u);
    EXPECT_EQ(q[0].kind, dp::SyncKind::Conn);
    EXPECT_EQ(V6(std::to_array(q[0].caddr)), kClient);
    // The template, as ip_vs_sched_persist makes it: the client's /64, port 0, the service's
    // port and the server's, state NONE, the persistence timeout, inactive.
    const dp::SyncRecord6& t = q[1];
    EXPECT_EQ(t.kind, dp::SyncKind::Template);
    EXPECT_EQ(V6(std::to_array(t.caddr)), kClientNet);
    EXPECT_EQ(V6(std::to_array(t.vaddr)), kVip);
    EXPECT_EQ(V6(std::to_array(t.raddr)), rs);
    EXPECT_EQ(t.cport, 0);
    EXPECT_EQ(t.vport, htons(80));
    EXPECT_EQ(t.rport, htons(8080));
    EXPECT_EQ(t.proto, IPPROTO_TCP);
    EXPECT_EQ(t.state, static_cast<uint8_t>(ct::TcpState::None));
    EXPECT_EQ(t.timeout_s, 300u);
    EXPECT_EQ(t.inactive, 1);
    // On the wire: a kernel IPv6 template record (type 1, TEMPLATE | INACTIVE, state 0).
    sync::MessageBuilder mb(7, 1472);
    ASSERT_TRUE(mb.add(ctl::to_wire6(t)));
    const auto msg = mb.finish();
    ASSERT_EQ(msg.size(), 8u + 72u);
    EXPECT_EQ(msg[8], 1);
    const uint32_t flags =
        static_cast<uint32_t>(msg[12]) << 24 | msg[13] << 16 | msg[14] << 8 | msg[15];
    EXPECT_EQ(flags, sync::kFlagTemplate | sync::kFlagInactive);
    EXPECT_EQ(msg[16] << 8 | msg[17], 0);
    EXPECT_EQ(msg[18] << 8 | msg[19], 0);  // cport
    EXPECT_EQ(0, std::memcmp(msg.data() + 8 + 24, kClientNet.data(), 16));
    EXPECT_EQ(dp_->worker(0).stats().sync_queued.load(), 2u);
}

TEST_F(Ipv6SyncTest, BackupTemplateKeepsAPersistentClientOnItsServerAfterFailover) {
    add_service(cfg::Proto::Tcp, cfg::kSvcPersistent, 64);
    // The master's connection to rs2 and its template, as received. rr on this director would
    // start with rs1: the template must win for every new connection of the /64.
    dp::SyncRecord6 conn = record(42000, kRs2, ct::TcpState::Established);
    dp::SyncRecord6 t = conn;
    t.kind = dp::SyncKind::Template;
    std::memcpy(t.caddr, kClientNet.data(), 16);
    t.cport = 0;
    t.state = static_cast<uint8_t>(ct::TcpState::None);
    t.timeout_s = 300;
    t.inactive = 1;
    for (const dp::SyncRecord6& r : over_the_wire({conn, t})) {
        install(r);
    }
    step();
    const dp::WorkerStats& st = dp_->worker(0).stats();
    EXPECT_EQ(st.sync_installed.load(), 1u);
    EXPECT_EQ(st.sync_templates.load(), 1u);
    EXPECT_EQ(st.sync_no_service.load(), 0u);
    // PersistConn counts it; -Lnc lists it as IPVS lists a template.
    Reply r = list();
    for (const ctl::DestInfo& d : r.services.at(0).dests) {
        EXPECT_EQ(d.persistent, d.server.addr6 == ip6_of(kRs2) ? 1u : 0u);
    }
    int templates = 0;
    for (const ctl::ConnInfo& c : conns()) {
        if (c.state == "NONE") {
            ++templates;
            EXPECT_EQ(c.caddr6, ip6_of(kClientNet));
            EXPECT_EQ(c.cport, 0);
            EXPECT_EQ(c.daddr6, ip6_of(kRs2));
            EXPECT_GT(c.expires_ms, 290'000u);
        }
    }
    EXPECT_EQ(templates, 1);

    // New connections after the takeover: the held client's, and its /64 neighbour's, all go
    // to rs2 (rr alone would alternate); another /64 is scheduled anew.
    send(kExt, client_tcp(42001, 0x02));
    send(kExt, client_tcp(42002, 0x02));
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kNeighbour, kVip, 64, IPPROTO_TCP,
                         tcp_seg(42003, 80, 0x02)));
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kOtherNet, kVip, 64, IPPROTO_TCP,
                         tcp_seg(42004, 80, 0x02)));
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), kRs2);
    EXPECT_EQ(addr_at(out[1], kL3 + 24), kRs2);
    EXPECT_EQ(addr_at(out[2], kL3 + 24), kRs2);
    const V6 other_rs = addr_at(out[3], kL3 + 24);
    for (const Frame& f : out) {
        EXPECT_EQ(port_at(f, kL4 + 2), 8080);
        EXPECT_EQ(l4_sum(f), 0xffff);
    }
    // The synced template was reused, not a second one made: one more, the other /64's.
    r = list();
    for (const ctl::DestInfo& d : r.services.at(0).dests) {
        const bool is_rs2 = d.server.addr6 == ip6_of(kRs2);
        EXPECT_EQ(d.persistent, (is_rs2 ? 1u : 0u) + (d.server.addr6 == ip6_of(other_rs)));
    }
    // A second record for the template rebinds it (the master re-chose): rs1 from now on.
    t.raddr[15] = 0x11;
    install(t);
    step();
    EXPECT_EQ(st.sync_templates.load(), 2u);
    send(kExt, client_tcp(42005, 0x02));
    step();
    const auto again = recv(kInt);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(addr_at(again[0], kL3 + 24), kRs1);
}

TEST_F(Ipv6SyncTest, BackupInstallsAnIpv6FwmarkTemplateAgainstTheIpv6FwmarkService) {
    // -f 1 (IPv4, no servers) and -f 1 -6 -p 300 -M 64 behind an IPv6 mark rule for port 80:
    // IPVS keys fwmark services by family, so the IPv6 template must find the second.
    ctl::Request b;
    b.op = ctl::Op::Batch;
    cfg::ServiceKey key4;
    key4.fwmark = 1;
    ctl::Request a4;
    a4.op = ctl::Op::AddService;
    a4.service.key = key4;
    a4.service.scheduler = "rr";
    a4.service.flags = cfg::kSvcPersistent;
    a4.service.timeout = 300;
    a4.service.netmask = 0xffffffffu;
    b.batch.push_back(a4);
    cfg::ServiceKey key;
    key.fwmark = 1;
    key.af = cfg::Family::Inet6;
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
    const Reply added = ctl_->handle(b);
    ASSERT_EQ(added.code, Errc::Ok) << added.message;

    // A kernel master's fwmark template: protocol 0, the mark as the virtual address, ports 0.
    dp::SyncRecord6 t;
    std::memcpy(t.caddr, kClientNet.data(), 16);
    t.vaddr[3] = 1;
    std::memcpy(t.raddr, kRs2.data(), 16);
    t.kind = dp::SyncKind::Template;
    t.timeout_s = 300;
    t.inactive = 1;
    const auto recs = over_the_wire({t});
    ASSERT_EQ(recs.size(), 1u);
    install(recs[0]);
    // A connection of the fwmark service, found through the backup's IPv6 mark rules.
    dp::SyncRecord6 conn = record(42100, kRs2, ct::TcpState::Established);
    conn.rport = htons(443);
    conn.vport = htons(443);
    install(conn);
    step();
    const dp::WorkerStats& st = dp_->worker(0).stats();
    EXPECT_EQ(st.sync_templates.load(), 1u);
    EXPECT_EQ(st.sync_installed.load(), 1u);
    EXPECT_EQ(st.sync_no_service.load(), 0u);
    // The client's next connections, to both marked ports, land on rs2 with their own ports.
    send(kExt, client_tcp(42101, 0x02));
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kNeighbour, kVip, 64, IPPROTO_TCP,
                         tcp_seg(42102, 443, 0x02)));
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), kRs2);
    EXPECT_EQ(port_at(out[0], kL4 + 2), 80);
    EXPECT_EQ(addr_at(out[1], kL3 + 24), kRs2);
    EXPECT_EQ(port_at(out[1], kL4 + 2), 443);
    // The synced connection forwards mid-flow.
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_TCP,
                         tcp_seg(42100, 443, 0x10, "x")));
    step();
    const auto mid = recv(kInt);
    ASSERT_EQ(mid.size(), 1u);
    EXPECT_EQ(addr_at(mid[0], kL3 + 24), kRs2);
}

TEST_F(Ipv6SyncTest, SctpAssociationsAreSyncedWithIpvsStatesAndInstalled) {
    add_service(cfg::Proto::Sctp);
    set_master(true);
    auto from_client = [this](uint16_t sport, uint8_t chunk) {
        return sctp_frame(mac_[kExt], kClientMac, kClient, kVip, sport, 80, chunk);
    };
    send(kExt, from_client(43500, ct::kSctpInit));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const V6 rs = addr_at(out[0], kL3 + 24);
    const Mac rs_mac = rs == kRs1 ? kRs1Mac : kRs2Mac;
    send(kInt, sctp_frame(mac_[kInt], rs_mac, rs, kClient, 8080, 43500, ct::kSctpInitAck));
    step();
    ASSERT_EQ(recv(kExt).size(), 1u);
    send(kExt, from_client(43500, ct::kSctpCookieEcho));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    send(kInt, sctp_frame(mac_[kInt], rs_mac, rs, kClient, 8080, 43500, ct::kSctpCookieAck));
    step();
    ASSERT_EQ(recv(kExt).size(), 1u);
    EXPECT_TRUE(queued6().empty());     // two client packets, and not ESTABLISHED before
    send(kExt, from_client(43500, 0));  // DATA: the third client packet, ESTABLISHED
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    auto q = queued6();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].proto, IPPROTO_SCTP);
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::SctpEstablished));
    EXPECT_EQ(q[0].inactive, 0);
    EXPECT_EQ(ctl::to_wire6(q[0]).state, 8);  // IP_VS_SCTP_S_ESTABLISHED
    // A SHUTDOWN from the client is sent at once (IPVS's table: SHUTDOWN_RECEIVED, its 10).
    send(kExt, from_client(43500, ct::kSctpShutdown));
    step();
    ASSERT_EQ(recv(kInt).size(), 1u);
    q = queued6();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::SctpShutdownReceived));
    EXPECT_EQ(ctl::to_wire6(q[0]).state, 10);

    // A backup installs an ESTABLISHED association received from a master, and forwards its
    // DATA (no INIT) to its server, CRC32c intact after the port rewrite.
    set_master(false);
    dp::SyncRecord6 a = record(43600, kRs2, ct::TcpState::SctpEstablished);
    a.proto = IPPROTO_SCTP;
    const auto recs = over_the_wire({a});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(0, std::memcmp(&recs[0], &a, sizeof(a)));
    install(recs[0]);
    step();
    EXPECT_EQ(dp_->worker(0).stats().sync_installed.load(), 1u);
    send(kExt, from_client(43600, 0));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(addr_at(out[0], kL3 + 24), kRs2);
    EXPECT_EQ(port_at(out[0], kL4 + 2), 8080);
    bool listed = false;
    for (const ctl::ConnInfo& c : conns()) {
        if (c.cport == 43600) {
            listed = true;
            EXPECT_EQ(c.proto, IPPROTO_SCTP);
            EXPECT_EQ(c.state, "ESTABLISHED");
        }
    }
    EXPECT_TRUE(listed);
}

TEST_F(Ipv6SyncTest, AnIpv4TunnelServersConnectionIsSyncedInTheKernelsLayoutAndBound) {
    // ipvsadm -A -6 -t [VIP]:80; -a -r 172.16.0.41:80 -i: an IPv4 tunnel server.
    cfg::ServiceKey key;
    key.proto = cfg::Proto::Tcp;
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
    b.batch.push_back(d);
    const Reply added = ctl_->handle(b);
    ASSERT_EQ(added.code, Errc::Ok) << added.message;
    set_master(true);
    // Master: SYN, ACK, data (input-only states: ESTABLISHED on the ACK); the third is due.
    // This director has no IPv4 route to the server: the packets are dropped after the record
    // is queued, which is all this test needs of them.
    send(kExt, client_tcp(44500, 0x02));
    send(kExt, client_tcp(44500, 0x10));
    send(kExt, client_tcp(44500, 0x18, "a"));
    step();
    (void)recv(kInt);
    const auto q = queued6();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].dest4, 1);
    EXPECT_EQ(q[0].fwd, static_cast<uint8_t>(cfg::Fwd::Tunnel));
    EXPECT_EQ(q[0].state, static_cast<uint8_t>(ct::TcpState::Established));
    const sync::ConnRecord w = ctl::to_wire6(q[0]);
    const std::array<uint8_t, 16> kernel_form = {172, 16, 0, 41};
    EXPECT_EQ(w.daddr, kernel_form);
    EXPECT_EQ(w.dport, htons(80));

    // Backup (this director again, for another client port): the received record, which
    // cannot say its server is IPv4, binds to the IPv4 server and is listed as such.
    set_master(false);
    dp::SyncRecord6 moved = q[0];
    moved.cport = htons(44510);
    const auto recs = over_the_wire({moved});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].dest4, 0);
    install(recs[0]);
    // A record naming 172.16.0.42, which is no server here, binds nothing.
    dp::SyncRecord6 other = recs[0];
    other.cport = htons(44511);
    other.raddr[3] = 42;
    install(other);
    step();
    const dp::WorkerStats& st = dp_->worker(0).stats();
    EXPECT_EQ(st.sync_installed.load(), 1u);
    EXPECT_EQ(st.sync_no_service.load(), 1u);
    bool listed = false;
    for (const ctl::ConnInfo& c : conns()) {
        if (c.cport == 44510) {
            listed = true;
            EXPECT_EQ(c.af, cfg::Family::Inet6);
            EXPECT_EQ(c.daddr, ntohl(ip("172.16.0.41")));
            EXPECT_EQ(c.dport, 80);
            EXPECT_EQ(c.state, "ESTABLISHED");
        }
    }
    EXPECT_TRUE(listed);
    EXPECT_EQ(list().services.at(0).dests.at(0).active, 2u);
    // Its next packet finds the entry (no SYN needed): on toward the server, not NoConn.
    const uint64_t no_conn = drops(dp::Drop::NoConn);
    const uint64_t inpkts = list().services.at(0).stats.inpkts;
    send(kExt, client_tcp(44510, 0x10, "after"));
    step();
    (void)recv(kInt);
    EXPECT_EQ(drops(dp::Drop::NoConn), no_conn);
    EXPECT_EQ(list().services.at(0).stats.inpkts, inpkts + 1);
}

// -o on an IPv6 UDP service: every datagram is scheduled anew, no entry is kept, none is synced.
TEST_F(Ipv6SyncTest, OnePacketSchedulingSchedulesEveryIpv6Datagram) {
    add_service(cfg::Proto::Udp, cfg::kSvcOnePacket);
    set_master(true);
    for (int i = 0; i < 4; ++i) {
        send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                             udp_dgram(5300, 80, "log line")));
    }
    step();
    const auto out = recv(kInt);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_NE(addr_at(out[0], kL3 + 24), addr_at(out[1], kL3 + 24)) << "one port, two servers";
    EXPECT_EQ(addr_at(out[0], kL3 + 24), addr_at(out[2], kL3 + 24));
    EXPECT_EQ(addr_at(out[1], kL3 + 24), addr_at(out[3], kL3 + 24));
    for (const Frame& f : out) {
        EXPECT_EQ(port_at(f, kL4 + 2), 8080);
        EXPECT_EQ(l4_sum(f), 0xffff);
    }
    EXPECT_EQ(dp_->worker(0).table6()->size(), 0u);
    EXPECT_TRUE(conns().empty());
    EXPECT_TRUE(queued6().empty());  // IPVS never syncs a ONE_PACKET connection
    const Reply r = list();
    EXPECT_EQ(r.services.at(0).stats.conns, 4u);
    EXPECT_EQ(r.services.at(0).stats.inpkts, 4u);
    for (const ctl::DestInfo& d : r.services.at(0).dests) {
        EXPECT_EQ(d.active + d.inactive, 0u);
        EXPECT_EQ(d.stats.conns, 2u);
    }
    // Without -o the same datagrams make one connection, all to one server.
    ctl::Request e;
    e.op = ctl::Op::EditService;
    e.service = r.services.at(0).service;
    e.service.flags = 0;
    const Reply edited = ctl_->handle(e);
    ASSERT_EQ(edited.code, Errc::Ok) << edited.message;
    for (int i = 0; i < 2; ++i) {
        send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                             udp_dgram(5300, 80, "log line")));
    }
    step();
    const auto kept = recv(kInt);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(addr_at(kept[0], kL3 + 24), addr_at(kept[1], kL3 + 24));
    EXPECT_EQ(dp_->worker(0).table6()->size(), 1u);
}

// ---- ICMPv6 errors -----------------------------------------------------------------------------

TEST_F(Ipv6SyncTest, PacketTooBigFromTheServerSideReachesTheClientAboutTheVip) {
    add_service(cfg::Proto::Tcp);
    const Frame syn = handshake(45000);
    const V6 rs = addr_at(syn, kL3 + 24);
    // A router between the director and the server cannot pass the client's packet (as the
    // director sent it: client -> rs:8080) and tells its source, the client.
    const std::vector<uint8_t> quoted = l3_of(syn);
    const ctl::ServiceInfo before = list().services.at(0);
    send(kInt, ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 64, IPPROTO_ICMPV6,
                         icmp6_error(2, 0, 1280, quoted)));
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(recv(kInt).empty());
    // Expected: from the VIP (the client never heard of the router's packet's real server),
    // quoting client -> [VIP]:80; the quoted TCP checksum as it was (the kernel's
    // ip_vs_nat_icmp_v6 leaves it); the ICMPv6 checksum over the new pseudo-header.
    std::vector<uint8_t> q = quoted;
    std::memcpy(q.data() + 24, kVip.data(), 16);
    q[40 + 2] = 0;
    q[40 + 3] = 80;
    const Frame want = ip6_frame(kClientMac, mac_[kExt], kVip, kClient, 63, IPPROTO_ICMPV6,
                                 icmp6_error(2, 0, 1280, q));
    EXPECT_EQ(out[0].b, want.b);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);
    EXPECT_EQ(port_at(out[0], kL4 + 8 + 40 + 16), port_at(syn, kL4 + 16)) << "inner checksum";
    EXPECT_EQ(addr_at(out[0], kL4 + 8 + 8), kClient);
    EXPECT_EQ(port_at(out[0], kL4 + 8 + 40), 45000);
    // Counted as IPVS's ip_vs_out_stats counts it: one outgoing packet of the connection.
    const ctl::ServiceInfo after = list().services.at(0);
    EXPECT_EQ(after.stats.outpkts, before.stats.outpkts + 1);
    EXPECT_EQ(after.stats.outbytes, before.stats.outbytes + out[0].b.size() - kL3);
    EXPECT_EQ(after.stats.inpkts, before.stats.inpkts);
    for (const ctl::DestInfo& d : after.dests) {
        for (const ctl::DestInfo& b : before.dests) {
            if (b.server.addr6 == d.server.addr6) {
                EXPECT_EQ(d.stats.outpkts, b.stats.outpkts + (d.server.addr6 == ip6_of(rs)));
            }
        }
    }
}

TEST_F(Ipv6SyncTest, UnreachableFromTheServerAboutUdpComesFromTheVip) {
    add_service(cfg::Proto::Udp);
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_UDP,
                         udp_dgram(5000, 80, "query")));
    step();
    auto out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    const V6 rs = addr_at(out[0], kL3 + 24);
    // The server has no listener: port unreachable (1/4) from the server itself.
    const std::vector<uint8_t> quoted = l3_of(out[0]);
    send(kInt, ip6_frame(mac_[kInt], rs == kRs1 ? kRs1Mac : kRs2Mac, rs, kClient, 64,
                         IPPROTO_ICMPV6, icmp6_error(1, 4, 0, quoted)));
    step();
    out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    std::vector<uint8_t> q = quoted;
    std::memcpy(q.data() + 24, kVip.data(), 16);
    q[40 + 2] = 0;
    q[40 + 3] = 80;
    const Frame want = ip6_frame(kClientMac, mac_[kExt], kVip, kClient, 63, IPPROTO_ICMPV6,
                                 icmp6_error(1, 4, 0, q));
    EXPECT_EQ(out[0].b, want.b);
}

TEST_F(Ipv6SyncTest, ErrorFromTheClientSideAboutAReplyGoesToTheRealServer) {
    add_service(cfg::Proto::Tcp);
    const Frame syn = handshake(46000);
    const V6 rs = addr_at(syn, kL3 + 24);
    const Mac rs_mac = rs == kRs1 ? kRs1Mac : kRs2Mac;
    // The server's data reaches the client from [VIP]:80...
    send(kInt, server_tcp(rs, rs_mac, 46000, 0x18, "some data"));
    step();
    auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    // ... whose side answers with a time exceeded (3/0) about it, to the VIP.
    const std::vector<uint8_t> quoted = l3_of(out[0]);
    const uint64_t inpkts = list().services.at(0).stats.inpkts;
    send(kExt, ip6_frame(mac_[kExt], kClientMac, kClient, kVip, 64, IPPROTO_ICMPV6,
                         icmp6_error(3, 0, 0, quoted)));
    step();
    out = recv(kInt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(recv(kExt).empty());
    // To the real server, quoting rs:8080 -> client: the VIP becomes the server outside (the
    // destination) and inside (the quoted source).
    std::vector<uint8_t> q = quoted;
    std::memcpy(q.data() + 8, rs.data(), 16);
    q[40] = 8080 >> 8;
    q[41] = 8080 & 0xff;
    const Frame want =
        ip6_frame(rs_mac, mac_[kInt], kClient, rs, 63, IPPROTO_ICMPV6, icmp6_error(3, 0, 0, q));
    EXPECT_EQ(out[0].b, want.b);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);
    EXPECT_EQ(list().services.at(0).stats.inpkts, inpkts + 1);  // ip_vs_in_stats
}

TEST_F(Ipv6SyncTest, MalformedAndTruncatedErrorsAreCountedDropsWithoutLeaks) {
    add_service(cfg::Proto::Tcp);
    const Frame syn = handshake(47000);
    const std::vector<uint8_t> quoted = l3_of(syn);
    const uint64_t before = drops(dp::Drop::BadIcmp6);
    // 1. A quote too short to hold the IPv6 header and the ports.
    const std::vector<uint8_t> cut(quoted.begin(), quoted.begin() + 44);
    send(kInt, ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 64, IPPROTO_ICMPV6,
                         icmp6_error(2, 0, 1280, cut)));
    // 2. A quote that is not IPv6 (version 4).
    std::vector<uint8_t> v4 = quoted;
    v4[0] = 0x45;
    send(kInt, ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 64, IPPROTO_ICMPV6,
                         icmp6_error(2, 0, 1280, v4)));
    // 3. About our connection, but with a wrong ICMPv6 checksum: translating would launder it.
    Frame bad = ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 64, IPPROTO_ICMPV6,
                          icmp6_error(2, 0, 1280, quoted));
    bad.b[kL4 + 2] ^= 0x5a;
    send(kInt, bad);
    // 4. The bare 4-byte ICMPv6 header of a packet too big: nothing quoted at all.
    send(kInt, ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 64, IPPROTO_ICMPV6,
                         std::vector<uint8_t>{2, 0, 0, 0}));
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_TRUE(recv(kInt).empty());
    EXPECT_EQ(drops(dp::Drop::BadIcmp6), before + 4);
    // 5. Hop limit 1: dropped, never an error about an error.
    const uint64_t ttl = drops(dp::Drop::TtlExceeded);
    send(kInt, ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 1, IPPROTO_ICMPV6,
                         icmp6_error(2, 0, 1280, quoted)));
    step();
    EXPECT_TRUE(recv(kExt).empty());
    EXPECT_EQ(drops(dp::Drop::TtlExceeded), ttl + 1);
    // TearDown checks that no mbuf leaked.
}

TEST_F(Ipv6SyncTest, ErrorAboutNoConnectionOfOursIsRoutedUntouched) {
    add_service(cfg::Proto::Tcp);
    handshake(48000);
    // About another client port: no connection, so transit as any router forwards it.
    const Frame other =
        ip6_frame(mac_[kInt], kRs1Mac, kClient, kRs1, 64, IPPROTO_TCP, tcp_seg(48999, 8080, 0x10));
    Frame err = ip6_frame(mac_[kInt], kRs1Mac, kRouter, kClient, 64, IPPROTO_ICMPV6,
                          icmp6_error(2, 0, 1280, l3_of(other)));
    send(kInt, err);
    step();
    const auto out = recv(kExt);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(addr_at(out[0], kL3 + 8), kRouter);
    EXPECT_EQ(addr_at(out[0], kL4 + 8 + 24), kRs1);
    EXPECT_EQ(out[0].b[kL3 + 7], 63);
    EXPECT_EQ(l4_sum(out[0]), 0xffff);
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("ipv6_sync_test", "0", "256"));
    return RUN_ALL_TESTS();
}
