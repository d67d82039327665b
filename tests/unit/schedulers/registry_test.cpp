// SPDX-License-Identifier: BSD-3-Clause
#include <gtest/gtest.h>

#include "config/model.hpp"
#include "schedulers/scheduler.hpp"

namespace dirigo::sched {
namespace {

using cfg::kSvcSched1;
using cfg::kSvcSched2;
using cfg::kSvcSched3;

TEST(Registry, NamesRoundTrip) {
    for (size_t k = 0; k < kSchedKinds; ++k) {
        const auto kind = static_cast<SchedKind>(k);
        const auto back = parse_sched(sched_name(kind));
        ASSERT_TRUE(back.has_value()) << sched_name(kind);
        EXPECT_EQ(*back, kind);
    }
}

TEST(Registry, NamesAreIpvsadms) {
    EXPECT_EQ(sched_names(), "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos");
    EXPECT_EQ(parse_sched("wlc"), SchedKind::Wlc);
    EXPECT_EQ(parse_sched("lblcr"), SchedKind::Lblcr);
    EXPECT_EQ(parse_sched("twos"), SchedKind::Twos);
    EXPECT_FALSE(parse_sched("RR").has_value());
    EXPECT_FALSE(parse_sched("").has_value());
    EXPECT_FALSE(parse_sched("wrr ").has_value());
    EXPECT_FALSE(parse_sched("maglev").has_value());
}

TEST(Registry, ParseFlags) {
    EXPECT_EQ(parse_sched_flags("sh-fallback,sh-port"), kSvcSched1 | kSvcSched2);
    EXPECT_EQ(parse_sched_flags("mh-port"), kSvcSched2);
    EXPECT_EQ(parse_sched_flags("mh-fallback"), kSvcSched1);
    EXPECT_EQ(parse_sched_flags("flag-1,flag-3"), kSvcSched1 | kSvcSched3);
    EXPECT_EQ(parse_sched_flags("flag-2"), kSvcSched2);
    EXPECT_EQ(parse_sched_flags(""), 0u);
    EXPECT_EQ(parse_sched_flags(",sh-port,,"), kSvcSched2);
    EXPECT_FALSE(parse_sched_flags("bogus").has_value());
    EXPECT_FALSE(parse_sched_flags("sh-port,bogus").has_value());
    EXPECT_FALSE(parse_sched_flags("sh-port ").has_value());
    EXPECT_FALSE(parse_sched_flags("SH-PORT").has_value());
}

TEST(Registry, ParseFlagsChecksTheScheduler) {
    EXPECT_EQ(parse_sched_flags("sh-fallback,sh-port", SchedKind::Sh), kSvcSched1 | kSvcSched2);
    EXPECT_EQ(parse_sched_flags("mh-fallback,mh-port", SchedKind::Mh), kSvcSched1 | kSvcSched2);
    EXPECT_FALSE(parse_sched_flags("sh-port", SchedKind::Wrr).has_value());
    EXPECT_FALSE(parse_sched_flags("sh-port", SchedKind::Mh).has_value());
    EXPECT_FALSE(parse_sched_flags("mh-port", SchedKind::Sh).has_value());
    EXPECT_EQ(parse_sched_flags("flag-1,flag-2,flag-3", SchedKind::Rr),
              kSvcSched1 | kSvcSched2 | kSvcSched3);
    EXPECT_EQ(parse_sched_flags("flag-1", SchedKind::Sh), kSvcSched1);
}

TEST(Registry, FormatFlagsLikeIpvsadm) {
    EXPECT_EQ(format_sched_flags(SchedKind::Sh, kSvcSched1 | kSvcSched2), "sh-fallback,sh-port");
    EXPECT_EQ(format_sched_flags(SchedKind::Sh, kSvcSched2 | kSvcSched3), "sh-port,flag-3");
    EXPECT_EQ(format_sched_flags(SchedKind::Mh, kSvcSched1), "mh-fallback");
    EXPECT_EQ(format_sched_flags(SchedKind::Mh, kSvcSched2 | kSvcSched3), "mh-port,flag-3");
    EXPECT_EQ(format_sched_flags(SchedKind::Wrr, kSvcSched1 | kSvcSched3), "flag-1,flag-3");
    EXPECT_EQ(format_sched_flags(SchedKind::Rr, 0), "");
    EXPECT_EQ(format_sched_flags(SchedKind::Rr, cfg::kSvcPersistent | cfg::kSvcOnePacket), "");
}

TEST(Registry, FormatThenParseIsIdentity) {
    for (size_t k = 0; k < kSchedKinds; ++k) {
        const auto kind = static_cast<SchedKind>(k);
        for (uint32_t bits = 0; bits < 8; ++bits) {
            const uint32_t flags = (bits & 1 ? uint32_t{kSvcSched1} : 0u) |
                                   (bits & 2 ? uint32_t{kSvcSched2} : 0u) |
                                   (bits & 4 ? uint32_t{kSvcSched3} : 0u);
            const auto back = parse_sched_flags(format_sched_flags(kind, flags), kind);
            ASSERT_TRUE(back.has_value());
            EXPECT_EQ(*back, flags) << sched_name(kind) << " " << bits;
        }
    }
}

}  // namespace
}  // namespace dirigo::sched
