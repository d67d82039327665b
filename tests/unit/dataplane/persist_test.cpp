// SPDX-License-Identifier: BSD-3-Clause
// PersistTable (dataplane/persist.hpp): IPv4 and IPv6 persistence templates in one table.

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/persist.hpp"

namespace dirigo::dp {
namespace {

struct Seen {
    uint32_t svc;
    uint32_t v4;
    bool is6;
    uint8_t a6[16];
    uint32_t dest;
    int32_t refs;
};

std::vector<Seen> all(PersistTable& t) {
    std::vector<Seen> out;
    t.for_each([&](uint32_t svc, const PersistClient& c, uint32_t dest, int32_t refs, uint64_t) {
        Seen s{svc, c.v4, c.v6 != nullptr, {}, dest, refs};
        if (c.v6 != nullptr) {
            std::memcpy(s.a6, c.v6, 16);
        }
        out.push_back(s);
    });
    return out;
}

const uint8_t kNetA[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};  // 2001:db8:1::/64
const uint8_t kNetB[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0};  // 2001:db8:2::/64

TEST(PersistTable, Ipv6ClientsAreTheirWholeMaskedAddress) {
    PersistTable t(64);
    auto valid = [](uint32_t) { return true; };
    uint32_t next = 10;
    auto pick = [&next]() { return next++; };
    // Two /64s whose fold (the key's pre-filter) is forced equal: still two templates.
    const PersistClient a{0x1234, kNetA};
    const PersistClient b{0x1234, kNetB};
    const auto ba = t.acquire(3, a, 100, 50, valid, pick);
    ASSERT_NE(ba.index, kNoTemplate);
    EXPECT_EQ(ba.dest_slot, 10u);
    EXPECT_EQ(ba.prev_slot, kNoTemplate);
    const auto bb = t.acquire(3, b, 100, 50, valid, pick);
    ASSERT_NE(bb.index, kNoTemplate);
    EXPECT_NE(bb.index, ba.index);
    EXPECT_EQ(bb.dest_slot, 11u);
    // The first client again: its template, its server, no new pick.
    const auto ba2 = t.acquire(3, a, 120, 50, valid, pick);
    EXPECT_EQ(ba2.index, ba.index);
    EXPECT_EQ(ba2.dest_slot, 10u);
    EXPECT_EQ(ba2.prev_slot, 10u);
    EXPECT_EQ(next, 12u);
    // An IPv4 client with the same 32 bits in another service is another template too.
    const auto b4 = t.acquire(4, 0x1234u, 100, 50, valid, pick);
    EXPECT_EQ(b4.dest_slot, 12u);
    const auto seen = all(t);
    ASSERT_EQ(seen.size(), 3u);
    int v6 = 0;
    for (const Seen& s : seen) {
        if (s.is6) {
            ++v6;
            EXPECT_EQ(s.svc, 3u);
            EXPECT_EQ(std::memcmp(s.a6, s.dest == 10 ? kNetA : kNetB, 16), 0);
            EXPECT_EQ(s.refs, s.dest == 10 ? 2 : 1);
        } else {
            EXPECT_EQ(s.svc, 4u);
            EXPECT_EQ(s.v4, 0x1234u);
        }
    }
    EXPECT_EQ(v6, 2);
}

TEST(PersistTable, Ipv6TemplateOutlivesItsConnectionsByItsTimeoutThenIsSwept) {
    PersistTable t(16);
    auto valid = [](uint32_t) { return true; };
    auto pick = []() { return 7u; };
    const PersistClient a{0x99, kNetA};
    const auto b = t.acquire(1, a, 1000, 300, valid, pick);
    ASSERT_NE(b.index, kNoTemplate);
    std::vector<uint32_t> dead;
    auto on_dead = [&dead](uint32_t slot) { dead.push_back(slot); };
    t.release(b.index, 2000);  // the last connection ends: alive until 2300
    t.sweep(2299, 16, on_dead);
    EXPECT_TRUE(dead.empty());
    // A new connection within the timeout reuses it.
    auto never = []() { return kNoTemplate; };
    const auto again = t.acquire(1, a, 2200, 300, valid, never);
    EXPECT_EQ(again.index, b.index);
    EXPECT_EQ(again.dest_slot, 7u);
    t.release(again.index, 2250);
    t.sweep(2549, 16, on_dead);
    EXPECT_TRUE(dead.empty());
    t.sweep(2550, 16, on_dead);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0], 7u);
    EXPECT_TRUE(all(t).empty());
}

TEST(PersistTable, Ipv6TemplateOfAGoneServerIsReboundAndInstallFindsIt) {
    PersistTable t(16);
    bool seven_ok = true;
    auto valid = [&seven_ok](uint32_t s) { return s != 7 || seven_ok; };
    uint32_t want = 7;
    auto pick = [&want]() { return want; };
    const PersistClient a{0x55, kNetA};
    const auto b = t.acquire(2, a, 10, 100, valid, pick);
    EXPECT_EQ(b.dest_slot, 7u);
    // The server is removed: the live template is bound anew, reporting its old server.
    seven_ok = false;
    want = 8;
    const auto r = t.acquire(2, a, 20, 100, valid, pick);
    EXPECT_EQ(r.index, b.index);
    EXPECT_EQ(r.dest_slot, 8u);
    EXPECT_EQ(r.prev_slot, 7u);
    // A sync master's template for the same client lands on the same entry.
    const auto i = t.install(2, a, 9, 30, 100);
    EXPECT_EQ(i.index, b.index);
    EXPECT_EQ(i.prev_slot, 8u);
    const auto seen = all(t);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].dest, 9u);
    EXPECT_TRUE(seen[0].is6);
}

}  // namespace
}  // namespace dirigo::dp
