// SPDX-License-Identifier: BSD-3-Clause
#include "conntrack/tcp_state.hpp"

namespace dirigo::ct {
namespace {

constexpr auto sNO = TcpState::None;
constexpr auto sES = TcpState::Established;
constexpr auto sSS = TcpState::SynSent;
constexpr auto sSR = TcpState::SynRecv;
constexpr auto sFW = TcpState::FinWait;
constexpr auto sTW = TcpState::TimeWait;
constexpr auto sCL = TcpState::Close;
constexpr auto sCW = TcpState::CloseWait;
constexpr auto sLA = TcpState::LastAck;
constexpr auto sLI = TcpState::Listen;
constexpr auto sSA = TcpState::SynAck;

using Row = std::array<TcpState, kNumTcpStates>;
// [direction][event][current state]; events: syn, fin, ack, rst. Columns:
//   sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA
constexpr std::array<std::array<Row, 4>, 3> kTable = {{
    {{
        // Input
        {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
        {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW},
        {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR},
    }},
    {{
        // Output
        {sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR},
        {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
        {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
        {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
    }},
    {{
        // InputOnly
        {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
        {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
        {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    }},
}};

}  // namespace

TcpState tcp_next_state(TcpState cur, Dir dir, uint8_t flags) noexcept {
    int event;
    // IPVS's priority: RST, then SYN, then FIN, then ACK.
    if (flags & kTcpRst) {
        event = 3;
    } else if (flags & kTcpSyn) {
        event = 0;
    } else if (flags & kTcpFin) {
        event = 1;
    } else if (flags & kTcpAck) {
        event = 2;
    } else {
        return cur;
    }
    const auto s = static_cast<size_t>(cur);
    if (s >= kNumTcpStates) [[unlikely]] {
        return cur;
    }
    return kTable[static_cast<size_t>(dir)][static_cast<size_t>(event)][s];
}

}  // namespace dirigo::ct
