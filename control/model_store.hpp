// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The operator's rules as the control thread holds them, and the global slots they use.
///
/// A change is one transaction: prepare() applies a request (or a whole `-R` batch) to one copy of
/// the rules and assigns its slots, the caller builds the snapshot from that Change, and commit()
/// adopts it. Dropping a Change is the only rollback: nothing here is touched before commit(), so
/// a request lands entirely or not at all. Real servers and services get stable slots:
/// indexes into the shared DestCounters array and the workers' stats arrays. A removed server's
/// slot is retired and reused only once no live connection refers to it.
/// Thread: control only.

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "config/model.hpp"
#include "config/status.hpp"
#include "proto/protocol.hpp"
#include "schedulers/scheduler.hpp"

namespace dirigo::ctl {

inline constexpr uint32_t kNoSlot = 0xffffffffu;

/// One service with its control-side state.
struct ServiceState {
    cfg::Service svc;
    sched::SchedKind kind = sched::SchedKind::Wlc;
    std::shared_ptr<sched::SchedShared> shared;  ///< kept while the scheduler stays the same
    uint32_t slot = kNoSlot;
    std::vector<uint32_t> dest_slots;  ///< parallel to svc.servers
};

class ModelStore {
public:
    /// `counters` (max_dests entries) tell whether a retired slot is still referenced.
    ModelStore(const sched::DestCounters* counters, uint32_t max_services, uint32_t max_dests);

    /// A prepared rule change: the next services (every slot assigned) and timeouts, and the
    /// slot lists as they will be once it is committed.
    struct Change {
        std::vector<ServiceState> services;
        std::vector<cfg::MarkRule> marks;  ///< firewall mark rules, in order
        cfg::TimeoutCfg timeouts;
        size_t dests = 0;  ///< real servers in `services`, checked against the limit as they come
        std::vector<uint32_t> free_dest;
        std::vector<uint32_t> retired;
        std::vector<uint32_t> free_svc;
        std::vector<uint32_t> fresh_dest;    ///< slots handed out by this change
        std::vector<uint32_t> fresh_svc;
        std::vector<uint32_t> removed_dest;  ///< real-server slots it removes (sorted)
    };

    /// Applies a mutating request (Add/Edit/Del service or server, Clear, SetTimeouts, Add/DelMark,
    /// Batch) to
    /// a copy of the rules and assigns slots. Returns the error of the first request that fails;
    /// the store is unchanged either way. Cost: one copy of the services.
    Result<Change> prepare(const Request& r) const;
    /// Adopts `c`, which must come from prepare() on the current state. Never fails.
    void commit(Change&& c);
    /// prepare() then commit(): for callers with no snapshot to build (tests).
    Status apply(const Request& r);

    const std::vector<ServiceState>& services() const { return services_; }
    const cfg::TimeoutCfg& timeouts() const { return timeouts_; }
    /// The firewall mark rules, in order (first match wins).
    const std::vector<cfg::MarkRule>& marks() const { return marks_; }
    /// Slots that were freed or retired by the last commit (stats baselines reset on reuse).
    const std::vector<uint32_t>& fresh_dest_slots() const { return fresh_dest_slots_; }
    const std::vector<uint32_t>& fresh_service_slots() const { return fresh_svc_slots_; }
    /// Real-server slots the last commit removed from the rules (sorted).
    const std::vector<uint32_t>& removed_dest_slots() const { return removed_dest_slots_; }

    /// Finds a service by key in `list`.
    static ServiceState* find(std::vector<ServiceState>& list, const cfg::ServiceKey& k);
    static const ServiceState* find(const std::vector<ServiceState>& list,
                                    const cfg::ServiceKey& k);

private:
    using Draft = Change;
    Status apply_one(Draft& d, const Request& r) const;
    /// Assigns slots to what `d` adds and records what it frees.
    Status allocate(Draft& d) const;

    const sched::DestCounters* counters_;
    uint32_t max_services_;
    uint32_t max_dests_;
    std::vector<ServiceState> services_;
    std::vector<cfg::MarkRule> marks_;
    cfg::TimeoutCfg timeouts_;
    std::vector<uint32_t> free_dest_slots_;
    std::vector<uint32_t> retired_dest_slots_;
    std::vector<uint32_t> free_svc_slots_;
    std::vector<uint32_t> fresh_dest_slots_;
    std::vector<uint32_t> fresh_svc_slots_;
    std::vector<uint32_t> removed_dest_slots_;
};

}  // namespace dirigo::ctl
