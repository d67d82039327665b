// SPDX-License-Identifier: BSD-3-Clause
// The control wire protocol: round trips of every op and reply, and malformed input of every kind
// (truncation at every length, bad header fields, oversized lengths, strings and lists, random and
// mutated bytes), which must always give an error and never crash. Then call() against fake
// daemons on a real Unix socket: absent, silent, closing early, trickling bytes, lying.

#include "control/protocol.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace dirigo::ctl {
namespace {

// ---- helpers ----

std::vector<uint8_t> payload_of(const std::vector<uint8_t>& frame) {
    return {frame.begin() + kHeaderSize, frame.end()};
}

void put_le(std::vector<uint8_t>& out, uint64_t v, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) {
        out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
}

cfg::Service sample_service() {
    cfg::Service s;
    s.key = {cfg::Proto::Udp, 0x0a000001, 53};
    s.scheduler = "sh";
    s.flags = cfg::kSvcPersistent | cfg::kSvcSched1 | cfg::kSvcSched2;
    s.timeout = 600;
    s.netmask = 0xffffff00;
    return s;
}

cfg::RealServer sample_dest() {
    cfg::RealServer d;
    d.addr = 0xac100b0b;
    d.port = 8053;
    d.fwd = cfg::Fwd::Tunnel;
    d.weight = -5;  // the codec carries any int32; ranges are the daemon's business
    d.u_threshold = 1000;
    d.l_threshold = 10;
    return d;
}

void expect_same(const Request& a, const Request& b) {
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.has_key, b.has_key);
    EXPECT_EQ(a.service, b.service);
    EXPECT_EQ(a.dest, b.dest);
    EXPECT_EQ(a.timeouts.tcp, b.timeouts.tcp);
    EXPECT_EQ(a.timeouts.tcp_fin, b.timeouts.tcp_fin);
    EXPECT_EQ(a.timeouts.udp, b.timeouts.udp);
    ASSERT_EQ(a.batch.size(), b.batch.size());
    for (size_t i = 0; i < a.batch.size(); ++i) {
        expect_same(a.batch[i], b.batch[i]);
    }
}

Request round_trip(const Request& r) {
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
std::vector<Request> every_request() {
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
    Request batch;
    batch.op = Op::Batch;
    for (const Request& r : all) {
        if (r.op != Op::Ping && r.op != Op::List && r.op != Op::ListConns &&
            r.op != Op::GetTimeouts && r.op != Op::ListPorts && r.op != Op::ListWorkers &&
            r.op != Op::ListNeighbours && r.op != Op::ListRoutes) {
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
void add_views(Reply& r) {
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
    r.workers = {WorkerView{}, w};
    r.neighbours = {{0x0a0000fe, "52:54:00:12:34:56", "ext", NeighState::Resolved},
                    {0x0a000063, "", "int", NeighState::Incomplete},
                    {0x0a000064, "", "int", NeighState::Failed}};
    r.routes = {
        {{0, 0}, 0x0a0000fe, "ext"}, {{0x0a000000, 24}, 0, "ext"}, {{0xffffffff, 32}, 1, ""}};
}

Reply rich_reply() {
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
    c.proto = cfg::Proto::Udp;
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

void expect_same(const Stats& a, const Stats& b) {
    EXPECT_EQ(a.conns, b.conns);
    EXPECT_EQ(a.inpkts, b.inpkts);
    EXPECT_EQ(a.outpkts, b.outpkts);
    EXPECT_EQ(a.inbytes, b.inbytes);
    EXPECT_EQ(a.outbytes, b.outbytes);
}

void expect_same(const Rates& a, const Rates& b) {
    EXPECT_EQ(a.cps, b.cps);
    EXPECT_EQ(a.inpps, b.inpps);
    EXPECT_EQ(a.outpps, b.outpps);
    EXPECT_EQ(a.inbps, b.inbps);
    EXPECT_EQ(a.outbps, b.outbps);
}

void expect_same(const Reply& a, const Reply& b) {
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
    }
    ASSERT_EQ(a.neighbours.size(), b.neighbours.size());
    for (size_t i = 0; i < a.neighbours.size(); ++i) {
        EXPECT_EQ(a.neighbours[i].addr, b.neighbours[i].addr);
        EXPECT_EQ(a.neighbours[i].mac, b.neighbours[i].mac);
        EXPECT_EQ(a.neighbours[i].port, b.neighbours[i].port);
        EXPECT_EQ(a.neighbours[i].state, b.neighbours[i].state);
    }
    ASSERT_EQ(a.routes.size(), b.routes.size());
    for (size_t i = 0; i < a.routes.size(); ++i) {
        EXPECT_EQ(a.routes[i].prefix, b.routes[i].prefix);
        EXPECT_EQ(a.routes[i].gateway, b.routes[i].gateway);
        EXPECT_EQ(a.routes[i].port, b.routes[i].port);
    }
}

// ---- header ----

TEST(ProtocolHeader, RoundTrip) {
    Header h;
    h.type = MsgType::Reply;
    h.length = 123456;
    uint8_t buf[kHeaderSize];
    encode_header(h, buf);
    // "DRGO" on the wire, then little-endian fields.
    EXPECT_EQ(std::memcmp(buf, "DRGO", 4), 0);
    EXPECT_EQ(buf[4], kVersion & 0xff);
    EXPECT_EQ(buf[5], kVersion >> 8);
    EXPECT_EQ(buf[6], 2);
    EXPECT_EQ(buf[7], 0);
    EXPECT_EQ(buf[8], 123456 & 0xff);
    auto d = decode_header(buf);
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    EXPECT_EQ(d->magic, kMagic);
    EXPECT_EQ(d->version, kVersion);
    EXPECT_EQ(d->type, MsgType::Reply);
    EXPECT_EQ(d->length, 123456u);
}

TEST(ProtocolHeader, TruncatedAtEveryLength) {
    uint8_t buf[kHeaderSize];
    encode_header(Header{}, buf);
    for (size_t n = 0; n < kHeaderSize; ++n) {
        auto d = decode_header(std::span<const uint8_t>(buf, n));
        ASSERT_FALSE(d.is_ok()) << n;
        EXPECT_EQ(d.status().code(), Errc::Protocol);
        EXPECT_NE(d.status().message().find("truncated"), std::string::npos);
    }
}

TEST(ProtocolHeader, RejectsBadFields) {
    const auto check = [](Header h, const char* needle) {
        uint8_t buf[kHeaderSize];
        encode_header(h, buf);
        auto d = decode_header(buf);
        ASSERT_FALSE(d.is_ok()) << needle;
        EXPECT_EQ(d.status().code(), Errc::Protocol);
        EXPECT_NE(d.status().message().find(needle), std::string::npos) << d.status().message();
    };
    Header h;
    h.magic = 0x4f475245;
    check(h, "magic");
    h = Header{};
    h.version = kVersion + 1;
    check(h, "version");
    h = Header{};
    h.version = 0;
    check(h, "version");
    for (uint16_t t : {0, 3, 0xffff}) {
        h = Header{};
        h.type = static_cast<MsgType>(t);
        check(h, "type");
    }
    h = Header{};
    h.length = kMaxPayload + 1;
    check(h, "exceeds");
    h.length = 0xffffffff;
    check(h, "exceeds");
    h.length = kMaxPayload;  // the limit itself is fine
    uint8_t buf[kHeaderSize];
    encode_header(h, buf);
    EXPECT_TRUE(decode_header(buf).is_ok());
}

// ---- requests ----

TEST(ProtocolRequest, EveryOpRoundTrips) {
    for (const Request& r : every_request()) {
        SCOPED_TRACE(std::string(op_name(r.op)));
        const Request back = round_trip(r);
        expect_same(r, back);
        // Encoding is deterministic.
        EXPECT_EQ(encode_request(back), encode_request(r));
    }
}

TEST(ProtocolRequest, EveryOpHasAName) {
    for (uint16_t op = 0; op <= static_cast<uint16_t>(Op::ListRoutes); ++op) {
        EXPECT_NE(op_name(static_cast<Op>(op)), "unknown");
    }
}

TEST(ProtocolRequest, ServersOfAServiceAreNotSent) {
    Request r;
    r.op = Op::AddService;
    r.service = sample_service();
    r.service.servers.push_back(sample_dest());
    const Request back = round_trip(r);
    EXPECT_TRUE(back.service.servers.empty());
    r.service.servers.clear();
    EXPECT_EQ(back.service, r.service);
}

TEST(ProtocolRequest, PingIsTwoBytes) {
    const std::vector<uint8_t> frame = encode_request(Request{});
    EXPECT_EQ(frame.size(), kHeaderSize + 2);
}

TEST(ProtocolRequest, TruncatedAtEveryLength) {
    for (const Request& r : every_request()) {
        const std::vector<uint8_t> p = payload_of(encode_request(r));
        for (size_t n = 0; n < p.size(); ++n) {
            auto d = decode_request(std::span<const uint8_t>(p.data(), n));
            ASSERT_FALSE(d.is_ok()) << op_name(r.op) << " cut at " << n;
            EXPECT_EQ(d.status().code(), Errc::Protocol);
        }
    }
}

TEST(ProtocolRequest, TrailingBytesAreAnError) {
    for (const Request& r : every_request()) {
        std::vector<uint8_t> p = payload_of(encode_request(r));
        p.push_back(0);
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok()) << op_name(r.op);
        EXPECT_NE(d.status().message().find("trailing"), std::string::npos);
    }
}

TEST(ProtocolRequest, RejectsOutOfRangeEnums) {
    // Unknown ops.
    for (uint16_t op : {18, 100, 0xffff}) {
        std::vector<uint8_t> p;
        put_le(p, op, 2);
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("unknown op"), std::string::npos);
    }
    // Protocol other than TCP/UDP in a key.
    {
        std::vector<uint8_t> p;
        put_le(p, static_cast<uint16_t>(Op::DelService), 2);
        put_le(p, 132, 1);  // SCTP
        put_le(p, 0x0a000001, 4);
        put_le(p, 80, 2);
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("protocol"), std::string::npos);
    }
    // Forwarding method past Tunnel.
    {
        Request r;
        r.op = Op::AddDest;
        r.dest.fwd = static_cast<cfg::Fwd>(3);
        auto d = decode_request(payload_of(encode_request(r)));
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("forwarding"), std::string::npos);
    }
    // has_key must be 0 or 1.
    {
        std::vector<uint8_t> p;
        put_le(p, static_cast<uint16_t>(Op::List), 2);
        put_le(p, 2, 1);
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("boolean"), std::string::npos);
    }
}

TEST(ProtocolRequest, NestedBatchIsInvalid) {
    Request clear;
    clear.op = Op::Clear;
    Request inner;
    inner.op = Op::Batch;
    inner.batch.push_back(clear);
    Request outer;
    outer.op = Op::Batch;
    outer.batch.push_back(inner);
    auto d = decode_request(payload_of(encode_request(outer)));
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("nested batch"), std::string::npos);
}

TEST(ProtocolRequest, OversizedStringsAndCounts) {
    // A scheduler name longer than kMaxString, with all its bytes present.
    {
        Request r;
        r.op = Op::AddService;
        r.service.scheduler.assign(kMaxString + 1, 'r');
        auto d = decode_request(payload_of(encode_request(r)));
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("exceeds 4096"), std::string::npos);
        r.service.scheduler.assign(kMaxString, 'r');  // the limit itself is fine
        EXPECT_TRUE(decode_request(payload_of(encode_request(r))).is_ok());
    }
    // A string length larger than the bytes left.
    {
        std::vector<uint8_t> p;
        put_le(p, static_cast<uint16_t>(Op::AddService), 2);
        put_le(p, 6, 1);
        put_le(p, 1, 4);
        put_le(p, 80, 2);
        put_le(p, 100, 4);  // scheduler length
        p.insert(p.end(), {'r', 'r'});
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("bytes left"), std::string::npos);
    }
    // Batch counts above kMaxList, and above what the bytes left can hold.
    for (uint32_t n : {kMaxList + 1, 0xffffffffu, 3u}) {
        std::vector<uint8_t> p;
        put_le(p, static_cast<uint16_t>(Op::Batch), 2);
        put_le(p, n, 4);
        put_le(p, static_cast<uint16_t>(Op::Clear), 2);  // room for one request, not three
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok()) << n;
        EXPECT_NE(d.status().message().find("count"), std::string::npos);
    }
}

// ---- replies ----

TEST(ProtocolReply, RoundTrips) {
    Reply err;
    err.code = Errc::NoService;
    err.message = "service tcp 10.0.0.1:80 not defined";
    Reply ping;
    ping.info = {"0.1.0", 4096, 1};
    for (const Reply& r : {rich_reply(), Reply{}, err, ping}) {
        const std::vector<uint8_t> frame = encode_reply(r);
        auto h = decode_header(frame);
        ASSERT_TRUE(h.is_ok());
        EXPECT_EQ(h->type, MsgType::Reply);
        EXPECT_EQ(h->length, frame.size() - kHeaderSize);
        auto d = decode_reply(payload_of(frame));
        ASSERT_TRUE(d.is_ok()) << d.status().message();
        expect_same(r, d.value());
        EXPECT_EQ(encode_reply(d.value()), frame);
    }
}

TEST(ProtocolReply, EveryErrorCodeRoundTrips) {
    for (uint32_t c = 0; c <= static_cast<uint32_t>(Errc::Io); ++c) {
        Reply r;
        r.code = static_cast<Errc>(c);
        auto d = decode_reply(payload_of(encode_reply(r)));
        ASSERT_TRUE(d.is_ok());
        EXPECT_EQ(d->code, r.code);
        EXPECT_NE(errc_name(r.code), "unknown");
    }
    Reply r;
    r.code = static_cast<Errc>(12);
    auto d = decode_reply(payload_of(encode_reply(r)));
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("error code"), std::string::npos);
}

TEST(ProtocolReply, TruncatedAtEveryLength) {
    const std::vector<uint8_t> p = payload_of(encode_reply(rich_reply()));
    for (size_t n = 0; n < p.size(); ++n) {
        auto d = decode_reply(std::span<const uint8_t>(p.data(), n));
        ASSERT_FALSE(d.is_ok()) << "cut at " << n;
        EXPECT_EQ(d.status().code(), Errc::Protocol);
    }
    std::vector<uint8_t> longer = p;
    longer.push_back(0);
    EXPECT_FALSE(decode_reply(longer).is_ok());
}

TEST(ProtocolReply, OversizedStringsAndLists) {
    Reply r;
    r.message.assign(kMaxString + 1, 'x');
    auto d = decode_reply(payload_of(encode_reply(r)));
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("message length"), std::string::npos);

    Reply c;
    c.conns.resize(1);
    c.conns[0].state.assign(kMaxString + 1, 'S');
    EXPECT_FALSE(decode_reply(payload_of(encode_reply(c))).is_ok());

    // Hand-built: an empty reply up to one of its seven list counts (services, conns, ports,
    // drops, workers, neighbours, routes; all at the end), then a huge count there.
    const std::vector<uint8_t> base = payload_of(encode_reply(Reply{}));
    const char* const lists[] = {"services", "conns",      "ports", "drops",
                                 "workers",  "neighbours", "routes"};
    const size_t first_count_at = base.size() - 7 * 4;
    for (size_t which = 0; which < 7; ++which) {
        for (uint32_t n : {kMaxList + 1, 0x7fffffffu, 1u}) {
            std::vector<uint8_t> p(base.begin(), base.begin() + static_cast<long>(first_count_at));
            for (size_t k = 0; k < 7; ++k) {
                put_le(p, k == which ? n : 0, 4);
            }
            auto e = decode_reply(p);
            ASSERT_FALSE(e.is_ok()) << lists[which] << " " << n;
            if (n == 1 && which == 3) {
                continue;  // one empty drop fits in the 12 bytes left: it fails as truncation
            }
            EXPECT_NE(e.status().message().find(std::string(lists[which]) + " count"),
                      std::string::npos)
                << e.status().message();
        }
    }

    // Every string of the views is held to kMaxString.
    const auto too_long = [](Reply r, const char* field) {
        auto d = decode_reply(payload_of(encode_reply(r)));
        ASSERT_FALSE(d.is_ok()) << field;
        EXPECT_NE(d.status().message().find(std::string(field) + " length"), std::string::npos)
            << d.status().message();
    };
    const std::string big(kMaxString + 1, 'x');
    Reply v;
    v.ports.resize(1);
    v.ports[0].name = big;
    too_long(v, "port.name");
    v.ports[0] = PortView{};
    v.ports[0].device = big;
    too_long(v, "port.device");
    v.ports[0] = PortView{};
    v.ports[0].mac = big;
    too_long(v, "port.mac");
    v = Reply{};
    v.drops = {{big, 1}};
    too_long(v, "drop.reason");
    v = Reply{};
    v.neighbours.resize(1);
    v.neighbours[0].mac = big;
    too_long(v, "neighbour.mac");
    v.neighbours[0] = NeighbourView{};
    v.neighbours[0].port = big;
    too_long(v, "neighbour.port");
    v = Reply{};
    v.routes.resize(1);
    v.routes[0].port = big;
    too_long(v, "route.port");
}

TEST(ProtocolReply, ViewsRoundTripAlone) {
    // A daemon answering ListPorts fills only ports and drops; the rest stays empty.
    Reply r;
    add_views(r);
    const std::vector<uint8_t> frame = encode_reply(r);
    auto d = decode_reply(payload_of(frame));
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    expect_same(r, d.value());
    EXPECT_EQ(encode_reply(d.value()), frame);
    // Each list on its own, and many addresses on one port.
    Reply ports;
    ports.ports.resize(1);
    for (uint32_t i = 0; i < 1000; ++i) {
        ports.ports[0].addresses.push_back({0x0a000000 + i, static_cast<uint8_t>(i % 33)});
    }
    Reply workers;
    workers.workers.resize(64);
    for (const Reply& one : {ports, workers}) {
        auto e = decode_reply(payload_of(encode_reply(one)));
        ASSERT_TRUE(e.is_ok()) << e.status().message();
        expect_same(one, e.value());
    }
}

TEST(ProtocolReply, EmptyReplyIsAsDocumented) {
    // The example in docs/control-protocol.md, as printed there: code 2, message "no service",
    // default timeouts, seven empty lists.
    Reply r;
    r.code = Errc::NoService;
    r.message = "no service";
    std::string hex;
    const std::vector<uint8_t> frame = encode_reply(r);
    for (size_t i = 0; i < frame.size(); ++i) {
        char b[4];
        std::snprintf(b, sizeof(b), "%02x", frame[i]);
        hex += b;
        hex += (i % 16 == 15 || i + 1 == frame.size()) ? "\n" : " ";
    }
    EXPECT_EQ(hex,
              "44 52 47 4f 01 00 02 00 46 00 00 00 02 00 00 00\n"
              "0a 00 00 00 6e 6f 20 73 65 72 76 69 63 65 00 00\n"
              "00 00 00 00 00 00 00 00 00 00 84 03 00 00 78 00\n"
              "00 00 2c 01 00 00 00 00 00 00 00 00 00 00 00 00\n"
              "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
              "00 00\n");
}

TEST(ProtocolReply, ViewLayoutIsAsDocumented) {
    // Hand-encoded per docs/control-protocol.md: an empty reply up to the ports count, then one
    // neighbour and one route.
    const std::vector<uint8_t> base = payload_of(encode_reply(Reply{}));
    std::vector<uint8_t> p(base.begin(), base.end() - 5 * 4);
    put_le(p, 0, 4);  // ports
    put_le(p, 0, 4);  // drops
    put_le(p, 0, 4);  // workers
    put_le(p, 1, 4);  // neighbours
    put_le(p, 0x0a0000fe, 4);
    put_le(p, 17, 4);
    for (char c : std::string("52:54:00:12:34:56")) {
        p.push_back(static_cast<uint8_t>(c));
    }
    put_le(p, 3, 4);
    p.insert(p.end(), {'e', 'x', 't'});
    put_le(p, 1, 1);  // state: resolved
    put_le(p, 1, 4);  // routes
    put_le(p, 0, 4);  // 0.0.0.0
    put_le(p, 0, 1);  // /0
    put_le(p, 0x0a0000fe, 4);
    put_le(p, 3, 4);
    p.insert(p.end(), {'e', 'x', 't'});
    auto d = decode_reply(p);
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    ASSERT_EQ(d->neighbours.size(), 1u);
    EXPECT_EQ(d->neighbours[0].addr, 0x0a0000feu);
    EXPECT_EQ(d->neighbours[0].mac, "52:54:00:12:34:56");
    EXPECT_EQ(d->neighbours[0].port, "ext");
    EXPECT_EQ(d->neighbours[0].state, NeighState::Resolved);
    ASSERT_EQ(d->routes.size(), 1u);
    EXPECT_EQ(d->routes[0].prefix, (cfg::Prefix{0, 0}));
    EXPECT_EQ(d->routes[0].gateway, 0x0a0000feu);
    EXPECT_EQ(d->routes[0].port, "ext");
    EXPECT_EQ(payload_of(encode_reply(d.value())), p);
}

TEST(ProtocolReply, RejectsBadViewValues) {
    const auto fails = [](const Reply& r, const char* needle) {
        auto d = decode_reply(payload_of(encode_reply(r)));
        ASSERT_FALSE(d.is_ok()) << needle;
        EXPECT_EQ(d.status().code(), Errc::Protocol);
        EXPECT_NE(d.status().message().find(needle), std::string::npos) << d.status().message();
    };
    Reply r;
    r.ports.resize(1);
    r.ports[0].addresses = {{0x0a000001, 33}};
    fails(r, "invalid prefix length 33 for port.address.len");
    r = Reply{};
    r.routes = {{{0x0a000000, 255}, 0, "ext"}};
    fails(r, "invalid prefix length 255 for route.prefix.len");
    r.routes = {{{0x0a000000, 32}, 0, "ext"}};  // the limit itself is fine
    EXPECT_TRUE(decode_reply(payload_of(encode_reply(r))).is_ok());

    // Booleans other than 0 and 1, patched into encoded replies.
    Reply port;
    port.ports.resize(1);
    std::vector<uint8_t> p = payload_of(encode_reply(port));
    // The port is the only element: its link_up byte follows the count and three empty strings
    // and a u16, counted from the end: 4+2+2+2 (speed mtu queues) + 4 (addresses) + 56 (counters)
    // + 16 (the counts of the four empty lists after ports) + 1.
    const size_t link_up_at = p.size() - (16 + 56 + 4 + 2 + 2 + 2 + 4 + 1);
    ASSERT_EQ(p[link_up_at], 0);
    p[link_up_at] = 2;
    auto d = decode_reply(p);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("invalid boolean 2 for port.link_up"), std::string::npos)
        << d.status().message();

    Reply neigh;
    neigh.neighbours.resize(1);
    p = payload_of(encode_reply(neigh));
    const size_t state_at = p.size() - (4 + 1);  // then only the routes count
    ASSERT_EQ(p[state_at], 0);
    p[state_at] = 3;  // one past Failed
    d = decode_reply(p);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("invalid neighbour.state 3"), std::string::npos)
        << d.status().message();

    // A port's address count that its bytes cannot hold.
    Reply many;
    many.ports.resize(1);
    many.ports[0].addresses.resize(2);
    p = payload_of(encode_reply(many));
    const size_t naddr_at = p.size() - (16 + 56 + 2 * 5 + 4);
    ASSERT_EQ(p[naddr_at], 2);
    p[naddr_at] = 200;
    d = decode_reply(p);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("port.addresses count"), std::string::npos)
        << d.status().message();
}

// ---- random and mutated bytes ----

TEST(ProtocolFuzz, RandomBytesAreAlwaysAnError) {
    std::mt19937 rng(20240601);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> len(64, 512);
    for (int i = 0; i < 20000; ++i) {
        std::vector<uint8_t> p(len(rng));
        for (uint8_t& b : p) {
            b = static_cast<uint8_t>(byte(rng));
        }
        auto rq = decode_request(p);
        EXPECT_FALSE(rq.is_ok()) << "iteration " << i;
        auto rp = decode_reply(p);
        EXPECT_FALSE(rp.is_ok()) << "iteration " << i;
        auto h = decode_header(p);
        EXPECT_FALSE(h.is_ok()) << "iteration " << i;
    }
}

TEST(ProtocolFuzz, MutatedMessagesNeverCrash) {
    std::mt19937 rng(7);
    std::vector<std::vector<uint8_t>> seeds;
    for (const Request& r : every_request()) {
        seeds.push_back(payload_of(encode_request(r)));
    }
    const std::vector<uint8_t> reply = payload_of(encode_reply(rich_reply()));
    size_t decoded = 0;
    for (int i = 0; i < 20000; ++i) {
        std::vector<uint8_t> p =
            (i % 2 == 0) ? seeds[static_cast<size_t>(i / 2) % seeds.size()] : reply;
        if (p.empty()) {
            continue;
        }
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            p[rng() % p.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        if (rng() % 4 == 0) {
            p.resize(rng() % (p.size() + 1));
        }
        // Whatever decodes must encode back to the same bytes: nothing is silently dropped.
        if (i % 2 == 0) {
            if (auto d = decode_request(p); d.is_ok()) {
                ++decoded;
                EXPECT_EQ(payload_of(encode_request(d.value())), p);
            }
        } else if (auto d = decode_reply(p); d.is_ok()) {
            ++decoded;
            EXPECT_EQ(payload_of(encode_reply(d.value())), p);
        }
    }
    EXPECT_GT(decoded, 0u);  // flips in plain numbers are legal messages
}

// ---- call() against fake daemons ----

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/dirigo-proto-XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        path_ = d != nullptr ? d : "/tmp";
    }
    ~TempDir() {
        ::unlink((path_ + "/sock").c_str());
        ::rmdir(path_.c_str());
    }
    std::string sock() const { return path_ + "/sock"; }

private:
    std::string path_;
};

/// A one-connection fake daemon: accepts, then runs `serve(fd)`.
class FakeDaemon {
public:
    FakeDaemon(const std::string& path, std::function<void(int)> serve) {
        listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
        ::unlink(path.c_str());
        EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        EXPECT_EQ(::listen(listen_fd_, 4), 0);
        thread_ = std::thread([this, serve = std::move(serve)] {
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd >= 0) {
                serve(fd);
                ::close(fd);
            }
        });
    }
    ~FakeDaemon() {
        ::shutdown(listen_fd_, SHUT_RDWR);
        thread_.join();
        ::close(listen_fd_);
    }

private:
    int listen_fd_ = -1;
    std::thread thread_;
};

bool read_exact(int fd, uint8_t* buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        const ssize_t r = ::read(fd, buf + done, n - done);
        if (r <= 0) {
            return false;
        }
        done += static_cast<size_t>(r);
    }
    return true;
}

std::optional<Request> read_request(int fd) {
    uint8_t hdr[kHeaderSize];
    if (!read_exact(fd, hdr, kHeaderSize)) {
        return std::nullopt;
    }
    auto h = decode_header(hdr);
    if (!h) {
        return std::nullopt;
    }
    std::vector<uint8_t> p(h->length);
    if (!read_exact(fd, p.data(), p.size())) {
        return std::nullopt;
    }
    auto r = decode_request(p);
    if (!r) {
        return std::nullopt;
    }
    return r.value();
}

void write_all(int fd, const std::vector<uint8_t>& b) {
    size_t done = 0;
    while (done < b.size()) {
        const ssize_t n = ::write(fd, b.data() + done, b.size() - done);
        if (n <= 0) {
            return;
        }
        done += static_cast<size_t>(n);
    }
}

TEST(ProtocolCall, NoDaemon) {
    TempDir dir;
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_EQ(r.status().message().rfind("cannot connect to dirigo at " + dir.sock() + ": ", 0), 0u)
        << r.status().message();
}

TEST(ProtocolCall, PathTooLong) {
    auto r = call("/tmp/" + std::string(200, 'x'), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("cannot connect to dirigo at"), std::string::npos);
}

TEST(ProtocolCall, RoundTrip) {
    TempDir dir;
    std::atomic<bool> saw_list{false};
    FakeDaemon d(dir.sock(), [&](int fd) {
        auto req = read_request(fd);
        saw_list = req && req->op == Op::List && req->has_key;
        write_all(fd, encode_reply(rich_reply()));
    });
    Request req;
    req.op = Op::List;
    req.has_key = true;
    auto r = call(dir.sock(), req);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_same(rich_reply(), r.value());
    EXPECT_TRUE(saw_list);
}

TEST(ProtocolCall, ReplyArrivingOneByteAtATime) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        for (uint8_t b : encode_reply(rich_reply())) {
            ASSERT_EQ(::write(fd, &b, 1), 1);
            if (b % 16 == 0) {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        }
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_same(rich_reply(), r.value());
}

TEST(ProtocolCall, DaemonClosesEarly) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        const std::vector<uint8_t> frame = encode_reply(rich_reply());
        write_all(fd, std::vector<uint8_t>(frame.begin(), frame.begin() + 20));
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("closed the connection"), std::string::npos)
        << r.status().message();
}

TEST(ProtocolCall, DaemonSilentTimesOut) {
    TempDir dir;
    std::atomic<bool> done{false};
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        while (!done) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(dir.sock(), Request{}, 200);
    const auto waited = std::chrono::steady_clock::now() - t0;
    done = true;
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
    EXPECT_GE(waited, std::chrono::milliseconds(190));
    EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(ProtocolCall, DaemonNotAcceptingTimesOut) {
    TempDir dir;
    // A listener with a backlog of one that never accepts: after one queued connection, the
    // next connect() waits for room, and call() must give up at its deadline.
    const int l = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, dir.sock().c_str(), sizeof(a.sun_path) - 1);
    ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(l, 0), 0);
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        const int f = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            ::close(f);
            break;  // the backlog is full
        }
        fillers.push_back(f);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(dir.sock(), Request{}, 200);
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
    EXPECT_GE(waited, std::chrono::milliseconds(150));
    EXPECT_LT(waited, std::chrono::seconds(5));
    for (int f : fillers) {
        ::close(f);
    }
    ::close(l);
}

TEST(ProtocolCall, GarbageReply) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        write_all(fd, std::vector<uint8_t>(kHeaderSize, 0xab));
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("bad reply"), std::string::npos);
}

TEST(ProtocolCall, RequestFrameInsteadOfReply) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        write_all(fd, encode_request(Request{}));
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("not a reply"), std::string::npos);
}

TEST(ProtocolCall, MalformedReplyPayload) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        std::vector<uint8_t> frame = encode_reply(Reply{});
        frame.push_back(0);  // one trailing byte, counted in the header
        Header h;
        h.type = MsgType::Reply;
        h.length = static_cast<uint32_t>(frame.size() - kHeaderSize);
        encode_header(h, frame.data());
        write_all(fd, frame);
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("trailing"), std::string::npos);
}

TEST(ProtocolCall, OversizedRequestIsRefusedLocally) {
    Request r;
    r.op = Op::Batch;
    Request add;
    add.op = Op::AddService;
    add.service.scheduler.assign(kMaxString, 's');
    r.batch.assign(kMaxPayload / kMaxString + 1, add);
    auto res = call("/nonexistent/socket", r);
    ASSERT_FALSE(res.is_ok());
    EXPECT_EQ(res.status().code(), Errc::Invalid);
}

}  // namespace
}  // namespace dirigo::ctl
