// SPDX-License-Identifier: BSD-3-Clause
// The worker's packet path, top to bottom: the poll loop (iterate), the staged burst
// (process_burst: 1 parse and hash, 2 bulk connection lookup, 3 decide, 4 bulk route lookup,
// 5 deliver), then the per-packet decisions of stage 3 and the delivery of stage 5, then TX,
// the slow-path hand-over and the command slices. docs/architecture.md walks it.
#include "dataplane/worker.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include <sys/random.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/icmp6_error.hpp"
#include "dataplane/nat6.hpp"
#include "dataplane/nd.hpp"
#include "dataplane/tunnel.hpp"

namespace dirigo::dp {
namespace {

int g_slow_meta_offset = -1;

/// Most fragments one packet may become: a 64 KB datagram over a 1280-byte MTU takes 52.
constexpr uint16_t kMaxFrags = 64;
/// Headers a multi-segment packet must hold in its first segment: Ethernet, the longest IPv4
/// header and the longest TCP header (the parser and the rewrites touch nothing further).
constexpr uint32_t kMaxHeaders = sizeof(rte_ether_hdr) + 60 + 60;

/// The length parse_frame may look at in a multi-segment packet: all of it when the first segment
/// holds its headers (rewrites are incremental, so payload in later segments is never touched),
/// else the first segment's alone (the parser then finds the packet cut short). Cold: NICs
/// scatter only frames longer than their mbufs.
[[gnu::cold, gnu::noinline]] uint32_t multi_seg_len(const rte_mbuf* m) noexcept {
    const uint32_t first = rte_pktmbuf_data_len(m);
    return first >= std::min(rte_pktmbuf_pkt_len(m), kMaxHeaders) ? rte_pktmbuf_pkt_len(m) : first;
}

/// True for SCTP over IPv4 in a chain of mbufs (a scattered jumbo frame, or a datagram made
/// whole from fragments). Dirigo does not forward those: the parser's look past the first chunk
/// and the NAT's CRC32c over the packet both read it as one buffer. Cold, like multi_seg_len.
[[gnu::cold, gnu::noinline]] bool chained_sctp(const rte_mbuf* m) noexcept {
    constexpr uint32_t kProtoAt = sizeof(rte_ether_hdr) + offsetof(rte_ipv4_hdr, next_proto_id);
    if (rte_pktmbuf_data_len(m) <= kProtoAt) {
        return false;  // the parser drops it as a runt
    }
    const auto* b = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(b);
    return eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && b[kProtoAt] == IPPROTO_SCTP;
}

/// The state table a packet of a connection moves: replies (NAT only) Output, client packets
/// Input through NAT, InputOnly through DR and TUN, whose replies bypass the director (IPVS's
/// input-only tables).
constexpr ct::Dir conn_dir(bool reply, cfg::Fwd fwd) noexcept {
    return reply ? ct::Dir::Output : fwd == cfg::Fwd::Masq ? ct::Dir::Input : ct::Dir::InputOnly;
}

// ---- SYN proxy helpers --------------------------------------------------------------------------

/// The window the proxy announces to the client in its SYN-ACK: one segment, so that a client
/// sends at most one before the real server's own window reaches it (the proxy holds one).
constexpr uint16_t kSynpClientWindow = 1460;
/// The window the proxy announces to the server in the ACK that completes its handshake when no
/// client segment is held (the client's own window is not kept; its next segment tells it).
constexpr uint16_t kSynpServerWindow = 65535;

/// The MSS option of a TCP header whose options parse_frame found inside the packet, or 0.
uint32_t tcp_mss_option(const rte_tcp_hdr* th) noexcept {
    const auto* o = reinterpret_cast<const uint8_t*>(th) + sizeof(rte_tcp_hdr);
    const auto* end = reinterpret_cast<const uint8_t*>(th) + (th->data_off >> 4) * 4;
    while (o < end) {
        if (o[0] == 0) {  // end of options
            break;
        }
        if (o[0] == 1) {  // no-op
            ++o;
            continue;
        }
        if (o + 1 >= end || o[1] < 2 || o + o[1] > end) {
            break;  // malformed: no MSS then
        }
        if (o[0] == 2 && o[1] == 4) {
            return static_cast<uint32_t>(o[2]) << 8 | o[3];
        }
        o += o[1];
    }
    return 0;
}

/// Makes a single-segment `m` exactly `len` bytes long. False when it cannot grow that far.
bool synp_resize(rte_mbuf* m, uint16_t len) noexcept {
    const uint16_t cur = rte_pktmbuf_data_len(m);
    if (cur > len) {
        return rte_pktmbuf_trim(m, static_cast<uint16_t>(cur - len)) == 0;
    }
    return cur == len || rte_pktmbuf_append(m, static_cast<uint16_t>(len - cur)) != nullptr;
}

/// Writes, right after `m`'s Ethernet header, a fresh IPv4 header and a TCP header (with an MSS
/// option when `mss` is not 0, nothing else), both checksummed; `m` is resized to fit. The
/// Ethernet addresses are stage 5's. False when `m` cannot hold them (or is chained: handshake
/// segments never are).
bool synp_build(rte_mbuf* m, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, uint16_t mss) noexcept {
    const uint16_t tcp_len = static_cast<uint16_t>(sizeof(rte_tcp_hdr) + (mss != 0 ? 4 : 0));
    const auto l3_len = static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + tcp_len);
    if (m->nb_segs != 1 ||
        !synp_resize(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + l3_len))) [[unlikely]] {
        return false;
    }
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(l3_len);
    ip->packet_id = 0;
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->src_addr = src;
    ip->dst_addr = dst;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* th = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    th->src_port = sport;
    th->dst_port = dport;
    th->sent_seq = rte_cpu_to_be_32(seq);
    th->recv_ack = rte_cpu_to_be_32(ack);
    th->data_off = static_cast<uint8_t>((tcp_len / 4) << 4);
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(win);
    th->cksum = 0;
    th->tcp_urp = 0;
    if (mss != 0) {
        auto* o = reinterpret_cast<uint8_t*>(th + 1);
        o[0] = 2;
        o[1] = 4;
        o[2] = static_cast<uint8_t>(mss >> 8);
        o[3] = static_cast<uint8_t>(mss);
    }
    th->cksum = rte_ipv4_udptcp_cksum(ip, th);
    m->ol_flags = 0;
    return true;
}

/// The sequence translation of a spliced connection: from the server, seq -= offset (the server's
/// numbers become the cookie's); from the client, ack += offset. Incremental checksum update.
inline void synp_shift(Parsed& p, bool reply, uint32_t offset) noexcept {
    auto* th = static_cast<rte_tcp_hdr*>(p.l4);
    if (reply) {
        const uint32_t old = th->sent_seq;
        const uint32_t now = rte_cpu_to_be_32(rte_be_to_cpu_32(old) - offset);
        th->cksum = csum_replace4(th->cksum, old, now);
        th->sent_seq = now;
    } else if ((p.tcp_flags & ct::kTcpAck) != 0) {
        const uint32_t old = th->recv_ack;
        const uint32_t now = rte_cpu_to_be_32(rte_be_to_cpu_32(old) + offset);
        th->cksum = csum_replace4(th->cksum, old, now);
        th->recv_ack = now;
    }
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
      command_ring_(command_ring) {
    // The SYN cookies' secret: from the kernel's generator, once (the dataplane never makes a
    // system call per packet). rte_rand() is a fallback only: its seed is not secret.
    uint64_t k[2];
    if (getrandom(k, sizeof(k), 0) != static_cast<ssize_t>(sizeof(k))) {
        k[0] = rte_rand() ^ rte_rdtsc();
        k[1] = rte_rand();
    }
    cookie_ = SynCookie(k[0], k[1]);
}

namespace {

/// rte_ip_frag_table_del_expired_entries: DPDK 22.11 still marks it experimental, and the
/// project builds without ALLOW_EXPERIMENTAL_API, so its one use sits behind this wrapper.
void expire_fragments(rte_ip_frag_tbl* tbl, rte_ip_frag_death_row* dr, uint64_t now) noexcept {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    rte_ip_frag_table_del_expired_entries(tbl, dr, now);
#pragma GCC diagnostic pop
}

}  // namespace

void Worker::release_held() noexcept {
    for (SynpHeld& h : synp_held_) {
        rte_pktmbuf_free(h.m);  // null-safe
        h.m = nullptr;
    }
    synp_held_n_ = 0;
    if (frag_tbl_ != nullptr) {
        // Every datagram in reassembly has expired at the end of time; the death row takes a
        // bounded number of fragments per call.
        uint32_t freed = 0;
        do {
            expire_fragments(frag_tbl_, &frag_dr_, UINT64_MAX);
            freed = frag_dr_.cnt;
            rte_ip_frag_free_death_row(&frag_dr_, 0);
        } while (freed != 0);
    }
    rte_pktmbuf_free_bulk(reasm_, reasm_n_);
    reasm_n_ = 0;
}

Worker::~Worker() {
    release_held();
    if (frag_tbl_ != nullptr) {
        rte_ip_frag_table_destroy(frag_tbl_);
    }
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

// ---- The loop ------------------------------------------------------------------------------------

void Worker::run(const std::atomic<bool>& stop) noexcept {
    rte_rcu_qsbr_thread_online(env_.qsv, id_);
    // Decided once: the busy loop carries no idle bookkeeping at all.
    if (env_.adaptive) {
        loop<true>(stop);
    } else {
        loop<false>(stop);
    }
    tx_flush();
    release_held();  // Dataplane::shutdown() counts mbufs next
    rte_rcu_qsbr_thread_offline(env_.qsv, id_);
}

template <bool Adaptive>
void Worker::loop(const std::atomic<bool>& stop) noexcept {
    const uint32_t first_sleep = std::min(kFirstSleepUs, env_.max_sleep_us);
    uint32_t idle = 0;  // loops in a row that found no work
    uint32_t sleep_us = first_sleep;
    while (!stop.load(std::memory_order_relaxed)) {
        // Pairs with the release in Dataplane::publish(): everything the snapshot points to is
        // visible once the pointer is.
        const Snapshot& snap = *env_.published->load(std::memory_order_acquire);
        const uint32_t n = iterate(snap);
        // No reference to `snap` survives past here.
        rte_rcu_qsbr_quiescent(env_.qsv, id_);
        if constexpr (Adaptive) {
            if (n != 0 || injected_ != 0 || command_ != nullptr) {
                // Work: back to busy polling at once. A command in progress keeps the worker
                // awake so its slices run back to back.
                idle = 0;
                sleep_us = first_sleep;
            } else if (++idle >= env_.idle_polls) {
                // Saturates: from here every empty loop sleeps, each sleep twice the last (up to
                // max_sleep_us), until a loop finds work.
                idle = env_.idle_polls;
                idle_sleep(sleep_us);
                sleep_us = std::min(sleep_us * 2, env_.max_sleep_us);
            }
        }
    }
}

void Worker::idle_sleep(uint32_t us) noexcept {
    const uint64_t t0 = rte_rdtsc();
    // The per-loop sweep budget counts on millions of loops a second; a sleeping worker makes far
    // fewer, so it sweeps in proportion to the sleep: about the whole table per second of sleep
    // (capacity * us / 2^20), capped so no wake-up turns into a long scan. Nothing to do when the
    // table is empty.
    if (table_->size() != 0) {
        const uint64_t scaled = (uint64_t{table_->capacity()} * us) >> 20;
        sweep(t0, kSweepBudget + static_cast<uint32_t>(std::min<uint64_t>(scaled, kIdleSweepMax)));
    }
    // Offline, a sleeping worker holds up no grace period: control's rte_rcu_qsbr_check and
    // synchronize skip it. It read no snapshot since its last quiescent report.
    rte_rcu_qsbr_thread_offline(env_.qsv, id_);
    rte_delay_us_sleep(us);
    rte_rcu_qsbr_thread_online(env_.qsv, id_);
    bump(stats_.idle_sleeps);
    bump(stats_.idle_us, ((rte_rdtsc() - t0) * env_.us_mult) >> 32);
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
    injected_ = drain_inject();
    const uint64_t now = rte_rdtsc();  // once per loop: every burst of it shares one clock
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
        process_burst(snap, BurstSource::Port, port, pkts, n, now);
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
                process_burst(snap, BurstSource::Peer, 0, pkts, n, now);
            }
        }
    }
    tx_flush();
    if (sync_n_ != 0) {
        sync_flush();
    }
    if (sync_in_ != nullptr) {
        injected_ += sync_receive(snap, now);
    }
    if (sync6_n_ != 0) [[unlikely]] {
        sync_flush6();
    }
    if (sync6_in_ != nullptr && table6_ != nullptr) {
        injected_ += sync_receive6(snap, now);
    }
    sweep(now, kSweepBudget);
    if (frag_tbl_ != nullptr && now >= frag_next_expiry_) [[unlikely]] {
        // A hundred times a second: an expiry is a timeout of seconds.
        frag_next_expiry_ = now + env_.tsc_hz / 100;
        expire_fragments(frag_tbl_, &frag_dr_, now);
        if (frag_dr_.cnt != 0) {
            free_death_row();
        }
    }
    if (synp_held_n_ != 0) [[unlikely]] {
        synp_sweep(now);
    }
    if (snap.defense.drop_entry) [[unlikely]] {
        drop_entry(snap, now);
    }
    poll_commands();
    bump(stats_.loops);
    if (total != 0) {
        bump(stats_.busy_loops);
    }
    return total;
}

void Worker::sweep(uint64_t now, uint32_t budget) noexcept {
    table_->sweep(now, budget, [this](uint32_t, const ct::Conn& c) {
        conn_released(c);
        bump(stats_.conns_expired);
    });
    if (table6_ != nullptr && table6_->size() != 0) [[unlikely]] {
        table6_->sweep(now, budget, [this](uint32_t, const ct::Conn6& c) {
            conn_released6(c);
            bump(stats_.conns_expired);
        });
    }
}

void Worker::drop_entry(const Snapshot& snap, uint64_t now) noexcept {
    if (now >= dropentry_next_) {
        // A new second: 1/32 of the table to examine, whatever the loop rate.
        dropentry_next_ = now + env_.tsc_hz;
        dropentry_left_ = std::max<uint32_t>(table_->capacity() >> kDropEntryShift, 1);
    }
    if (dropentry_left_ == 0) {
        return;
    }
    const uint32_t budget = std::min(dropentry_left_, kDropEntrySlice);
    dropentry_left_ -= budget;
    // A UDP entry qualifies after a minute without a packet (IPVS's todrop_entry rule), which
    // needs a timeout longer than a minute.
    const uint64_t udp = snap.timeout_tsc[static_cast<size_t>(ct::TcpState::Udp)];
    const uint64_t minute = 60 * env_.tsc_hz;
    const uint64_t idle_before = udp > minute ? now + udp - minute : 0;
    table_->drop_entries(budget, idle_before, [this](const ct::Conn& c) {
        conn_released(c);
        bump(stats_.conns_dropentry);
    });
}

// ---- The staged burst ------------------------------------------------------------------------------

void Worker::process_burst(const Snapshot& snap, BurstSource src, uint16_t port, rte_mbuf** pkts,
                           uint16_t n, uint64_t now) noexcept {
    const bool fresh = src == BurstSource::Port;
    // A peer's packets are known to be ours; reassembled datagrams may be another worker's flow.
    const bool share = src != BurstSource::Peer && env_.n_workers > 1;
    const Topology& topo = *snap.topo;
    Parsed parsed[kBurst];
    const ct::FlowKey* keys[kBurst];
    uint32_t hashes[kBurst];
    uint32_t n_keys = 0;
    // IPv6: each IPv6 packet's bulk lookup answer (or kNotLooked6), the packets looked up.
    uint32_t pre6[kBurst];
    uint16_t at6[kBurst];
    uint32_t n6 = 0;

    // Stage 1: parse, classify and hash, prefetching packet data a few packets ahead; hand to
    // their owner the flows another worker owns.
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
        uint32_t len = rte_pktmbuf_data_len(m);
        if (m->nb_segs != 1) [[unlikely]] {
            len = multi_seg_len(m);
            if (chained_sctp(m)) {
                p.cls = PktClass::Drop;
                p.reason = Drop::Unsupported;
                continue;
            }
        }
        parse_frame(rte_pktmbuf_mtod(m, uint8_t*), len, p, rx_ip_csum(m->ol_flags));
        // One branch for untagged frames: a tag in the frame, or one the NIC stripped. Frames
        // from peers and reassembly were classified when they arrived (m->port says where).
        if (fresh && (p.cls == PktClass::Vlan || (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0))
            [[unlikely]] {
            vlan_rx(topo, m, p);
        }
        if (m->nb_segs != 1 && p.cls == PktClass::IcmpError) [[unlikely]] {
            // Its translation sums the whole message as one buffer; errors quote little anyway.
            p.cls = PktClass::Drop;
            p.reason = Drop::Unsupported;
        }
        if (p.cls != PktClass::Drop &&
            !rte_is_same_ether_addr(&p.eth->dst_addr, &topo.ports[m->port].mac)) [[unlikely]] {
            // Broadcast and multicast frames: ARP is answered; IPv4 is neither forwarded nor
            // served (Linux forwards only frames sent to its own MAC); IPv6 multicast (neighbour
            // discovery) is sorted by decide_ipv6, which routes no multicast.
            if (!rte_is_multicast_ether_addr(&p.eth->dst_addr)) {
                p.cls = PktClass::Drop;
                p.reason = Drop::NotForUs;
            } else if (p.cls != PktClass::Arp && p.cls != PktClass::Ipv6) {
                p.cls = PktClass::Drop;
                p.reason = Drop::NotUnicast;
            }
        }
        if (p.fragment && frag_tbl_ != nullptr && p.cls != PktClass::Drop) [[unlikely]] {
            // Reassembled first (docs/forwarding.md, "Fragments"), by the worker that owns the
            // client's address: later fragments carry no ports, so all of a datagram's
            // fragments go to the owner of (client address, port 0).
            p.cls = PktClass::Fragment;
            if (share) {
                const uint32_t client = snap.topo->is_local(p.ip->dst_addr) ? p.ip->src_addr
                                                                            : p.ip->dst_addr;
                const uint32_t owner = env_.owners->owner(client, 0);
                if (owner != id_) {
                    hand_to(owner, m);
                    p.cls = PktClass::HandedOff;
                }
            }
            continue;
        }
        if (p.cls == PktClass::Ipv4L4 || p.cls == PktClass::IcmpError) {
            if (share) {
                const uint32_t owner = owner_of(snap, p);
                if (owner != id_) {
                    hand_to(owner, m);
                    p.cls = PktClass::HandedOff;
                    continue;
                }
            }
            keys[n_keys] = &p.key;
            hashes[n_keys] = ct::ConnTable::hash(p.key);
            ++n_keys;
        } else if (p.cls == PktClass::Ipv6) [[unlikely]] {
            if (share) {
                // An IPv6 service's flow meets its replies on its owner, as IPv4's does.
                const uint32_t owner = owner6(snap, p);
                if (owner != id_) {
                    hand_to(owner, m);
                    p.cls = PktClass::HandedOff;
                    continue;
                }
            }
            // A packet that may belong to an IPv6 connection joins the burst's IPv6 bulk lookup.
            // An empty table answers without one.
            pre6[i] = kNotLooked6;
            const rte_ipv6_hdr* ip6 = ipv6_header(p);
            if (table6_ != nullptr && ip6->dst_addr[0] != 0xff) {
                if (table6_->size() == 0) {
                    pre6[i] = ct::kMiss;
                } else if (service6_key(m, p, ip6, keys6_[n6])) {
                    at6[n6++] = i;
                }
            }
        }
    }
    if (fresh) {
        PortStats& ps = stats_.ports[port];
        bump(ps.rx, n);
        bump(ps.rx_bytes, rx_bytes);
    }

    // Stage 2: one bulk lookup, with the hashes of stage 1, for every TCP/UDP packet that is
    // ours; then fetch every hit's entry, so the burst's entry misses overlap instead of queueing
    // one by one in stage 3.
    uint32_t found[kBurst];
    if (n_keys != 0) {
        table_->lookup_bulk(keys, hashes, n_keys, found);
        for (uint32_t i = 0; i < n_keys; ++i) {
            if (found[i] != ct::kMiss) {
                rte_prefetch0(&table_->at(ct::lookup_index(found[i])));
            }
        }
    }

    if (table6_ != nullptr) {
        table6_changes_at_bulk_ = table6_->changes();
        if (n6 != 0) [[unlikely]] {
            // The same for the burst's IPv6 packets, in a table of their own (conn_table6.hpp).
            uint32_t found6[kBurst];
            table6_->lookup_bulk(keys6_, n6, found6);
            for (uint32_t j = 0; j < n6; ++j) {
                pre6[at6[j]] = found6[j];
            }
        }
    }

    // Stage 3: decide each packet (connections, new flows, rewrites); nothing is sent yet.
    Verdict verdict[kBurst];
    // The packet of each staged reply key (one past the end absorbs the unused store below).
    static_assert(kBurst <= ct::ConnTable::kMaxStaged, "a burst's new connections all stage");
    uint16_t staged_pkt[ct::ConnTable::kMaxStaged + 1];
    table_changes_in_burst_ = 0;
    uint32_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        Parsed& p = parsed[i];
        switch (p.cls) {
        case PktClass::Ipv4L4: {
            // A packet stages one reply key at most (a new NAT connection).
            const uint32_t st = table_->staged();
            verdict[i] = decide_l4(snap, pkts[i], p, found[k], hashes[k], now);
            staged_pkt[st] = i;  // kept only if decide_l4 staged one (st < kMaxStaged)
            ++k;
            break;
        }
        case PktClass::Ipv4Icmp:
            verdict[i] = decide_icmp(snap, m, p);
            break;
        case PktClass::IcmpError:
            verdict[i] = decide_icmp_error(snap, p, found[k++]);
            break;
        case PktClass::Ipv4Other:
            verdict[i] = transit(snap, p);
            break;
        case PktClass::Fragment:
            verdict[i] = reassemble(m, p, now);
            break;
        case PktClass::Arp:
            verdict[i] = Verdict::slow(SlowKind::Arp);
            break;
        case PktClass::Ipv6:
            verdict[i] = decide_ipv6(snap, m, p, pre6[i], now);
            break;
        case PktClass::Drop:
            // Other protocols (LLDP, ...) and IPv4 multicast and broadcast (VRRP, OSPF,
            // DHCP) are the kernel's: up when the port has an interface.
            verdict[i] = p.reason == Drop::NotIpv4 || p.reason == Drop::NotUnicast
                             ? to_kernel_or(p.reason)
                             : Verdict::discard(p.reason);
            break;
        case PktClass::HandedOff:
            verdict[i] = {Action::Consumed, 0, 0, 0};
            break;
        case PktClass::Vlan:
            // vlan_rx took every tag off a fresh frame; a tag left is a second one.
            verdict[i] = Verdict::discard(Drop::Unsupported);
            break;
        }
    }

    if (table_->staged() != 0) {
        commit_staged(verdict, staged_pkt);
    }

    // Stage 4: one bulk route lookup for every packet that leaves through the routing table.
    uint32_t route_dst[kBurst];
    const NextHop* hop[kBurst];
    uint16_t routed[kBurst];
    uint32_t n_routed = 0;
    for (uint16_t i = 0; i < n; ++i) {
        const Action a = verdict[i].act;
        if (a == Action::Route || a == Action::RouteOnLink || a == Action::Tunnel ||
            a == Action::RouteFrag) {
            route_dst[n_routed] = rte_be_to_cpu_32(verdict[i].dst);
            routed[n_routed++] = i;
        }
    }
    if (n_routed != 0) {
        topo.route_bulk(route_dst, hop, n_routed);
    }

    // Stage 5: deliver: next hop and MACs, then TX buffers, the slow path or a counted drop.
    uint32_t r = 0;
    for (uint16_t i = 0; i < n; ++i) {
        const NextHop* nh = r < n_routed && routed[r] == i ? hop[r++] : nullptr;
        deliver(snap, pkts[i], verdict[i], nh);
    }
    if (env_.host) {
        host_flush();
    }
    if (frag_dr_.cnt != 0) [[unlikely]] {
        free_death_row();
    }
    if (reasm_n_ != 0) [[unlikely]] {
        // The datagrams this burst's fragments completed: a burst of their own (they are whole
        // packets, so this goes one level deep).
        rte_mbuf* whole[kBurst];
        const uint16_t nw = reasm_n_;
        std::memcpy(whole, reasm_, nw * sizeof(rte_mbuf*));
        reasm_n_ = 0;
        process_burst(snap, BurstSource::Reassembled, 0, whole, nw, now);
    }
}

Verdict Worker::reassemble(rte_mbuf* m, const Parsed& p, uint64_t now) noexcept {
    bump(stats_.reasm_in);
    const auto l2 = static_cast<uint16_t>(reinterpret_cast<uint8_t*>(p.ip) -
                                          rte_pktmbuf_mtod(m, uint8_t*));
    const uint32_t frame = l2 + static_cast<uint32_t>(p.l3_len);
    if (rte_pktmbuf_pkt_len(m) > frame &&
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame)) != 0)
        [[unlikely]] {
        return Verdict::discard(Drop::BadIpHeader);  // padding spread over segments
    }
    // Ethernet padding after a short fragment is gone: the library chains whole segments.
    m->l2_len = l2;
    m->l3_len = static_cast<uint16_t>(rte_ipv4_hdr_len(p.ip));
    rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(frag_tbl_, &frag_dr_, m, now, p.ip);
    if (whole != nullptr) {
        auto* ip = rte_pktmbuf_mtod_offset(whole, rte_ipv4_hdr*, whole->l2_len);
        ip->hdr_checksum = 0;  // the library leaves it zero after rewriting length and offset
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        // Whatever the NIC said was about the first fragment's header.
        whole->ol_flags = (whole->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) |
                          RTE_MBUF_F_RX_IP_CKSUM_GOOD;
        bump(stats_.reasm_ok);
        reasm_[reasm_n_++] = whole;
    }
    // Kept by the table, chained into `whole`, or on the death row: no longer this burst's.
    return {Action::Consumed, 0, 0, 0};
}

void Worker::free_death_row() noexcept {
    bump(stats_.drops[static_cast<size_t>(Drop::Reassembly)], frag_dr_.cnt);
    rte_ip_frag_free_death_row(&frag_dr_, 0);
}

// ---- Stage 3: decisions --------------------------------------------------------------------------

uint32_t Worker::owner_of(const Snapshot& snap, const Parsed& p) const noexcept {
    // To one of our addresses: the client is the source. Otherwise (a NAT reply, or transit
    // traffic): the client side is the destination.
    if (snap.topo->is_local(p.key.daddr)) {
        return env_.owners->owner(p.key.saddr, p.key.sport);
    }
    return env_.owners->owner(p.key.daddr, p.key.dport);
}

// decide_l4, forward and deliver run once per packet inside process_burst's loops: inlined, the
// loop keeps its state in registers (out of line they cost ~10 cycles a packet, measured with
// dirigo-bench "nat 1K uniform").
[[gnu::always_inline]] inline Verdict Worker::decide_l4(const Snapshot& snap, rte_mbuf*& m,
                                                       Parsed& p, uint32_t lookup, uint32_t hash,
                                                       uint64_t now) noexcept {
    if (table_changes_in_burst_ != 0) [[unlikely]] {
        // The bulk lookup ran before this burst's earlier packets created or retired connections:
        // its answer may be stale (an entry freed, or freed and reused by another flow), and a
        // later packet of a flow created in this burst (a SYN then its ACK) must find it.
        lookup = table_->lookup(p.key, hash);
    }
    if (lookup != ct::kMiss && ct::expired(table_->at(ct::lookup_index(lookup)).expire, now))
        [[unlikely]] {
        // Dead but not yet swept: retire it now and treat the packet as new.
        retire(ct::lookup_index(lookup));
        lookup = ct::kMiss;
    }
    if (lookup != ct::kMiss) {
        const uint32_t idx = ct::lookup_index(lookup);
        ct::Conn& c = table_->at(idx);
        if ((c.flags & kConnSynpPending) != 0) [[unlikely]] {
            return synp_pending(snap, c, idx, m, p, ct::lookup_is_reply(lookup), now);
        }
        return forward(snap, c, table_->cold(idx), p, ct::lookup_is_reply(lookup), now);
    }

    // A new flow: only to a service, for TCP only on a SYN, for SCTP only on an INIT.
    const ServiceEntry* svc =
        snap.find_service_or_marked(p.key.proto, p.key.daddr, p.key.dport);
    if (svc == nullptr) {
        // Ours but no service: the kernel's (ssh, BGP, a health check's replies, ...).
        return snap.topo->is_local(p.key.daddr) ? to_kernel_or(Drop::NoService)
                                                : transit(snap, p);
    }
    if (p.first_frag) [[unlikely]] {
        return Verdict::discard(Drop::Fragment);  // a fragment never opens a connection
    }
    if (p.key.proto == IPPROTO_TCP) {
        const uint8_t f = p.tcp_flags & (ct::kTcpSyn | ct::kTcpAck | ct::kTcpRst);
        if (f != ct::kTcpSyn) {
            if (f == ct::kTcpAck && snap.defense.syn_proxy_ack && svc->synp_ok) [[unlikely]] {
                return synp_ack(snap, *svc, m, p, now);  // perhaps the answer to a cookie
            }
            return Verdict::discard(Drop::NoConn);
        }
        if (snap.defense.syn_proxy && svc->synp_ok) [[unlikely]] {
            // Before drop_packet: a cookie costs no entry, so there is nothing to shed.
            return synp_syn(snap, m, p, now);
        }
    }
    if (p.key.proto == IPPROTO_SCTP && p.sctp_chunk != ct::kSctpInit) {
        // IPVS's sctp_conn_schedule: only an INIT schedules; any other chunk of an unknown
        // association (a stale COOKIE ECHO, DATA after a restart) has no connection to follow.
        return Verdict::discard(Drop::NoConn);
    }
    if (snap.defense.drop_rate != 0 && p.key.proto != IPPROTO_UDP) [[unlikely]] {
        // drop_packet: IPVS sheds new connections' SYNs (and SCTP's INITs) at the rate control
        // set, before scheduling (tcp_conn_schedule's and sctp_conn_schedule's ip_vs_todrop).
        if (shed_syn(snap.defense.drop_rate)) {
            return Verdict::discard(Drop::DropPacket);
        }
    }
    Verdict v;
    const uint32_t idx = admit(snap, *svc, p, hash, now, v);
    if (idx == ct::kMiss) {
        return v;
    }
    return forward(snap, table_->at(idx), table_->cold(idx), p, false, now);
}

uint32_t Worker::admit(const Snapshot& snap, const ServiceEntry& svc, Parsed& p, uint32_t hash,
                       uint64_t now, Verdict& out) noexcept {
    sched::SchedInput in;
    in.saddr = rte_be_to_cpu_32(p.key.saddr);
    in.daddr = rte_be_to_cpu_32(p.key.daddr);
    in.sport = rte_be_to_cpu_16(p.key.sport);
    in.dport = rte_be_to_cpu_16(p.key.dport);
    in.proto = p.key.proto;
    // Milliseconds by multiply-shift: no division on the packet path.
    in.now_ms = now_ms(now);
    const DestEntry* dest = nullptr;
    uint32_t tmpl = kNoTemplate;
    if (svc.flags & cfg::kSvcPersistent) {
        dest = persistent_pick(svc, in, PersistClient{p.key.saddr & svc.netmask, nullptr}, now,
                               tmpl);
    } else {
        const sched::BackendIdx b = svc.sched->pick(in);
        dest = b == sched::kNoBackend ? nullptr : &svc.dests[b];
    }
    if (dest == nullptr) {
        out = Verdict::discard(Drop::NoBackend);
        return ct::kMiss;
    }
    const DestEntry& d = *dest;
    ct::Conn c;
    ct::ConnCold cold;
    c.client = p.key;
    c.raddr = d.addr;
    // IPVS: a port-zero ("all ports") service keeps the packet's port; otherwise the server's.
    // A fwmark service (port zero too) uses its server's port when the server has one.
    c.rport = svc.key.port == 0 && (svc.key.fwmark == 0 || d.port == 0) ? p.key.dport : d.port;
    c.fwd = static_cast<uint8_t>(d.fwd);
    cold.encap = d.encap;
    cold.tun_port = d.tun_port;
    c.state = p.key.proto == IPPROTO_TCP    ? ct::TcpState::None
              : p.key.proto == IPPROTO_SCTP ? ct::TcpState::SctpNone
                                            : ct::TcpState::Udp;
    c.dest_slot = d.slot;
    c.svc_slot = svc.slot;
    c.flags = ct::kConnInactive;
    if (d.addr == 0) [[unlikely]] {
        c.flags |= ct::kConnDest6;  // an IPv6 tunnel server (control allows no other)
    }
    cold.tmpl = tmpl;
    c.expire = ct::expire_at(now, snap.timeout_tsc[static_cast<size_t>(c.state)]);
    cold.sync_countdown = snap.sync.threshold;
    bump(stats_.svc[svc.slot].conns);
    bump(stats_.dest[d.slot].conns);
    if ((svc.flags & cfg::kSvcOnePacket) != 0 && p.key.proto == IPPROTO_UDP) {
        // One-packet scheduling (-o): IPVS schedules every datagram and keeps no entry; counted
        // as a connection, forwarded from this stack copy.
        if (tmpl != kNoTemplate) {
            env_.persist->release(tmpl, now);
        }
        bump(stats_.conns_created);
        out = forward(snap, c, cold, p, false, now);
        return ct::kMiss;
    }
    // Only NAT sees replies: DR and TUN servers answer the client directly.
    const uint32_t idx = insert_conn(snap, c, cold, d.fwd == cfg::Fwd::Masq, hash, true);
    if (idx == ct::kMiss) {
        if (tmpl != kNoTemplate) {
            env_.persist->release(tmpl, now);
        }
        out = Verdict::discard(Drop::TableFull);
        return ct::kMiss;
    }
    // IPVS binds a new connection as inactive until it reaches ESTABLISHED.
    sched::DestCounters& dc = env_.dest_counters[d.slot];
    // Once per new connection: the shared count is what lc/wlc read on every worker.
    dc.inactive.fetch_add(1, std::memory_order_relaxed);
    sched::refresh_overload(dc, d.u_threshold, d.l_threshold);
    bump(stats_.conns_created);
    bump(stats_.live_conns);
    return idx;
}

[[gnu::always_inline]] inline Verdict Worker::forward(const Snapshot& snap, ct::Conn& c,
                                                      ct::ConnCold& cold, Parsed& p, bool reply,
                                                      uint64_t now) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    const auto fwd = static_cast<cfg::Fwd>(c.fwd);
    if (fwd == cfg::Fwd::Masq && ip->time_to_live <= 1) [[unlikely]] {
        return Verdict::slow(SlowKind::TtlExceeded);
    }
    if (c.client.proto == IPPROTO_TCP) {
        conn_state(c, conn_dir(reply, fwd), p.tcp_flags, snap, now);
    } else if (c.client.proto == IPPROTO_SCTP) [[unlikely]] {
        if (p.first_frag && fwd == cfg::Fwd::Masq) [[unlikely]] {
            // NAT must recompute the CRC over the whole packet, which a fragment is not.
            return Verdict::discard(Drop::Fragment);
        }
        sctp_state(c, conn_dir(reply, fwd), p.sctp_chunk, snap, now);
    } else {
        c.expire = ct::expire_at(now, snap.timeout_tsc[static_cast<size_t>(ct::TcpState::Udp)]);
    }
    // IPVS syncs on packets from the client only; a one-packet flow (-o) has no entry to send.
    // A connection to an IPv6 tunnel server is not synced: the IPv4 sync message has no room
    // for its address (docs/forwarding.md, "Mixed-family tunnels").
    if (snap.sync.master && !reply && c.in_use() && (c.flags & ct::kConnDest6) == 0) [[unlikely]] {
        sync_conn(snap, c, cold);
    }
    // The one compare a packet within every MTU pays; a longer one learns its egress MTU before
    // the rewrite, so that an ICMP "fragmentation needed" quotes it as its sender sent it.
    Action how = Action::Route;
    if (p.l3_len > snap.topo->min_mtu && fwd == cfg::Fwd::Masq) [[unlikely]] {
        const Verdict fit = egress_fit(snap, p, reply ? c.client.saddr : c.raddr);
        if (fit.act == Action::SlowPath) {
            return fit;
        }
        how = fit.act;
    }
    if ((c.flags & kConnSynp) != 0) [[unlikely]] {
        synp_shift(p, reply, cold.synp_seq);  // a connection the SYN proxy spliced
    }
    if (reply) {
        decrement_ttl(ip);
        bump(stats_.svc[c.svc_slot].outpkts);
        bump(stats_.svc[c.svc_slot].outbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].outpkts);
        bump(stats_.dest[c.dest_slot].outbytes, p.l3_len);
        rewrite_src(ip, p.l4, c.client.daddr, c.client.dport);
        // SCTP's CRC covers its own header and chunks, not the addresses: as IPVS's
        // sctp_snat_handler, only a changed port costs a pass over the packet.
        if (c.client.proto == IPPROTO_SCTP && c.rport != c.client.dport) [[unlikely]] {
            sctp_recompute(p);
        }
        return Verdict::route(how, c.client.saddr);
    }
    bump(stats_.svc[c.svc_slot].inpkts);
    bump(stats_.svc[c.svc_slot].inbytes, p.l3_len);
    bump(stats_.dest[c.dest_slot].inpkts);
    bump(stats_.dest[c.dest_slot].inbytes, p.l3_len);
    switch (fwd) {
    case cfg::Fwd::Masq:
        decrement_ttl(ip);
        rewrite_dst(ip, p.l4, c.raddr, c.rport);
        if (c.client.proto == IPPROTO_SCTP && c.rport != c.client.dport) [[unlikely]] {
            sctp_recompute(p);
        }
        return Verdict::route(how, c.raddr);
    case cfg::Fwd::Route:
        if (p.l3_len > snap.topo->min_mtu) [[unlikely]] {
            // A reassembled datagram longer than the server's link: fragmented again (DF clear),
            // on the link itself (fragment_out sends to the route's next hop).
            const Verdict fit = egress_fit(snap, p, c.raddr);
            if (fit.act != Action::Route) {
                const NextHop* nh = snap.topo->route(c.raddr);
                return nh != nullptr && nh->gateway != 0 ? Verdict::discard(Drop::NotOnLink) : fit;
            }
        }
        return Verdict::route(Action::RouteOnLink, c.raddr);
    case cfg::Fwd::Tunnel:
        if ((c.flags & ct::kConnDest6) != 0) [[unlikely]] {
            return Verdict::tunnel6(cold.encap, cold.tun_port, c.dest_slot);
        }
        return Verdict::tunnel(cold.encap, cold.tun_port, c.raddr);
    }
    return Verdict::discard(Drop::Unsupported);
}

Verdict Worker::decide_icmp(const Snapshot& snap, rte_mbuf* m, Parsed& p) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    if (!snap.topo->is_local(ip->dst_addr)) {
        return transit(snap, p);
    }
    if (env_.host) {
        // With a kernel interface the kernel answers everything ICMP addressed to us (echo
        // included: `ping` and its counters behave as on any Linux box); errors about tracked
        // flows were classified IcmpError.
        return Verdict::host();
    }
    auto* icmp = static_cast<rte_icmp_hdr*>(p.l4);
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
        // Errors about tracked flows were classified IcmpError; other ICMP addressed to us has
        // no consumer here.
        return Verdict::discard(Drop::Unsupported);
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
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    rte_ether_addr_copy(&p.eth->src_addr, &p.eth->dst_addr);
    rte_ether_addr_copy(&snap.topo->ports[m->port].mac, &p.eth->src_addr);
    bump(stats_.icmp_echo_replies);
    return Verdict::transmit(m->port);
}

Verdict Worker::decide_icmp_error(const Snapshot& snap, Parsed& p, uint32_t lookup) noexcept {
    if (table_changes_in_burst_ != 0) [[unlikely]] {
        lookup = table_->lookup(p.key);  // as in decide_l4: the bulk answer may be stale
    }
    if (lookup == ct::kMiss) {
        // About no connection of ours: transit traffic is routed, the rest is not ours to answer.
        // (an error about a connection of the kernel's own goes up to it)
        return snap.topo->is_local(p.ip->dst_addr) ? to_kernel_or(Drop::NoConn)
                                                   : transit(snap, p);
    }
    const ct::Conn& c = table_->at(ct::lookup_index(lookup));
    const auto fwd = static_cast<cfg::Fwd>(c.fwd);
    const bool from_client = !ct::lookup_is_reply(lookup);
    if (from_client && fwd == cfg::Fwd::Route) {
        return Verdict::route(Action::RouteOnLink, c.raddr);
    }
    if (from_client && fwd == cfg::Fwd::Tunnel) {
        // Into the connection's tunnel, as its packets go (forward()): an IPv6 server's too.
        const ct::ConnCold& cold = table_->cold(ct::lookup_index(lookup));
        if ((c.flags & ct::kConnDest6) != 0) [[unlikely]] {
            return Verdict::tunnel6(cold.encap, cold.tun_port, c.dest_slot);
        }
        return Verdict::tunnel(cold.encap, cold.tun_port, c.raddr);
    }
    rte_ipv4_hdr* ip = p.ip;
    if (ip->time_to_live <= 1) [[unlikely]] {
        return Verdict::discard(Drop::TtlExceeded);  // never an ICMP error about an ICMP error
    }
    decrement_ttl(ip);
    if (from_client) {
        // From the client, about a reply it got from the VIP: the VIP becomes the real server,
        // outside (the destination) and inside (the quoted source).
        translate_icmp_error(p, Endpoint::Source, c.raddr, c.rport);
        return Verdict::route(Action::Route, c.raddr);
    }
    // From the server side, about a packet the director sent it: the real server becomes the VIP,
    // outside (the sender) and inside (the quoted destination).
    translate_icmp_error(p, Endpoint::Destination, c.client.daddr, c.client.dport);
    return Verdict::route(Action::Route, c.client.saddr);
}

Verdict Worker::transit(const Snapshot& snap, Parsed& p) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    if (snap.topo->is_local(ip->dst_addr)) {
        // Other protocols (VRRP, GRE, OSPF) and fragments not for a service: the kernel's.
        return to_kernel_or(p.fragment ? Drop::Fragment : Drop::Unsupported);
    }
    if (ip->time_to_live <= 1) [[unlikely]] {
        return Verdict::slow(SlowKind::TtlExceeded);
    }
    Action how = Action::Route;
    if (p.l3_len > snap.topo->min_mtu) [[unlikely]] {
        // As Linux's ip_forward: the MTU check comes before the TTL is decremented.
        const Verdict fit = egress_fit(snap, p, ip->dst_addr);
        if (fit.act == Action::SlowPath) {
            return fit;
        }
        how = fit.act;
    }
    decrement_ttl(ip);
    bump(stats_.forwarded);
    return Verdict::route(how, ip->dst_addr);
}

Verdict Worker::egress_fit(const Snapshot& snap, const Parsed& p, uint32_t dst) noexcept {
    const NextHop* nh = snap.topo->route(dst);
    if (nh == nullptr) {
        return Verdict::route(Action::Route, dst);  // stage 4 finds no route either, and counts it
    }
    const uint16_t mtu = snap.topo->ports[nh->port].mtu;
    if (p.l3_len <= mtu) {
        return Verdict::route(Action::Route, dst);
    }
    if (rte_be_to_cpu_16(p.ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG) {
        // RFC 1191, as Linux answers: the next-hop MTU, to the sender, quoting its packet.
        bump(stats_.frag_needed);
        return Verdict::slow(SlowKind::FragNeeded, mtu);
    }
    return Verdict::route(Action::RouteFrag, dst);
}

Verdict Worker::decide_ipv6(const Snapshot& snap, rte_mbuf* m, Parsed& p, uint32_t pre,
                            uint64_t now) noexcept {
    const Topology& topo = *snap.topo;
    rte_ipv6_hdr* ip6 = ipv6_header(p);
    auto* l4 = static_cast<uint8_t*>(p.l4);
    const uint32_t l4_len = p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr));
    const bool icmp = ip6->proto == IPPROTO_ICMPV6;
    const bool nd = icmp && (l4[0] == nd::kNeighSolicit || l4[0] == nd::kNeighAdvert);
    // Whole in the first segment: the checksums below read the message as one buffer.
    const bool whole = m->nb_segs == 1;
    if (ip6->dst_addr[0] == 0xff) {
        // Multicast is never routed. Neighbour discovery is ours; the rest of the link's
        // multicast (MLD, router advertisements) is the kernel's.
        if (nd && whole) {
            return nd::valid_nd(ip6, l4, l4_len) ? Verdict::slow(SlowKind::Nd)
                                                 : Verdict::discard(Drop::BadIcmp6);
        }
        return to_kernel_or(Drop::NotUnicast);
    }
    if (icmp && table6_ != nullptr && table6_->size() != 0 && icmp6_is_error(l4[0])) {
        // An error about a packet of one of our IPv6 connections is translated for its NAT.
        Verdict v;
        if (whole && icmp6_error(snap, p, ip6, v)) {
            return v;
        }
    }
    if (table6_ != nullptr &&
        (ip6->proto == IPPROTO_TCP || ip6->proto == IPPROTO_UDP || ip6->proto == IPPROTO_SCTP) &&
        (!snap.services6.empty() || !snap.marks6.empty() || table6_->size() != 0)) {
        // IPv6 services: a connection's packet either way, or a new flow to a VIP.
        Verdict v;
        if (service6(snap, m, p, ip6, pre, now, v)) {
            return v;
        }
    }
    if (topo.local6_port(ip6->dst_addr) >= 0) {
        if (!icmp || !whole) {
            return to_kernel_or(Drop::Unsupported);  // TCP/UDP to our address (ssh), ...
        }
        if (nd) {
            return nd::valid_nd(ip6, l4, l4_len) ? Verdict::slow(SlowKind::Nd)
                                                 : Verdict::discard(Drop::BadIcmp6);
        }
        if (nd::sum(ip6, l4, l4_len) != 0xffff) {
            return Verdict::discard(Drop::BadIcmp6);
        }
        if (l4[0] != nd::kEchoRequest || l4[1] != 0) {
            return to_kernel_or(Drop::Unsupported);  // errors about the kernel's own traffic
        }
        // Echo reply in place: the swapped addresses leave the pseudo-header's sum as it was,
        // so only the type changes in the checksum.
        uint16_t c;
        std::memcpy(&c, l4 + 2, 2);
        c = csum_replace2(c, rte_cpu_to_be_16(nd::kEchoRequest << 8),
                          rte_cpu_to_be_16(nd::kEchoReply << 8));
        std::memcpy(l4 + 2, &c, 2);
        l4[0] = nd::kEchoReply;
        uint8_t src[16];
        std::memcpy(src, ip6->src_addr, 16);
        std::memcpy(ip6->src_addr, ip6->dst_addr, 16);
        std::memcpy(ip6->dst_addr, src, 16);
        ip6->hop_limits = nd::kHopLimit;
        rte_ether_addr_copy(&p.eth->src_addr, &p.eth->dst_addr);
        rte_ether_addr_copy(&topo.ports[m->port].mac, &p.eth->src_addr);
        bump(stats_.icmp_echo_replies);
        return Verdict::transmit(m->port);
    }
    // Transit. Link-local and unspecified sources stay on their link (RFC 4291 2.5.6).
    if (nd::is_unspecified(ip6->src_addr) ||
        (ip6->src_addr[0] == 0xfe && (ip6->src_addr[1] & 0xc0) == 0x80)) {
        return Verdict::discard(Drop::Unsupported);
    }
    if (ip6->hop_limits <= 1) {
        return Verdict::slow(SlowKind::TimeExceeded6);
    }
    const NextHop6* nh = topo.route6(ip6->dst_addr);
    if (nh == nullptr) {
        return Verdict::discard(Drop::NoRoute);
    }
    const uint16_t mtu = topo.ports[nh->port].mtu;
    if (p.l3_len > mtu) {
        // IPv6 routers never fragment: the sender learns the path MTU (RFC 8200 5).
        bump(stats_.frag_needed);
        return Verdict::slow(SlowKind::TooBig6, mtu);
    }
    --ip6->hop_limits;  // no header checksum in IPv6
    bump(stats_.forwarded);
    const uint8_t* target = nh->gateway.is_unspecified() ? ip6->dst_addr : nh->gateway.b.data();
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &p.eth->src_addr);
    if (!env_.neigh6->lookup(target, &p.eth->dst_addr)) {
        return Verdict::slow(SlowKind::NeedNeigh6, nh->port);
    }
    return Verdict::transmit(nh->port);
}

// ---- IPv6 services ------------------------------------------------------------------------------

uint32_t Worker::owner6(const Snapshot& snap, const Parsed& p) const noexcept {
    const rte_ipv6_hdr* ip6 = ipv6_header(p);
    const uint32_t l4_len = p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr));
    const auto* l4 = static_cast<const uint8_t*>(p.l4);
    if (ip6->proto == IPPROTO_ICMPV6 && l4_len >= kIcmp6HeaderLen + kIcmp6MinQuote &&
        icmp6_is_error(l4[0])) {
        // An error about a connection's packet goes to the connection's owner: the quoted
        // packet's client side is its destination when it came from a VIP, else its source.
        const auto* in = reinterpret_cast<const rte_ipv6_hdr*>(l4 + kIcmp6HeaderLen);
        if (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) {
            const auto* ports = reinterpret_cast<const uint8_t*>(in + 1);
            const bool from_vip = snap.is_vip6(in->src_addr);
            const uint8_t* addr = from_vip ? in->dst_addr : in->src_addr;
            const uint16_t port = load16(ports + (from_vip ? 2 : 0));
            return env_.owners->owner(rte_cpu_to_be_32(sched::fold6(addr)), port);
        }
    }
    if ((ip6->proto != IPPROTO_TCP && ip6->proto != IPPROTO_UDP && ip6->proto != IPPROTO_SCTP) ||
        l4_len < 4) {
        return id_;  // neighbour discovery, echo, ...: answered where they arrive
    }
    // To a VIP or one of our addresses: the client is the source. Otherwise (a NAT reply, or
    // transit): the client side is the destination.
    // A destination an IPv6 mark rule gives a service counts as a VIP (-f MARK -6).
    const bool to_us = snap.is_vip6(ip6->dst_addr) || snap.topo->local6_port(ip6->dst_addr) >= 0 ||
                       (!snap.marks6.empty() &&
                        snap.find_marked6(ip6->proto, ip6->dst_addr, load16(l4 + 2)) != nullptr);
    const uint8_t* addr = to_us ? ip6->src_addr : ip6->dst_addr;
    const uint16_t port = load16(l4 + (to_us ? 0 : 2));
    return env_.owners->owner(rte_cpu_to_be_32(sched::fold6(addr)), port);
}

bool Worker::service6_key(const rte_mbuf* m, const Parsed& p, const rte_ipv6_hdr* ip6,
                          ct::FlowKey6& key) noexcept {
    const uint8_t proto = ip6->proto;
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) {
        return false;
    }
    const auto* l4 = static_cast<const uint8_t*>(p.l4);
    const uint32_t l4_len = p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr));
    const auto in_seg = static_cast<uint32_t>(rte_pktmbuf_data_len(m) -
                                              (l4 - rte_pktmbuf_mtod(m, const uint8_t*)));
    // SCTP: the common header and the first chunk's header, which the state table reads.
    const uint32_t hdr = proto == IPPROTO_TCP    ? sizeof(rte_tcp_hdr)
                         : proto == IPPROTO_SCTP ? kSctpHdrLen + kSctpChunkHdrLen
                                                 : sizeof(rte_udp_hdr);
    if (l4_len < hdr || in_seg < hdr) {
        return false;  // no whole header in the first segment: not served (routed or the kernel's)
    }
    std::memcpy(key.saddr, ip6->src_addr, 16);
    std::memcpy(key.daddr, ip6->dst_addr, 16);
    std::memcpy(&key.sport, l4, 4);
    key.proto = proto;
    std::memset(key.pad, 0, sizeof(key.pad));
    return true;
}

bool Worker::service6(const Snapshot& snap, rte_mbuf* m, Parsed& p, rte_ipv6_hdr* ip6,
                      uint32_t pre, uint64_t now, Verdict& out) noexcept {
    const uint8_t proto = ip6->proto;
    auto* l4 = static_cast<uint8_t*>(p.l4);
    const uint32_t l4_len = p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr));
    const auto in_seg = static_cast<uint32_t>(rte_pktmbuf_data_len(m) -
                                              (l4 - rte_pktmbuf_mtod(m, uint8_t*)));
    ct::FlowKey6 key;
    if (!service6_key(m, p, ip6, key)) {
        return false;
    }
    // The burst's bulk answer, unless this burst's earlier packets changed the table since (a
    // freed entry, or a flow this burst made): then the answer may be stale, so look again.
    uint32_t lookup = pre != kNotLooked6 && table6_->changes() == table6_changes_at_bulk_
                          ? pre
                          : table6_->lookup(key);
    if (lookup != ct::kMiss && table6_->at(ct::lookup_index(lookup)).expire <= now) {
        retire6(ct::lookup_index(lookup));  // dead but not yet swept: the packet is new
        lookup = ct::kMiss;
    }
    const ServiceEntry* svc = nullptr;
    if (lookup == ct::kMiss) {
        svc = snap.find_service6(proto, ip6->dst_addr, key.dport);
        if (svc == nullptr && !snap.marks6.empty()) [[unlikely]] {
            svc = snap.find_marked6(proto, ip6->dst_addr, key.dport);  // -f MARK -6
        }
        if (svc == nullptr) {
            return false;
        }
    }
    if (proto == IPPROTO_TCP) {
        const uint32_t doff = static_cast<uint32_t>(l4[12] >> 4) * 4;
        if (doff < sizeof(rte_tcp_hdr) || doff > l4_len) {
            out = Verdict::discard(Drop::BadL4Header);
            return true;
        }
        p.tcp_flags = l4[13];
    } else if (proto == IPPROTO_SCTP) {
        if (in_seg < l4_len) [[unlikely]] {
            // As IPv4's chained_sctp: the CRC32c a NAT rewrite recomputes reads one buffer.
            out = Verdict::discard(Drop::Unsupported);
            return true;
        }
        p.sctp_chunk = sctp_chunk_of(l4, l4_len);
    } else if (load16(l4 + 6) == 0) {
        // A zero UDP checksum is invalid over IPv6 (RFC 8200 8.1): receivers discard it.
        out = Verdict::discard(Drop::BadL4Header);
        return true;
    }
    if (lookup != ct::kMiss) {
        out = forward6(snap, m, table6_->at(ct::lookup_index(lookup)), p, ip6,
                       ct::lookup_is_reply(lookup), now);
        return true;
    }
    // A new flow: for TCP only on a SYN, for SCTP only on an INIT, as IPv4's.
    if (proto == IPPROTO_TCP || proto == IPPROTO_SCTP) {
        const bool opens =
            proto == IPPROTO_TCP
                ? (p.tcp_flags & (ct::kTcpSyn | ct::kTcpAck | ct::kTcpRst)) == ct::kTcpSyn
                : p.sctp_chunk == ct::kSctpInit;
        if (!opens) {
            out = Verdict::discard(Drop::NoConn);
            return true;
        }
        if (snap.defense.drop_rate != 0 && shed_syn(snap.defense.drop_rate)) [[unlikely]] {
            out = Verdict::discard(Drop::DropPacket);
            return true;
        }
    }
    sched::SchedInput in;
    // IPVS's hashing schedulers hash an IPv6 address folded to 32 bits (sched::fold6).
    in.saddr = sched::fold6(key.saddr);
    in.daddr = sched::fold6(key.daddr);
    in.sport = rte_be_to_cpu_16(key.sport);
    in.dport = rte_be_to_cpu_16(key.dport);
    in.proto = proto;
    in.now_ms = now_ms(now);
    uint32_t tmpl = kNoTemplate;
    const DestEntry* dest = schedule6(*svc, in, key.saddr, now, tmpl);
    if (dest == nullptr) {
        out = Verdict::discard(Drop::NoBackend);
        return true;
    }
    const DestEntry& d = *dest;
    ct::Conn6 c;
    c.client = key;
    std::memcpy(c.raddr, d.addr6.b.data(), 16);
    if (d.addr != 0) {
        // A tunnel server of the other family (IPv6-in-IPv4): its address, IPv4-mapped.
        c.raddr[10] = 0xff;
        c.raddr[11] = 0xff;
        std::memcpy(c.raddr + 12, &d.addr, 4);
        c.flags = ct::kConn6Dest4;
    }
    // As IPv4's: a port-zero service keeps the packet's port, a fwmark one its server's if set.
    c.rport = svc->key.port == 0 && (svc->key.fwmark == 0 || d.port == 0) ? key.dport : d.port;
    c.fwd = static_cast<uint8_t>(d.fwd);
    c.encap = d.encap;
    c.tun_port = d.tun_port;
    c.state = proto == IPPROTO_TCP    ? ct::TcpState::None
              : proto == IPPROTO_SCTP ? ct::TcpState::SctpNone
                                      : ct::TcpState::Udp;
    c.dest_slot = d.slot;
    c.svc_slot = svc->slot;
    c.flags |= ct::kConnInactive;
    c.tmpl = tmpl;
    c.expire = now + snap.timeout_tsc[static_cast<size_t>(c.state)];
    c.sync_countdown = snap.sync.threshold;
    bump(stats_.svc[svc->slot].conns);
    bump(stats_.dest[d.slot].conns);
    if ((svc->flags & cfg::kSvcOnePacket) != 0 && proto == IPPROTO_UDP) [[unlikely]] {
        // One-packet scheduling (-o), as IPv4's admit: IPVS schedules every datagram and keeps
        // no entry; counted as a connection, forwarded from this stack copy (never synced).
        if (tmpl != kNoTemplate) {
            env_.persist->release(tmpl, now);
        }
        bump(stats_.conns_created);
        out = forward6(snap, m, c, p, ip6, false, now);
        return true;
    }
    // Only NAT sees replies: DR and TUN servers answer the client directly.
    const uint32_t idx = table6_->insert(c, d.fwd == cfg::Fwd::Masq);
    if (idx == ct::kMiss) {
        if (tmpl != kNoTemplate) {
            env_.persist->release(tmpl, now);
        }
        out = Verdict::discard(Drop::TableFull);
        return true;
    }
    // IPVS binds a new connection as inactive until it reaches ESTABLISHED.
    sched::DestCounters& dc = env_.dest_counters[d.slot];
    dc.inactive.fetch_add(1, std::memory_order_relaxed);
    sched::refresh_overload(dc, d.u_threshold, d.l_threshold);
    bump(stats_.conns_created);
    bump(stats_.live_conns);
    out = forward6(snap, m, table6_->at(idx), p, ip6, false, now);
    return true;
}

Verdict Worker::forward6(const Snapshot& snap, rte_mbuf* m, ct::Conn6& c, const Parsed& p,
                         rte_ipv6_hdr* ip6, bool reply, uint64_t now) noexcept {
    if (c.fwd != static_cast<uint8_t>(cfg::Fwd::Masq)) {
        // Direct routing and tunnels have no reply key: every packet here is the client's.
        return forward6_direct(snap, m, c, p, ip6, now);
    }
    if (ip6->hop_limits <= 1) {
        return Verdict::slow(SlowKind::TimeExceeded6);
    }
    if (c.client.proto == IPPROTO_TCP) {
        const ct::TcpState next = ct::tcp_next_state(
            c.state, reply ? ct::Dir::Output : ct::Dir::Input, p.tcp_flags,
            snap.defense.secure_tcp);
        if (next != c.state) {
            set_state6(c, next);
        }
    } else if (c.client.proto == IPPROTO_SCTP) [[unlikely]] {
        // IPVS's SCTP state table, as IPv4's sctp_state.
        const ct::TcpState next = ct::sctp_next_state(
            c.state, reply ? ct::Dir::Output : ct::Dir::Input, p.sctp_chunk);
        if (next != c.state) {
            set_state6(c, next);
        }
    }
    c.expire = now + snap.timeout_tsc[static_cast<size_t>(c.state)];
    if (snap.sync.master && !reply) [[unlikely]] {
        sync_conn6(snap, c);  // IPVS syncs on packets from the client only
    }
    const Topology& topo = *snap.topo;
    const uint8_t* dst = reply ? c.client.saddr : c.raddr;
    const NextHop6* nh = topo.route6(dst);
    if (nh == nullptr) {
        return Verdict::discard(Drop::NoRoute);
    }
    if (const uint16_t mtu = topo.ports[nh->port].mtu; p.l3_len > mtu) {
        // IPv6 is never fragmented on the way: the sender learns the path MTU (RFC 8200 5).
        bump(stats_.frag_needed);
        return Verdict::slow(SlowKind::TooBig6, mtu);
    }
    if (reply) {
        bump(stats_.svc[c.svc_slot].outpkts);
        bump(stats_.svc[c.svc_slot].outbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].outpkts);
        bump(stats_.dest[c.dest_slot].outbytes, p.l3_len);
        rewrite6(ip6, p, Endpoint::Source, c.client.daddr, c.client.dport, c.rport);
    } else {
        bump(stats_.svc[c.svc_slot].inpkts);
        bump(stats_.svc[c.svc_slot].inbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].inpkts);
        bump(stats_.dest[c.dest_slot].inbytes, p.l3_len);
        rewrite6(ip6, p, Endpoint::Destination, c.raddr, c.rport, c.client.dport);
    }
    --ip6->hop_limits;  // no header checksum in IPv6
    const uint8_t* target = nh->gateway.is_unspecified() ? ip6->dst_addr : nh->gateway.b.data();
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &p.eth->src_addr);
    if (!env_.neigh6->lookup(target, &p.eth->dst_addr)) {
        return Verdict::slow(SlowKind::NeedNeigh6, nh->port);
    }
    return Verdict::transmit(nh->port);
}

Verdict Worker::forward6_direct(const Snapshot& snap, rte_mbuf* m, ct::Conn6& c, const Parsed& p,
                                rte_ipv6_hdr* ip6, uint64_t now) noexcept {
    const bool tunnel = c.fwd == static_cast<uint8_t>(cfg::Fwd::Tunnel);
    if (c.client.proto == IPPROTO_TCP) {
        // The director sees the client's side only, as IPVS's input-only state table (conn_dir).
        const ct::TcpState next =
            ct::tcp_next_state(c.state, ct::Dir::InputOnly, p.tcp_flags, snap.defense.secure_tcp);
        if (next != c.state) {
            set_state6(c, next);
        }
    } else if (c.client.proto == IPPROTO_SCTP) [[unlikely]] {
        const ct::TcpState next = ct::sctp_next_state(c.state, ct::Dir::InputOnly, p.sctp_chunk);
        if (next != c.state) {
            set_state6(c, next);
        }
    }
    c.expire = now + snap.timeout_tsc[static_cast<size_t>(c.state)];
    if (snap.sync.master) [[unlikely]] {
        sync_conn6(snap, c);  // every packet here is the client's; IPVS syncs DR and TUN too
    }
    // IPVS counts the packet on the way in (ip_vs_in_stats), before its xmit function decides.
    bump(stats_.svc[c.svc_slot].inpkts);
    bump(stats_.svc[c.svc_slot].inbytes, p.l3_len);
    bump(stats_.dest[c.dest_slot].inpkts);
    bump(stats_.dest[c.dest_slot].inbytes, p.l3_len);
    if ((c.flags & ct::kConn6Dest4) != 0) [[unlikely]] {
        // IPv6-in-IPv4 to an IPv4 server: routed as IPv4 in stage 4, encapsulated in deliver()
        // (encapsulate() reads the inner version), which applies the tunnel's MTU rule.
        uint32_t rs;
        std::memcpy(&rs, c.raddr + 12, 4);
        return Verdict::tunnel(c.encap, c.tun_port, rs);
    }
    const Topology& topo = *snap.topo;
    const NextHop6* nh = topo.route6(c.raddr);
    if (nh == nullptr) [[unlikely]] {
        return Verdict::discard(Drop::NoRoute);
    }
    // __ip_vs_get_out_rt_v6: a tunnel's MTU is the link's less the outer header and the
    // tunnel's own (GUE, GRE); IPv6 is never fragmented on the way, so a longer packet gets
    // Packet Too Big with what fits (RFC 8200 5).
    const auto encap = static_cast<Encap>(c.encap);
    const uint32_t tun_len = tunnel ? tunnel_hdr_len(encap) : 0;
    const uint32_t overhead = tunnel ? kEncap6Overhead + tun_len : 0;
    const uint16_t mtu = topo.ports[nh->port].mtu;
    if (p.l3_len + overhead > mtu) [[unlikely]] {
        bump(stats_.frag_needed);
        return Verdict::slow(SlowKind::TooBig6, mtu - overhead);
    }
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &p.eth->src_addr);
    if (!tunnel) {
        if (!nh->gateway.is_unspecified()) [[unlikely]] {
            // Direct routing changes nothing above layer 2: the server must be on a link of ours.
            return Verdict::discard(Drop::NotOnLink);
        }
        if (!env_.neigh6->lookup(c.raddr, &p.eth->dst_addr)) [[unlikely]] {
            // The destination is the VIP, so the slow path cannot route it to the server: the
            // server's address travels in front of the frame (SlowKind::NeedNeighDr6).
            auto* target = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, 16));
            if (target == nullptr) {
                return Verdict::discard(Drop::NoMbuf);
            }
            std::memcpy(target, c.raddr, 16);
            return Verdict::slow(SlowKind::NeedNeighDr6, nh->port);
        }
        return Verdict::transmit(nh->port);
    }
    cfg::Ip6 src;
    if (!topo.source6_for(nh->port, nh->gateway.is_unspecified() ? c.raddr : nh->gateway.b.data(),
                          src)) [[unlikely]] {
        return Verdict::discard(Drop::NoRoute);  // no IPv6 address of ours on that link
    }
    // Drop Ethernet padding, then open the outer header between Ethernet and the inner header.
    const uint32_t frame_len = static_cast<uint32_t>(sizeof(rte_ether_hdr)) + p.l3_len;
    if (rte_pktmbuf_pkt_len(m) > frame_len &&
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame_len)) != 0)
        [[unlikely]] {
        return Verdict::discard(Drop::BadIpHeader);  // padding spread over segments
    }
    const rte_ipv6_hdr inner = *ip6;
    uint32_t inner_ports = 0;
    if (tun_len != 0) [[unlikely]] {
        std::memcpy(&inner_ports, p.l4, sizeof(inner_ports));  // GUE's source port hashes them
    }
    auto* start =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(overhead)));
    if (start == nullptr) [[unlikely]] {
        return Verdict::discard(Drop::NoMbuf);
    }
    std::memmove(start, start + overhead, sizeof(rte_ether_hdr));
    auto* outer = reinterpret_cast<rte_ipv6_hdr*>(start + sizeof(rte_ether_hdr));
    uint8_t proto = IPPROTO_IPV6;
    if (tun_len != 0) [[unlikely]] {
        // GUE or GRE over IPv6 (ip_vs_tunnel_xmit_v6 with ipvs_gue_encap / ipvs_gre_encap).
        constexpr uint32_t kTunOff = sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr);
        proto = write_tunnel_hdr(m, kTunOff, encap, c.tun_port,
                                 gue_source_port6(inner.src_addr, inner.dst_addr, inner_ports),
                                 true, p.l3_len);
        write_encap6(outer, src.b.data(), c.raddr, inner, proto, tun_len);
        if (encap == Encap::GueCsum) {
            set_gue_csum6(m, kTunOff, outer);
        }
    } else {
        write_encap6(outer, src.b.data(), c.raddr, inner);
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(start);
    const uint8_t* target = nh->gateway.is_unspecified() ? c.raddr : nh->gateway.b.data();
    if (!env_.neigh6->lookup(target, &eth->dst_addr)) [[unlikely]] {
        // The outer destination is the server: the slow path routes it again and resolves.
        return Verdict::slow(SlowKind::NeedNeigh6, nh->port);
    }
    return Verdict::transmit(nh->port);
}

void Worker::rewrite6(rte_ipv6_hdr* ip6, const Parsed& p, Endpoint which, const uint8_t* addr,
                      uint16_t port, uint16_t old_port) noexcept {
    if (ip6->proto != IPPROTO_SCTP) [[likely]] {
        rewrite_endpoint6(ip6, p.l4, which, addr, port);
        return;
    }
    // SCTP's CRC32c covers its own header and chunks, not the IPv6 addresses (no pseudo-header):
    // as IPVS's sctp_snat_handler / sctp_dnat_handler, only a changed port costs a pass.
    auto* l4 = static_cast<uint8_t*>(p.l4);
    std::memcpy(which == Endpoint::Source ? ip6->src_addr : ip6->dst_addr, addr, 16);
    store16(l4 + (which == Endpoint::Source ? 0 : 2), port);
    if (port != old_port) {
        sctp_set_checksum(l4, p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr)));
    }
}

void Worker::set_state6(ct::Conn6& c, ct::TcpState next) noexcept {
    // IPVS's accounting, as set_state: active exactly while ESTABLISHED.
    sched::DestCounters& dc = env_.dest_counters[c.dest_slot];
    const bool inactive = (c.flags & ct::kConnInactive) != 0;
    if (!inactive && !ct::is_established(next)) {
        dc.active.fetch_sub(1, std::memory_order_relaxed);
        dc.inactive.fetch_add(1, std::memory_order_relaxed);
        c.flags |= ct::kConnInactive;
    } else if (inactive && ct::is_established(next)) {
        dc.active.fetch_add(1, std::memory_order_relaxed);
        dc.inactive.fetch_sub(1, std::memory_order_relaxed);
        c.flags &= static_cast<uint8_t>(~ct::kConnInactive);
    }
    c.state = next;
}

void Worker::conn_released6(const ct::Conn6& c) noexcept {
    if (c.tmpl != kNoTemplate) {
        env_.persist->release(c.tmpl, rte_rdtsc());
    }
    sched::DestCounters& dc = env_.dest_counters[c.dest_slot];
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

void Worker::retire6(uint32_t idx) noexcept {
    conn_released6(table6_->at(idx));
    bump(stats_.conns_expired);
    table6_->remove(idx);
}

// ---- ICMPv6 errors about IPv6 connections (docs/forwarding.md, "ICMP errors") ----------------

bool Worker::icmp6_error(const Snapshot& snap, const Parsed& p, rte_ipv6_hdr* ip6,
                         Verdict& out) noexcept {
    auto* icmp = static_cast<uint8_t*>(p.l4);
    const uint32_t icmp_len = p.l3_len - static_cast<uint32_t>(sizeof(rte_ipv6_hdr));
    Icmp6ErrorView v;
    const Icmp6Quote q = parse_icmp6_error(icmp, icmp_len, v);
    if (q == Icmp6Quote::Malformed) {
        // Too short to quote a header and the ports (RFC 4443 2.4 (c) wants as much as fits), or
        // not IPv6 inside: never about a connection, never passed on.
        out = Verdict::discard(Drop::BadIcmp6);
        return true;
    }
    if (q == Icmp6Quote::Other) {
        return false;
    }
    const uint32_t look = table6_->lookup(v.key);
    if (look == ct::kMiss) {
        return false;  // about no connection of ours: routed, or the kernel's
    }
    const ct::Conn6& c = table6_->at(ct::lookup_index(look));
    if (static_cast<cfg::Fwd>(c.fwd) != cfg::Fwd::Masq) {
        return false;  // no IPv6 direct routing or tunnels yet: nothing to translate
    }
    // The checksum is computed afresh below: a corrupt message must not come out valid.
    if (nd::sum(ip6, icmp, icmp_len) != 0xffff) {
        out = Verdict::discard(Drop::BadIcmp6);
        return true;
    }
    if (ip6->hop_limits <= 1) [[unlikely]] {
        out = Verdict::discard(Drop::TtlExceeded);  // never an ICMP error about an ICMP error
        return true;
    }
    if (ct::lookup_is_reply(look)) {
        // From the real server's side (ip_vs_out_icmp_v6), about a packet the director sent the
        // server: the real server becomes the VIP, outside (the sender) and inside (the quoted
        // destination and its port). Routed to the client, the outer destination.
        translate_icmp6_error(ip6, icmp, icmp_len, v, Endpoint::Destination, c.client.daddr,
                              c.client.dport);
    } else {
        // From the client's side (ip_vs_in_icmp_v6), about a reply it got from the VIP: the VIP
        // becomes the real server, outside (the destination) and inside (the quoted source).
        translate_icmp6_error(ip6, icmp, icmp_len, v, Endpoint::Source, c.raddr, c.rport);
    }
    const Topology& topo = *snap.topo;
    const NextHop6* nh = topo.route6(ip6->dst_addr);
    if (nh == nullptr) {
        out = Verdict::discard(Drop::NoRoute);
        return true;
    }
    if (p.l3_len > topo.ports[nh->port].mtu) [[unlikely]] {
        out = Verdict::discard(Drop::TooBig);  // no error about an error (RFC 4443 2.4 (e))
        return true;
    }
    --ip6->hop_limits;  // not in the ICMPv6 checksum's pseudo-header
    // IPVS counts a translated error in its connection's statistics, as a packet of that
    // direction (ip_vs_out_stats / ip_vs_in_stats).
    if (ct::lookup_is_reply(look)) {
        bump(stats_.svc[c.svc_slot].outpkts);
        bump(stats_.svc[c.svc_slot].outbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].outpkts);
        bump(stats_.dest[c.dest_slot].outbytes, p.l3_len);
    } else {
        bump(stats_.svc[c.svc_slot].inpkts);
        bump(stats_.svc[c.svc_slot].inbytes, p.l3_len);
        bump(stats_.dest[c.dest_slot].inpkts);
        bump(stats_.dest[c.dest_slot].inbytes, p.l3_len);
    }
    bump(stats_.forwarded);
    const uint8_t* target = nh->gateway.is_unspecified() ? ip6->dst_addr : nh->gateway.b.data();
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &p.eth->src_addr);
    if (!env_.neigh6->lookup(target, &p.eth->dst_addr)) {
        out = Verdict::slow(SlowKind::NeedNeigh6, nh->port);
        return true;
    }
    out = Verdict::transmit(nh->port);
    return true;
}

// ---- Stage 5: delivery ----------------------------------------------------------------------------

[[gnu::always_inline]] inline void Worker::deliver(const Snapshot& snap, rte_mbuf* m, const Verdict& v,
                     const NextHop* nh) noexcept {
    switch (v.act) {
    case Action::Consumed:
        return;
    case Action::Discard:
        discard(m, static_cast<Drop>(v.arg));
        return;
    case Action::SlowPath:
        // ARP is answered, and ICMP errors sent, through the port the frame came in on.
        to_slow_path(m, static_cast<SlowKind>(v.arg), v.dst, m->port);
        return;
    case Action::Transmit:
        tx_enqueue(v.port, m);
        return;
    case Action::Host:
        host_enqueue(m);
        return;
    case Action::RouteFrag:
        fragment_out(snap, m, v, nh);
        return;
    case Action::Tunnel6:
        encapsulate_4in6(snap, m, v);
        return;
    case Action::Route:
    case Action::RouteOnLink:
    case Action::Tunnel:
        break;
    }
    if (nh == nullptr) [[unlikely]] {
        discard(m, v.act == Action::RouteOnLink ? Drop::NotOnLink : Drop::NoRoute);
        return;
    }
    if (v.act == Action::RouteOnLink && nh->gateway != 0) [[unlikely]] {
        // Direct routing changes nothing above layer 2: the server must be on a connected subnet.
        discard(m, Drop::NotOnLink);
        return;
    }
    if (v.act == Action::Tunnel) {
        switch (encapsulate(snap, m, *nh, v)) {
            case Encapsulated::Consumed:
                return;
            case Encapsulated::Fragment:
                fragment_out(snap, m, v, nh);
                return;
            case Encapsulated::Fits:
                break;
        }
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    const uint32_t target = nh->gateway != 0 ? nh->gateway : v.dst;
    rte_ether_addr_copy(&snap.topo->ports[nh->port].mac, &eth->src_addr);
    if (!env_.neigh->lookup(target, &eth->dst_addr)) [[unlikely]] {
        to_slow_path(m, SlowKind::NeedNeigh, target, nh->port);
        return;
    }
    tx_enqueue(nh->port, m);
}

void Worker::fragment_out(const Snapshot& snap, rte_mbuf* m, const Verdict& v,
                          const NextHop* nh) noexcept {
    if (nh == nullptr) {
        discard(m, Drop::NoRoute);
        return;
    }
    const uint16_t mtu = snap.topo->ports[nh->port].mtu;
    // The fragments get a copy of the Ethernet header; rte_ipv4_fragment_packet wants the packet
    // to start at its IPv4 header and to end with its payload (no Ethernet padding).
    rte_ether_hdr eth;
    std::memcpy(&eth, rte_pktmbuf_mtod(m, const void*), sizeof(eth));
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    const uint32_t l3 = rte_be_to_cpu_16(rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->total_length);
    if (rte_pktmbuf_pkt_len(m) != l3 &&
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - l3)) != 0) [[unlikely]] {
        discard(m, Drop::BadIpHeader);  // padding spread over segments: no NIC does that
        return;
    }
    rte_mbuf* frags[kMaxFrags];
    const int32_t n = rte_ipv4_fragment_packet(m, frags, kMaxFrags, mtu, env_.frag_direct,
                                               env_.frag_indirect);
    if (n <= 0) [[unlikely]] {
        // -ENOMEM: a pool ran dry; otherwise more than kMaxFrags fragments (a tiny MTU).
        discard(m, n == -ENOMEM ? Drop::NoMbuf : Drop::TooBig);
        return;
    }
    const uint16_t in_port = m->port;
    rte_pktmbuf_free(m);  // each fragment's payload segments hold their own reference to it
    bump(stats_.frag_packets);
    bump(stats_.frag_out, static_cast<uint64_t>(n));
    const uint32_t target = nh->gateway != 0 ? nh->gateway : v.dst;
    rte_ether_addr_copy(&snap.topo->ports[nh->port].mac, &eth.src_addr);
    const bool known = env_.neigh->lookup(target, &eth.dst_addr);
    for (int32_t i = 0; i < n; ++i) {
        rte_mbuf* f = frags[i];
        auto* fip = rte_pktmbuf_mtod(f, rte_ipv4_hdr*);
        fip->hdr_checksum = rte_ipv4_cksum(fip);  // the library leaves it zero
        auto* fe = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(f, sizeof(eth)));
        if (fe == nullptr) [[unlikely]] {
            discard(f, Drop::NoMbuf);  // the direct pool's headroom always holds it
            continue;
        }
        std::memcpy(fe, &eth, sizeof(eth));
        f->port = in_port;
        if (!known) [[unlikely]] {
            to_slow_path(f, SlowKind::NeedNeigh, target, nh->port);
            continue;
        }
        tx_enqueue(nh->port, f);
    }
}

Worker::Encapsulated Worker::encapsulate(const Snapshot& snap, rte_mbuf* m, const NextHop& nh,
                                         const Verdict& v) noexcept {
    const auto encap = static_cast<Encap>(v.arg);
    if ((*rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr)) >> 4) == 6)
        [[unlikely]] {
        return encapsulate_6in4(snap, m, nh, v);
    }
    const uint32_t overhead = encap_overhead(encap);
    rte_ipv4_hdr inner;
    std::memcpy(&inner, rte_pktmbuf_mtod(m, uint8_t*) + sizeof(rte_ether_hdr), sizeof(inner));
    const uint32_t inner_len = rte_be_to_cpu_16(inner.total_length);
    const uint16_t mtu = snap.topo->ports[nh.port].mtu;
    bool fragment = false;
    if (inner_len + overhead > mtu) [[unlikely]] {
        // IPVS's rule (__ip_vs_get_out_rt, IP_VS_RT_MODE_TUNNEL): a DF packet that no longer
        // fits gets "fragmentation needed" with the MTU left inside the tunnel; without DF the
        // encapsulated packet is fragmented on the way out.
        if (rte_be_to_cpu_16(inner.fragment_offset) & RTE_IPV4_HDR_DF_FLAG) {
            to_slow_path(m, SlowKind::FragNeeded, static_cast<uint32_t>(mtu - overhead), m->port);
            return Encapsulated::Consumed;
        }
        fragment = true;
    }
    uint32_t inner_ports = 0;
    const uint32_t ihl = static_cast<uint32_t>(inner.version_ihl & 0x0f) * 4;
    if (encap == Encap::Gue || encap == Encap::GueCsum) {
        const auto* l4 = rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr) + ihl);
        std::memcpy(&inner_ports, l4, sizeof(inner_ports));  // parse checked 8 bytes are there
    }
    // Drop Ethernet padding, then open the tunnel's headers in front of the inner header.
    const uint32_t frame_len = static_cast<uint32_t>(sizeof(rte_ether_hdr)) + inner_len;
    if (rte_pktmbuf_pkt_len(m) > frame_len &&
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame_len)) != 0)
        [[unlikely]] {
        discard(m, Drop::BadIpHeader);  // padding spread over segments: no NIC does that
        return Encapsulated::Consumed;
    }
    auto* start = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(overhead)));
    if (start == nullptr) [[unlikely]] {
        discard(m, Drop::NoMbuf);
        return Encapsulated::Consumed;
    }
    std::memmove(start, start + overhead, sizeof(rte_ether_hdr));
    EncapParams ep;
    ep.encap = encap;
    ep.gue_port_be = v.port;
    ep.dst = v.dst;
    ep.src = snap.topo->source_for(nh.port, nh.gateway != 0 ? nh.gateway : v.dst);
    ep.id_be = rte_cpu_to_be_16(tunnel_ip_id_++);
    write_encap(m, sizeof(rte_ether_hdr), ep, inner, inner_ports);
    return fragment ? Encapsulated::Fragment : Encapsulated::Fits;
}

Worker::Encapsulated Worker::encapsulate_6in4(const Snapshot& snap, rte_mbuf* m, const NextHop& nh,
                                              const Verdict& v) noexcept {
    rte_ipv6_hdr inner;
    std::memcpy(&inner, rte_pktmbuf_mtod(m, uint8_t*) + sizeof(rte_ether_hdr), sizeof(inner));
    const uint32_t inner_len = rte_be_to_cpu_16(inner.payload_len) + sizeof(rte_ipv6_hdr);
    const auto encap = static_cast<Encap>(v.arg);
    const uint32_t tun_len = tunnel_hdr_len(encap);  // GUE's or GRE's own headers
    const uint16_t mtu = snap.topo->ports[nh.port].mtu;
    const uint32_t kOverhead = sizeof(rte_ipv4_hdr) + tun_len;
    if (inner_len + kOverhead > mtu) [[unlikely]] {
        // __ip_vs_get_out_rt (IP_VS_RT_MODE_TUNNEL) then __mtu_check_toobig_v6: an IPv6 packet
        // is never fragmented, the client learns the MTU left inside the tunnel.
        bump(stats_.frag_needed);
        to_slow_path(m, SlowKind::TooBig6, mtu - kOverhead, m->port);
        return Encapsulated::Consumed;
    }
    const uint32_t frame_len = static_cast<uint32_t>(sizeof(rte_ether_hdr)) + inner_len;
    if (rte_pktmbuf_pkt_len(m) > frame_len &&
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame_len)) != 0)
        [[unlikely]] {
        discard(m, Drop::BadIpHeader);  // padding spread over segments: no NIC does that
        return Encapsulated::Consumed;
    }
    uint32_t inner_ports = 0;
    if (tun_len != 0) {
        // The ports for GUE's source port: after the fixed header (no extension header on a
        // connection's packets, ipv6 parsing already found the L4 header there).
        const uint8_t* l4 = rte_pktmbuf_mtod_offset(m, const uint8_t*,
                                                    sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr));
        std::memcpy(&inner_ports, l4, sizeof(inner_ports));
    }
    auto* start =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(kOverhead)));
    if (start == nullptr) [[unlikely]] {
        discard(m, Drop::NoMbuf);
        return Encapsulated::Consumed;
    }
    std::memmove(start, start + kOverhead, sizeof(rte_ether_hdr));
    reinterpret_cast<rte_ether_hdr*>(start)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    const uint32_t src = snap.topo->source_for(nh.port, nh.gateway != 0 ? nh.gateway : v.dst);
    auto* outer = reinterpret_cast<rte_ipv4_hdr*>(start + sizeof(rte_ether_hdr));
    uint8_t proto = IPPROTO_IPV6;
    constexpr uint32_t kTunOff = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr);
    if (tun_len != 0) {
        // GUE or GRE across families (ip_vs_tunnel_xmit with ipvs_gue_encap / ipvs_gre_encap):
        // the GUE header's proto_ctype and GRE's protocol type say IPv6.
        proto = write_tunnel_hdr(m, kTunOff, encap, v.port,
                                 gue_source_port6(inner.src_addr, inner.dst_addr, inner_ports),
                                 true, inner_len);
    }
    write_encap_6in4(outer, src, v.dst, rte_cpu_to_be_16(tunnel_ip_id_++), inner, proto, tun_len);
    if (encap == Encap::GueCsum) {
        set_gue_csum4(m, kTunOff, outer);
    }
    return Encapsulated::Fits;
}

void Worker::encapsulate_4in6(const Snapshot& snap, rte_mbuf* m, const Verdict& v) noexcept {
    const auto encap = static_cast<Encap>(v.arg);
    const cfg::Ip6& rs = env_.dest_addr6[v.dst];
    const Topology& topo = *snap.topo;
    const NextHop6* nh = topo.route6(rs.b.data());
    if (nh == nullptr) [[unlikely]] {
        discard(m, Drop::NoRoute);
        return;
    }
    rte_ipv4_hdr inner;
    std::memcpy(&inner, rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr)),
                sizeof(inner));
    const uint32_t inner_len = rte_be_to_cpu_16(inner.total_length);
    const uint32_t tun_len = tunnel_hdr_len(encap);
    const uint32_t overhead = sizeof(rte_ipv6_hdr) + tun_len;
    const uint16_t link_mtu = topo.ports[nh->port].mtu;
    // __ip_vs_get_out_rt_v6 (IP_VS_RT_MODE_TUNNEL): the MTU left inside the tunnel, at least
    // IPv6's minimum (below it the kernel drops the packet).
    const uint32_t mtu = link_mtu > overhead ? link_mtu - overhead : 0;
    if (mtu < 1280) [[unlikely]] {
        discard(m, Drop::TooBig);
        return;
    }
    bool fragment = false;
    if (inner_len > mtu) [[unlikely]] {
        // ensure_mtu_is_adequate for an IPv4 packet: with DF, "fragmentation needed" with
        // that MTU; without, the outer IPv6 packet is fragmented (ip6_fragment, ignore_df).
        if ((rte_be_to_cpu_16(inner.fragment_offset) & RTE_IPV4_HDR_DF_FLAG) != 0) {
            bump(stats_.frag_needed);
            to_slow_path(m, SlowKind::FragNeeded, mtu, m->port);
            return;
        }
        fragment = true;
    }
    cfg::Ip6 src;
    const uint8_t* target = nh->gateway.is_unspecified() ? rs.b.data() : nh->gateway.b.data();
    if (!topo.source6_for(nh->port, target, src)) [[unlikely]] {
        discard(m, Drop::NoRoute);  // no IPv6 address of ours on that link
        return;
    }
    uint32_t inner_ports = 0;
    if (tun_len != 0) {
        const uint32_t ihl = static_cast<uint32_t>(inner.version_ihl & 0x0f) * 4;
        std::memcpy(&inner_ports,
                    rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr) + ihl),
                    sizeof(inner_ports));  // parse checked 8 bytes are there
    }
    // Drop Ethernet padding, then open the outer headers in front of the inner one.
    const uint32_t frame_len = static_cast<uint32_t>(sizeof(rte_ether_hdr)) + inner_len;
    if (rte_pktmbuf_pkt_len(m) > frame_len &&
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame_len)) != 0)
        [[unlikely]] {
        discard(m, Drop::BadIpHeader);  // padding spread over segments: no NIC does that
        return;
    }
    auto* start =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(overhead)));
    if (start == nullptr) [[unlikely]] {
        discard(m, Drop::NoMbuf);
        return;
    }
    std::memmove(start, start + overhead, sizeof(rte_ether_hdr));
    auto* eth = reinterpret_cast<rte_ether_hdr*>(start);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* outer = reinterpret_cast<rte_ipv6_hdr*>(start + sizeof(rte_ether_hdr));
    constexpr uint32_t kTunOff = sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr);
    const uint8_t proto = write_tunnel_hdr(
        m, kTunOff, encap, v.port, gue_source_port(inner.src_addr, inner.dst_addr, inner_ports),
        false, inner_len);
    write_encap_4in6(outer, src.b.data(), rs.b.data(), inner, proto, tun_len);
    if (encap == Encap::GueCsum) {
        // udp6_set_csum; --tun-nocsum leaves it 0 over IPv6 too (RFC 6935's tunnel exception).
        set_gue_csum6(m, kTunOff, outer);
    }
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &eth->src_addr);
    const bool known = env_.neigh6->lookup(target, &eth->dst_addr);
    if (fragment) [[unlikely]] {
        fragment_out6(m, nh->port, link_mtu, *eth, known);
        return;
    }
    if (!known) [[unlikely]] {
        // The outer destination is the server: the slow path routes it again and resolves.
        to_slow_path(m, SlowKind::NeedNeigh6, nh->port, m->port);
        return;
    }
    tx_enqueue(nh->port, m);
}

void Worker::fragment_out6(rte_mbuf* m, uint16_t port, uint16_t mtu, const rte_ether_hdr& eth_in,
                           bool known) noexcept {
    const rte_ether_hdr eth = eth_in;  // the fragments get a copy of the Ethernet header
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    rte_mbuf* frags[kMaxFrags];
    const int32_t n =
        rte_ipv6_fragment_packet(m, frags, kMaxFrags, mtu, env_.frag_direct, env_.frag_indirect);
    if (n <= 0) [[unlikely]] {
        discard(m, n == -ENOMEM ? Drop::NoMbuf : Drop::TooBig);
        return;
    }
    const uint16_t in_port = m->port;
    rte_pktmbuf_free(m);  // each fragment's payload segments hold their own reference to it
    bump(stats_.frag_packets);
    bump(stats_.frag_out, static_cast<uint64_t>(n));
    for (int32_t i = 0; i < n; ++i) {
        rte_mbuf* f = frags[i];
        auto* fe = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(f, sizeof(eth)));
        if (fe == nullptr) [[unlikely]] {
            discard(f, Drop::NoMbuf);
            continue;
        }
        std::memcpy(fe, &eth, sizeof(eth));
        f->port = in_port;
        if (!known) [[unlikely]] {
            to_slow_path(f, SlowKind::NeedNeigh6, port, in_port);
            continue;
        }
        tx_enqueue(port, f);
    }
}

// ---- The SYN proxy (docs/reliability.md, "The SYN proxy") ---------------------------------------

Verdict Worker::synp_syn(const Snapshot& snap, rte_mbuf* m, const Parsed& p,
                         uint64_t now) noexcept {
    if (m->nb_segs != 1) [[unlikely]] {
        return Verdict::discard(Drop::Unsupported);  // a SYN never needs a second segment
    }
    const auto* th = static_cast<const rte_tcp_hdr*>(p.l4);
    const uint32_t isn = rte_be_to_cpu_32(th->sent_seq);
    const uint32_t cookie = cookie_.make(p.key.saddr, p.key.daddr, p.key.sport, p.key.dport, isn,
                                         tcp_mss_option(th), now_ms(now));
    // Our MSS: what the smallest port MTU carries (the real server's is not known yet).
    const auto mss = static_cast<uint16_t>(std::min<uint32_t>(snap.topo->min_mtu, 1500) - 40);
    // The key is a copy in `p`: the headers it came from are overwritten now.
    const ct::FlowKey k = p.key;
    if (!synp_build(m, k.daddr, k.saddr, k.dport, k.sport, cookie, isn + 1,
                    ct::kTcpSyn | ct::kTcpAck, std::min(kSynpClientWindow, mss), mss))
        [[unlikely]] {
        return Verdict::discard(Drop::NoMbuf);
    }
    bump(stats_.synp_cookies_sent);
    return Verdict::route(Action::Route, k.saddr);
}

Verdict Worker::synp_ack(const Snapshot& snap, const ServiceEntry& svc, rte_mbuf* m, Parsed& p,
                         uint64_t now) noexcept {
    const auto* th = static_cast<const rte_tcp_hdr*>(p.l4);
    const uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
    const uint32_t ack = rte_be_to_cpu_32(th->recv_ack);
    const uint16_t win = rte_be_to_cpu_16(th->rx_win);
    const CookieResult r = cookie_.check(p.key.saddr, p.key.daddr, p.key.sport, p.key.dport,
                                         seq - 1, ack - 1, now_ms(now));
    switch (r.check) {
    case CookieCheck::Bad:
        return Verdict::discard(Drop::SynpBadCookie);
    case CookieCheck::Stale:
        return Verdict::discard(Drop::SynpStaleCookie);
    case CookieCheck::Valid:
        break;
    }
    if (m->nb_segs != 1) [[unlikely]] {
        // Data in a second segment: a retransmission of this ACK (the cookie stays valid) comes
        // back once the client's stack has learnt our small window.
        return Verdict::discard(Drop::SynpEarlyDropped);
    }
    // From here the client is proven: scheduled as any new flow (scheduler, persistence,
    // counters, a full table's eviction).
    Verdict v;
    const uint32_t idx = admit(snap, svc, p, ct::ConnTable::hash(p.key), now, v);
    if (idx == ct::kMiss) {
        return v;
    }
    bump(stats_.synp_cookies_valid);
    const uint32_t payload =
        p.l3_len - rte_ipv4_hdr_len(p.ip) - static_cast<uint32_t>(th->data_off >> 4) * 4;
    if (payload != 0) {
        // The SYN to the server cannot carry it; the client sends it again after its timeout.
        bump(stats_.drops[static_cast<size_t>(Drop::SynpEarlyDropped)]);
    }
    ct::Conn& c = table_->at(idx);
    c.flags |= kConnSynp | kConnSynpPending;
    table_->cold(idx).synp_seq = ack - 1;  // the cookie, until the server's ISN gives the offset
    set_state(c, ct::TcpState::SynSent);
    c.expire = ct::expire_at(now, snap.timeout_tsc[static_cast<size_t>(ct::TcpState::SynSent)]);
    // The ACK becomes the SYN the client would have sent: its ISN, the MSS its cookie kept, and
    // the window of its ACK (no window scaling was offered, so that window is in bytes).
    if (!synp_build(m, c.client.saddr, c.raddr, c.client.sport, c.rport, seq - 1, 0, ct::kTcpSyn,
                    win, r.mss)) [[unlikely]] {
        return Verdict::discard(Drop::NoMbuf);  // the entry times out as an unanswered SYN's
    }
    bump(stats_.svc[c.svc_slot].inpkts);
    bump(stats_.dest[c.dest_slot].inpkts);
    return Verdict::route(Action::Route, c.raddr);
}

Verdict Worker::synp_pending(const Snapshot& snap, ct::Conn& c, uint32_t idx, rte_mbuf*& m,
                             Parsed& p, bool reply, uint64_t now) noexcept {
    auto* th = static_cast<rte_tcp_hdr*>(p.l4);
    const uint8_t f = p.tcp_flags;
    if (reply) {
        if ((f & (ct::kTcpSyn | ct::kTcpAck | ct::kTcpRst)) == (ct::kTcpSyn | ct::kTcpAck)) {
            // The server's SYN-ACK: the offset between its ISN and the cookie, from now on added
            // to every sequence number that crosses.
            const uint32_t server_isn = rte_be_to_cpu_32(th->sent_seq);
            const uint32_t client_next = rte_be_to_cpu_32(th->recv_ack);
            ct::ConnCold& cold = table_->cold(idx);
            cold.synp_seq = server_isn - cold.synp_seq;
            c.flags &= static_cast<uint8_t>(~kConnSynpPending);
            set_state(c, ct::TcpState::Established);
            c.expire = ct::expire_at(
                now, snap.timeout_tsc[static_cast<size_t>(ct::TcpState::Established)]);
            bump(stats_.synp_handshakes);
            if (rte_mbuf* held = synp_take(idx, c); held != nullptr) {
                // The held segment acknowledges the SYN-ACK (once translated): it goes instead of
                // a bare ACK, and the SYN-ACK's mbuf is done with.
                rte_pktmbuf_free(m);
                m = held;
                parse_frame(rte_pktmbuf_mtod(held, uint8_t*), rte_pktmbuf_data_len(held), p);
                if (p.cls != PktClass::Ipv4L4) [[unlikely]] {
                    return Verdict::discard(Drop::SynpEarlyDropped);  // parsed once already
                }
                return forward(snap, c, cold, p, false, now);
            }
            if (!synp_build(m, c.client.saddr, c.raddr, c.client.sport, c.rport, client_next,
                            server_isn + 1, ct::kTcpAck, kSynpServerWindow, 0)) [[unlikely]] {
                return Verdict::discard(Drop::NoMbuf);
            }
            return Verdict::route(Action::Route, c.raddr);
        }
        if ((f & ct::kTcpRst) != 0) {
            // The server refused: the client gets the RST at the sequence number it expects,
            // the cookie + 1 (an offset that maps this RST's number there).
            ct::ConnCold& cold = table_->cold(idx);
            cold.synp_seq = rte_be_to_cpu_32(th->sent_seq) - (cold.synp_seq + 1);
            c.flags &= static_cast<uint8_t>(~kConnSynpPending);
            if (rte_mbuf* held = synp_take(idx, c); held != nullptr) {
                discard(held, Drop::SynpEarlyDropped);
            }
            const Verdict v = forward(snap, c, cold, p, true, now);
            // IPVS's table keeps SYN_SENT on a server's RST; refused, the entry closes now.
            set_state(c, ct::TcpState::Close);
            c.expire =
                ct::expire_at(now, snap.timeout_tsc[static_cast<size_t>(ct::TcpState::Close)]);
            return v;
        }
        return Verdict::discard(Drop::NoConn);  // nothing else answers a SYN
    }
    if ((f & ct::kTcpRst) != 0) {
        // The client gives up: its RST's sequence number is the one the server expects; no
        // translation from here (the connection is closing).
        c.flags &= static_cast<uint8_t>(~(kConnSynp | kConnSynpPending));
        if (rte_mbuf* held = synp_take(idx, c); held != nullptr) {
            discard(held, Drop::SynpEarlyDropped);
        }
        return forward(snap, c, table_->cold(idx), p, false, now);
    }
    const uint32_t payload =
        p.l3_len - rte_ipv4_hdr_len(p.ip) - static_cast<uint32_t>(th->data_off >> 4) * 4;
    if ((payload == 0 && (f & ct::kTcpFin) == 0) || m->nb_segs != 1 || !synp_hold(idx, c, m, now)) {
        // A bare ACK (its cookie ACK again), a second segment, or no free slot: TCP sends it
        // again once the server's window arrives.
        return Verdict::discard(Drop::SynpEarlyDropped);
    }
    bump(stats_.synp_early_held);
    return {Action::Consumed, 0, 0, 0};
}

bool Worker::synp_hold(uint32_t idx, const ct::Conn& c, rte_mbuf* m, uint64_t now) noexcept {
    SynpHeld& h = synp_held_[idx & (kSynpHoldSlots - 1)];
    if (h.m != nullptr) {
        if (h.expire > now) {
            return false;
        }
        discard(h.m, Drop::SynpEarlyDropped);
        --synp_held_n_;
    }
    h.m = m;
    h.conn = idx;
    h.expire = now + env_.tsc_hz;
    h.key = c.client;
    ++synp_held_n_;
    return true;
}

rte_mbuf* Worker::synp_take(uint32_t idx, const ct::Conn& c) noexcept {
    SynpHeld& h = synp_held_[idx & (kSynpHoldSlots - 1)];
    // The index alone could name a later connection in a reused entry: the key must match too.
    if (h.m == nullptr || h.conn != idx || !(h.key == c.client)) {
        return nullptr;
    }
    rte_mbuf* m = h.m;
    h.m = nullptr;
    --synp_held_n_;
    return m;
}

void Worker::synp_sweep(uint64_t now) noexcept {
    for (uint32_t i = 0; i < kSynpHoldSweep; ++i) {
        SynpHeld& h = synp_held_[synp_cursor_];
        synp_cursor_ = (synp_cursor_ + 1) & (kSynpHoldSlots - 1);
        if (h.m != nullptr && h.expire <= now) {
            discard(h.m, Drop::SynpEarlyDropped);
            h.m = nullptr;
            --synp_held_n_;
        }
    }
}

// ---- Connections ------------------------------------------------------------------------------------

uint32_t Worker::insert_conn(const Snapshot& snap, const ct::Conn& c, const ct::ConnCold& cold,
                             bool nat, uint32_t client_hash, bool staged) noexcept {
    auto put = [&] {
        return nat && staged ? table_->insert_staged(c, cold, client_hash)
                             : table_->insert(c, cold, nat, client_hash);
    };
    uint32_t idx = put();
    if (idx == ct::kMiss && table_->size() == table_->capacity() &&
        table_->evict_half_open(kEvictBudget, rte_rdtsc(), snap.timeout_tsc.data(),
                                [this](const ct::Conn& old) {
                                    conn_released(old);
                                    bump(stats_.conns_evicted);
                                })) [[unlikely]] {
        // Full of connections, some never established (a SYN flood): one of those made room.
        ++table_changes_in_burst_;
        idx = put();
    }
    if (idx != ct::kMiss) {
        ++table_changes_in_burst_;
    }
    return idx;
}

inline void Worker::enter_state(ct::Conn& c, ct::TcpState next, const Snapshot& snap,
                                uint64_t now) noexcept {
    if (next != c.state) {
        set_state(c, next);
    }
    c.expire = ct::expire_at(now, snap.timeout_tsc[static_cast<size_t>(c.state)]);
}

void Worker::conn_state(ct::Conn& c, ct::Dir dir, uint8_t tcp_flags, const Snapshot& snap,
                        uint64_t now) noexcept {
    const bool secure = snap.defense.secure_tcp;
    const ct::TcpState next = ct::tcp_next_state(c.state, dir, tcp_flags, secure);
    if (secure) [[unlikely]] {
        if (next != ct::tcp_next_state(c.state, dir, tcp_flags)) {
            bump(stats_.secure_tcp_held);  // the secure table decided otherwise
        }
    }
    enter_state(c, next, snap, now);
}

void Worker::sctp_state(ct::Conn& c, ct::Dir dir, uint8_t chunk, const Snapshot& snap,
                        uint64_t now) noexcept {
    enter_state(c, ct::sctp_next_state(c.state, dir, chunk), snap, now);
}

void Worker::sctp_recompute(const Parsed& p) noexcept {
    sctp_set_checksum(static_cast<uint8_t*>(p.l4), p.l3_len - rte_ipv4_hdr_len(p.ip));
}

void Worker::set_state(ct::Conn& c, ct::TcpState next) noexcept {
    // IPVS's accounting: a connection is active exactly while ESTABLISHED.
    sched::DestCounters& dc = env_.dest_counters[c.dest_slot];
    const bool inactive = (c.flags & ct::kConnInactive) != 0;
    if (!inactive && !ct::is_established(next)) {
        // Once per state change, never per packet; read by schedulers on every worker.
        dc.active.fetch_sub(1, std::memory_order_relaxed);
        dc.inactive.fetch_add(1, std::memory_order_relaxed);
        c.flags |= ct::kConnInactive;
    } else if (inactive && ct::is_established(next)) {
        dc.active.fetch_add(1, std::memory_order_relaxed);
        dc.inactive.fetch_sub(1, std::memory_order_relaxed);
        c.flags &= static_cast<uint8_t>(~ct::kConnInactive);
    }
    c.state = next;
}

// ---- Connection sync (docs/sync.md) ------------------------------------------------------------

namespace {

/// IPVS's ip_vs_sync_conn_needed with sync_refresh_period 0, for a client packet of a connection
/// of protocol `proto` in `state`: due on the threshold-th client packet and every period-th
/// after it (a countdown instead of a modulo by a runtime value); TCP and SCTP only in the
/// states IPVS sends, and at once on a change to one of them other than ESTABLISHED. Updates
/// the connection's `countdown` and, when due, its `synced_state`. Shared by IPv4 and IPv6.
inline bool sync_due(uint8_t proto, ct::TcpState state, uint32_t& countdown, uint8_t& synced_state,
                     const SyncParams& sp) noexcept {
    bool due = false;
    if (countdown <= 1) {
        due = true;
        countdown = sp.period;
    } else {
        --countdown;
    }
    if (proto == IPPROTO_TCP || proto == IPPROTO_SCTP) {
        // TCP's and SCTP's states are distinct values of one enum below 32: one mask holds both.
        static_assert(ct::kNumStates <= 32);
        constexpr auto bit = [](ct::TcpState s) { return 1u << static_cast<unsigned>(s); };
        constexpr uint32_t kSent =
            bit(ct::TcpState::Established) | bit(ct::TcpState::FinWait) | bit(ct::TcpState::Close) |
            bit(ct::TcpState::CloseWait) | bit(ct::TcpState::TimeWait) |
            bit(ct::TcpState::SctpEstablished) | bit(ct::TcpState::SctpShutdownSent) |
            bit(ct::TcpState::SctpShutdownReceived) | bit(ct::TcpState::SctpShutdownAckSent) |
            bit(ct::TcpState::SctpClosed);
        if ((kSent & bit(state)) == 0) {
            return false;
        }
        const bool changed = static_cast<uint8_t>(state) != synced_state;
        if (!due && !(changed && !ct::is_established(state))) {
            return false;
        }
    } else if (!due) {
        return false;
    }
    synced_state = static_cast<uint8_t>(state);
    return true;
}

}  // namespace

void Worker::sync_conn(const Snapshot& snap, ct::Conn& c, ct::ConnCold& cold) noexcept {
    if (!sync_due(c.client.proto, c.state, cold.sync_countdown, cold.synced_state, snap.sync)) {
        return;
    }
    SyncRecord r;
    r.client = c.client;
    r.raddr = c.raddr;
    r.rport = c.rport;
    r.state = static_cast<uint8_t>(c.state);
    r.fwd = c.fwd;
    r.timeout_s = snap.timeouts.secs[static_cast<size_t>(c.state)];
    r.kind = SyncKind::Conn;
    r.inactive = (c.flags & ct::kConnInactive) != 0 ? 1 : 0;
    sync_emit(r);
    if (cold.tmpl != kNoTemplate) {
        // Its persistence template goes with it (IPVS sends a connection's controller after it).
        const ServiceEntry* svc =
            snap.find_service_or_marked(c.client.proto, c.client.daddr, c.client.dport);
        if (svc != nullptr && (svc->flags & cfg::kSvcPersistent) != 0) {
            SyncRecord t = r;
            t.kind = SyncKind::Template;
            t.client.saddr = c.client.saddr & svc->netmask;
            t.client.sport = 0;
            if (svc->key.port == 0) {
                t.client.dport = 0;
                t.rport = 0;
            }
            if (svc->key.fwmark != 0) {
                // IPVS's fwmark template: protocol 0 (IPPROTO_IP), the mark as its address.
                t.client.proto = 0;
                t.client.daddr = rte_cpu_to_be_32(svc->key.fwmark);
            }
            t.state = static_cast<uint8_t>(ct::TcpState::None);
            t.timeout_s = svc->timeout;
            t.inactive = 1;
            sync_emit(t);
        }
    }
}

void Worker::sync_emit(const SyncRecord& r) noexcept {
    if (sync_n_ == kSyncBuf) [[unlikely]] {
        sync_flush();
    }
    sync_buf_[sync_n_++] = r;
}

void Worker::sync_flush() noexcept {
    unsigned sent = 0;
    if (sync_out_ != nullptr) [[likely]] {
        // Single producer (this worker), single consumer (control).
        sent = rte_ring_sp_enqueue_burst_elem(sync_out_, sync_buf_, sizeof(SyncRecord), sync_n_,
                                              nullptr);
    }
    bump(stats_.sync_queued, sent);
    if (sent < sync_n_) [[unlikely]] {
        bump(stats_.sync_lost, sync_n_ - sent);
    }
    sync_n_ = 0;
}

uint32_t Worker::sync_receive(const Snapshot& snap, uint64_t now) noexcept {
    SyncRecord recs[kSyncInstallBudget];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(sync_in_, recs, sizeof(SyncRecord),
                                                      kSyncInstallBudget, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        sync_install(snap, recs[i], now);
    }
    return n;
}

void Worker::sync_install(const Snapshot& snap, const SyncRecord& r, uint64_t now) noexcept {
    // The rules as this worker sees them decide: a record for a service or real server that is
    // not configured here is counted and dropped (IPVS would keep it without a destination).
    // A fwmark template (protocol 0) names its service by the mark in its address.
    const ServiceEntry* svc =
        r.client.proto == 0
            ? (r.kind == SyncKind::Template
                   ? snap.find_fwmark(rte_be_to_cpu_32(r.client.daddr), cfg::Family::Inet)
                   : nullptr)
            : snap.find_service_or_marked(r.client.proto, r.client.daddr, r.client.dport);
    const DestEntry* dest = nullptr;
    if (svc != nullptr) {
        for (const DestEntry& d : svc->dests) {
            if (d.addr == r.raddr && (d.port == r.rport || svc->key.port == 0)) {
                dest = &d;
                break;
            }
        }
    }
    if (dest == nullptr) {
        bump(stats_.sync_no_service);
        return;
    }
    if (r.state >= ct::kNumStates) [[unlikely]] {
        bump(stats_.sync_no_service);  // control hands over only valid states
        return;
    }
    // A record without a timeout gets the state's (a template: IPVS's three minutes).
    uint32_t secs = r.timeout_s;
    if (secs == 0) {
        secs = r.kind == SyncKind::Template ? 180 : snap.timeouts.secs[r.state];
    }
    const uint64_t timeout = synced_timeout_tsc(secs);
    if (r.kind == SyncKind::Template) {
        if ((svc->flags & cfg::kSvcPersistent) == 0) {
            bump(stats_.sync_no_service);
            return;
        }
        count_synced_template(
            env_.persist->install(svc->slot, r.client.saddr, dest->slot, now, timeout));
        return;
    }
    const auto state = static_cast<ct::TcpState>(r.state);
    const uint32_t look = table_->lookup(r.client);
    if (look != ct::kMiss) {
        ct::Conn& c = table_->at(ct::lookup_index(look));
        if (ct::lookup_is_reply(look)) {
            bump(stats_.sync_no_service);  // a client address that is one of our servers' flows
            return;
        }
        // IPVS updates the state (and the Active/InAct counts) and restarts the timer.
        if (c.state != state) {
            set_state(c, state);
        }
        table_->cold(ct::lookup_index(look)).synced_state = r.state;
        c.expire = ct::expire_at(now, timeout);
        bump(stats_.sync_updated);
        return;
    }
    ct::Conn c;
    ct::ConnCold cold;
    c.client = r.client;
    c.raddr = r.raddr;
    c.rport = r.rport;
    c.fwd = static_cast<uint8_t>(dest->fwd);
    cold.encap = dest->encap;
    cold.tun_port = dest->tun_port;
    c.state = state;
    c.dest_slot = dest->slot;
    c.svc_slot = svc->slot;
    c.flags = r.inactive != 0 ? ct::kConnInactive : 0;
    c.expire = ct::expire_at(now, timeout);
    cold.sync_countdown = snap.sync.period;
    cold.synced_state = r.state;
    if (insert_conn(snap, c, cold, dest->fwd == cfg::Fwd::Masq, ct::ConnTable::hash(c.client),
                    false) == ct::kMiss) {
        bump(stats_.sync_table_full);
        return;
    }
    // IPVS keeps a synced connection's activity flag and counts it in ActiveConn or InActConn.
    sched::DestCounters& dc = env_.dest_counters[dest->slot];
    if (c.flags & ct::kConnInactive) {
        dc.inactive.fetch_add(1, std::memory_order_relaxed);
    } else {
        dc.active.fetch_add(1, std::memory_order_relaxed);
    }
    sched::refresh_overload(dc, dest->u_threshold, dest->l_threshold);
    bump(stats_.live_conns);
    bump(stats_.sync_installed);
}

// ---- Connection sync of IPv6 connections (docs/sync.md, "IPv6 connections") ------------------

void Worker::sync_conn6(const Snapshot& snap, ct::Conn6& c) noexcept {
    // A one-packet flow (-o) has no entry (a stack copy, not in use): IPVS never syncs it.
    if (c.in_use == 0 ||
        !sync_due(c.client.proto, c.state, c.sync_countdown, c.synced_state, snap.sync)) {
        return;
    }
    SyncRecord6 r;
    std::memcpy(r.caddr, c.client.saddr, 16);
    std::memcpy(r.vaddr, c.client.daddr, 16);
    if ((c.flags & ct::kConn6Dest4) != 0) [[unlikely]] {
        // An IPv4 tunnel server: as the kernel lays an IPv4 address into an IPv6 connection's
        // record (nf_inet_addr: the 4 bytes, then zeros), not IPv4-mapped as the entry keeps it.
        std::memcpy(r.raddr, c.raddr + 12, 4);
        r.dest4 = 1;
    } else {
        std::memcpy(r.raddr, c.raddr, 16);
    }
    r.cport = c.client.sport;
    r.vport = c.client.dport;
    r.rport = c.rport;
    r.proto = c.client.proto;
    r.state = static_cast<uint8_t>(c.state);
    r.fwd = c.fwd;
    r.timeout_s = snap.timeouts.secs[static_cast<size_t>(c.state)];
    r.inactive = (c.flags & ct::kConnInactive) != 0 ? 1 : 0;
    sync_emit6(r);
    if (c.tmpl == kNoTemplate) {
        return;
    }
    // Its persistence template goes with it, as for IPv4 (IPVS sends a connection's controller
    // after it): the client masked to the service's prefix, port 0, state NONE.
    const ServiceEntry* svc = snap.find_service6(c.client.proto, c.client.daddr, c.client.dport);
    if (svc == nullptr && !snap.marks6.empty()) {
        svc = snap.find_marked6(c.client.proto, c.client.daddr, c.client.dport);
    }
    if (svc == nullptr || (svc->flags & cfg::kSvcPersistent) == 0) {
        return;
    }
    SyncRecord6 t = r;
    t.kind = SyncKind::Template;
    for (uint32_t i = 0; i < 16; ++i) {
        t.caddr[i] = static_cast<uint8_t>(c.client.saddr[i] & svc->netmask6.b[i]);
    }
    t.cport = 0;
    if (svc->key.port == 0) {
        t.vport = 0;
        t.rport = 0;
    }
    if (svc->key.fwmark != 0) {
        // IPVS's fwmark template: protocol 0 (IPPROTO_IP), the mark as its address.
        t.proto = 0;
        std::memset(t.vaddr, 0, 16);
        const uint32_t mark_be = rte_cpu_to_be_32(svc->key.fwmark);
        std::memcpy(t.vaddr, &mark_be, 4);
    }
    t.state = static_cast<uint8_t>(ct::TcpState::None);
    t.timeout_s = svc->timeout;
    t.inactive = 1;
    sync_emit6(t);
}

void Worker::sync_emit6(const SyncRecord6& r) noexcept {
    if (sync6_n_ == kSyncBuf6) [[unlikely]] {
        sync_flush6();
    }
    sync6_buf_[sync6_n_++] = r;
}

void Worker::sync_flush6() noexcept {
    unsigned sent = 0;
    if (sync6_out_ != nullptr) [[likely]] {
        // Single producer (this worker), single consumer (control), as the IPv4 ring.
        sent = rte_ring_sp_enqueue_burst_elem(sync6_out_, sync6_buf_, sizeof(SyncRecord6), sync6_n_,
                                              nullptr);
    }
    bump(stats_.sync_queued, sent);
    if (sent < sync6_n_) [[unlikely]] {
        bump(stats_.sync_lost, sync6_n_ - sent);
    }
    sync6_n_ = 0;
}

uint32_t Worker::sync_receive6(const Snapshot& snap, uint64_t now) noexcept {
    SyncRecord6 recs[kSyncInstallBudget];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(sync6_in_, recs, sizeof(SyncRecord6),
                                                      kSyncInstallBudget, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        sync_install6(snap, recs[i], now);
    }
    return n;
}

void Worker::sync_install6(const Snapshot& snap, const SyncRecord6& r, uint64_t now) noexcept {
    // As sync_install: this director's rules decide; a record for a service or real server not
    // configured here is counted and dropped. A connection of an IPv6 fwmark service finds it
    // through the backup's own IPv6 mark rules; a fwmark template (protocol 0) by its mark.
    const bool tmpl = r.kind == SyncKind::Template;
    const ServiceEntry* svc = nullptr;
    if (r.proto == 0) {
        uint32_t mark_be;
        std::memcpy(&mark_be, r.vaddr, 4);
        svc = tmpl ? snap.find_fwmark(rte_be_to_cpu_32(mark_be), cfg::Family::Inet6) : nullptr;
    } else {
        svc = snap.find_service6(r.proto, r.vaddr, r.vport);
        if (svc == nullptr && !snap.marks6.empty()) {
            svc = snap.find_marked6(r.proto, r.vaddr, r.vport);
        }
    }
    const DestEntry* dest = svc != nullptr ? sync_dest6(*svc, r) : nullptr;
    if (dest == nullptr || r.state >= ct::kNumStates) {
        bump(stats_.sync_no_service);  // control hands over only valid states
        return;
    }
    if (tmpl) {
        sync_template6(*svc, *dest, r, now);
        return;
    }
    const uint64_t timeout =
        synced_timeout_tsc(r.timeout_s != 0 ? r.timeout_s : snap.timeouts.secs[r.state]);
    const auto state = static_cast<ct::TcpState>(r.state);
    ct::FlowKey6 key;
    std::memcpy(key.saddr, r.caddr, 16);
    std::memcpy(key.daddr, r.vaddr, 16);
    key.sport = r.cport;
    key.dport = r.vport;
    key.proto = r.proto;
    const uint32_t look = table6_->lookup(key);
    if (look != ct::kMiss) {
        ct::Conn6& c = table6_->at(ct::lookup_index(look));
        if (ct::lookup_is_reply(look)) {
            bump(stats_.sync_no_service);  // a client address that is one of our servers' flows
            return;
        }
        // IPVS updates the state (and the Active/InAct counts) and restarts the timer.
        if (c.state != state) {
            set_state6(c, state);
        }
        c.synced_state = r.state;
        c.expire = now + timeout;
        bump(stats_.sync_updated);
        return;
    }
    ct::Conn6 c;
    c.client = key;
    if (dest->addr != 0) {
        // An IPv4 tunnel server: the entry keeps it IPv4-mapped, as service6 does.
        c.raddr[10] = 0xff;
        c.raddr[11] = 0xff;
        std::memcpy(c.raddr + 12, &dest->addr, 4);
    } else {
        std::memcpy(c.raddr, r.raddr, 16);
    }
    c.rport = r.rport;
    c.fwd = static_cast<uint8_t>(dest->fwd);
    c.encap = dest->encap;
    c.tun_port = dest->tun_port;
    c.state = state;
    c.dest_slot = dest->slot;
    c.svc_slot = svc->slot;
    c.flags = r.inactive != 0 ? ct::kConnInactive : 0;
    if (dest->addr != 0) {
        c.flags |= ct::kConn6Dest4;
    }
    c.expire = now + timeout;
    c.sync_countdown = snap.sync.period;
    c.synced_state = r.state;
    // Only NAT sees replies: direct routing and tunnels have no reply key.
    if (table6_->insert(c, dest->fwd == cfg::Fwd::Masq) == ct::kMiss) {
        bump(stats_.sync_table_full);
        return;
    }
    // IPVS keeps a synced connection's activity flag and counts it in ActiveConn or InActConn.
    sched::DestCounters& dc = env_.dest_counters[dest->slot];
    if (c.flags & ct::kConnInactive) {
        dc.inactive.fetch_add(1, std::memory_order_relaxed);
    } else {
        dc.active.fetch_add(1, std::memory_order_relaxed);
    }
    sched::refresh_overload(dc, dest->u_threshold, dest->l_threshold);
    bump(stats_.live_conns);
    bump(stats_.sync_installed);
}

const DestEntry* Worker::sync_dest6(const ServiceEntry& svc, const SyncRecord6& r) noexcept {
    // A port-zero service's servers take any port (the record carries the packet's).
    const auto port_ok = [&](const DestEntry& d) { return d.port == r.rport || svc.key.port == 0; };
    if (r.dest4 == 0) {
        for (const DestEntry& d : svc.dests) {
            if (d.addr == 0 && std::memcmp(d.addr6.b.data(), r.raddr, 16) == 0 && port_ok(d)) {
                return &d;
            }
        }
    }
    // The kernel's layout of an IPv4 server in an IPv6 record: its 4 bytes, then 12 zeros (a
    // kernel backup cannot bind it: it looks for an IPv6 server; Dirigo finds the IPv4 one).
    static constexpr uint8_t kZero[12] = {};
    if (std::memcmp(r.raddr + 4, kZero, sizeof(kZero)) != 0) {
        return nullptr;
    }
    uint32_t a4;
    std::memcpy(&a4, r.raddr, 4);
    for (const DestEntry& d : svc.dests) {
        if (d.addr != 0 && d.addr == a4 && port_ok(d)) {
            return &d;
        }
    }
    return nullptr;
}

void Worker::sync_template6(const ServiceEntry& svc, const DestEntry& dest, const SyncRecord6& r,
                            uint64_t now) noexcept {
    if ((svc.flags & cfg::kSvcPersistent) == 0) {
        bump(stats_.sync_no_service);
        return;
    }
    // A record without a timeout gets IPVS's three minutes, as an IPv4 template does.
    const uint64_t timeout = synced_timeout_tsc(r.timeout_s != 0 ? r.timeout_s : 180);
    // Keyed as schedule6 keys the client's next connections: the masked address and its fold.
    count_synced_template(env_.persist->install(
        svc.slot, PersistClient{sched::fold6(r.caddr), r.caddr}, dest.slot, now, timeout));
}

uint64_t Worker::synced_timeout_tsc(uint32_t secs) const noexcept {
    // A record's timeout is any 32-bit number: capped at ten years so that the product cannot
    // wrap; a connection's is clamped further by ct::expire_at (conntrack/expiry.hpp).
    return static_cast<uint64_t>(std::min(secs, 315360000u)) * env_.tsc_hz;
}

void Worker::count_synced_template(const PersistTable::Binding& b) noexcept {
    if (b.full) {
        bump(stats_.sync_table_full);
        return;
    }
    if (b.prev_slot != b.dest_slot) {
        // As when a worker binds a template: PersistConn counts templates per server.
        if (b.prev_slot != kNoTemplate) {
            env_.dest_counters[b.prev_slot].persistent.fetch_sub(1, std::memory_order_relaxed);
        }
        env_.dest_counters[b.dest_slot].persistent.fetch_add(1, std::memory_order_relaxed);
    }
    bump(stats_.sync_templates);
}

const DestEntry* Worker::schedule6(const ServiceEntry& svc, const sched::SchedInput& in,
                                   const uint8_t* saddr, uint64_t now, uint32_t& tmpl) noexcept {
    if ((svc.flags & cfg::kSvcPersistent) == 0) {
        const sched::BackendIdx b = svc.sched->pick(in);
        return b == sched::kNoBackend ? nullptr : &svc.dests[b];
    }
    // IPVS's ip_vs_sched_persist: the client's address masked to the service's prefix length
    // (ipv6_addr_prefix), one template per (masked client, service).
    uint8_t masked[16];
    for (uint32_t i = 0; i < 16; ++i) {
        masked[i] = static_cast<uint8_t>(saddr[i] & svc.netmask6.b[i]);
    }
    return persistent_pick(svc, in, PersistClient{sched::fold6(masked), masked}, now, tmpl);
}

const DestEntry* Worker::persistent_pick(const ServiceEntry& svc, const sched::SchedInput& in,
                                         const PersistClient& client, uint64_t now,
                                         uint32_t& tmpl) noexcept {
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
    // `c` is a table entry (every caller's is), so its cold part is the table's.
    if (const uint32_t tmpl = table_->cold(c).tmpl; tmpl != kNoTemplate) {
        env_.persist->release(tmpl, rte_rdtsc());
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

void Worker::commit_staged(Verdict* verdict, const uint16_t* staged_pkt) noexcept {
    uint32_t refused[ct::ConnTable::kMaxStaged];
    const uint32_t n = table_->commit_staged(refused);
    for (uint32_t r = 0; r < n; ++r) [[unlikely]] {
        const uint32_t idx = table_->staged_entry(refused[r]);
        conn_released(table_->at(idx));
        table_->remove(idx);
        verdict[staged_pkt[refused[r]]] = Verdict::discard(Drop::TableFull);
    }
}

void Worker::retire(uint32_t idx) noexcept {
    conn_released(table_->at(idx));
    bump(stats_.conns_expired);
    table_->remove(idx);
    ++table_changes_in_burst_;
}

// ---- Transmission, hand-off, slow path, commands -------------------------------------------------

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

void Worker::vlan_rx(const Topology& topo, rte_mbuf* m, Parsed& p) noexcept {
    const bool stripped = (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0;
    if (p.cls == PktClass::Vlan && stripped) {
        // A tag in the frame under the one the NIC took off: QinQ.
        p.cls = PktClass::Drop;
        p.reason = Drop::Unsupported;
        return;
    }
    const uint16_t tci = stripped ? m->vlan_tci : p.vlan_tci;
    // The tag is gone from here on: the frame is untagged and m->port names its interface.
    m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
    m->vlan_tci = 0;
    if (!stripped) {
        if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr)) {
            p.cls = PktClass::Drop;  // parse_vlan checked the first segment holds the tag
            p.reason = Drop::Runt;
            return;
        }
        vlan_pop(rte_pktmbuf_mtod(m, uint8_t*));
        rte_pktmbuf_adj(m, sizeof(rte_vlan_hdr));
    }
    const uint16_t vid = tci & kVlanIdMask;
    // VLAN 0 is a priority tag only: the frame is the port's own (IEEE 802.1Q).
    const uint16_t iface = vid == 0 ? m->port : topo.vlan_iface(m->port, vid);
    if (iface == 0 && vid != 0) {
        p.cls = PktClass::Drop;
        p.reason = Drop::UnknownVlan;
        return;
    }
    m->port = iface;
    if (!stripped) {
        uint32_t len = rte_pktmbuf_data_len(m);
        if (m->nb_segs != 1) {
            len = multi_seg_len(m);
            if (chained_sctp(m)) {  // as stage 1 checks an untagged frame
                p.cls = PktClass::Drop;
                p.reason = Drop::Unsupported;
                return;
            }
        }
        parse_frame(rte_pktmbuf_mtod(m, uint8_t*), len, p, rx_ip_csum(m->ol_flags));
        if (p.cls == PktClass::Vlan) {
            p.cls = PktClass::Drop;  // a second 802.1Q tag
            p.reason = Drop::Unsupported;
        }
    }
}

uint16_t Worker::vlan_tx(uint16_t iface, rte_mbuf* m) noexcept {
    const uint32_t i = static_cast<uint32_t>(iface) - kMaxPorts;
    if (i >= env_.n_vlans) {
        discard(m, Drop::NoRoute);  // no such interface: a bug upstream, counted not crashed
        return kMaxPorts;
    }
    const WorkerEnv::VlanOut& v = env_.vlans[i];
    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, sizeof(rte_vlan_hdr)));
    if (frame == nullptr || rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr))
        [[unlikely]] {
        if (frame != nullptr) {
            rte_pktmbuf_adj(m, sizeof(rte_vlan_hdr));
        }
        discard(m, Drop::NoMbuf);  // no headroom left: every pool keeps RTE_PKTMBUF_HEADROOM
        return kMaxPorts;
    }
    vlan_push(frame, v.vid);
    return v.port;
}

void Worker::host_enqueue(rte_mbuf* m) noexcept {
    TxBuf& b = host_[m->port];
    b.pkts[b.n++] = m;
    if (b.n == kBurst) [[unlikely]] {
        host_flush();
    }
}

void Worker::host_flush() noexcept {
    // The ports, then the VLAN interfaces (kMaxPorts up).
    const uint16_t n_ifaces = static_cast<uint16_t>(env_.n_ports + env_.n_vlans);
    for (uint16_t pi = 0; pi < n_ifaces; ++pi) {
        const uint16_t port = pi < env_.n_ports
                                  ? env_.port_ids[pi]
                                  : static_cast<uint16_t>(kMaxPorts + pi - env_.n_ports);
        TxBuf& b = host_[port];
        if (b.n == 0) {
            continue;
        }
        unsigned sent = 0;
        if (env_.host_rings[port] != nullptr) [[likely]] {
            // Many producers (every worker, the slow path), one consumer (control).
            sent = rte_ring_mp_enqueue_burst(env_.host_rings[port],
                                             reinterpret_cast<void**>(b.pkts), b.n, nullptr);
        }
        bump(stats_.to_host, sent);
        if (sent < b.n) [[unlikely]] {
            bump(stats_.drops[static_cast<size_t>(Drop::HostQueueFull)], b.n - sent);
            rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
        }
        b.n = 0;
    }
}

void Worker::tx_enqueue(uint16_t port, rte_mbuf* m) noexcept {
    if (port >= kMaxPorts) [[unlikely]] {
        port = vlan_tx(port, m);
        if (port >= kMaxPorts) {
            return;  // dropped and counted
        }
    }
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

void Worker::to_slow_path(rte_mbuf* m, SlowKind kind, uint32_t param, uint16_t port) noexcept {
    SlowMeta* meta = slow_meta(m);
    meta->kind = kind;
    meta->next_hop = param;
    meta->out_port = port;
    if (rte_ring_mp_enqueue(env_.slow_ring, m) != 0) [[unlikely]] {
        discard(m, Drop::SlowPathFull);
        return;
    }
    bump(stats_.to_slow_path);
}

void Worker::discard(rte_mbuf* m, Drop why) noexcept {
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

namespace {

/// Whether a table entry is live, for the walks common to both tables.
bool entry_live(const ct::Conn& c) {
    return c.in_use();
}
bool entry_live(const ct::Conn6& c) {
    return c.in_use != 0;
}

}  // namespace

template <class Table, class Conns>
bool Worker::command_pass(Command& cmd, Table& table, uint32_t& cursor, Conns& out,
                          uint32_t& out_count) noexcept {
    const uint32_t cap = table.capacity();
    const uint32_t end = cursor + kCommandSlice < cap ? cursor + kCommandSlice : cap;
    for (uint32_t i = cursor; i < end; ++i) {
        auto& c = table.at(i);
        if (!entry_live(c)) {
            continue;
        }
        switch (cmd.kind) {
        case CommandKind::ListConns:
            if (out_count < out.size()) {
                out[out_count++] = c;
            }
            break;
        case CommandKind::ExpireDests:
            if (std::binary_search(cmd.slots.begin(), cmd.slots.end(), c.dest_slot)) {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(c)>, ct::Conn6>) {
                    conn_released6(c);
                } else {
                    conn_released(c);
                }
                bump(stats_.conns_expired);
                table.remove(i);
                ++cmd.count;
            }
            break;
        }
    }
    cursor = end;
    return end == cap;
}

bool Worker::run_command_slice(Command& cmd) noexcept {
    // The IPv4 table, then the IPv6 one, a slice of kCommandSlice entries per call.
    if (!command_pass(cmd, *table_, cmd.cursor, cmd.conns, cmd.count)) {
        return false;
    }
    if (table6_ != nullptr && !command_pass(cmd, *table6_, cmd.cursor6, cmd.conns6, cmd.count6)) {
        return false;
    }
    cmd.now = rte_rdtsc();
    // Pairs with control's acquire load of `done`: every write above is visible with it.
    cmd.done.store(true, std::memory_order_release);
    return true;
}

uint32_t Worker::drain_inject() noexcept {
    if (inject_ring_ == nullptr) {
        return 0;
    }
    rte_mbuf* pkts[kBurst];
    const unsigned n =
        rte_ring_sc_dequeue_burst(inject_ring_, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        tx_enqueue(pkts[i]->port, pkts[i]);
    }
    return n;
}

}  // namespace dirigo::dp
