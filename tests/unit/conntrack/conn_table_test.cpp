// SPDX-License-Identifier: BSD-3-Clause
// The per-worker connection table: both directions, bulk lookups, collisions and full buckets
// (forced through the hash hook), a full table, remove and reinsert, bounded sweeps and the
// eviction defences, the SIMD signature scan against its scalar twin, and a randomized
// differential test against a std::unordered_map model.
// Needs EAL memory (rte_zmalloc): runs with --no-huge.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
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

/// Every key hashes to bucket 0 with signature 0x1234: all keys share both buckets.
uint32_t same_hash(const FlowKey&) {
    return 0x12340000u;
}
/// Same signature everywhere, buckets spread by the client port: signature collisions only.
uint32_t same_sig(const FlowKey& k) {
    return 0x77770000u | (k.sport ^ k.dport);
}
/// A real hash narrowed to 64 buckets and 4 signatures: many collisions of both kinds.
uint32_t narrow_hash(const FlowKey& k) {
    const uint32_t h = ConnTable::hash(k);
    return (h & 0x3fu) | ((h >> 30) << 16);
}

uint32_t table_seq = 0;
std::unique_ptr<ConnTable> new_table(uint32_t cap) {
    auto t = ConnTable::create("ctt" + std::to_string(table_seq++), cap, 0);
    EXPECT_TRUE(t) << t.status().message();
    return t ? std::move(*t) : nullptr;
}

TEST(ConnTable, FindsBothDirectionsAndForgetsRemovedEntries) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    const Conn c = make(0x0200000a, 1234, 0x0b0010ac);
    const uint32_t idx = ct.insert(c, true);
    ASSERT_NE(idx, kMiss);
    EXPECT_EQ(ct.size(), 1u);
    EXPECT_NE(ct.at(idx).flags & kConnHasReply, 0);
    const uint32_t in = ct.lookup(c.client);
    ASSERT_NE(in, kMiss);
    EXPECT_EQ(lookup_index(in), idx);
    EXPECT_FALSE(lookup_is_reply(in));
    const uint32_t out = ct.lookup(c.reply_key());
    ASSERT_NE(out, kMiss);
    EXPECT_EQ(lookup_index(out), idx);
    EXPECT_TRUE(lookup_is_reply(out));
    // With the hash given, the same answers.
    EXPECT_EQ(ct.lookup(c.client, ConnTable::hash(c.client)), in);
    EXPECT_EQ(ct.lookup(c.reply_key(), ConnTable::hash(c.reply_key())), out);
    // The reversed client key (VIP -> client) is not a key of this connection.
    EXPECT_EQ(ct.lookup(c.client.reversed()), kMiss);
    ct.remove(idx);
    EXPECT_EQ(ct.size(), 0u);
    EXPECT_EQ(ct.lookup(c.client), kMiss);
    EXPECT_EQ(ct.lookup(c.reply_key()), kMiss);
    // Removing twice is harmless.
    ct.remove(idx);
    EXPECT_EQ(ct.size(), 0u);
}

TEST(ConnTable, AReplyKeyNamesTheNewestConnectionOnly) {
    // Client port 5000 to VIP ports 80 and 8080, both NAT to the same server port: one reply key.
    auto t = new_table(64);
    ConnTable& ct = *t;
    Conn a = make(0x0200000a, 5000, 0x0c0010ac);
    Conn b = a;
    b.client.dport = 0x901f;  // 8080 as stored on the wire
    const uint32_t ia = ct.insert(a, true);
    ASSERT_NE(ia, kMiss);
    const uint32_t ib = ct.insert(b, true);
    ASSERT_NE(ib, kMiss);
    ASSERT_EQ(a.reply_key(), b.reply_key());
    EXPECT_EQ(ct.lookup(a.reply_key()), ib << 1 | kReplyBit);
    EXPECT_EQ(ct.at(ia).flags & kConnHasReply, 0);
    EXPECT_NE(ct.at(ib).flags & kConnHasReply, 0);
    EXPECT_EQ(ct.lookup(a.client), ia << 1);
    EXPECT_EQ(ct.audit_for_test(), 0u);
    // Removing the older one leaves the newer one's reply key.
    ct.remove(ia);
    EXPECT_EQ(ct.lookup(b.reply_key()), ib << 1 | kReplyBit);
    EXPECT_EQ(ct.audit_for_test(), 0u);
    ct.remove(ib);
    EXPECT_EQ(ct.lookup(b.reply_key()), kMiss);
    EXPECT_EQ(ct.audit_for_test(), 0u);
}

TEST(ConnTable, AStagedReplyKeyIsFoundFromItsCommitOn) {
    auto t = new_table(64);
    ConnTable& ct = *t;
    const Conn c = make(0x0200000a, 4321, 0x0b0010ac);
    const uint32_t idx = ct.insert_staged(c, ConnTable::hash(c.client));
    ASSERT_NE(idx, kMiss);
    EXPECT_EQ(ct.staged(), 1u);
    EXPECT_EQ(ct.size(), 1u);
    // The client key at once (a later packet of the burst finds the connection); the reply
    // key only after the commit (no reply can come before the first packet has left).
    EXPECT_EQ(ct.lookup(c.client), idx << 1);
    EXPECT_EQ(ct.lookup(c.reply_key()), kMiss);
    EXPECT_EQ(ct.at(idx).flags & kConnHasReply, 0);
    EXPECT_NE(ct.at(idx).flags & kConnReplyStaged, 0);
    EXPECT_EQ(ct.audit_for_test(), 0u);
    uint32_t refused[ConnTable::kMaxStaged];
    EXPECT_EQ(ct.commit_staged(refused), 0u);
    EXPECT_EQ(ct.staged(), 0u);
    EXPECT_EQ(ct.lookup(c.reply_key()), idx << 1 | kReplyBit);
    EXPECT_NE(ct.at(idx).flags & kConnHasReply, 0);
    EXPECT_EQ(ct.at(idx).flags & kConnReplyStaged, 0);
    EXPECT_EQ(ct.audit_for_test(), 0u);
    ct.remove(idx);
    EXPECT_EQ(ct.lookup(c.reply_key()), kMiss);
    EXPECT_EQ(ct.audit_for_test(), 0u);
}

TEST(ConnTable, StagedReplyKeysCommitInOrderSoTheNewestWins) {
    // Three connections with one reply key: an older committed one, then two staged in one
    // burst. Until the commit the older keeps it; after, the last staged has it alone.
    auto t = new_table(64);
    ConnTable& ct = *t;
    Conn a = make(0x0200000a, 5000, 0x0c0010ac);
    Conn b = a;
    b.client.dport = 0x901f;  // VIP port 8080
    Conn c = a;
    c.client.dport = 0xbb01;  // VIP port 443
    const uint32_t ia = ct.insert(a, true);
    const uint32_t ib = ct.insert_staged(b, ConnTable::hash(b.client));
    const uint32_t ic = ct.insert_staged(c, ConnTable::hash(c.client));
    ASSERT_NE(ia, kMiss);
    ASSERT_NE(ib, kMiss);
    ASSERT_NE(ic, kMiss);
    EXPECT_EQ(ct.lookup(a.reply_key()), ia << 1 | kReplyBit);
    uint32_t refused[ConnTable::kMaxStaged];
    EXPECT_EQ(ct.commit_staged(refused), 0u);
    EXPECT_EQ(ct.lookup(a.reply_key()), ic << 1 | kReplyBit);
    EXPECT_EQ(ct.at(ia).flags & kConnHasReply, 0);
    EXPECT_EQ(ct.at(ib).flags & kConnHasReply, 0);
    EXPECT_NE(ct.at(ic).flags & kConnHasReply, 0);
    EXPECT_EQ(ct.audit_for_test(), 0u);
}

TEST(ConnTable, AnEntryRemovedWhileStagedIsNotIndexedForItsReuse) {
    // Staged, removed and its entry reused by another staged connection in the same burst:
    // the commit indexes the second one's reply key once, and never the first one's.
    auto t = new_table(64);
    ConnTable& ct = *t;
    const Conn a = make(0x0200000a, 1111, 0x0b0010ac);
    const Conn b = make(0x0300000a, 2222, 0x0c0010ac);
    const uint32_t ia = ct.insert_staged(a, ConnTable::hash(a.client));
    ASSERT_NE(ia, kMiss);
    ct.remove(ia);
    const uint32_t ib = ct.insert_staged(b, ConnTable::hash(b.client));
    ASSERT_EQ(ib, ia);  // the free list gives the entry back first
    uint32_t refused[ConnTable::kMaxStaged];
    EXPECT_EQ(ct.commit_staged(refused), 0u);
    EXPECT_EQ(ct.lookup(a.reply_key()), kMiss);
    EXPECT_EQ(ct.lookup(a.client), kMiss);
    EXPECT_EQ(ct.lookup(b.reply_key()), ib << 1 | kReplyBit);
    EXPECT_EQ(ct.audit_for_test(), 0u);
}

TEST(ConnTable, AStagedReplyKeyWithNoRoomIsRefusedAtTheCommit) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    ct.set_hash_for_test(same_hash);
    for (uint16_t i = 0; i < 2 * Bucket::kSlots - 1; ++i) {
        ASSERT_NE(ct.insert(make(0x0400000a, static_cast<uint16_t>(i + 1), 0x0b0010ac), false),
                  kMiss);
    }
    // The last slot takes the client key; the reply key has none at the commit.
    const Conn c = make(0x0500000a, 5, 0x0b0010ac);
    const uint32_t idx = ct.insert_staged(c, same_hash(c.client));
    ASSERT_NE(idx, kMiss);
    uint32_t refused[ConnTable::kMaxStaged];
    ASSERT_EQ(ct.commit_staged(refused), 1u);
    EXPECT_EQ(refused[0], 0u);
    EXPECT_EQ(ct.staged_entry(refused[0]), idx);
    // Left to the caller: live, its client key indexed, no reply flag.
    EXPECT_EQ(ct.at(idx).in_use(), true);
    EXPECT_EQ(ct.at(idx).flags & (kConnHasReply | kConnReplyStaged), 0);
    EXPECT_EQ(ct.lookup(c.client), idx << 1);
    EXPECT_EQ(ct.audit_for_test(), 0u);
    ct.remove(idx);
    EXPECT_EQ(ct.size(), 2 * Bucket::kSlots - 1);
    EXPECT_EQ(ct.audit_for_test(), 0u);
}

TEST(ConnTable, WithoutReplyOnlyTheClientKeyIsIndexed) {
    auto t = new_table(64);
    const Conn c = make(0x0200000a, 99, 0x0b0010ac);
    const uint32_t idx = t->insert(c, false, ConnTable::hash(c.client));
    ASSERT_NE(idx, kMiss);
    EXPECT_EQ(t->at(idx).flags & kConnHasReply, 0);
    EXPECT_EQ(t->lookup(c.client), idx << 1);
    EXPECT_EQ(t->lookup(c.reply_key()), kMiss);
}

TEST(ConnTable, BulkLookupMixesHitsAndMissesAndDirections) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    std::vector<Conn> conns;
    std::vector<uint32_t> idx;
    for (uint16_t i = 0; i < 32; ++i) {
        conns.push_back(make(0x0200000a, i, 0x0b0010ac));
        idx.push_back(i % 2 == 0 ? ct.insert(conns.back(), true) : kMiss);
        if (i % 2 == 0) {
            ASSERT_NE(idx.back(), kMiss);
        }
    }
    std::vector<FlowKey> keys(32);
    const FlowKey* kp[32];
    uint32_t hashes[32];
    for (size_t i = 0; i < 32; ++i) {
        keys[i] = i % 4 < 2 ? conns[i].client : conns[i].reply_key();
        kp[i] = &keys[i];
        hashes[i] = ConnTable::hash(keys[i]);
    }
    uint32_t res[32];
    uint32_t res_h[32];
    ct.lookup_bulk(kp, 32, res);
    ct.lookup_bulk(kp, hashes, 32, res_h);
    for (size_t i = 0; i < 32; ++i) {
        EXPECT_EQ(res[i], res_h[i]) << i;
        if (i % 2 == 0) {
            ASSERT_NE(res[i], kMiss) << i;
            EXPECT_EQ(lookup_index(res[i]), idx[i]);
            EXPECT_EQ(lookup_is_reply(res[i]), i % 4 >= 2) << i;
        } else {
            EXPECT_EQ(res[i], kMiss) << i;
        }
    }
}

TEST(ConnTable, SimdSignatureScanMatchesScalar) {
    std::mt19937 rng(7);
    for (int round = 0; round < 20000; ++round) {
        Bucket b{};
        for (uint32_t i = 0; i < Bucket::kSlots; ++i) {
            b.sig[i] = static_cast<uint16_t>(rng() & 7);
            b.slot[i] = rng();
        }
        b.used = static_cast<uint16_t>(rng() & 0x3ff);
        // The words after the signatures sometimes equal the probe: they must never match.
        b.overflow = static_cast<uint16_t>(rng() & 7);
        const uint16_t sig = static_cast<uint16_t>(rng() & 7);
        ASSERT_EQ(bucket_match(b, sig), bucket_match_scalar(b, sig)) << round;
    }
}

TEST(ConnTable, IdenticalHashesFillBothBucketsThenRefuse) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    ct.set_hash_for_test(same_hash);
    // Client keys only: 10 slots in the primary, 10 in the alternate, and no resident can move
    // (they all share the same two buckets).
    std::vector<Conn> conns;
    std::vector<uint32_t> idx;
    for (uint16_t i = 0; i < 2 * Bucket::kSlots; ++i) {
        conns.push_back(make(0x0300000a, static_cast<uint16_t>(100 + i), 0x0b0010ac));
        idx.push_back(ct.insert(conns.back(), false));
        ASSERT_NE(idx.back(), kMiss) << i;
    }
    const Conn extra = make(0x0300000a, 7, 0x0b0010ac);
    EXPECT_EQ(ct.insert(extra, false), kMiss);
    EXPECT_EQ(ct.size(), 2 * Bucket::kSlots);  // the refused one left nothing behind
    // Every key is still found, by comparing against the entries (signatures all equal).
    for (size_t i = 0; i < conns.size(); ++i) {
        EXPECT_EQ(ct.lookup(conns[i].client), idx[i] << 1) << i;
    }
    EXPECT_EQ(ct.lookup(extra.client), kMiss);
    // Remove one from the primary and one from the alternate, then both fit again.
    ct.remove(idx[3]);
    ct.remove(idx[15]);
    EXPECT_EQ(ct.lookup(conns[3].client), kMiss);
    EXPECT_EQ(ct.lookup(conns[15].client), kMiss);
    const uint32_t a = ct.insert(extra, false);
    ASSERT_NE(a, kMiss);
    const uint32_t b = ct.insert(conns[3], false);
    ASSERT_NE(b, kMiss);
    EXPECT_EQ(ct.lookup(extra.client), a << 1);
    EXPECT_EQ(ct.lookup(conns[3].client), b << 1);
    EXPECT_EQ(ct.insert(conns[15], false), kMiss);
    EXPECT_EQ(ct.audit_for_test(), 0u);
    // Bulk lookups agree with single ones under collisions.
    const FlowKey* kp[ConnTable::kMaxBulk];
    uint32_t res[ConnTable::kMaxBulk];
    for (size_t i = 0; i < conns.size(); ++i) {
        kp[i] = &conns[i].client;
    }
    ct.lookup_bulk(kp, static_cast<uint32_t>(conns.size()), res);
    for (size_t i = 0; i < conns.size(); ++i) {
        EXPECT_EQ(res[i], ct.lookup(conns[i].client)) << i;
    }
}

TEST(ConnTable, NatConnectionRefusedWholeWhenItsReplyKeyHasNoRoom) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    ct.set_hash_for_test(same_hash);
    for (uint16_t i = 0; i < 2 * Bucket::kSlots - 1; ++i) {
        ASSERT_NE(ct.insert(make(0x0400000a, static_cast<uint16_t>(i + 1), 0x0b0010ac), false),
                  kMiss);
    }
    // One slot left: the client key fits, the reply key does not; nothing may remain.
    const Conn c = make(0x0500000a, 5, 0x0b0010ac);
    EXPECT_EQ(ct.insert(c, true), kMiss);
    EXPECT_EQ(ct.size(), 2 * Bucket::kSlots - 1);
    EXPECT_EQ(ct.lookup(c.client), kMiss);
    EXPECT_NE(ct.insert(c, false), kMiss);  // the slot was given back
}

TEST(ConnTable, SignatureCollisionsAcrossBucketsAreResolvedByTheEntry) {
    auto t = new_table(256);
    ConnTable& ct = *t;
    ct.set_hash_for_test(same_sig);
    std::vector<Conn> conns;
    std::vector<uint32_t> idx;
    for (uint32_t i = 0; i < 200; ++i) {
        conns.push_back(make(0x0600000a + (i << 24), static_cast<uint16_t>(i), 0x0c0010ac));
        idx.push_back(ct.insert(conns.back(), true));
        ASSERT_NE(idx.back(), kMiss) << i;
    }
    for (size_t i = 0; i < conns.size(); ++i) {
        EXPECT_EQ(ct.lookup(conns[i].client), idx[i] << 1) << i;
        EXPECT_EQ(ct.lookup(conns[i].reply_key()), idx[i] << 1 | kReplyBit) << i;
    }
}

TEST(ConnTable, OverflowMovesAResidentToItsOtherBucket) {
    // A small table filled close to its design load with a narrowed hash: many full buckets,
    // placements in alternates and one-step moves; every key stays findable.
    auto t = new_table(256);
    ConnTable& ct = *t;
    ct.set_hash_for_test(narrow_hash);
    ASSERT_EQ(ct.bucket_count(), 64u);  // 512 keys at 80% of 10 slots each
    std::vector<std::pair<Conn, uint32_t>> in;
    for (uint32_t i = 0; i < 256; ++i) {
        const Conn c = make(0x0700000a + (i << 16), static_cast<uint16_t>(i * 7), 0x0d0010ac);
        const uint32_t idx = ct.insert(c, true);
        if (idx != kMiss) {
            in.emplace_back(c, idx);
        }
    }
    // 512 keys in 640 slots: most connections fit despite 4 signatures only.
    EXPECT_GE(in.size(), 200u);
    EXPECT_EQ(ct.size(), in.size());
    EXPECT_EQ(ct.audit_for_test(), 0u);
    // Well past what fits in primaries alone: keys live away, and the stats count them.
    const auto st = ct.index_stats();
    EXPECT_EQ(st.keys, 2 * in.size());
    EXPECT_GT(st.keys_away, 0u);
    EXPECT_GT(st.buckets_overflowed, 0u);
    EXPECT_LE(st.buckets_overflowed, st.keys_away);
    for (const auto& [c, idx] : in) {
        EXPECT_EQ(ct.lookup(c.client), idx << 1);
        EXPECT_EQ(ct.lookup(c.reply_key()), idx << 1 | kReplyBit);
    }
    for (const auto& [c, idx] : in) {
        ct.remove(idx);
    }
    EXPECT_EQ(ct.size(), 0u);
    for (const auto& [c, idx] : in) {
        EXPECT_EQ(ct.lookup(c.client), kMiss);
    }
}

TEST(ConnTable, FullTableRefusesNewEntriesAndKeepsOldOnes) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    for (uint32_t i = 0; i < 1024; ++i) {
        ASSERT_NE(ct.insert(make(0x0a000000u + i, 7, 0x0b0010ac), true), kMiss) << i;
    }
    EXPECT_EQ(ct.insert(make(0x0b000000u, 7, 0x0b0010ac), true), kMiss);
    EXPECT_EQ(ct.size(), 1024u);
    EXPECT_NE(ct.lookup(make(0x0a000000u + 1000, 7, 0x0b0010ac).client), kMiss);
    EXPECT_GT(ct.memory_bytes(), 1024u * sizeof(Conn));
    EXPECT_EQ(ct.memory_bytes(),
              1024u * (sizeof(Conn) + sizeof(ConnCold)) + ct.bucket_count() * sizeof(Bucket));
    // Remove one, and the next insert reuses its entry.
    const uint32_t victim = lookup_index(ct.lookup(make(0x0a000000u + 5, 7, 0x0b0010ac).client));
    ct.remove(victim);
    EXPECT_EQ(ct.insert(make(0x0b000000u, 7, 0x0b0010ac), true), victim);
}

TEST(ConnTable, SweepIsBoundedAndRemovesOnlyExpired) {
    auto t = new_table(1024);
    ConnTable& ct = *t;
    for (uint32_t i = 0; i < 100; ++i) {
        Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        c.expire = (i % 2 == 0) ? 10 : 1000;
        ASSERT_NE(ct.insert(c, true), kMiss);
    }
    uint32_t seen = 0;
    auto count = [&](uint32_t, const Conn&) { ++seen; };
    // A call visits at most `budget` slots: 10 slots hold at most 5 expired entries.
    const uint64_t now = uint64_t{100} << kTickShift;  // tick 100
    EXPECT_LE(ct.sweep(now, 10, count), 5u);
    // One full turn of the cursor finds every other expired entry.
    ct.sweep(now, 1024, count);
    EXPECT_EQ(seen, 50u);
    EXPECT_EQ(ct.size(), 50u);
    ct.for_each([](uint32_t, const Conn& c) { EXPECT_EQ(c.expire, 1000u); });
    // Swept entries are gone from the index too, live ones stay.
    for (uint32_t i = 0; i < 100; ++i) {
        const Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        EXPECT_EQ(ct.lookup(c.reply_key()) == kMiss, i % 2 == 0) << i;
    }
}

TEST(ConnTable, EvictHalfOpenTakesTheStalestAndNeverAnEstablished) {
    auto t = new_table(16);
    ConnTable& ct = *t;
    uint64_t timeout[kNumStates] = {};
    for (auto& x : timeout) {
        x = uint64_t{100} << kTickShift;
    }
    const uint64_t now = uint64_t{2000} << kTickShift;
    for (uint32_t i = 0; i < 16; ++i) {
        Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        c.state = i < 8 ? TcpState::Established : TcpState::SynRecv;
        c.expire = 1000 + i;  // entry 8 is the stalest half-open one
        ASSERT_NE(ct.insert(c, true), kMiss);
    }
    const Conn stalest = make(0x0a000000u + 8, 9, 0x0b0010ac);
    std::vector<uint32_t> gone;
    EXPECT_TRUE(ct.evict_half_open(16, now, timeout,
                                   [&](const Conn& c) { gone.push_back(c.client.saddr); }));
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], stalest.client.saddr);
    EXPECT_EQ(ct.lookup(stalest.client), kMiss);
    EXPECT_EQ(ct.lookup(stalest.reply_key()), kMiss);
    // drop_entries removes the other half-open ones, never the established ones.
    EXPECT_EQ(ct.drop_entries(16, 0, [](const Conn&) {}), 7u);
    EXPECT_EQ(ct.size(), 8u);
    EXPECT_FALSE(ct.evict_half_open(16, now, timeout, [](const Conn&) {}));
    ct.for_each([](uint32_t, const Conn& c) { EXPECT_EQ(c.state, TcpState::Established); });
}

// The entry layout (issue 15: 48 bytes per connection, 64 with the index at 10M).
static_assert(sizeof(Conn) == 32 && alignof(Conn) == 32);
static_assert(sizeof(ConnCold) == 16);
static_assert(offsetof(Conn, client) == 0 && offsetof(Conn, raddr) == 16 &&
              offsetof(Conn, rport) == 20 && offsetof(Conn, state) == 22 &&
              offsetof(Conn, flags) == 23 && offsetof(Conn, expire) == 24 &&
              offsetof(Conn, dest_slot) == 28);

TEST(ConnTable, TwoEntriesShareACacheLineAndTheColdPartsFollowTheirIndex) {
    auto t = new_table(64);
    ConnTable& ct = *t;
    // Entries are 32-byte aligned in a 64-byte aligned array: entry 2i and 2i+1 share a line.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&ct.at(0)) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&ct.at(1)) - reinterpret_cast<uintptr_t>(&ct.at(0)), 32u);
    Conn c = make(0x0a000001u, 9, 0x0b0010ac);
    c.dest_slot = 65535;  // the widest slots Conn holds
    c.svc_slot = kConnMaxSvcSlots - 1;
    c.fwd = 2;
    c.state = TcpState::Established;
    c.flags = kConnInactive;
    ConnCold cold;
    cold.tmpl = 77;
    cold.sync_countdown = 5;
    cold.synp_seq = 0xdeadbeefu;
    cold.tun_port = 0x1234;
    cold.encap = 3;
    cold.synced_state = 4;
    const uint32_t idx = ct.insert(c, cold, true, ConnTable::hash(c.client));
    ASSERT_NE(idx, kMiss);
    const Conn& e = ct.at(idx);
    EXPECT_TRUE(e.in_use());
    EXPECT_EQ(e.flags, kConnInactive | kConnHasReply | kConnInUse);
    EXPECT_EQ(e.dest_slot, 65535u);
    EXPECT_EQ(e.svc_slot, kConnMaxSvcSlots - 1);
    EXPECT_EQ(e.fwd, 2u);  // the bit-fields keep apart
    EXPECT_EQ(e.raddr, 0x0b0010acu);
    EXPECT_EQ(&ct.cold(e), &ct.cold(idx));
    EXPECT_TRUE(ct.owns(e));
    EXPECT_FALSE(ct.owns(c));
    EXPECT_EQ(ct.cold(idx).tmpl, 77u);
    EXPECT_EQ(ct.cold(idx).sync_countdown, 5u);
    EXPECT_EQ(ct.cold(idx).synp_seq, 0xdeadbeefu);
    EXPECT_EQ(ct.cold(idx).tun_port, 0x1234);
    EXPECT_EQ(ct.cold(idx).encap, 3);
    EXPECT_EQ(ct.cold(idx).synced_state, 4);
    // The flags a caller passes cannot claim kConnInUse; removal clears it, and the entry's
    // next use (the free list runs through raddr) takes the new connection's cold part whole.
    ct.remove(idx);
    EXPECT_FALSE(ct.at(idx).in_use());
    Conn d = make(0x0a000002u, 9, 0x0b0010ad);
    d.flags = kConnInUse;
    const uint32_t again = ct.insert(d, false);
    ASSERT_EQ(again, idx);
    EXPECT_EQ(ct.at(again).raddr, 0x0b0010adu);
    EXPECT_EQ(ct.cold(again).tmpl, 0xffffffffu);
    EXPECT_EQ(ct.cold(again).synced_state, 0xff);
    EXPECT_EQ(ct.lookup(d.client), again << 1);
    EXPECT_EQ(ct.audit_for_test(), 0u);
}

TEST(ConnTable, SweepExpiresAcrossTheTickWrap) {
    auto t = new_table(64);
    ConnTable& ct = *t;
    // The tick counter wraps at TSC 2^56. Entries born 100 ticks before it: with 50 ticks to
    // live (dying before the wrap) and with 200 (dying after it, at tick 100 of the next turn).
    const uint64_t tick = uint64_t{1} << kTickShift;
    const uint64_t wrap = uint64_t{1} << (32 + kTickShift);
    const uint64_t born = wrap - 100 * tick;
    for (uint32_t i = 0; i < 20; ++i) {
        Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        c.expire = expire_at(born, (i % 2 == 0 ? 50 : 200) * tick);
        ASSERT_NE(ct.insert(c, true), kMiss);
    }
    uint32_t seen = 0;
    auto count = [&](uint32_t, const Conn&) { ++seen; };
    EXPECT_EQ(ct.sweep(born, 64, count), 0u);
    // Just past the wrap: the short-lived ones are dead (their tick is "before" a small one).
    EXPECT_EQ(ct.sweep(wrap + tick, 64, count), 10u);
    EXPECT_EQ(ct.size(), 10u);
    EXPECT_EQ(ct.sweep(wrap + 99 * tick, 64, count), 0u);
    EXPECT_EQ(ct.sweep(wrap + 100 * tick, 64, count), 10u);
    EXPECT_EQ(seen, 20u);
    EXPECT_EQ(ct.size(), 0u);
}

TEST(ConnTable, EvictHalfOpenFindsTheStalestAcrossTheTickWrap) {
    auto t = new_table(8);
    ConnTable& ct = *t;
    const uint64_t tick = uint64_t{1} << kTickShift;
    const uint64_t wrap = uint64_t{1} << (32 + kTickShift);
    uint64_t timeout[kNumStates] = {};
    for (auto& x : timeout) {
        x = 60 * tick;
    }
    // Last packets at wrap - 5, wrap - 3 (the stalest two, before the wrap) and wrap + 2 ticks:
    // their expiry ticks straddle 0, where an unsigned compare would pick the newest.
    const uint64_t last[] = {wrap + 2 * tick, wrap - 3 * tick, wrap - 5 * tick};
    for (uint32_t i = 0; i < 3; ++i) {
        Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        c.state = TcpState::SynRecv;
        c.expire = expire_at(last[i], timeout[static_cast<size_t>(TcpState::SynRecv)]);
        ASSERT_NE(ct.insert(c, true), kMiss);
    }
    std::vector<uint32_t> gone;
    auto note = [&](const Conn& c) { gone.push_back(c.client.saddr); };
    ASSERT_TRUE(ct.evict_half_open(8, wrap + 10 * tick, timeout, note));
    ASSERT_TRUE(ct.evict_half_open(8, wrap + 10 * tick, timeout, note));
    ASSERT_EQ(gone.size(), 2u);
    EXPECT_EQ(gone[0], 0x0a000002u);
    EXPECT_EQ(gone[1], 0x0a000001u);
}

TEST(ConnTable, DropEntriesTakesUdpIdleAMinuteAcrossTheTickWrap) {
    auto t = new_table(8);
    ConnTable& ct = *t;
    const uint64_t tick = uint64_t{1} << kTickShift;
    const uint64_t wrap = uint64_t{1} << (32 + kTickShift);
    // Two UDP entries expiring 10 ticks before and 10 after the wrap; the cut-off is the wrap.
    for (uint32_t i = 0; i < 2; ++i) {
        Conn c = make(0x0a000000u + i, 9, 0x0b0010ac);
        c.client.proto = 17;
        c.state = TcpState::Udp;
        c.expire = tick_of(i == 0 ? wrap - 10 * tick : wrap + 10 * tick);
        ASSERT_NE(ct.insert(c, true), kMiss);
    }
    std::vector<uint32_t> gone;
    // 0 names no time: nothing qualifies (a UDP timeout of a minute or less).
    EXPECT_EQ(ct.drop_entries(8, 0, [&](const Conn& c) { gone.push_back(c.client.saddr); }), 0u);
    EXPECT_EQ(ct.drop_entries(8, wrap, [&](const Conn& c) { gone.push_back(c.client.saddr); }), 1u);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], 0x0a000000u);
}

/// Random inserts (NAT and not), removals and lookups (single and bulk, both directions, and
/// absent keys) against a std::unordered_map model of key -> lookup result.
void differential(uint32_t (*hash_fn)(const FlowKey&), uint32_t cap, uint32_t ops, uint32_t seed) {
    auto t = new_table(cap);
    ConnTable& ct = *t;
    ct.set_hash_for_test(hash_fn);
    struct KeyHash {
        size_t operator()(const FlowKey& k) const { return ConnTable::hash(k); }
    };
    std::unordered_map<FlowKey, uint32_t, KeyHash> model;
    std::vector<uint32_t> live;  // entry indices
    std::mt19937 rng(seed);
    uint32_t next = 1;
    auto fresh = [&] {
        // Unique client keys; the real server varies so reply keys stay unique too.
        const uint32_t n = next++;
        return make(0x0a000000u + n, static_cast<uint16_t>(n * 2654435761u >> 16),
                    0xac000000u + (n & 0xff));
    };
    uint32_t refused = 0;
    std::vector<uint32_t> staged;  // entries whose reply key is staged, in staging order
    auto commit = [&] {
        uint32_t out[ConnTable::kMaxStaged];
        const uint32_t n = ct.commit_staged(out);
        std::vector<uint32_t> gone;
        for (uint32_t r = 0; r < n; ++r) {
            gone.push_back(ct.staged_entry(out[r]));
        }
        for (uint32_t idx : staged) {
            if (std::find(gone.begin(), gone.end(), idx) == gone.end()) {
                model[ct.at(idx).reply_key()] = idx << 1 | kReplyBit;
            }
        }
        for (uint32_t idx : gone) {
            // What the worker does with a refused one: remove it.
            ++refused;
            model.erase(ct.at(idx).client);
            ct.remove(idx);
            std::erase(live, idx);
        }
        staged.clear();
    };
    for (uint32_t op = 0; op < ops; ++op) {
        const uint32_t r = rng() % 100;
        if (r < 40) {
            const Conn c = fresh();
            const bool nat = (rng() & 1) != 0;
            const bool stage = nat && rng() % 3 == 0 && ct.staged() < ConnTable::kMaxStaged;
            const uint32_t idx = stage      ? ct.insert_staged(c, hash_fn(c.client))
                                 : rng() & 2 ? ct.insert(c, nat)
                                             : ct.insert(c, nat, hash_fn(c.client));
            if (idx == kMiss) {
                ++refused;
                ASSERT_EQ(model.count(c.client), 0u);
                continue;
            }
            ASSERT_EQ(ct.at(idx).in_use(), true);
            model[c.client] = idx << 1;
            if (stage) {
                staged.push_back(idx);  // its reply key is found from the commit on
            } else if (nat) {
                model[c.reply_key()] = idx << 1 | kReplyBit;
            }
            live.push_back(idx);
        } else if (r < 70 && !live.empty()) {
            const size_t pos = rng() % live.size();
            const uint32_t idx = live[pos];
            const Conn& c = ct.at(idx);
            model.erase(c.client);
            if (c.flags & kConnHasReply) {
                model.erase(c.reply_key());
            }
            std::erase(staged, idx);
            ct.remove(idx);
            live[pos] = live.back();
            live.pop_back();
        } else {
            if (rng() & 1) {
                commit();  // the end of a burst's stage 3
            }
            // A bulk of up to 32 keys: live ones in either direction, and absent ones.
            std::vector<FlowKey> keys;
            const uint32_t n = 1 + rng() % ConnTable::kMaxBulk;
            for (uint32_t i = 0; i < n; ++i) {
                if (!live.empty() && (rng() & 3) != 0) {
                    const Conn& c = ct.at(live[rng() % live.size()]);
                    keys.push_back((rng() & 1) && (c.flags & kConnHasReply) ? c.reply_key()
                                                                            : c.client);
                } else {
                    keys.push_back(make(0x0f000000u + rng() % 1000, 1, 0).client);
                }
            }
            const FlowKey* kp[ConnTable::kMaxBulk];
            uint32_t hashes[ConnTable::kMaxBulk];
            uint32_t res[ConnTable::kMaxBulk];
            for (uint32_t i = 0; i < n; ++i) {
                kp[i] = &keys[i];
                hashes[i] = hash_fn(keys[i]);
            }
            ct.lookup_bulk(kp, hashes, n, res);
            for (uint32_t i = 0; i < n; ++i) {
                const auto it = model.find(keys[i]);
                const uint32_t want = it == model.end() ? kMiss : it->second;
                ASSERT_EQ(res[i], want) << "op " << op << " key " << i;
                ASSERT_EQ(ct.lookup(keys[i]), want) << "op " << op;
            }
        }
        ASSERT_EQ(ct.size(), live.size());
        if (op % 1024 == 0) {
            ASSERT_EQ(ct.audit_for_test(), 0u) << "op " << op;
        }
    }
    commit();
    ASSERT_EQ(ct.audit_for_test(), 0u);
    // Everything the model holds is found; then empty the table and find nothing.
    for (const auto& [k, v] : model) {
        ASSERT_EQ(ct.lookup(k), v);
    }
    for (uint32_t idx : live) {
        ct.remove(idx);
    }
    EXPECT_EQ(ct.size(), 0u);
    for (const auto& [k, v] : model) {
        ASSERT_EQ(ct.lookup(k), kMiss);
    }
    ::testing::Test::RecordProperty("refused", static_cast<int>(refused));
}

TEST(ConnTable, DifferentialAgainstAModelWithTheRealHash) {
    differential(&ConnTable::hash, 4096, 200000, 1);
}

TEST(ConnTable, DifferentialAgainstAModelUnderHeavyCollisions) {
    // 64 buckets, 4 signatures, 256 connections: full buckets, moves and refusals all the time.
    differential(narrow_hash, 256, 200000, 2);
}

TEST(ConnTable, DifferentialAgainstAModelWithOneBucketPair) {
    differential(same_hash, 64, 50000, 3);
}

}  // namespace
}  // namespace dirigo::ct

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("conn_table_test", "0", "128"));
    return RUN_ALL_TESTS();
}
