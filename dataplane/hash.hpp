// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The one multiplicative (Fibonacci) hash the dataplane's small tables and flow ownership use:
/// multiply by 2^64 / phi and keep the high bits, which mixes consecutive keys (neighbour
/// addresses, client ports) across the whole range. Thread: any. Cost: one multiply.

#include <cstdint>

namespace dirigo::dp {

/// The high 32 bits of `key` times 2^64 / phi.
constexpr uint32_t fib_hash(uint64_t key) noexcept {
    return static_cast<uint32_t>((key * 0x9e3779b97f4a7c15ull) >> 32);
}

/// fib_hash(key) reduced to a power-of-two table: `mask` is its size minus one.
constexpr uint32_t fib_slot(uint64_t key, uint32_t mask) noexcept { return fib_hash(key) & mask; }

/// fib_hash(key) reduced to 0..n-1 without a division (Lemire's multiply-shift).
constexpr uint32_t fib_range(uint64_t key, uint32_t n) noexcept {
    return static_cast<uint32_t>((static_cast<uint64_t>(fib_hash(key)) * n) >> 32);
}

}  // namespace dirigo::dp
