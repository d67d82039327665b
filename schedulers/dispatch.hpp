// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The only list of all policies: Scheduler::Impl holds one policy's Table in a variant, and
/// pick() is an exhaustive switch over SchedKind (no `default`, so -Wswitch flags a kind without
/// a case). Include only from scheduler.cpp and tests.

#include <variant>
#include <vector>

#include "schedulers/detail.hpp"
#include "schedulers/dh.hpp"
#include "schedulers/fo.hpp"
#include "schedulers/lblc.hpp"
#include "schedulers/lblcr.hpp"
#include "schedulers/lc.hpp"
#include "schedulers/mh.hpp"
#include "schedulers/nq.hpp"
#include "schedulers/ovf.hpp"
#include "schedulers/rr.hpp"
#include "schedulers/scheduler.hpp"
#include "schedulers/sed.hpp"
#include "schedulers/sh.hpp"
#include "schedulers/wlc.hpp"
#include "schedulers/wrr.hpp"

namespace dirigo::sched {

/// One Scheduler's immutable data: the server view a pick scans and the policy's table.
struct Scheduler::Impl {
    std::vector<detail::DestRef> dests;
    std::variant<RoundRobin::Table, WeightedRoundRobin::Table, LeastConnection::Table,
                 WeightedLeastConnection::Table, SourceHashing::Table, DestinationHashing::Table,
                 LocalityLeastConnection::Table, LocalityLeastConnectionReplicated::Table,
                 ShortestExpectedDelay::Table, NeverQueue::Table, FailOver::Table, Overflow::Table,
                 MaglevHashing::Table>
        table;

    detail::Dests view() const noexcept {
        return {dests.data(), static_cast<uint32_t>(dests.size())};
    }
};

namespace detail {

/// P::pick on the table `im` holds. The variant was built from the same SchedKind as the
/// switch below dispatches on (Scheduler::build), so get_if never returns null here.
template <Policy P>
inline BackendIdx pick_as(const Scheduler::Impl& im, const SchedInput& in) noexcept {
    return P::pick(*std::get_if<typename P::Table>(&im.table), im.view(), in);
}

/// Thread: worker. Cost: that of the policy.
inline BackendIdx dispatch_pick(SchedKind k, const Scheduler::Impl& im,
                                const SchedInput& in) noexcept {
    switch (k) {
        case SchedKind::Rr:
            return pick_as<RoundRobin>(im, in);
        case SchedKind::Wrr:
            return pick_as<WeightedRoundRobin>(im, in);
        case SchedKind::Lc:
            return pick_as<LeastConnection>(im, in);
        case SchedKind::Wlc:
            return pick_as<WeightedLeastConnection>(im, in);
        case SchedKind::Sh:
            return pick_as<SourceHashing>(im, in);
        case SchedKind::Dh:
            return pick_as<DestinationHashing>(im, in);
        case SchedKind::Lblc:
            return pick_as<LocalityLeastConnection>(im, in);
        case SchedKind::Lblcr:
            return pick_as<LocalityLeastConnectionReplicated>(im, in);
        case SchedKind::Sed:
            return pick_as<ShortestExpectedDelay>(im, in);
        case SchedKind::Nq:
            return pick_as<NeverQueue>(im, in);
        case SchedKind::Fo:
            return pick_as<FailOver>(im, in);
        case SchedKind::Ovf:
            return pick_as<Overflow>(im, in);
        case SchedKind::Mh:
            return pick_as<MaglevHashing>(im, in);
    }
    return kNoBackend;
}

}  // namespace detail

}  // namespace dirigo::sched
