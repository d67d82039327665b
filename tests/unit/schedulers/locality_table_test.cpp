// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/locality_table.hpp"

#include <gtest/gtest.h>

namespace dirigo::sched {
namespace {

constexpr uint64_t kExpire = 1000;

LocEntry one(uint16_t id) {
    LocEntry e;
    e.n = 1;
    e.m[0] = id;
    return e;
}

TEST(LocalityTable, StoreThenFind) {
    LocalityTable t(64);
    EXPECT_EQ(t.slots(), 64u);
    LocEntry e;
    EXPECT_FALSE(t.find(42, 1, 0, kExpire, e));
    ASSERT_TRUE(t.store(42, 1, 0, kExpire, one(7)));
    ASSERT_TRUE(t.find(42, 1, 10, kExpire, e));
    EXPECT_EQ(e.n, 1);
    EXPECT_EQ(e.m[0], 7);
    EXPECT_FALSE(t.find(42, 2, 10, kExpire, e));  // another epoch
    EXPECT_FALSE(t.find(43, 1, 10, kExpire, e));
}

TEST(LocalityTable, UpdateNeedsAnUnchangedSlot) {
    LocalityTable t(64);
    ASSERT_TRUE(t.store(5, 1, 0, kExpire, one(1)));
    LocEntry a;
    LocEntry b;
    ASSERT_TRUE(t.find(5, 1, 0, kExpire, a));
    ASSERT_TRUE(t.find(5, 1, 0, kExpire, b));
    a.m[0] = 2;
    EXPECT_TRUE(t.store(5, 1, 0, kExpire, a));
    b.m[0] = 3;
    EXPECT_FALSE(t.store(5, 1, 0, kExpire, b));  // based on a stale read
    ASSERT_TRUE(t.find(5, 1, 0, kExpire, b));
    EXPECT_EQ(b.m[0], 2);
}

TEST(LocalityTable, ExpiryAndTouch) {
    LocalityTable t(64);
    ASSERT_TRUE(t.store(9, 1, 100, kExpire, one(1)));
    LocEntry e;
    EXPECT_TRUE(t.find(9, 1, 1099, kExpire, e));
    t.touch(e, 1099);
    EXPECT_TRUE(t.find(9, 1, 2098, kExpire, e));
    EXPECT_FALSE(t.find(9, 1, 2099, kExpire, e));
    EXPECT_NE(e.slot, LocEntry::kNoSlot);  // the expired slot is offered for reuse
    EXPECT_FALSE(e.found);
    EXPECT_EQ(t.live(1, 2099, kExpire), 0u);
}

TEST(LocalityTable, HugeExpiryNeverWrapsAndClockSkewKeepsEntries) {
    LocalityTable t(64);
    ASSERT_TRUE(t.store(9, 1, 5000, ~uint64_t{0}, one(1)));
    LocEntry e;
    EXPECT_TRUE(t.find(9, 1, ~uint64_t{0} - 1, ~uint64_t{0}, e));
    EXPECT_TRUE(t.find(9, 1, 4000, kExpire, e));  // another worker's clock, a little behind
}

TEST(LocalityTable, FullTableEvictsTheLeastRecentlyUsedAndKeepsWorking) {
    LocalityTable t(64);
    for (uint32_t k = 0; k < 1000; ++k) {
        ASSERT_TRUE(t.store(k, 1, k, 1u << 30, one(static_cast<uint16_t>(k))));
        LocEntry e;
        ASSERT_TRUE(t.find(k, 1, k, 1u << 30, e)) << k;
        EXPECT_EQ(e.m[0], static_cast<uint16_t>(k));
    }
    EXPECT_LE(t.live(1, 1000, 1u << 30), 64u);
    EXPECT_GT(t.live(1, 1000, 1u << 30), 32u);
}

TEST(LocalityTable, SetEditing) {
    LocEntry e;
    for (uint16_t id = 1; id <= 20; ++id) {
        e.push_front(id);
    }
    EXPECT_EQ(e.n, LocSlot::kSetMax);
    EXPECT_EQ(e.m[0], 20);
    EXPECT_EQ(e.m[15], 5);
    EXPECT_EQ(e.find(5), 15);
    EXPECT_EQ(e.find(4), -1);
    e.erase(0);
    EXPECT_EQ(e.n, 15);
    EXPECT_EQ(e.m[0], 19);
}

}  // namespace
}  // namespace dirigo::sched
