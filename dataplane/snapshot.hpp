// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The immutable state control publishes to the workers.
///
/// A Snapshot is built whole by the control thread, published with one atomic pointer store and
/// never modified afterwards; workers load the pointer once per loop iteration and report a
/// quiescent state when they no longer hold it, after which control may free the previous one
/// (rte_rcu_qsbr). Per-core mutable state (connections, counters) never lives here.
/// Addresses and ports are network order in this file: the hot path compares them with the
/// packet's own bytes.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_ether.h>

#include "config/model.hpp"
#include "conntrack/tcp_state.hpp"
#include "dataplane/flat_map.hpp"
#include "schedulers/scheduler.hpp"

struct rte_lpm;

namespace dirigo::dp {

inline constexpr uint16_t kMaxPorts = 8;
inline constexpr uint32_t kMaxServices = 4096;
inline constexpr uint32_t kMaxDests = 16384;

/// One address Dirigo owns on a port.
struct LocalAddr {
    uint32_t addr = 0;  ///< network order
    uint32_t mask = 0;  ///< network order
};

struct PortInfo {
    uint16_t port_id = 0;
    uint16_t mtu = 1500;
    rte_ether_addr mac{};
    std::string name;
    std::vector<LocalAddr> addrs;
};

/// Where a route sends a packet: out of `port`, to `gateway` (0: the destination is on-link).
struct NextHop {
    uint16_t port = 0;
    uint32_t gateway = 0;  ///< network order
};

/// Ports, owned addresses and routes. Built at startup; shared by snapshots.
struct Topology {
    Topology() = default;
    ~Topology();
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;

    std::vector<PortInfo> ports;  ///< indexed by DPDK port id
    FlatMap local;                ///< owned address -> port id
    rte_lpm* lpm = nullptr;       ///< prefix -> index into next_hops
    std::vector<NextHop> next_hops;
    std::vector<std::pair<cfg::Prefix, NextHop>> routes;  ///< for listing (host order prefixes)

    /// Owned address on `port` facing `dst` (same subnet), else the port's first address.
    uint32_t source_for(uint16_t port, uint32_t dst) const;
    /// Port id whose connected subnet holds `ip`, or -1.
    int connected_port(uint32_t ip) const;
};

/// One real server in a snapshot.
struct DestEntry {
    uint32_t addr = 0;  ///< network order
    uint16_t port = 0;  ///< network order
    cfg::Fwd fwd = cfg::Fwd::Masq;
    uint32_t slot = 0;  ///< global counter/stats slot
    uint32_t u_threshold = 0;
    uint32_t l_threshold = 0;
};

/// One virtual service in a snapshot.
struct ServiceEntry {
    cfg::ServiceKey key;  ///< host order, for listing
    uint32_t slot = 0;    ///< stats slot
    uint32_t flags = 0;
    uint32_t timeout = 0;       ///< persistence timeout, seconds
    uint64_t timeout_tsc = 0;   ///< the same in TSC ticks
    uint32_t netmask = 0;       ///< persistence netmask, network order
    std::unique_ptr<sched::Scheduler> sched;
    std::vector<DestEntry> dests;  ///< same order as the scheduler's backends
};

/// Key of the service map: protocol, address and port as they are on the wire.
inline uint64_t service_map_key(uint8_t proto, uint32_t addr_be, uint16_t port_be) {
    return (static_cast<uint64_t>(proto) << 48) | (static_cast<uint64_t>(addr_be) << 16) | port_be;
}

/// The real server of `svc` with global slot `slot`, or nullptr. O(servers); new flows only.
inline const DestEntry* find_dest_by_slot(const ServiceEntry& svc, uint32_t slot) {
    for (const DestEntry& d : svc.dests) {
        if (d.slot == slot) {
            return &d;
        }
    }
    return nullptr;
}

struct Snapshot {
    uint64_t generation = 0;
    std::shared_ptr<const Topology> topo;
    std::vector<ServiceEntry> services;
    FlatMap service_map;  ///< service_map_key -> index into services
    ct::Timeouts timeouts;
    std::array<uint64_t, ct::kNumStates> timeout_tsc{};  ///< timeouts in TSC ticks

    const ServiceEntry* find_service(uint8_t proto, uint32_t addr_be, uint16_t port_be) const {
        const uint32_t i = service_map.find(service_map_key(proto, addr_be, port_be));
        return i == FlatMap::kNotFound ? nullptr : &services[i];
    }
};

}  // namespace dirigo::dp
