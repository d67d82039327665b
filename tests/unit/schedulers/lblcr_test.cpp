// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/lblcr.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "schedulers/shared.hpp"
#include "tests/unit/schedulers/sched_test_util.hpp"

namespace dirigo::sched {
namespace {

using test::Servers;
using test::to;

constexpr uint32_t kD = 0xc0a81401;

std::shared_ptr<SchedShared> lblcr_state(uint64_t expire_ms = 24ull * 3600 * 1000) {
    SchedOptions o;
    o.locality_expire_ms = expire_ms;
    return make_shared_state(SchedKind::Lblcr, o);
}

/// The server letters of kD's set, newest first.
std::string members(const SchedShared& sh, const Servers& s, uint64_t now) {
    LocEntry e;
    if (!sh.locality->find(kD, sh.ctl.epoch, now, sh.opts.locality_expire_ms, e)) {
        return "?";
    }
    std::string out;
    for (uint32_t i = 0; i < e.n; ++i) {
        out += static_cast<char>('A' + (sh.ctl.id_keys[e.m[i]] >> 16) - test::kBase);
    }
    (void)s;
    return out;
}

TEST(Lblcr, SetGrowsWhenItsBestMemberIsOverloaded) {
    Servers s({2, 2, 2});
    auto sh = lblcr_state();
    auto sch = s.build(SchedKind::Lblcr, 0, sh);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD))), 'A');
    EXPECT_EQ(members(*sh, s, 0), "A");
    s.conns(0, 3, 0);  // A: active > weight while B has 0 * 2 < 2
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD))), 'B');
    EXPECT_EQ(members(*sh, s, 0), "BA");
    // Within the set, weighted least connection: A recovers and has fewer connections.
    s.conns(0, 0, 0);
    s.conns(1, 1, 0);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD))), 'A');
    EXPECT_EQ(members(*sh, s, 0), "BA");
    // C is idle but not in the set: not considered while a member is fine.
    s.conns(0, 1, 0);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD))), 'B');
}

TEST(Lblcr, SetDropsItsMostLoadedMemberAfterTheExpiry) {
    Servers s({2, 2, 2});
    auto sh = lblcr_state(1000);
    auto sch = s.build(SchedKind::Lblcr, 0, sh);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 0))), 'A');
    s.conns(0, 3, 0);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 100))), 'B');  // set changed at 100
    s.conns(0, 0, 0);
    s.conns(1, 2, 0);  // B now the most loaded member
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 600))), 'A');
    EXPECT_EQ(members(*sh, s, 600), "BA");
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 1100))), 'A');  // not after 100 + 1000 yet
    EXPECT_EQ(members(*sh, s, 1100), "BA");
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 1101))), 'A');
    EXPECT_EQ(members(*sh, s, 1101), "A");
    // A single member is never dropped, however old the set.
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 2000))), 'A');
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 2200))), 'A');  // 2200 > 1101 + 1000
    EXPECT_EQ(members(*sh, s, 2200), "A");
}

TEST(Lblcr, UnusedEntryExpires) {
    Servers s({1, 1});
    auto sh = lblcr_state(1000);
    auto sch = s.build(SchedKind::Lblcr, 0, sh);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 0))), 'A');
    s.conns(0, 0, 5);
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 999))), 'A');
    EXPECT_EQ(Servers::name(*sch, sch->pick(to(kD, 1999))), 'B');
    EXPECT_EQ(members(*sh, s, 1999), "B");
}

TEST(Lblcr, SetHoldsAtMostSixteenMembers) {
    std::vector<int32_t> w(20, 2);
    Servers s(w);
    auto sh = lblcr_state();
    auto sch = s.build(SchedKind::Lblcr, 0, sh);
    for (int round = 0; round < 20; ++round) {
        const BackendIdx b = sch->pick(to(kD));
        ASSERT_NE(b, kNoBackend);
        s.conns(static_cast<uint32_t>(s.specs[b].addr - test::kBase), 3, 0);
    }
    EXPECT_EQ(members(*sh, s, 0).size(), LocSlot::kSetMax);
    EXPECT_EQ(members(*sh, s, 0).substr(0, 3), "TSR");  // newest first
}

TEST(Lblcr, MembersThatLeftAreIgnoredAndPurged) {
    Servers s({2, 2, 2});
    auto sh = lblcr_state();
    auto a = s.build(SchedKind::Lblcr, 0, sh);
    EXPECT_EQ(Servers::name(*a, a->pick(to(kD))), 'A');
    s.conns(0, 3, 0);
    EXPECT_EQ(Servers::name(*a, a->pick(to(kD))), 'B');
    EXPECT_EQ(members(*sh, s, 0), "BA");
    s.conns(0, 0, 0);
    s.specs.erase(s.specs.begin() + 1);  // B leaves
    auto b = s.build(SchedKind::Lblcr, 0, sh);
    EXPECT_EQ(Servers::name(*b, b->pick(to(kD))), 'A');
    s.conns(0, 3, 0);  // A overloaded while C idle: C joins, B is purged
    EXPECT_EQ(Servers::name(*b, b->pick(to(kD))), 'C');
    EXPECT_EQ(members(*sh, s, 0), "CA");
}

TEST(Lblcr, TwoWorkersGrowTheSameSets) {
    Servers s({4, 4, 4, 4});
    auto sch = s.build(SchedKind::Lblcr, 0, lblcr_state());
    auto run = [&](uint32_t salt) {
        for (int round = 0; round < 20000; ++round) {
            const uint32_t d = 0xc0000000u + (static_cast<uint32_t>(round) * 7 + salt) % 300;
            const BackendIdx b = sch->pick(to(d, 1));
            ASSERT_NE(b, kNoBackend);
            // Load moves around so sets grow and get rewritten concurrently.
            s.ctr(b).active.store(round % 9);
        }
    };
    std::thread t0(run, 0);
    std::thread t1(run, 3);
    t0.join();
    t1.join();
}

}  // namespace
}  // namespace dirigo::sched
