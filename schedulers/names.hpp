// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Scheduler names: the vocabulary ipvsadm users type (`-s rr`, `-b sh-port`), with no policy
/// code behind it. Header-only and free of DPDK, so a client (the CLI) can validate and print
/// scheduler names and flags without linking the scheduler implementations.
///
/// SchedKind and kSchedNames are checked at compile time against the one list of policies,
/// `Policies` in dispatch.hpp (registry.cpp holds the static_asserts): the same number of kinds,
/// and the policy at index k has kKind == SchedKind(k) and kName == kSchedNames[k]. Adding a
/// scheduler is its header, one enumerator here, its name here, and one line in `Policies`; a
/// missing or misplaced piece does not compile.
///
/// Thread: any, everywhere in this file.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.hpp"

namespace dirigo::sched {

/// The closed set of policies, in ipvsadm's order (its man page and usage text), then the
/// schedulers newer kernels added. The value is the policy's index in `Policies`.
enum class SchedKind : uint8_t {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
};

/// Scheduler names indexed by SchedKind: ipvsadm's, lower case.
inline constexpr auto kSchedNames = std::to_array<std::string_view>({
    "rr",
    "wrr",
    "lc",
    "wlc",
    "lblc",
    "lblcr",
    "dh",
    "sh",
    "sed",
    "nq",
    "fo",
    "ovf",
    "mh",
    "twos",
});

/// Number of SchedKind values.
inline constexpr size_t kSchedKinds = kSchedNames.size();
static_assert(static_cast<size_t>(SchedKind::Twos) + 1 == kSchedKinds,
              "one name per SchedKind, in enum order");

/// "rr" -> SchedKind; nullopt for unknown names. Exact match (no case folding, no spaces).
/// Cost: O(kinds), no allocation.
constexpr std::optional<SchedKind> parse_sched(std::string_view name) noexcept {
    for (size_t k = 0; k < kSchedKinds; ++k) {
        if (kSchedNames[k] == name) {
            return static_cast<SchedKind>(k);
        }
    }
    return std::nullopt;
}

/// True when `name` is a scheduler's name. Cost: O(kinds), no allocation.
constexpr bool is_sched_name(std::string_view name) noexcept {
    return parse_sched(name).has_value();
}

/// SchedKind -> "rr"; "?" for a value outside the enum. Cost: O(1).
constexpr std::string_view sched_name(SchedKind k) noexcept {
    const auto i = static_cast<size_t>(k);
    return i < kSchedKinds ? kSchedNames[i] : std::string_view{"?"};
}

/// "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos", for usage and error messages.
/// Cost: allocates the string.
inline std::string sched_names() {
    std::string out;
    for (const std::string_view n : kSchedNames) {
        if (!out.empty()) {
            out += ' ';
        }
        out += n;
    }
    return out;
}

namespace names_detail {

struct SchedFlag {
    std::string_view name;
    uint32_t bit;
    bool only_sh;
    bool only_mh;
};

inline constexpr std::array<SchedFlag, 7> kSchedFlags{{
    {"flag-1", cfg::kSvcSched1, false, false},
    {"flag-2", cfg::kSvcSched2, false, false},
    {"flag-3", cfg::kSvcSched3, false, false},
    {"sh-fallback", cfg::kSvcSched1, true, false},
    {"sh-port", cfg::kSvcSched2, true, false},
    {"mh-fallback", cfg::kSvcSched1, false, true},
    {"mh-port", cfg::kSvcSched2, false, true},
}};

constexpr std::optional<uint32_t> parse_flags(std::string_view csv,
                                              std::optional<SchedKind> kind) {
    // Indexes, not pointers: a constant expression may not compare a pointer into an array under
    // UBSan's instrumentation (the sanitizer build evaluates these in static_asserts).
    uint32_t bits = 0;
    while (!csv.empty()) {
        const size_t comma = csv.find(',');
        const std::string_view item = csv.substr(0, comma);
        csv = comma == std::string_view::npos ? std::string_view{} : csv.substr(comma + 1);
        if (item.empty()) {
            continue;  // strtok skips empty tokens
        }
        size_t hit = kSchedFlags.size();
        for (size_t i = 0; i < kSchedFlags.size(); ++i) {
            if (kSchedFlags[i].name == item) {
                hit = i;
                break;
            }
        }
        if (hit == kSchedFlags.size()) {
            return std::nullopt;  // ipvsadm: "invalid scheduler flag"
        }
        const SchedFlag& f = kSchedFlags[hit];
        if (kind && ((f.only_sh && *kind != SchedKind::Sh) || (f.only_mh && *kind != SchedKind::Mh))) {
            return std::nullopt;  // ipvsadm: "incompatible scheduler flag"
        }
        bits |= f.bit;
    }
    return bits;
}

}  // namespace names_detail

/// Parses ipvsadm's `-b` argument, a comma-separated list of "sh-fallback", "sh-port",
/// "mh-fallback", "mh-port", "flag-1", "flag-2", "flag-3", into cfg::ServiceFlag bits
/// (sh-fallback = mh-fallback = flag-1 = kSvcSched1, sh-port = mh-port = flag-2 = kSvcSched2,
/// flag-3 = kSvcSched3). Empty items are skipped as strtok does; an empty string gives 0.
/// Returns nullopt on an unknown flag. Cost: O(length), no allocation.
constexpr std::optional<uint32_t> parse_sched_flags(std::string_view csv) {
    return names_detail::parse_flags(csv, std::nullopt);
}

/// As above, and also rejects what ipvsadm calls an "incompatible scheduler flag": sh-* unless
/// `kind` is sh, mh-* unless `kind` is mh. Cost: O(length), no allocation.
constexpr std::optional<uint32_t> parse_sched_flags(std::string_view csv, SchedKind kind) {
    return names_detail::parse_flags(csv, kind);
}

/// The scheduler flags of `flags` the way ipvsadm prints them (without the parentheses of -L or
/// the "-b " of -S): "sh-fallback,sh-port" for sh, "mh-..." for mh, "flag-1,flag-2,flag-3"
/// otherwise; bits other than kSvcSched1..3 are ignored; "" when none is set.
/// Cost: allocates the string.
inline std::string format_sched_flags(SchedKind kind, uint32_t flags) {
    std::string_view one = "flag-1";
    std::string_view two = "flag-2";
    if (kind == SchedKind::Sh) {
        one = "sh-fallback";
        two = "sh-port";
    } else if (kind == SchedKind::Mh) {
        one = "mh-fallback";
        two = "mh-port";
    }
    std::string out;
    auto add = [&out](std::string_view s) {
        if (!out.empty()) {
            out += ',';
        }
        out += s;
    };
    if (flags & cfg::kSvcSched1) {
        add(one);
    }
    if (flags & cfg::kSvcSched2) {
        add(two);
    }
    if (flags & cfg::kSvcSched3) {
        add("flag-3");
    }
    return out;
}

}  // namespace dirigo::sched
