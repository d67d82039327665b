// SPDX-License-Identifier: BSD-3-Clause
#include "control/defense.hpp"

namespace dirigo::ctl {
namespace {

/// One automatic-or-not strategy: whether it is on, with its mode moved as IPVS moves it.
bool level(uint8_t& mode, bool low) {
    switch (mode) {
        case 1:
        case 2:
            mode = low ? 2 : 1;
            return low;
        case 3:
            return true;
        default:
            return false;
    }
}

}  // namespace

dp::DefenseParams update_defense(const cfg::DefenseCfg& cfg, DefenseModes& modes,
                                 uint32_t free_entries) {
    const bool low = free_entries < cfg.amemthresh;
    dp::DefenseParams p;
    p.drop_entry = level(modes.drop_entry, low);
    p.secure_tcp = level(modes.secure_tcp, low);
    p.syn_proxy = level(modes.syn_proxy, low);
    p.syn_proxy_ack = modes.syn_proxy != 0;
    if (level(modes.drop_packet, low)) {
        // Mode 3 drops at the configured rate; automatic modes the harder the fuller the table.
        p.drop_rate = modes.drop_packet == 3 ? cfg.am_droprate
                                             : cfg.amemthresh / (cfg.amemthresh - free_entries);
    }
    return p;
}

}  // namespace dirigo::ctl
