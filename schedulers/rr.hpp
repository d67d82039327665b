// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// rr: round robin (ip_vs_rr.c). From the server after the last one picked, the first server in
/// list order that has weight > 0 and is not overloaded; wraps around; none -> kNoBackend and
/// the position stays. The position is SchedShared::cursor (last picked index + 1, 0 = list
/// head), advanced by a CAS so that the sequence is global across workers and snapshots.

#include <atomic>
#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct RoundRobin {
    static constexpr SchedKind kKind = SchedKind::Rr;
    static constexpr std::string_view kName = "rr";

    struct Table {
        std::atomic<uint64_t>* cursor = nullptr;
    };

    /// Carries the position over a list change: the last picked server keeps its place; if it
    /// was removed, the position moves to the nearest earlier server still present (IPVS's
    /// ip_vs_rr_del_dest), or to the head. Thread: control.
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: O(1) when the next server is available, O(n) worst; one CAS.
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput&) noexcept {
        const uint32_t n = ds.n;
        if (n == 0) {
            return kNoBackend;
        }
        // Relaxed load and CAS: the cursor orders only itself; the RMW's single total order is
        // what makes picks from all workers one global sequence.
        uint64_t cur = t.cursor->load(std::memory_order_relaxed);
        for (;;) {
            uint32_t j = cur < n ? static_cast<uint32_t>(cur) : 0;
            uint32_t found = kNoBackend;
            for (uint32_t k = 0; k < n; ++k) {
                if (detail::available(ds[j])) {
                    found = j;
                    break;
                }
                if (++j == n) {
                    j = 0;
                }
            }
            if (found == kNoBackend) {
                return kNoBackend;
            }
            if (t.cursor->compare_exchange_weak(cur, uint64_t{found} + 1,
                                                std::memory_order_relaxed)) {
                return static_cast<BackendIdx>(found);
            }
        }
    }
};

static_assert(detail::Policy<RoundRobin>);

}  // namespace dirigo::sched
