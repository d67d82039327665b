// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// lblc: locality-based least connection (ip_vs_lblc.c). A table shared by all workers maps a
/// destination address to the server last chosen for it. The cached server is used while it has
/// weight > 0, is not flagged overloaded and is not "overloaded" in lblc's sense (is_overloaded:
/// active > weight while some server has active * 2 < weight); otherwise wlc chooses and the
/// entry is rewritten. Entries unused for SchedOptions::locality_expire_ms (24 h) are forgotten.
/// Deliberate difference: IPVS uses a cached server even when its u_threshold flag is set; Dirigo
/// never sends new flows to a flagged server (ipvsadm's documented -x contract).
///
/// Table entries name servers by a stable id kept in SchedShared (CtlMemory::id_of), so they
/// survive snapshots and list changes; a server that left the list reads as unavailable.

#include <string_view>
#include <vector>

#include "schedulers/detail.hpp"
#include "schedulers/locality_table.hpp"

namespace dirigo::sched {

/// The lblc/lblcr view of the shared table for one Scheduler.
struct LocalityView {
    LocalityTable* table = nullptr;
    uint32_t epoch = 0;
    uint64_t expire_ms = 0;
    std::vector<BackendIdx> idx_of;  ///< stable id -> index in this list, kNoBackend if absent

    BackendIdx index(uint16_t id) const noexcept {
        return id < idx_of.size() ? idx_of[id] : kNoBackend;
    }
};

/// Assigns stable ids (into ctx.dests[i].id) and builds the view. Ids are reassigned, and the
/// epoch bumped (forgetting every entry), only when 65534 distinct servers have been seen.
/// Thread: control.
LocalityView make_locality_view(detail::BuildCtx& ctx);

/// lblc's is_overloaded(): active > weight while some server of the list has
/// active * 2 < weight. Thread: worker. Cost: O(n) only when active > weight.
inline bool locality_overloaded(const detail::DestRef& d, detail::Dests ds) noexcept {
    if (detail::active_conns(d) <= d.weight) {
        return false;
    }
    for (uint32_t i = 0; i < ds.n; ++i) {
        if (detail::active_conns(ds[i]) * 2 < ds[i].weight) {
            return true;
        }
    }
    return false;
}

struct LocalityLeastConnection {
    static constexpr SchedKind kKind = SchedKind::Lblc;
    static constexpr std::string_view kName = "lblc";

    struct Table {
        LocalityView view;
    };

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: up to LocalityTable::kProbe lines for the lookup; O(n) on a miss.
    /// Writes the shared table only when the choice changes.
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput& in) noexcept;
};

static_assert(detail::Policy<LocalityLeastConnection>);

}  // namespace dirigo::sched
