// SPDX-License-Identifier: BSD-3-Clause
// The neighbour table's life cycle (incomplete, resolved, failed, removed) and its probing past
// removed entries; no EAL needed.
#include "dataplane/neigh.hpp"

#include <map>

#include <gtest/gtest.h>

namespace dirigo::dp {
namespace {

using State = NeighTable::State;

rte_ether_addr mac_of(uint8_t last) {
    rte_ether_addr m = {{0x52, 0x54, 0x00, 0x00, 0x00, last}};
    return m;
}

std::map<uint32_t, State> states(const NeighTable& t) {
    std::map<uint32_t, State> out;
    t.for_each([&](uint32_t ip, uint16_t, const rte_ether_addr&, State s) { out[ip] = s; });
    return out;
}

TEST(NeighTable, IncompleteResolvedFailedThenRemoved) {
    NeighTable t(16);
    rte_ether_addr got;
    ASSERT_TRUE(t.update(1, 0, nullptr));
    EXPECT_EQ(states(t).at(1), State::Incomplete);
    EXPECT_FALSE(t.lookup(1, &got));
    t.mark_failed(1);
    EXPECT_EQ(states(t).at(1), State::Failed);
    EXPECT_FALSE(t.lookup(1, &got));
    // Asked again: incomplete, not failed.
    ASSERT_TRUE(t.update(1, 0, nullptr));
    EXPECT_EQ(states(t).at(1), State::Incomplete);
    const rte_ether_addr m = mac_of(1);
    ASSERT_TRUE(t.update(1, 0, &m));
    EXPECT_EQ(states(t).at(1), State::Resolved);
    ASSERT_TRUE(t.lookup(1, &got));
    EXPECT_TRUE(rte_is_same_ether_addr(&got, &m));
    t.mark_failed(1);
    EXPECT_FALSE(t.lookup(1, &got));
    EXPECT_EQ(t.size(), 1u);
    t.remove(1);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_TRUE(states(t).empty());
    EXPECT_FALSE(t.contains(1));
}

TEST(NeighTable, RemovedEntriesNeitherEndProbesNorFillTheTable) {
    NeighTable t(16);
    ASSERT_EQ(t.capacity(), 16u);
    for (uint32_t ip = 1; ip <= 15; ++ip) {
        const rte_ether_addr m = mac_of(static_cast<uint8_t>(ip));
        ASSERT_TRUE(t.update(ip, 0, &m)) << ip;
    }
    const rte_ether_addr extra = mac_of(99);
    EXPECT_TRUE(t.update(99, 0, &extra));
    EXPECT_FALSE(t.update(98, 0, &extra)) << "full";
    t.remove(99);
    // Remove every other entry: the others stay findable whatever their probe path crossed.
    for (uint32_t ip = 1; ip <= 15; ip += 2) {
        t.remove(ip);
    }
    rte_ether_addr got;
    for (uint32_t ip = 2; ip <= 15; ip += 2) {
        ASSERT_TRUE(t.lookup(ip, &got)) << ip;
        EXPECT_EQ(got.addr_bytes[5], ip);
    }
    // The freed slots are reused, many times over, without the table ever filling up.
    for (uint32_t round = 0; round < 10000; ++round) {
        for (uint32_t ip = 100; ip < 108; ++ip) {
            const rte_ether_addr m = mac_of(static_cast<uint8_t>(ip));
            ASSERT_TRUE(t.update(ip + round * 8, 0, &m)) << round << " " << ip;
        }
        for (uint32_t ip = 100; ip < 108; ++ip) {
            ASSERT_TRUE(t.lookup(ip + round * 8, &got));
            t.remove(ip + round * 8);
        }
    }
    EXPECT_EQ(t.size(), 7u);
    for (uint32_t ip = 2; ip <= 15; ip += 2) {
        EXPECT_TRUE(t.lookup(ip, &got)) << ip;
    }
}

}  // namespace
}  // namespace dirigo::dp
