// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/sed.hpp"

#include <gtest/gtest.h>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Sed, ExpectedDelayIsActivePlusOneOverWeight) {
    Servers s({1, 3});
    auto sch = s.build(SchedKind::Sed);
    s.conns(0, 0, 0);  // 1 / 1
    s.conns(1, 1, 0);  // 2 / 3
    EXPECT_EQ(sch->pick({}), 1);
    s.conns(1, 2, 0);  // 3 / 3: tie, first wins
    EXPECT_EQ(sch->pick({}), 0);
}

TEST(Sed, InactiveConnectionsDoNotCount) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Sed);
    s.conns(0, 1, 0);
    s.conns(1, 0, 1000);
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Sed, SkipsQuiescedAndOverloaded) {
    Servers s({0, 1, 1});
    auto sch = s.build(SchedKind::Sed);
    s.conns(2, 5, 0);
    s.overload(1, true);
    EXPECT_EQ(sch->pick({}), 2);
}

}  // namespace
}  // namespace dirigo::sched
