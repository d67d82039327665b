// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// IPVS's TCP connection state machine, table-driven, and its timeouts.
///
/// A connection's state moves on the flags of each packet it carries: the event is RST, else SYN,
/// else FIN, else ACK (the first that is set), and the direction is Input (client to real server),
/// Output (real server to client, NAT only) or InputOnly (DR/TUN, where replies bypass the
/// director). The tables are IPVS's (net/netfilter/ipvs/ip_vs_proto_tcp.c), so ActiveConn and
/// InActConn read as an operator expects. Thread: any. Cost: one table load.

#include <array>
#include <cstdint>
#include <string_view>

namespace dirigo::ct {

enum class TcpState : uint8_t {
    None = 0,
    Established,
    SynSent,
    SynRecv,
    FinWait,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    SynAck,
    Udp,  ///< not TCP: UDP flows use one state with the udp timeout
};
inline constexpr size_t kNumStates = 12;
inline constexpr size_t kNumTcpStates = 11;

enum class Dir : uint8_t { Input = 0, Output = 1, InputOnly = 2 };

/// IPVS's names, as `ipvsadm -L -c` prints them.
inline constexpr std::array<std::string_view, kNumStates> kStateNames = {
    "NONE",      "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
    "CLOSE",     "CLOSE_WAIT",  "LAST_ACK",   "LISTEN",   "SYNACK",   "UDP",
};

inline std::string_view state_name(TcpState s) {
    return kStateNames[static_cast<size_t>(s)];
}

/// TCP flag bits as in the header's flags byte.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpAck = 0x10;

/// Next state for a packet with `flags` in direction `dir`; unchanged when no relevant flag is set.
/// `secure` selects IPVS's secure_tcp table (tcp_states_dos): a client's ACK alone does not
/// establish a NAT connection (it stays in SYN_RECV, moves to SYNACK when the real server answers
/// the SYN, and becomes ESTABLISHED only on the server's next packet), so a spoofed handshake
/// never reaches ESTABLISHED's 15-minute timeout; a DR/TUN connection opens in SYNACK.
TcpState tcp_next_state(TcpState cur, Dir dir, uint8_t flags, bool secure = false) noexcept;

/// Per-state timeouts in seconds. Defaults are IPVS's; `--set tcp tcpfin udp` changes
/// Established, FinWait and Udp.
struct Timeouts {
    std::array<uint32_t, kNumStates> secs = {
        2,    // NONE
        900,  // ESTABLISHED
        120,  // SYN_SENT
        60,   // SYN_RECV
        120,  // FIN_WAIT
        120,  // TIME_WAIT
        10,   // CLOSE
        60,   // CLOSE_WAIT
        30,   // LAST_ACK
        120,  // LISTEN
        120,  // SYNACK
        300,  // UDP
    };
    uint32_t tcp() const { return secs[static_cast<size_t>(TcpState::Established)]; }
    uint32_t tcp_fin() const { return secs[static_cast<size_t>(TcpState::FinWait)]; }
    uint32_t udp() const { return secs[static_cast<size_t>(TcpState::Udp)]; }
    void set(uint32_t tcp, uint32_t tcp_fin, uint32_t udp) {
        secs[static_cast<size_t>(TcpState::Established)] = tcp;
        secs[static_cast<size_t>(TcpState::FinWait)] = tcp_fin;
        secs[static_cast<size_t>(TcpState::Udp)] = udp;
    }
};

}  // namespace dirigo::ct
