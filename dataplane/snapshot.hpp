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

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <tuple>
#include <vector>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "config/model.hpp"
#include "config/status.hpp"
#include "conntrack/tcp_state.hpp"
#include "dataplane/defense.hpp"
#include "dataplane/flat_map.hpp"
#include "dataplane/sync.hpp"
#include "schedulers/scheduler.hpp"

namespace dirigo::dp {

inline constexpr uint16_t kMaxPorts = 8;
/// Logical interfaces (docs/forwarding.md, "VLANs"): an index below kMaxPorts is a DPDK port
/// (its untagged traffic), and an 802.1Q sub-interface of a port gets an index from kMaxPorts
/// up. Next hops, owned addresses, neighbours, the slow path's frames and the kernel
/// interfaces are all per logical interface; m->port holds one from classification to TX.
inline constexpr uint16_t kMaxVlanIfaces = 56;  // cfg::kMaxVlans
inline constexpr uint16_t kMaxIfaces = kMaxPorts + kMaxVlanIfaces;
/// VLAN ids a port may carry (802.1Q's 12 bits).
inline constexpr uint16_t kVlanIds = 4096;
inline constexpr uint32_t kMaxServices = 4096;
inline constexpr uint32_t kMaxDests = 16384;
/// Routes one topology holds (the config's, or the kernel's on the ports' interfaces).
inline constexpr uint32_t kMaxRoutes = 16384;

/// One address Dirigo owns on a port.
struct LocalAddr {
    uint32_t addr = 0;  ///< network order
    uint32_t mask = 0;  ///< network order
};

/// One IPv6 address Dirigo owns on a port, with the length of its connected prefix.
struct LocalAddr6 {
    cfg::Ip6 addr;  ///< network order (bytes as on the wire)
    uint8_t len = 128;
};

/// A logical interface: a port, or a VLAN sub-interface of one (then `vlan` is not 0).
struct PortInfo {
    uint16_t port_id = 0;  ///< the interface index (a DPDK port id below kMaxPorts)
    uint16_t mtu = 1500;
    uint16_t parent = 0;   ///< the DPDK port it is on (port_id itself for a port)
    uint16_t vlan = 0;     ///< 802.1Q VLAN id, 1..4094; 0 for a port
    rte_ether_addr mac{};  ///< a VLAN's is its port's
    std::string name;      ///< "" for an index no port uses; "ext.100" for a VLAN
    std::vector<LocalAddr> addrs;
    /// IPv6 addresses, from the config alone (host integration follows only the kernel's IPv4
    /// addresses, docs/host-integration.md).
    std::vector<LocalAddr6> addrs6;
};

/// Where an IPv6 route sends a packet: out of `port`, to `gateway` (:: when on-link).
struct NextHop6 {
    uint16_t port = 0;
    cfg::Ip6 gateway;
    bool operator==(const NextHop6&) const = default;
};

/// An IPv6 route as the config gives it.
struct RouteSpec6 {
    cfg::Prefix6 prefix;
    uint16_t port = 0;
    cfg::Ip6 gateway;  ///< :: = on-link
};

/// Where a route sends a packet: out of `port`, to `gateway` (0: the destination is on-link).
struct NextHop {
    uint16_t port = 0;
    uint32_t gateway = 0;  ///< network order
    bool operator==(const NextHop&) const = default;
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
    /// (port, VLAN id) -> interface index, kMaxPorts * kVlanIds entries (0: the port does not
    /// carry that VLAN); empty when no port has VLANs.
    std::vector<uint16_t> vlan_ifaces;
    rte_lpm6* lpm6 = nullptr;     ///< IPv6 prefix -> index into next_hops6
    std::vector<NextHop6> next_hops6;
    std::vector<std::pair<cfg::Prefix6, NextHop6>> routes6;  ///< for listing (networks)
    /// The IPv6 routes this topology was built with (the config's): kept so that a rebuild from
    /// the kernel's IPv4 state (host integration) carries them over unchanged.
    std::vector<RouteSpec6> route_specs6;
    /// The smallest MTU of the configured ports: a packet no longer than this fits every egress,
    /// so the forwarding path needs one compare to know it has nothing to fragment.
    uint16_t min_mtu = 1500;

    /// True when Dirigo owns `addr` (network order). Thread: any. Cost: one FlatMap probe.
    bool is_local(uint32_t addr) const noexcept { return local.find(addr) != FlatMap::kNotFound; }
    /// The port that owns `addr` (network order), or -1. Thread: any. Cost: one FlatMap probe.
    int local_port(uint32_t addr) const noexcept {
        const uint32_t p = local.find(addr);
        return p == FlatMap::kNotFound ? -1 : static_cast<int>(p);
    }
    /// The interface of VLAN `vid` (1..4095) on DPDK port `port`, or 0 when the port does not
    /// carry it. Thread: any. Cost: one array read.
    uint16_t vlan_iface(uint16_t port, uint16_t vid) const noexcept {
        return vlan_ifaces.empty() ? 0 : vlan_ifaces[static_cast<size_t>(port) * kVlanIds + vid];
    }
    /// True when `addr` (host order) is the broadcast address of a connected subnet.
    bool is_broadcast(uint32_t addr) const;

    /// The next hop toward `dst` (network order), or nullptr when no route covers it.
    /// Thread: any. Cost: one rte_lpm lookup.
    const NextHop* route(uint32_t dst) const noexcept {
        uint32_t idx;
        return rte_lpm_lookup(lpm, rte_be_to_cpu_32(dst), &idx) == 0 ? &next_hops[idx] : nullptr;
    }

    /// Most destinations route_bulk() takes at once.
    static constexpr uint32_t kMaxBulk = 32;

    /// route() for `n` (<= kMaxBulk) destinations at once, in host order as rte_lpm takes them:
    /// out[i] is the next hop or nullptr. Thread: any. Cost: one bulk rte_lpm lookup.
    void route_bulk(const uint32_t* dst_host, const NextHop** out, uint32_t n) const noexcept {
        // Each result is the 24-bit next-hop index with RTE_LPM_LOOKUP_SUCCESS set, or not set.
        std::array<uint32_t, kMaxBulk> hops;
        rte_lpm_lookup_bulk(lpm, dst_host, hops.data(), n);
        for (uint32_t i = 0; i < n; ++i) {
            out[i] = (hops[i] & RTE_LPM_LOOKUP_SUCCESS) != 0 ? &next_hops[hops[i] & 0x00ffffffu]
                                                             : nullptr;
        }
    }

    /// The port owning IPv6 unicast address `a` (network order), or -1. Thread: any. Cost:
    /// O(owned IPv6 addresses), no allocation: IPv6 is out of the IPv4 fast path.
    int local6_port(const uint8_t* a) const noexcept {
        for (const PortInfo& p : ports) {
            for (const LocalAddr6& l : p.addrs6) {
                if (std::memcmp(l.addr.b.data(), a, 16) == 0) {
                    return p.port_id;
                }
            }
        }
        return -1;
    }
    /// The next hop toward IPv6 `dst` (16 bytes, network order), or nullptr.
    /// Thread: any. Cost: one rte_lpm6 lookup.
    const NextHop6* route6(const uint8_t* dst) const noexcept {
        uint32_t idx;
        return lpm6 != nullptr && rte_lpm6_lookup(lpm6, dst, &idx) == 0 ? &next_hops6[idx]
                                                                       : nullptr;
    }
    /// The owned IPv6 address on `port` facing `dst` (same prefix), else the port's first; false
    /// when the port has none. Thread: any.
    bool source6_for(uint16_t port, const uint8_t* dst, cfg::Ip6& out) const noexcept;

    /// Owned address on `port` facing `dst` (same subnet), else the port's first address.
    uint32_t source_for(uint16_t port, uint32_t dst) const;
    /// Port id whose connected subnet holds `ip`, or -1.
    int connected_port(uint32_t ip) const;
};

/// A route as the config or the kernel gives it (host order).
struct RouteSpec {
    cfg::Prefix prefix;
    uint16_t port = 0;
    uint32_t gateway = 0;  ///< 0: on-link
};

/// Builds a Topology from `ports` (indexed by port id, with their addresses): their connected
/// subnets, then `routes` (a route whose prefix is already there replaces it). A route whose
/// gateway is 0 is on-link. Thread: control (or startup). Cost: one rte_lpm per call.
/// IPv6 likewise: the connected prefixes of the ports' addrs6, then `routes6`, in an rte_lpm6.
Result<std::shared_ptr<Topology>> make_topology(std::vector<PortInfo> ports,
                                                const std::vector<RouteSpec>& routes,
                                                const std::vector<RouteSpec6>& routes6 = {});

/// One real server in a snapshot.
struct DestEntry {
    uint32_t addr = 0;  ///< network order
    uint16_t port = 0;  ///< network order
    cfg::Fwd fwd = cfg::Fwd::Masq;
    uint8_t encap = 0;     ///< Fwd::Tunnel: dp::Encap (dataplane/tunnel.hpp)
    uint16_t tun_port = 0; ///< GUE's UDP destination port, network order
    uint32_t slot = 0;  ///< global counter/stats slot
    uint32_t u_threshold = 0;
    uint32_t l_threshold = 0;
    cfg::Ip6 addr6;  ///< an IPv6 server's address (network order); `addr` is then 0
};

/// One virtual service in a snapshot.
struct ServiceEntry {
    cfg::ServiceKey key;  ///< host order, for listing
    uint32_t slot = 0;    ///< stats slot
    uint32_t flags = 0;
    uint32_t timeout = 0;       ///< persistence timeout, seconds
    uint64_t timeout_tsc = 0;   ///< the same in TSC ticks
    uint32_t netmask = 0;       ///< persistence netmask, network order
    cfg::Ip6 netmask6;          ///< an IPv6 service's persistence prefix (-M 64) as a mask
    /// TCP, with at least one real server, all of them NAT (masquerading): the SYN proxy may
    /// answer its SYNs (docs/reliability.md, "The SYN proxy").
    bool synp_ok = false;
    std::unique_ptr<sched::Scheduler> sched;
    std::vector<DestEntry> dests;  ///< same order as the scheduler's backends
};

/// Key of the service map: protocol, address and port as they are on the wire.
inline uint64_t service_map_key(uint8_t proto, uint32_t addr_be, uint16_t port_be) {
    return (static_cast<uint64_t>(proto) << 48) | (static_cast<uint64_t>(addr_be) << 16) | port_be;
}

/// One IPv6 service's entry in Snapshot::services6: (VIP, port, protocol) as on the wire.
struct Service6Index {
    cfg::Ip6 addr;         ///< the VIP, network order
    uint16_t port = 0;     ///< network order
    uint8_t proto = 0;
    uint32_t service = 0;  ///< index into Snapshot::services
    auto tie() const { return std::tie(addr, port, proto); }
};

/// The real server of `svc` with global slot `slot`, or nullptr. O(servers); new flows only.
inline const DestEntry* find_dest_by_slot(const ServiceEntry& svc, uint32_t slot) {
    for (const DestEntry& d : svc.dests) {
        if (d.slot == slot) {
            return &d;
        }
    }
    return nullptr;
}

/// One mark rule, compiled by control (control/snapshot_builder.cpp): what a new flow's
/// destination is compared with, and the fwmark service its mark selects.
struct MarkMatch {
    uint32_t net = 0;      ///< network order, already masked
    uint32_t mask = 0;     ///< network order
    uint32_t first = 0;    ///< first of its ranges in Snapshot::mark_ports
    uint16_t count = 0;    ///< number of ranges; 0 matches every port
    uint8_t proto = 0;     ///< IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, or 0 for TCP and UDP
    uint32_t service = 0;  ///< index into Snapshot::services, or kNoMarkService
};

/// An IPv6 mark rule, compiled by control: MarkMatch's fields with a 16-byte network and mask.
struct MarkMatch6 {
    cfg::Ip6 net;          ///< network order, already masked
    cfg::Ip6 mask;         ///< network order
    uint32_t first = 0;    ///< first of its ranges in Snapshot::mark_ports
    uint16_t count = 0;    ///< number of ranges; 0 matches every port
    uint8_t proto = 0;     ///< as MarkMatch's
    uint32_t service = 0;  ///< index into Snapshot::services (an IPv6 fwmark service), or
                           ///< kNoMarkService
};

/// A mark whose fwmark service does not exist: the flow gets no service.
inline constexpr uint32_t kNoMarkService = 0xffffffffu;

struct Snapshot {
    uint64_t generation = 0;
    std::shared_ptr<const Topology> topo;
    std::vector<ServiceEntry> services;
    FlatMap service_map;  ///< service_map_key -> index into services (IPv4 services only)
    /// IPv6 services by (VIP, port, protocol), sorted: new IPv6 flows binary-search it (built by
    /// control; the IPv4 path never reads it). Empty when there are none.
    std::vector<Service6Index> services6;
    bool any_port_zero = false;  ///< some service is a persistent port-zero ("all ports") one
    ct::Timeouts timeouts;
    std::array<uint64_t, ct::kNumStates> timeout_tsc{};  ///< timeouts in TSC ticks
    SyncParams sync;  ///< connection sync (set by Dataplane::publish)
    DefenseParams defense;  ///< flood defence level (set by Dataplane::publish)

    /// Mark rules in order (first match wins); empty when there are none, which is all the
    /// new-flow path checks then.
    std::vector<MarkMatch> marks;
    std::vector<cfg::PortRange> mark_ports;  ///< the rules' port ranges, host order
    /// The IPv6 mark rules in order (first match wins), their ranges in mark_ports too.
    std::vector<MarkMatch6> marks6;

    /// The fwmark service a new flow's first packet selects through the mark rules, or nullptr
    /// (no rule matches, or the first that matches names a mark with no service). Called only
    /// for new flows with no address service; out of line, so that the burst loop that inlines
    /// the new-flow path stays as small as it is without marks. Thread: any. Cost: O(rules +
    /// their ranges).
    [[gnu::noinline]] const ServiceEntry* find_marked(uint8_t proto, uint32_t addr_be,
                                                      uint16_t port_be) const noexcept {
        if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) {
            return nullptr;
        }
        const uint16_t port = rte_be_to_cpu_16(port_be);
        for (const MarkMatch& m : marks) {
            // A rule without a protocol (--tcp-udp) matches TCP and UDP; SCTP only by name.
            const bool proto_ok = m.proto != 0 ? m.proto == proto : proto != IPPROTO_SCTP;
            if ((addr_be & m.mask) != m.net || !proto_ok) {
                continue;
            }
            bool in = m.count == 0;
            for (uint32_t i = m.first; i < m.first + m.count && !in; ++i) {
                in = port >= mark_ports[i].lo && port <= mark_ports[i].hi;
            }
            if (in) {
                return m.service == kNoMarkService ? nullptr : &services[m.service];
            }
        }
        return nullptr;
    }

    /// find_marked for a new IPv6 flow to [`addr`]:`port_be` (16 bytes, network order): the IPv6
    /// fwmark service the first matching IPv6 rule's mark selects, or nullptr. Called only when
    /// the flow has no address service and there are IPv6 rules. Thread: any. Cost: O(rules +
    /// their ranges), 16-byte compares.
    [[gnu::noinline]] const ServiceEntry* find_marked6(uint8_t proto, const uint8_t* addr,
                                                       uint16_t port_be) const noexcept {
        if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) {
            return nullptr;
        }
        const uint16_t port = rte_be_to_cpu_16(port_be);
        for (const MarkMatch6& m : marks6) {
            const bool proto_ok = m.proto != 0 ? m.proto == proto : proto != IPPROTO_SCTP;
            bool net_ok = proto_ok;
            for (size_t i = 0; i < 16 && net_ok; ++i) {
                net_ok = (addr[i] & m.mask.b[i]) == m.net.b[i];
            }
            if (!net_ok) {
                continue;
            }
            bool in = m.count == 0;
            for (uint32_t i = m.first; i < m.first + m.count && !in; ++i) {
                in = port >= mark_ports[i].lo && port <= mark_ports[i].hi;
            }
            if (in) {
                return m.service == kNoMarkService ? nullptr : &services[m.service];
            }
        }
        return nullptr;
    }

    /// The fwmark service of `mark` (host order) and family `af` (IPVS keys a fwmark service by
    /// both: -f 1 and -f 1 -6 are two services), or nullptr. For the cold paths (a synced
    /// fwmark template names its service by mark). Thread: any. Cost: O(services).
    const ServiceEntry* find_fwmark(uint32_t mark,
                                    cfg::Family af = cfg::Family::Inet) const noexcept {
        for (const ServiceEntry& s : services) {
            if (s.key.fwmark == mark && mark != 0 && s.key.af == af) {
                return &s;
            }
        }
        return nullptr;
    }

    /// find_service, then the mark rules (IPVS's fwmark services): every service a new flow
    /// could open a connection of. The rules are tried only when there are some. Thread: any.
    const ServiceEntry* find_service_or_marked(uint8_t proto, uint32_t addr_be,
                                               uint16_t port_be) const noexcept {
        const ServiceEntry* s = find_service(proto, addr_be, port_be);
        if (s != nullptr || marks.empty()) [[likely]] {
            return s;
        }
        return find_marked(proto, addr_be, port_be);
    }

    /// The IPv6 service of a new flow to [`addr`]:`port_be` (16 bytes, network order), or
    /// nullptr; as find_service, a persistent port-zero service of the address when none is on
    /// the port. Thread: any. Cost: O(log IPv6 services), new IPv6 flows only.
    const ServiceEntry* find_service6(uint8_t proto, const uint8_t* addr,
                                      uint16_t port_be) const noexcept {
        Service6Index k;
        std::memcpy(k.addr.b.data(), addr, 16);
        k.proto = proto;
        for (const uint16_t port : {port_be, uint16_t{0}}) {
            k.port = port;
            const auto it = std::lower_bound(
                services6.begin(), services6.end(), k,
                [](const Service6Index& a, const Service6Index& b) { return a.tie() < b.tie(); });
            if (it != services6.end() && it->tie() == k.tie()) {
                return &services[it->service];
            }
            if (!any_port_zero) {
                break;
            }
        }
        return nullptr;
    }

    /// True when some IPv6 service has VIP `addr` (16 bytes, network order). Thread: any.
    /// Cost: O(log IPv6 services).
    bool is_vip6(const uint8_t* addr) const noexcept {
        Service6Index k;
        std::memcpy(k.addr.b.data(), addr, 16);
        // The first entry of this address, if any: (addr, port 0, proto 0) sorts before them all.
        const auto it = std::lower_bound(
            services6.begin(), services6.end(), k,
            [](const Service6Index& a, const Service6Index& b) { return a.tie() < b.tie(); });
        return it != services6.end() && it->addr == k.addr;
    }

    /// The service for a packet to `addr_be`:`port_be`: the one on that port, else (as IPVS
    /// does) the persistent port-zero service of that address. Thread: any. Cost: one or two
    /// FlatMap probes.
    const ServiceEntry* find_service(uint8_t proto, uint32_t addr_be, uint16_t port_be) const {
        uint32_t i = service_map.find(service_map_key(proto, addr_be, port_be));
        if (i == FlatMap::kNotFound && any_port_zero) [[unlikely]] {
            i = service_map.find(service_map_key(proto, addr_be, 0));
        }
        return i == FlatMap::kNotFound ? nullptr : &services[i];
    }
};

}  // namespace dirigo::dp
