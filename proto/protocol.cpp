// SPDX-License-Identifier: BSD-3-Clause
#include "proto/protocol.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

namespace dirigo::ctl {

namespace {

// Smallest encodings of list elements, used to reject a count that the remaining bytes cannot
// possibly hold before anything is allocated for it.
constexpr size_t kKeySize = 1 + 4 + 2;
constexpr size_t kDestSize = 4 + 2 + 1 + 4 + 4 + 4;
constexpr size_t kServiceMinSize = kKeySize + 4 + 4 + 4 + 4;  // empty scheduler name
constexpr size_t kCountersSize = 5 * 8;
constexpr size_t kServiceInfoMinSize = kServiceMinSize + 2 * kCountersSize + 4;
constexpr size_t kDestInfoSize = kDestSize + 3 * 4 + 2 * kCountersSize;
constexpr size_t kConnInfoMinSize = 1 + 4 + 4 + 3 * (4 + 2);
constexpr size_t kRequestMinSize = 2;
constexpr size_t kPrefixSize = 4 + 1;
constexpr size_t kPortViewMinSize = 3 * 4 + 2 + 1 + 4 + 3 * 2 + 4 + 7 * 8;  // empty strings, list
constexpr size_t kDropViewMinSize = 4 + 8;
constexpr size_t kWorkerViewSize = 2 * 4 + 9 * 8;
constexpr size_t kNeighbourViewMinSize = 4 + 4 + 4 + 1;
constexpr size_t kRouteViewMinSize = kPrefixSize + 4 + 4;

/// Appends little-endian fields to a byte vector. Never fails: limits are the decoder's business
/// (and call()'s, which refuses to send an oversized frame).
class Writer {
public:
    explicit Writer(std::vector<uint8_t>& out) : out_(out) {}

    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v) { put(v, 2); }
    void u32(uint32_t v) { put(v, 4); }
    void u64(uint64_t v) { put(v, 8); }
    void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
    void str(std::string_view s) {
        u32(static_cast<uint32_t>(s.size()));
        out_.insert(out_.end(), s.begin(), s.end());
    }
    void count(size_t n) { u32(static_cast<uint32_t>(n)); }

private:
    void put(uint64_t v, size_t bytes) {
        for (size_t i = 0; i < bytes; ++i) {
            out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }

    std::vector<uint8_t>& out_;
};

/// Reads little-endian fields with bounds checks. The first failure is sticky: later reads return
/// zeros and keep the first message, so decoders check ok() once per loop iteration and at the end.
class Reader {
public:
    explicit Reader(std::span<const uint8_t> in) : in_(in) {}

    bool ok() const { return err_.empty(); }
    const std::string& error() const { return err_; }
    size_t remaining() const { return in_.size() - pos_; }
    size_t position() const { return pos_; }

    uint8_t u8(const char* what) { return static_cast<uint8_t>(get(1, what)); }
    uint16_t u16(const char* what) { return static_cast<uint16_t>(get(2, what)); }
    uint32_t u32(const char* what) { return static_cast<uint32_t>(get(4, what)); }
    uint64_t u64(const char* what) { return get(8, what); }
    int32_t i32(const char* what) { return static_cast<int32_t>(u32(what)); }

    bool boolean(const char* what) {
        const size_t at = pos_;
        const uint8_t v = u8(what);
        if (v > 1) {
            fail_at(at, std::string("invalid boolean ") + std::to_string(v) + " for " + what);
        }
        return v == 1;
    }

    std::string str(const char* what) {
        const size_t at = pos_;
        const uint32_t n = u32(what);
        if (!ok()) {
            return {};
        }
        if (n > kMaxString) {
            fail_at(at, std::string(what) + " length " + std::to_string(n) + " exceeds " +
                            std::to_string(kMaxString));
            return {};
        }
        if (n > remaining()) {
            fail_at(at, std::string(what) + " length " + std::to_string(n) + " exceeds the " +
                            std::to_string(remaining()) + " bytes left");
            return {};
        }
        std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
        pos_ += n;
        return s;
    }

    /// A list count, checked against kMaxList and against what the remaining bytes can hold.
    uint32_t count(const char* what, size_t min_elem_size) {
        const size_t at = pos_;
        const uint32_t n = u32(what);
        if (!ok()) {
            return 0;
        }
        if (n > kMaxList) {
            fail_at(at, std::string(what) + " count " + std::to_string(n) + " exceeds " +
                            std::to_string(kMaxList));
            return 0;
        }
        if (n > remaining() / min_elem_size) {
            fail_at(at, std::string(what) + " count " + std::to_string(n) + " cannot fit in the " +
                            std::to_string(remaining()) + " bytes left");
            return 0;
        }
        return n;
    }

    void fail(std::string msg) { fail_at(pos_, std::move(msg)); }

    void fail_at(size_t at, std::string msg) {
        if (ok()) {
            err_ = std::move(msg) + " (at byte " + std::to_string(at) + ")";
        }
    }

    void expect_end() {
        if (ok() && remaining() != 0) {
            fail(std::to_string(remaining()) + " trailing bytes after the message");
        }
    }

private:
    uint64_t get(size_t bytes, const char* what) {
        if (!ok()) {
            return 0;
        }
        if (remaining() < bytes) {
            fail(std::string("truncated payload reading ") + what);
            return 0;
        }
        uint64_t v = 0;
        for (size_t i = 0; i < bytes; ++i) {
            v |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
        }
        pos_ += bytes;
        return v;
    }

    std::span<const uint8_t> in_;
    size_t pos_ = 0;
    std::string err_;
};

// ---- encoding ----

void put_key(Writer& w, const cfg::ServiceKey& k) {
    w.u8(static_cast<uint8_t>(k.proto));
    w.u32(k.addr);
    w.u16(k.port);
}

void put_service(Writer& w, const cfg::Service& s) {
    put_key(w, s.key);
    w.str(s.scheduler);
    w.u32(s.flags);
    w.u32(s.timeout);
    w.u32(s.netmask);
}

void put_dest(Writer& w, const cfg::RealServer& d) {
    w.u32(d.addr);
    w.u16(d.port);
    w.u8(static_cast<uint8_t>(d.fwd));
    w.i32(d.weight);
    w.u32(d.u_threshold);
    w.u32(d.l_threshold);
}

void put_timeouts(Writer& w, const cfg::TimeoutCfg& t) {
    w.u32(t.tcp);
    w.u32(t.tcp_fin);
    w.u32(t.udp);
}

void put_stats(Writer& w, const Stats& s) {
    w.u64(s.conns);
    w.u64(s.inpkts);
    w.u64(s.outpkts);
    w.u64(s.inbytes);
    w.u64(s.outbytes);
}

void put_rates(Writer& w, const Rates& r) {
    w.u64(r.cps);
    w.u64(r.inpps);
    w.u64(r.outpps);
    w.u64(r.inbps);
    w.u64(r.outbps);
}

void put_prefix(Writer& w, const cfg::Prefix& p) {
    w.u32(p.addr);
    w.u8(p.len);
}

void put_request(Writer& w, const Request& r) {
    w.u16(static_cast<uint16_t>(r.op));
    if (!is_known(r.op)) {
        return;  // the decoder reports it
    }
    switch (op_spec(r.op).body) {
        case Body::None:
            return;
        case Body::Service:
            put_service(w, r.service);
            return;
        case Body::Key:
            put_key(w, r.service.key);
            return;
        case Body::KeyDest:
            put_key(w, r.service.key);
            put_dest(w, r.dest);
            return;
        case Body::OptionalKey:
            w.u8(r.has_key ? 1 : 0);
            if (r.has_key) {
                put_key(w, r.service.key);
            }
            return;
        case Body::Timeouts:
            put_timeouts(w, r.timeouts);
            return;
        case Body::Batch:
            // Encoded as given; a nested batch is rejected by the decoder, not here.
            w.count(r.batch.size());
            for (const Request& sub : r.batch) {
                put_request(w, sub);
            }
            return;
    }
}

void put_reply(Writer& w, const Reply& r) {
    w.u32(static_cast<uint32_t>(r.code));
    w.str(r.message);
    w.str(r.info.version);
    w.u32(r.info.conn_table_size);
    w.u32(r.info.workers);
    put_timeouts(w, r.timeouts);
    w.count(r.services.size());
    for (const ServiceInfo& si : r.services) {
        put_service(w, si.service);
        put_stats(w, si.stats);
        put_rates(w, si.rates);
        w.count(si.dests.size());
        for (const DestInfo& di : si.dests) {
            put_dest(w, di.server);
            w.u32(di.active);
            w.u32(di.inactive);
            w.u32(di.persistent);
            put_stats(w, di.stats);
            put_rates(w, di.rates);
        }
    }
    w.count(r.conns.size());
    for (const ConnInfo& c : r.conns) {
        w.u8(static_cast<uint8_t>(c.proto));
        w.str(c.state);
        w.u32(c.expires_ms);
        w.u32(c.caddr);
        w.u16(c.cport);
        w.u32(c.vaddr);
        w.u16(c.vport);
        w.u32(c.daddr);
        w.u16(c.dport);
    }
    // The views of ListPorts/ListWorkers/ListNeighbours/ListRoutes. Every reply carries the five
    // lists (empty unless the op fills them), so a reply decodes without knowing its request.
    w.count(r.ports.size());
    for (const PortView& p : r.ports) {
        w.str(p.name);
        w.str(p.device);
        w.u16(p.port_id);
        w.str(p.mac);
        w.u8(p.link_up ? 1 : 0);
        w.u32(p.speed_mbps);
        w.u16(p.mtu);
        w.u16(p.rx_queues);
        w.u16(p.tx_queues);
        w.count(p.addresses.size());
        for (const cfg::Prefix& a : p.addresses) {
            put_prefix(w, a);
        }
        w.u64(p.rx_packets);
        w.u64(p.tx_packets);
        w.u64(p.rx_bytes);
        w.u64(p.tx_bytes);
        w.u64(p.rx_missed);
        w.u64(p.rx_errors);
        w.u64(p.tx_errors);
    }
    w.count(r.drops.size());
    for (const DropView& d : r.drops) {
        w.str(d.reason);
        w.u64(d.count);
    }
    w.count(r.workers.size());
    for (const WorkerView& wv : r.workers) {
        w.u32(wv.id);
        w.u32(wv.lcore);
        w.u64(wv.rx_packets);
        w.u64(wv.tx_packets);
        w.u64(wv.drops);
        w.u64(wv.loops);
        w.u64(wv.busy_loops);
        w.u64(wv.connections);
        w.u64(wv.created);
        w.u64(wv.handed_off);
        w.u64(wv.taken_over);
    }
    w.count(r.neighbours.size());
    for (const NeighbourView& n : r.neighbours) {
        w.u32(n.addr);
        w.str(n.mac);
        w.str(n.port);
        w.u8(n.resolved ? 1 : 0);
    }
    w.count(r.routes.size());
    for (const RouteView& rv : r.routes) {
        put_prefix(w, rv.prefix);
        w.u32(rv.gateway);
        w.str(rv.port);
    }
}

std::vector<uint8_t> frame(MsgType type, auto&& put_payload) {
    std::vector<uint8_t> out(kHeaderSize);
    Writer w(out);
    put_payload(w);
    Header h;
    h.type = type;
    h.length = static_cast<uint32_t>(out.size() - kHeaderSize);
    encode_header(h, out.data());
    return out;
}

// ---- decoding ----

cfg::Proto get_proto(Reader& r, const char* what) {
    const uint8_t v = r.u8(what);
    if (r.ok() && v != static_cast<uint8_t>(cfg::Proto::Tcp) &&
        v != static_cast<uint8_t>(cfg::Proto::Udp)) {
        r.fail(std::string("invalid protocol ") + std::to_string(v) + " in " + what);
    }
    return v == static_cast<uint8_t>(cfg::Proto::Udp) ? cfg::Proto::Udp : cfg::Proto::Tcp;
}

void get_key(Reader& r, cfg::ServiceKey& k) {
    k.proto = get_proto(r, "service.proto");
    k.addr = r.u32("service.addr");
    k.port = r.u16("service.port");
}

void get_service(Reader& r, cfg::Service& s) {
    get_key(r, s.key);
    s.scheduler = r.str("service.scheduler");
    s.flags = r.u32("service.flags");
    s.timeout = r.u32("service.timeout");
    s.netmask = r.u32("service.netmask");
}

void get_dest(Reader& r, cfg::RealServer& d) {
    d.addr = r.u32("dest.addr");
    d.port = r.u16("dest.port");
    const uint8_t fwd = r.u8("dest.fwd");
    if (r.ok() && fwd > static_cast<uint8_t>(cfg::Fwd::Tunnel)) {
        r.fail("invalid forwarding method " + std::to_string(fwd));
    }
    d.fwd = static_cast<cfg::Fwd>(fwd);
    d.weight = r.i32("dest.weight");
    d.u_threshold = r.u32("dest.u_threshold");
    d.l_threshold = r.u32("dest.l_threshold");
}

void get_timeouts(Reader& r, cfg::TimeoutCfg& t) {
    t.tcp = r.u32("timeouts.tcp");
    t.tcp_fin = r.u32("timeouts.tcp_fin");
    t.udp = r.u32("timeouts.udp");
}

void get_stats(Reader& r, Stats& s) {
    s.conns = r.u64("stats.conns");
    s.inpkts = r.u64("stats.inpkts");
    s.outpkts = r.u64("stats.outpkts");
    s.inbytes = r.u64("stats.inbytes");
    s.outbytes = r.u64("stats.outbytes");
}

void get_rates(Reader& r, Rates& s) {
    s.cps = r.u64("rates.cps");
    s.inpps = r.u64("rates.inpps");
    s.outpps = r.u64("rates.outpps");
    s.inbps = r.u64("rates.inbps");
    s.outbps = r.u64("rates.outbps");
}

void get_prefix(Reader& r, cfg::Prefix& p, const char* addr_what, const char* len_what) {
    p.addr = r.u32(addr_what);
    const size_t at = r.position();
    p.len = r.u8(len_what);
    if (r.ok() && p.len > 32) {
        r.fail_at(at, "invalid prefix length " + std::to_string(p.len) + " for " + len_what);
    }
}

void get_port_view(Reader& r, PortView& p) {
    p.name = r.str("port.name");
    p.device = r.str("port.device");
    p.port_id = r.u16("port.port_id");
    p.mac = r.str("port.mac");
    p.link_up = r.boolean("port.link_up");
    p.speed_mbps = r.u32("port.speed_mbps");
    p.mtu = r.u16("port.mtu");
    p.rx_queues = r.u16("port.rx_queues");
    p.tx_queues = r.u16("port.tx_queues");
    const uint32_t naddr = r.count("port.addresses", kPrefixSize);
    p.addresses.reserve(naddr);
    for (uint32_t i = 0; i < naddr && r.ok(); ++i) {
        get_prefix(r, p.addresses.emplace_back(), "port.address", "port.address.len");
    }
    p.rx_packets = r.u64("port.rx_packets");
    p.tx_packets = r.u64("port.tx_packets");
    p.rx_bytes = r.u64("port.rx_bytes");
    p.tx_bytes = r.u64("port.tx_bytes");
    p.rx_missed = r.u64("port.rx_missed");
    p.rx_errors = r.u64("port.rx_errors");
    p.tx_errors = r.u64("port.tx_errors");
}

void get_worker_view(Reader& r, WorkerView& w) {
    w.id = r.u32("worker.id");
    w.lcore = r.u32("worker.lcore");
    w.rx_packets = r.u64("worker.rx_packets");
    w.tx_packets = r.u64("worker.tx_packets");
    w.drops = r.u64("worker.drops");
    w.loops = r.u64("worker.loops");
    w.busy_loops = r.u64("worker.busy_loops");
    w.connections = r.u64("worker.connections");
    w.created = r.u64("worker.created");
    w.handed_off = r.u64("worker.handed_off");
    w.taken_over = r.u64("worker.taken_over");
}

/// The five view lists at the end of every reply.
void get_views(Reader& r, Reply& rep) {
    const uint32_t nport = r.count("ports", kPortViewMinSize);
    rep.ports.reserve(nport);
    for (uint32_t i = 0; i < nport && r.ok(); ++i) {
        get_port_view(r, rep.ports.emplace_back());
    }
    const uint32_t ndrop = r.count("drops", kDropViewMinSize);
    rep.drops.reserve(ndrop);
    for (uint32_t i = 0; i < ndrop && r.ok(); ++i) {
        DropView& d = rep.drops.emplace_back();
        d.reason = r.str("drop.reason");
        d.count = r.u64("drop.count");
    }
    const uint32_t nworker = r.count("workers", kWorkerViewSize);
    rep.workers.reserve(nworker);
    for (uint32_t i = 0; i < nworker && r.ok(); ++i) {
        get_worker_view(r, rep.workers.emplace_back());
    }
    const uint32_t nneigh = r.count("neighbours", kNeighbourViewMinSize);
    rep.neighbours.reserve(nneigh);
    for (uint32_t i = 0; i < nneigh && r.ok(); ++i) {
        NeighbourView& n = rep.neighbours.emplace_back();
        n.addr = r.u32("neighbour.addr");
        n.mac = r.str("neighbour.mac");
        n.port = r.str("neighbour.port");
        n.resolved = r.boolean("neighbour.resolved");
    }
    const uint32_t nroute = r.count("routes", kRouteViewMinSize);
    rep.routes.reserve(nroute);
    for (uint32_t i = 0; i < nroute && r.ok(); ++i) {
        RouteView& rv = rep.routes.emplace_back();
        get_prefix(r, rv.prefix, "route.prefix", "route.prefix.len");
        rv.gateway = r.u32("route.gateway");
        rv.port = r.str("route.port");
    }
}

void get_request(Reader& r, Request& req, bool nested) {
    const uint16_t op = r.u16("op");
    if (!r.ok()) {
        return;
    }
    if (op >= kOpCount) {
        r.fail("unknown op " + std::to_string(op));
        return;
    }
    req.op = static_cast<Op>(op);
    switch (op_spec(req.op).body) {
        case Body::None:
            return;
        case Body::Service:
            get_service(r, req.service);
            return;
        case Body::Key:
            get_key(r, req.service.key);
            return;
        case Body::KeyDest:
            get_key(r, req.service.key);
            get_dest(r, req.dest);
            return;
        case Body::OptionalKey:
            req.has_key = r.boolean("has_key");
            if (req.has_key) {
                get_key(r, req.service.key);
            }
            return;
        case Body::Timeouts:
            get_timeouts(r, req.timeouts);
            return;
        case Body::Batch: {
            if (nested) {
                r.fail("nested batch");
                return;
            }
            const size_t at = r.position();
            const uint32_t n = r.count("batch", kRequestMinSize);
            const size_t budget = r.remaining() * kBatchExpansion + kBatchSlack;
            if (r.ok() && n > budget / sizeof(Request)) {
                r.fail_at(at, "batch count " + std::to_string(n) + " needs more memory than its " +
                                  std::to_string(r.remaining()) + " bytes allow");
                return;
            }
            req.batch.reserve(n);
            for (uint32_t i = 0; i < n && r.ok(); ++i) {
                get_request(r, req.batch.emplace_back(), true);
            }
            return;
        }
    }
}

}  // namespace

std::string_view errc_name(Errc code) {
    switch (code) {
        case Errc::Ok:
            return "Ok";
        case Errc::Invalid:
            return "Invalid";
        case Errc::NoService:
            return "NoService";
        case Errc::ServiceExists:
            return "ServiceExists";
        case Errc::NoDest:
            return "NoDest";
        case Errc::DestExists:
            return "DestExists";
        case Errc::NoScheduler:
            return "NoScheduler";
        case Errc::Unsupported:
            return "Unsupported";
        case Errc::Protocol:
            return "Protocol";
        case Errc::Resource:
            return "Resource";
        case Errc::Internal:
            return "Internal";
        case Errc::Io:
            return "Io";
    }
    return "unknown";
}

void encode_header(const Header& h, uint8_t out[kHeaderSize]) {
    const auto put = [&](size_t at, uint64_t v, size_t bytes) {
        for (size_t i = 0; i < bytes; ++i) {
            out[at + i] = static_cast<uint8_t>(v >> (8 * i));
        }
    };
    put(0, h.magic, 4);
    put(4, h.version, 2);
    put(6, static_cast<uint16_t>(h.type), 2);
    put(8, h.length, 4);
}

Result<Header> decode_header(std::span<const uint8_t> bytes) {
    if (bytes.size() < kHeaderSize) {
        return {Errc::Protocol, "truncated frame header: " + std::to_string(bytes.size()) + " of " +
                                    std::to_string(kHeaderSize) + " bytes"};
    }
    Reader r(bytes.first(kHeaderSize));
    Header h;
    h.magic = r.u32("magic");
    h.version = r.u16("version");
    const uint16_t type = r.u16("type");
    h.length = r.u32("length");
    if (h.magic != kMagic) {
        char hex[16];
        std::snprintf(hex, sizeof(hex), "0x%08x", h.magic);
        return {Errc::Protocol,
                std::string("bad frame magic ") + hex + " (not a dirigo control connection?)"};
    }
    if (h.version != kVersion) {
        return {Errc::Protocol, "unsupported protocol version " + std::to_string(h.version) +
                                    " (this side speaks " + std::to_string(kVersion) + ")"};
    }
    if (type != static_cast<uint16_t>(MsgType::Request) &&
        type != static_cast<uint16_t>(MsgType::Reply)) {
        return {Errc::Protocol, "unknown message type " + std::to_string(type)};
    }
    h.type = static_cast<MsgType>(type);
    if (h.length > kMaxPayload) {
        return {Errc::Protocol, "payload length " + std::to_string(h.length) + " exceeds " +
                                    std::to_string(kMaxPayload)};
    }
    return h;
}

std::vector<uint8_t> encode_request(const Request& r) {
    return frame(MsgType::Request, [&](Writer& w) { put_request(w, r); });
}

std::vector<uint8_t> encode_reply(const Reply& r) {
    return frame(MsgType::Reply, [&](Writer& w) { put_reply(w, r); });
}

Result<Request> decode_request(std::span<const uint8_t> payload) {
    Reader r(payload);
    Request req;
    get_request(r, req, false);
    r.expect_end();
    if (!r.ok()) {
        return {Errc::Protocol, "malformed request: " + r.error()};
    }
    return req;
}

Result<Reply> decode_reply(std::span<const uint8_t> payload) {
    Reader r(payload);
    Reply rep;
    const uint32_t code = r.u32("code");
    if (r.ok() && code > static_cast<uint32_t>(Errc::Io)) {
        r.fail("unknown error code " + std::to_string(code));
    }
    rep.code = static_cast<Errc>(code);
    rep.message = r.str("message");
    rep.info.version = r.str("info.version");
    rep.info.conn_table_size = r.u32("info.conn_table_size");
    rep.info.workers = r.u32("info.workers");
    get_timeouts(r, rep.timeouts);
    const uint32_t nsvc = r.count("services", kServiceInfoMinSize);
    rep.services.reserve(nsvc);
    for (uint32_t i = 0; i < nsvc && r.ok(); ++i) {
        ServiceInfo& si = rep.services.emplace_back();
        get_service(r, si.service);
        get_stats(r, si.stats);
        get_rates(r, si.rates);
        const uint32_t ndest = r.count("dests", kDestInfoSize);
        si.dests.reserve(ndest);
        for (uint32_t j = 0; j < ndest && r.ok(); ++j) {
            DestInfo& di = si.dests.emplace_back();
            get_dest(r, di.server);
            di.active = r.u32("dest.active");
            di.inactive = r.u32("dest.inactive");
            di.persistent = r.u32("dest.persistent");
            get_stats(r, di.stats);
            get_rates(r, di.rates);
        }
    }
    const uint32_t nconn = r.count("conns", kConnInfoMinSize);
    rep.conns.reserve(nconn);
    for (uint32_t i = 0; i < nconn && r.ok(); ++i) {
        ConnInfo& c = rep.conns.emplace_back();
        c.proto = get_proto(r, "conn.proto");
        c.state = r.str("conn.state");
        c.expires_ms = r.u32("conn.expires_ms");
        c.caddr = r.u32("conn.caddr");
        c.cport = r.u16("conn.cport");
        c.vaddr = r.u32("conn.vaddr");
        c.vport = r.u16("conn.vport");
        c.daddr = r.u32("conn.daddr");
        c.dport = r.u16("conn.dport");
    }
    get_views(r, rep);
    r.expect_end();
    if (!r.ok()) {
        return {Errc::Protocol, "malformed reply: " + r.error()};
    }
    return rep;
}

}  // namespace dirigo::ctl
