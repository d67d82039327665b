// SPDX-License-Identifier: BSD-3-Clause
// The IPv6 connection table: both keys of a NAT connection name one entry, removal, the newest
// connection winning a shared reply key, expiry by the bounded sweep, and a full table refusing.

#include <cstring>
#include <memory>
#include <string>

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "conntrack/conn_table6.hpp"
#include "tests/dataplane/harness.hpp"

namespace dirigo::ct {
namespace {

void addr(uint8_t* out, const char* s) {
    ASSERT_EQ(inet_pton(AF_INET6, s, out), 1) << s;
}

Conn6 conn(uint16_t cport, const char* rs = "2001:db8:2::11") {
    Conn6 c;
    addr(c.client.saddr, "2001:db8:1::2");
    addr(c.client.daddr, "2001:db8:1::100");
    c.client.sport = htons(cport);
    c.client.dport = htons(80);
    c.client.proto = 6;
    addr(c.raddr, rs);
    c.rport = htons(8080);
    c.expire = 1000;
    return c;
}

std::unique_ptr<ConnTable6> make(uint32_t cap) {
    static int seq = 0;
    auto t = ConnTable6::create("ct6test" + std::to_string(seq++), cap, 0);
    EXPECT_TRUE(t) << t.status().message();
    return t ? std::move(*t) : nullptr;
}

TEST(ConnTable6, BothKeysNameOneEntryAndRemoveForgetsBoth) {
    auto t = make(64);
    ASSERT_NE(t, nullptr);
    const Conn6 c = conn(40000);
    const uint32_t idx = t->insert(c, true);
    ASSERT_NE(idx, kMiss);
    EXPECT_EQ(t->size(), 1u);
    EXPECT_TRUE(t->at(idx).in_use);
    EXPECT_NE(t->at(idx).flags & kConnHasReply, 0);
    const uint32_t in = t->lookup(c.client);
    ASSERT_NE(in, kMiss);
    EXPECT_EQ(lookup_index(in), idx);
    EXPECT_FALSE(lookup_is_reply(in));
    const uint32_t out = t->lookup(c.reply_key());
    ASSERT_NE(out, kMiss);
    EXPECT_EQ(lookup_index(out), idx);
    EXPECT_TRUE(lookup_is_reply(out));
    // Another client port is another flow.
    EXPECT_EQ(t->lookup(conn(40001).client), kMiss);
    t->remove(idx);
    EXPECT_EQ(t->size(), 0u);
    EXPECT_EQ(t->lookup(c.client), kMiss);
    EXPECT_EQ(t->lookup(c.reply_key()), kMiss);
    // Without a reply key (not NAT), only the client key finds it.
    const uint32_t j = t->insert(c, false);
    ASSERT_NE(j, kMiss);
    EXPECT_EQ(t->lookup(c.reply_key()), kMiss);
    EXPECT_NE(t->lookup(c.client), kMiss);
}

TEST(ConnTable6, TheNewestConnectionWinsASharedReplyKey) {
    auto t = make(64);
    ASSERT_NE(t, nullptr);
    Conn6 a = conn(40000);
    Conn6 b = conn(40000);
    addr(b.client.daddr, "2001:db8:1::200");  // another VIP, same server and client port
    const uint32_t ia = t->insert(a, true);
    const uint32_t ib = t->insert(b, true);
    ASSERT_NE(ia, kMiss);
    ASSERT_NE(ib, kMiss);
    EXPECT_EQ(lookup_index(t->lookup(a.reply_key())), ib);
    EXPECT_EQ(t->at(ia).flags & kConnHasReply, 0);
    // Removing the older one leaves the newer's reply key alone.
    t->remove(ia);
    EXPECT_EQ(lookup_index(t->lookup(b.reply_key())), ib);
    EXPECT_EQ(lookup_index(t->lookup(b.client)), ib);
}

TEST(ConnTable6, SweepExpiresBoundedAndAFullTableRefuses) {
    constexpr uint32_t kCap = 16;
    auto t = make(kCap);
    ASSERT_NE(t, nullptr);
    for (uint32_t i = 0; i < kCap; ++i) {
        Conn6 c = conn(static_cast<uint16_t>(1000 + i));
        c.expire = i < 8 ? 100 : 5000;
        ASSERT_NE(t->insert(c, true), kMiss) << i;
    }
    EXPECT_EQ(t->size(), kCap);
    EXPECT_EQ(t->insert(conn(2000), true), kMiss);  // full
    EXPECT_EQ(t->lookup(conn(2000).client), kMiss);
    // A budget of 4 examines 4 entries only.
    uint32_t seen = 0;
    EXPECT_EQ(t->sweep(200, 4, [&](uint32_t, const Conn6&) { ++seen; }), 4u);
    EXPECT_EQ(seen, 4u);
    EXPECT_EQ(t->sweep(200, 64,
                       [&](uint32_t, const Conn6& c) {
                           EXPECT_LE(c.expire, 200u);
                           ++seen;
                       }),
              4u);
    EXPECT_EQ(seen, 8u);
    EXPECT_EQ(t->size(), kCap - 8);
    EXPECT_EQ(t->lookup(conn(1000).client), kMiss);
    EXPECT_EQ(t->lookup(conn(1000).reply_key()), kMiss);
    EXPECT_NE(t->lookup(conn(1008).client), kMiss);
    // Room again: the freed entries are reused.
    EXPECT_NE(t->insert(conn(2000), true), kMiss);
    EXPECT_NE(t->lookup(conn(2000).reply_key()), kMiss);
}

TEST(ConnTable6, RefusesAnUnusableSize) {
    EXPECT_FALSE(ConnTable6::create("ct6tiny", 4, 0));
}

}  // namespace
}  // namespace dirigo::ct

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new dirigo::test::EalEnv("conn_table6_test", "0", "128"));
    return RUN_ALL_TESTS();
}
