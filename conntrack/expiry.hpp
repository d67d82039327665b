// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Connection expiry times in 32 bits (docs/conntrack.md, "Expiry ticks").
///
/// An IPv4 connection entry stores when it dies as a 32-bit `Tick`: the TSC shifted right by
/// kTickShift (2^24 cycles, 5.6 ms at 3 GHz, 16.8 ms at 1 GHz), which the worker derives from the
/// TSC it reads once per burst, so there is no conversion table and no division. The counter
/// wraps (every 2^56 cycles: 278 days at 3 GHz), so ticks are compared as serial numbers (RFC
/// 1982): `a` is before `b` when the signed 32-bit difference a - b is negative. That is right
/// while the two are less than 2^31 ticks apart; timeouts are clamped to kMaxTimeoutTicks (2^30
/// ticks), which leaves an expired entry another 2^30 ticks (69 days at 3 GHz) to be swept or
/// found before its expiry time could read as future again: the bounded sweep visits every
/// entry within seconds. The clamp is 2^54 cycles: 69 days at 3 GHz, 41 days at 5 GHz, longer
/// than ipvsadm's 31-day limit on --set timeouts at any TSC rate below 6.7 GHz.
///
/// An expiry time is rounded up to the next tick, so a connection never dies before its timeout,
/// and at most one tick after it.

#include <cstdint>

namespace dirigo::ct {

/// A coarse TSC time: TSC >> kTickShift, modulo 2^32.
using Tick = uint32_t;

/// log2 of the TSC cycles per tick.
inline constexpr unsigned kTickShift = 24;
/// The longest timeout an expiry tick represents; longer ones are clamped to it.
inline constexpr uint32_t kMaxTimeoutTicks = 1u << 30;
/// kMaxTimeoutTicks in TSC cycles.
inline constexpr uint64_t kMaxTimeoutTsc = uint64_t{kMaxTimeoutTicks} << kTickShift;

/// The tick of TSC time `tsc`. Thread: any. Cost: a shift.
constexpr Tick tick_of(uint64_t tsc) noexcept {
    return static_cast<Tick>(tsc >> kTickShift);
}

/// The expiry tick of a connection whose timeout (in TSC cycles, clamped to kMaxTimeoutTsc)
/// starts at TSC `now`: the first tick at or after now + timeout. Thread: any. Cost: a compare,
/// an add and a shift.
constexpr Tick expire_at(uint64_t now, uint64_t timeout_tsc) noexcept {
    const uint64_t t = timeout_tsc < kMaxTimeoutTsc ? timeout_tsc : kMaxTimeoutTsc;
    return static_cast<Tick>((now + t + ((uint64_t{1} << kTickShift) - 1)) >> kTickShift);
}

/// Serial-number order: true when tick `a` is at or before tick `b` (their distance below 2^31).
/// Thread: any. Cost: a subtract and a sign test.
constexpr bool tick_at_or_before(Tick a, Tick b) noexcept {
    return static_cast<int32_t>(a - b) <= 0;
}

/// True when a connection that dies at tick `expire` is dead at TSC time `now`.
constexpr bool expired(Tick expire, uint64_t now) noexcept {
    return tick_at_or_before(expire, tick_of(now));
}

/// The signed distance in ticks from `b` to `a` (serial: a - b read as signed).
constexpr int64_t tick_diff(Tick a, Tick b) noexcept {
    return static_cast<int32_t>(a - b);
}

/// TSC cycles from `now` until a connection with expiry tick `expire` dies, as listings show
/// it: the lower bound, the start of the tick before `expire` (the timeout ended within that
/// tick, expire_at rounding up), so a listing never shows more than the timeout, and at most
/// one tick less than the time left. 0 when that is past. Thread: any. Cost: a few arithmetic
/// operations.
constexpr uint64_t expire_remaining_tsc(Tick expire, uint64_t now) noexcept {
    const int64_t d = tick_diff(expire, tick_of(now));
    if (d <= 1) {
        return 0;
    }
    const uint64_t at = ((now >> kTickShift) + static_cast<uint64_t>(d - 1)) << kTickShift;
    return at > now ? at - now : 0;
}

/// A timeout in TSC cycles as ticks (rounded down, clamped to kMaxTimeoutTicks): for comparing
/// the age of entries. Thread: any. Cost: a compare and a shift.
constexpr uint32_t timeout_ticks(uint64_t timeout_tsc) noexcept {
    return timeout_tsc < kMaxTimeoutTsc ? static_cast<uint32_t>(timeout_tsc >> kTickShift)
                                        : kMaxTimeoutTicks;
}

}  // namespace dirigo::ct
