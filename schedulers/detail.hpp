// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Internals shared by the policies (not part of the public API): the compact per-server view a
/// pick scans, IPVS's availability and load rules, IPVS's hash functions and the build context.
///
/// A policy is a stateless struct with `kKind`, `kName` (its ipvsadm name), a `Table` (immutable, built by control, owned by
/// the Scheduler) and two static functions, checked by the Policy concept below. Per-service
/// mutable state lives in SchedShared and is reached through pointers held by the Table.
///
/// Unless stated otherwise, every function here is Thread: any, O(1), no allocation.

#include <atomic>
#include <concepts>
#include <cstdint>
#include <span>
#include <string_view>

#include "config/status.hpp"
#include "schedulers/scheduler.hpp"
#include "schedulers/siphash.hpp"

namespace dirigo::sched::detail {

/// What a pick reads about one server: 16 bytes, four per cache line. The counters it points
/// to are on their own line (DestCounters).
struct DestRef {
    DestCounters* c = nullptr;
    int32_t weight = 0;
    uint16_t id = 0;  ///< stable id within the service (lblc/lblcr tables), else 0
    uint16_t pad = 0;
};
static_assert(sizeof(DestRef) == 16);

/// The server list of one Scheduler, in list order.
struct Dests {
    const DestRef* p = nullptr;
    uint32_t n = 0;
    const DestRef& operator[](uint32_t i) const noexcept { return p[i]; }
};

/// IPVS's IP_VS_DEST_F_OVERLOAD, maintained by refresh_overload().
inline bool overload_flag(const DestRef& d) noexcept {
    // Relaxed: advisory flag, pairs with nothing (refresh_overload stores it relaxed).
    return d.c->overloaded.load(std::memory_order_relaxed) != 0;
}

/// IPVS's "available for new connections": weight > 0 and not flagged overloaded.
inline bool available(const DestRef& d) noexcept {
    return d.weight > 0 && !overload_flag(d);
}

inline int64_t active_conns(const DestRef& d) noexcept {
    // Relaxed: a load estimate; written by the dataplane with relaxed RMWs.
    return d.c->active.load(std::memory_order_relaxed);
}

inline int64_t inactive_conns(const DestRef& d) noexcept {
    // Relaxed: as active_conns().
    return d.c->inactive.load(std::memory_order_relaxed);
}

/// IPVS's ip_vs_dest_conn_overhead(): active * 256 + inactive.
inline int64_t conn_overhead(const DestRef& d) noexcept {
    return active_conns(d) * 256 + inactive_conns(d);
}

/// IPVS's weighted least-connection choice (ip_vs_wlc.c, also __ip_vs_lblc_schedule and
/// __ip_vs_lblcr_schedule): the first available server in list order, then any later
/// non-overloaded server whose overhead/weight is strictly lower (compared by
/// cross-multiplication, so weight 0 never wins). Thread: worker. Cost: O(n), no allocation.
inline BackendIdx pick_wlc(Dests ds) noexcept {
    uint32_t i = 0;
    while (i < ds.n && !available(ds[i])) {
        ++i;
    }
    if (i == ds.n) {
        return kNoBackend;
    }
    uint32_t least = i;
    int64_t loh = conn_overhead(ds[i]);
    int64_t lw = ds[i].weight;
    for (++i; i < ds.n; ++i) {
        const DestRef& d = ds[i];
        if (overload_flag(d)) {
            continue;
        }
        const int64_t doh = conn_overhead(d);
        if (loh * d.weight > doh * lw) {
            least = i;
            loh = doh;
            lw = d.weight;
        }
    }
    return static_cast<BackendIdx>(least);
}

/// The kernel's hash_32(): multiplicative hashing by GOLDEN_RATIO_32, top `bits` bits.
inline constexpr uint32_t hash_32(uint32_t v, unsigned bits) noexcept {
    return (v * 0x61C88647u) >> (32 - bits);
}

/// The kernel's hsiphash() of one u32 on 64-bit hosts (SipHash-1-3 with 64-bit key words,
/// truncated to 32 bits), as ip_vs_mh.c calls it. Checked against the kernel's self-test vector.
inline constexpr uint32_t hsiphash_u32(uint32_t v, uint64_t k0, uint64_t k1) noexcept {
    SipState s(k0, k1);
    s.absorb((uint64_t{4} << 56) | v, 1);  // the u32 and the length byte in one last word
    return static_cast<uint32_t>(s.finish(3));
}

__extension__ typedef unsigned __int128 U128;

/// `a % d` for a divisor fixed at build time, without a division (Lemire's fastmod).
struct FastMod {
    uint64_t m = 0;
    uint32_t d = 1;
    FastMod() = default;
    explicit FastMod(uint32_t divisor) : m(~uint64_t{0} / divisor + 1), d(divisor) {}
    uint32_t operator()(uint32_t a) const noexcept {
        const uint64_t low = m * a;
        return static_cast<uint32_t>((U128{low} * d) >> 64);
    }
};

/// Everything a policy's build sees. Thread: control.
struct BuildCtx {
    std::span<const BackendSpec> backends;
    std::span<DestRef> dests;  ///< filled from backends; a policy may set ids
    uint32_t flags = 0;        ///< cfg::ServiceFlag bits
    SchedShared& shared;
    bool same_servers = false;  ///< same (addr, port) list as the previous build on `shared`
    bool same_weights = false;  ///< ... and the same weights
};

/// A scheduling policy (see the file comment).
template <class P>
concept Policy = requires(BuildCtx& b, const typename P::Table& t, Dests d, const SchedInput& in) {
    { P::kKind } -> std::convertible_to<SchedKind>;
    { P::kName } -> std::convertible_to<std::string_view>;
    { P::build(b) } -> std::same_as<Result<typename P::Table>>;
    { P::pick(t, d, in) }
    noexcept->std::same_as<BackendIdx>;
};

/// A server's identity: address and port.
inline constexpr uint64_t dest_key(const BackendSpec& b) noexcept {
    return (uint64_t{b.addr} << 16) | b.port;
}

/// The port IPVS's sh/mh hash when asked to (ip_vs_sh_get_port): the source port for TCP, UDP
/// and SCTP, else 0.
inline uint32_t hash_port(const SchedInput& in) noexcept {
    return (in.proto == 6 || in.proto == 17 || in.proto == 132) ? in.sport : 0u;
}

}  // namespace dirigo::sched::detail
