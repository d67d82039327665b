// SPDX-License-Identifier: BSD-3-Clause
// Properties every policy must have, build errors, refresh_overload, and the shared helpers.
#include "schedulers/scheduler.hpp"

#include <gtest/gtest.h>

#include <random>

#include "config/model.hpp"
#include "schedulers/detail.hpp"
#include "schedulers/shared.hpp"
#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

std::vector<SchedKind> all_kinds() {
    std::vector<SchedKind> v;
    for (size_t k = 0; k < kSchedKinds; ++k) {
        v.push_back(static_cast<SchedKind>(k));
    }
    return v;
}

class EveryPolicy : public ::testing::TestWithParam<SchedKind> {};

INSTANTIATE_TEST_SUITE_P(All, EveryPolicy, ::testing::ValuesIn(all_kinds()),
                         [](const auto& info) { return std::string(sched_name(info.param)); });

SchedInput varied(uint32_t i) {
    SchedInput in;
    in.saddr = 0x0b000000 + i * 7919;
    in.daddr = 0xc0a80000 + (i % 97);
    in.sport = static_cast<uint16_t>(1024 + i);
    in.dport = 80;
    in.proto = 6;
    in.now_ms = i;
    return in;
}

TEST_P(EveryPolicy, EmptyListHasNoBackend) {
    Servers s({});
    auto sch = s.build(GetParam());
    ASSERT_TRUE(sch);
    for (uint32_t i = 0; i < 50; ++i) {
        EXPECT_EQ(sch->pick(varied(i)), kNoBackend);
    }
}

TEST_P(EveryPolicy, AllQuiescedHasNoBackend) {
    Servers s({0, 0, 0});
    auto sch = s.build(GetParam(), cfg::kSvcSched1);
    for (uint32_t i = 0; i < 50; ++i) {
        EXPECT_EQ(sch->pick(varied(i)), kNoBackend);
    }
}

TEST_P(EveryPolicy, AllOverloadedHasNoBackend) {
    Servers s({1, 2, 3});
    auto sch = s.build(GetParam(), cfg::kSvcSched1);
    for (uint32_t id = 0; id < 3; ++id) {
        s.overload(id, true);
    }
    for (uint32_t i = 0; i < 50; ++i) {
        EXPECT_EQ(sch->pick(varied(i)), kNoBackend);
    }
}

TEST_P(EveryPolicy, NeverPicksQuiescedOrOverloaded) {
    // B, C and E may be picked; A and D have weight 0 and C is overloaded.
    Servers s({0, 3, 2, 0, 1});
    s.overload(2, true);
    for (uint32_t id = 0; id < 5; ++id) {
        s.conns(id, static_cast<int32_t>(id), static_cast<int32_t>(3 * id));
    }
    for (const uint32_t flags : {0u, uint32_t{cfg::kSvcSched1}}) {
        auto sch = s.build(GetParam(), flags);
        int picked = 0;
        for (uint32_t i = 0; i < 3000; ++i) {
            const BackendIdx b = sch->pick(varied(i));
            if (b == kNoBackend) {
                continue;
            }
            ++picked;
            EXPECT_TRUE(b == 1 || b == 4) << "picked " << b;
        }
        EXPECT_GT(picked, 0);
    }
}

TEST_P(EveryPolicy, FallbackOrCountingPoliciesAlwaysFindOne) {
    Servers s({1, 1, 1, 1});
    s.overload(1, true);
    auto sch = s.build(GetParam(), cfg::kSvcSched1);
    for (uint32_t i = 0; i < 2000; ++i) {
        const BackendIdx b = sch->pick(varied(i));
        if (GetParam() == SchedKind::Dh && b == kNoBackend) {
            continue;  // dh has no fallback
        }
        ASSERT_NE(b, kNoBackend);
        EXPECT_NE(b, 1);
    }
}

TEST_P(EveryPolicy, BuildAccessorsAndErrors) {
    Servers s({1, 2});
    auto sch = s.build(GetParam());
    ASSERT_TRUE(sch);
    EXPECT_EQ(sch->kind(), GetParam());
    ASSERT_EQ(sch->backends().size(), 2u);
    EXPECT_EQ(sch->backends()[1].weight, 2);

    Servers neg({1, -1});
    EXPECT_EQ(Scheduler::build(GetParam(), 0, neg.specs, nullptr).status().code(), Errc::Invalid);

    Servers nul({1});
    nul.specs[0].counters = nullptr;
    EXPECT_EQ(Scheduler::build(GetParam(), 0, nul.specs, nullptr).status().code(), Errc::Invalid);

    const SchedKind other = GetParam() == SchedKind::Rr ? SchedKind::Wrr : SchedKind::Rr;
    EXPECT_EQ(Scheduler::build(GetParam(), 0, s.specs, make_shared_state(other)).status().code(),
              Errc::Invalid);
}

TEST(Scheduler, MhTableSizeMustBeAPrimeAboveTheServers) {
    Servers s({1, 1, 1});
    SchedOptions o;
    o.mh_table_size = 4095;
    EXPECT_EQ(Scheduler::build(SchedKind::Mh, 0, s.specs, make_shared_state(SchedKind::Mh, o))
                  .status()
                  .code(),
              Errc::Invalid);
    o.mh_table_size = 2;
    EXPECT_FALSE(
        Scheduler::build(SchedKind::Mh, 0, s.specs, make_shared_state(SchedKind::Mh, o)).is_ok());
    o.mh_table_size = 4093;
    EXPECT_TRUE(
        Scheduler::build(SchedKind::Mh, 0, s.specs, make_shared_state(SchedKind::Mh, o)).is_ok());
}

TEST(Scheduler, SharedCursorIsAloneOnItsCacheLine) {
    auto sh = make_shared_state(SchedKind::Rr);
    const auto addr = reinterpret_cast<uintptr_t>(&sh->cursor);
    EXPECT_EQ(addr % 64, 0u);
    EXPECT_GE(reinterpret_cast<uintptr_t>(&sh->locality), addr + 64);
}

TEST(RefreshOverload, UpperThresholdWithDefaultLower) {
    DestCounters c;
    auto set = [&](int32_t a, int32_t i) {
        c.active.store(a);
        c.inactive.store(i);
        refresh_overload(c, 10, 0);
        return c.overloaded.load();
    };
    EXPECT_EQ(set(5, 4), 0u);   // 9 < 10
    EXPECT_EQ(set(5, 5), 1u);   // 10 >= 10
    EXPECT_EQ(set(4, 4), 1u);   // 8 * 4 = 32 >= 30
    EXPECT_EQ(set(7, 0), 0u);   // 7 * 4 = 28 < 30
    EXPECT_EQ(set(0, 12), 1u);  // inactive counts too
    c.persistent.store(100);
    EXPECT_EQ(set(0, 0), 0u);  // templates do not count
}

TEST(RefreshOverload, ExplicitLowerThreshold) {
    DestCounters c;
    c.active.store(10);
    refresh_overload(c, 10, 5);
    EXPECT_EQ(c.overloaded.load(), 1u);
    c.active.store(5);
    refresh_overload(c, 10, 5);
    EXPECT_EQ(c.overloaded.load(), 1u);  // not below 5 yet
    c.active.store(4);
    refresh_overload(c, 10, 5);
    EXPECT_EQ(c.overloaded.load(), 0u);
}

TEST(RefreshOverload, NoThresholdsClears) {
    DestCounters c;
    c.overloaded.store(1);
    c.active.store(1000);
    refresh_overload(c, 0, 0);
    EXPECT_EQ(c.overloaded.load(), 0u);
    // Only a lower threshold: never sets, clears below it (IPVS's unbind rule).
    refresh_overload(c, 0, 5);
    EXPECT_EQ(c.overloaded.load(), 0u);
    c.overloaded.store(1);
    refresh_overload(c, 0, 5);
    EXPECT_EQ(c.overloaded.load(), 1u);
    c.active.store(2);
    refresh_overload(c, 0, 5);
    EXPECT_EQ(c.overloaded.load(), 0u);
}

TEST(RefreshOverload, OverloadedServerGetsNothingUntilCleared) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Rr);
    s.conns(0, 3, 0);
    refresh_overload(s.ctr(0), 3, 0);
    EXPECT_EQ(Servers::seq(*sch, 4), "BBBB");
    s.conns(0, 2, 0);  // 2 * 4 = 8 < 9: cleared
    refresh_overload(s.ctr(0), 3, 0);
    EXPECT_EQ(Servers::seq(*sch, 4), "ABAB");
}

TEST(Detail, HsiphashMatchesTheKernelSelfTest) {
    // lib/test_siphash.c, 64-bit: hsiphash_1u32(0x03020100) with key 00..0f == vector[4].
    EXPECT_EQ(detail::hsiphash_u32(0x03020100u, 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull),
              0x88d38328u);
}

TEST(Detail, Hash32IsTheKernels) {
    EXPECT_EQ(detail::hash_32(1, 8), 0x61u);
    EXPECT_EQ(detail::hash_32(0, 8), 0u);
    EXPECT_EQ(detail::hash_32(0xffffffffu, 32), static_cast<uint32_t>(-0x61C88647));
}

TEST(Detail, FastModEqualsModulo) {
    std::mt19937 rng(7);
    for (const uint32_t d : {1u, 2u, 251u, 4093u, 65536u, 65537u, 131071u, 0xfffffffbu}) {
        const detail::FastMod fm(d);
        for (int i = 0; i < 20000; ++i) {
            const uint32_t a = rng();
            ASSERT_EQ(fm(a), a % d) << a << " % " << d;
        }
        EXPECT_EQ(fm(0), 0u);
        EXPECT_EQ(fm(0xffffffffu), 0xffffffffu % d);
    }
}

}  // namespace
}  // namespace dirigo::sched
