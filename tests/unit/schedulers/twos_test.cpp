// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/twos.hpp"

#include <gtest/gtest.h>

#include <array>
#include <thread>
#include <vector>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

/// The server view a Scheduler for `s` would scan (what detail::Dests holds).
struct View {
    explicit View(Servers& s) {
        for (const BackendSpec& b : s.specs) {
            refs.push_back({b.counters, b.weight, 0, 0});
        }
    }
    detail::Dests dests() const { return {refs.data(), static_cast<uint32_t>(refs.size())}; }
    std::vector<detail::DestRef> refs;
};

TEST(Twos, DrawsWalkTheListAsTheKernelDoes) {
    // Weights 2, 3, 1: total 6, draws in [0, 6]. The walk subtracts each weight and stops at
    // <= 0: 0..2 -> A (A also takes 0), 3..5 -> B, 6 -> C. Idle servers: the first draw wins.
    Servers s({2, 3, 1});
    View v(s);
    const std::array<char, 7> want{'A', 'A', 'A', 'B', 'B', 'B', 'C'};
    for (uint64_t r = 0; r <= 6; ++r) {
        const BackendIdx b = TwosChoice::choose(v.dests(), r, r);
        ASSERT_NE(b, kNoBackend);
        EXPECT_EQ(static_cast<char>('A' + b), want[r]) << r;
    }
}

TEST(Twos, TheLessLoadedOfTheTwoWinsByOverheadOverWeight) {
    Servers s({2, 3, 1});
    s.conns(0, 1, 0);  // A: 256 / 2 = 128
    s.conns(1, 1, 0);  // B: 256 / 3 = 85.3
    s.conns(2, 0, 0);  // C: 0
    View v(s);
    EXPECT_EQ(TwosChoice::choose(v.dests(), 0, 3), 1);  // A vs B: B
    EXPECT_EQ(TwosChoice::choose(v.dests(), 3, 0), 1);  // B vs A: B
    EXPECT_EQ(TwosChoice::choose(v.dests(), 3, 6), 2);  // B vs C: C
    // Equal overhead / weight: the first draw keeps it (the kernel replaces only on "<").
    s.conns(0, 0, 2);  // A: 2 / 2 = 1
    s.conns(2, 0, 1);  // C: 1 / 1 = 1
    EXPECT_EQ(TwosChoice::choose(v.dests(), 6, 0), 2);
    EXPECT_EQ(TwosChoice::choose(v.dests(), 0, 6), 0);
}

TEST(Twos, UnavailableServersAreLeftOutOfTheDraws) {
    Servers s({2, 3, 1});
    s.overload(1, true);  // B: the walk skips it; total 3, A takes 0..2, C takes 3
    View v(s);
    EXPECT_EQ(TwosChoice::choose(v.dests(), 2, 2), 0);
    EXPECT_EQ(TwosChoice::choose(v.dests(), 3, 3), 2);
    s.overload(0, true);
    s.overload(2, true);
    EXPECT_EQ(TwosChoice::choose(v.dests(), 0, 0), kNoBackend);
    Servers z({0, 0});
    EXPECT_EQ(Servers::seq(*z.build(SchedKind::Twos), 3), "---");
}

TEST(Twos, IdleServersAreDrawnByWeight) {
    // All idle: the first draw always stands, so shares follow the draw: (w + 1) / 7 for the
    // first server (the kernel's draw includes 0), w / 7 for the others.
    Servers s({1, 2, 3});
    auto sch = s.build(SchedKind::Twos);
    std::array<int, 3> count{};
    constexpr int kPicks = 140000;
    for (int i = 0; i < kPicks; ++i) {
        const BackendIdx b = sch->pick({});
        ASSERT_LT(b, 3);
        ++count[b];
    }
    const std::array<double, 3> want{2.0 / 7, 2.0 / 7, 3.0 / 7};
    for (size_t b = 0; b < 3; ++b) {
        EXPECT_NEAR(static_cast<double>(count[b]) / kPicks, want[b], 0.01) << "server " << b;
    }
}

TEST(Twos, ABusyServerIsPickedOnlyWhenBothDrawsLandOnIt) {
    // Four servers of weight 1: draws in [0, 4]; B is drawn with 1/5. B is far busier than the
    // rest, so it wins only when both draws are B: 1/25.
    Servers s({1, 1, 1, 1});
    s.conns(1, 100, 0);
    auto sch = s.build(SchedKind::Twos);
    int busy = 0;
    constexpr int kPicks = 100000;
    for (int i = 0; i < kPicks; ++i) {
        busy += sch->pick({}) == 1 ? 1 : 0;
    }
    EXPECT_NEAR(static_cast<double>(busy) / kPicks, 1.0 / 25, 0.005);
}

TEST(Twos, BelowStaysInRange) {
    EXPECT_EQ(TwosChoice::below(0, 7), 0u);
    EXPECT_EQ(TwosChoice::below(~uint64_t{0}, 7), 6u);
    EXPECT_EQ(TwosChoice::below(~uint64_t{0}, 1), 0u);
    EXPECT_EQ(TwosChoice::below(uint64_t{1} << 63, 2), 1u);
}

TEST(Twos, ThreadsHaveTheirOwnRandomStreams) {
    std::array<uint64_t, 2> first{};
    auto run = [&](size_t me) { first[me] = TwosChoice::random_u64(); };
    std::thread t0(run, 0);
    std::thread t1(run, 1);
    t0.join();
    t1.join();
    EXPECT_NE(first[0], first[1]);
}

TEST(Twos, ConcurrentPicksStayValid) {
    Servers s({1, 2, 3, 4});
    s.overload(3, true);
    auto sch = s.build(SchedKind::Twos);
    std::array<int, 2> bad{};
    auto run = [&](size_t me) {
        for (int i = 0; i < 50000; ++i) {
            const BackendIdx b = sch->pick({});
            bad[me] += (b >= 3) ? 1 : 0;
        }
    };
    std::thread t0(run, 0);
    std::thread t1(run, 1);
    t0.join();
    t1.join();
    EXPECT_EQ(bad[0] + bad[1], 0);
}

}  // namespace
}  // namespace dirigo::sched
