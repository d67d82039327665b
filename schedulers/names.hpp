// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Scheduler names and ipvsadm's scheduler flags: the small, DPDK-free and policy-free part of
/// the scheduler module that dirigoadm links (library dirigo_sched_names, sched_names_dep)
/// without the policies themselves. scheduler.hpp includes this header.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dirigo::sched {

/// The closed set of policies. dispatch is a switch over this enum.
enum class SchedKind : uint8_t { Rr, Wrr, Lc, Wlc, Sh, Dh, Lblc, Lblcr, Sed, Nq, Fo, Ovf, Mh };

/// Number of SchedKind values.
inline constexpr size_t kSchedKinds = 13;

/// "rr" -> SchedKind; nullopt for unknown names. Names are ipvsadm's, lower case, exact.
/// Thread: any. Cost: O(kinds), no allocation.
std::optional<SchedKind> parse_sched(std::string_view name);
/// SchedKind -> "rr". Thread: any. Cost: O(1).
std::string_view sched_name(SchedKind k);
/// "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh" for error messages (ipvsadm's order).
/// Thread: any. Cost: allocates the string.
std::string sched_names();

/// Parses ipvsadm's `-b` argument, a comma-separated list of "sh-fallback", "sh-port",
/// "mh-fallback", "mh-port", "flag-1", "flag-2", "flag-3", into cfg::ServiceFlag bits
/// (sh-fallback = mh-fallback = flag-1 = kSvcSched1, sh-port = mh-port = flag-2 = kSvcSched2,
/// flag-3 = kSvcSched3). Empty items are skipped as strtok does; an empty string gives 0.
/// Returns nullopt on an unknown flag. Thread: any. Cost: O(length), no allocation.
std::optional<uint32_t> parse_sched_flags(std::string_view csv);
/// As above, and also rejects what ipvsadm calls an "incompatible scheduler flag": sh-* unless
/// `kind` is sh, mh-* unless `kind` is mh. Thread: any. Cost: O(length), no allocation.
std::optional<uint32_t> parse_sched_flags(std::string_view csv, SchedKind kind);
/// The scheduler flags of `flags` the way ipvsadm prints them (without the parentheses of -L or
/// the "-b " of -S): "sh-fallback,sh-port" for sh, "mh-..." for mh, "flag-1,flag-2,flag-3"
/// otherwise; bits other than kSvcSched1..3 are ignored; "" when none is set.
/// Thread: any. Cost: allocates the string.
std::string format_sched_flags(SchedKind kind, uint32_t flags);

}  // namespace dirigo::sched
