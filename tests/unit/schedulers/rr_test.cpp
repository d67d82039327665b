// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/rr.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

TEST(Rr, ExactSequence) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Rr);
    EXPECT_EQ(Servers::seq(*sch, 7), "ABCABCA");
}

TEST(Rr, WeightsOtherThanZeroDoNotMatter) {
    Servers s({5, 1, 9});
    auto sch = s.build(SchedKind::Rr);
    EXPECT_EQ(Servers::seq(*sch, 6), "ABCABC");
}

TEST(Rr, QuiescedServerIsSkipped) {
    Servers s({1, 0, 1});
    auto sch = s.build(SchedKind::Rr);
    EXPECT_EQ(Servers::seq(*sch, 4), "ACAC");
}

TEST(Rr, OverloadedServerIsSkippedAndThePositionMovesPastTheHit) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Rr);
    EXPECT_EQ(Servers::seq(*sch, 1), "A");
    s.overload(1, true);
    EXPECT_EQ(Servers::seq(*sch, 1), "C");
    s.overload(1, false);
    EXPECT_EQ(Servers::seq(*sch, 3), "ABC");
}

TEST(Rr, NoneAvailableKeepsThePosition) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Rr);
    EXPECT_EQ(Servers::seq(*sch, 1), "A");
    s.overload(0, true);
    s.overload(1, true);
    EXPECT_EQ(Servers::seq(*sch, 2), "--");
    s.overload(0, false);
    s.overload(1, false);
    EXPECT_EQ(Servers::seq(*sch, 2), "BA");
}

TEST(Rr, RebuildWithTheSameListKeepsThePosition) {
    Servers s({1, 1, 1});
    auto sh = make_shared_state(SchedKind::Rr);
    auto a = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 2), "AB");
    auto b = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 2), "CA");
    s.specs[2].weight = 7;  // a weight edit moves nothing for rr
    auto c = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*c, 2), "BC");
}

TEST(Rr, RemovingTheLastPickedMovesToItsPredecessor) {
    Servers s({1, 1, 1, 1});
    auto sh = make_shared_state(SchedKind::Rr);
    auto a = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 2), "AB");
    s.specs.erase(s.specs.begin() + 1);  // remove B: ip_vs_rr_del_dest moves the mark to A
    auto b = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 4), "CDAC");
}

TEST(Rr, RemovingTheFirstWhenLastPickedGoesToTheHead) {
    Servers s({1, 1, 1});
    auto sh = make_shared_state(SchedKind::Rr);
    auto a = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 1), "A");
    s.specs.erase(s.specs.begin());
    auto b = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 3), "BCB");
}

TEST(Rr, AddingAServerKeepsThePosition) {
    Servers s({1, 1, 1});
    auto sh = make_shared_state(SchedKind::Rr);
    auto a = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 2), "AB");
    s.add(3, 1);                                      // D at the tail
    s.specs.insert(s.specs.begin(), s.specs.back());  // and a copy of D in front
    s.specs.pop_back();
    auto b = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 5), "CDABC");
}

TEST(Rr, ServersAddedOneByOneGoNewestFirst) {
    // ipvsadm -A -s rr; -a rs1; -a rs2; -a rs3: the kernel's list is rs3 rs2 rs1 and its
    // position starts at the list head, so the newest server answers first.
    Servers s({});
    auto sh = make_shared_state(SchedKind::Rr);
    std::unique_ptr<Scheduler> sch = s.build(SchedKind::Rr, 0, sh);
    for (uint32_t id = 0; id < 3; ++id) {
        s.add_front(id, 1);
        sch = s.build(SchedKind::Rr, 0, sh);
    }
    EXPECT_EQ(Servers::seq(*sch, 7), "CBACBAC");
}

TEST(Rr, AddsBetweenPicksKeepThePositionPointer) {
    // The kernel's rr has no add_dest hook: its pointer stays on the last server picked, and
    // a server added at the head is reached when the walk wraps around.
    Servers s({});
    auto sh = make_shared_state(SchedKind::Rr);
    s.add_front(0, 1);  // [A]
    auto a = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 1), "A");
    s.add_front(1, 1);  // [B A], pointer on A: wraps to B
    auto b = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 1), "B");
    s.add_front(2, 1);  // [C B A], pointer on B: A next, then round from C
    auto c = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*c, 4), "ACBA");
    s.add_front(3, 1);  // [D C B A], pointer on A (the tail): D next
    auto d = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*d, 5), "DCBAD");
}

TEST(Rr, RemovingTheNewestWhenLastPickedGoesToTheHead) {
    Servers s({});
    auto sh = make_shared_state(SchedKind::Rr);
    s.add_front(0, 1);
    s.add_front(1, 1);
    s.add_front(2, 1);  // [C B A]
    auto a = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 1), "C");
    s.remove(2);  // ip_vs_rr_del_dest: the mark moves to C's predecessor, the list head
    auto b = s.build(SchedKind::Rr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 3), "BAB");
}

TEST(Rr, TwoThreadsTakingTurnsSeeOneGlobalSequence) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Rr);
    constexpr int kPicks = 3000;
    std::array<char, kPicks> got{};
    std::atomic<int> turn{0};
    auto run = [&](int me) {
        for (int i = me; i < kPicks; i += 2) {
            while (turn.load(std::memory_order_acquire) != i) {
                std::this_thread::yield();
            }
            got[static_cast<size_t>(i)] = Servers::name(*sch, sch->pick({}));
            turn.store(i + 1, std::memory_order_release);
        }
    };
    std::thread t0(run, 0);
    std::thread t1(run, 1);
    t0.join();
    t1.join();
    for (int i = 0; i < kPicks; ++i) {
        ASSERT_EQ(got[static_cast<size_t>(i)], "ABC"[i % 3]) << "pick " << i;
    }
}

TEST(Rr, TwoConcurrentThreadsShareTheCountsExactly) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Rr);
    constexpr int kPerThread = 150000;
    std::array<std::array<int, 3>, 2> count{};
    auto run = [&](int me) {
        for (int i = 0; i < kPerThread; ++i) {
            ++count[static_cast<size_t>(me)][sch->pick({})];
        }
    };
    std::thread t0(run, 0);
    std::thread t1(run, 1);
    t0.join();
    t1.join();
    for (size_t b = 0; b < 3; ++b) {
        EXPECT_EQ(count[0][b] + count[1][b], 2 * kPerThread / 3) << "server " << b;
    }
}

}  // namespace
}  // namespace dirigo::sched
