// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// wlc: weighted least connection (ip_vs_wlc.c), ipvsadm's default. The lowest
/// (active * 256 + inactive) / weight among servers that are not overloaded, compared by
/// cross-multiplication; the first available server in list order wins ties.

#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct WeightedLeastConnection {
    static constexpr SchedKind kKind = SchedKind::Wlc;
    static constexpr std::string_view kName = "wlc";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n), one counter line per server.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        return detail::pick_wlc(ds);
    }
};

static_assert(detail::Policy<WeightedLeastConnection>);

}  // namespace dirigo::sched
