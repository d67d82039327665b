// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// ovf: overflow connection (ip_vs_ovf.c). The available server with the highest weight among
/// those whose active connections do not exceed their weight (active <= weight, as the kernel
/// tests `activeconns > weight` to skip); the first in list order among equals.

#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct Overflow {
    static constexpr SchedKind kKind = SchedKind::Ovf;
    static constexpr std::string_view kName = "ovf";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n), one counter line per server.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        uint32_t best = kNoBackend;
        int32_t hw = 0;
        for (uint32_t i = 0; i < ds.n; ++i) {
            const detail::DestRef& d = ds[i];
            if (d.weight <= hw || detail::overload_flag(d) || detail::active_conns(d) > d.weight) {
                continue;
            }
            best = i;
            hw = d.weight;
        }
        return static_cast<BackendIdx>(best);
    }
};

static_assert(detail::Policy<Overflow>);

}  // namespace dirigo::sched
