// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/wrr.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <numeric>
#include <random>
#include <thread>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;

std::shared_ptr<SchedShared> state(bool direct) {
    SchedOptions o;
    o.wrr_max_table = direct ? 1 : 65536;
    return make_shared_state(SchedKind::Wrr, o);
}

/// A straight model of ip_vs_wrr.c's state machine (mark->cl, cw, mw, di), written for the test.
/// Differs from the kernel only when no server is available: it leaves the state alone.
class IpvsWrrModel {
public:
    explicit IpvsWrrModel(std::vector<int32_t> w) : w_(std::move(w)), over_(w_.size(), false) {
        recompute();
        cw_ = mw_;
    }

    /// ip_vs_wrr_dest_changed with the new weights (and list).
    void changed(std::vector<int32_t> w) {
        w_ = std::move(w);
        over_.assign(w_.size(), false);
        cl_ = -1;
        recompute();
        if (cw_ > mw_ || cw_ == 0) {
            cw_ = mw_;
        } else if (di_ > 1) {
            cw_ = (cw_ / di_) * di_ + 1;
        }
    }

    void overload(size_t i, bool on) { over_[i] = on; }

    int pick() {
        const int n = static_cast<int>(w_.size());
        bool any = false;
        for (int i = 0; i < n; ++i) {
            any = any || (w_[static_cast<size_t>(i)] > 0 && !over_[static_cast<size_t>(i)]);
        }
        if (mw_ == 0 || !any) {
            return -1;
        }
        int j = cl_;
        for (;;) {
            if (++j == n) {
                j = -1;
                cw_ -= di_;
                if (cw_ <= 0) {
                    cw_ = mw_;
                }
                continue;
            }
            if (!over_[static_cast<size_t>(j)] && w_[static_cast<size_t>(j)] >= cw_) {
                cl_ = j;
                return j;
            }
        }
    }

private:
    void recompute() {
        int32_t g = 0;
        int32_t maxw = 0;
        for (const int32_t x : w_) {
            if (x > 0) {
                g = g > 0 ? std::gcd(g, x) : x;
            }
            maxw = std::max(maxw, x);
        }
        di_ = g > 0 ? g : 1;
        mw_ = maxw - (di_ - 1);
    }

    std::vector<int32_t> w_;
    std::vector<bool> over_;
    int cl_ = -1;
    int32_t cw_ = 0;
    int32_t mw_ = 0;
    int32_t di_ = 1;
};

class Wrr : public ::testing::TestWithParam<bool> {};  // param: direct mode

INSTANTIATE_TEST_SUITE_P(Modes, Wrr, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "direct" : "table"; });

TEST_P(Wrr, IpvsSequenceFor432) {
    Servers s({4, 3, 2});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 18), "AABABCABCAABABCABC");
}

TEST_P(Wrr, GcdSteps) {
    Servers a({4, 2});
    EXPECT_EQ(Servers::seq(*a.build(SchedKind::Wrr, 0, state(GetParam())), 6), "AABAAB");
    Servers b({6, 4, 2});  // same as 3, 2, 1
    EXPECT_EQ(Servers::seq(*b.build(SchedKind::Wrr, 0, state(GetParam())), 6), "AABABC");
    Servers c({5, 5});
    EXPECT_EQ(Servers::seq(*c.build(SchedKind::Wrr, 0, state(GetParam())), 4), "ABAB");
}

TEST_P(Wrr, QuiescedServerNeverPicked) {
    Servers s({3, 0, 1});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 8), "AAACAAAC");
    Servers z({0, 0});
    EXPECT_EQ(Servers::seq(*z.build(SchedKind::Wrr, 0, state(GetParam())), 2), "--");
}

TEST_P(Wrr, OverloadedServerIsSkippedAndTheSequenceGoesOn) {
    Servers s({4, 3, 2});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 2), "AA");  // next would be B (cw 3)
    s.overload(1, true);
    EXPECT_EQ(Servers::seq(*sch, 3), "ACA");  // pass 3: -; pass 2: A, C; pass 1: A
    s.overload(1, false);
    EXPECT_EQ(Servers::seq(*sch, 3), "BCA");
}

TEST_P(Wrr, WeightChangeMidSequenceKeepsIpvsState) {
    Servers s({4, 3, 2});
    auto sh = state(GetParam());
    auto a = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 3), "AAB");  // last pick: B in pass cw = 3
    // Weights become 1, 3, 2: IPVS restarts at the list head keeping cw = 3.
    s.specs[0].weight = 1;
    auto b = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 12), "BBCABCBBCABC");
    // Rebuilding without a change does not move anything.
    auto c = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*c, 3), "BBC");
    // cw above the new maximum: back to mw.
    s.specs[0].weight = 1;
    s.specs[1].weight = 1;
    s.specs[2].weight = 1;
    auto d = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*d, 4), "ABCA");
}

TEST_P(Wrr, WeightToZeroMidSequence) {
    Servers s({2, 2, 1});
    auto sh = state(GetParam());
    auto a = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 2), "AB");  // pass cw = 2
    s.specs[1].weight = 0;
    auto b = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 6), "AACAAC");
}

TEST_P(Wrr, MatchesTheIpvsModelUnderRandomChanges) {
    std::mt19937 rng(GetParam() ? 11 : 12);
    auto sh = state(GetParam());
    auto weights = [&](size_t n) {
        std::vector<int32_t> w(n);
        for (auto& x : w) {
            x = static_cast<int32_t>(rng() % 7);
        }
        w[rng() % n] = 1 + static_cast<int32_t>(rng() % 6);  // at least one available
        return w;
    };
    std::vector<int32_t> w = weights(4);
    Servers s(w);
    IpvsWrrModel model(w);
    auto sch = s.build(SchedKind::Wrr, 0, sh);
    std::vector<bool> over(4, false);
    for (int step = 0; step < 20000; ++step) {
        const uint32_t r = rng() % 100;
        if (r < 2) {
            std::vector<int32_t> nw = weights(s.specs.size());
            bool same = true;
            for (size_t i = 0; i < nw.size(); ++i) {
                same = same && nw[i] == s.specs[i].weight;
                s.specs[i].weight = nw[i];
                s.overload(static_cast<uint32_t>(s.specs[i].addr - test::kBase), false);
            }
            over.assign(nw.size(), false);
            if (!same) {
                model.changed(nw);
            } else {
                for (size_t i = 0; i < nw.size(); ++i) {
                    model.overload(i, false);
                }
            }
            sch = s.build(SchedKind::Wrr, 0, sh);
        } else if (r < 5) {
            const size_t i = rng() % over.size();
            over[i] = !over[i];
            bool any = false;
            for (size_t k = 0; k < over.size(); ++k) {
                any = any || (s.specs[k].weight > 0 && !over[k]);
            }
            if (!any) {
                over[i] = !over[i];
                continue;
            }
            s.overload(static_cast<uint32_t>(s.specs[i].addr - test::kBase), over[i]);
            model.overload(i, over[i]);
        }
        const BackendIdx got = sch->pick({});
        const int want = model.pick();
        ASSERT_EQ(got == kNoBackend ? -1 : int{got}, want) << "step " << step;
    }
}

TEST_P(Wrr, MillionPicksFollowTheWeights) {
    Servers s({1, 2, 3});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    std::array<int, 3> count{};
    constexpr int kPicks = 1000000;
    for (int i = 0; i < kPicks; ++i) {
        ++count[sch->pick({})];
    }
    for (size_t b = 0; b < 3; ++b) {
        const double share = static_cast<double>(count[b]) / kPicks;
        EXPECT_NEAR(share, static_cast<double>(b + 1) / 6, 0.01) << "server " << b;
    }
}

TEST_P(Wrr, TwoThreadsTakingTurnsSeeOneGlobalSequence) {
    Servers s({4, 3, 2});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    constexpr int kPicks = 1800;
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
    const std::string period = "AABABCABC";
    for (int i = 0; i < kPicks; ++i) {
        ASSERT_EQ(got[static_cast<size_t>(i)], period[static_cast<size_t>(i) % 9]) << i;
    }
}

TEST_P(Wrr, TwoConcurrentThreadsKeepTheExactRatio) {
    Servers s({4, 3, 2});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    constexpr int kPerThread = 90000;
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
    const int periods = 2 * kPerThread / 9;
    EXPECT_EQ(count[0][0] + count[1][0], 4 * periods);
    EXPECT_EQ(count[0][1] + count[1][1], 3 * periods);
    EXPECT_EQ(count[0][2] + count[1][2], 2 * periods);
}

TEST(WrrTable, UnrolledSequenceIsOnePeriod) {
    Servers s({4, 3, 2});
    auto r = Scheduler::build(SchedKind::Wrr, 0, s.specs, nullptr);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(Servers::seq(**r, 9), "AABABCABC");
}

}  // namespace
}  // namespace dirigo::sched
