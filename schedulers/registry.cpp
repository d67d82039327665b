// SPDX-License-Identifier: BSD-3-Clause
// Names of schedulers and of ipvsadm's scheduler flags.
#include <array>
#include <string>

#include "config/model.hpp"
#include "schedulers/names.hpp"

namespace dirigo::sched {

namespace {

struct Name {
    SchedKind kind;
    std::string_view name;
};

// ipvsadm's order (its man page and usage text).
constexpr std::array<Name, kSchedKinds> kNames{{
    {SchedKind::Rr, "rr"},
    {SchedKind::Wrr, "wrr"},
    {SchedKind::Lc, "lc"},
    {SchedKind::Wlc, "wlc"},
    {SchedKind::Lblc, "lblc"},
    {SchedKind::Lblcr, "lblcr"},
    {SchedKind::Dh, "dh"},
    {SchedKind::Sh, "sh"},
    {SchedKind::Sed, "sed"},
    {SchedKind::Nq, "nq"},
    {SchedKind::Fo, "fo"},
    {SchedKind::Ovf, "ovf"},
    {SchedKind::Mh, "mh"},
}};

constexpr bool names_cover_every_kind() {
    for (size_t k = 0; k < kSchedKinds; ++k) {
        bool seen = false;
        for (const Name& n : kNames) {
            seen = seen || static_cast<size_t>(n.kind) == k;
        }
        if (!seen) {
            return false;
        }
    }
    return true;
}
static_assert(names_cover_every_kind());
static_assert(static_cast<size_t>(SchedKind::Mh) + 1 == kSchedKinds);

struct Flag {
    std::string_view name;
    uint32_t bit;
    bool only_sh;
    bool only_mh;
};

constexpr std::array<Flag, 7> kFlags{{
    {"flag-1", cfg::kSvcSched1, false, false},
    {"flag-2", cfg::kSvcSched2, false, false},
    {"flag-3", cfg::kSvcSched3, false, false},
    {"sh-fallback", cfg::kSvcSched1, true, false},
    {"sh-port", cfg::kSvcSched2, true, false},
    {"mh-fallback", cfg::kSvcSched1, false, true},
    {"mh-port", cfg::kSvcSched2, false, true},
}};

std::optional<uint32_t> parse_flags(std::string_view csv, const SchedKind* kind) {
    uint32_t bits = 0;
    while (!csv.empty()) {
        const size_t comma = csv.find(',');
        const std::string_view item = csv.substr(0, comma);
        csv = comma == std::string_view::npos ? std::string_view{} : csv.substr(comma + 1);
        if (item.empty()) {
            continue;  // strtok skips empty tokens
        }
        const Flag* hit = nullptr;
        for (const Flag& f : kFlags) {
            if (f.name == item) {
                hit = &f;
                break;
            }
        }
        if (hit == nullptr) {
            return std::nullopt;  // ipvsadm: "invalid scheduler flag"
        }
        if (kind != nullptr && ((hit->only_sh && *kind != SchedKind::Sh) ||
                                (hit->only_mh && *kind != SchedKind::Mh))) {
            return std::nullopt;  // ipvsadm: "incompatible scheduler flag"
        }
        bits |= hit->bit;
    }
    return bits;
}

}  // namespace

std::optional<SchedKind> parse_sched(std::string_view name) {
    for (const Name& n : kNames) {
        if (n.name == name) {
            return n.kind;
        }
    }
    return std::nullopt;
}

std::string_view sched_name(SchedKind k) {
    for (const Name& n : kNames) {
        if (n.kind == k) {
            return n.name;
        }
    }
    return "?";
}

std::string sched_names() {
    std::string out;
    for (const Name& n : kNames) {
        if (!out.empty()) {
            out += ' ';
        }
        out += n.name;
    }
    return out;
}

std::optional<uint32_t> parse_sched_flags(std::string_view csv) {
    return parse_flags(csv, nullptr);
}

std::optional<uint32_t> parse_sched_flags(std::string_view csv, SchedKind kind) {
    return parse_flags(csv, &kind);
}

std::string format_sched_flags(SchedKind kind, uint32_t flags) {
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
