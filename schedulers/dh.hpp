// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// dh: destination hashing (ip_vs_dh.c). A flow goes to bucket hash_32(daddr, 8) of a
/// 256-bucket table; an unavailable server (weight 0 or overloaded) means kNoBackend, as IPVS
/// has no fallback for dh. The table is filled like sh's, weighted (a server takes `weight`
/// consecutive buckets). Deliberate difference: IPVS's dh gives every server one bucket per
/// turn whatever its weight; both fills are identical when every weight is 1.

#include <string_view>

#include "schedulers/detail.hpp"
#include "schedulers/sh.hpp"

namespace dirigo::sched {

struct DestinationHashing {
    static constexpr SchedKind kKind = SchedKind::Dh;
    static constexpr std::string_view kName = "dh";

    struct Table {
        BucketTable bucket{};
    };

    /// Thread: control. Cost: O(256).
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: O(1).
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput& in) noexcept {
        const BackendIdx b = t.bucket[detail::hash_32(in.daddr, kHashBits)];
        if (b == kNoBackend || !detail::available(ds[b])) {
            return kNoBackend;
        }
        return b;
    }
};

static_assert(detail::Policy<DestinationHashing>);

}  // namespace dirigo::sched
