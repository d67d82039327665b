// SPDX-License-Identifier: BSD-3-Clause
// names.hpp on its own: this binary links no scheduler code (see meson.build).
#include "schedulers/names.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dirigo::sched {
namespace {

static_assert(parse_sched("wrr") == SchedKind::Wrr);
static_assert(sched_name(SchedKind::Mh) == "mh");
static_assert(!is_sched_name("maglev"));
static_assert(parse_sched_flags("sh-port,sh-fallback", SchedKind::Sh) ==
              (cfg::kSvcSched1 | cfg::kSvcSched2));

TEST(Names, EveryKindHasItsName) {
    ASSERT_EQ(kSchedNames.size(), kSchedKinds);
    for (size_t k = 0; k < kSchedKinds; ++k) {
        const auto kind = static_cast<SchedKind>(k);
        EXPECT_EQ(sched_name(kind), kSchedNames[k]);
        EXPECT_TRUE(is_sched_name(kSchedNames[k]));
        EXPECT_EQ(parse_sched(kSchedNames[k]), kind);
    }
}

TEST(Names, ValidationIsExact) {
    EXPECT_TRUE(is_sched_name("rr"));
    EXPECT_TRUE(is_sched_name("lblcr"));
    EXPECT_FALSE(is_sched_name(""));
    EXPECT_FALSE(is_sched_name("RR"));
    EXPECT_FALSE(is_sched_name(" rr"));
    EXPECT_FALSE(is_sched_name("lblcrr"));
    EXPECT_EQ(sched_name(static_cast<SchedKind>(kSchedKinds)), "?");
}

TEST(Names, ListForMessagesIsIpvsadmsOrder) {
    EXPECT_EQ(sched_names(), "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos");
}

TEST(Names, FlagsWithoutTheLibrary) {
    EXPECT_EQ(parse_sched_flags("flag-3"), uint32_t{cfg::kSvcSched3});
    EXPECT_FALSE(parse_sched_flags("mh-port", SchedKind::Sh).has_value());
    EXPECT_EQ(format_sched_flags(SchedKind::Mh, cfg::kSvcSched1 | cfg::kSvcSched2),
              "mh-fallback,mh-port");
}

}  // namespace
}  // namespace dirigo::sched
