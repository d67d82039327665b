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

// IPVS's secure_tcp table, same layout. Differences from the table above: Input syn/fin/ack in
// SYNACK stay there and Input ack in SYN_RECV stays there (only the real server's answer moves the
// connection on); Output syn in SYN_RECV goes to SYNACK; InputOnly syn opens in SYNACK; Input rst
// in SYNACK closes.
constexpr std::array<std::array<Row, 4>, 3> kSecureTable = {{
    {{
        // Input
        {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSA},
        {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sSA},
        {sCL, sES, sSS, sSR, sFW, sTW, sCL, sCW, sCL, sLI, sSA},
        {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    }},
    {{
        // Output
        {sSS, sES, sSS, sSA, sSS, sSS, sSS, sSS, sSS, sLI, sSA},
        {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
        {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
        {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
    }},
    {{
        // InputOnly
        {sSA, sES, sES, sSR, sSA, sSA, sSA, sSA, sSA, sSA, sSA},
        {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
        {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    }},
}};

}  // namespace

TcpState tcp_next_state(TcpState cur, Dir dir, uint8_t flags, bool secure) noexcept {
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
    const auto& t = secure ? kSecureTable : kTable;
    return t[static_cast<size_t>(dir)][static_cast<size_t>(event)][s];
}

}  // namespace dirigo::ct
