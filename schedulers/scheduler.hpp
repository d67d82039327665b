// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Scheduling: picking a real server for a new flow.
///
/// Control builds one Scheduler per service per snapshot from the service's real servers
/// (BackendSpec). Workers call Scheduler::pick() once per *new* flow; established flows never
/// reach a scheduler. A pick never allocates, never locks and makes no virtual call: the policy is
/// a closed set (`Policies` in dispatch.hpp) dispatched on SchedKind. Names live in names.hpp.
///
/// State that must be global across workers lives outside the immutable snapshot, so that it
/// survives rule updates and is the same for every worker:
///  - DestCounters: per real server connection counts (one cache line each, atomics), written on
///    connection state changes only, read by lc/wlc/sed/nq/lblc/... picks.
///  - SchedShared: per service mutable state (the rr/wrr ticket, lblc/lblcr tables), allocated by
///    control and kept alive across snapshots while the service keeps its scheduler.
/// No DPDK types: this module builds and tests without EAL.
///
/// Every policy follows Linux IPVS (net/netfilter/ipvs/ip_vs_*.c); docs/schedulers.md states each
/// rule and the few places where Dirigo deliberately differs. "List order" is the order of the
/// `backends` span given to Scheduler::build; control passes IPVS's own order, newest first
/// (each `-a` goes to the head of the list).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/status.hpp"
#include "schedulers/names.hpp"

namespace dirigo::sched {

/// Index of a real server within its service's backend list.
using BackendIdx = uint16_t;
inline constexpr BackendIdx kNoBackend = 0xffff;

/// Connection counters of one real server, shared by all workers (one cache line each, so two
/// servers never share a line). Updated once per connection state change, never per packet.
struct alignas(64) DestCounters {
    std::atomic<int32_t> active{0};       ///< ESTABLISHED TCP connections
    std::atomic<int32_t> inactive{0};     ///< every other live connection (incl. UDP)
    std::atomic<int32_t> persistent{0};   ///< persistence templates pointing at this server
    std::atomic<uint32_t> overloaded{0};  ///< 1 while over the upper threshold (-x) until below -y
};
static_assert(sizeof(DestCounters) == 64);

/// Recomputes `c.overloaded` from the connection counts, with IPVS's hysteresis
/// (ip_vs_bind_dest / ip_vs_unbind_dest): set when u_threshold > 0 and active + inactive >=
/// u_threshold; once set, cleared when the total drops below l_threshold, or when l_threshold is 0,
/// below 3/4 of u_threshold (total * 4 < u * 3); cleared at once when both thresholds are 0.
/// Persistence templates do not count. Overloaded servers get no new flows from any policy.
/// Call it after changing `active`/`inactive`, and after a threshold edit.
/// Thread: any (workers after each connection change, control after a threshold edit). Cost: two
/// relaxed loads; a store only when the flag flips. Concurrent callers may race; the next call
/// settles the flag.
inline void refresh_overload(DestCounters& c, uint32_t u_threshold, uint32_t l_threshold) noexcept {
    // Relaxed throughout: the flag is advisory for the next pick and carries no other data.
    const int64_t total = int64_t{c.active.load(std::memory_order_relaxed)} +
                          int64_t{c.inactive.load(std::memory_order_relaxed)};
    const uint32_t now = c.overloaded.load(std::memory_order_relaxed);
    uint32_t want = now;
    if (u_threshold != 0 && total >= int64_t{u_threshold}) {
        want = 1;
    } else if (now == 0) {
        return;
    } else if (l_threshold != 0) {
        want = total < int64_t{l_threshold} ? 0 : 1;
    } else if (u_threshold != 0) {
        want = total * 4 < int64_t{u_threshold} * 3 ? 0 : 1;
    } else {
        want = 0;
    }
    if (want != now) {
        c.overloaded.store(want, std::memory_order_relaxed);
    }
}

/// What a policy may know about one real server.
struct BackendSpec {
    uint32_t addr = 0;  ///< host order
    uint16_t port = 0;
    int32_t weight = 1;
    uint32_t u_threshold = 0;  ///< 0: none
    uint32_t l_threshold = 0;
    DestCounters* counters = nullptr;  ///< never null in a built Scheduler; outlives it
};

/// An IPv6 address (16 bytes, network order) folded to 32 bits as IPVS's hashing schedulers
/// fold it (`addr->ip6[0] ^ addr->ip6[1] ^ addr->ip6[2] ^ addr->ip6[3]`, then ntohl): the host
/// order value SchedInput and BackendSpec carry for IPv6. Thread: any. Cost: O(1).
inline uint32_t fold6(const uint8_t* a) noexcept {
    uint32_t x = 0;
    for (int i = 0; i < 16; i += 4) {
        x ^= (uint32_t{a[i]} << 24) | (uint32_t{a[i + 1]} << 16) | (uint32_t{a[i + 2]} << 8) |
             uint32_t{a[i + 3]};
    }
    return x;
}

/// The new flow being scheduled: hashes and addresses already parsed by the worker.
struct SchedInput {
    uint32_t saddr = 0;  ///< client address, host order (IPv6: fold6 of it)
    uint32_t daddr = 0;  ///< virtual address, host order (IPv6: fold6 of it)
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t proto = 0;
    uint64_t now_ms = 0;  ///< monotonic milliseconds, for lblc/lblcr expiry
};

/// Tunables of a service's shared scheduler state, fixed when the state is made.
struct SchedOptions {
    /// lblc/lblcr: an entry unused this long is forgotten, and an lblcr server set that has not
    /// changed this long drops its most loaded member. IPVS's sysctls lblc_expiration and
    /// lblcr_expiration, 24 hours by default.
    uint64_t locality_expire_ms = 24ull * 60 * 60 * 1000;
    /// lblc/lblcr: slots in the shared destination table (rounded up to a power of two, at least
    /// 64); one 64-byte cache line each. The default holds IPVS's max_size (16 x 1024 entries).
    uint32_t locality_slots = 16384;
    /// mh: Maglev lookup table size; must be a prime larger than the number of servers.
    /// IPVS's sizes are 251, 509, 1021, 2039, 4093 (its default), 8191, 16381, 32749, 65521 and
    /// 131071; 4093 reproduces a default kernel's table exactly.
    uint32_t mh_table_size = 65537;
    /// wrr: longest unrolled sequence (sum of weight / gcd). Above it wrr walks IPVS's (server,
    /// current weight) state directly instead: same sequence, O(servers) per pick.
    uint32_t wrr_max_table = 65536;
};

/// Mutable per-service state shared by all workers; see the header comment.
struct SchedShared;
/// A fresh shared state for a service using `kind`. Control thread.
std::shared_ptr<SchedShared> make_shared_state(SchedKind kind);
/// As above with explicit tunables. Thread: control. Cost: allocates (lblc/lblcr: one 64-byte
/// line per locality slot).
std::shared_ptr<SchedShared> make_shared_state(SchedKind kind, const SchedOptions& opts);

/// One service's scheduler in one snapshot. Built by control (may allocate); picked by workers.
class Scheduler {
public:
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Builds the policy's table for `backends`. `shared` must come from make_shared_state(kind).
    /// `flags` are cfg::ServiceFlag bits (sh-fallback, sh-port, ...).
    /// Rebuilding with the same `shared` carries the rr/wrr position and the lblc/lblcr tables
    /// over, as IPVS's add_dest/del_dest/upd_dest hooks do (docs/schedulers.md). A null `shared`
    /// gets a fresh one. Fails (Errc::Invalid) on a null counters pointer, a negative weight, a
    /// `shared` made for another kind or an mh table size that is not a prime above the number of
    /// servers; (Errc::Resource) on 65535 servers or more.
    /// Thread: control. Cost: O(backends) to O(table size) for sh/dh/mh.
    static Result<std::unique_ptr<Scheduler>> build(SchedKind kind, uint32_t flags,
                                                    std::span<const BackendSpec> backends,
                                                    std::shared_ptr<SchedShared> shared);

    /// Picks a backend for a new flow, or kNoBackend when none is available.
    /// Thread: worker (any number at once). Cost: O(1) for rr/wrr/sh/dh/mh, O(backends) for the
    /// counting policies; no allocation, no lock.
    BackendIdx pick(const SchedInput& in) const noexcept;

    SchedKind kind() const { return kind_; }
    std::span<const BackendSpec> backends() const { return backends_; }

    struct Impl;

private:
    Scheduler() = default;
    SchedKind kind_ = SchedKind::Rr;
    uint32_t flags_ = 0;
    std::vector<BackendSpec> backends_;
    std::shared_ptr<SchedShared> shared_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dirigo::sched
