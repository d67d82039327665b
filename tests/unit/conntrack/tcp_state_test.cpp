// SPDX-License-Identifier: BSD-3-Clause
// IPVS's TCP state machine: whole connection lifecycles, flag priority, the input-only variant.

#include <gtest/gtest.h>

#include "conntrack/tcp_state.hpp"

namespace dirigo::ct {
namespace {

constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;
constexpr uint8_t kFinAck = kTcpFin | kTcpAck;

struct Step {
    Dir dir;
    uint8_t flags;
    TcpState expect;
};

void walk(std::initializer_list<Step> steps) {
    TcpState s = TcpState::None;
    int i = 0;
    for (const Step& st : steps) {
        s = tcp_next_state(s, st.dir, st.flags);
        EXPECT_EQ(state_name(s), state_name(st.expect)) << "step " << i;
        ++i;
    }
}

TEST(TcpState, NatHandshakeAndClientClose) {
    walk({{Dir::Input, kTcpSyn, TcpState::SynRecv},
          {Dir::Output, kSynAck, TcpState::SynRecv},
          {Dir::Input, kTcpAck, TcpState::Established},
          {Dir::Input, kFinAck, TcpState::CloseWait},
          {Dir::Output, kFinAck, TcpState::TimeWait},
          {Dir::Input, kTcpAck, TcpState::TimeWait}});
}

TEST(TcpState, ServerClosesFirst) {
    walk({{Dir::Input, kTcpSyn, TcpState::SynRecv},
          {Dir::Input, kTcpAck, TcpState::Established},
          {Dir::Output, kFinAck, TcpState::FinWait},
          {Dir::Input, kFinAck, TcpState::TimeWait}});
}

TEST(TcpState, RstWinsOverEverythingAndSynOverFin) {
    EXPECT_EQ(tcp_next_state(TcpState::Established, Dir::Input, kTcpRst | kTcpSyn | kTcpFin),
              TcpState::Close);
    EXPECT_EQ(tcp_next_state(TcpState::None, Dir::Input, kTcpSyn | kTcpFin), TcpState::SynRecv);
    // No relevant flag: unchanged.
    EXPECT_EQ(tcp_next_state(TcpState::Established, Dir::Input, 0x08 /* PSH */),
              TcpState::Established);
}

TEST(TcpState, InputOnlyForDirectRouting) {
    walk({{Dir::InputOnly, kTcpSyn, TcpState::SynRecv},
          {Dir::InputOnly, kTcpAck, TcpState::Established},
          {Dir::InputOnly, kFinAck, TcpState::FinWait},
          {Dir::InputOnly, kTcpAck, TcpState::FinWait},
          {Dir::InputOnly, kTcpRst, TcpState::Close}});
}

TEST(TcpState, DefaultsAreIpvsAndSetChangesThree) {
    Timeouts t;
    EXPECT_EQ(t.tcp(), 900u);
    EXPECT_EQ(t.tcp_fin(), 120u);
    EXPECT_EQ(t.udp(), 300u);
    EXPECT_EQ(t.secs[static_cast<size_t>(TcpState::SynRecv)], 60u);
    EXPECT_EQ(t.secs[static_cast<size_t>(TcpState::Close)], 10u);
    t.set(30, 5, 60);  // seed 004's --set 30 5 60
    EXPECT_EQ(t.tcp(), 30u);
    EXPECT_EQ(t.tcp_fin(), 5u);
    EXPECT_EQ(t.udp(), 60u);
}

}  // namespace
}  // namespace dirigo::ct
