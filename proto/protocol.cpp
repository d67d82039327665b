// SPDX-License-Identifier: BSD-3-Clause
#include "proto/protocol.hpp"

#include <concepts>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace dirigo::ctl {

namespace {

// A request's smallest encoding: its op alone.
constexpr size_t kRequestMinSize = 2;

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

// ---- the fields of every message, once ----
//
// Each fields() overload lists one type's fields in wire order with the names that decode errors
// give. Three walkers take them: Put writes, Get reads and checks, Size adds up the smallest
// encoding (every string and list empty) that Get::list uses to refuse a count the remaining
// bytes cannot hold before anything is allocated.

template <class T, class U>
concept Like = std::same_as<std::remove_const_t<T>, U>;

template <class V, Like<cfg::ServiceKey> K>
void fields(V& v, K& k) {
    v.proto(k.proto, "service.proto");
    v.u32(k.addr, "service.addr");
    v.u16(k.port, "service.port");
    v.u32(k.fwmark, "service.fwmark");
    v.family(k.af, "service.af");
    v.ip6(k.addr6, "service.addr6");
}

template <class V, Like<cfg::Service> S>
void fields(V& v, S& s) {
    fields(v, s.key);
    v.str(s.scheduler, "service.scheduler");
    v.u32(s.flags, "service.flags");
    v.u32(s.timeout, "service.timeout");
    v.u32(s.netmask, "service.netmask");
    v.plen6(s.prefix6, "service.prefix6");
}

template <class V, Like<cfg::RealServer> D>
void fields(V& v, D& d) {
    v.u32(d.addr, "dest.addr");
    v.u16(d.port, "dest.port");
    v.fwd(d.fwd, "dest.fwd");
    v.i32(d.weight, "dest.weight");
    v.u32(d.u_threshold, "dest.u_threshold");
    v.u32(d.l_threshold, "dest.l_threshold");
    v.tun_type(d.tun_type, "dest.tun_type");
    v.u16(d.tun_port, "dest.tun_port");
    v.tun_csum(d.tun_csum, "dest.tun_csum");
    v.family(d.af, "dest.af");
    v.ip6(d.addr6, "dest.addr6");
}

template <class V, Like<cfg::PortRange> P>
void fields(V& v, P& p) {
    v.u16(p.lo, "mark.port.lo");
    v.u16(p.hi, "mark.port.hi");
}

template <class V, Like<cfg::MarkRule> M>
void fields(V& v, M& m) {
    v.prefix(m.dst, "mark.addr", "mark.len");
    v.u8(m.proto, "mark.proto");
    v.list(m.ports, "mark.ports");
    v.u32(m.mark, "mark.mark");
    v.family(m.af, "mark.af");
    v.ip6(m.dst6.addr, "mark.addr6");
    v.plen6(m.dst6.len, "mark.len6");
}

template <class V, Like<cfg::TimeoutCfg> T>
void fields(V& v, T& t) {
    v.u32(t.tcp, "timeouts.tcp");
    v.u32(t.tcp_fin, "timeouts.tcp_fin");
    v.u32(t.udp, "timeouts.udp");
}

template <class V, Like<Stats> S>
void fields(V& v, S& s) {
    v.u64(s.conns, "stats.conns");
    v.u64(s.inpkts, "stats.inpkts");
    v.u64(s.outpkts, "stats.outpkts");
    v.u64(s.inbytes, "stats.inbytes");
    v.u64(s.outbytes, "stats.outbytes");
}

template <class V, Like<Rates> R>
void fields(V& v, R& r) {
    v.u64(r.cps, "rates.cps");
    v.u64(r.inpps, "rates.inpps");
    v.u64(r.outpps, "rates.outpps");
    v.u64(r.inbps, "rates.inbps");
    v.u64(r.outbps, "rates.outbps");
}

template <class V, Like<DestInfo> D>
void fields(V& v, D& d) {
    fields(v, d.server);
    v.u32(d.active, "dest.active");
    v.u32(d.inactive, "dest.inactive");
    v.u32(d.persistent, "dest.persistent");
    fields(v, d.stats);
    fields(v, d.rates);
}

template <class V, Like<ServiceInfo> S>
void fields(V& v, S& s) {
    fields(v, s.service);
    fields(v, s.stats);
    fields(v, s.rates);
    v.list(s.dests, "dests");
}

template <class V, Like<ConnInfo> C>
void fields(V& v, C& c) {
    v.ip_proto(c.proto, "conn.proto");
    v.str(c.state, "conn.state");
    v.u32(c.expires_ms, "conn.expires_ms");
    v.u32(c.caddr, "conn.caddr");
    v.u16(c.cport, "conn.cport");
    v.u32(c.vaddr, "conn.vaddr");
    v.u16(c.vport, "conn.vport");
    v.u32(c.daddr, "conn.daddr");
    v.u16(c.dport, "conn.dport");
    v.family(c.af, "conn.af");
    v.ip6(c.caddr6, "conn.caddr6");
    v.ip6(c.vaddr6, "conn.vaddr6");
    v.ip6(c.daddr6, "conn.daddr6");
}

template <class V, Like<PortView> P>
void fields(V& v, P& p) {
    v.str(p.name, "port.name");
    v.str(p.device, "port.device");
    v.u16(p.port_id, "port.port_id");
    v.str(p.mac, "port.mac");
    v.boolean(p.link_up, "port.link_up");
    v.u32(p.speed_mbps, "port.speed_mbps");
    v.u16(p.mtu, "port.mtu");
    v.u16(p.rx_queues, "port.rx_queues");
    v.u16(p.tx_queues, "port.tx_queues");
    v.prefixes(p.addresses, "port.addresses", "port.address", "port.address.len");
    v.u64(p.rx_packets, "port.rx_packets");
    v.u64(p.tx_packets, "port.tx_packets");
    v.u64(p.rx_bytes, "port.rx_bytes");
    v.u64(p.tx_bytes, "port.tx_bytes");
    v.u64(p.rx_missed, "port.rx_missed");
    v.u64(p.rx_errors, "port.rx_errors");
    v.u64(p.tx_errors, "port.tx_errors");
    v.str(p.kernel_iface, "port.kernel_iface");
    v.boolean(p.kernel_up, "port.kernel_up");
    v.u64(p.to_kernel, "port.to_kernel");
    v.u64(p.from_kernel, "port.from_kernel");
}

template <class V, Like<DropView> D>
void fields(V& v, D& d) {
    v.str(d.reason, "drop.reason");
    v.u64(d.count, "drop.count");
}

template <class V, Like<WorkerView> W>
void fields(V& v, W& w) {
    v.u32(w.id, "worker.id");
    v.u32(w.lcore, "worker.lcore");
    v.u64(w.rx_packets, "worker.rx_packets");
    v.u64(w.tx_packets, "worker.tx_packets");
    v.u64(w.drops, "worker.drops");
    v.u64(w.loops, "worker.loops");
    v.u64(w.busy_loops, "worker.busy_loops");
    v.u64(w.connections, "worker.connections");
    v.u64(w.created, "worker.created");
    v.u64(w.handed_off, "worker.handed_off");
    v.u64(w.taken_over, "worker.taken_over");
    v.u64(w.sleeps, "worker.sleeps");
    v.u64(w.slept_us, "worker.slept_us");
}

template <class V, Like<NeighbourView> N>
void fields(V& v, N& n) {
    v.u32(n.addr, "neighbour.addr");
    v.str(n.mac, "neighbour.mac");
    v.str(n.port, "neighbour.port");
    v.neigh_state(n.state, "neighbour.state");
}

template <class V, Like<RouteView> R>
void fields(V& v, R& r) {
    v.prefix(r.prefix, "route.prefix", "route.prefix.len");
    v.u32(r.gateway, "route.gateway");
    v.str(r.port, "route.port");
}

template <class V, Like<DaemonCfg> D>
void fields(V& v, D& d) {
    v.sync_role(d.role, "daemon.role");
    v.str(d.mcast_ifn, "daemon.mcast_ifn");
    v.u8(d.syncid, "daemon.syncid");
    v.u16(d.sync_maxlen, "daemon.sync_maxlen");
    v.u32(d.mcast_group, "daemon.mcast_group");
    v.u16(d.mcast_port, "daemon.mcast_port");
    v.u8(d.mcast_ttl, "daemon.mcast_ttl");
}

template <class V, Like<DaemonView> D>
void fields(V& v, D& d) {
    fields(v, d.cfg);
    v.u64(d.messages, "daemon.messages");
    v.u64(d.conns, "daemon.conns");
    v.u64(d.dropped, "daemon.dropped");
}

// Every reply carries every list (empty unless its op fills them), so a reply decodes without
// knowing its request.
template <class V, Like<Reply> R>
void fields(V& v, R& r) {
    v.code(r.code, "code");
    v.str(r.message, "message");
    v.str(r.info.version, "info.version");
    v.u32(r.info.conn_table_size, "info.conn_table_size");
    v.u32(r.info.workers, "info.workers");
    fields(v, r.timeouts);
    v.list(r.services, "services");
    v.list(r.conns, "conns");
    v.list(r.ports, "ports");
    v.list(r.drops, "drops");
    v.list(r.workers, "workers");
    v.list(r.neighbours, "neighbours");
    v.list(r.routes, "routes");
    v.list(r.daemons, "daemons");
    v.list(r.marks, "marks");
}

/// Adds up the smallest encoding of a type: strings and lists empty.
struct Size {
    size_t n = 0;
    void u8(uint8_t, const char*) { n += 1; }
    void u16(uint16_t, const char*) { n += 2; }
    void u32(uint32_t, const char*) { n += 4; }
    void u64(uint64_t, const char*) { n += 8; }
    void i32(int32_t, const char*) { n += 4; }
    void boolean(bool, const char*) { n += 1; }
    void proto(cfg::Proto, const char*) { n += 1; }
    void ip_proto(uint8_t, const char*) { n += 1; }
    void fwd(cfg::Fwd, const char*) { n += 1; }
    void family(cfg::Family, const char*) { n += 1; }
    void ip6(const cfg::Ip6&, const char*) { n += 16; }
    void plen6(uint8_t, const char*) { n += 1; }
    void tun_type(cfg::TunType, const char*) { n += 1; }
    void tun_csum(cfg::TunCsum, const char*) { n += 1; }
    void neigh_state(NeighState, const char*) { n += 1; }
    void sync_role(SyncRole, const char*) { n += 1; }
    void code(Errc, const char*) { n += 4; }
    void str(const std::string&, const char*) { n += 4; }
    void prefix(const cfg::Prefix&, const char*, const char*) { n += 5; }
    void prefixes(const std::vector<cfg::Prefix>&, const char*, const char*, const char*) {
        n += 4;
    }
    template <class T>
    void list(const std::vector<T>&, const char*) {
        n += 4;
    }
};

/// The smallest encoding of one T, computed once from its fields().
template <class T>
size_t min_size() {
    static const size_t n = [] {
        Size s;
        T t{};
        fields(s, t);
        return s.n;
    }();
    return n;
}

/// Writes fields. Never fails: limits are the decoder's business (and call()'s, which refuses to
/// send an oversized frame).
class Put {
public:
    explicit Put(Writer& w) : w_(w) {}
    void u8(uint8_t v, const char*) { w_.u8(v); }
    void u16(uint16_t v, const char*) { w_.u16(v); }
    void u32(uint32_t v, const char*) { w_.u32(v); }
    void u64(uint64_t v, const char*) { w_.u64(v); }
    void i32(int32_t v, const char*) { w_.i32(v); }
    void boolean(bool v, const char*) { w_.u8(v ? 1 : 0); }
    void proto(cfg::Proto p, const char*) { w_.u8(static_cast<uint8_t>(p)); }
    void ip_proto(uint8_t p, const char*) { w_.u8(p); }
    void fwd(cfg::Fwd f, const char*) { w_.u8(static_cast<uint8_t>(f)); }
    void family(cfg::Family f, const char*) { w_.u8(static_cast<uint8_t>(f)); }
    void ip6(const cfg::Ip6& a, const char*) {
        for (uint8_t b : a.b) {
            w_.u8(b);
        }
    }
    void plen6(uint8_t v, const char*) { w_.u8(v); }
    void tun_type(cfg::TunType t, const char*) { w_.u8(static_cast<uint8_t>(t)); }
    void tun_csum(cfg::TunCsum c, const char*) { w_.u8(static_cast<uint8_t>(c)); }
    void neigh_state(NeighState s, const char*) { w_.u8(static_cast<uint8_t>(s)); }
    void sync_role(SyncRole s, const char*) { w_.u8(static_cast<uint8_t>(s)); }
    void code(Errc c, const char*) { w_.u32(static_cast<uint32_t>(c)); }
    void str(const std::string& s, const char*) { w_.str(s); }
    void prefix(const cfg::Prefix& p, const char*, const char*) {
        w_.u32(p.addr);
        w_.u8(p.len);
    }
    void prefixes(const std::vector<cfg::Prefix>& ps, const char*, const char*, const char*) {
        w_.count(ps.size());
        for (const cfg::Prefix& p : ps) {
            prefix(p, nullptr, nullptr);
        }
    }
    template <class T>
    void list(const std::vector<T>& v, const char*) {
        w_.count(v.size());
        for (const T& x : v) {
            fields(*this, x);
        }
    }
    Writer& writer() { return w_; }

private:
    Writer& w_;
};

/// Reads and checks fields; the first failure sticks (see Reader).
class Get {
public:
    explicit Get(Reader& r) : r_(r) {}
    void u8(uint8_t& v, const char* what) { v = r_.u8(what); }
    void u16(uint16_t& v, const char* what) { v = r_.u16(what); }
    void u32(uint32_t& v, const char* what) { v = r_.u32(what); }
    void u64(uint64_t& v, const char* what) { v = r_.u64(what); }
    void i32(int32_t& v, const char* what) { v = r_.i32(what); }
    void boolean(bool& v, const char* what) { v = r_.boolean(what); }
    void str(std::string& v, const char* what) { v = r_.str(what); }
    void proto(cfg::Proto& p, const char* what) {
        const uint8_t v = r_.u8(what);
        // SCTP (132) came after version 2 without a version bump: an older peer rejects it here
        // as it rejects any unknown protocol.
        if (r_.ok() && v != static_cast<uint8_t>(cfg::Proto::Tcp) &&
            v != static_cast<uint8_t>(cfg::Proto::Udp) &&
            v != static_cast<uint8_t>(cfg::Proto::Sctp)) {
            r_.fail(std::string("invalid protocol ") + std::to_string(v) + " in " + what);
        }
        p = r_.ok() ? static_cast<cfg::Proto>(v) : cfg::Proto::Tcp;
    }
    /// A connection's protocol: a service's, or IP (0) for a fwmark template.
    void ip_proto(uint8_t& p, const char* what) {
        p = r_.u8(what);
        if (r_.ok() && p != 0 && p != static_cast<uint8_t>(cfg::Proto::Tcp) &&
            p != static_cast<uint8_t>(cfg::Proto::Udp) &&
            p != static_cast<uint8_t>(cfg::Proto::Sctp)) {
            r_.fail(std::string("invalid protocol ") + std::to_string(p) + " in " + what);
        }
    }
    void fwd(cfg::Fwd& f, const char* what) {
        const uint8_t v = r_.u8(what);
        if (r_.ok() && v > static_cast<uint8_t>(cfg::Fwd::Tunnel)) {
            r_.fail("invalid forwarding method " + std::to_string(v));
        }
        f = static_cast<cfg::Fwd>(v);
    }
    /// An address family: 4 (Inet) or 6 (Inet6), the values of cfg::Family.
    void family(cfg::Family& f, const char* what) {
        const size_t at = r_.position();
        const uint8_t v = r_.u8(what);
        if (r_.ok() && v != static_cast<uint8_t>(cfg::Family::Inet) &&
            v != static_cast<uint8_t>(cfg::Family::Inet6)) {
            r_.fail_at(at, std::string("invalid address family ") + std::to_string(v) + " in " +
                               what);
        }
        f = r_.ok() ? static_cast<cfg::Family>(v) : cfg::Family::Inet;
    }
    /// 16 bytes in network order, as they are kept.
    void ip6(cfg::Ip6& a, const char* what) {
        for (uint8_t& b : a.b) {
            b = r_.u8(what);
        }
    }
    /// An IPv6 prefix length, 0..128.
    void plen6(uint8_t& v, const char* what) {
        const size_t at = r_.position();
        v = r_.u8(what);
        if (r_.ok() && v > 128) {
            r_.fail_at(at, "invalid prefix length " + std::to_string(v) + " for " + what);
        }
    }
    void tun_type(cfg::TunType& t, const char* what) {
        const size_t at = r_.position();
        const uint8_t v = r_.u8(what);
        if (r_.ok() && v > static_cast<uint8_t>(cfg::TunType::Gre)) {
            r_.fail_at(at, std::string("invalid ") + what + " " + std::to_string(v));
        }
        t = static_cast<cfg::TunType>(v);
    }
    void tun_csum(cfg::TunCsum& c, const char* what) {
        const size_t at = r_.position();
        const uint8_t v = r_.u8(what);
        if (r_.ok() && v > static_cast<uint8_t>(cfg::TunCsum::RemCsum)) {
            r_.fail_at(at, std::string("invalid ") + what + " " + std::to_string(v));
        }
        c = static_cast<cfg::TunCsum>(v);
    }
    void neigh_state(NeighState& s, const char* what) {
        const size_t at = r_.position();
        const uint8_t v = r_.u8(what);
        if (r_.ok() && v > static_cast<uint8_t>(NeighState::Failed)) {
            r_.fail_at(at, std::string("invalid ") + what + " " + std::to_string(v));
        }
        s = static_cast<NeighState>(v);
    }
    void sync_role(SyncRole& s, const char* what) {
        const size_t at = r_.position();
        const uint8_t v = r_.u8(what);
        if (r_.ok() && v != static_cast<uint8_t>(SyncRole::Master) &&
            v != static_cast<uint8_t>(SyncRole::Backup)) {
            r_.fail_at(at, std::string("invalid ") + what + " " + std::to_string(v));
        }
        s = static_cast<SyncRole>(v);
    }
    void code(Errc& c, const char* what) {
        const uint32_t v = r_.u32(what);
        if (r_.ok() && v > static_cast<uint32_t>(Errc::NoDevice)) {
            r_.fail("unknown error code " + std::to_string(v));
        }
        c = static_cast<Errc>(v);
    }
    void prefix(cfg::Prefix& p, const char* addr_what, const char* len_what) {
        p.addr = r_.u32(addr_what);
        const size_t at = r_.position();
        p.len = r_.u8(len_what);
        if (r_.ok() && p.len > 32) {
            r_.fail_at(at, "invalid prefix length " + std::to_string(p.len) + " for " + len_what);
        }
    }
    void prefixes(std::vector<cfg::Prefix>& ps, const char* what, const char* addr_what,
                  const char* len_what) {
        const uint32_t n = r_.count(what, 5);
        ps.reserve(n);
        for (uint32_t i = 0; i < n && r_.ok(); ++i) {
            prefix(ps.emplace_back(), addr_what, len_what);
        }
    }
    template <class T>
    void list(std::vector<T>& v, const char* what) {
        const uint32_t n = r_.count(what, min_size<T>());
        v.reserve(n);
        for (uint32_t i = 0; i < n && r_.ok(); ++i) {
            fields(*this, v.emplace_back());
        }
    }
    Reader& reader() { return r_; }

private:
    Reader& r_;
};

// ---- requests ----

void put_request(Writer& w, const Request& r) {
    Put put(w);
    w.u16(static_cast<uint16_t>(r.op));
    if (!is_known(r.op)) {
        return;  // the decoder reports it
    }
    switch (op_spec(r.op).body) {
        case Body::None:
            return;
        case Body::Service:
            fields(put, r.service);
            return;
        case Body::Key:
            fields(put, r.service.key);
            return;
        case Body::KeyDest:
            fields(put, r.service.key);
            fields(put, r.dest);
            return;
        case Body::OptionalKey:
            w.u8(r.has_key ? 1 : 0);
            if (r.has_key) {
                fields(put, r.service.key);
            }
            return;
        case Body::Timeouts:
            fields(put, r.timeouts);
            return;
        case Body::Daemon:
            fields(put, r.daemon);
            return;
        case Body::Mark:
            fields(put, r.mark);
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

void get_request(Reader& r, Request& req, bool nested) {
    Get get(r);
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
            fields(get, req.service);
            return;
        case Body::Key:
            fields(get, req.service.key);
            return;
        case Body::KeyDest:
            fields(get, req.service.key);
            fields(get, req.dest);
            return;
        case Body::OptionalKey:
            req.has_key = r.boolean("has_key");
            if (req.has_key) {
                fields(get, req.service.key);
            }
            return;
        case Body::Timeouts:
            fields(get, req.timeouts);
            return;
        case Body::Daemon:
            fields(get, req.daemon);
            return;
        case Body::Mark:
            fields(get, req.mark);
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
        case Errc::DaemonRunning:
            return "DaemonRunning";
        case Errc::NoDaemon:
            return "NoDaemon";
        case Errc::NoDevice:
            return "NoDevice";
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
    return frame(MsgType::Reply, [&](Writer& w) {
        Put put(w);
        fields(put, r);
    });
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
    Get get(r);
    Reply rep;
    fields(get, rep);
    r.expect_end();
    if (!r.ok()) {
        return {Errc::Protocol, "malformed reply: " + r.error()};
    }
    return rep;
}

}  // namespace dirigo::ctl
