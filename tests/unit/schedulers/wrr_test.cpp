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
    /// A service made by `-A` (no server: mw 0, cw 0), then `-a` for each server of `w`, oldest
    /// first: each goes to the list head (so `w` is newest-first) and calls dest_changed.
    explicit IpvsWrrModel(const std::vector<int32_t>& w) {
        for (size_t i = w.size(); i-- > 0;) {
            changed(std::vector<int32_t>(w.begin() + static_cast<ptrdiff_t>(i), w.end()));
        }
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
    // A list built at once counts as added one by one, oldest (the tail) first, as `-R` or a
    // config file does: the first add leaves cw = 1 and later adds keep it, so the first pass
    // is the cw = 1 one, from the head.
    Servers s({4, 3, 2});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 18), "ABCAABABCABCAABABC");
}

TEST_P(Wrr, GcdSteps) {
    Servers a({4, 2});
    EXPECT_EQ(Servers::seq(*a.build(SchedKind::Wrr, 0, state(GetParam())), 6), "ABAABA");
    Servers b({6, 4, 2});  // passes 5, 3, 1
    EXPECT_EQ(Servers::seq(*b.build(SchedKind::Wrr, 0, state(GetParam())), 6), "ABCAAB");
    Servers c({5, 5});
    EXPECT_EQ(Servers::seq(*c.build(SchedKind::Wrr, 0, state(GetParam())), 4), "ABAB");
}

TEST_P(Wrr, QuiescedServerNeverPicked) {
    Servers s({3, 0, 1});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 8), "ACAAACAA");
    Servers z({0, 0});
    EXPECT_EQ(Servers::seq(*z.build(SchedKind::Wrr, 0, state(GetParam())), 2), "--");
}

TEST_P(Wrr, OverloadedServerIsSkippedAndTheSequenceGoesOn) {
    Servers s({4, 3, 2});
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 2), "AB");  // pass cw = 1; next would be C
    s.overload(1, true);
    EXPECT_EQ(Servers::seq(*sch, 3), "CAA");  // pass 1: C; pass 4: A; pass 3: A (B skipped)
    s.overload(1, false);
    EXPECT_EQ(Servers::seq(*sch, 3), "BAB");  // pass 3 goes on after A: B; pass 2: A, B
}

TEST_P(Wrr, WeightChangeMidSequenceKeepsIpvsState) {
    Servers s({4, 3, 2});
    auto sh = state(GetParam());
    auto a = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 5), "ABCAA");  // last pick: A in pass cw = 3
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
    EXPECT_EQ(Servers::seq(*a, 4), "ABCA");  // passes 1 then 2: last pick A in pass cw = 2
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

TEST_P(Wrr, KernelExampleOfServersAddedOneByOne) {
    // ipvsadm -A -s wrr; -a rs1 -w 4; -a rs2 -w 3; -a rs3 -w 2 (A, B, C here). The kernel adds
    // each at the list head (rs3 rs2 rs1) and its ip_vs_wrr_dest_changed keeps cw across the
    // adds: 1 after rs1 alone (mw = 4 - 3), still 1 after the others. So the first pass is the
    // cw = 1 one, from the head, and 18 new connections go to 3 2 1 1 2 1 3 2 1 3 2 1 1 2 1 3 2 1.
    Servers s({});
    auto sh = state(GetParam());
    std::unique_ptr<Scheduler> sch = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*sch, 1), "-");  // -A alone: no server
    const std::array<int32_t, 3> weights{4, 3, 2};
    for (uint32_t id = 0; id < 3; ++id) {
        s.add_front(id, weights[id]);
        sch = s.build(SchedKind::Wrr, 0, sh);
    }
    EXPECT_EQ(Servers::seq(*sch, 18), "CBAABACBACBAABACBA");
}

TEST_P(Wrr, OneBuildOfTheListEqualsAddingOneByOne) {
    // The same three servers handed over in one build (a config file, an -R batch): the same
    // sequence as the kernel's one-by-one adds.
    Servers s({});
    s.add_front(0, 4);
    s.add_front(1, 3);
    s.add_front(2, 2);
    auto sch = s.build(SchedKind::Wrr, 0, state(GetParam()));
    EXPECT_EQ(Servers::seq(*sch, 18), "CBAABACBACBAABACBA");
}

TEST_P(Wrr, SeveralAddsInOneBuildReplayEachAdd) {
    // [A4] picked once (cw 1), then B2 and C6 added in one batch (C newest). The kernel: after
    // -a B2, mw = 3 and di = 2 keep cw = 1; after -a C6, mw = 5 keeps it. So the walk restarts
    // at the head in pass 1 (a single build from cw 1 to [C6 B2 A4] gives the same), then 5, 3.
    Servers s({});
    auto sh = state(GetParam());
    s.add_front(0, 4);
    auto a = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 1), "A");
    s.add_front(1, 2);
    s.add_front(2, 6);
    auto b = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 9), "CBACCACBA");
}

TEST_P(Wrr, AddsBetweenPicksFollowTheKernel) {
    Servers s({});
    auto sh = state(GetParam());
    s.add_front(0, 4);  // [A4]: di 4, mw 1, cw 1
    auto a = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*a, 2), "AA");
    s.add_front(1, 3);  // [B3 A4]: back to the head, cw stays 1: B A, then cw 4 ...
    auto b = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*b, 5), "BAABA");  // last pick: A in pass cw = 3
    s.add_front(2, 2);  // [C2 B3 A4], from the head with cw 3: B A, then cw 2: C B A ...
    auto c = s.build(SchedKind::Wrr, 0, sh);
    EXPECT_EQ(Servers::seq(*c, 11), "BACBACBAABA");
}

TEST_P(Wrr, MatchesTheIpvsModelUnderAddsAndRemovals) {
    std::mt19937 rng(GetParam() ? 21 : 22);
    auto sh = state(GetParam());
    Servers s({});
    IpvsWrrModel model({});
    std::unique_ptr<Scheduler> sch = s.build(SchedKind::Wrr, 0, sh);
    uint32_t next_id = 0;
    auto weights = [&] {
        std::vector<int32_t> w;
        for (const BackendSpec& b : s.specs) {
            w.push_back(b.weight);
        }
        return w;
    };
    for (int step = 0; step < 20000; ++step) {
        const uint32_t r = rng() % 100;
        if ((r < 3 || s.specs.empty()) && next_id < Servers::kCap) {
            s.add_front(next_id++, static_cast<int32_t>(rng() % 6));  // -a: at the head
            model.changed(weights());
            sch = s.build(SchedKind::Wrr, 0, sh);
        } else if (r < 5 && s.specs.size() > 1) {
            s.specs.erase(s.specs.begin() + static_cast<ptrdiff_t>(rng() % s.specs.size()));
            model.changed(weights());
            sch = s.build(SchedKind::Wrr, 0, sh);
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
    const std::string period = "ABCAABABC";
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
    EXPECT_EQ(Servers::seq(**r, 9), "ABCAABABC");
}

}  // namespace
}  // namespace dirigo::sched
