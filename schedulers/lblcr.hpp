// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// lblcr: locality-based least connection with replication (ip_vs_lblcr.c). A table shared by
/// all workers maps a destination address to a SET of servers (newest first). A flow goes to the
/// set's weighted least-connection member; if there is none, or it is overloaded in lblc's sense,
/// wlc over all servers chooses and the choice joins the set. A set with more than one member
/// that has not changed for SchedOptions::locality_expire_ms (24 h) drops its most loaded member
/// (one per pick). Entries unused that long are forgotten.
/// Differences from IPVS, deliberate: a set holds at most LocSlot::kSetMax (16) members (joining
/// a full set drops its oldest member); members that left the service are purged whenever the
/// entry is rewritten; a cached member flagged overloaded is never used (see lblc.hpp).

#include <string_view>

#include "schedulers/detail.hpp"
#include "schedulers/lblc.hpp"

namespace dirigo::sched {

struct LocalityLeastConnectionReplicated {
    static constexpr SchedKind kKind = SchedKind::Lblcr;
    static constexpr std::string_view kName = "lblcr";

    struct Table {
        LocalityView view;
    };

    /// Thread: control.
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: up to LocalityTable::kProbe lines for the lookup, O(set) to choose
    /// within the set, O(n) on a miss. Writes the shared table only when the set changes.
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput& in) noexcept;
};

static_assert(detail::Policy<LocalityLeastConnectionReplicated>);

}  // namespace dirigo::sched
