// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// SipHash's state and round (Aumasson and Bernstein, "SipHash: a fast short-input PRF"), the one
/// copy behind the kernel-compatible hsiphash the mh scheduler needs (SipHash-1-3,
/// schedulers/detail.hpp) and the SYN cookies' SipHash-2-4 (dataplane/syn_cookie.hpp). Callers
/// add the message words and the finalisation their variant prescribes. No DPDK.
/// Thread: any. Cost: a few dozen ALU operations a round.

#include <cstdint>

namespace dirigo::sched {

struct SipState {
    uint64_t v0;
    uint64_t v1;
    uint64_t v2;
    uint64_t v3;

    /// The initial state under the 128-bit key (k0, k1): "somepseudorandomlygeneratedbytes".
    constexpr SipState(uint64_t k0, uint64_t k1) noexcept
        : v0(0x736f6d6570736575ull ^ k0),
          v1(0x646f72616e646f6dull ^ k1),
          v2(0x6c7967656e657261ull ^ k0),
          v3(0x7465646279746573ull ^ k1) {}

    static constexpr uint64_t rotl(uint64_t x, int s) noexcept {
        return (x << s) | (x >> (64 - s));
    }

    /// One SipRound.
    constexpr void round() noexcept {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }

    /// Absorbs one message word with `rounds` compression rounds.
    constexpr void absorb(uint64_t m, int rounds) noexcept {
        v3 ^= m;
        for (int i = 0; i < rounds; ++i) {
            round();
        }
        v0 ^= m;
    }

    /// The finalisation with `rounds` rounds; the 64-bit result.
    constexpr uint64_t finish(int rounds) noexcept {
        v2 ^= 0xff;
        for (int i = 0; i < rounds; ++i) {
            round();
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

}  // namespace dirigo::sched
