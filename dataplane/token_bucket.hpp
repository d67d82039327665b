// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// A token bucket on the TSC: `rate` tokens a second, at most `burst` held. Used by the slow path
/// (ICMP errors, Linux's icmp_msgs_per_sec/icmp_msgs_burst) and the exception path (packets up to
/// a kernel interface). Single-threaded: its owner's thread only.

#include <algorithm>
#include <cstdint>

namespace dirigo::dp {

struct TokenBucket {
    uint64_t rate = 0;    ///< tokens a second
    uint64_t burst = 0;   ///< most tokens held
    uint64_t tokens = 0;
    uint64_t last = 0;    ///< TSC of the last refill

    TokenBucket(uint64_t rate_per_s, uint64_t depth)
        : rate(rate_per_s), burst(depth), tokens(depth) {}

    /// Adds what `now` earns since the last refill. A second or more refills the bucket whole, so
    /// the product below never wraps however long the bucket sat idle.
    void refill(uint64_t now, uint64_t hz) {
        const uint64_t elapsed = now - last;
        if (elapsed >= hz) {
            tokens = burst;
            last = now;
            return;
        }
        const uint64_t add = elapsed * rate / hz;
        if (add != 0) {
            tokens = std::min(burst, tokens + add);
            last = now;
        }
    }
    /// Takes one token; false when there is none.
    bool take() {
        if (tokens == 0) {
            return false;
        }
        --tokens;
        return true;
    }
    bool take(uint64_t now, uint64_t hz) {
        refill(now, hz);
        return take();
    }
};

}  // namespace dirigo::dp
