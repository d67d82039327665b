// SPDX-License-Identifier: BSD-3-Clause
// The control wire protocol: round trips of every op and reply, and malformed input of every kind
// (truncation at every length, bad header fields, oversized lengths, strings and lists, random and
// mutated bytes), which must always give an error and never crash. call() is in client_test.cpp.

#include "proto/protocol.hpp"

#include <netinet/in.h>
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
#include <tuple>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/proto/proto_test_util.hpp"

namespace dirigo::ctl {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the shared samples

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

// SCTP is protocol 132 in the same one-byte field (no version bump): a key and a connection
// carry it both ways, byte for byte.
TEST(ProtocolRequest, SctpKeysAndConnectionsRoundTrip) {
    Request add;
    add.op = Op::AddService;
    add.service = sample_service();
    add.service.key = {cfg::Proto::Sctp, 0x0a000064, 5000};
    const Request back = round_trip(add);
    expect_same(add, back);
    EXPECT_EQ(back.service.key.proto, cfg::Proto::Sctp);
    EXPECT_EQ(encode_request(back), encode_request(add));
    Request del;
    del.op = Op::DelService;
    del.service.key = add.service.key;
    const std::vector<uint8_t> p = payload_of(encode_request(del));
    ASSERT_GE(p.size(), 3u);
    EXPECT_EQ(p[2], 132);  // after the two-byte op: IPPROTO_SCTP as is

    Reply r;
    ConnInfo c;
    c.proto = IPPROTO_SCTP;
    c.state = "C-ECHOED";
    c.caddr = 0xc0a8010a;
    c.vaddr = 0x0a000064;
    c.vport = 5000;
    r.conns = {c};
    auto d = decode_reply(payload_of(encode_reply(r)));
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    ASSERT_EQ(d->conns.size(), 1u);
    EXPECT_EQ(d->conns[0].proto, IPPROTO_SCTP);
    EXPECT_EQ(d->conns[0].state, "C-ECHOED");
    // A fwmark template's protocol IP (0) crosses too; a protocol no connection has does not.
    r.conns[0].proto = 0;
    d = decode_reply(payload_of(encode_reply(r)));
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    EXPECT_EQ(d->conns[0].proto, 0);
    r.conns[0].proto = 99;
    d = decode_reply(payload_of(encode_reply(r)));
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("invalid protocol 99 in conn.proto"), std::string::npos)
        << d.status().message();
}

TEST(ProtocolRequest, EveryOpHasAName) {
    for (uint16_t op = 0; op < kOpCount; ++op) {
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
    for (uint16_t op : {static_cast<uint16_t>(kOpCount), uint16_t{100}, uint16_t{0xffff}}) {
        std::vector<uint8_t> p;
        put_le(p, op, 2);
        auto d = decode_request(p);
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find("unknown op"), std::string::npos);
    }
    // Protocol other than TCP/UDP/SCTP in a key.
    {
        std::vector<uint8_t> p;
        put_le(p, static_cast<uint16_t>(Op::DelService), 2);
        put_le(p, 1, 1);  // ICMP
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
    // Tunnel type past GRE, tunnel checksum option past remcsum.
    for (const auto& [type, csum, what] :
         {std::tuple{3, 0, "dest.tun_type 3"}, std::tuple{0, 3, "dest.tun_csum 3"}}) {
        Request r;
        r.op = Op::AddDest;
        r.dest.tun_type = static_cast<cfg::TunType>(type);
        r.dest.tun_csum = static_cast<cfg::TunCsum>(csum);
        auto d = decode_request(payload_of(encode_request(r)));
        ASSERT_FALSE(d.is_ok());
        EXPECT_NE(d.status().message().find(what), std::string::npos) << d.status().message();
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

TEST(ProtocolRequest, DaemonRequestsRoundTrip) {
    Request start;
    start.op = Op::StartDaemon;
    start.daemon = sample_daemon();
    Request back = round_trip(start);
    EXPECT_EQ(back.op, Op::StartDaemon);
    expect_same(start.daemon, back.daemon);

    // StopDaemon carries the same body; dirigoadm and the emulator fill only its role.
    Request stop;
    stop.op = Op::StopDaemon;
    stop.daemon.role = SyncRole::Backup;
    back = round_trip(stop);
    EXPECT_EQ(back.op, Op::StopDaemon);
    EXPECT_EQ(back.daemon.role, SyncRole::Backup);
    EXPECT_EQ(back.daemon.mcast_ifn, "");

    Request list;
    list.op = Op::ListDaemons;
    EXPECT_EQ(encode_request(list).size(), kHeaderSize + 2);  // no body
    EXPECT_FALSE(is_mutation(Op::StartDaemon));
    EXPECT_FALSE(is_mutation(Op::StopDaemon));
    EXPECT_EQ(op_name(Op::StartDaemon), "start-daemon");
    EXPECT_EQ(op_name(Op::StopDaemon), "stop-daemon");
    EXPECT_EQ(op_name(Op::ListDaemons), "list-daemons");
}

TEST(ProtocolRequest, DaemonLayoutIsFixed) {
    // u16 op, u8 role, string ifn, u8 syncid, u16 maxlen, u32 group, u16 port, u8 ttl.
    Request r;
    r.op = Op::StartDaemon;
    r.daemon = {SyncRole::Master, "eth0", 7, 1472, 0xe0000051, 8848, 1};
    std::vector<uint8_t> p;
    put_le(p, static_cast<uint16_t>(Op::StartDaemon), 2);
    put_le(p, 1, 1);
    put_le(p, 4, 4);
    p.insert(p.end(), {'e', 't', 'h', '0'});
    put_le(p, 7, 1);
    put_le(p, 1472, 2);
    put_le(p, 0xe0000051, 4);
    put_le(p, 8848, 2);
    put_le(p, 1, 1);
    EXPECT_EQ(payload_of(encode_request(r)), p);
    auto d = decode_request(p);
    ASSERT_TRUE(d.is_ok()) << d.status().message();
    expect_same(r.daemon, d->daemon);
}

TEST(ProtocolRequest, RejectsAnInvalidDaemonRole) {
    for (Op op : {Op::StartDaemon, Op::StopDaemon}) {
        Request r;
        r.op = op;
        std::vector<uint8_t> p = payload_of(encode_request(r));
        ASSERT_EQ(p[2], 1);  // the role follows the op
        for (uint8_t bad : {0, 3, 0x81}) {
            p[2] = bad;
            auto d = decode_request(p);
            ASSERT_FALSE(d.is_ok()) << op_name(op) << " " << int{bad};
            EXPECT_EQ(d.status().code(), Errc::Protocol);
            EXPECT_NE(d.status().message().find("invalid daemon.role " + std::to_string(bad)),
                      std::string::npos)
                << d.status().message();
        }
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
        put_le(p, 0, 4);    // fwmark
        put_le(p, 4, 1);    // af
        p.insert(p.end(), 16, 0);  // addr6
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

TEST(ProtocolRequest, BatchAllocationIsBoundedByTheFrame) {
    // A million two-byte Clears fit a 2 MiB frame, but would decode into a million Requests
    // (sizeof(Request) bytes each, ~100 times the frame): refused before anything is allocated.
    constexpr uint32_t kClears = 1000000;
    std::vector<uint8_t> p;
    put_le(p, static_cast<uint16_t>(Op::Batch), 2);
    put_le(p, kClears, 4);
    for (uint32_t i = 0; i < kClears; ++i) {
        put_le(p, static_cast<uint16_t>(Op::Clear), 2);
    }
    auto d = decode_request(p);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("batch count 1000000 needs more memory"),
              std::string::npos)
        << d.status().message();

    // Real rules stay well inside the bound: 100k DelService (13 bytes each), AddDest and AddMark
    // (16 bytes without ports) lines.
    for (Op op : {Op::DelService, Op::AddDest, Op::AddMark}) {
        Request batch;
        batch.op = Op::Batch;
        Request one;
        one.op = op;
        one.service = sample_service();
        one.dest = sample_dest();
        one.mark.dst = {0x0a000064, 32};
        one.mark.mark = 1;
        batch.batch.assign(100000, one);
        const std::vector<uint8_t> frame = encode_request(batch);
        auto back = decode_request(payload_of(frame));
        ASSERT_TRUE(back.is_ok()) << back.status().message();
        EXPECT_EQ(back->batch.size(), 100000u);
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
    for (uint32_t c = 0; c <= static_cast<uint32_t>(Errc::NoDevice); ++c) {
        Reply r;
        r.code = static_cast<Errc>(c);
        auto d = decode_reply(payload_of(encode_reply(r)));
        ASSERT_TRUE(d.is_ok());
        EXPECT_EQ(d->code, r.code);
        EXPECT_NE(errc_name(r.code), "unknown");
    }
    Reply r;
    r.code = static_cast<Errc>(15);  // one past NoDevice
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

    // Hand-built: an empty reply up to one of its nine list counts (services, conns, ports,
    // drops, workers, neighbours, routes, daemons, marks; all at the end), then a huge count
    // there.
    const std::vector<uint8_t> base = payload_of(encode_reply(Reply{}));
    const char* const lists[] = {"services",   "conns",  "ports",   "drops", "workers",
                                 "neighbours", "routes", "daemons", "marks"};
    const size_t first_count_at = base.size() - 9 * 4;
    for (size_t which = 0; which < 9; ++which) {
        for (uint32_t n : {kMaxList + 1, 0x7fffffffu, 1u}) {
            std::vector<uint8_t> p(base.begin(), base.begin() + static_cast<long>(first_count_at));
            for (size_t k = 0; k < 9; ++k) {
                put_le(p, k == which ? n : 0, 4);
            }
            auto e = decode_reply(p);
            ASSERT_FALSE(e.is_ok()) << lists[which] << " " << n;
            if (n == 1 && (which == 1 || which == 3 || which == 5 || which == 6)) {
                // One empty connection (27 bytes), drop (12), neighbour (13) or route (13) fits
                // in the bytes left after it: it fails on its contents or as truncation of the
                // next count.
                continue;
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
    v = Reply{};
    v.daemons.resize(1);
    v.daemons[0].cfg.mcast_ifn = big;
    too_long(v, "daemon.mcast_ifn");
    Request start;
    start.op = Op::StartDaemon;
    start.daemon.mcast_ifn = big;
    auto q = decode_request(payload_of(encode_request(start)));
    ASSERT_FALSE(q.is_ok());
    EXPECT_NE(q.status().message().find("daemon.mcast_ifn length"), std::string::npos)
        << q.status().message();
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
    // default timeouts, nine empty lists.
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
              "44 52 47 4f 04 00 02 00 4e 00 00 00 02 00 00 00\n"
              "0a 00 00 00 6e 6f 20 73 65 72 76 69 63 65 00 00\n"
              "00 00 00 00 00 00 00 00 00 00 84 03 00 00 78 00\n"
              "00 00 2c 01 00 00 00 00 00 00 00 00 00 00 00 00\n"
              "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
              "00 00 00 00 00 00 00 00 00 00\n");
}

TEST(ProtocolReply, ViewLayoutIsAsDocumented) {
    // Hand-encoded per docs/control-protocol.md: an empty reply up to the ports count, then one
    // neighbour, one route and one sync daemon.
    const std::vector<uint8_t> base = payload_of(encode_reply(Reply{}));
    std::vector<uint8_t> p(base.begin(), base.end() - 7 * 4);
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
    put_le(p, 1, 4);  // daemons
    put_le(p, 2, 1);  // role: backup
    put_le(p, 4, 4);
    p.insert(p.end(), {'e', 't', 'h', '1'});
    put_le(p, 7, 1);           // syncid (the daemon's fields, then the marks count)
    put_le(p, 1472, 2);        // sync_maxlen
    put_le(p, 0xe0000051, 4);  // 224.0.0.81
    put_le(p, 8848, 2);        // mcast_port
    put_le(p, 1, 1);           // mcast_ttl
    put_le(p, 10, 8);          // messages
    put_le(p, 20, 8);          // conns
    put_le(p, 30, 8);          // dropped
    put_le(p, 1, 4);           // marks
    put_le(p, 0x0a000064, 4);  // 10.0.0.100
    put_le(p, 32, 1);          // /32
    put_le(p, 6, 1);           // tcp
    put_le(p, 2, 4);           // two port ranges
    put_le(p, 80, 2);
    put_le(p, 80, 2);
    put_le(p, 8000, 2);
    put_le(p, 8100, 2);
    put_le(p, 1, 4);  // mark 1
    put_le(p, 4, 1);  // af: an IPv4 rule
    for (int i = 0; i < 16; ++i) {
        put_le(p, 0, 1);  // addr6: unused
    }
    put_le(p, 0, 1);  // len6
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
    ASSERT_EQ(d->daemons.size(), 1u);
    const DaemonView& dv = d->daemons[0];
    EXPECT_EQ(dv.cfg.role, SyncRole::Backup);
    EXPECT_EQ(dv.cfg.mcast_ifn, "eth1");
    EXPECT_EQ(dv.cfg.syncid, 7);
    EXPECT_EQ(dv.cfg.sync_maxlen, 1472);
    EXPECT_EQ(dv.cfg.mcast_group, 0xe0000051u);
    EXPECT_EQ(dv.cfg.mcast_port, 8848);
    EXPECT_EQ(dv.cfg.mcast_ttl, 1);
    EXPECT_EQ(dv.messages, 10u);
    EXPECT_EQ(dv.conns, 20u);
    EXPECT_EQ(dv.dropped, 30u);
    ASSERT_EQ(d->marks.size(), 1u);
    EXPECT_EQ(d->marks[0].dst, (cfg::Prefix{0x0a000064, 32}));
    EXPECT_EQ(d->marks[0].proto, 6);
    EXPECT_EQ(d->marks[0].ports, (std::vector<cfg::PortRange>{{80, 80}, {8000, 8100}}));
    EXPECT_EQ(d->marks[0].mark, 1u);
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
    // + 4 + 1 + 16 (the kernel interface: empty name, link, two counters)
    // + 24 (the counts of the six empty lists after ports) + 1.
    const size_t link_up_at = p.size() - (24 + 21 + 56 + 4 + 2 + 2 + 2 + 4 + 1);
    ASSERT_EQ(p[link_up_at], 0);
    p[link_up_at] = 2;
    auto d = decode_reply(p);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("invalid boolean 2 for port.link_up"), std::string::npos)
        << d.status().message();

    Reply neigh;
    neigh.neighbours.resize(1);
    p = payload_of(encode_reply(neigh));
    const size_t state_at = p.size() - (12 + 1);  // then the routes, daemons and marks counts
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
    const size_t naddr_at = p.size() - (24 + 21 + 56 + 2 * 5 + 4);
    ASSERT_EQ(p[naddr_at], 2);
    p[naddr_at] = 200;
    d = decode_reply(p);
    ASSERT_FALSE(d.is_ok());
    EXPECT_NE(d.status().message().find("port.addresses count"), std::string::npos)
        << d.status().message();

    // A sync daemon's role other than 1 (master) and 2 (backup).
    Reply daemon;
    daemon.daemons.resize(1);
    p = payload_of(encode_reply(daemon));
    // The role is the daemon's first byte: 39 bytes from the end (role, empty ifn, syncid,
    // maxlen, group, port, ttl, three u64 counters).
    const size_t role_at = p.size() - (1 + 4 + 1 + 2 + 4 + 2 + 1 + 24 + 4);
    ASSERT_EQ(p[role_at], 1);
    for (uint8_t bad : {0, 3, 255}) {
        p[role_at] = bad;
        d = decode_reply(p);
        ASSERT_FALSE(d.is_ok()) << int{bad};
        EXPECT_EQ(d.status().code(), Errc::Protocol);
        EXPECT_NE(d.status().message().find("invalid daemon.role " + std::to_string(bad)),
                  std::string::npos)
            << d.status().message();
    }
    p[role_at] = 2;
    EXPECT_TRUE(decode_reply(p).is_ok());
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

}  // namespace
}  // namespace dirigo::ctl
