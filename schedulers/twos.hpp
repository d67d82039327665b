// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// twos: weighted random twos choice (ip_vs_twos.c, "power of two choices"). Two servers are
/// drawn at random among the available ones, each draw weighted by weight, and the one with the
/// lower overhead / weight (active * 256 + inactive, compared by cross-multiplication) wins;
/// the first draw wins ties.
///
/// Each draw is the kernel's: a number r uniform in [0, total weight] (inclusive), then a walk
/// in list order subtracting each available server's weight, stopping where r <= 0. So the
/// first available server takes r = 0 as well: it is drawn with (weight + 1) / (total + 1),
/// every other server with weight / (total + 1) (the kernel's quirk, kept).
///
/// Random numbers come from a per-thread generator (SplitMix64), so picks share nothing
/// between workers; reduction to the range is a multiply-shift, not a division.

#include <cstdint>
#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct TwosChoice {
    static constexpr SchedKind kKind = SchedKind::Twos;
    static constexpr std::string_view kName = "twos";

    struct Table {};

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx&) { return Table{}; }

    /// Thread: worker. Cost: O(n) (two walks over the list), one counter line per server read
    /// twice; two random numbers from this thread's generator; no allocation.
    static BackendIdx pick(const Table&, detail::Dests ds, const SchedInput&) noexcept {
        uint64_t total = 0;
        for (uint32_t i = 0; i < ds.n; ++i) {
            if (detail::available(ds[i])) {
                total += static_cast<uint64_t>(ds[i].weight);
            }
        }
        if (total == 0) {
            return kNoBackend;
        }
        // [0, total], as the kernel's prandom_u32() % (total + 1).
        const uint64_t span = total + 1;
        const uint64_t r1 = below(random_u64(), span);
        const uint64_t r2 = below(random_u64(), span);
        return choose(ds, r1, r2);
    }

    /// The kernel's walk and comparison for two draws r1, r2 in [0, total weight of the
    /// available servers]. kNoBackend when no server is available. Exposed for tests.
    /// Thread: any. Cost: O(n), no allocation.
    static BackendIdx choose(detail::Dests ds, uint64_t r1, uint64_t r2) noexcept {
        uint32_t c1 = kNoBackend;
        uint32_t c2 = kNoBackend;
        int64_t left1 = static_cast<int64_t>(r1);
        int64_t left2 = static_cast<int64_t>(r2);
        for (uint32_t i = 0; i < ds.n && (c1 == kNoBackend || c2 == kNoBackend); ++i) {
            if (!detail::available(ds[i])) {
                continue;
            }
            left1 -= ds[i].weight;
            left2 -= ds[i].weight;
            if (left1 <= 0 && c1 == kNoBackend) {
                c1 = i;
            }
            if (left2 <= 0 && c2 == kNoBackend) {
                c2 = i;
            }
        }
        if (c1 == kNoBackend || c2 == kNoBackend) {
            return kNoBackend;  // a draw beyond the total: no available server
        }
        const int64_t w1 = ds[c1].weight;
        const int64_t w2 = ds[c2].weight;
        if (w2 * detail::conn_overhead(ds[c1]) > w1 * detail::conn_overhead(ds[c2])) {
            return static_cast<BackendIdx>(c2);
        }
        return static_cast<BackendIdx>(c1);
    }

    /// A number in [0, span) from a 64-bit random number, by multiply-shift (Lemire).
    static uint64_t below(uint64_t random, uint64_t span) noexcept {
        return static_cast<uint64_t>((detail::U128{random} * span) >> 64);
    }

    /// This thread's next random number (SplitMix64; seeded once per thread, distinctly).
    /// Thread: any. Cost: O(1), no allocation.
    static uint64_t random_u64() noexcept {
        // One TLS object, constant-initialised (no guard); initial-exec: the library is linked
        // into executables only, so the access is one %fs-relative load, not a call.
        struct Rng {
            uint64_t state;
            bool seeded;
        };
        [[gnu::tls_model("initial-exec")]] static thread_local Rng rng{0, false};
        if (!rng.seeded) [[unlikely]] {
            rng.state = seed();
            rng.seeded = true;
        }
        rng.state += 0x9e3779b97f4a7c15ull;
        uint64_t z = rng.state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    /// A seed distinct for each call (thread), from a global counter and the clock.
    [[gnu::cold, gnu::noinline]] static uint64_t seed() noexcept;
};

static_assert(detail::Policy<TwosChoice>);

}  // namespace dirigo::sched
