// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/rr.hpp"

#include <unordered_map>

#include "schedulers/shared.hpp"

namespace dirigo::sched {

Result<RoundRobin::Table> RoundRobin::build(detail::BuildCtx& ctx) {
    SchedShared& sh = ctx.shared;
    const CtlMemory& prev = sh.ctl;
    if (prev.built && !ctx.same_servers) {
        std::unordered_map<uint64_t, uint32_t> now_at;
        for (uint32_t i = 0; i < ctx.backends.size(); ++i) {
            now_at.emplace(detail::dest_key(ctx.backends[i]), i);
        }
        // Relaxed: control's read of the position; workers may still advance it with the old
        // list until they adopt the new snapshot (docs/schedulers.md).
        const uint64_t cur = sh.cursor.load(std::memory_order_relaxed);
        uint64_t next = 0;
        if (cur > 0 && cur <= prev.keys.size()) {
            for (uint64_t k = cur; k > 0; --k) {
                const auto it = now_at.find(prev.keys[k - 1]);
                if (it != now_at.end()) {
                    next = uint64_t{it->second} + 1;
                    break;
                }
            }
        }
        sh.cursor.store(next, std::memory_order_relaxed);
    }
    return Table{&sh.cursor};
}

}  // namespace dirigo::sched
