// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/dh.hpp"

namespace dirigo::sched {

Result<DestinationHashing::Table> DestinationHashing::build(detail::BuildCtx& ctx) {
    Table t;
    t.bucket = fill_weighted_buckets(ctx.backends);
    return t;
}

}  // namespace dirigo::sched
