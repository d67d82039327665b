// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/nq.hpp"

#include <gtest/gtest.h>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Nq, FirstIdleServerWins) {
    Servers s({10, 1, 1});
    auto sch = s.build(SchedKind::Nq);
    s.conns(0, 1, 0);   // (1 + 1) / 10 would win under sed
    s.conns(1, 0, 50);  // idle: no active connection (inactive does not count)
    EXPECT_EQ(sch->pick({}), 1);
}

TEST(Nq, WithoutAnIdleServerBehavesAsSed) {
    Servers s({1, 3, 3});
    auto sch = s.build(SchedKind::Nq);
    s.conns(0, 1, 0);  // 2 / 1
    s.conns(1, 5, 0);  // 6 / 3
    s.conns(2, 4, 0);  // 5 / 3
    EXPECT_EQ(sch->pick({}), 2);
    s.conns(2, 5, 0);  // tie between all three: first wins
    EXPECT_EQ(sch->pick({}), 0);
}

TEST(Nq, IdleButUnavailableServersAreSkipped) {
    Servers s({0, 1, 1});
    auto sch = s.build(SchedKind::Nq);
    s.overload(1, true);
    s.conns(2, 3, 0);
    EXPECT_EQ(sch->pick({}), 2);
}

}  // namespace
}  // namespace dirigo::sched
