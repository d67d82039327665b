// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The only list of all policies: `Policies`, in SchedKind order. Everything that enumerates
/// policies derives from it: the variant of tables (SchedTable), the build switch
/// (build_table in scheduler.cpp), the pick switch (dispatch_pick below) and the name registry
/// (registry.cpp checks names.hpp against each policy's kName and kKind). Adding a policy is one
/// line here, plus its enumerator and name in names.hpp; the static_asserts below and in
/// registry.cpp reject a list that disagrees with them. Include only from scheduler.cpp,
/// registry.cpp, benchmarks and tests.

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "schedulers/detail.hpp"
#include "schedulers/dh.hpp"
#include "schedulers/fo.hpp"
#include "schedulers/lblc.hpp"
#include "schedulers/lblcr.hpp"
#include "schedulers/lc.hpp"
#include "schedulers/mh.hpp"
#include "schedulers/names.hpp"
#include "schedulers/nq.hpp"
#include "schedulers/ovf.hpp"
#include "schedulers/rr.hpp"
#include "schedulers/scheduler.hpp"
#include "schedulers/sed.hpp"
#include "schedulers/sh.hpp"
#include "schedulers/twos.hpp"
#include "schedulers/wlc.hpp"
#include "schedulers/wrr.hpp"

namespace dirigo::sched {

/// Every policy, one per SchedKind, at index SchedKind(k).
using Policies = std::tuple<RoundRobin,                         // rr
                            WeightedRoundRobin,                 // wrr
                            LeastConnection,                    // lc
                            WeightedLeastConnection,            // wlc
                            LocalityLeastConnection,            // lblc
                            LocalityLeastConnectionReplicated,  // lblcr
                            DestinationHashing,                 // dh
                            SourceHashing,                      // sh
                            ShortestExpectedDelay,              // sed
                            NeverQueue,                         // nq
                            FailOver,                           // fo
                            Overflow,                           // ovf
                            MaglevHashing,                      // mh
                            TwosChoice>;                        // twos

/// Number of policies in the list.
inline constexpr size_t kPolicies = std::tuple_size_v<Policies>;

/// The policy of SchedKind(I).
template <size_t I>
using PolicyAt = std::tuple_element_t<I, Policies>;

namespace detail {

template <class List>
struct ListTraits;

template <class... Ps>
struct ListTraits<std::tuple<Ps...>> {
    /// One alternative per policy, in list order, so that the variant's index is the SchedKind.
    using Tables = std::variant<typename Ps::Table...>;
    /// kName of each policy, in list order.
    static constexpr std::array<std::string_view, sizeof...(Ps)> kNames{Ps::kName...};
    static constexpr bool kAllPolicies = (Policy<Ps> && ...);
};

template <size_t... I>
constexpr bool kinds_in_list_order(std::index_sequence<I...>) {
    return ((static_cast<size_t>(PolicyAt<I>::kKind) == I) && ...);
}

}  // namespace detail

/// One table per policy; alternative k belongs to SchedKind(k).
using SchedTable = detail::ListTraits<Policies>::Tables;

/// The policies' own names, in SchedKind order (registry.cpp checks them against names.hpp).
inline constexpr std::array<std::string_view, kPolicies> kPolicyNames =
    detail::ListTraits<Policies>::kNames;

static_assert(detail::ListTraits<Policies>::kAllPolicies, "every entry satisfies Policy");
static_assert(kPolicies == kSchedKinds, "one policy per SchedKind");
static_assert(detail::kinds_in_list_order(std::make_index_sequence<kPolicies>{}),
              "the policy at index k has kKind == SchedKind(k)");
static_assert(std::variant_size_v<SchedTable> == kSchedKinds);

/// One Scheduler's immutable data: the server view a pick scans and the policy's table.
struct Scheduler::Impl {
    std::vector<detail::DestRef> dests;
    SchedTable table;

    detail::Dests view() const noexcept {
        return {dests.data(), static_cast<uint32_t>(dests.size())};
    }
};

namespace detail {

/// PolicyAt<I>::pick on the table `im` holds. Scheduler::build emplaced alternative I for the
/// same SchedKind(I) the dispatch below selects, so get_if never returns null here.
template <size_t I>
inline BackendIdx pick_as(const Scheduler::Impl& im, const SchedInput& in) noexcept {
    return PolicyAt<I>::pick(*std::get_if<I>(&im.table), im.view(), in);
}

template <size_t... I>
inline BackendIdx dispatch_pick(size_t k, const Scheduler::Impl& im, const SchedInput& in,
                                std::index_sequence<I...>) noexcept {
    // A chain of `k == I` tests on one value, which GCC and Clang turn into a jump table, as
    // they would a written-out switch: no call through a pointer.
    BackendIdx out = kNoBackend;
    static_cast<void>(((k == I && (out = pick_as<I>(im, in), true)) || ...));
    return out;
}

/// Picks with the policy of `k`. Thread: worker. Cost: that of the policy.
inline BackendIdx dispatch_pick(SchedKind k, const Scheduler::Impl& im,
                                const SchedInput& in) noexcept {
    return dispatch_pick(static_cast<size_t>(k), im, in, std::make_index_sequence<kPolicies>{});
}

}  // namespace detail

}  // namespace dirigo::sched
