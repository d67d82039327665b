// SPDX-License-Identifier: BSD-3-Clause
// IPVS's SCTP state machine: association lifecycles through NAT (both directions) and DR (input
// only), the kernel's special cells, chunk-to-event mapping, names and timeouts.

#include "conntrack/sctp_state.hpp"

#include <gtest/gtest.h>

namespace dirigo::ct {
namespace {

struct Step {
    Dir dir;
    uint8_t chunk;
    TcpState expect;
};

void walk(std::initializer_list<Step> steps, TcpState s = TcpState::SctpNone) {
    int i = 0;
    for (const Step& st : steps) {
        s = sctp_next_state(s, st.dir, st.chunk);
        EXPECT_EQ(state_name(s), state_name(st.expect)) << "step " << i;
        EXPECT_EQ(s, st.expect) << "step " << i;
        ++i;
    }
}

TEST(SctpState, NatAssociationAndClientShutdown) {
    walk({{Dir::Input, kSctpInit, TcpState::SctpInit1},
          {Dir::Output, kSctpInitAck, TcpState::SctpCookieSent},
          {Dir::Input, kSctpCookieEcho, TcpState::SctpCookieReplied},
          {Dir::Output, kSctpCookieAck, TcpState::SctpEstablished},
          {Dir::Input, kSctpData, TcpState::SctpEstablished},
          {Dir::Output, kSctpSack, TcpState::SctpEstablished},
          {Dir::Input, kSctpHeartbeat, TcpState::SctpEstablished},
          {Dir::Input, kSctpShutdown, TcpState::SctpShutdownReceived},
          {Dir::Output, kSctpShutdownAck, TcpState::SctpShutdownAckSent},
          {Dir::Input, kSctpShutdownComplete, TcpState::SctpClosed}});
}

TEST(SctpState, ServerShutsDownFirst) {
    walk({{Dir::Output, kSctpShutdown, TcpState::SctpShutdownSent},
          {Dir::Input, kSctpShutdownAck, TcpState::SctpClosed}},
         TcpState::SctpEstablished);
}

TEST(SctpState, RetransmittedInitAndRejection) {
    // A second INIT before the INIT ACK: INIT (the longer timeout); an ABORT answering it from
    // the server: REJECTED only from INIT1 (the kernel's table), CLOSED from INIT.
    walk({{Dir::Input, kSctpInit, TcpState::SctpInit1},
          {Dir::Input, kSctpInit, TcpState::SctpInit},
          {Dir::Output, kSctpAbort, TcpState::SctpClosed}});
    walk({{Dir::Input, kSctpInit, TcpState::SctpInit1},
          {Dir::Output, kSctpAbort, TcpState::SctpRejected},
          {Dir::Input, kSctpInit, TcpState::SctpInit}});
}

TEST(SctpState, AbortClosesAnEstablishedAssociation) {
    EXPECT_EQ(sctp_next_state(TcpState::SctpEstablished, Dir::Input, kSctpAbort),
              TcpState::SctpClosed);
    EXPECT_EQ(sctp_next_state(TcpState::SctpEstablished, Dir::Output, kSctpAbort),
              TcpState::SctpClosed);
    // An INIT from the server side does not disturb an established association.
    EXPECT_EQ(sctp_next_state(TcpState::SctpEstablished, Dir::Output, kSctpInit),
              TcpState::SctpEstablished);
}

TEST(SctpState, UnknownAndDataLikeChunksAreData) {
    const uint8_t kDataLike[] = {
        kSctpData, kSctpSack, kSctpHeartbeat, kSctpHeartbeatAck, kSctpEcne, kSctpCwr, 15, 64,
        0xc1,      0xff};
    for (uint8_t c : kDataLike) {
        SCOPED_TRACE(static_cast<int>(c));
        // DATA in NONE: IPVS's table says ESTABLISHED (a sync'd or sloppy connection).
        EXPECT_EQ(sctp_next_state(TcpState::SctpNone, Dir::Input, c), TcpState::SctpEstablished);
        EXPECT_EQ(sctp_next_state(TcpState::SctpCookieSent, Dir::Output, c),
                  TcpState::SctpCookieSent);
    }
}

TEST(SctpState, InputOnlyForDirectRouting) {
    // The director sees the client's chunks only: its COOKIE ECHO establishes.
    walk({{Dir::InputOnly, kSctpInit, TcpState::SctpInit1},
          {Dir::InputOnly, kSctpCookieEcho, TcpState::SctpEstablished},
          {Dir::InputOnly, kSctpData, TcpState::SctpEstablished},
          {Dir::InputOnly, kSctpShutdown, TcpState::SctpShutdownReceived},
          {Dir::InputOnly, kSctpShutdownComplete, TcpState::SctpClosed}});
    // InputOnly differs from Input: a client SHUTDOWN ACK closes an ESTABLISHED association.
    EXPECT_EQ(sctp_next_state(TcpState::SctpEstablished, Dir::InputOnly, kSctpShutdownAck),
              TcpState::SctpClosed);
    EXPECT_EQ(sctp_next_state(TcpState::SctpEstablished, Dir::Input, kSctpShutdownAck),
              TcpState::SctpEstablished);
}

TEST(SctpState, ServerInitiatedSetupColumns) {
    // INIT from the server side (NAT output): C-WAIT; the client's INIT ACK: COOKIE; the
    // server's COOKIE ECHO: C-ECHOED; the client's COOKIE ACK: ESTABLISHED.
    walk({{Dir::Output, kSctpInit, TcpState::SctpCookieWait},
          {Dir::Input, kSctpInitAck, TcpState::SctpCookie},
          {Dir::Output, kSctpCookieEcho, TcpState::SctpCookieEchoed},
          {Dir::Input, kSctpCookieAck, TcpState::SctpEstablished}});
}

TEST(SctpState, TcpAndUdpStatesAreLeftAlone) {
    for (TcpState s : {TcpState::None, TcpState::Established, TcpState::Udp}) {
        EXPECT_EQ(sctp_next_state(s, Dir::Input, kSctpInit), s);
    }
    EXPECT_FALSE(is_established(TcpState::SctpCookieEchoed));
    EXPECT_TRUE(is_established(TcpState::SctpEstablished));
    EXPECT_TRUE(is_established(TcpState::Established));
}

TEST(SctpState, NamesAndTimeoutsAreIpvss) {
    const std::pair<TcpState, std::string_view> names[] = {
        {TcpState::SctpNone, "NONE"},
        {TcpState::SctpInit1, "INIT1"},
        {TcpState::SctpInit, "INIT"},
        {TcpState::SctpCookieSent, "C-SENT"},
        {TcpState::SctpCookieReplied, "C-REPLIED"},
        {TcpState::SctpCookieWait, "C-WAIT"},
        {TcpState::SctpCookie, "COOKIE"},
        {TcpState::SctpCookieEchoed, "C-ECHOED"},
        {TcpState::SctpEstablished, "ESTABLISHED"},
        {TcpState::SctpShutdownSent, "S-SENT"},
        {TcpState::SctpShutdownReceived, "S-RECEIVED"},
        {TcpState::SctpShutdownAckSent, "S-ACK-SENT"},
        {TcpState::SctpRejected, "REJECTED"},
        {TcpState::SctpClosed, "CLOSED"},
    };
    for (const auto& [s, n] : names) {
        EXPECT_EQ(state_name(s), n);
    }
    const Timeouts t;
    const auto secs = [&](TcpState s) { return t.secs[static_cast<size_t>(s)]; };
    EXPECT_EQ(secs(TcpState::SctpNone), 2u);
    EXPECT_EQ(secs(TcpState::SctpInit1), 4u);
    EXPECT_EQ(secs(TcpState::SctpRejected), 4u);
    EXPECT_EQ(secs(TcpState::SctpEstablished), 900u);
    for (TcpState s : {TcpState::SctpInit, TcpState::SctpCookieSent, TcpState::SctpCookieReplied,
                       TcpState::SctpCookieWait, TcpState::SctpCookie, TcpState::SctpCookieEchoed,
                       TcpState::SctpShutdownSent, TcpState::SctpShutdownReceived,
                       TcpState::SctpShutdownAckSent, TcpState::SctpClosed}) {
        EXPECT_EQ(secs(s), 61u) << state_name(s);  // IP_VS_SCTP_MAX_RTO
    }
    // --set changes TCP's and UDP's only, as ipvsadm's.
    Timeouts u;
    u.set(10, 20, 30);
    EXPECT_EQ(u.secs[static_cast<size_t>(TcpState::SctpEstablished)], 900u);
}

}  // namespace
}  // namespace dirigo::ct
