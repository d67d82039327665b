// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/twos.hpp"

#include <atomic>
#include <chrono>

namespace dirigo::sched {

uint64_t TwosChoice::seed() noexcept {
    // Once per thread. Relaxed: the counter only has to hand out distinct values.
    static std::atomic<uint64_t> calls{0};
    const uint64_t n = calls.fetch_add(1, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return static_cast<uint64_t>(now) ^ (n * 0xd1b54a32d192ed03ull);
}

}  // namespace dirigo::sched
