// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/sh.hpp"

#include "config/model.hpp"

namespace dirigo::sched {

BucketTable fill_weighted_buckets(std::span<const BackendSpec> bs) {
    BucketTable t;
    t.fill(kNoBackend);
    if (bs.empty()) {
        return t;
    }
    size_t p = 0;
    int32_t count = 0;
    for (uint32_t i = 0; i < kHashBuckets; ++i) {
        t[i] = static_cast<BackendIdx>(p);
        // Stay on a server until it has `weight` buckets (one at least).
        if (++count >= bs[p].weight) {
            count = 0;
            if (++p == bs.size()) {
                p = 0;
            }
        }
    }
    return t;
}

Result<SourceHashing::Table> SourceHashing::build(detail::BuildCtx& ctx) {
    Table t;
    t.bucket = fill_weighted_buckets(ctx.backends);
    t.fallback = (ctx.flags & cfg::kSvcSched1) != 0;
    t.port = (ctx.flags & cfg::kSvcSched2) != 0;
    return t;
}

}  // namespace dirigo::sched
