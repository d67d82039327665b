// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// SYN cookies for the SYN proxy (docs/reliability.md, "Floods", "The SYN proxy").
///
/// While the proxy is on, a worker answers a SYN to a NAT TCP service itself, with a SYN-ACK whose
/// initial sequence number is a cookie, and keeps nothing: the connection costs a table entry only
/// once the client's ACK proves, by returning the cookie + 1, that the client saw the SYN-ACK (so
/// its source address is real). The cookie is 32 bits:
///
///     bits 31..30  the low two bits of a coarse clock T (2^16 ms, about 65 s, a period)
///     bits 29..28  an index into kSynCookieMss (the client's MSS, rounded down)
///     bits 27..0   a MAC: the low 28 bits of SipHash-2-4 under a 128-bit secret, over the
///                  4-tuple, the client's ISN, T and the MSS index
///
/// The check takes T as the one value of the last four periods with those low bits, recomputes
/// the MAC, and accepts a cookie at most one period old (so a cookie lives 65 to 131 s, as
/// Linux's lives up to 2 minutes). A MAC that matches an older period is "stale" (counted apart
/// from forged ones); one that matches nothing is "bad". A forger has one chance in 2^28 per
/// guess, and cannot learn the secret from cookies: SipHash is a PRF under its key.
///
/// SipHash-2-4 is written here from its published description (Aumasson and Bernstein, "SipHash:
/// a fast short-input PRF", 2012): 2 compression rounds per 64-bit word, 4 finalisation rounds.
/// On 24 bytes it costs 50-65 ns (measured on the shared 2-core test VM at load 10; see
/// docs/reliability.md), paid once per SYN and once per cookie ACK, never on the packets of a
/// connection. Nothing here includes DPDK: the unit tests run without EAL.

#include <array>
#include <cstdint>
#include <cstring>

#include "schedulers/siphash.hpp"

namespace dirigo::dp {

/// The MSS values a cookie can carry (two bits): the client's MSS is rounded down to one of them.
/// 536 is TCP's default (no option); 1220 fits IPv6-tunnelled paths; 1440 and 1460 are
/// Ethernet's with and without a 20-byte encapsulation.
inline constexpr std::array<uint16_t, 4> kSynCookieMss = {536, 1220, 1440, 1460};

/// The index of the largest kSynCookieMss entry not above `mss` (0 when `mss` is below them all,
/// as an option of 0 or none at all). Thread: any. Cost: O(1).
constexpr uint32_t syn_cookie_mss_index(uint32_t mss) {
    uint32_t i = 0;
    for (uint32_t k = 1; k < kSynCookieMss.size(); ++k) {
        if (kSynCookieMss[k] <= mss) {
            i = k;
        }
    }
    return i;
}

/// SipHash-2-4 of `len` bytes under the 128-bit key (k0, k1). Thread: any. Cost: O(len).
inline uint64_t siphash24(uint64_t k0, uint64_t k1, const void* data, size_t len) noexcept {
    sched::SipState s(k0, k1);
    const auto* p = static_cast<const uint8_t*>(data);
    const size_t whole = len & ~size_t{7};
    for (size_t i = 0; i < whole; i += 8) {
        // Little-endian words, as the specification reads them.
        uint64_t m = 0;
        if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
            std::memcpy(&m, p + i, 8);
        } else {
            for (int b = 7; b >= 0; --b) {
                m = (m << 8) | p[i + static_cast<size_t>(b)];
            }
        }
        s.absorb(m, 2);
    }
    uint64_t last = static_cast<uint64_t>(len & 0xff) << 56;
    for (size_t b = 0; b < (len & 7); ++b) {
        last |= static_cast<uint64_t>(p[whole + b]) << (8 * b);
    }
    s.absorb(last, 2);
    return s.finish(4);
}

/// What a cookie check found.
enum class CookieCheck : uint8_t {
    Valid,  ///< made by this key in this period or the last one
    Stale,  ///< made by this key, but two or three periods ago
    Bad,    ///< not made by this key for this flow (forged, or an ACK of nothing of ours)
};

/// A cookie check's result: the verdict and, when it is Valid, the MSS the client announced.
struct CookieResult {
    CookieCheck check = CookieCheck::Bad;
    uint16_t mss = 0;
};

/// The cookie maker and checker of one worker: the secret and the arithmetic. All arguments are
/// as they sit in the packet (addresses and ports network order, sequence numbers host order).
class SynCookie {
public:
    /// Periods are 2^kPeriodShift ms long.
    static constexpr uint32_t kPeriodShift = 16;
    static constexpr uint32_t kMacBits = 28;
    static constexpr uint32_t kMacMask = (1u << kMacBits) - 1;

    SynCookie() = default;
    SynCookie(uint64_t k0, uint64_t k1) : k0_(k0), k1_(k1) {}

    /// The coarse clock of a time in milliseconds.
    static constexpr uint32_t period(uint64_t now_ms) {
        return static_cast<uint32_t>(now_ms >> kPeriodShift);
    }

    /// The cookie (our ISN) for a SYN of saddr:sport -> daddr:dport with ISN `isn` announcing
    /// `mss` (0: no option). Thread: the owning worker. Cost: one SipHash of 24 bytes.
    uint32_t make(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t isn,
                  uint32_t mss, uint64_t now_ms) const noexcept {
        const uint32_t t = period(now_ms);
        const uint32_t idx = syn_cookie_mss_index(mss);
        return ((t & 3u) << 30) | (idx << kMacBits) | mac(saddr, daddr, sport, dport, isn, t, idx);
    }

    /// Checks `cookie` (the client's ACK number - 1) for the flow whose ISN was `isn` (the ACK's
    /// sequence number - 1). Thread: the owning worker. Cost: one SipHash of 24 bytes.
    CookieResult check(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t isn,
                       uint32_t cookie, uint64_t now_ms) const noexcept {
        const uint32_t now_t = period(now_ms);
        // The period of the last four whose low two bits the cookie carries.
        const uint32_t age = (now_t - (cookie >> 30)) & 3u;
        const uint32_t t = now_t - age;
        const uint32_t idx = (cookie >> kMacBits) & 3u;
        if ((cookie & kMacMask) != mac(saddr, daddr, sport, dport, isn, t, idx)) {
            return {CookieCheck::Bad, 0};
        }
        if (age > 1) {
            return {CookieCheck::Stale, 0};
        }
        return {CookieCheck::Valid, kSynCookieMss[idx]};
    }

private:
    uint32_t mac(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t isn,
                 uint32_t t, uint32_t idx) const noexcept {
        uint32_t msg[6] = {saddr, daddr, static_cast<uint32_t>(sport) << 16 | dport, isn, t, idx};
        return static_cast<uint32_t>(siphash24(k0_, k1_, msg, sizeof(msg))) & kMacMask;
    }

    uint64_t k0_ = 0;
    uint64_t k1_ = 0;
};

}  // namespace dirigo::dp
