// SPDX-License-Identifier: BSD-3-Clause
// The control wire protocol: round trips of every op and reply, and malformed input of every kind
// (truncation at every length, bad header fields, oversized lengths, strings and lists, random and
// mutated bytes), which must always give an error and never crash. Then call() against fake
// daemons on a real Unix socket: absent, silent, closing early, trickling bytes, lying.

#include "control/protocol.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
    Request batch;
    batch.op = Op::Batch;
    for (const Request& r : all) {
        if (r.op != Op::Ping && r.op != Op::List && r.op != Op::ListConns &&
            r.op != Op::GetTimeouts) {
            batch.batch.push_back(r);
        }
    }
    all.push_back(batch);
    Request empty_batch;
    empty_batch.op = Op::Batch;
    all.push_back(empty_batch);
    return all;
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
    for (uint16_t op = 0; op <= static_cast<uint16_t>(Op::Batch); ++op) {
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
    for (uint16_t op : {14, 100, 0xffff}) {
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

    // Hand-built: an empty reply up to the service count, then a huge count.
    const std::vector<uint8_t> base = payload_of(encode_reply(Reply{}));
    const size_t svc_count_at = base.size() - 8;  // services count, then conns count
    for (uint32_t n : {kMaxList + 1, 0x7fffffffu, 1u}) {
        std::vector<uint8_t> p(base.begin(), base.begin() + static_cast<long>(svc_count_at));
        put_le(p, n, 4);
        put_le(p, 0, 4);
        auto e = decode_reply(p);
        ASSERT_FALSE(e.is_ok()) << n;
        EXPECT_NE(e.status().message().find("services count"), std::string::npos)
            << e.status().message();
    }
    std::vector<uint8_t> p(base.begin(), base.end() - 4);
    put_le(p, kMaxList + 1, 4);
    auto e = decode_reply(p);
    ASSERT_FALSE(e.is_ok());
    EXPECT_NE(e.status().message().find("conns count"), std::string::npos);
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
