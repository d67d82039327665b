// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/lc.hpp"

#include <gtest/gtest.h>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Lc, LowestOverheadWins) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Lc);
    s.conns(0, 0, 5);
    s.conns(1, 0, 3);
    s.conns(2, 0, 4);
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Lc, ActiveCountsFor256Inactive) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Lc);
    s.conns(0, 1, 0);    // 256
    s.conns(1, 0, 256);  // 256: tie, first wins
    EXPECT_EQ(sch->pick({}), 0);
    s.conns(1, 0, 255);
    EXPECT_EQ(sch->pick({}), 1);
    s.conns(1, 0, 257);
    EXPECT_EQ(sch->pick({}), 0);
}

TEST(Lc, TiesGoToTheFirstInListOrder) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Lc);
    s.conns(0, 2, 0);
    s.conns(1, 1, 0);
    s.conns(2, 1, 0);
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Lc, WeightOnlyMattersWhenZero) {
    Servers s({1, 100, 0});
    auto sch = s.build(SchedKind::Lc);
    s.conns(0, 1, 0);
    s.conns(1, 2, 0);
    EXPECT_EQ(sch->pick({}), 0);  // weight 100 does not help B; C is quiesced
}

TEST(Lc, SkipsOverloaded) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Lc);
    s.conns(1, 5, 0);
    s.overload(0, true);
    EXPECT_EQ(sch->pick({}), 1);
}

}  // namespace
}  // namespace dirigo::sched
