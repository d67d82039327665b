// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The slow path: everything rare enough to leave the workers, run on the control thread.
///
/// Workers hand it mbufs through one multi-producer ring (SlowKind says why):
///  - ARP frames: it learns the sender (single writer of the NeighTable) and answers requests for
///    owned addresses; with kernel interfaces, every other ARP frame goes up to the kernel;
///  - frames whose next hop has no MAC yet: it keeps up to kMaxPending per next hop, sends ARP
///    requests (retried kArpTries times, a second apart) and releases them once answered, or drops
///    and counts them and marks the neighbour failed; failed neighbours are removed after
///    kFailedHoldSeconds (Linux's garbage collector removes FAILED entries on its next pass);
///  - packets whose TTL ran out: it answers ICMP time exceeded;
///  - IPv6 (docs/architecture.md, "IPv6"): neighbour solicitations and advertisements the workers
///    validated (it learns, and answers solicitations for owned addresses), IPv6 packets waiting
///    for a neighbour (solicited like ARP, same queue bounds, tries and hold times) and ICMPv6
///    time exceeded and packet too big, under the same rate limit as ICMP.
/// Frames it sends go back through worker 0's inject ring, so only workers touch TX queues.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_map>

#include "dataplane/dataplane.hpp"
#include "dataplane/token_bucket.hpp"

struct rte_mbuf;

namespace dirigo::dp {

/// Slow-path counters (read by control; written only by the control thread).
struct SlowPathStats {
    uint64_t arp_in = 0;
    uint64_t arp_replies_sent = 0;
    uint64_t arp_requests_sent = 0;
    uint64_t neigh_learned = 0;
    uint64_t released = 0;         ///< queued packets sent once their next hop resolved
    uint64_t unresolved_drops = 0; ///< queued packets dropped after the last ARP try
    uint64_t queue_drops = 0;      ///< packets dropped because a next hop's queue was full
    uint64_t icmp_sent = 0;
    uint64_t no_mbuf = 0;
    uint64_t inject_full = 0;
    uint64_t probes_sent = 0;      ///< ARP requests refreshing aged neighbours
    uint64_t neigh_expired = 0;    ///< neighbours marked unresolved after unanswered probes
    uint64_t icmp_suppressed = 0;  ///< ICMP errors not sent: about a non-host or broadcast source
    uint64_t icmp_rate_limited = 0;///< ICMP errors not sent: over the rate limit
    uint64_t neigh_failed = 0;     ///< neighbours marked failed (every try unanswered)
    uint64_t neigh_removed = 0;    ///< failed neighbours removed after the hold time
    uint64_t arp_up = 0;           ///< ARP frames passed up to the kernel interface
    uint64_t arp_up_full = 0;      ///< ... dropped: its queue was full
    uint64_t garp_sent = 0;        ///< gratuitous ARP for addresses that became ours
    uint64_t nd_in = 0;            ///< neighbour solicitations and advertisements handled
    uint64_t na_sent = 0;          ///< advertisements answering solicitations for our addresses
    uint64_t ns_sent = 0;          ///< solicitations resolving or probing IPv6 neighbours
    uint64_t nd_up = 0;            ///< ND messages passed up to the kernel interface
    uint64_t nd_up_full = 0;       ///< ... dropped: its queue was full
    uint64_t nd_conflicts = 0;     ///< advertisements from others for one of our addresses
    uint64_t neigh6_learned = 0;
    uint64_t neigh6_failed = 0;
    uint64_t neigh6_removed = 0;
    uint64_t icmp6_sent = 0;       ///< ICMPv6 errors sent (time exceeded, packet too big)
    uint64_t no_route6 = 0;        ///< IPv6 the slow path had to send but no route covered
};

class SlowPath {
public:
    static constexpr size_t kMaxPending = 8;
    static constexpr uint32_t kArpTries = 3;
    /// How long a failed neighbour stays listed before its entry is removed.
    static constexpr uint32_t kFailedHoldSeconds = 15;
    /// ICMP errors: Linux's defaults (net.ipv4.icmp_msgs_per_sec, icmp_msgs_burst).
    static constexpr uint32_t kIcmpPerSecond = 1000;
    static constexpr uint32_t kIcmpBurst = 50;

    /// `arp_timeout` (seconds): a neighbour not heard from for that long is probed (kArpTries
    /// requests, a second apart) and marked unresolved if it stays silent.
    SlowPath(Dataplane& dp, uint32_t arp_timeout) : dp_(dp), arp_timeout_(arp_timeout) {}
    ~SlowPath();
    SlowPath(const SlowPath&) = delete;
    SlowPath& operator=(const SlowPath&) = delete;

    /// Handles what the workers queued and runs ARP retry timers. Returns mbufs handled.
    /// Thread: control.
    uint32_t poll();
    /// Frees every queued packet (shutdown).
    void clear();
    /// Sends a gratuitous ARP (a request for `addr` from `addr`, broadcast) out of `port`, as
    /// Linux does for an address that moves: neighbours update their caches. `addr` network order.
    /// Thread: control.
    void announce(uint16_t port, uint32_t addr);

    const SlowPathStats& stats() const { return stats_; }
    size_t pending_next_hops() const { return v4_.pending.size() + v6_.pending.size(); }

private:
    struct Pending {
        uint16_t port = 0;
        uint32_t tries = 0;
        uint64_t next_try = 0;
        std::deque<rte_mbuf*> pkts;
    };

    void handle_arp(rte_mbuf* m);
    /// A valid NS or NA (SlowKind::Nd).
    void handle_nd(rte_mbuf* m);
    /// SlowKind::NeedNeigh6: routes `m` again for its next hop, then queues it for the neighbour.
    void route_need_neigh6(rte_mbuf* m, uint16_t port);
    /// NeedNeighDr6: takes the real server's address off the front of `m`, then resolves it as
    /// queue_for_neighbour does and sends `m` out of `port`.
    void route_need_neigh_dr6(rte_mbuf* m, uint16_t port);
    /// Answers `m`'s IPv6 sender with an ICMPv6 error quoting it (RFC 4443).
    void icmp6_error(rte_mbuf* m, uint8_t type, uint8_t code, uint32_t param);
    /// A neighbour solicitation for `target`, to its solicited-node group, out of `port`.
    void send_ns(uint16_t port, const cfg::Ip6& target);
    /// Answers `m`'s sender with an ICMP error quoting it (`rest`: the header's second word).
    void icmp_error(rte_mbuf* m, uint8_t type, uint8_t code, uint32_t rest);
    void send_arp_request(uint16_t port, uint32_t target);
    /// An ARP request from `sip` for `tip` (network order), broadcast out of `port`.
    void send_arp(uint16_t port, uint32_t sip, uint32_t tip);
    /// Passes an ARP frame up to the kernel interface of m->port (frees it when there is none).
    void to_kernel(rte_mbuf* m);
    /// The same for an ND message (counted as nd_up).
    void nd_to_kernel(rte_mbuf* m);
    /// Sends an IPv4 frame built by the slow path: route it, resolve it, inject it.
    void send_ip(rte_mbuf* m);
    void inject(rte_mbuf* m);
    void run_timers();

    Dataplane& dp_;
    SlowPathStats stats_;
    struct Heard {
        uint16_t port = 0;
        uint64_t at = 0;       ///< TSC of the last ARP or ND message from it
        uint32_t probes = 0;
        uint64_t next_probe = 0;
    };

    // Neighbour resolution is one code path for both families (ARP for IPv4, ND for IPv6): the
    // member templates below take a family tag.
    struct Fam4 {
        using Addr = uint32_t;  ///< network order
        using Table = NeighTable;
        template <class V>
        using Map = std::unordered_map<uint32_t, V>;
    };
    struct Fam6 {
        using Addr = cfg::Ip6;
        using Table = NeighTable6;
        template <class V>
        using Map = std::map<cfg::Ip6, V>;
    };
    /// One family's resolution state.
    template <class F>
    struct Resolver {
        typename F::template Map<Pending> pending;  ///< next hop -> packets waiting for it
        typename F::template Map<Heard> heard;      ///< resolved neighbours, for aging
        typename F::template Map<uint64_t> failed;  ///< failed neighbour -> TSC of removal
    };
    /// A family's state, neighbour table and counters.
    template <class F>
    struct Family {
        Resolver<F>& res;
        typename F::Table& table;
        uint64_t& learned;
        uint64_t& failed;
        uint64_t& removed;
    };
    template <class F>
    Family<F> family();
    static uint32_t key_of(uint32_t ip) { return ip; }
    static const uint8_t* key_of(const cfg::Ip6& ip) { return ip.b.data(); }
    /// An ARP request or a neighbour solicitation for `ip` out of `port`.
    void solicit(uint16_t port, uint32_t ip);
    void solicit(uint16_t port, const cfg::Ip6& ip);
    /// A packet (Ethernet source set) for next hop `hop` out of `port`: sent at once when the
    /// neighbour is known, else queued (kMaxPending per next hop) and the neighbour solicited.
    template <class F>
    void queue_for_neighbour(rte_mbuf* m, const typename F::Addr& hop, uint16_t port);
    /// `ip` answered on `port` (its entry was updated): releases its queued packets.
    template <class F>
    void heard_from(const typename F::Addr& ip, uint16_t port);
    /// Every try for `ip` went unanswered: failed now, removed after the hold time.
    template <class F>
    void mark_failed(const typename F::Addr& ip, uint64_t now);
    /// Probes neighbours not heard from for arp_timeout; marks the silent ones failed.
    template <class F>
    void age(uint64_t now);
    /// Removes failed neighbours whose hold time is over.
    template <class F>
    void expire_failed(uint64_t now);
    /// Solicits queued next hops again, a second apart; drops their packets after kArpTries.
    template <class F>
    void retry_pending(uint64_t now);
    template <class F>
    void drop_pending();

    Resolver<Fam4> v4_;
    Resolver<Fam6> v6_;
    /// kIcmpBurst tokens, refilled at kIcmpPerSecond (ICMP and ICMPv6 errors alike).
    TokenBucket icmp_tokens_{kIcmpPerSecond, kIcmpBurst};
    uint32_t arp_timeout_;
    uint64_t next_aging_ = 0;
};

}  // namespace dirigo::dp
