// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/fo.hpp"

#include <gtest/gtest.h>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Fo, HighestWeightFirstAmongEquals) {
    Servers s({3, 5, 5, 1});
    auto sch = s.build(SchedKind::Fo);
    EXPECT_EQ(sch->pick({}), 1);
    s.conns(1, 1000, 1000);  // load does not matter
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Fo, FailsOverWhenOverloaded) {
    Servers s({3, 5, 5, 1});
    auto sch = s.build(SchedKind::Fo);
    s.overload(1, true);
    EXPECT_EQ(sch->pick({}), 2);
    s.overload(2, true);
    EXPECT_EQ(sch->pick({}), 0);
}

}  // namespace
}  // namespace dirigo::sched
