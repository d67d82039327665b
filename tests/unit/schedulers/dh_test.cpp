// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/dh.hpp"

#include <gtest/gtest.h>

#include <array>

#include "config/model.hpp"
#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;
using test::to;

TEST(Dh, HashesTheDestinationAddressLikeIpvs) {
    Servers s({2, 1, 3});
    auto sch = s.build(SchedKind::Dh);
    const BucketTable t = fill_weighted_buckets(s.specs);
    for (uint32_t i = 0; i < 5000; ++i) {
        const uint32_t daddr = 0xc0000000u + i * 40503u;
        ASSERT_EQ(sch->pick(to(daddr)), t[(daddr * 0x61C88647u) >> 24]);
    }
}

TEST(Dh, SameDestinationSameServerWhateverTheSource) {
    Servers s({1, 1, 1, 1, 1});
    auto sch = s.build(SchedKind::Dh);
    for (uint32_t i = 0; i < 1000; ++i) {
        const uint32_t daddr = 0xc6336400u + i;
        SchedInput in = to(daddr);
        const BackendIdx first = sch->pick(in);
        in.saddr = 0x09090909u + i;
        in.sport = 4242;
        EXPECT_EQ(sch->pick(in), first);
    }
}

TEST(Dh, AllWeightsOneGivesIpvsUnweightedTable) {
    Servers s({1, 1, 1});
    const BucketTable t = fill_weighted_buckets(s.specs);
    for (uint32_t i = 0; i < kHashBuckets; ++i) {
        EXPECT_EQ(t[i], i % 3);  // ip_vs_dh_reassign: one bucket per server in turn
    }
}

TEST(Dh, UnavailableServerIsNoBackendEvenWithFlags) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Dh, cfg::kSvcSched1);
    const uint32_t daddr = 0xc0a80101u;
    const BackendIdx home = sch->pick(to(daddr));
    s.overload(home, true);
    EXPECT_EQ(sch->pick(to(daddr)), kNoBackend);
}

TEST(Dh, MillionDestinationsFollowTheWeights) {
    Servers s({1, 2, 3});
    auto sch = s.build(SchedKind::Dh);
    std::array<int, 3> count{};
    constexpr int kKeys = 1000000;
    for (int i = 0; i < kKeys; ++i) {
        ++count[sch->pick(to(0x30000000u + static_cast<uint32_t>(i)))];
    }
    for (size_t b = 0; b < 3; ++b) {
        EXPECT_NEAR(static_cast<double>(count[b]) / kKeys, static_cast<double>(b + 1) / 6, 0.01)
            << "server " << b;
    }
}

}  // namespace
}  // namespace dirigo::sched
