// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// ICMPv6 and neighbour discovery (RFC 4443, RFC 4861) on raw frame bytes: the constants, the
/// checksum over the pseudo-header, the validation a worker applies before the slow path learns
/// from a message, and the addresses ND derives (solicited-node multicast and its MAC).
/// Thread: any. Cost: O(message length); no allocation.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

namespace dirigo::dp::nd {

inline constexpr uint8_t kDestUnreach = 1;
inline constexpr uint8_t kPacketTooBig = 2;
inline constexpr uint8_t kTimeExceeded = 3;
inline constexpr uint8_t kParamProblem = 4;
inline constexpr uint8_t kEchoRequest = 128;
inline constexpr uint8_t kEchoReply = 129;
inline constexpr uint8_t kNeighSolicit = 135;
inline constexpr uint8_t kNeighAdvert = 136;

inline constexpr uint8_t kOptSourceLladdr = 1;
inline constexpr uint8_t kOptTargetLladdr = 2;

/// NA flags, in the first byte after the ICMPv6 header.
inline constexpr uint8_t kNaRouter = 0x80;
inline constexpr uint8_t kNaSolicited = 0x40;
inline constexpr uint8_t kNaOverride = 0x20;

/// NS and NA: the 4-byte ICMPv6 header, 4 bytes (reserved or flags), the 16-byte target.
inline constexpr uint32_t kNdLen = 24;
/// A link-layer address option for Ethernet: type, length 1 (8 bytes), the MAC.
inline constexpr uint32_t kLladdrOptLen = 8;
/// ND messages come with hop limit 255: proof that no router forwarded them (RFC 4861 7.1).
inline constexpr uint8_t kNdHopLimit = 255;
/// The hop limit of what Dirigo sends itself (Linux's default).
inline constexpr uint8_t kHopLimit = 64;
/// The IPv6 minimum MTU: an ICMPv6 error quotes as much as fits in it (RFC 4443 2.4 (c)).
inline constexpr uint32_t kMinMtu = 1280;

/// ICMPv6's checksum over the pseudo-header of `ip6` (whose next header is ICMPv6, no extension
/// headers) and `len` bytes at `l4`, the checksum field included: 0xffff when it verifies.
inline uint16_t sum(const rte_ipv6_hdr* ip6, const void* l4, uint32_t len) noexcept {
    // rte_ipv6_phdr_cksum takes the length from the header: the caller's payload length.
    uint32_t s = rte_ipv6_phdr_cksum(ip6, 0);
    s += rte_raw_cksum(l4, len);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}

/// Writes the checksum of an ICMPv6 message of `len` bytes at `l4` (payload_len already set).
inline void set_checksum(const rte_ipv6_hdr* ip6, uint8_t* l4, uint32_t len) noexcept {
    l4[2] = 0;
    l4[3] = 0;
    const uint16_t c = static_cast<uint16_t>(~sum(ip6, l4, len));
    std::memcpy(l4 + 2, &c, 2);
}

/// True for the solicited-node multicast address ff02::1:ffXX:XXXX.
inline bool is_solicited_node(const uint8_t* a) noexcept {
    static constexpr uint8_t kHead[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    return std::memcmp(a, kHead, sizeof(kHead)) == 0;
}

/// ff02::1 (all nodes).
inline bool is_all_nodes(const uint8_t* a) noexcept {
    static constexpr uint8_t kAll[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(a, kAll, 16) == 0;
}

inline bool is_unspecified(const uint8_t* a) noexcept {
    static constexpr uint8_t kZero[16] = {};
    return std::memcmp(a, kZero, 16) == 0;
}

/// The solicited-node multicast address of `target` (RFC 4291 2.7.1).
inline void solicited_node(const uint8_t* target, uint8_t* out) noexcept {
    static constexpr uint8_t kHead[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    std::memcpy(out, kHead, sizeof(kHead));
    std::memcpy(out + 13, target + 13, 3);
}

/// The Ethernet multicast address of IPv6 multicast `group`: 33:33 and its last 32 bits
/// (RFC 2464 7).
inline void multicast_mac(const uint8_t* group, rte_ether_addr* mac) noexcept {
    mac->addr_bytes[0] = 0x33;
    mac->addr_bytes[1] = 0x33;
    std::memcpy(mac->addr_bytes + 2, group + 12, 4);
}

/// The link-layer address option of type `opt` among the options of the ND message of `len`
/// bytes at `msg` (from byte kNdLen), or nullptr. Assumes the options were validated.
inline const rte_ether_addr* find_lladdr(const uint8_t* msg, uint32_t len, uint8_t opt) noexcept {
    for (uint32_t o = kNdLen; o + 2 <= len && msg[o + 1] != 0; o += msg[o + 1] * 8u) {
        if (msg[o] == opt && msg[o + 1] == 1) {
            return reinterpret_cast<const rte_ether_addr*>(msg + o + 2);
        }
    }
    return nullptr;
}

/// RFC 4861 7.1.1 and 7.1.2: the checks a node makes before it uses an NS or NA. `l4` is the
/// ICMPv6 message (`len` bytes, inside the frame) after `ip6`. True when every check passes:
/// hop limit 255, code 0, at least 24 bytes, a checksum that verifies, options of non-zero
/// length that end inside the message, a target that is not multicast; for NS from :: (duplicate
/// address detection) a solicited-node destination and no source link-layer option; for NA to a
/// multicast group, the solicited flag clear.
inline bool valid_nd(const rte_ipv6_hdr* ip6, const uint8_t* l4, uint32_t len) noexcept {
    if (ip6->hop_limits != kNdHopLimit || l4[1] != 0 || len < kNdLen || sum(ip6, l4, len) != 0xffff) {
        return false;
    }
    const uint8_t* target = l4 + 8;
    if (target[0] == 0xff) {
        return false;
    }
    bool sllao = false;
    uint32_t o = kNdLen;
    for (; o + 2 <= len; o += l4[o + 1] * 8u) {
        if (l4[o + 1] == 0) {
            return false;
        }
        sllao = sllao || l4[o] == kOptSourceLladdr;
    }
    if (o != len) {
        return false;  // the last option runs past the message, or a stray byte is left
    }
    if (l4[0] == kNeighSolicit && is_unspecified(ip6->src_addr)) {
        return is_solicited_node(ip6->dst_addr) && !sllao;
    }
    if (l4[0] == kNeighAdvert && ip6->dst_addr[0] == 0xff) {
        return (l4[4] & kNaSolicited) == 0;
    }
    return true;
}

}  // namespace dirigo::dp::nd
