// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Sample messages and comparisons shared by the protocol and client tests.

#include <netinet/in.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "proto/protocol.hpp"

namespace dirigo::ctl::test {

inline std::vector<uint8_t> payload_of(const std::vector<uint8_t>& frame) {
    return {frame.begin() + kHeaderSize, frame.end()};
}

inline void put_le(std::vector<uint8_t>& out, uint64_t v, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) {
        out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
}

inline cfg::Service sample_service() {
    cfg::Service s;
    s.key = {cfg::Proto::Udp, 0x0a000001, 53};
    s.scheduler = "sh";
    s.flags = cfg::kSvcPersistent | cfg::kSvcSched1 | cfg::kSvcSched2;
    s.timeout = 600;
    s.netmask = 0xffffff00;
    return s;
}

inline cfg::RealServer sample_dest() {
    cfg::RealServer d;
    d.addr = 0xac100b0b;
    d.port = 8053;
    d.fwd = cfg::Fwd::Tunnel;
    d.weight = -5;  // the codec carries any int32; ranges are the daemon's business
    d.u_threshold = 1000;
    d.l_threshold = 10;
    d.tun_type = cfg::TunType::Gue;
    d.tun_port = 6080;
    d.tun_csum = cfg::TunCsum::RemCsum;
    return d;
}

inline cfg::MarkRule sample_mark() {
    cfg::MarkRule m;
    m.dst = {0x0a000064, 32};
    m.proto = 6;
    m.ports = {{80, 80}, {443, 443}, {8000, 8100}};
    m.mark = 0xfffffffe;
    return m;
}

inline DaemonCfg sample_daemon() {
    DaemonCfg d;
    d.role = SyncRole::Backup;
    d.mcast_ifn = "eth1";
    d.syncid = 255;
    d.sync_maxlen = 65507;
    d.mcast_group = 0xe0000051;  // 224.0.0.81
    d.mcast_port = 8848;
    d.mcast_ttl = 255;
    return d;
}

inline void expect_same(const DaemonCfg& a, const DaemonCfg& b) {
    EXPECT_EQ(a.role, b.role);
    EXPECT_EQ(a.mcast_ifn, b.mcast_ifn);
    EXPECT_EQ(a.syncid, b.syncid);
    EXPECT_EQ(a.sync_maxlen, b.sync_maxlen);
    EXPECT_EQ(a.mcast_group, b.mcast_group);
    EXPECT_EQ(a.mcast_port, b.mcast_port);
    EXPECT_EQ(a.mcast_ttl, b.mcast_ttl);
}

inline void expect_same(const Request& a, const Request& b) {
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.has_key, b.has_key);
    EXPECT_EQ(a.service, b.service);
    EXPECT_EQ(a.dest, b.dest);
    EXPECT_EQ(a.timeouts.tcp, b.timeouts.tcp);
    EXPECT_EQ(a.timeouts.tcp_fin, b.timeouts.tcp_fin);
    EXPECT_EQ(a.timeouts.udp, b.timeouts.udp);
    expect_same(a.daemon, b.daemon);
    EXPECT_EQ(a.mark, b.mark);
    ASSERT_EQ(a.batch.size(), b.batch.size());
    for (size_t i = 0; i < a.batch.size(); ++i) {
        expect_same(a.batch[i], b.batch[i]);
    }
}

inline Request round_trip(const Request& r) {
    const std::vector<uint8_t> frame = encode_request(r);
    auto h = decode_header(frame);
    EXPECT_TRUE(h.is_ok()) << h.status().message();
    EXPECT_EQ(h->type, MsgType::Request);
    EXPECT_EQ(h->length, frame.size() - kHeaderSize);
    auto d = decode_request(payload_of(frame));
    EXPECT_TRUE(d.is_ok()) << d.status().message();
    return d.is_ok() ? d.value() : Request{};
}

/// One request of every op, each with only the fields that op carries.
inline std::vector<Request> every_request() {
    // Every op of kOps with an empty body round-trips as two bytes.
    std::vector<Request> bare;
    for (const OpSpec& s : kOps) {
        if (s.body == Body::None) {
            Request r;
            r.op = s.op;
            bare.push_back(r);
        }
    }
    std::vector<Request> all;
    const auto add = [&](Op op) -> Request& {
        Request& r = all.emplace_back();
        r.op = op;
        return r;
    };
    add(Op::Ping);
    add(Op::AddService).service = sample_service();
    add(Op::EditService).service = sample_service();
    add(Op::DelService).service.key = {cfg::Proto::Tcp, 0x0a000002, 443};
    add(Op::Clear);
    for (Op op : {Op::AddDest, Op::EditDest, Op::DelDest}) {
        Request& r = add(op);
        r.service.key = {cfg::Proto::Tcp, 0x0a000001, 80};
        r.dest = sample_dest();
    }
    add(Op::Zero);
    {
        Request& r = add(Op::Zero);
        r.has_key = true;
        r.service.key = {cfg::Proto::Udp, 0xc0a80001, 5353};
    }
    {
        Request& r = add(Op::SetTimeouts);
        r.timeouts = {7200, 0, 60};
    }
    add(Op::GetTimeouts);
    add(Op::List);
    {
        Request& r = add(Op::List);
        r.has_key = true;
        r.service.key = {cfg::Proto::Tcp, 0xffffffff, 65535};
    }
    add(Op::ListConns);
    add(Op::ListPorts);
    add(Op::ListWorkers);
    add(Op::ListNeighbours);
    add(Op::ListRoutes);
    add(Op::StartDaemon).daemon = sample_daemon();
    {
        Request& r = add(Op::StartDaemon);  // every optional field left at 0
        r.daemon.role = SyncRole::Master;
        r.daemon.mcast_ifn = "eth0";
    }
    add(Op::StopDaemon).daemon.role = SyncRole::Backup;
    add(Op::AddMark).mark = sample_mark();
    add(Op::DelMark).mark = sample_mark();
    {
        Request& r = add(Op::AddMark);  // both protocols, every port, a whole /0
        r.mark.mark = 1;
    }
    {
        Request& r = add(Op::DelService);  // a firewall-mark service: the mark alone
        r.service.key.fwmark = 0xffffffff;
    }
    for (const Request& b : bare) {
        bool present = false;
        for (const Request& r : all) {
            present = present || r.op == b.op;
        }
        if (!present) {
            all.push_back(b);
        }
    }
    Request batch;
    batch.op = Op::Batch;
    for (const Request& r : all) {
        if (r.op != Op::Ping && r.op != Op::List && r.op != Op::ListConns &&
            r.op != Op::GetTimeouts && r.op != Op::ListPorts && r.op != Op::ListWorkers &&
            r.op != Op::ListNeighbours && r.op != Op::ListRoutes && r.op != Op::ListMarks) {
            batch.batch.push_back(r);
        }
    }
    all.push_back(batch);
    Request empty_batch;
    empty_batch.op = Op::Batch;
    all.push_back(empty_batch);
    return all;
}

/// Every view list filled, with extreme values where a field has a range.
inline void add_views(Reply& r) {
    PortView p;
    p.name = "ext";
    p.device = "net_af_packet0";
    p.port_id = 65535;
    p.mac = "02:00:00:00:00:01";
    p.link_up = true;
    p.speed_mbps = 100000;
    p.mtu = 9000;
    p.rx_queues = 2;
    p.tx_queues = 3;
    p.addresses = {{0x0a000001, 24}, {0x0a00000a, 32}, {0, 0}};
    p.rx_packets = 1;
    p.tx_packets = 2;
    p.rx_bytes = 3;
    p.tx_bytes = 4;
    p.rx_missed = 5;
    p.rx_errors = 6;
    p.tx_errors = ~0ull;
    r.ports = {p, PortView{}};
    r.drops = {{"no_route", 12}, {"bad_checksum", 0}, {"", ~0ull}};
    WorkerView w;
    w.id = 1;
    w.lcore = 127;
    w.rx_packets = 10;
    w.tx_packets = 11;
    w.drops = 12;
    w.loops = 13;
    w.busy_loops = 14;
    w.connections = 15;
    w.created = 16;
    w.handed_off = 17;
    w.taken_over = ~0ull;
    w.sleeps = 18;
    w.slept_us = 19;
    r.workers = {WorkerView{}, w};
    r.neighbours = {{0x0a0000fe, "52:54:00:12:34:56", "ext", NeighState::Resolved},
                    {0x0a000063, "", "int", NeighState::Incomplete},
                    {0x0a000064, "", "int", NeighState::Failed}};
    r.routes = {
        {{0, 0}, 0x0a0000fe, "ext"}, {{0x0a000000, 24}, 0, "ext"}, {{0xffffffff, 32}, 1, ""}};
    DaemonView master;
    master.cfg = {SyncRole::Master, "eth0", 7, 1472, 0xe0000051, 8848, 1};
    master.messages = 1;
    master.conns = 2;
    master.dropped = ~0ull;
    DaemonView backup;
    backup.cfg = sample_daemon();
    r.daemons = {master, backup, DaemonView{}};
    r.marks = {sample_mark(), cfg::MarkRule{}};
}

inline Reply rich_reply() {
    Reply r;
    r.code = Errc::Ok;
    r.message = "fine";
    r.info = {"0.1.0", 1u << 20, 2};
    r.timeouts = {900, 120, 300};
    ServiceInfo si;
    si.service = sample_service();
    si.stats = {1, 2, 3, 4, 5};
    si.rates = {6, 7, 8, 9, 10};
    DestInfo di;
    di.server = sample_dest();
    di.active = 11;
    di.inactive = 12;
    di.persistent = 13;
    di.stats = {~0ull, 1ull << 40, 3, 4, 5};
    di.rates = {1, 2, 3, 4, ~0ull};
    si.dests = {di, di};
    si.dests[1].server.port = 9;
    r.services = {si, ServiceInfo{}};
    ConnInfo c;
    c.proto = IPPROTO_UDP;
    c.state = "UDP";
    c.expires_ms = 299000;
    c.caddr = 0xc0a8010a;
    c.cport = 40000;
    c.vaddr = 0x0a000001;
    c.vport = 53;
    c.daddr = 0xac100b0b;
    c.dport = 8053;
    r.conns = {c, ConnInfo{}};
    add_views(r);
    return r;
}

inline void expect_same(const Stats& a, const Stats& b) {
    EXPECT_EQ(a.conns, b.conns);
    EXPECT_EQ(a.inpkts, b.inpkts);
    EXPECT_EQ(a.outpkts, b.outpkts);
    EXPECT_EQ(a.inbytes, b.inbytes);
    EXPECT_EQ(a.outbytes, b.outbytes);
}

inline void expect_same(const Rates& a, const Rates& b) {
    EXPECT_EQ(a.cps, b.cps);
    EXPECT_EQ(a.inpps, b.inpps);
    EXPECT_EQ(a.outpps, b.outpps);
    EXPECT_EQ(a.inbps, b.inbps);
    EXPECT_EQ(a.outbps, b.outbps);
}

inline void expect_same(const Reply& a, const Reply& b) {
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.message, b.message);
    EXPECT_EQ(a.info.version, b.info.version);
    EXPECT_EQ(a.info.conn_table_size, b.info.conn_table_size);
    EXPECT_EQ(a.info.workers, b.info.workers);
    EXPECT_EQ(a.timeouts.tcp, b.timeouts.tcp);
    EXPECT_EQ(a.timeouts.tcp_fin, b.timeouts.tcp_fin);
    EXPECT_EQ(a.timeouts.udp, b.timeouts.udp);
    ASSERT_EQ(a.services.size(), b.services.size());
    for (size_t i = 0; i < a.services.size(); ++i) {
        const ServiceInfo& x = a.services[i];
        const ServiceInfo& y = b.services[i];
        EXPECT_EQ(x.service, y.service);
        expect_same(x.stats, y.stats);
        expect_same(x.rates, y.rates);
        ASSERT_EQ(x.dests.size(), y.dests.size());
        for (size_t j = 0; j < x.dests.size(); ++j) {
            EXPECT_EQ(x.dests[j].server, y.dests[j].server);
            EXPECT_EQ(x.dests[j].active, y.dests[j].active);
            EXPECT_EQ(x.dests[j].inactive, y.dests[j].inactive);
            EXPECT_EQ(x.dests[j].persistent, y.dests[j].persistent);
            expect_same(x.dests[j].stats, y.dests[j].stats);
            expect_same(x.dests[j].rates, y.dests[j].rates);
        }
    }
    ASSERT_EQ(a.conns.size(), b.conns.size());
    for (size_t i = 0; i < a.conns.size(); ++i) {
        const ConnInfo& x = a.conns[i];
        const ConnInfo& y = b.conns[i];
        EXPECT_EQ(x.proto, y.proto);
        EXPECT_EQ(x.state, y.state);
        EXPECT_EQ(x.expires_ms, y.expires_ms);
        EXPECT_EQ(x.caddr, y.caddr);
        EXPECT_EQ(x.cport, y.cport);
        EXPECT_EQ(x.vaddr, y.vaddr);
        EXPECT_EQ(x.vport, y.vport);
        EXPECT_EQ(x.daddr, y.daddr);
        EXPECT_EQ(x.dport, y.dport);
    }
    ASSERT_EQ(a.ports.size(), b.ports.size());
    for (size_t i = 0; i < a.ports.size(); ++i) {
        const PortView& x = a.ports[i];
        const PortView& y = b.ports[i];
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.device, y.device);
        EXPECT_EQ(x.port_id, y.port_id);
        EXPECT_EQ(x.mac, y.mac);
        EXPECT_EQ(x.link_up, y.link_up);
        EXPECT_EQ(x.speed_mbps, y.speed_mbps);
        EXPECT_EQ(x.mtu, y.mtu);
        EXPECT_EQ(x.rx_queues, y.rx_queues);
        EXPECT_EQ(x.tx_queues, y.tx_queues);
        EXPECT_EQ(x.addresses, y.addresses);
        EXPECT_EQ(x.rx_packets, y.rx_packets);
        EXPECT_EQ(x.tx_packets, y.tx_packets);
        EXPECT_EQ(x.rx_bytes, y.rx_bytes);
        EXPECT_EQ(x.tx_bytes, y.tx_bytes);
        EXPECT_EQ(x.rx_missed, y.rx_missed);
        EXPECT_EQ(x.rx_errors, y.rx_errors);
        EXPECT_EQ(x.tx_errors, y.tx_errors);
    }
    ASSERT_EQ(a.drops.size(), b.drops.size());
    for (size_t i = 0; i < a.drops.size(); ++i) {
        EXPECT_EQ(a.drops[i].reason, b.drops[i].reason);
        EXPECT_EQ(a.drops[i].count, b.drops[i].count);
    }
    ASSERT_EQ(a.workers.size(), b.workers.size());
    for (size_t i = 0; i < a.workers.size(); ++i) {
        const WorkerView& x = a.workers[i];
        const WorkerView& y = b.workers[i];
        EXPECT_EQ(x.id, y.id);
        EXPECT_EQ(x.lcore, y.lcore);
        EXPECT_EQ(x.rx_packets, y.rx_packets);
        EXPECT_EQ(x.tx_packets, y.tx_packets);
        EXPECT_EQ(x.drops, y.drops);
        EXPECT_EQ(x.loops, y.loops);
        EXPECT_EQ(x.busy_loops, y.busy_loops);
        EXPECT_EQ(x.connections, y.connections);
        EXPECT_EQ(x.created, y.created);
        EXPECT_EQ(x.handed_off, y.handed_off);
        EXPECT_EQ(x.taken_over, y.taken_over);
        EXPECT_EQ(x.sleeps, y.sleeps);
        EXPECT_EQ(x.slept_us, y.slept_us);
    }
    ASSERT_EQ(a.neighbours.size(), b.neighbours.size());
    for (size_t i = 0; i < a.neighbours.size(); ++i) {
        EXPECT_EQ(a.neighbours[i].addr, b.neighbours[i].addr);
        EXPECT_EQ(a.neighbours[i].mac, b.neighbours[i].mac);
        EXPECT_EQ(a.neighbours[i].port, b.neighbours[i].port);
        EXPECT_EQ(a.neighbours[i].state, b.neighbours[i].state);
    }
    ASSERT_EQ(a.daemons.size(), b.daemons.size());
    for (size_t i = 0; i < a.daemons.size(); ++i) {
        expect_same(a.daemons[i].cfg, b.daemons[i].cfg);
        EXPECT_EQ(a.daemons[i].messages, b.daemons[i].messages);
        EXPECT_EQ(a.daemons[i].conns, b.daemons[i].conns);
        EXPECT_EQ(a.daemons[i].dropped, b.daemons[i].dropped);
    }
    EXPECT_EQ(a.marks, b.marks);
    ASSERT_EQ(a.routes.size(), b.routes.size());
    for (size_t i = 0; i < a.routes.size(); ++i) {
        EXPECT_EQ(a.routes[i].prefix, b.routes[i].prefix);
        EXPECT_EQ(a.routes[i].gateway, b.routes[i].gateway);
        EXPECT_EQ(a.routes[i].port, b.routes[i].port);
    }
}

}  // namespace dirigo::ctl::test
