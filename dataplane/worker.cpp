// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/worker.hpp"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

namespace dirigo::dp {
namespace {

int g_slow_meta_offset = -1;

bool is_ours(const rte_ether_addr& dst, const rte_ether_addr& mine) {
    return rte_is_same_ether_addr(&dst, &mine) || rte_is_multicast_ether_addr(&dst);
}

}  // namespace

bool register_slow_meta() {
    static const rte_mbuf_dynfield desc = {
        "dirigo_slow_meta", sizeof(SlowMeta), alignof(SlowMeta), 0,
    };
    g_slow_meta_offset = rte_mbuf_dynfield_register(&desc);
    return g_slow_meta_offset >= 0;
}

SlowMeta* slow_meta(rte_mbuf* m) {
    return RTE_MBUF_DYNFIELD(m, g_slow_meta_offset, SlowMeta*);
}

Worker::Worker(uint32_t id, const WorkerEnv& env, std::unique_ptr<ct::ConnTable> table,
               rte_ring* inject_ring, rte_ring* command_ring)
    : id_(id),
      env_(env),
      table_(std::move(table)),
      inject_ring_(inject_ring),
      command_ring_(command_ring) {}

Worker::~Worker() {
    for (auto& b : tx_) {
        rte_pktmbuf_free_bulk(b.pkts, b.n);
        b.n = 0;
    }
    for (auto& h : handoff_) {
        rte_pktmbuf_free_bulk(h.pkts, h.n);
        h.n = 0;
    }
}

void Worker::set_handoff(const std::vector<rte_ring*>& to, const std::vector<rte_ring*>& from) {
    for (uint32_t w = 0; w < to.size() && w < kMaxWorkers; ++w) {
        handoff_[w].to = to[w];
        handoff_[w].from = from[w];
    }
}

void Worker::run(const std::atomic<bool>& stop) noexcept {
    rte_rcu_qsbr_thread_online(env_.qsv, id_);
    while (!stop.load(std::memory_order_relaxed)) {
        // Pairs with the release in Dataplane::publish(): everything the snapshot points to is
        // visible once the pointer is.
        const Snapshot& snap = *env_.published->load(std::memory_order_acquire);
        iterate(snap);
        // No reference to `snap` survives past here.
        rte_rcu_qsbr_quiescent(env_.qsv, id_);
    }
    tx_flush();
    rte_rcu_qsbr_thread_offline(env_.qsv, id_);
}

uint32_t Worker::poll_once() noexcept {
    rte_rcu_qsbr_thread_online(env_.qsv, id_);
    const Snapshot& snap = *env_.published->load(std::memory_order_acquire);
    const uint32_t n = iterate(snap);
    rte_rcu_qsbr_quiescent(env_.qsv, id_);
    rte_rcu_qsbr_thread_offline(env_.qsv, id_);
    return n;
}

uint32_t Worker::iterate(const Snapshot& snap) noexcept {
    drain_inject();
    const uint64_t now = rte_rdtsc();
    uint32_t total = 0;
    rte_mbuf* pkts[kBurst];
    for (uint16_t pi = 0; pi < env_.n_ports; ++pi) {
        const uint16_t port = env_.port_ids[pi];
        // Ports with fewer RX queues than workers are polled by the first workers only; the
        // others get their flows through hand-off.
        if (id_ >= env_.rx_queues[port]) {
            continue;
        }
        const uint16_t n = rte_eth_rx_burst(port, static_cast<uint16_t>(id_), pkts, kBurst);
        if (n == 0) {
            continue;
        }
        total += n;
        process_burst(snap, port, pkts, n, now);
    }
    if (env_.n_workers > 1) {
        flush_handoff();
        for (uint32_t w = 0; w < env_.n_workers; ++w) {
            if (handoff_[w].from == nullptr) {
                continue;
            }
            const auto n = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
                handoff_[w].from, reinterpret_cast<void**>(pkts), kBurst, nullptr));
            if (n != 0) {
                total += n;
                bump(stats_.taken_over, n);
                process_burst(snap, kFromPeer, pkts, n, now);
            }
        }
    }
    tx_flush();
    table_->sweep(now, kSweepBudget, [this](uint32_t, const ct::Conn& c) {
        conn_released(c);
        bump(stats_.conns_expired);
    });
    poll_commands();
    bump(stats_.loops);
    if (total != 0) {
        bump(stats_.busy_loops);
    }
    return total;
}

void Worker::process_burst(const Snapshot& snap, uint16_t port, rte_mbuf** pkts, uint16_t n,
                           uint64_t now) noexcept {
    const bool fresh = port != kFromPeer;
    const bool share = fresh && env_.n_workers > 1;
    Parsed parsed[kBurst];
    const ct::FlowKey* keys[kBurst];
    uint32_t n_keys = 0;

    // Stage 1: parse and classify, prefetching a few packets ahead; hand over what is not ours.
    for (uint32_t i = 0; i < kPrefetchAhead && i < n; ++i) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    }
    uint64_t rx_bytes = 0;
    for (uint16_t i = 0; i < n; ++i) {
        if (i + kPrefetchAhead < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
        }
        rte_mbuf* m = pkts[i];
        if (fresh) {
            // Not every PMD stamps the input port; the slow path and hand-off need it.
            m->port = port;
            rx_bytes += rte_pktmbuf_pkt_len(m);
        }
        Parsed& p = parsed[i];
        if (m->nb_segs != 1) [[unlikely]] {
            p.cls = PktClass::Drop;
            p.drop = Drop::Unsupported;
            continue;
        }
        parse_frame(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), p);
        if (p.cls != PktClass::Drop && !is_ours(p.eth->dst_addr, snap.topo->ports[m->port].mac))
            [[unlikely]] {
            p.cls = PktClass::Drop;
            p.drop = Drop::NotForUs;
        }
        if (p.cls == PktClass::Ipv4L4 || p.cls == PktClass::IcmpError) {
            if (share) {
                const uint32_t owner = owner_of(snap, p);
                if (owner != id_) {
                    Handoff& h = handoff_[owner];
                    h.pkts[h.n++] = m;
                    if (h.n == kBurst) {
                        flush_handoff();
                    }
                    p.cls = PktClass::HandedOff;
                    continue;
                }
            }
            keys[n_keys] = &p.key;
            ++n_keys;
        }
    }
    if (fresh) {
        PortStats& ps = stats_.ports[port];
        bump(ps.rx, n);
        bump(ps.rx_bytes, rx_bytes);
    }

    // Stage 2: one bulk lookup for every TCP/UDP packet of the burst that is ours.
    uint32_t found[kBurst];
    if (n_keys != 0) {
        table_->lookup_bulk(keys, n_keys, found);
        // Fetch every hit's entry now, so the burst's entry misses overlap instead of queueing
        // one by one in stage 3.
        for (uint32_t i = 0; i < n_keys; ++i) {
            if (found[i] != ct::kMiss) {
                rte_prefetch0(&table_->at(ct::lookup_index(found[i])));
            }
        }
    }

    // Stage 3: act on each packet.
    table_changes_in_burst_ = 0;
    uint32_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        Parsed& p = parsed[i];
        switch (p.cls) {
        case PktClass::Ipv4L4:
            handle_l4(snap, m, p, found[k++], now);
            break;
        case PktClass::Ipv4Icmp:
            handle_icmp(snap, m, p);
            break;
        case PktClass::IcmpError:
            handle_icmp_error(snap, m, p, found[k++]);
            break;
        case PktClass::Ipv4Other:
            handle_other(snap, m, p);
            break;
        case PktClass::Arp:
            to_slow_path(m, SlowKind::Arp, 0, m->port);
            break;
        case PktClass::Drop:
            drop(m, p.drop);
            break;
        case PktClass::HandedOff:
            break;
        }
    }
}

uint32_t Worker::owner_of(const Snapshot& snap, const Parsed& p) const noexcept {
    // To one of our addresses: the client is the source. Otherwise (a NAT reply, or transit
    // traffic): the client side is the destination.
    if (snap.topo->local.find(p.key.daddr) != FlatMap::kNotFound) {
        return flow_owner(p.key.saddr, p.key.sport, env_.n_workers);
    }
    return flow_owner(p.key.daddr, p.key.dport, env_.n_workers);
}

void Worker::flush_handoff() noexcept {
    for (uint32_t w = 0; w < env_.n_workers; ++w) {
        Handoff& h = handoff_[w];
        if (h.n == 0) {
            continue;
        }
        // Single producer (this worker), single consumer (the owner): pairs with its sc dequeue.
        const unsigned sent = rte_ring_sp_enqueue_burst(h.to, reinterpret_cast<void**>(h.pkts),
                                                        h.n, nullptr);
        bump(stats_.handed_off, sent);
        if (sent < h.n) [[unlikely]] {
            bump(stats_.drops[static_cast<size_t>(Drop::HandoffFull)], h.n - sent);
            rte_pktmbuf_free_bulk(h.pkts + sent, h.n - sent);
        }
        h.n = 0;
    }
}

void Worker::handle_l4(const Snapshot& snap, rte_mbuf* m, Parsed& p, uint32_t lookup,
                       uint64_t now) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    if (table_changes_in_burst_ != 0) [[unlikely]] {
        // The bulk lookup ran before this burst's earlier packets created or retired connections:
        // its answer may be stale (an entry freed, or freed and reused by another flow), and a
        // later packet of a flow created in this burst (a SYN then its ACK) must find it.
        lookup = table_->lookup(p.key);
    }
    if (lookup != ct::kMiss) {
        ct::Conn& c = table_->at(ct::lookup_index(lookup));
        if (c.expire <= now) [[unlikely]] {
            // Dead but not yet swept: retire it now and treat the packet as new.
            conn_released(c);
            bump(stats_.conns_expired);
            table_->remove(ct::lookup_index(lookup));
            ++table_changes_in_burst_;
            lookup = ct::kMiss;
        }
    }
    uint32_t idx;
    bool reply;
    if (lookup != ct::kMiss) {
        idx = ct::lookup_index(lookup);
        reply = ct::lookup_is_reply(lookup);
    } else {
        // A new flow: only to a service, and for TCP only on a SYN.
        const ServiceEntry* svc = snap.find_service(p.key.proto, p.key.daddr, p.key.dport);
        if (svc != nullptr && p.first_frag) [[unlikely]] {
            drop(m, Drop::Fragment);  // a fragment never opens a connection
            return;
        }
        if (svc == nullptr) {
            if (snap.topo->local.find(p.key.daddr) != FlatMap::kNotFound) {
                drop(m, Drop::NoService);
            } else {
                handle_other(snap, m, p);
            }
            return;
        }
        if (p.key.proto == IPPROTO_TCP &&
            (p.tcp_flags & (ct::kTcpSyn | ct::kTcpAck | ct::kTcpRst)) != ct::kTcpSyn) {
            drop(m, Drop::NoConn);
            return;
        }
        sched::SchedInput in;
        in.saddr = rte_be_to_cpu_32(p.key.saddr);
        in.daddr = rte_be_to_cpu_32(p.key.daddr);
        in.sport = rte_be_to_cpu_16(p.key.sport);
        in.dport = rte_be_to_cpu_16(p.key.dport);
        in.proto = p.key.proto;
        // Milliseconds by multiply-shift: no division on the packet path.
        in.now_ms = static_cast<uint64_t>((static_cast<unsigned __int128>(now) * env_.ms_mult) >> 32);
        const DestEntry* dest = nullptr;
        uint32_t tmpl = kNoTemplate;
        if (svc->flags & cfg::kSvcPersistent) {
            dest = persistent_pick(*svc, in, p.key.saddr & svc->netmask, now, tmpl);
        } else {
            const sched::BackendIdx b = svc->sched->pick(in);
            dest = b == sched::kNoBackend ? nullptr : &svc->dests[b];
        }
        if (dest == nullptr) {
            drop(m, Drop::NoBackend);
            return;
        }
        const DestEntry& d = *dest;
        ct::Conn c;
        c.client = p.key;
        c.raddr = d.addr;
        c.rport = d.port;
        c.fwd = static_cast<uint8_t>(d.fwd);
        c.state = p.key.proto == IPPROTO_TCP ? ct::TcpState::None : ct::TcpState::Udp;
        c.dest_slot = d.slot;
        c.svc_slot = svc->slot;
        c.flags = ct::kConnInactive;
        c.tmpl = tmpl;
        c.expire = now + snap.timeout_tsc[static_cast<size_t>(c.state)];
        // Only NAT sees replies: DR and TUN servers answer the client directly.
        idx = table_->insert(c, d.fwd == cfg::Fwd::Masq);
        if (idx == ct::kMiss) {
            if (tmpl != kNoTemplate) {
                env_.persist->release(tmpl, now);
            }
            drop(m, Drop::TableFull);
            return;
        }
        // IPVS binds a new connection as inactive until it reaches ESTABLISHED.
        sched::DestCounters& dc = env_.dest_counters[d.slot];
        // Once per new connection: the shared count is what lc/wlc read on every worker.
        dc.inactive.fetch_add(1, std::memory_order_relaxed);
        sched::refresh_overload(dc, d.u_threshold, d.l_threshold);
        bump(stats_.conns_created);
        bump(stats_.live_conns);
        ++table_changes_in_burst_;
        bump(stats_.svc[svc->slot].conns);
        bump(stats_.dest[d.slot].conns);
        reply = false;
    }

    ct::Conn& c = table_->at(idx);
    const auto fwd = static_cast<cfg::Fwd>(c.fwd);
    if (fwd == cfg::Fwd::Masq && ip->time_to_live <= 1) [[unlikely]] {
        to_slow_path(m, SlowKind::TtlExceeded, 0, m->port);
        return;
    }
    if (c.client.proto == IPPROTO_TCP) {
        // DR and TUN see one direction only: IPVS's input-only state table.
        const ct::Dir dir = reply                       ? ct::Dir::Output
                            : fwd == cfg::Fwd::Masq ? ct::Dir::Input
                                                        : ct::Dir::InputOnly;
        conn_state(c, dir, p.tcp_flags, snap, now);
    } else {
        c.expire = now + snap.timeout_tsc[static_cast<size_t>(ct::TcpState::Udp)];
    }
    if (!reply) {
        bump(stats_.svc[c.svc_slot].inpkts);
        bump(stats_.svc[c.svc_slot].inbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].inpkts);
        bump(stats_.dest[c.dest_slot].inbytes, p.l3_len);
        switch (fwd) {
        case cfg::Fwd::Masq:
            decrement_ttl(ip);
            rewrite_dst(ip, p.l4, c.raddr, c.rport);
            route_out(snap, m, p.eth, c.raddr);
            break;
        case cfg::Fwd::Route:
            dr_out(snap, m, p.eth, c.raddr);
            break;
        case cfg::Fwd::Tunnel:
            tun_out(snap, m, p, c.raddr);
            break;
        }
    } else {
        decrement_ttl(ip);
        bump(stats_.svc[c.svc_slot].outpkts);
        bump(stats_.svc[c.svc_slot].outbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].outpkts);
        bump(stats_.dest[c.dest_slot].outbytes, p.l3_len);
        rewrite_src(ip, p.l4, c.client.daddr, c.client.dport);
        route_out(snap, m, p.eth, c.client.saddr);
    }
}

void Worker::conn_state(ct::Conn& c, ct::Dir dir, uint8_t tcp_flags, const Snapshot& snap,
                        uint64_t now) noexcept {
    const ct::TcpState next = ct::tcp_next_state(c.state, dir, tcp_flags);
    if (next != c.state) {
        // IPVS's accounting: a connection is active exactly while ESTABLISHED.
        sched::DestCounters& dc = env_.dest_counters[c.dest_slot];
        const bool inactive = (c.flags & ct::kConnInactive) != 0;
        if (!inactive && next != ct::TcpState::Established) {
            // Once per state change, never per packet; read by schedulers on every worker.
            dc.active.fetch_sub(1, std::memory_order_relaxed);
            dc.inactive.fetch_add(1, std::memory_order_relaxed);
            c.flags |= ct::kConnInactive;
        } else if (inactive && next == ct::TcpState::Established) {
            dc.active.fetch_add(1, std::memory_order_relaxed);
            dc.inactive.fetch_sub(1, std::memory_order_relaxed);
            c.flags &= static_cast<uint8_t>(~ct::kConnInactive);
        }
        c.state = next;
    }
    c.expire = now + snap.timeout_tsc[static_cast<size_t>(c.state)];
}

const DestEntry* Worker::persistent_pick(const ServiceEntry& svc, const sched::SchedInput& in,
                                         uint32_t client, uint64_t now, uint32_t& tmpl) noexcept {
    auto valid = [&svc](uint32_t slot) { return find_dest_by_slot(svc, slot) != nullptr; };
    auto pick = [&svc, &in]() {
        const sched::BackendIdx b = svc.sched->pick(in);
        return b == sched::kNoBackend ? kNoTemplate : svc.dests[b].slot;
    };
    const PersistTable::Binding bd =
        env_.persist->acquire(svc.slot, client, now, svc.timeout_tsc, valid, pick);
    if (bd.full) [[unlikely]] {
        // No room for a template: schedule plainly rather than refuse the client.
        bump(stats_.persist_full);
        const sched::BackendIdx b = svc.sched->pick(in);
        return b == sched::kNoBackend ? nullptr : &svc.dests[b];
    }
    if (bd.index == kNoTemplate) {
        return nullptr;
    }
    if (bd.prev_slot != bd.dest_slot) {
        // Once per template binding: IPVS counts templates in the server's PersistConn.
        if (bd.prev_slot != kNoTemplate) {
            env_.dest_counters[bd.prev_slot].persistent.fetch_sub(1, std::memory_order_relaxed);
        }
        env_.dest_counters[bd.dest_slot].persistent.fetch_add(1, std::memory_order_relaxed);
    }
    tmpl = bd.index;
    return find_dest_by_slot(svc, bd.dest_slot);
}

void Worker::conn_released(const ct::Conn& c) noexcept {
    if (c.tmpl != kNoTemplate) {
        env_.persist->release(c.tmpl, rte_rdtsc());
    }
    sched::DestCounters& dc = env_.dest_counters[c.dest_slot];
    // Once per connection end: pairs with the increments at creation / state change.
    if (c.flags & ct::kConnInactive) {
        dc.inactive.fetch_sub(1, std::memory_order_relaxed);
    } else {
        dc.active.fetch_sub(1, std::memory_order_relaxed);
    }
    const SlotThresholds& t = env_.thresholds[c.dest_slot];
    sched::refresh_overload(dc, t.upper.load(std::memory_order_relaxed),
                            t.lower.load(std::memory_order_relaxed));
    stats_.live_conns.store(stats_.live_conns.load(std::memory_order_relaxed) - 1,
                            std::memory_order_relaxed);
}

void Worker::flush_connections() noexcept {
    table_->for_each([this](uint32_t, const ct::Conn& c) { conn_released(c); });
    for (uint32_t i = 0; i < table_->capacity(); ++i) {
        table_->remove(i);
    }
}

void Worker::handle_icmp(const Snapshot& snap, rte_mbuf* m, Parsed& p) noexcept {
    const uint16_t port = m->port;
    rte_ipv4_hdr* ip = p.ip;
    if (snap.topo->local.find(ip->dst_addr) == FlatMap::kNotFound) {
        handle_other(snap, m, p);
        return;
    }
    auto* icmp = static_cast<rte_icmp_hdr*>(p.l4);
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
        // Errors about tracked flows are translated once DR/TUN/ICMP tracking lands; other ICMP
        // addressed to us has no consumer.
        drop(m, Drop::Unsupported);
        return;
    }
    // Echo reply in place: swap addresses (the header checksum is unchanged by a swap), fresh TTL.
    icmp->icmp_cksum = csum_replace2(icmp->icmp_cksum, rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8),
                                     rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REPLY << 8));
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    const uint32_t src = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = src;
    ip->time_to_live = 64;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = csum_full(ip, static_cast<size_t>(ip->version_ihl & 0x0f) * 4);
    rte_ether_addr_copy(&p.eth->src_addr, &p.eth->dst_addr);
    rte_ether_addr_copy(&snap.topo->ports[port].mac, &p.eth->src_addr);
    bump(stats_.icmp_echo_replies);
    tx_enqueue(port, m);
}

void Worker::handle_icmp_error(const Snapshot& snap, rte_mbuf* m, Parsed& p,
                               uint32_t lookup) noexcept {
    if (table_changes_in_burst_ != 0) [[unlikely]] {
        lookup = table_->lookup(p.key);  // as in handle_l4: the bulk answer may be stale
    }
    if (lookup == ct::kMiss) {
        // About no connection of ours: transit traffic is routed, the rest is not ours to answer.
        if (snap.topo->local.find(p.ip->dst_addr) != FlatMap::kNotFound) {
            drop(m, Drop::NoConn);
        } else {
            handle_other(snap, m, p);
        }
        return;
    }
    const ct::Conn& c = table_->at(ct::lookup_index(lookup));
    const auto fwd = static_cast<cfg::Fwd>(c.fwd);
    rte_ipv4_hdr* ip = p.ip;
    rte_ipv4_hdr* in = p.inner;
    if (!ct::lookup_is_reply(lookup) && fwd == cfg::Fwd::Route) {
        dr_out(snap, m, p.eth, c.raddr);
        return;
    }
    if (!ct::lookup_is_reply(lookup) && fwd == cfg::Fwd::Tunnel) {
        tun_out(snap, m, p, c.raddr);
        return;
    }
    if (ip->time_to_live <= 1) [[unlikely]] {
        drop(m, Drop::TtlExceeded);  // never an ICMP error about an ICMP error
        return;
    }
    decrement_ttl(ip);
    const uint32_t inner_ihl = static_cast<uint32_t>(in->version_ihl & 0x0f) * 4;
    void* inner_l4 = reinterpret_cast<uint8_t*>(in) + inner_ihl;
    uint32_t out_dst;
    if (!ct::lookup_is_reply(lookup)) {
        // From the client, about a reply it got from the VIP: the VIP becomes the real server,
        // outside and inside.
        const uint32_t vip = ip->dst_addr;
        ip->hdr_checksum = csum_replace4(ip->hdr_checksum, vip, c.raddr);
        ip->dst_addr = c.raddr;
        rewrite_endpoint(in, inner_l4, 0, c.raddr, c.rport);
        out_dst = c.raddr;
    } else {
        // From the server side, about a packet the director sent it: the real server becomes the
        // VIP, outside (the sender) and inside (the quoted destination).
        const uint32_t vip = c.client.daddr;
        ip->hdr_checksum = csum_replace4(ip->hdr_checksum, ip->src_addr, vip);
        ip->src_addr = vip;
        rewrite_endpoint(in, inner_l4, 1, vip, c.client.dport);
        out_dst = c.client.saddr;
    }
    // The quoted TCP checksum lies beyond the 8 quoted bytes; recompute the ICMP checksum whole.
    auto* icmp = static_cast<rte_icmp_hdr*>(p.l4);
    const uint32_t icmp_len = p.l3_len - static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = csum_full(icmp, icmp_len);
    route_out(snap, m, p.eth, out_dst);
}

void Worker::handle_other(const Snapshot& snap, rte_mbuf* m, Parsed& p) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    if (snap.topo->local.find(ip->dst_addr) != FlatMap::kNotFound) {
        const uint8_t proto = ip->next_proto_id;
        drop(m, proto == IPPROTO_TCP || proto == IPPROTO_UDP ? Drop::Fragment : Drop::Unsupported);
        return;
    }
    if (ip->time_to_live <= 1) [[unlikely]] {
        to_slow_path(m, SlowKind::TtlExceeded, 0, m->port);
        return;
    }
    decrement_ttl(ip);
    bump(stats_.forwarded);
    route_out(snap, m, p.eth, ip->dst_addr);
}

void Worker::dr_out(const Snapshot& snap, rte_mbuf* m, rte_ether_hdr* eth, uint32_t rs) noexcept {
    // Direct routing: the frame goes to the real server's MAC unchanged above layer 2, so the
    // server must be on a connected subnet.
    uint32_t nh_idx;
    if (rte_lpm_lookup(snap.topo->lpm, rte_be_to_cpu_32(rs), &nh_idx) != 0 ||
        snap.topo->next_hops[nh_idx].gateway != 0) [[unlikely]] {
        drop(m, Drop::NotOnLink);
        return;
    }
    const uint16_t out = snap.topo->next_hops[nh_idx].port;
    rte_ether_addr_copy(&snap.topo->ports[out].mac, &eth->src_addr);
    if (!env_.neigh->lookup(rs, &eth->dst_addr)) [[unlikely]] {
        to_slow_path(m, SlowKind::NeedNeigh, rs, out);
        return;
    }
    tx_enqueue(out, m);
}

void Worker::tun_out(const Snapshot& snap, rte_mbuf* m, const Parsed& p, uint32_t rs) noexcept {
    uint32_t nh_idx;
    if (rte_lpm_lookup(snap.topo->lpm, rte_be_to_cpu_32(rs), &nh_idx) != 0) [[unlikely]] {
        drop(m, Drop::NoRoute);
        return;
    }
    const NextHop& nh = snap.topo->next_hops[nh_idx];
    const rte_ipv4_hdr* inner = p.ip;
    const uint32_t inner_len = p.l3_len;
    const uint16_t mtu = snap.topo->ports[nh.port].mtu;
    if (inner_len + sizeof(rte_ipv4_hdr) > mtu) [[unlikely]] {
        // The MTU rule: a DF packet that no longer fits gets "fragmentation needed" with the
        // MTU left after encapsulation; without DF it is dropped and counted (no fragmentation).
        if (rte_be_to_cpu_16(inner->fragment_offset) & RTE_IPV4_HDR_DF_FLAG) {
            to_slow_path(m, SlowKind::FragNeeded,
                         static_cast<uint32_t>(mtu - sizeof(rte_ipv4_hdr)), m->port);
        } else {
            drop(m, Drop::TooBig);
        }
        return;
    }
    // Drop Ethernet padding, then open 20 bytes in front of the inner header.
    const uint32_t frame_len = static_cast<uint32_t>(sizeof(rte_ether_hdr)) + inner_len;
    if (rte_pktmbuf_data_len(m) > frame_len) {
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - frame_len));
    }
    const uint8_t tos = inner->type_of_service;
    const uint8_t ttl = inner->time_to_live;
    const uint16_t df = inner->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    auto* start = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr)));
    if (start == nullptr) [[unlikely]] {
        drop(m, Drop::NoMbuf);
        return;
    }
    std::memmove(start, start + sizeof(rte_ipv4_hdr), sizeof(rte_ether_hdr));
    auto* eth = reinterpret_cast<rte_ether_hdr*>(start);
    auto* outer = reinterpret_cast<rte_ipv4_hdr*>(start + sizeof(rte_ether_hdr));
    outer->version_ihl = RTE_IPV4_VHL_DEF;
    outer->type_of_service = tos;
    outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(inner_len + sizeof(rte_ipv4_hdr)));
    outer->packet_id = 0;
    outer->fragment_offset = df;  // the inner DF carries over, as IPVS does
    outer->time_to_live = ttl;
    outer->next_proto_id = IPPROTO_IPIP;
    outer->src_addr = snap.topo->source_for(nh.port, nh.gateway != 0 ? nh.gateway : rs);
    outer->dst_addr = rs;
    outer->hdr_checksum = 0;
    outer->hdr_checksum = csum_full(outer, sizeof(*outer));
    route_out(snap, m, eth, rs);
}

void Worker::route_out(const Snapshot& snap, rte_mbuf* m, rte_ether_hdr* eth,
                       uint32_t dst) noexcept {
    uint32_t nh_idx;
    if (rte_lpm_lookup(snap.topo->lpm, rte_be_to_cpu_32(dst), &nh_idx) != 0) [[unlikely]] {
        drop(m, Drop::NoRoute);
        return;
    }
    const NextHop& nh = snap.topo->next_hops[nh_idx];
    const uint32_t target = nh.gateway != 0 ? nh.gateway : dst;
    rte_ether_addr_copy(&snap.topo->ports[nh.port].mac, &eth->src_addr);
    if (!env_.neigh->lookup(target, &eth->dst_addr)) [[unlikely]] {
        to_slow_path(m, SlowKind::NeedNeigh, target, nh.port);
        return;
    }
    tx_enqueue(nh.port, m);
}

void Worker::tx_enqueue(uint16_t port, rte_mbuf* m) noexcept {
    TxBuf& b = tx_[port];
    b.pkts[b.n++] = m;
    if (b.n == kBurst) {
        tx_send(port);
    }
}

void Worker::tx_send(uint16_t port) noexcept {
    TxBuf& b = tx_[port];
    const uint16_t sent = rte_eth_tx_burst(port, static_cast<uint16_t>(id_), b.pkts, b.n);
    bump(stats_.ports[port].tx, sent);
    if (sent < b.n) [[unlikely]] {
        bump(stats_.drops[static_cast<size_t>(Drop::TxFull)], b.n - sent);
        rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
    }
    b.n = 0;
}

void Worker::tx_flush() noexcept {
    for (uint16_t pi = 0; pi < env_.n_ports; ++pi) {
        if (tx_[env_.port_ids[pi]].n != 0) {
            tx_send(env_.port_ids[pi]);
        }
    }
}

void Worker::to_slow_path(rte_mbuf* m, SlowKind kind, uint32_t next_hop,
                          uint16_t out_port) noexcept {
    SlowMeta* meta = slow_meta(m);
    meta->kind = kind;
    meta->next_hop = next_hop;
    meta->out_port = out_port;
    if (rte_ring_mp_enqueue(env_.slow_ring, m) != 0) [[unlikely]] {
        drop(m, Drop::SlowPathFull);
        return;
    }
    bump(stats_.to_slow_path);
}

void Worker::drop(rte_mbuf* m, Drop why) noexcept {
    bump(stats_.drops[static_cast<size_t>(why)]);
    rte_pktmbuf_free(m);
}

void Worker::poll_commands() noexcept {
    if (command_ == nullptr) {
        void* c = nullptr;
        if (rte_ring_sc_dequeue(command_ring_, &c) != 0) {
            return;
        }
        command_ = static_cast<Command*>(c);
    }
    if (run_command_slice(*command_)) {
        command_ = nullptr;
    }
}

bool Worker::run_command_slice(Command& cmd) noexcept {
    const uint32_t cap = table_->capacity();
    const uint32_t end = cmd.cursor + kCommandSlice < cap ? cmd.cursor + kCommandSlice : cap;
    for (uint32_t i = cmd.cursor; i < end; ++i) {
        ct::Conn& c = table_->at(i);
        if (!c.in_use) {
            continue;
        }
        switch (cmd.kind) {
        case CommandKind::ListConns:
            if (cmd.count < cmd.conns.size()) {
                cmd.conns[cmd.count++] = c;
            }
            break;
        case CommandKind::ExpireDests:
            if (std::binary_search(cmd.slots.begin(), cmd.slots.end(), c.dest_slot)) {
                conn_released(c);
                bump(stats_.conns_expired);
                table_->remove(i);
                ++cmd.count;
            }
            break;
        }
    }
    cmd.cursor = end;
    if (end < cap) {
        return false;
    }
    cmd.now = rte_rdtsc();
    // Pairs with control's acquire load of `done`: every write above is visible with it.
    cmd.done.store(true, std::memory_order_release);
    return true;
}

void Worker::drain_inject() noexcept {
    rte_mbuf* pkts[kBurst];
    const unsigned n =
        rte_ring_sc_dequeue_burst(inject_ring_, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        tx_enqueue(pkts[i]->port, pkts[i]);
    }
}

}  // namespace dirigo::dp
