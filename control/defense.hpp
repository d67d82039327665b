// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// IPVS's defence level (ip_vs_ctl.c's update_defense_level), computed by control from the
/// config's modes and the workers' connection-table occupancy.
///
/// IPVS asks "is memory low?" (free pages below amemthresh) once a second. Dirigo's memory is
/// fixed at start-up, so its analogue is the connection tables: memory is low while some worker's
/// table has fewer than `amemthresh` free entries. Then, for each strategy: mode 0 is off, 3 is
/// always on, and 1 and 2 are automatic: on while memory is low. As IPVS rewrites its sysctl, the
/// mode reads 2 while the automatic strategy is on and 1 while it is off. drop_packet's rate is
/// IPVS's too: am_droprate in mode 3, amemthresh / (amemthresh - free) when automatic (so one SYN
/// in 1 at an empty table's last entry, one in amemthresh just below the threshold).
/// Everything here runs on the control thread: the division never reaches a worker.

#include <cstdint>

#include "config/config.hpp"
#include "dataplane/defense.hpp"

namespace dirigo::ctl {

/// The modes as they read now (an automatic mode flips between 1 and 2).
struct DefenseModes {
    uint8_t drop_entry = 0;
    uint8_t drop_packet = 0;
    uint8_t secure_tcp = 0;
    uint8_t syn_proxy = 0;
    bool operator==(const DefenseModes&) const = default;
};

/// The modes a config starts with.
inline DefenseModes initial_modes(const cfg::DefenseCfg& c) {
    return {c.drop_entry, c.drop_packet, c.secure_tcp, c.syn_proxy};
}

/// One evaluation: updates `modes` (1 <-> 2) and returns what the workers must do, given the
/// fewest free entries of any worker's table. Thread: control. Cost: O(1).
dp::DefenseParams update_defense(const cfg::DefenseCfg& cfg, DefenseModes& modes,
                                 uint32_t free_entries);

}  // namespace dirigo::ctl
