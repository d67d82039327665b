// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// What workers and the control thread exchange for connection synchronisation (docs/sync.md).
///
/// Master: a worker decides, per packet from a client, whether its connection is due to be sent
/// (IPVS's rules: the sync_threshold-th packet and every sync_period-th after it, at once on a
/// TCP state change other than to ESTABLISHED), and queues a SyncRecord on its own ring to
/// control, once per loop; control encodes them into IPVS sync messages. Backup: control decodes
/// messages and queues each record on the ring of the worker that owns the client's flow, which
/// installs it between bursts. No lock and no allocation on either side of the rings.

#include <cstdint>

#include "conntrack/flow_key.hpp"

namespace dirigo::dp {

/// IPVS's defaults (net.ipv4.vs.sync_threshold = "3 50"): a connection is sent on its third
/// packet from the client, then every 50th.
inline constexpr uint32_t kSyncThreshold = 3;
inline constexpr uint32_t kSyncPeriod = 50;
/// Slots of each worker's rings (records, not mbufs): 1 MiB, about 10 ms of a worker opening
/// 3 M connections a second, longer than a scheduler tick of a preempted control thread (8192
/// lost records in dirigo-bench's newconn3 sync once staged inserts made the worker faster).
inline constexpr uint32_t kSyncRingSize = 32768;
/// Most records a worker installs in one loop (backup), so a burst of sync traffic cannot delay
/// its packets by more than a few microseconds.
inline constexpr uint32_t kSyncInstallBudget = 64;

/// Set by control in every snapshot it publishes.
struct SyncParams {
    bool master = false;  ///< a master sync daemon runs: workers queue records
    uint32_t threshold = kSyncThreshold;
    uint32_t period = kSyncPeriod;
};

enum class SyncKind : uint8_t {
    Conn = 0,      ///< a connection
    Template = 1,  ///< a persistence template: client.saddr masked, client.sport 0
};

/// One connection (or template) crossing a sync ring. 32 bytes, a multiple of 4 as rte_ring's
/// element rings require. Addresses and ports in network order.
struct SyncRecord {
    ct::FlowKey client;      ///< client -> VIP:vport
    uint32_t raddr = 0;      ///< real server
    uint16_t rport = 0;
    uint8_t state = 0;       ///< ct::TcpState
    uint8_t fwd = 0;         ///< cfg::Fwd
    uint32_t timeout_s = 0;  ///< the state's timeout (a template: the service's)
    SyncKind kind = SyncKind::Conn;
    uint8_t inactive = 0;    ///< counted in InActConn
    uint16_t reserved = 0;
};
static_assert(sizeof(SyncRecord) == 32 && sizeof(SyncRecord) % 4 == 0);

/// Slots of each worker's IPv6 rings (a record is 64 bytes: 512 KiB a ring). IPv6 records have
/// rings of their own so that the IPv4 ring keeps its 32-byte elements.
inline constexpr uint32_t kSyncRing6Size = 8192;

/// One IPv6 connection or persistence template crossing a sync ring (an IPv6 record of the
/// kernel's version-1 format, as ip_vs_sync_conn sends an AF_INET6 connection). 64 bytes, one
/// cache line. Addresses and ports in network order.
///
/// A template (kind Template) is IPVS's: the client masked to the service's prefix length, cport
/// 0; a port-zero service's has vport and rport 0; a fwmark service's has protocol 0 and the
/// mark in the first 4 bytes of `vaddr` (network order, the other 12 bytes 0), as the kernel
/// keys it. A real server of the other family (an IPv4 tunnel server of an IPv6 service) is
/// `raddr` in the kernel's layout of an IPv4 address in an IPv6 connection: the 4 bytes first,
/// 12 zero bytes after (`dest4` says so on the master's side; a received record cannot).
struct SyncRecord6 {
    uint8_t caddr[16] = {};  ///< client (a template: masked)
    uint8_t vaddr[16] = {};  ///< virtual address (a fwmark template: the mark)
    uint8_t raddr[16] = {};  ///< real server
    uint16_t cport = 0;
    uint16_t vport = 0;
    uint16_t rport = 0;
    uint8_t proto = 0;       ///< IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP; 0: a fwmark template
    uint8_t state = 0;       ///< ct::TcpState (SCTP's from ct::kSctpFirst; a template: None)
    uint32_t timeout_s = 0;  ///< the state's timeout (a template: the service's), seconds
    uint8_t fwd = 0;         ///< cfg::Fwd
    uint8_t inactive = 0;    ///< counted in InActConn
    SyncKind kind = SyncKind::Conn;
    uint8_t dest4 = 0;  ///< the real server is IPv4: its address is raddr's first 4 bytes
};
static_assert(sizeof(SyncRecord6) == 64 && sizeof(SyncRecord6) % 4 == 0);

}  // namespace dirigo::dp
