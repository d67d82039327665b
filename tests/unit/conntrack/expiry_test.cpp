// SPDX-License-Identifier: BSD-3-Clause
#include "conntrack/expiry.hpp"

#include <cstdint>

#include <gtest/gtest.h>

namespace dirigo::ct {
namespace {

constexpr uint64_t kTick = uint64_t{1} << kTickShift;
/// The TSC at which the 32-bit tick counter wraps (tick 2^32 reads as 0).
constexpr uint64_t kWrapTsc = uint64_t{1} << (32 + kTickShift);

TEST(Expiry, TickIsTheTscShiftedModulo32Bits) {
    EXPECT_EQ(tick_of(0), 0u);
    EXPECT_EQ(tick_of(kTick - 1), 0u);
    EXPECT_EQ(tick_of(kTick), 1u);
    EXPECT_EQ(tick_of(kWrapTsc - 1), UINT32_MAX);
    EXPECT_EQ(tick_of(kWrapTsc), 0u);
    EXPECT_EQ(tick_of(kWrapTsc + 5 * kTick), 5u);
}

TEST(Expiry, SerialOrderAtAndAcrossTheWrap) {
    EXPECT_TRUE(tick_at_or_before(7, 7));
    EXPECT_TRUE(tick_at_or_before(6, 7));
    EXPECT_FALSE(tick_at_or_before(8, 7));
    // Across the wrap: UINT32_MAX is one tick before 0, and 0 one tick after UINT32_MAX.
    EXPECT_TRUE(tick_at_or_before(UINT32_MAX, 0));
    EXPECT_FALSE(tick_at_or_before(0, UINT32_MAX));
    EXPECT_TRUE(tick_at_or_before(UINT32_MAX - 10, 10));
    EXPECT_FALSE(tick_at_or_before(10, UINT32_MAX - 10));
    // The limit of the order: 2^31 - 1 ticks apart still orders right.
    EXPECT_TRUE(tick_at_or_before(0, 0x7fffffffu));
    EXPECT_FALSE(tick_at_or_before(0x7fffffffu, 0));
    EXPECT_EQ(tick_diff(0, UINT32_MAX), 1);
    EXPECT_EQ(tick_diff(UINT32_MAX, 0), -1);
    EXPECT_EQ(tick_diff(5, UINT32_MAX - 4), 10);
}

TEST(Expiry, NeverEarlyAtMostOneTickLate) {
    // Starts on, just after and just before a tick boundary, and just before the wrap.
    const uint64_t starts[] = {0,         kTick,        kTick + 1,        5 * kTick - 1,
                               123456789, kWrapTsc - 3, kWrapTsc - kTick, 3 * kWrapTsc + 77};
    const uint64_t timeouts[] = {1, kTick - 1, kTick, kTick + 1, 900 * 3000000000ull};
    for (const uint64_t now : starts) {
        for (const uint64_t to : timeouts) {
            const Tick e = expire_at(now, to);
            EXPECT_FALSE(expired(e, now + to - 1)) << now << " " << to;
            EXPECT_TRUE(expired(e, now + to + kTick)) << now << " " << to;
            EXPECT_FALSE(expired(e, now)) << now << " " << to;
        }
    }
}

TEST(Expiry, ExpiresAcrossTheWrap) {
    // Born 10 ticks before the counter wraps, with a 20-tick timeout: its expiry tick is small
    // (past the wrap), and it is alive until then, dead from then on.
    const uint64_t now = kWrapTsc - 10 * kTick;
    const Tick e = expire_at(now, 20 * kTick);
    EXPECT_EQ(e, 10u);
    EXPECT_FALSE(expired(e, now));
    EXPECT_FALSE(expired(e, kWrapTsc - 1));
    EXPECT_FALSE(expired(e, kWrapTsc + 9 * kTick));
    EXPECT_TRUE(expired(e, kWrapTsc + 10 * kTick));
    EXPECT_TRUE(expired(e, kWrapTsc + 1000 * kTick));
    // An entry that died just before the wrap stays dead just after it.
    const Tick d = expire_at(kWrapTsc - 10 * kTick, 5 * kTick);
    EXPECT_TRUE(expired(d, kWrapTsc + kTick));
}

TEST(Expiry, LongTimeoutsAreClampedNeverWrapped) {
    const uint64_t now = 42 * kTick;
    // The longest timeout stays in the future; a longer one is clamped to it, never wrapped
    // around to the past (a year at 5 GHz is 2^57 cycles, more than the 32-bit tick holds).
    EXPECT_EQ(expire_at(now, kMaxTimeoutTsc), tick_of(now) + kMaxTimeoutTicks);
    EXPECT_EQ(expire_at(now, kMaxTimeoutTsc + 1), expire_at(now, kMaxTimeoutTsc));
    const uint64_t year_5ghz = 31536000ull * 5000000000ull;
    EXPECT_EQ(expire_at(now, year_5ghz), expire_at(now, kMaxTimeoutTsc));
    EXPECT_EQ(expire_at(now, UINT64_MAX - now), expire_at(now, kMaxTimeoutTsc));
    EXPECT_FALSE(expired(expire_at(now, year_5ghz), now + kMaxTimeoutTsc - kTick));
    EXPECT_TRUE(expired(expire_at(now, year_5ghz), now + kMaxTimeoutTsc + kTick));
    // An entry expired that long ago still reads as expired (the margin the clamp leaves).
    const Tick dead = expire_at(now, kTick);
    EXPECT_TRUE(expired(dead, now + kMaxTimeoutTsc));
    // ipvsadm's longest timeout (31 days) fits below a 6.7 GHz TSC.
    EXPECT_LT(31ull * 86400 * 6700000000ull, kMaxTimeoutTsc);
    EXPECT_EQ(timeout_ticks(kMaxTimeoutTsc * 2), kMaxTimeoutTicks);
    EXPECT_EQ(timeout_ticks(3 * kTick + 1), 3u);
}

TEST(Expiry, RemainingNeverShowsMoreThanTheTimeout) {
    const uint64_t hz = 3000000000ull;
    for (const uint64_t now : {uint64_t{0}, uint64_t{999}, kTick - 1, kWrapTsc - kTick / 2}) {
        const uint64_t to = 60 * hz;
        const Tick e = expire_at(now, to);
        const uint64_t left = expire_remaining_tsc(e, now);
        EXPECT_LE(left, to);
        EXPECT_GT(left + 2 * kTick, to);
        // Later, less is left; once expired, nothing.
        EXPECT_LE(expire_remaining_tsc(e, now + hz), to - hz);
        EXPECT_EQ(expire_remaining_tsc(e, now + to + kTick), 0u);
        EXPECT_EQ(expire_remaining_tsc(e, now + to + 100 * hz), 0u);
    }
}

}  // namespace
}  // namespace dirigo::ct
