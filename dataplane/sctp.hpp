// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// SCTP's common header and its CRC32c checksum (RFC 9260 section 3 and appendix A).
///
/// The checksum is CRC32c (Castagnoli, reflected polynomial 0x82F63B78, initial value and final
/// XOR all ones) over the whole packet with the checksum field read as zero, stored in the
/// field least significant byte first (Linux's cpu_to_le32 of the value). A CRC has no
/// incremental update, so a NAT rewrite that changes a port pays one pass over the packet:
/// sctp_crc32c uses SSE4.2's crc32 instruction, 8 bytes at a time, when the build targets it
/// (meson's cpu_baseline: native or x86-64-v2 and up), and sctp_crc32c_sw is its table-driven
/// scalar twin, which the tests compare it with (and the build's path without SSE4.2). Inline
/// and without a runtime switch: DPDK's rte_hash_crc would choose at run time, through a static
/// variable in every translation unit that includes it. DR and TUN never change the SCTP header,
/// so they never pay it. Thread: any.

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include <rte_byteorder.h>

namespace dirigo::dp {

inline constexpr uint32_t kSctpHdrLen = 12;      ///< ports, verification tag, checksum
inline constexpr uint32_t kSctpCsumOffset = 8;   ///< the checksum field in the common header
inline constexpr uint32_t kSctpChunkHdrLen = 4;  ///< type, flags, length

namespace detail {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        t[i] = c;
    }
    return t;
}
inline constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

/// Raw reflected CRC32c register update over `len` bytes (no initial or final inversion).
constexpr uint32_t crc32c_update_sw(uint32_t crc, const uint8_t* p, uint32_t len) {
    for (uint32_t i = 0; i < len; ++i) {
        crc = kCrc32cTable[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    }
    return crc;
}

}  // namespace detail

/// CRC32c of `len` bytes as a standalone message (RFC 3720 B.4's vectors), table-driven.
/// Cost: O(len), a table load a byte.
constexpr uint32_t crc32c_sw(const uint8_t* p, uint32_t len) {
    return ~detail::crc32c_update_sw(0xffffffffu, p, len);
}

/// Raw CRC32c register update over `len` bytes at `p` (any alignment), with the crc32
/// instruction when the build has it. Cost: O(len / 8) instructions.
inline uint32_t crc32c_update(uint32_t crc, const uint8_t* p, uint32_t len) noexcept {
#if defined(__SSE4_2__)
    uint64_t c = crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);  // unaligned: an SCTP header sits at any offset of a frame
        c = _mm_crc32_u64(c, v);
    }
    crc = static_cast<uint32_t>(c);
    for (; len != 0; ++p, --len) {
        crc = _mm_crc32_u8(crc, *p);
    }
    return crc;
#else
    return detail::crc32c_update_sw(crc, p, len);
#endif
}

/// The SCTP checksum of the `len`-byte packet at `sctp` (common header first; len >= 12), with
/// its checksum field read as zero, as a host-order value. The packet is not modified.
/// Cost: O(len) with the crc32 instruction; no allocation. Thread: any.
inline uint32_t sctp_crc32c(const uint8_t* sctp, uint32_t len) noexcept {
    constexpr uint8_t kZero[4] = {0, 0, 0, 0};
    uint32_t crc = crc32c_update(0xffffffffu, sctp, kSctpCsumOffset);
    crc = crc32c_update(crc, kZero, 4);
    crc = crc32c_update(crc, sctp + kSctpHdrLen, len - kSctpHdrLen);
    return ~crc;
}

/// sctp_crc32c's scalar twin. Cost: O(len), a table load a byte.
constexpr uint32_t sctp_crc32c_sw(const uint8_t* sctp, uint32_t len) {
    constexpr uint8_t kZero[4] = {0, 0, 0, 0};
    uint32_t crc = detail::crc32c_update_sw(0xffffffffu, sctp, kSctpCsumOffset);
    crc = detail::crc32c_update_sw(crc, kZero, 4);
    crc = detail::crc32c_update_sw(crc, sctp + kSctpHdrLen, len - kSctpHdrLen);
    return ~crc;
}

/// The checksum field's value, host order.
inline uint32_t sctp_stored_checksum(const uint8_t* sctp) noexcept {
    uint32_t v;
    std::memcpy(&v, sctp + kSctpCsumOffset, 4);
    return rte_le_to_cpu_32(v);
}

/// Recomputes and stores the checksum of the `len`-byte SCTP packet at `sctp` (after a NAT
/// rewrite of its ports). Cost: O(len).
inline void sctp_set_checksum(uint8_t* sctp, uint32_t len) noexcept {
    const uint32_t v = rte_cpu_to_le_32(sctp_crc32c(sctp, len));
    std::memcpy(sctp + kSctpCsumOffset, &v, 4);
}

/// True when the stored checksum matches the packet. Cost: O(len).
inline bool sctp_checksum_ok(const uint8_t* sctp, uint32_t len) noexcept {
    return len >= kSctpHdrLen && sctp_stored_checksum(sctp) == sctp_crc32c(sctp, len);
}

}  // namespace dirigo::dp
