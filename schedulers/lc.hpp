// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// lc: least connection (ip_vs_lc.c). Among servers with weight > 0 that are not overloaded,
/// the lowest overhead active * 256 + inactive; ties go to the first in list order. Weights
/// other than 0 do not matter. Reads the shared DestCounters, so the choice is global.

#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct LeastConnection {
    static constexpr SchedKind kKind = SchedKind::Lc;
    static constexpr std::string_view kName = "lc";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n), one counter line per server.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        uint32_t least = kNoBackend;
        int64_t loh = 0;
        for (uint32_t i = 0; i < ds.n; ++i) {
            if (!detail::available(ds[i])) {
                continue;
            }
            const int64_t doh = detail::conn_overhead(ds[i]);
            if (least == kNoBackend || doh < loh) {
                least = i;
                loh = doh;
            }
        }
        return static_cast<BackendIdx>(least);
    }
};

static_assert(detail::Policy<LeastConnection>);

}  // namespace dirigo::sched
