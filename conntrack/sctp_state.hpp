// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// IPVS's SCTP association state machine, table-driven (net/netfilter/ipvs/ip_vs_proto_sctp.c).
///
/// The event is the packet's first chunk type (DATA, SACK, HEARTBEAT and the unknown ones all
/// count as DATA), except that a COOKIE ECHO or COOKIE ACK followed by an ABORT counts as the
/// ABORT, as the kernel reads it. Directions are tcp_state.hpp's: Input (client to real server),
/// Output (real server to client, NAT only) and InputOnly (DR/TUN). States are TcpState's Sctp*
/// values; a connection opens in SctpNone and its first INIT takes it to INIT1. Only
/// SctpEstablished counts as active. Thread: any. Cost: one table load.

#include <cstdint>

#include "conntrack/tcp_state.hpp"

namespace dirigo::ct {

/// SCTP chunk types (RFC 9260 section 3.2) the state machine tells apart.
enum SctpChunk : uint8_t {
    kSctpData = 0,
    kSctpInit = 1,
    kSctpInitAck = 2,
    kSctpSack = 3,
    kSctpHeartbeat = 4,
    kSctpHeartbeatAck = 5,
    kSctpAbort = 6,
    kSctpShutdown = 7,
    kSctpShutdownAck = 8,
    kSctpError = 9,
    kSctpCookieEcho = 10,
    kSctpCookieAck = 11,
    kSctpEcne = 12,
    kSctpCwr = 13,
    kSctpShutdownComplete = 14,
};

/// Next state of an SCTP connection in `cur` (an Sctp* state) for a packet whose deciding chunk
/// is `chunk` (dp::parse_frame's Parsed::sctp_chunk), travelling in `dir`. A state outside the
/// SCTP range is returned unchanged.
TcpState sctp_next_state(TcpState cur, Dir dir, uint8_t chunk) noexcept;

}  // namespace dirigo::ct
