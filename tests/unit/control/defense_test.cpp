// SPDX-License-Identifier: BSD-3-Clause
// IPVS's defence levels (update_defense_level) as control computes them from table occupancy.
#include "control/defense.hpp"

#include <gtest/gtest.h>

namespace dirigo::ctl {
namespace {

cfg::DefenseCfg modes(uint8_t entry, uint8_t packet, uint8_t secure) {
    cfg::DefenseCfg c;
    c.drop_entry = entry;
    c.drop_packet = packet;
    c.secure_tcp = secure;
    c.am_droprate = 10;
    c.amemthresh = 1000;
    return c;
}

TEST(Defense, ModeZeroIsOffWhateverTheOccupancy) {
    const cfg::DefenseCfg c = modes(0, 0, 0);
    DefenseModes m = initial_modes(c);
    for (uint32_t free_entries : {0u, 1u, 999u, 1000u, 100000u}) {
        EXPECT_EQ(update_defense(c, m, free_entries), dp::DefenseParams{});
        EXPECT_EQ(m, (DefenseModes{0, 0, 0}));
    }
}

TEST(Defense, ModeThreeIsAlwaysOnWithTheConfiguredRate) {
    const cfg::DefenseCfg c = modes(3, 3, 3);
    DefenseModes m = initial_modes(c);
    for (uint32_t free_entries : {0u, 500u, 100000u}) {
        const dp::DefenseParams p = update_defense(c, m, free_entries);
        EXPECT_TRUE(p.drop_entry);
        EXPECT_TRUE(p.secure_tcp);
        EXPECT_EQ(p.drop_rate, 10u);  // am_droprate
        EXPECT_EQ(m, (DefenseModes{3, 3, 3}));
    }
}

TEST(Defense, AutomaticModesFollowTheThresholdAndReadOneOrTwo) {
    for (uint8_t start : {uint8_t{1}, uint8_t{2}}) {
        const cfg::DefenseCfg c = modes(start, start, start);
        DefenseModes m = initial_modes(c);
        // Plenty of room (at the threshold is not below it): off, and the modes read 1.
        dp::DefenseParams p = update_defense(c, m, 1000);
        EXPECT_EQ(p, dp::DefenseParams{});
        EXPECT_EQ(m, (DefenseModes{1, 1, 1}));
        // Below the threshold: on, the modes read 2, the rate grows as room shrinks (IPVS's
        // amemthresh / (amemthresh - free)).
        p = update_defense(c, m, 999);
        EXPECT_TRUE(p.drop_entry);
        EXPECT_TRUE(p.secure_tcp);
        EXPECT_EQ(p.drop_rate, 1000u);
        EXPECT_EQ(m, (DefenseModes{2, 2, 2}));
        EXPECT_EQ(update_defense(c, m, 500).drop_rate, 2u);
        EXPECT_EQ(update_defense(c, m, 250).drop_rate, 1u);
        EXPECT_EQ(update_defense(c, m, 0).drop_rate, 1u);  // a full table: every new SYN
        // Room again: back off, back to 1.
        EXPECT_EQ(update_defense(c, m, 5000), dp::DefenseParams{});
        EXPECT_EQ(m, (DefenseModes{1, 1, 1}));
    }
}

TEST(Defense, StrategiesAreIndependent) {
    const cfg::DefenseCfg c = modes(1, 0, 3);
    DefenseModes m = initial_modes(c);
    dp::DefenseParams p = update_defense(c, m, 5000);
    EXPECT_FALSE(p.drop_entry);
    EXPECT_EQ(p.drop_rate, 0u);
    EXPECT_TRUE(p.secure_tcp);
    p = update_defense(c, m, 10);
    EXPECT_TRUE(p.drop_entry);
    EXPECT_EQ(p.drop_rate, 0u);
    EXPECT_TRUE(p.secure_tcp);
    EXPECT_EQ(m, (DefenseModes{2, 0, 3}));
}

TEST(Defense, SynProxyFollowsItsModeAndChecksAcksWhileNotOff) {
    cfg::DefenseCfg c = modes(0, 0, 0);
    c.syn_proxy = 0;
    DefenseModes m = initial_modes(c);
    dp::DefenseParams p = update_defense(c, m, 0);
    EXPECT_FALSE(p.syn_proxy);
    EXPECT_FALSE(p.syn_proxy_ack);

    c.syn_proxy = 3;
    m = initial_modes(c);
    p = update_defense(c, m, 100000);
    EXPECT_TRUE(p.syn_proxy);
    EXPECT_TRUE(p.syn_proxy_ack);
    EXPECT_FALSE(p.drop_entry);  // the others stay off

    c.syn_proxy = 1;
    m = initial_modes(c);
    p = update_defense(c, m, 5000);
    EXPECT_FALSE(p.syn_proxy);
    EXPECT_TRUE(p.syn_proxy_ack);  // cookies sent while it was on still open connections
    EXPECT_EQ(m.syn_proxy, 1);
    p = update_defense(c, m, 10);
    EXPECT_TRUE(p.syn_proxy);
    EXPECT_EQ(m.syn_proxy, 2);
    p = update_defense(c, m, 5000);
    EXPECT_FALSE(p.syn_proxy);
    EXPECT_TRUE(p.syn_proxy_ack);
    EXPECT_EQ(m.syn_proxy, 1);
}

}  // namespace
}  // namespace dirigo::ctl
