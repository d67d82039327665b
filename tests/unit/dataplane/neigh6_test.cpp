// SPDX-License-Identifier: BSD-3-Clause
// The IPv6 neighbour table: the life cycle of NeighTable's (incomplete, resolved, failed,
// removed), probing past removed entries, and lock-free readers beside the writer (a reader gets
// an entry's own MAC or a miss, never another's); no EAL needed.
#include "dataplane/neigh6.hpp"

#include <atomic>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "config/addr.hpp"

namespace dirigo::dp {
namespace {

using State = NeighTable6::State;

cfg::Ip6 addr(uint32_t n) {
    cfg::Ip6 a = *cfg::parse_ip6("2001:db8:1::");
    a.b[12] = static_cast<uint8_t>(n >> 24);
    a.b[13] = static_cast<uint8_t>(n >> 16);
    a.b[14] = static_cast<uint8_t>(n >> 8);
    a.b[15] = static_cast<uint8_t>(n);
    return a;
}

rte_ether_addr mac_of(uint32_t n) {
    rte_ether_addr m = {{0x52, 0x54, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                         static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}};
    return m;
}

std::map<cfg::Ip6, State> states(const NeighTable6& t) {
    std::map<cfg::Ip6, State> out;
    t.for_each([&](const cfg::Ip6& ip, uint16_t, const rte_ether_addr&, State s) { out[ip] = s; });
    return out;
}

TEST(NeighTable6, IncompleteResolvedFailedThenRemoved) {
    NeighTable6 t(16);
    rte_ether_addr got;
    const cfg::Ip6 a = addr(1);
    ASSERT_TRUE(t.update(a, 3, nullptr));
    EXPECT_EQ(states(t).at(a), State::Incomplete);
    EXPECT_FALSE(t.lookup(a.b.data(), &got));
    t.mark_failed(a);
    EXPECT_EQ(states(t).at(a), State::Failed);
    ASSERT_TRUE(t.update(a, 3, nullptr));
    EXPECT_EQ(states(t).at(a), State::Incomplete);
    const rte_ether_addr m = mac_of(1);
    ASSERT_TRUE(t.update(a, 3, &m));
    EXPECT_EQ(states(t).at(a), State::Resolved);
    ASSERT_TRUE(t.lookup(a.b.data(), &got));
    EXPECT_TRUE(rte_is_same_ether_addr(&got, &m));
    uint16_t port = 0;
    t.for_each([&](const cfg::Ip6&, uint16_t p, const rte_ether_addr&, State) { port = p; });
    EXPECT_EQ(port, 3);
    EXPECT_FALSE(t.lookup(addr(2).b.data(), &got));
    t.mark_failed(a);
    EXPECT_FALSE(t.lookup(a.b.data(), &got));
    EXPECT_EQ(t.size(), 1u);
    t.remove(a);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_TRUE(states(t).empty());
    EXPECT_FALSE(t.contains(a));
}

TEST(NeighTable6, RemovedEntriesNeitherEndProbesNorFillTheTable) {
    NeighTable6 t(16);
    ASSERT_EQ(t.capacity(), 16u);
    for (uint32_t n = 1; n <= 16; ++n) {
        const rte_ether_addr m = mac_of(n);
        ASSERT_TRUE(t.update(addr(n), 0, &m)) << n;
    }
    const rte_ether_addr extra = mac_of(99);
    EXPECT_FALSE(t.update(addr(99), 0, &extra)) << "full";
    for (uint32_t n = 1; n <= 16; n += 2) {
        t.remove(addr(n));
    }
    rte_ether_addr got;
    for (uint32_t n = 2; n <= 16; n += 2) {
        ASSERT_TRUE(t.lookup(addr(n).b.data(), &got)) << n;
        EXPECT_EQ(got.addr_bytes[5], n);
    }
    for (uint32_t round = 0; round < 5000; ++round) {
        for (uint32_t n = 100; n < 108; ++n) {
            const rte_ether_addr m = mac_of(n + round * 8);
            ASSERT_TRUE(t.update(addr(n + round * 8), 0, &m)) << round << " " << n;
        }
        for (uint32_t n = 100; n < 108; ++n) {
            ASSERT_TRUE(t.lookup(addr(n + round * 8).b.data(), &got));
            const rte_ether_addr want = mac_of(n + round * 8);
            EXPECT_TRUE(rte_is_same_ether_addr(&got, &want));
            t.remove(addr(n + round * 8));
        }
    }
    EXPECT_EQ(t.size(), 8u);
    for (uint32_t n = 2; n <= 16; n += 2) {
        EXPECT_TRUE(t.lookup(addr(n).b.data(), &got)) << n;
    }
}

TEST(NeighTable6, ReadersBesideTheWriterSeeAnEntrysOwnMacOrAMiss) {
    NeighTable6 t(64);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> wrong{0};
    std::thread reader([&] {
        rte_ether_addr got;
        uint64_t h = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            for (uint32_t n = 0; n < 200; ++n) {
                if (t.lookup(addr(n).b.data(), &got)) {
                    ++h;
                    const rte_ether_addr want = mac_of(n);
                    if (!rte_is_same_ether_addr(&got, &want)) {
                        wrong.fetch_add(1, std::memory_order_relaxed);
                    }
                }
            }
        }
        hits.store(h);
    });
    // The writer cycles 200 addresses through 64 places: inserts, removals, rebuilds.
    for (uint32_t round = 0; round < 2000; ++round) {
        for (uint32_t k = 0; k < 40; ++k) {
            const uint32_t n = (round * 40 + k) % 200;
            const rte_ether_addr m = mac_of(n);
            (void)t.update(addr(n), 0, &m);
        }
        for (uint32_t k = 0; k < 40; ++k) {
            t.remove(addr((round * 40 + k + 100) % 200));
        }
    }
    stop.store(true);
    reader.join();
    EXPECT_EQ(wrong.load(), 0u);
    EXPECT_GT(hits.load(), 0u);
}

}  // namespace
}  // namespace dirigo::dp
