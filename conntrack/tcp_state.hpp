// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// IPVS's TCP connection state machine, table-driven, and its timeouts. The state enum also holds
/// UDP's one state and SCTP's states (their machine is conntrack/sctp_state.hpp).
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
    // SCTP associations (conntrack/sctp_state.hpp): IPVS's IP_VS_SCTP_S_* in the kernel's order,
    // from kSctpFirst on. They share this byte and the timeout table so that a connection entry
    // stays one cache line and the worker indexes one array whatever the protocol.
    SctpNone,
    SctpInit1,
    SctpInit,
    SctpCookieSent,
    SctpCookieReplied,
    SctpCookieWait,
    SctpCookie,
    SctpCookieEchoed,
    SctpEstablished,
    SctpShutdownSent,
    SctpShutdownReceived,
    SctpShutdownAckSent,
    SctpRejected,
    SctpClosed,
};
inline constexpr size_t kNumStates = 26;
inline constexpr size_t kNumTcpStates = 11;
inline constexpr size_t kNumSctpStates = 14;
/// The first SCTP state: an SCTP state's IPVS number is its value minus this.
inline constexpr size_t kSctpFirst = static_cast<size_t>(TcpState::SctpNone);
static_assert(kSctpFirst + kNumSctpStates == kNumStates);

/// True for the states IPVS counts as active (ActiveConn): TCP's and SCTP's ESTABLISHED.
constexpr bool is_established(TcpState s) noexcept {
    return s == TcpState::Established || s == TcpState::SctpEstablished;
}

enum class Dir : uint8_t { Input = 0, Output = 1, InputOnly = 2 };

/// IPVS's names, as `ipvsadm -L -c` prints them.
inline constexpr std::array<std::string_view, kNumStates> kStateNames = {
    "NONE",      "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
    "CLOSE",     "CLOSE_WAIT",  "LAST_ACK",   "LISTEN",   "SYNACK",   "UDP",
    // SCTP: ip_vs_proto_sctp.c's sctp_state_name_table
    "NONE",      "INIT1",       "INIT",       "C-SENT",   "C-REPLIED", "C-WAIT",
    "COOKIE",    "C-ECHOED",    "ESTABLISHED", "S-SENT",  "S-RECEIVED", "S-ACK-SENT",
    "REJECTED",  "CLOSED",
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
/// Established, FinWait and Udp, as ipvsadm's does (the SCTP timeouts are fixed, as IPVS's are
/// to ipvsadm: the kernel has no netlink attribute for them).
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
        // SCTP: ip_vs_proto_sctp.c's sctp_timeouts (IP_VS_SCTP_MAX_RTO is 61 s)
        2,    // NONE
        4,    // INIT1
        61,   // INIT
        61,   // C-SENT
        61,   // C-REPLIED
        61,   // C-WAIT
        61,   // COOKIE
        61,   // C-ECHOED
        900,  // ESTABLISHED
        61,   // S-SENT
        61,   // S-RECEIVED
        61,   // S-ACK-SENT
        4,    // REJECTED
        61,   // CLOSED
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
