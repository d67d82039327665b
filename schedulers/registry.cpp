// SPDX-License-Identifier: BSD-3-Clause
// The name registry: names.hpp (header-only, for clients that do not link the policies) checked
// against the policy list. Nothing here runs; a disagreement does not compile.
#include <cstddef>

#include "schedulers/dispatch.hpp"
#include "schedulers/names.hpp"

namespace dirigo::sched {

namespace {

constexpr bool names_match_the_policies() {
    for (size_t k = 0; k < kSchedKinds; ++k) {
        if (kSchedNames[k] != kPolicyNames[k]) {
            return false;
        }
    }
    return true;
}

constexpr bool names_are_unique() {
    for (size_t a = 0; a < kSchedKinds; ++a) {
        for (size_t b = a + 1; b < kSchedKinds; ++b) {
            if (kSchedNames[a] == kSchedNames[b]) {
                return false;
            }
        }
    }
    return true;
}

static_assert(kSchedNames.size() == kPolicies, "names.hpp lists every policy of dispatch.hpp");
static_assert(names_match_the_policies(), "kSchedNames[k] == PolicyAt<k>::kName");
static_assert(names_are_unique());

// name <-> kind both ways, for every policy.
template <size_t... I>
constexpr bool round_trips(std::index_sequence<I...>) {
    return ((parse_sched(PolicyAt<I>::kName) == PolicyAt<I>::kKind &&
             sched_name(PolicyAt<I>::kKind) == PolicyAt<I>::kName) &&
            ...);
}
static_assert(round_trips(std::make_index_sequence<kPolicies>{}));

}  // namespace

}  // namespace dirigo::sched
