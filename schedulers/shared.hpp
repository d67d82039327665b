// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// SchedShared: the per-service state that outlives snapshots (see scheduler.hpp).
///
/// Two kinds of fields, kept on separate cache lines:
///  - worker-shared: the rr/wrr cursor (one atomic, alone on its line, RMW'd once per new flow by
///    every worker) and the lblc/lblcr LocalityTable;
///  - control-only (CtlMemory): what the previous build looked like, so that the next build can
///    carry IPVS's scheduler state across a change the way IPVS's add_dest/del_dest/upd_dest
///    hooks do. Only Scheduler::build reads or writes it, on the control thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "schedulers/locality_table.hpp"
#include "schedulers/scheduler.hpp"

namespace dirigo::sched {

/// Control-thread memory of the previous build on a SchedShared.
struct CtlMemory {
    bool built = false;
    std::vector<uint64_t> keys;    ///< servers (detail::dest_key) in list order
    std::vector<int32_t> weights;  ///< their weights

    // wrr: the previous plan, to decode the cursor into IPVS's current weight `cw`.
    bool wrr_direct = false;                ///< cursor packs (cw, position) instead of an index
    int32_t wrr_mw = 0;                     ///< IPVS's mark->mw
    std::vector<uint32_t> wrr_round_start;  ///< table index where each pass starts
    std::vector<int32_t> wrr_round_cw;      ///< the cw of each pass (descending)
    int32_t wrr_cw_set = 0;                 ///< the cw of the cursor control last stored

    // mh: IPVS's dest->last_weight (the latest non-zero weight) per server.
    std::unordered_map<uint64_t, int32_t> last_weight;

    // lblc/lblcr: stable server ids, so that table entries survive list changes.
    std::vector<uint64_t> id_keys;                 ///< id -> server
    std::unordered_map<uint64_t, uint16_t> id_of;  ///< server -> id
    uint32_t epoch = 1;                            ///< bumped when ids are reassigned
};

struct SchedShared {
    SchedShared(SchedKind k, const SchedOptions& o);

    const SchedKind kind;
    const SchedOptions opts;

    /// rr/wrr position, global across workers: every pick advances it by one CAS, so N picks
    /// from any mix of threads walk the sequence exactly once each. Alone on its cache line.
    alignas(64) std::atomic<uint64_t> cursor{0};

    /// lblc/lblcr destination table (null for other kinds). Starts a new cache line so the
    /// cursor's line holds nothing else.
    alignas(64) std::unique_ptr<LocalityTable> locality;

    /// Control thread only.
    CtlMemory ctl;
};

}  // namespace dirigo::sched
