// SPDX-License-Identifier: BSD-3-Clause
// The per-worker connection table: both directions, bulk lookups, a full table, bounded sweeps.
// Needs EAL memory (rte_hash, rte_zmalloc): runs with --no-huge.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>

#include "conntrack/conn_table.hpp"
#include "tests/dataplane/harness.hpp"

namespace dirigo::ct {
namespace {

Conn make(uint32_t client, uint16_t port, uint32_t server) {
    Conn c;
    c.client.saddr = client;
    c.client.daddr = 0x6400000a;  // 10.0.0.100 as stored on the wire
    c.client.sport = port;
    c.client.dport = 0x5000;
    c.client.proto = 6;
    c.raddr = server;
    c.rport = 0x5000;
    return c;
}

TEST(ConnTable, FindsBothDirectionsAndForgetsRemovedEntries) {
    auto t = ConnTable::create("ct_dirs", 1024, 0);
    ASSERT_TRUE(t) << t.status().message();
    ConnTable& ct = **t;
    const Conn c = make(0x0200000a, 1234, 0x0b0010ac);
    const uint32_t idx = ct.insert(c, true);
    ASSERT_NE(idx, kMiss);
    EXPECT_EQ(ct.size(), 1u);
    const uint32_t in = ct.lookup(c.client);
    ASSERT_NE(in, kMiss);
    EXPECT_EQ(lookup_index(in), idx);
    EXPECT_FALSE(lookup_is_reply(in));
    const uint32_t out = ct.lookup(c.reply_key());
    ASSERT_NE(out, kMiss);
    EXPECT_EQ(lookup_index(out), idx);
    EXPECT_TRUE(lookup_is_reply(out));
    // The reversed client key (VIP -> client) is not a key of this connection.
    EXPECT_EQ(ct.lookup(c.client.reversed()), kMiss);
    ct.remove(idx);
    EXPECT_EQ(ct.size(), 0u);
    EXPECT_EQ(ct.lookup(c.client), kMiss);
    EXPECT_EQ(ct.lookup(c.reply_key()), kMiss);
}

TEST(ConnTable, BulkLookupMixesHitsAndMisses) {
    auto t = ConnTable::create("ct_bulk", 1024, 0);
    ASSERT_TRUE(t);
    ConnTable& ct = **t;
    std::vector<Conn> conns;
    for (uint16_t i = 0; i < 32; ++i) {
        conns.push_back(make(0x0200000a, i, 0x0b0010ac));
        if (i % 2 == 0) {
            ASSERT_NE(ct.insert(conns.back(), true), kMiss);
        }
    }
    const FlowKey* keys[32];
    for (size_t i = 0; i < 32; ++i) {
        keys[i] = &conns[i].client;
    }
    uint32_t res[32];
    ct.lookup_bulk(keys, 32, res);
    for (size_t i = 0; i < 32; ++i) {
        if (i % 2 == 0) {
            ASSERT_NE(res[i], kMiss) << i;
            EXPECT_EQ(ct.at(lookup_index(res[i])).client, conns[i].client);
        } else {
            EXPECT_EQ(res[i], kMiss) << i;
        }
    }
}

TEST(ConnTable, FullTableRefusesNewEntriesAndKeepsOldOnes) {
    auto t = ConnTable::create("ct_full", 1024, 0);
    ASSERT_TRUE(t);
    ConnTable& ct = **t;
    for (uint32_t i = 0; i < 1024; ++i) {
        ASSERT_NE(ct.insert(make(0x0a000000u + i, 7, 0x0b0010ac), true), kMiss) << i;
    }
    EXPECT_EQ(ct.insert(make(0x0b000000u, 7, 0x0b0010ac), true), kMiss);
    EXPECT_EQ(ct.size(), 1024u);
    EXPECT_NE(ct.lookup(make(0x0a000000u + 1000, 7, 0x0b0010ac).client), kMiss);
    EXPECT_GT(ct.memory_bytes(), 1024u * sizeof(Conn));
}

TEST(ConnTable, SweepIsBoundedAndRemovesOnlyExpired) {
    auto t = ConnTable::create("ct_sweep", 1024, 0);
    ASSERT_TRUE(t);
    ConnTable& ct = **t;
    for (uint32_t i = 0; i < 100; ++i) {
        Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        c.expire = (i % 2 == 0) ? 10 : 1000;
        ASSERT_NE(ct.insert(c, true), kMiss);
    }
    uint32_t seen = 0;
    auto count = [&](uint32_t, const Conn&) { ++seen; };
    // A call visits at most `budget` slots: 10 slots hold at most 5 expired entries.
    EXPECT_LE(ct.sweep(100, 10, count), 5u);
    // One full turn of the cursor finds every other expired entry.
    ct.sweep(100, 1024, count);
    EXPECT_EQ(seen, 50u);
    EXPECT_EQ(ct.size(), 50u);
    ct.for_each([](uint32_t, const Conn& c) { EXPECT_EQ(c.expire, 1000u); });
}

}  // namespace
}  // namespace dirigo::ct

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("conn_table_test", "0", "128"));
    return RUN_ALL_TESTS();
}
