// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// fo: weighted fail over (ip_vs_fo.c). The available server with the highest weight; the first
/// in list order among equals.

#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct FailOver {
    static constexpr SchedKind kKind = SchedKind::Fo;
    static constexpr std::string_view kName = "fo";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n), one flag per server.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        uint32_t best = kNoBackend;
        int32_t hw = 0;
        for (uint32_t i = 0; i < ds.n; ++i) {
            const detail::DestRef& d = ds[i];
            if (d.weight > hw && !detail::overload_flag(d)) {
                best = i;
                hw = d.weight;
            }
        }
        return static_cast<BackendIdx>(best);
    }
};

static_assert(detail::Policy<FailOver>);

}  // namespace dirigo::sched
