// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/sh.hpp"

#include <gtest/gtest.h>

#include <array>

#include "config/model.hpp"
#include "schedulers/detail.hpp"
#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::from;
using test::Servers;

TEST(Sh, BucketsAreFilledByWeightInListOrder) {
    Servers s({1, 2, 3});
    const BucketTable t = fill_weighted_buckets(s.specs);
    const BackendIdx pattern[] = {0, 1, 1, 2, 2, 2};
    for (uint32_t i = 0; i < kHashBuckets; ++i) {
        ASSERT_EQ(t[i], pattern[i % 6]) << i;
    }
    Servers z({0, 2});  // weight 0 still takes one bucket per turn
    const BucketTable u = fill_weighted_buckets(z.specs);
    EXPECT_EQ(u[0], 0);
    EXPECT_EQ(u[1], 1);
    EXPECT_EQ(u[2], 1);
    EXPECT_EQ(u[3], 0);
    const BucketTable e = fill_weighted_buckets({});
    EXPECT_EQ(e[0], kNoBackend);
}

TEST(Sh, HashesTheSourceAddressLikeIpvs) {
    Servers s({1, 2, 3, 1});
    auto sch = s.build(SchedKind::Sh);
    const BucketTable t = fill_weighted_buckets(s.specs);
    for (uint32_t i = 0; i < 5000; ++i) {
        const uint32_t saddr = 0x0b000000u + i * 2654435761u;
        const BackendIdx want = t[(saddr * 0x61C88647u) >> 24];
        ASSERT_EQ(sch->pick(from(saddr, static_cast<uint16_t>(i))), want) << saddr;
    }
}

TEST(Sh, Ipv6SourcesAreFoldedAsIpvsFoldsThem) {
    // ip_vs_sh_hashkey: addr_fold = ip6[0] ^ ip6[1] ^ ip6[2] ^ ip6[3], then ntohl.
    const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xa8, 0x01, 0x07};
    EXPECT_EQ(fold6(a), 0x20010db8u ^ 0xc0a80107u);
    const uint8_t z[16] = {};
    EXPECT_EQ(fold6(z), 0u);
    // An IPv6 client goes where the IPv4 client with its folded address goes.
    Servers s({1, 2, 3, 1});
    auto sch = s.build(SchedKind::Sh);
    const BucketTable t = fill_weighted_buckets(s.specs);
    const uint32_t folded = 0x20010db8u ^ 0xc0a80107u;
    EXPECT_EQ(sch->pick(from(fold6(a), 1)), t[(folded * 0x61C88647u) >> 24]);
}

TEST(Sh, SameSourceSameServerAcrossRebuilds) {
    Servers s({3, 1, 2});
    auto a = s.build(SchedKind::Sh);
    auto b = s.build(SchedKind::Sh, 0, make_shared_state(SchedKind::Sh));
    for (uint32_t i = 0; i < 2000; ++i) {
        const uint32_t saddr = 0x0c000000u + i;
        const BackendIdx first = a->pick(from(saddr, 1));
        EXPECT_EQ(a->pick(from(saddr, 2)), first);  // port ignored without sh-port
        EXPECT_EQ(b->pick(from(saddr, 3)), first);
    }
}

TEST(Sh, PortJoinsTheHashWithShPort) {
    Servers s({1, 1, 1, 1});
    auto sch = s.build(SchedKind::Sh, cfg::kSvcSched2);
    const BucketTable t = fill_weighted_buckets(s.specs);
    int differ = 0;
    for (uint16_t port = 1000; port < 1100; ++port) {
        const uint32_t saddr = 0x0d000001u;
        EXPECT_EQ(sch->pick(from(saddr, port)), t[detail::hash_32(saddr + port, 8)]);
        differ += sch->pick(from(saddr, port)) != sch->pick(from(saddr, 1000)) ? 1 : 0;
        // ICMP has no port: the hash falls back to the address alone.
        EXPECT_EQ(sch->pick(from(saddr, port, 1)), t[detail::hash_32(saddr, 8)]);
    }
    EXPECT_GT(differ, 50);
}

TEST(Sh, UnavailableServerWithoutFallbackIsNoBackend) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Sh);
    const uint32_t saddr = 0x0e000001u;
    const BackendIdx home = sch->pick(from(saddr));
    ASSERT_NE(home, kNoBackend);
    s.overload(home, true);
    EXPECT_EQ(sch->pick(from(saddr)), kNoBackend);
}

TEST(Sh, FallbackFollowsIpvsProbeWalk) {
    Servers s({1, 1, 1, 1});
    auto sch = s.build(SchedKind::Sh, cfg::kSvcSched1);
    const BucketTable t = fill_weighted_buckets(s.specs);
    s.overload(1, true);
    s.overload(2, true);
    for (uint32_t i = 0; i < 3000; ++i) {
        const uint32_t saddr = 0x0f000000u + i * 7u;
        const uint32_t h = detail::hash_32(saddr, 8);
        BackendIdx want = t[h];
        if (want == 1 || want == 2) {
            // ip_vs_sh_get_fallback: buckets (2h + offset) mod 256, offset = 0, 1, ...
            for (uint32_t off = 0; off < 256; ++off) {
                want = t[(2 * h + off) & 255];
                if (want != 1 && want != 2) {
                    break;
                }
            }
        }
        ASSERT_EQ(sch->pick(from(saddr)), want) << saddr;
    }
}

TEST(Sh, MillionSourcesFollowTheWeights) {
    Servers s({1, 2, 3});
    auto sch = s.build(SchedKind::Sh);
    std::array<int, 3> count{};
    constexpr int kKeys = 1000000;
    for (int i = 0; i < kKeys; ++i) {
        ++count[sch->pick(from(0x20000000u + static_cast<uint32_t>(i)))];
    }
    for (size_t b = 0; b < 3; ++b) {
        EXPECT_NEAR(static_cast<double>(count[b]) / kKeys, static_cast<double>(b + 1) / 6, 0.01)
            << "server " << b;
    }
}

}  // namespace
}  // namespace dirigo::sched
