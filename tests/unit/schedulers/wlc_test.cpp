// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/wlc.hpp"

#include <gtest/gtest.h>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Wlc, OverheadPerWeight) {
    Servers s({1, 2});
    auto sch = s.build(SchedKind::Wlc);
    s.conns(0, 1, 0);  // 256 / 1
    s.conns(1, 2, 0);  // 512 / 2: tie, first wins
    EXPECT_EQ(sch->pick({}), 0);
    s.conns(1, 1, 255);  // 511 / 2
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Wlc, AllIdleGivesTheFirstAvailable) {
    Servers s({0, 3, 5});
    auto sch = s.build(SchedKind::Wlc);
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Wlc, FirstAvailableIsTheBaselineThenStrictlyBetterWins) {
    Servers s({1, 3, 3});
    auto sch = s.build(SchedKind::Wlc);
    s.conns(0, 1, 0);  // 256
    s.conns(1, 3, 0);  // 768 / 3 = 256: not strictly better
    s.conns(2, 2, 0);  // 512 / 3 < 256
    EXPECT_EQ(sch->pick({}), 2);
}

TEST(Wlc, SkipsQuiescedAndOverloaded) {
    Servers s({2, 0, 1, 1});
    auto sch = s.build(SchedKind::Wlc);
    s.conns(0, 10, 0);
    s.conns(2, 0, 0);
    s.overload(2, true);
    s.conns(3, 3, 0);
    EXPECT_EQ(sch->pick({}), 3);
}

TEST(Wlc, BalancesGrowingCountsByWeight) {
    Servers s({1, 2, 3});
    auto sch = s.build(SchedKind::Wlc);
    for (int i = 0; i < 600; ++i) {
        const BackendIdx b = sch->pick({});
        ASSERT_NE(b, kNoBackend);
        s.ctr(b).active.fetch_add(1);
    }
    EXPECT_NEAR(s.ctr(0).active.load(), 100, 1);
    EXPECT_NEAR(s.ctr(1).active.load(), 200, 1);
    EXPECT_NEAR(s.ctr(2).active.load(), 300, 1);
}

}  // namespace
}  // namespace dirigo::sched
