// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/ovf.hpp"

#include <gtest/gtest.h>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Ovf, HighestWeightUntilActiveExceedsTheWeight) {
    Servers s({3, 5});
    auto sch = s.build(SchedKind::Ovf);
    s.conns(1, 5, 100);  // active == weight: still taken (the kernel skips active > weight)
    EXPECT_EQ(sch->pick({}), 1);
    s.conns(1, 6, 0);
    EXPECT_EQ(sch->pick({}), 0);
    s.conns(0, 4, 0);
    EXPECT_EQ(sch->pick({}), kNoBackend);
}

TEST(Ovf, FirstAmongEqualWeights) {
    Servers s({2, 4, 4});
    auto sch = s.build(SchedKind::Ovf);
    EXPECT_EQ(sch->pick({}), 1);
    s.conns(1, 5, 0);
    EXPECT_EQ(sch->pick({}), 2);
}

TEST(Ovf, SkipsQuiescedAndOverloaded) {
    Servers s({0, 4, 1});
    auto sch = s.build(SchedKind::Ovf);
    s.overload(1, true);
    EXPECT_EQ(sch->pick({}), 2);
}

}  // namespace
}  // namespace dirigo::sched
