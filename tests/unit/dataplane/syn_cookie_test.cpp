// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/syn_cookie.hpp"

#include <cstdint>
#include <set>

#include <gtest/gtest.h>

namespace dirigo::dp {
namespace {

constexpr uint64_t kPeriodMs = uint64_t{1} << SynCookie::kPeriodShift;

// A flow as it sits in the packet (the byte order does not matter to the MAC).
constexpr uint32_t kSaddr = 0x0200000a;
constexpr uint32_t kDaddr = 0x6400000a;
constexpr uint16_t kSport = 0x3075;
constexpr uint16_t kDport = 0x5000;
constexpr uint32_t kIsn = 0x12345678;

TEST(SipHash, MatchesThePapersTestVector) {
    // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e.
    uint8_t key[16];
    uint8_t msg[15];
    for (uint8_t i = 0; i < 16; ++i) {
        key[i] = i;
    }
    for (uint8_t i = 0; i < 15; ++i) {
        msg[i] = i;
    }
    uint64_t k0 = 0;
    uint64_t k1 = 0;
    for (int b = 7; b >= 0; --b) {
        k0 = (k0 << 8) | key[b];
        k1 = (k1 << 8) | key[8 + b];
    }
    EXPECT_EQ(siphash24(k0, k1, msg, sizeof(msg)), 0xa129ca6149be45e5ULL);
}

TEST(SynCookie, MssIndexRoundsDownToTheTable) {
    EXPECT_EQ(syn_cookie_mss_index(0), 0u);    // no option: 536
    EXPECT_EQ(syn_cookie_mss_index(535), 0u);  // below the table: its smallest
    EXPECT_EQ(syn_cookie_mss_index(536), 0u);
    EXPECT_EQ(syn_cookie_mss_index(1219), 0u);
    EXPECT_EQ(syn_cookie_mss_index(1220), 1u);
    EXPECT_EQ(syn_cookie_mss_index(1400), 1u);
    EXPECT_EQ(syn_cookie_mss_index(1440), 2u);
    EXPECT_EQ(syn_cookie_mss_index(1459), 2u);
    EXPECT_EQ(syn_cookie_mss_index(1460), 3u);
    EXPECT_EQ(syn_cookie_mss_index(9000), 3u);
}

TEST(SynCookie, ValidatesWhatItMadeAndReturnsTheMss) {
    const SynCookie sc(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
    const uint64_t now = 1000 * kPeriodMs + 123;
    for (uint32_t mss : {0u, 536u, 1300u, 1440u, 1460u, 8960u}) {
        const uint32_t c = sc.make(kSaddr, kDaddr, kSport, kDport, kIsn, mss, now);
        const CookieResult r = sc.check(kSaddr, kDaddr, kSport, kDport, kIsn, c, now);
        EXPECT_EQ(r.check, CookieCheck::Valid) << mss;
        EXPECT_EQ(r.mss, kSynCookieMss[syn_cookie_mss_index(mss)]) << mss;
    }
}

TEST(SynCookie, LivesOneToTwoPeriodsThenIsStaleThenBad) {
    const SynCookie sc(1, 2);
    const uint64_t t0 = 5000 * kPeriodMs + kPeriodMs - 1;  // the last millisecond of a period
    const uint32_t c = sc.make(kSaddr, kDaddr, kSport, kDport, kIsn, 1460, t0);
    auto at = [&](uint64_t now) {
        return sc.check(kSaddr, kDaddr, kSport, kDport, kIsn, c, now).check;
    };
    EXPECT_EQ(at(t0), CookieCheck::Valid);
    EXPECT_EQ(at(t0 + 1), CookieCheck::Valid);              // the next period
    EXPECT_EQ(at(t0 + kPeriodMs), CookieCheck::Valid);      // still the next period
    EXPECT_EQ(at(t0 + kPeriodMs + 1), CookieCheck::Stale);  // two periods on
    EXPECT_EQ(at(t0 + 3 * kPeriodMs), CookieCheck::Stale);  // three
    // Four periods on, its two time bits name the current period: the MAC no longer matches.
    EXPECT_EQ(at(t0 + 3 * kPeriodMs + 1), CookieCheck::Bad);
    // A cookie "from the future" (the clock went back) is not accepted either.
    const uint32_t later = sc.make(kSaddr, kDaddr, kSport, kDport, kIsn, 1460, t0 + 1);
    EXPECT_NE(sc.check(kSaddr, kDaddr, kSport, kDport, kIsn, later, t0).check, CookieCheck::Valid);
}

TEST(SynCookie, AnyChangeToTheFlowTheIsnOrTheCookieIsBad) {
    const SynCookie sc(0xdeadbeefULL, 0xcafef00dULL);
    const uint64_t now = 77 * kPeriodMs;
    const uint32_t c = sc.make(kSaddr, kDaddr, kSport, kDport, kIsn, 1460, now);
    EXPECT_EQ(sc.check(kSaddr ^ 1, kDaddr, kSport, kDport, kIsn, c, now).check, CookieCheck::Bad);
    EXPECT_EQ(sc.check(kSaddr, kDaddr ^ 1, kSport, kDport, kIsn, c, now).check, CookieCheck::Bad);
    EXPECT_EQ(sc.check(kSaddr, kDaddr, kSport ^ 1, kDport, kIsn, c, now).check, CookieCheck::Bad);
    EXPECT_EQ(sc.check(kSaddr, kDaddr, kSport, kDport ^ 1, kIsn, c, now).check, CookieCheck::Bad);
    EXPECT_EQ(sc.check(kSaddr, kDaddr, kSport, kDport, kIsn + 1, c, now).check, CookieCheck::Bad);
    // Every single-bit flip of the cookie: the MAC, the MSS index (a client cannot raise its
    // MSS) and the time bits (nor extend its cookie's life).
    for (uint32_t bit = 0; bit < 32; ++bit) {
        EXPECT_EQ(sc.check(kSaddr, kDaddr, kSport, kDport, kIsn, c ^ (1u << bit), now).check,
                  CookieCheck::Bad)
            << bit;
    }
    // Another secret (another process) does not accept it.
    const SynCookie other(0xdeadbeefULL, 0xcafef00eULL);
    EXPECT_EQ(other.check(kSaddr, kDaddr, kSport, kDport, kIsn, c, now).check, CookieCheck::Bad);
}

TEST(SynCookie, CookiesOfDifferentFlowsLookRandom) {
    // No structure a client could exploit: cookies of neighbouring ports are all distinct, and
    // their MAC bits are about half ones.
    const SynCookie sc(42, 43);
    std::set<uint32_t> seen;
    uint64_t ones = 0;
    constexpr uint32_t kN = 4096;
    for (uint32_t i = 0; i < kN; ++i) {
        const uint32_t c = sc.make(kSaddr, kDaddr, static_cast<uint16_t>(i), kDport, kIsn, 1460, 0);
        seen.insert(c);
        ones += static_cast<uint64_t>(__builtin_popcount(c & SynCookie::kMacMask));
    }
    EXPECT_EQ(seen.size(), kN);
    const double mean = static_cast<double>(ones) / kN;
    EXPECT_NEAR(mean, SynCookie::kMacBits / 2.0, 0.5);
}

}  // namespace
}  // namespace dirigo::dp
