// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// sed: shortest expected delay (ip_vs_sed.c). The lowest (active + 1) / weight among servers
/// that are not overloaded (inactive connections do not count), compared by
/// cross-multiplication; the first available server in list order wins ties.

#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct ShortestExpectedDelay {
    static constexpr SchedKind kKind = SchedKind::Sed;
    static constexpr std::string_view kName = "sed";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n), one counter line per server.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        uint32_t i = 0;
        while (i < ds.n && !detail::available(ds[i])) {
            ++i;
        }
        if (i == ds.n) {
            return kNoBackend;
        }
        uint32_t least = i;
        int64_t loh = detail::active_conns(ds[i]) + 1;
        int64_t lw = ds[i].weight;
        for (++i; i < ds.n; ++i) {
            const detail::DestRef& d = ds[i];
            if (detail::overload_flag(d)) {
                continue;
            }
            const int64_t doh = detail::active_conns(d) + 1;
            if (loh * d.weight > doh * lw) {
                least = i;
                loh = doh;
                lw = d.weight;
            }
        }
        return static_cast<BackendIdx>(least);
    }
};

static_assert(detail::Policy<ShortestExpectedDelay>);

}  // namespace dirigo::sched
