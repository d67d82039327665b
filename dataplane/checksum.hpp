// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Internet checksum helpers. Incremental updates follow RFC 1624 (HC' = ~(~HC + ~m + m')), which
/// is exact where RFC 1141's shortcut is not (it never turns 0x0000 into 0xffff wrongly). All
/// values are raw 16/32-bit words as they sit in the packet (network order): one's complement
/// sums do not care about byte order as long as every word is taken the same way.
/// Thread: any. Cost: a few ALU operations; no memory beyond the arguments.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dirigo::dp {

/// Folds a 32-bit one's complement accumulator to 16 bits.
constexpr uint16_t csum_fold(uint32_t sum) {
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

/// Checksum field after replacing a 16-bit word `from` by `to`.
constexpr uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to) {
    const uint32_t sum = static_cast<uint16_t>(~check) + static_cast<uint32_t>(static_cast<uint16_t>(~from)) + to;
    return static_cast<uint16_t>(~csum_fold(sum));
}

/// Checksum field after replacing a 32-bit word `from` by `to` (an IPv4 address).
constexpr uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to) {
    uint32_t sum = static_cast<uint16_t>(~check);
    sum += static_cast<uint16_t>(~from) + static_cast<uint32_t>(static_cast<uint16_t>(~(from >> 16)));
    sum += (to & 0xffffu) + (to >> 16);
    return static_cast<uint16_t>(~csum_fold(sum));
}

/// Raw one's complement sum of `len` bytes (odd trailing byte padded with zero): a plain reference
/// for tests and the benchmark's frame builders. The packet path and the slow path use DPDK's
/// rte_raw_cksum / rte_ipv4_cksum.
inline uint32_t csum_partial(const void* data, size_t len, uint32_t sum = 0) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (len >= 2) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        sum += w;
        p += 2;
        len -= 2;
    }
    if (len != 0) {
        uint16_t w = 0;
        std::memcpy(&w, p, 1);
        sum += w;
    }
    return sum;
}

/// Full checksum (complemented fold) of a buffer, e.g. an IPv4 header with its checksum field 0.
inline uint16_t csum_full(const void* data, size_t len) {
    return static_cast<uint16_t>(~csum_fold(csum_partial(data, len)));
}

}  // namespace dirigo::dp
