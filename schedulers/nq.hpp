// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// nq: never queue (ip_vs_nq.c). In list order, the first available server with no active
/// connection wins at once; otherwise as sed, the lowest (active + 1) / weight, first wins ties.

#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct NeverQueue {
    static constexpr SchedKind kKind = SchedKind::Nq;
    static constexpr std::string_view kName = "nq";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n), one counter line per server.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        uint32_t least = kNoBackend;
        int64_t loh = 0;
        int64_t lw = 0;
        for (uint32_t i = 0; i < ds.n; ++i) {
            const detail::DestRef& d = ds[i];
            if (!detail::available(d)) {
                continue;
            }
            const int64_t act = detail::active_conns(d);
            if (act == 0) {
                return static_cast<BackendIdx>(i);
            }
            const int64_t doh = act + 1;
            if (least == kNoBackend || loh * d.weight > doh * lw) {
                least = i;
                loh = doh;
                lw = d.weight;
            }
        }
        return static_cast<BackendIdx>(least);
    }
};

static_assert(detail::Policy<NeverQueue>);

}  // namespace dirigo::sched
