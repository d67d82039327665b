// SPDX-License-Identifier: BSD-3-Clause
// The owner function against the NIC's hash: with RSS, the owner of a flow must be the queue a
// NIC hashing Toeplitz (rte_softrss, DPDK's reference) with Dirigo's key sends both directions of
// a NAT flow to: client -> VIP hashed on the source only, real server -> client on the
// destination only; whichever way a driver lays out a partial tuple. Also rss_plan's decision on
// the capabilities devices report.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_thash.h>

#include "dataplane/dataplane.hpp"
#include "dataplane/ownership.hpp"

namespace dirigo::dp {
namespace {

struct Flow {
    uint32_t client;  // network order
    uint16_t cport;   // network order
    uint32_t vip;
    uint16_t vport;
    uint32_t rs;
    uint16_t rport;
};

Flow random_flow(std::mt19937_64& rng) {
    Flow f;
    f.client = static_cast<uint32_t>(rng());
    f.cport = static_cast<uint16_t>(rng());
    f.vip = static_cast<uint32_t>(rng());
    f.vport = static_cast<uint16_t>(rng());
    f.rs = static_cast<uint32_t>(rng());
    f.rport = static_cast<uint16_t>(rng());
    return f;
}

// A 40-byte key (most NICs) and a 52-byte one (i40e): only the first 12 bytes matter to a
// 12-byte input, the rest checks that Dirigo's key is the same at any length.
template <size_t N>
struct Key {
    alignas(4) uint8_t bytes[N];
    alignas(4) uint8_t converted[N];
    Key() {
        rss_key(bytes, N);
        rte_convert_rss_key(reinterpret_cast<const uint32_t*>(bytes),
                            reinterpret_cast<uint32_t*>(converted), static_cast<int>(N));
    }
};

// Hash inputs as rte_softrss takes them: host-order 32-bit words of the bytes on the wire.
uint32_t softrss(const std::vector<uint32_t>& words, const uint8_t* key) {
    std::vector<uint32_t> w = words;
    return rte_softrss(w.data(), static_cast<uint32_t>(w.size()), key);
}

uint32_t softrss_be(const std::vector<uint32_t>& words, const uint8_t* key) {
    std::vector<uint32_t> w = words;
    return rte_softrss_be(w.data(), static_cast<uint32_t>(w.size()), key);
}

// The four ways a NIC may hash "source only" of client -> VIP and "destination only" of
// real server -> client: the selected fields packed, or the full IPv4 tuple
// (src, dst, sport, dport) with the other fields zeroed.
struct Inputs {
    std::vector<uint32_t> in_packed, in_zeroed, reply_packed, reply_zeroed, full_in;
};

Inputs inputs(const Flow& f) {
    const uint32_t c = rte_be_to_cpu_32(f.client);
    const uint32_t cp = rte_be_to_cpu_16(f.cport);
    Inputs in;
    // client -> VIP, source only.
    in.in_packed = {c, cp << 16};
    in.in_zeroed = {c, 0, cp << 16};
    // real server -> client, destination only (the reply after NAT's reverse rewrite is still
    // addressed to the client's own address and port).
    in.reply_packed = {c, cp << 16};
    in.reply_zeroed = {0, c, cp};
    in.full_in = {c, rte_be_to_cpu_32(f.vip), cp << 16 | rte_be_to_cpu_16(f.vport)};
    return in;
}

TEST(OwnershipTest, RssHashIsToeplitzOfBothDirections) {
    std::mt19937_64 rng(15);
    const Key<40> k40;
    const Key<52> k52;
    const FlowOwners o = FlowOwners::rss(4, 128);
    uint32_t full_differs = 0;
    for (int i = 0; i < 100000; ++i) {
        const Flow f = random_flow(rng);
        const Inputs in = inputs(f);
        const uint32_t h = o.rss_hash(f.client, f.cport);
        for (const uint8_t* key : {k40.bytes, k52.bytes}) {
            ASSERT_EQ(softrss(in.in_packed, key), h);
            ASSERT_EQ(softrss(in.in_zeroed, key), h);
            ASSERT_EQ(softrss(in.reply_packed, key), h);
            ASSERT_EQ(softrss(in.reply_zeroed, key), h);
        }
        for (const uint8_t* key : {k40.converted, k52.converted}) {
            ASSERT_EQ(softrss_be(in.in_zeroed, key), h);
            ASSERT_EQ(softrss_be(in.reply_zeroed, key), h);
        }
        // The hash is over the client's end only: the full tuple differs (so the test is not
        // comparing a constant).
        full_differs += softrss(in.full_in, k40.bytes) != h;
    }
    EXPECT_GT(full_differs, 99000u);
}

// The owner is the queue of the device's table, for the owner's table size and for devices
// whose table is larger (Dataplane fills it by repeating the owner's).
TEST(OwnershipTest, OwnerIsTheQueueOfBothDirections) {
    std::mt19937_64 rng(3);
    const Key<40> key;
    for (uint32_t n : {1u, 2u, 3u, 4u, 16u}) {
        for (uint32_t reta : {16u, 64u, 128u, 512u, 2048u}) {
            if (reta < n) {
                continue;
            }
            const FlowOwners o = FlowOwners::rss(n, reta);
            ASSERT_TRUE(o.is_rss());
            ASSERT_EQ(o.reta_size(), std::min(reta, kOwnerRetaMax));  // ice's 2048: clamped
            for (uint32_t dev_reta : {reta, reta * 4}) {
                // The port's table as Dataplane programs it.
                std::vector<uint16_t> table(dev_reta);
                for (uint32_t i = 0; i < dev_reta; ++i) {
                    table[i] = o.reta_entry(i);
                    ASSERT_LT(table[i], n);
                }
                std::vector<uint32_t> per(n);
                for (int i = 0; i < 20000; ++i) {
                    const Flow f = random_flow(rng);
                    const Inputs in = inputs(f);
                    const uint32_t q_in = table[softrss(in.in_zeroed, key.bytes) & (dev_reta - 1)];
                    const uint32_t q_reply =
                        table[softrss(in.reply_packed, key.bytes) & (dev_reta - 1)];
                    ASSERT_EQ(q_in, q_reply) << "n " << n << " reta " << dev_reta;
                    ASSERT_EQ(o.owner(f.client, f.cport), q_in)
                        << "n " << n << " reta " << dev_reta;
                    ++per[q_in];
                }
                // Every worker owns its table entries' share (n = 3 over 16 entries: 6, 5, 5),
                // within four standard deviations of the sampling.
                const auto [lo, hi] = std::minmax_element(per.begin(), per.end());
                const double flows = 20000.0;
                const double most = (reta + n - 1) / n * flows / reta;
                const double least = reta / n * flows / reta;
                EXPECT_LT(*hi, most + 4 * std::sqrt(most)) << "n " << n << " reta " << reta;
                EXPECT_GT(*lo, least - 4 * std::sqrt(least)) << "n " << n << " reta " << reta;
            }
        }
    }
}

// Benchmark-style traffic: one client, consecutive source ports, spreads evenly too.
TEST(OwnershipTest, ConsecutivePortsSpread) {
    const FlowOwners o = FlowOwners::rss(4, 128);
    std::array<uint32_t, 4> per{};
    const uint32_t client = rte_cpu_to_be_32(0x0a000002);
    for (uint32_t p = 1024; p < 1024 + 4096; ++p) {
        ++per[o.owner(client, rte_cpu_to_be_16(static_cast<uint16_t>(p)))];
    }
    for (uint32_t c : per) {
        EXPECT_EQ(c, 1024u);
    }
}

TEST(OwnershipTest, SoftwareIsTheFibonacciHash) {
    std::mt19937_64 rng(7);
    for (uint32_t n : {1u, 2u, 4u, 7u}) {
        const FlowOwners o = FlowOwners::software(n);
        EXPECT_FALSE(o.is_rss());
        EXPECT_EQ(o.reta_size(), 0u);
        for (int i = 0; i < 1000; ++i) {
            const auto ip = static_cast<uint32_t>(rng());
            const auto port = static_cast<uint16_t>(rng());
            ASSERT_EQ(o.owner(ip, port), flow_owner(ip, port, n));
        }
    }
}

// ---- rss_plan: the decision on what a device reports ----

rte_eth_dev_info device(uint64_t rss, uint16_t key, uint16_t reta) {
    rte_eth_dev_info d{};
    d.flow_type_rss_offloads = rss;
    d.hash_key_size = static_cast<uint8_t>(key);
    d.reta_size = reta;
    d.max_rx_queues = 16;
    d.max_tx_queues = 16;
    return d;
}

constexpr uint64_t kOnly = RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L3_DST_ONLY |
                           RTE_ETH_RSS_L4_SRC_ONLY | RTE_ETH_RSS_L4_DST_ONLY;
// What mlx5 and ice report: every IPv4 type plus the field selections.
constexpr uint64_t kCapable = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP | kOnly;

TEST(RssPlanTest, CapableDevice) {
    const rte_eth_dev_info d = device(kCapable, 40, 512);
    const RssPlan c = rss_plan(d, cfg::PortSide::Client, 4, 4);
    ASSERT_TRUE(c.ok) << c.why;
    EXPECT_EQ(c.reta_size, 512u);
    const uint64_t l4 = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
    EXPECT_EQ(c.rss_hf & l4, l4);
    EXPECT_EQ(c.rss_hf & kOnly, RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L4_SRC_ONLY);
    const RssPlan s = rss_plan(d, cfg::PortSide::Server, 4, 4);
    ASSERT_TRUE(s.ok) << s.why;
    EXPECT_EQ(s.rss_hf & kOnly, RTE_ETH_RSS_L3_DST_ONLY | RTE_ETH_RSS_L4_DST_ONLY);
    const RssPlan b = rss_plan(d, cfg::PortSide::Both, 4, 4);
    ASSERT_TRUE(b.ok) << b.why;
    EXPECT_EQ(b.rss_hf & kOnly, RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L4_SRC_ONLY);
    // A 52-byte key (i40e) and a small table are fine too.
    EXPECT_TRUE(rss_plan(device(kCapable, 52, 64), cfg::PortSide::Client, 4, 4).ok);
}

TEST(RssPlanTest, DevicesThatCannot) {
    struct Case {
        const char* name;
        rte_eth_dev_info info;
        cfg::PortSide side;
        uint16_t rxq;
        const char* why;
    };
    const Case cases[] = {
        {"af_packet, net_ring, net_null: no RSS", device(0, 0, 0), cfg::PortSide::Client, 4,
         "no RSS"},
        {"net_tap: full tuples only",
         device(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP, 40, 16), cfg::PortSide::Client,
         4, "source only"},
        {"source only but the port faces servers",
         device(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_L3_SRC_ONLY |
                    RTE_ETH_RSS_L4_SRC_ONLY,
                40, 128),
         cfg::PortSide::Server, 4, "destination only"},
        {"no L4", device(RTE_ETH_RSS_IP | kOnly, 40, 128), cfg::PortSide::Client, 4, "TCP and UDP"},
        {"fewer RX queues than workers", device(kCapable, 40, 128), cfg::PortSide::Client, 2,
         "RX queue"},
        {"no key", device(kCapable, 0, 128), cfg::PortSide::Client, 4, "key"},
        {"table not a power of two", device(kCapable, 40, 96), cfg::PortSide::Client, 4,
         "redirection table"},
        {"table smaller than the workers", device(kCapable, 40, 2), cfg::PortSide::Client, 4,
         "redirection table"},
    };
    for (const Case& c : cases) {
        const RssPlan p = rss_plan(c.info, c.side, 4, c.rxq);
        EXPECT_FALSE(p.ok) << c.name;
        EXPECT_NE(p.why.find(c.why), std::string::npos) << c.name << ": " << p.why;
    }
}

}  // namespace
}  // namespace dirigo::dp
