// SPDX-License-Identifier: BSD-3-Clause
#include "conntrack/sctp_state.hpp"

#include <array>

namespace dirigo::ct {
namespace {

// IPVS's events, in its order.
enum Event : uint8_t {
    kEvData = 0,  // DATA, SACK, HEARTBEAT(-ACK), ECNE, CWR and any type the kernel does not know
    kEvInit,
    kEvInitAck,
    kEvCookieEcho,
    kEvCookieAck,
    kEvShutdown,
    kEvShutdownAck,
    kEvShutdownComplete,
    kEvError,
    kEvAbort,
    kEvCount,
};

// Chunk type -> event, for the types up to SHUTDOWN COMPLETE; higher types are DATA.
constexpr std::array<uint8_t, 15> kEventOf = {
    kEvData,         // DATA
    kEvInit,         // INIT
    kEvInitAck,      // INIT ACK
    kEvData,         // SACK
    kEvData,         // HEARTBEAT
    kEvData,         // HEARTBEAT ACK
    kEvAbort,        // ABORT
    kEvShutdown,     // SHUTDOWN
    kEvShutdownAck,  // SHUTDOWN ACK
    kEvError,        // ERROR
    kEvCookieEcho,   // COOKIE ECHO
    kEvCookieAck,    // COOKIE ACK
    kEvData,         // ECNE
    kEvData,         // CWR
    kEvShutdownComplete,
};

constexpr auto NO = TcpState::SctpNone;
constexpr auto I1 = TcpState::SctpInit1;
constexpr auto IN = TcpState::SctpInit;
constexpr auto CS = TcpState::SctpCookieSent;
constexpr auto CR = TcpState::SctpCookieReplied;
constexpr auto CW = TcpState::SctpCookieWait;
constexpr auto CO = TcpState::SctpCookie;
constexpr auto CE = TcpState::SctpCookieEchoed;
constexpr auto ES = TcpState::SctpEstablished;
constexpr auto SS = TcpState::SctpShutdownSent;
constexpr auto SR = TcpState::SctpShutdownReceived;
constexpr auto SA = TcpState::SctpShutdownAckSent;
constexpr auto RJ = TcpState::SctpRejected;
constexpr auto CL = TcpState::SctpClosed;
static_assert(static_cast<size_t>(CL) - kSctpFirst + 1 == kNumSctpStates);

using Row = std::array<TcpState, kNumSctpStates>;
// [direction][event][current state], the kernel's sctp_states. Columns:
//  NO  I1  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
constexpr std::array<std::array<Row, kEvCount>, 3> kTable = {{
    {{
        // Input: client to real server
        {ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},  // data
        {I1, IN, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, IN, IN},  // init
        {CW, CW, CW, CS, CR, CO, CO, CE, ES, SS, SR, SA, RJ, CL},  // init ack
        {CR, IN, IN, CR, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},  // cookie echo
        {ES, I1, IN, CS, CR, CW, CO, ES, ES, SS, SR, SA, RJ, CL},  // cookie ack
        {SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL},  // shutdown
        {CL, IN, IN, CS, CR, CW, CO, CE, ES, CL, SR, CL, RJ, CL},  // shutdown ack
        {CL, CL, CL, CS, CR, CW, CO, CE, ES, SS, SR, CL, RJ, CL},  // shutdown complete
        {CL, I1, IN, CS, CR, CW, CO, CL, ES, SS, SR, SA, RJ, CL},  // error
        {CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL},  // abort
    }},
    {{
        // Output: real server to client (NAT)
        {ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
        {CW, CW, CW, CW, CW, CW, CW, CW, ES, CW, CW, CW, CW, CW},
        {CS, CS, CS, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
        {CE, CE, CE, CE, CE, CE, CE, CE, ES, SS, SR, SA, RJ, CL},
        {ES, ES, ES, ES, ES, ES, ES, ES, ES, SS, SR, SA, RJ, CL},
        {SS, SS, SS, SS, SS, SS, SS, SS, SS, SS, SR, SA, RJ, CL},
        {SA, SA, SA, SA, SA, CW, CO, CE, ES, SA, SA, SA, RJ, CL},
        {CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
        {CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
        {CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL},
    }},
    {{
        // InputOnly: DR and TUN, where the director sees the client's side only
        {ES, I1, IN, CS, CR, ES, CO, CE, ES, SS, SR, SA, RJ, CL},
        {I1, IN, IN, IN, IN, IN, CO, CE, ES, SS, SR, SA, IN, IN},
        {CE, CE, CE, CE, CE, CE, CO, CE, ES, SS, SR, SA, RJ, CL},
        {ES, ES, ES, ES, ES, ES, CO, CE, ES, SS, SR, SA, RJ, CL},
        {ES, I1, IN, ES, ES, CW, ES, ES, ES, SS, SR, SA, RJ, CL},
        {SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL},
        {CL, IN, IN, CS, CR, CW, CO, CE, CL, CL, SR, CL, RJ, CL},
        {CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, CL, CL, RJ, CL},
        {CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
        {CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL},
    }},
}};

}  // namespace

TcpState sctp_next_state(TcpState cur, Dir dir, uint8_t chunk) noexcept {
    const size_t s = static_cast<size_t>(cur) - kSctpFirst;  // wraps for a non-SCTP state
    if (s >= kNumSctpStates) [[unlikely]] {
        return cur;
    }
    const uint8_t ev = chunk < kEventOf.size() ? kEventOf[chunk] : uint8_t{kEvData};
    return kTable[static_cast<size_t>(dir)][ev][s];
}

}  // namespace dirigo::ct
