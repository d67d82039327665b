// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// A worker: one poll-mode lcore that owns one RX and one TX queue on every port, its connection
/// table and its counters.
///
/// Loop (docs/architecture.md, "The walk of one packet"): load the snapshot -> transmit what the
/// slow path injected -> for each port, rx_burst up to kBurst and process the burst in stages
/// (1 parse and hash, 2 one bulk connection lookup, 3 decide per packet: connections, new flows,
/// rewrites, 4 one bulk route lookup, 5 resolve next hops and enqueue TX) -> take over what other
/// workers handed over -> flush TX -> a bounded expiry sweep -> commands -> quiescent state.
/// Nothing on this path allocates, locks, logs or makes a system call.
///
/// With adaptive polling (`dataplane.poll = "adaptive"`) the loop is the same, but after
/// `idle_polls` loops in a row that found no work the worker goes offline to RCU and sleeps
/// between loops, 16 us at first and doubling up to `max_sleep_us`; the first loop that finds a
/// packet returns it to busy polling. The sleep is the only system call, and only an idle worker
/// makes it (docs/architecture.md, "Idle workers").

#include <atomic>
#include <cstdint>
#include <memory>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip_frag.h>

#include "conntrack/conn_table.hpp"
#include "conntrack/conn_table6.hpp"
#include "dataplane/command.hpp"
#include "dataplane/neigh.hpp"
#include "dataplane/neigh6.hpp"
#include "dataplane/ownership.hpp"
#include "dataplane/persist.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/snapshot.hpp"
#include "dataplane/stats.hpp"
#include "dataplane/syn_cookie.hpp"
#include "dataplane/sync.hpp"
#include "schedulers/scheduler.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace dirigo::dp {

inline constexpr uint16_t kBurst = 32;
/// An IPv6 packet that the burst's IPv6 bulk lookup did not look up (not an encoded lookup
/// answer: entry indexes stay below 2^30).
inline constexpr uint32_t kNotLooked6 = 0xfffffffeu;
inline constexpr uint32_t kPrefetchAhead = 3;
inline constexpr uint32_t kSweepBudget = 64;
/// Most entries an idle worker's sweep adds before one sleep (adaptive polling).
inline constexpr uint32_t kIdleSweepMax = 16384;
/// Entries a new flow examines when the table is full: the stalest half-open one of them goes.
inline constexpr uint32_t kEvictBudget = 16;

/// drop_entry (docs/reliability.md, "Floods"): each worker examines 1/2^kDropEntryShift of its
/// table a second, as IPVS's ip_vs_random_dropentry examines 1/32 of its hash a second, in slices
/// of at most kDropEntrySlice entries a loop.
inline constexpr uint32_t kDropEntryShift = 5;
inline constexpr uint32_t kDropEntrySlice = 64;

/// The SYN proxy (docs/reliability.md, "The SYN proxy"). Its marks on a connection are the two
/// high bits of Conn::flags (conntrack's own flags use the low ones): kConnSynp for a connection
/// opened by a cookie, whose sequence numbers are translated by ConnCold::synp_seq, and
/// kConnSynpPending while the real server's SYN-ACK is still awaited.
inline constexpr uint8_t kConnSynp = 1u << 6;
inline constexpr uint8_t kConnSynpPending = 1u << 7;
static_assert(((ct::kConnInactive | ct::kConnHasReply | ct::kConnReplyStaged | ct::kConnInUse |
                ct::kConnDest6) &
               (kConnSynp | kConnSynpPending)) == 0,
              "the SYN proxy's flags are the two that conntrack leaves free");
/// Conn keeps a service slot in 12 bits and a server slot in 16: every slot must fit.
static_assert(kMaxServices <= ct::kConnMaxSvcSlots && kMaxDests <= ct::kConnMaxDestSlots,
              "a service or server slot does not fit ct::Conn");
/// Client segments that arrive before the server's SYN-ACK: at most one per connection, in a
/// direct-mapped table of this many slots per worker (by entry index), each for at most a second.
inline constexpr uint32_t kSynpHoldSlots = 256;
/// Held slots the loop examines for expiry when some are in use.
inline constexpr uint32_t kSynpHoldSweep = 8;

/// Why a packet went to the slow path (the control thread).
enum class SlowKind : uint8_t {
    Arp = 1,          ///< an ARP frame to learn from or answer
    NeedNeigh = 2,    ///< ready to send, but the next hop's MAC is unknown
    TtlExceeded = 3,  ///< answer with ICMP time exceeded
    FragNeeded = 4,   ///< answer with ICMP fragmentation needed; SlowMeta::next_hop holds the MTU
    Nd = 5,           ///< a valid IPv6 NS or NA (the worker checked RFC 4861 7.1) to learn from or
                      ///< answer
    NeedNeigh6 = 6,   ///< IPv6, ready to send but its next hop's MAC is unknown; SlowMeta::next_hop
                      ///< holds the egress port (the slow path routes the destination again)
    TimeExceeded6 = 7,  ///< answer with ICMPv6 time exceeded (hop limit)
    TooBig6 = 8,        ///< answer with ICMPv6 packet too big; SlowMeta::next_hop holds the MTU
    NeedNeighDr6 = 9,   ///< IPv6 direct routing, the real server's MAC unknown: the frame is
                        ///< preceded by the server's 16-byte address (the destination is the VIP);
                        ///< SlowMeta::next_hop holds the egress port
};

/// Metadata a worker attaches to a slow-path mbuf (an mbuf dynamic field).
struct SlowMeta {
    uint32_t next_hop = 0;  ///< network order (NeedNeigh)
    uint16_t out_port = 0;  ///< NeedNeigh
    SlowKind kind = SlowKind::Arp;
};

/// Registers the SlowMeta dynfield. Thread: startup, after EAL init. Returns false on failure.
bool register_slow_meta();
/// The SlowMeta of `m`. Thread: any holder of the mbuf.
SlowMeta* slow_meta(rte_mbuf* m);

/// Per-real-server thresholds, by slot, shared read-only with workers (set by control before the
/// snapshot that uses them is published).
struct SlotThresholds {
    std::atomic<uint32_t> upper{0};
    std::atomic<uint32_t> lower{0};
};

/// What all workers share: set up by Dataplane, read-mostly.
struct WorkerEnv {
    const std::atomic<const Snapshot*>* published = nullptr;
    rte_rcu_qsbr* qsv = nullptr;
    const NeighTable* neigh = nullptr;
    const NeighTable6* neigh6 = nullptr;
    rte_ring* slow_ring = nullptr;             ///< all workers -> control (MP/SC)
    sched::DestCounters* dest_counters = nullptr;  ///< kMaxDests entries
    SlotThresholds* thresholds = nullptr;      ///< kMaxDests entries
    /// kMaxDests entries: an IPv6 server's address by slot, read for IPv4 connections to an IPv6
    /// tunnel server (ct::kConnDest6). Control writes a slot's only while no connection refers
    /// to it (a fresh or recycled slot), before the snapshot that uses it is published.
    const cfg::Ip6* dest_addr6 = nullptr;
    PersistTable* persist = nullptr;
    uint64_t ms_mult = 0;                      ///< (1000 << 32) / tsc_hz: TSC to ms by multiply
    uint64_t us_mult = 0;                      ///< (10^6 << 32) / tsc_hz: TSC to us by multiply
    uint64_t tsc_hz = 0;
    bool adaptive = false;                     ///< dataplane.poll == "adaptive"
    uint32_t idle_polls = 1000;                ///< adaptive: empty loops before the first sleep
    uint32_t max_sleep_us = 1000;              ///< adaptive: longest sleep
    uint16_t n_ports = 0;
    uint16_t port_ids[kMaxPorts] = {};         ///< the configured ports, polled in this order
    uint16_t rx_queues[kMaxPorts] = {};        ///< RX queues per port id (<= workers)
    /// The exception path: per interface (port or VLAN), packets for its kernel interface (all
    /// workers and the slow path -> control, MP/SC). Null when it has no kernel interface; then
    /// what would go up is dropped and counted as before.
    rte_ring* host_rings[kMaxIfaces] = {};
    /// VLAN interfaces (index kMaxPorts + i): the DPDK port and the VLAN id their frames leave
    /// with. Fixed at start-up, as the ports are.
    struct VlanOut {
        uint16_t port = 0;
        uint16_t vid = 0;
    };
    VlanOut vlans[kMaxVlanIfaces] = {};
    uint16_t n_vlans = 0;                      ///< VLAN interfaces in use (kMaxPorts + n_vlans)
    bool host = false;                         ///< some port has a kernel interface
    /// Fragmentation on the way out: fragment headers come from `frag_direct`, their payloads
    /// are `frag_indirect` mbufs attached to the original packet (rte_ipv4_fragment_packet).
    rte_mempool* frag_direct = nullptr;
    rte_mempool* frag_indirect = nullptr;
    uint32_t n_workers = 1;
    /// The owner function (Dataplane::owners()): who owns a flow, for the hand-off decision.
    const FlowOwners* owners = nullptr;
};

/// Where a burst came from.
enum class BurstSource : uint8_t {
    Port,  ///< received on a port by this worker
    Peer,  ///< handed over by another worker: each mbuf carries its receiving port in m->port and
           ///< is already known to be ours
    Reassembled,  ///< datagrams this worker reassembled from fragments (m->port: the first
                  ///< fragment's); their flow may be another worker's
};

/// What stage 3 of a burst decided for one packet; stages 4 and 5 carry it out.
enum class Action : uint8_t {
    Consumed,     ///< no longer this burst's (handed to its owner worker)
    Discard,      ///< dropped and counted: `arg` is the Drop reason
    SlowPath,     ///< to the control thread: `arg` is the SlowKind, `dst` its SlowMeta::next_hop
    Transmit,     ///< headers complete: out of `port`
    Route,        ///< to `dst` (network order) through the routing table
    RouteOnLink,  ///< direct routing to real server `dst`, which must be on a connected subnet
    Tunnel,       ///< encapsulated to real server `dst` (`arg` the Encap, `port` GUE's port)
    Tunnel6,      ///< as Tunnel to an IPv6 server, `dst` its slot; routed by encapsulate_4in6
    RouteFrag,    ///< as Route, but larger than the egress MTU with DF clear: fragmented first
    Host,         ///< up to the kernel interface of the port it came in on (the exception path)
};

/// A per-packet decision (stage 3's output, stage 5's input).
struct Verdict {
    Action act = Action::Discard;
    uint8_t arg = 0;
    uint16_t port = 0;
    uint32_t dst = 0;

    static Verdict discard(Drop why) { return {Action::Discard, static_cast<uint8_t>(why), 0, 0}; }
    static Verdict slow(SlowKind k, uint32_t param = 0) {
        return {Action::SlowPath, static_cast<uint8_t>(k), 0, param};
    }
    static Verdict transmit(uint16_t port) { return {Action::Transmit, 0, port, 0}; }
    static Verdict route(Action how, uint32_t dst) { return {how, 0, 0, dst}; }
    /// A tunnelling connection's packet toward its real server.
    static Verdict tunnel(uint8_t encap, uint16_t gue_port_be, uint32_t rs) {
        return {Action::Tunnel, encap, gue_port_be, rs};
    }
    /// A tunnelling connection's IPv4 packet toward an IPv6 real server (by its slot).
    static Verdict tunnel6(uint8_t encap, uint16_t gue_port_be, uint32_t dest_slot) {
        return {Action::Tunnel6, encap, gue_port_be, dest_slot};
    }
    static Verdict host() { return {Action::Host, 0, 0, 0}; }
};

class alignas(64) Worker {
public:
    /// `id` is the worker index (its RCU thread id and its queue index on every port).
    /// `inject_ring` carries the frames the slow path sends (worker 0 only; null for the others).
    Worker(uint32_t id, const WorkerEnv& env, std::unique_ptr<ct::ConnTable> table,
           rte_ring* inject_ring, rte_ring* command_ring);

    /// Connects the hand-off rings: `to[w]` carries packets this worker hands to worker w,
    /// `from[w]` those worker w hands to this one (null for w == id). Thread: startup.
    void set_handoff(const std::vector<rte_ring*>& to, const std::vector<rte_ring*>& from);
    /// Connects the connection-sync rings: `out` carries this worker's SyncRecords to control
    /// (master), `in` control's records for this worker to install (backup); both single
    /// producer, single consumer, elements of sizeof(SyncRecord). Thread: startup.
    void set_sync_rings(rte_ring* out, rte_ring* in) {
        sync_out_ = out;
        sync_in_ = in;
    }
    /// The IPv6 connection-sync rings, as set_sync_rings() (elements of sizeof(SyncRecord6)).
    /// Thread: startup.
    void set_sync_rings6(rte_ring* out, rte_ring* in) {
        sync6_out_ = out;
        sync6_in_ = in;
    }
    /// Gives the worker its fragment reassembly table (it then owns and destroys it), or none:
    /// fragments then pass as before (docs/forwarding.md, "Fragments"). Thread: startup.
    void set_reassembly(rte_ip_frag_tbl* tbl, uint64_t timeout_tsc) {
        frag_tbl_ = tbl;
        frag_timeout_tsc_ = timeout_tsc;
    }
    /// Gives the worker its IPv6 connection table (it then owns it), or none: then IPv6 is
    /// served as a host and a router only, no IPv6 service (docs/architecture.md, "IPv6
    /// services"). Thread: startup.
    void set_table6(std::unique_ptr<ct::ConnTable6> t) { table6_ = std::move(t); }
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Polls until `stop` becomes true. Thread: this worker's lcore.
    void run(const std::atomic<bool>& stop) noexcept;
    /// One loop iteration, online to RCU only for its duration (in-process tests drive workers this
    /// way from the test thread). Returns packets received. Thread: one at a time.
    uint32_t poll_once() noexcept;

    /// Switches busy / adaptive polling (benchmarks compare them on one rig). Thread: control,
    /// while this worker is not running.
    void set_poll(bool adaptive, uint32_t idle_polls, uint32_t max_sleep_us) {
        env_.adaptive = adaptive;
        env_.idle_polls = idle_polls;
        env_.max_sleep_us = max_sleep_us;
    }

    uint32_t id() const { return id_; }
    const WorkerStats& stats() const { return stats_; }
    WorkerStats& stats() { return stats_; }
    const ct::ConnTable& table() const { return *table_; }
    /// The IPv6 connection table, or nullptr when the worker has none.
    const ct::ConnTable6* table6() const { return table6_.get(); }
    /// Frees the segments the SYN proxy holds and the fragments waiting in reassembly (run() does
    /// when it stops; tests driving poll_once call it before the mbuf count). Thread: this
    /// worker, or control while it is stopped.
    void release_held() noexcept;
    /// The SYN proxy's cookie maker and the worker's clock in ms (tests forge and age cookies).
    const SynCookie& syn_cookie() const { return cookie_; }
    uint64_t clock_ms() const { return now_ms(rte_rdtsc()); }
    /// Runs a slice of `cmd` (kCommandSlice entries); returns true when it is complete (and sets
    /// `done`). Thread: this worker (from its loop), or control while the worker is stopped.
    bool run_command_slice(Command& cmd) noexcept;

    /// The first sleep of an idle spell (adaptive polling), or max_sleep_us if that is shorter.
    static constexpr uint32_t kFirstSleepUs = 16;

private:
    /// The loops of run(), chosen once: `Adaptive` sleeps when idle (see the file comment).
    template <bool Adaptive>
    void loop(const std::atomic<bool>& stop) noexcept;
    /// An idle worker's pause: an expiry sweep scaled to the sleep, then offline to RCU, sleep
    /// `us`, online again. Thread: this worker, between loops (no snapshot reference held).
    [[gnu::cold, gnu::noinline]] void idle_sleep(uint32_t us) noexcept;
    uint32_t iterate(const Snapshot& snap) noexcept;
    void sweep(uint64_t now, uint32_t budget) noexcept;
    /// The drop_entry defence: one slice of this second's share of the table.
    [[gnu::cold, gnu::noinline]] void drop_entry(const Snapshot& snap, uint64_t now) noexcept;
    /// The drop_packet defence: true for one of every `rate` calls (IPVS's ip_vs_todrop), by a
    /// countdown restarted when the rate changes. Thread: this worker. Cost: O(1), no division.
    bool shed_syn(uint32_t rate) noexcept {
        if (rate != drop_rate_) [[unlikely]] {
            drop_rate_ = rate;
            drop_countdown_ = rate;
        }
        if (--drop_countdown_ > 0) {
            return false;
        }
        drop_countdown_ = rate;
        return true;
    }
    /// The staged burst loop (worker.cpp walks it; docs/architecture.md too).
    void process_burst(const Snapshot& snap, BurstSource src, uint16_t port, rte_mbuf** pkts,
                       uint16_t n, uint64_t now) noexcept;

    // Stage 3: one decision per packet, no transmission.
    /// `m` is the burst's slot for the packet: the SYN proxy may put another mbuf in it (a held
    /// segment that goes out in place of the server's SYN-ACK). `hash` is ConnTable::hash(p.key),
    /// from stage 1: reused for a re-lookup and the insert.
    Verdict decide_l4(const Snapshot& snap, rte_mbuf*& m, Parsed& p, uint32_t lookup,
                      uint32_t hash, uint64_t now) noexcept;

    // The SYN proxy (docs/reliability.md, "The SYN proxy"). Cold: floods and new connections.
    /// A SYN to a proxied service: answered in place with a cookie SYN-ACK, no entry.
    [[gnu::cold, gnu::noinline]] Verdict synp_syn(const Snapshot& snap, rte_mbuf* m,
                                                 const Parsed& p, uint64_t now) noexcept;
    /// An ACK to a proxied service that matches no entry: a valid cookie schedules a real server
    /// as a new flow does, creates the entry (pending) and becomes, in place, the SYN to it.
    [[gnu::cold, gnu::noinline]] Verdict synp_ack(const Snapshot& snap, const ServiceEntry& svc,
                                                 rte_mbuf* m, Parsed& p, uint64_t now) noexcept;
    /// A packet of connection `idx` while its server's SYN-ACK is awaited: the SYN-ACK completes
    /// the splice (and is answered with the ACK, or replaced in `m` by the held segment), a RST
    /// ends it, a client segment is held (one) or dropped.
    [[gnu::cold, gnu::noinline]] Verdict synp_pending(const Snapshot& snap, ct::Conn& c,
                                                     uint32_t idx, rte_mbuf*& m, Parsed& p,
                                                     bool reply, uint64_t now) noexcept;
    /// Holds `m` for connection `idx`; false when its slot is taken by a live segment.
    bool synp_hold(uint32_t idx, const ct::Conn& c, rte_mbuf* m, uint64_t now) noexcept;
    /// The segment held for connection `idx` (removed from the table), or nullptr.
    rte_mbuf* synp_take(uint32_t idx, const ct::Conn& c) noexcept;
    /// Frees held segments older than a second, a few slots a loop.
    void synp_sweep(uint64_t now) noexcept;
    uint64_t now_ms(uint64_t now) const noexcept {
        // Milliseconds by multiply-shift: no division on the packet path.
        return static_cast<uint64_t>((static_cast<unsigned __int128>(now) * env_.ms_mult) >> 32);
    }
    /// A packet that opens a connection (or, for one-packet scheduling, is scheduled alone):
    /// schedules it and creates its entry. Returns the entry, or kMiss with `out` set.
    uint32_t admit(const Snapshot& snap, const ServiceEntry& svc, Parsed& p, uint32_t hash,
                   uint64_t now, Verdict& out) noexcept;
    /// Forwards a packet of connection `c` (cold part `cold`: the table's, or with `c` a copy
    /// for one-packet scheduling) toward its real server (`reply` false) or the client.
    Verdict forward(const Snapshot& snap, ct::Conn& c, ct::ConnCold& cold, Parsed& p, bool reply,
                    uint64_t now) noexcept;
    Verdict decide_icmp(const Snapshot& snap, rte_mbuf* m, Parsed& p) noexcept;
    /// An ICMP error quoting a tracked flow: translated for NAT, passed on for DR/TUN.
    Verdict decide_icmp_error(const Snapshot& snap, Parsed& p, uint32_t lookup) noexcept;
    /// Everything IPv6 (docs/architecture.md, "IPv6"): neighbour discovery to the slow path,
    /// echo answered in place, transit routed through rte_lpm6 with the hop limit decremented,
    /// the rest of what is for us up to the kernel. Cold: out of the IPv4 burst's code.
    /// `pre` is the burst's bulk lookup answer for the packet (kNotLooked6 when it had none).
    [[gnu::cold, gnu::noinline]] Verdict decide_ipv6(const Snapshot& snap, rte_mbuf* m,
                                                    Parsed& p, uint32_t pre,
                                                    uint64_t now) noexcept;
    /// IPv6 services (docs/architecture.md, "IPv6 services"): a TCP or UDP packet of an IPv6
    /// connection, or a new flow to an IPv6 service, decided into `out` (NAT both ways); false
    /// when the packet is neither (decide_ipv6 goes on as a host and router).
    bool service6(const Snapshot& snap, rte_mbuf* m, Parsed& p, rte_ipv6_hdr* ip6, uint32_t pre,
                  uint64_t now, Verdict& out) noexcept;
    /// The connection key of an IPv6 TCP, UDP or SCTP packet whose L4 header is whole in the
    /// first segment (what service6 serves); false for any other packet. Stage 1 uses it for
    /// the burst's IPv6 bulk lookup, service6 for its own.
    static bool service6_key(const rte_mbuf* m, const Parsed& p, const rte_ipv6_hdr* ip6,
                             ct::FlowKey6& key) noexcept;
    /// Forwards a packet of IPv6 connection `c` toward its real server (`reply` false) or the
    /// client: state, counters, the NAT rewrite, the route and the next hop's MAC; a direct
    /// routing or tunnel connection goes through forward6_direct.
    Verdict forward6(const Snapshot& snap, rte_mbuf* m, ct::Conn6& c, const Parsed& p,
                     rte_ipv6_hdr* ip6, bool reply, uint64_t now) noexcept;
    /// A client's packet of an IPv6 direct routing (-g) or tunnel (-i) connection, as IPVS's
    /// ip_vs_dr_xmit_v6 and ip_vs_tunnel_xmit_v6 (docs/forwarding.md, "IPv6 direct routing and
    /// tunnels"): input-only state, the counters, the path MTU (Packet Too Big with the MTU, less
    /// the outer header for a tunnel), then the Ethernet header for the server on its link, or
    /// the IPv6-in-IPv6 header. The hop limit is left as it came (the director delivers, as a
    /// kernel director's LOCAL_IN hook does). Thread: worker. Cost: one route lookup, one
    /// neighbour lookup, a 40-byte prepend for a tunnel; no allocation.
    Verdict forward6_direct(const Snapshot& snap, rte_mbuf* m, ct::Conn6& c, const Parsed& p,
                            rte_ipv6_hdr* ip6, uint64_t now) noexcept;
    /// NAT rewrite of one endpoint of an IPv6 packet: TCP/UDP incrementally (rewrite_endpoint6);
    /// SCTP by copying, and its CRC32c recomputed when the port changes from `old_port`.
    void rewrite6(rte_ipv6_hdr* ip6, const Parsed& p, Endpoint which, const uint8_t* addr,
                  uint16_t port, uint16_t old_port) noexcept;
    /// The worker that owns an IPv6 TCP/UDP packet's flow (by its client side, as owner_of);
    /// id_ for anything else. Cold: IPv6 with more than one worker.
    [[gnu::cold, gnu::noinline]] uint32_t owner6(const Snapshot& snap,
                                                 const Parsed& p) const noexcept;
    /// An ICMPv6 error (destination unreachable, packet too big, time exceeded, parameter
    /// problem) quoting a packet of a tracked IPv6 NAT connection: translated as IPVS's
    /// ip_vs_out_icmp_v6 (from the server side, to the client) or ip_vs_in_icmp_v6 (from the
    /// client side, to the real server) do, into `out`. False when it quotes no connection of
    /// ours (decide_ipv6 goes on as a host and router). Cold: errors are rare.
    [[gnu::cold, gnu::noinline]] bool icmp6_error(const Snapshot& snap, const Parsed& p,
                                                  rte_ipv6_hdr* ip6, Verdict& out) noexcept;
    /// Sync master for IPv6 connections: sync_conn's rules for `c` (a client packet).
    [[gnu::cold, gnu::noinline]] void sync_conn6(const Snapshot& snap, ct::Conn6& c) noexcept;
    /// Puts `r` into the loop's IPv6 records, flushing them first when the buffer is full.
    void sync_emit6(const SyncRecord6& r) noexcept;
    /// Queues the loop's IPv6 records on their ring to control with one enqueue.
    void sync_flush6() noexcept;
    /// The real server of `svc` a received IPv6 record names, or nullptr: an IPv6 server by
    /// address and port, else an IPv4 (tunnel) server in the kernel's layout of an IPv4 address
    /// in an IPv6 record (its 4 bytes, 12 zero bytes). Thread: worker. Cost: O(servers).
    static const DestEntry* sync_dest6(const ServiceEntry& svc, const SyncRecord6& r) noexcept;
    /// Sync backup: a received IPv6 persistence template into the shared PersistTable, keyed
    /// as schedule6 keys the client's next connections. Thread: worker. Cost: one
    /// PersistTable::install.
    void sync_template6(const ServiceEntry& svc, const DestEntry& dest, const SyncRecord6& r,
                        uint64_t now) noexcept;
    /// Sync backup: installs up to kSyncInstallBudget IPv6 records; returns how many.
    uint32_t sync_receive6(const Snapshot& snap, uint64_t now) noexcept;
    void sync_install6(const Snapshot& snap, const SyncRecord6& r, uint64_t now) noexcept;
    /// A synced record's timeout in TSC cycles, capped at ten years so that the product cannot
    /// wrap (IPv4 and IPv6 connections and templates alike).
    uint64_t synced_timeout_tsc(uint32_t secs) const noexcept;
    /// Counts a synced template's binding (IPv4 or IPv6): a full table, or PersistConn moved to
    /// its server as when a worker binds one, and the template installed.
    void count_synced_template(const PersistTable::Binding& b) noexcept;
    /// set_state, conn_released and retire for IPv6 connections.
    void set_state6(ct::Conn6& c, ct::TcpState next) noexcept;
    void conn_released6(const ct::Conn6& c) noexcept;
    void retire6(uint32_t idx) noexcept;
    /// Routing transit: traffic not for one of our addresses is routed like a Linux router does.
    Verdict transit(const Snapshot& snap, Parsed& p) noexcept;

    /// A packet longer than the smallest port MTU, about to be routed to `dst`: Route when it
    /// fits the egress port's MTU (or has no route: stage 4 counts that), RouteFrag when it does
    /// not and DF is clear, else the slow path's ICMP fragmentation needed with that MTU (about
    /// the packet as received: the caller has not rewritten it yet). Cold: one route lookup.
    [[gnu::cold, gnu::noinline]] Verdict egress_fit(const Snapshot& snap, const Parsed& p,
                                                   uint32_t dst) noexcept;

    // Stage 5: carry out a decision.
    /// RouteFrag: fragments `m` to the egress MTU as Linux's ip_fragment does, then sends every
    /// fragment on as deliver() sends a packet. Cold.
    [[gnu::cold, gnu::noinline]] void fragment_out(const Snapshot& snap, rte_mbuf* m,
                                                   const Verdict& v, const NextHop* nh) noexcept;
    void deliver(const Snapshot& snap, rte_mbuf* m, const Verdict& v, const NextHop* nh) noexcept;
    /// What encapsulate() did with a packet.
    enum class Encapsulated : uint8_t { Consumed, Fits, Fragment };
    /// Encapsulation toward `v.dst` out of `nh.port` (IP-in-IP, GUE or GRE: dataplane/tunnel.hpp),
    /// with IPVS's MTU rule: a packet that no longer fits gets ICMP fragmentation needed when it
    /// has DF, and is encapsulated and then fragmented (Fragment) when it has not. Consumed: the
    /// packet was handed to the slow path or dropped and counted.
    Encapsulated encapsulate(const Snapshot& snap, rte_mbuf* m, const NextHop& nh,
                             const Verdict& v) noexcept;
    /// encapsulate() for an IPv6 packet to an IPv4 tunnel server (an IPv6 service's server of
    /// the other family): IPv6-in-IPv4 (protocol 41, dataplane/tunnel.hpp write_encap_6in4); a
    /// packet longer than the MTU less 20 gets ICMPv6 Packet Too Big with that. Cold: mixed
    /// families are rare.
    [[gnu::cold, gnu::noinline]] Encapsulated encapsulate_6in4(const Snapshot& snap, rte_mbuf* m,
                                                               const NextHop& nh,
                                                               const Verdict& v) noexcept;
    /// Delivers an IPv4 packet to an IPv6 tunnel server (Action::Tunnel6): routes the server
    /// as IPv6, applies __ip_vs_get_out_rt_v6's MTU rule for an IPv4 inner packet (DF and too
    /// long: "fragmentation needed" with the MTU less the outer headers; no DF: the outer IPv6
    /// packet is fragmented), writes IPv4-in-IPv6 (next header 4) or GUE / GRE over IPv6, and
    /// resolves the next hop (the slow path when unknown). Cold: mixed families are rare.
    [[gnu::cold, gnu::noinline]] void encapsulate_4in6(const Snapshot& snap, rte_mbuf* m,
                                                       const Verdict& v) noexcept;
    /// Sends an IPv6 frame (Ethernet header, then an IPv6 packet longer than `mtu`) as IPv6
    /// fragments out of `port` toward `target` (rte_ipv6_fragment_packet), as the kernel's
    /// ip6_fragment does for a tunnel's outer packet (ignore_df). Cold.
    [[gnu::cold, gnu::noinline]] void fragment_out6(rte_mbuf* m, uint16_t port, uint16_t mtu,
                                                    const rte_ether_hdr& eth, bool known) noexcept;

    uint32_t owner_of(const Snapshot& snap, const Parsed& p) const noexcept;
    /// Schedules a new flow of a persistent service through its client's template.
    const DestEntry* persistent_pick(const ServiceEntry& svc, const sched::SchedInput& in,
                                     const PersistClient& client, uint64_t now,
                                     uint32_t& tmpl) noexcept;
    /// An IPv6 service's new flow: its scheduler's pick, or through the template of its client
    /// (`saddr` masked to the service's prefix length) when the service is persistent.
    const DestEntry* schedule6(const ServiceEntry& svc, const sched::SchedInput& in,
                               const uint8_t* saddr, uint64_t now, uint32_t& tmpl) noexcept;
    void flush_handoff() noexcept;
    /// Not served here: up to the kernel when the port has an interface, else dropped as `why`.
    Verdict to_kernel_or(Drop why) const noexcept {
        return env_.host ? Verdict::host() : Verdict::discard(why);
    }
    void host_enqueue(rte_mbuf* m) noexcept;
    /// Stage 1 for a tagged frame (in its bytes, or stripped by the NIC into m->vlan_tci): the
    /// tag goes, m->port becomes the VLAN's interface and `p` the untagged frame's parse; an
    /// unknown VLAN, a second tag or QinQ makes `p` a counted drop. Cold: untagged frames never
    /// come here.
    [[gnu::cold, gnu::noinline]] void vlan_rx(const Topology& topo, rte_mbuf* m,
                                              Parsed& p) noexcept;
    /// TX toward VLAN interface `iface`: writes its tag into `m`; returns the DPDK port, or
    /// kMaxPorts when `m` was dropped (no headroom: counted). Cold.
    [[gnu::cold, gnu::noinline]] uint16_t vlan_tx(uint16_t iface, rte_mbuf* m) noexcept;
    /// Queues each port's packets for the kernel with one enqueue; counts what did not fit.
    void host_flush() noexcept;
    /// Queues `m` for interface `port`: a DPDK port, or a VLAN (tagged first, by vlan_tx).
    void tx_enqueue(uint16_t port, rte_mbuf* m) noexcept;
    void tx_flush() noexcept;
    /// Transmits port's buffer; what the queue refuses is freed and counted.
    void tx_send(uint16_t port) noexcept;
    void to_slow_path(rte_mbuf* m, SlowKind kind, uint32_t param, uint16_t port) noexcept;
    void discard(rte_mbuf* m, Drop why) noexcept;
    void conn_state(ct::Conn& c, ct::Dir dir, uint8_t tcp_flags, const Snapshot& snap,
                    uint64_t now) noexcept;
    /// Adds `c` to the table (with its reply key when `nat`); a full table first gives up its
    /// stalest never-established entry. Returns the index or kMiss, and counts the change for
    /// stage 3's lookups. Used by new flows and by sync installs alike. `client_hash` is
    /// ConnTable::hash(c.client), computed once while parsing. `staged`: a new flow in stage 3,
    /// whose reply key (NAT) waits for commit_staged() at the end of the stage, its bucket miss
    /// overlapped with the rest of the burst's (ConnTable::insert_staged); a sync install is
    /// not staged.
    uint32_t insert_conn(const Snapshot& snap, const ct::Conn& c, const ct::ConnCold& cold,
                         bool nat, uint32_t client_hash, bool staged) noexcept;
    /// The end of stage 3: indexes the reply keys of the burst's new NAT connections. One whose
    /// key found no room (both of its buckets full: the index is saturated) is undone, and its
    /// packet, packet `staged_pkt[ordinal]` of the burst, becomes a TableFull drop.
    [[gnu::noinline]] void commit_staged(Verdict* verdict, const uint16_t* staged_pkt) noexcept;
    /// Moves `c` to `next` with IPVS's ActiveConn/InActConn accounting.
    void set_state(ct::Conn& c, ct::TcpState next) noexcept;
    /// Moves `c` to `next` (set_state when it changes) and restarts its timeout in that state:
    /// the common end of TCP's and SCTP's state updates.
    [[gnu::always_inline]] inline void enter_state(ct::Conn& c, ct::TcpState next,
                                                   const Snapshot& snap, uint64_t now) noexcept;
    /// SCTP's share of forward(), out of line so that TCP and UDP packets do not carry it:
    /// IPVS's SCTP state table for the packet's first chunk, and the CRC32c after a NAT port
    /// change (over the whole packet, which is one buffer: chains were dropped in stage 1).
    [[gnu::noinline]] void sctp_state(ct::Conn& c, ct::Dir dir, uint8_t chunk,
                                      const Snapshot& snap, uint64_t now) noexcept;
    [[gnu::noinline]] static void sctp_recompute(const Parsed& p) noexcept;
    /// Sync master: counts a client packet of `c` and queues the connection (and its template)
    /// when IPVS's rules say it is due (dataplane/sync.hpp).
    void sync_conn(const Snapshot& snap, ct::Conn& c, ct::ConnCold& cold) noexcept;
    void sync_emit(const SyncRecord& r) noexcept;
    /// Queues the loop's records on the ring to control with one enqueue.
    void sync_flush() noexcept;
    /// Sync backup: installs up to kSyncInstallBudget records from control; returns how many.
    uint32_t sync_receive(const Snapshot& snap, uint64_t now) noexcept;
    void sync_install(const Snapshot& snap, const SyncRecord& r, uint64_t now) noexcept;
    /// Releases what table entry `c` holds (its server's counters, its template).
    void conn_released(const ct::Conn& c) noexcept;
    /// One slice of `cmd` over `table` from `cursor` (ListConns copies into `out`); true once
    /// the table is done.
    template <class Table, class Conns>
    bool command_pass(Command& cmd, Table& table, uint32_t& cursor, Conns& out,
                      uint32_t& out_count) noexcept;
    /// Retires entry `idx` (expired or its server removed): counts released, entry freed.
    void retire(uint32_t idx) noexcept;
    /// Queues `m` for worker `owner` (its hand-off ring), flushing a full batch.
    void hand_to(uint32_t owner, rte_mbuf* m) noexcept {
        Handoff& h = handoff_[owner];
        h.pkts[h.n++] = m;
        if (h.n == kBurst) {
            flush_handoff();
        }
    }
    /// Transmits what the slow path injected; returns how many frames.
    uint32_t drain_inject() noexcept;
    /// Stage 3 for a fragment: into the reassembly table; a datagram it completes is kept for
    /// the burst that follows this one. Cold: fragments are rare.
    [[gnu::cold, gnu::noinline]] Verdict reassemble(rte_mbuf* m, const Parsed& p,
                                                    uint64_t now) noexcept;
    /// Frees the fragments reassembly gave up on (its death row), counting them. Cold.
    [[gnu::cold, gnu::noinline]] void free_death_row() noexcept;
    void poll_commands() noexcept;

    struct TxBuf {
        uint16_t n = 0;
        rte_mbuf* pkts[kBurst];
    };

    uint32_t id_;
    WorkerEnv env_;
    std::unique_ptr<ct::ConnTable> table_;
    rte_ring* inject_ring_;
    rte_ring* command_ring_;
    Command* command_ = nullptr;  ///< the command in progress
    struct Handoff {
        rte_ring* to = nullptr;
        rte_ring* from = nullptr;
        uint16_t n = 0;
        rte_mbuf* pkts[kBurst];
    };
    Handoff handoff_[kMaxWorkers];
    /// Inserts and removals since the burst's bulk lookup: while non-zero, stage 3 looks each
    /// packet up again (the bulk answer may name a freed entry, or miss a flow this burst made).
    uint32_t table_changes_in_burst_ = 0;
    /// The IPv6 table's changes() when the burst's IPv6 bulk lookup ran: service6 trusts the
    /// bulk answer only while the table has not changed since.
    uint32_t table6_changes_at_bulk_ = 0;
    /// The burst's IPv6 keys (stage 1) for its bulk lookup (stage 2); a member, not 1.3 KB of
    /// stack initialised per burst.
    ct::FlowKey6 keys6_[kBurst];
    uint16_t tunnel_ip_id_ = 0;  ///< outer IP ids of tunnelled packets without DF
    /// drop_packet: the rate the countdown was started with, and new SYNs left before the next
    /// one is dropped.
    uint32_t drop_rate_ = 0;
    uint32_t drop_countdown_ = 0;
    /// drop_entry: when this second's share ends, and entries of it left to examine.
    uint64_t dropentry_next_ = 0;
    uint32_t dropentry_left_ = 0;
    /// What the last iterate() did besides receiving: frames injected, a command in progress.
    /// Either keeps an adaptive worker awake.
    uint32_t injected_ = 0;
    TxBuf tx_[kMaxPorts];
    TxBuf host_[kMaxIfaces];  ///< packets for each interface's kernel twin, sent once per burst
    rte_ring* sync_out_ = nullptr;
    rte_ring* sync_in_ = nullptr;
    /// Records of this loop for control (master); at most two per packet (a connection and its
    /// template), flushed when a burst could overflow it and at the end of each loop.
    static constexpr uint32_t kSyncBuf = 4 * kBurst;
    uint32_t sync_n_ = 0;
    SyncRecord sync_buf_[kSyncBuf];
    /// The same for IPv6 records (at most two per packet: a connection and its template; a full
    /// buffer is flushed before the next record).
    rte_ring* sync6_out_ = nullptr;
    rte_ring* sync6_in_ = nullptr;
    static constexpr uint32_t kSyncBuf6 = 2 * kBurst;
    uint32_t sync6_n_ = 0;
    SyncRecord6 sync6_buf_[kSyncBuf6];
    /// The SYN proxy: this worker's cookie secret (random at start), its held segments.
    SynCookie cookie_;
    struct SynpHeld {
        rte_mbuf* m = nullptr;
        uint32_t conn = 0;
        uint64_t expire = 0;
        ct::FlowKey key;
    };
    uint32_t synp_held_n_ = 0;
    uint32_t synp_cursor_ = 0;
    SynpHeld synp_held_[kSynpHoldSlots];
    /// Fragment reassembly: the table (null: none), how long a datagram may take, when expired
    /// entries are next looked for, the mbufs it gave up on (freed after each burst), and the
    /// datagrams completed in the current burst (processed as a burst of their own after it).
    rte_ip_frag_tbl* frag_tbl_ = nullptr;
    uint64_t frag_timeout_tsc_ = 0;
    uint64_t frag_next_expiry_ = 0;
    uint16_t reasm_n_ = 0;
    rte_mbuf* reasm_[kBurst];
    rte_ip_frag_death_row frag_dr_{};
    /// IPv6 connections (null: no IPv6 services on this worker).
    std::unique_ptr<ct::ConnTable6> table6_;
    WorkerStats stats_;
};

}  // namespace dirigo::dp
