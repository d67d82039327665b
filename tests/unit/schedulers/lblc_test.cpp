// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/lblc.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;
using test::to;

constexpr uint32_t kD1 = 0xc0a80a01;
constexpr uint32_t kD2 = 0xc0a80a02;

std::shared_ptr<SchedShared> lblc_state(uint64_t expire_ms = 24ull * 3600 * 1000) {
    SchedOptions o;
    o.locality_expire_ms = expire_ms;
    return make_shared_state(SchedKind::Lblc, o);
}

TEST(Lblc, DestinationStaysOnItsServer) {
    Servers s({1, 1, 1});
    auto sch = s.build(SchedKind::Lblc, 0, lblc_state());
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 0))), 'A');  // wlc: all idle, first
    s.conns(0, 0, 100);                                          // wlc would now prefer B
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 10))), 'A');
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD2, 10))), 'B');
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 20))), 'A');
}

TEST(Lblc, OverloadRuleNeedsAHalfLoadedServerElsewhere) {
    Servers s({2, 2});
    auto sch = s.build(SchedKind::Lblc, 0, lblc_state());
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'A');
    s.conns(0, 3, 0);  // active > weight ...
    s.conns(1, 1, 0);  // ... but nobody has active * 2 < weight: stay
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'A');
    s.conns(1, 0, 0);  // B at 0 * 2 < 2: A counts as overloaded, wlc picks B
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'B');
    s.conns(0, 0, 0);  // the entry now names B
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'B');
}

TEST(Lblc, UnavailableCachedServerIsReplaced) {
    Servers s({1, 1, 1});
    auto sh = lblc_state();
    auto sch = s.build(SchedKind::Lblc, 0, sh);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'A');
    s.overload(0, true);  // flagged: never used for new flows
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'B');
    s.overload(0, false);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1))), 'B');
    s.specs[1].weight = 0;  // quiesced
    auto again = s.build(SchedKind::Lblc, 0, sh);
    EXPECT_EQ(Servers::name(*again, again->pick(to(kD1))), 'A');
}

TEST(Lblc, EntriesExpireAfterTheConfiguredTime) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Lblc, 0, lblc_state(1000));
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 0))), 'A');
    s.conns(0, 0, 10);                                              // wlc prefers B from now on
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 999))), 'A');   // used at 999
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 1998))), 'A');  // 1998 < 999 + 1000
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 2998))), 'B');  // expired at 1998 + 1000
}

TEST(Lblc, DefaultExpiryIsADay) {
    Servers s({1, 1});
    auto sch = s.build(SchedKind::Lblc);
    const uint64_t day = 24ull * 3600 * 1000;
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 5))), 'A');
    s.conns(0, 0, 10);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, day + 4))), 'A');
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD1, 2 * day + 4))), 'B');
}

TEST(Lblc, TableSurvivesRebuildsAndListChanges) {
    Servers s({1, 1, 1});
    auto sh = lblc_state();
    auto a = s.build(SchedKind::Lblc, 0, sh);
    EXPECT_EQ(Servers::name(*a, a->pick(to(kD1))), 'A');
    std::swap(s.specs[0], s.specs[1]);  // list B, A, C: wlc alone would say B
    auto b = s.build(SchedKind::Lblc, 0, sh);
    EXPECT_EQ(Servers::name(*b, b->pick(to(kD1))), 'A');
    auto fresh = s.build(SchedKind::Lblc, 0, lblc_state());
    EXPECT_EQ(Servers::name(*fresh, fresh->pick(to(kD1))), 'B');
    // A leaves: the entry reads as unavailable and is replaced.
    s.specs.erase(s.specs.begin() + 1);
    auto c = s.build(SchedKind::Lblc, 0, sh);
    EXPECT_EQ(Servers::name(*c, c->pick(to(kD1))), 'B');
    // A comes back: the entry now names B and stays.
    s.add(0, 1);
    auto d = s.build(SchedKind::Lblc, 0, sh);
    EXPECT_EQ(Servers::name(*d, d->pick(to(kD1))), 'B');
}

TEST(Lblc, TwoWorkersShareTheTable) {
    Servers s({1, 1, 1, 1});
    auto sch = s.build(SchedKind::Lblc, 0, lblc_state());
    constexpr uint32_t kDests = 512;
    std::vector<BackendIdx> first(kDests, kNoBackend);
    auto run = [&](uint32_t salt) {
        for (int round = 0; round < 50; ++round) {
            for (uint32_t d = 0; d < kDests; ++d) {
                const BackendIdx b = sch->pick(to(0xc0000000u + ((d + salt) % kDests), 1));
                ASSERT_NE(b, kNoBackend);
            }
        }
    };
    std::thread t0(run, 0);
    std::thread t1(run, 7);
    t0.join();
    t1.join();
    // Settled: each destination has one server, whichever worker asks.
    for (uint32_t d = 0; d < kDests; ++d) {
        first[d] = sch->pick(to(0xc0000000u + d, 2));
    }
    std::thread t2([&] {
        for (uint32_t d = 0; d < kDests; ++d) {
            EXPECT_EQ(sch->pick(to(0xc0000000u + d, 3)), first[d]);
        }
    });
    t2.join();
}

}  // namespace
}  // namespace dirigo::sched
