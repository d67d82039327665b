// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// wrr: weighted round robin (ip_vs_wrr.c). IPVS walks the list in passes with a current weight
/// cw that starts at mw = max weight - (gcd - 1) and drops by gcd after each pass (back to mw
/// below 1); a pass yields, in list order, every server with weight >= cw that is not
/// overloaded. Weights 4, 3, 2 give A A B A B C A B C.
///
/// The whole period (sum of weight / gcd entries) is unrolled at build time into `seq`, and
/// SchedShared::cursor holds the index after the last pick: a pick takes the next entry whose
/// server is not overloaded and advances the cursor past it with one CAS, so the sequence is
/// global across workers. A cursor written by control (after a change) carries kFresh until the
/// next pick, so that control can tell "restart here" from "just picked the entry before".
/// If the period is longer than SchedOptions::wrr_max_table, the cursor instead packs IPVS's own
/// state (cw, list position) and a pick runs IPVS's walk on it.

#include <atomic>
#include <string_view>
#include <vector>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct WeightedRoundRobin {
    static constexpr SchedKind kKind = SchedKind::Wrr;
    static constexpr std::string_view kName = "wrr";

    struct Table {
        std::atomic<uint64_t>* cursor = nullptr;
        std::vector<BackendIdx> seq;  ///< one period; empty in direct mode
        bool direct = false;          ///< period too long to unroll
        int32_t mw = 0;               ///< IPVS's mark->mw (0: no server with weight > 0)
        int32_t di = 1;               ///< IPVS's mark->di (gcd of the weights)
    };

    /// Unrolls the sequence. On a weight or list change, carries IPVS's state over as
    /// ip_vs_wrr_dest_changed does: the walk restarts at the list head and keeps cw (reset to mw
    /// when above it or 0, else aligned to the new gcd). Servers new since the previous build
    /// (all of them on a fresh state) are taken to have been added one at a time at the list
    /// head, oldest first, with one dest_changed each, as `ipvsadm -a` (and so `-R`) does: a
    /// list built at once starts with the cw = 1 pass, like the kernel's after its first add.
    /// Thread: control. Cost: O(period + servers).
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: O(1) in table mode unless servers are overloaded; one CAS.
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput&) noexcept {
        if (t.mw <= 0 || ds.n == 0) {
            return kNoBackend;
        }
        return t.direct ? pick_direct(t, ds) : pick_table(t, ds);
    }

    /// Packs IPVS's (cw, next list position) for direct mode.
    static constexpr uint64_t pack(int32_t cw, uint32_t pos) {
        return (uint64_t{static_cast<uint32_t>(cw) & 0x7fffffffu} << 32) | pos;
    }

    /// Table mode: set by control on the cursor it stores; cleared by the next pick.
    static constexpr uint64_t kFresh = uint64_t{1} << 63;

private:
    static bool any_available(detail::Dests ds) noexcept;
    static BackendIdx pick_direct(const Table& t, detail::Dests ds) noexcept;

    static BackendIdx pick_table(const Table& t, detail::Dests ds) noexcept {
        const uint32_t len = static_cast<uint32_t>(t.seq.size());
        // Relaxed load and CAS: the cursor orders only itself (see rr.hpp).
        uint64_t cur = t.cursor->load(std::memory_order_relaxed);
        for (;;) {
            const uint64_t pos = cur & 0xffffffffu;
            uint32_t j = pos < len ? static_cast<uint32_t>(pos) : 0;
            uint32_t found = kNoBackend;
            for (uint32_t k = 0; k < len; ++k) {
                const BackendIdx b = t.seq[j];
                // Every entry has weight > 0 by construction; only the flag can change.
                if (b < ds.n && !detail::overload_flag(ds[b])) {
                    found = j;
                    break;
                }
                if (++j == len) {
                    j = 0;
                }
                // Scanned a server's worth of entries without luck: make sure one exists before
                // walking the rest of a possibly long period.
                if (k == ds.n && !any_available(ds)) [[unlikely]] {
                    return kNoBackend;
                }
            }
            if (found == kNoBackend) {
                return kNoBackend;
            }
            if (t.cursor->compare_exchange_weak(cur, uint64_t{found} + 1,
                                                std::memory_order_relaxed)) {
                return t.seq[found];
            }
        }
    }
};

static_assert(detail::Policy<WeightedRoundRobin>);

}  // namespace dirigo::sched
