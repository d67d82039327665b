// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The daemon's configuration as plain, validated structs. config/loader.cpp fills them from a
/// libconfig file; everything downstream trusts them (ranges checked, names unique, ports that routes
/// name exist). No DPDK types here: the config module builds and tests without EAL.

#include <cstdint>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace dirigo::cfg {

/// The Unix control socket.
struct ControlCfg {
    std::string socket = "/run/dirigo/dirigo.sock";
    uint32_t mode = 0600;     ///< permission bits of the socket file
    std::string group;        ///< owner group name; empty = the daemon's group
    /// The rules file (docs/operations.md, "Restarts and reloads"): restored at start after the
    /// config's services, saved in `dirigoadm -S` format after each rule change and at stop.
    /// Empty: no rules file.
    std::string rules;
    bool operator==(const ControlCfg&) const = default;
};

/// The Prometheus endpoint (metrics/). Off unless `listen` is set.
struct MetricsCfg {
    bool enabled = false;  ///< true when the file sets metrics.listen
    Ip4 addr = 0;          ///< host order; 0 = every address (0.0.0.0)
    uint16_t port = 0;     ///< 1..65535 when enabled
    bool operator==(const MetricsCfg&) const = default;
};

/// Severity of the daemon's messages, syslog's eight levels (`log.level`). The daemon maps them to
/// DPDK's RTE_LOG_* (one more than syslog's number); no DPDK types here.
enum class LogLevel : uint8_t {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
};

/// The daemon's log (docs/operations.md, "Logs").
struct LogCfg {
    /// The most detailed level of Dirigo's own messages that is written; below it, nothing.
    LogLevel level = LogLevel::Info;
    bool operator==(const LogCfg&) const = default;
};

/// Which end of Dirigo's flows a port faces: what its RSS hashes, so that both directions of a
/// flow reach the flow's owner worker (docs/architecture.md, "Flow ownership and RSS").
enum class PortSide : uint8_t {
    Client,  ///< clients' packets arrive here: hash the source (the client's address and port)
    Server,  ///< NAT replies from real servers arrive here: hash the destination (the client)
    Both,    ///< both (one-armed NAT): hash the source; NAT replies arriving here are handed off
};

/// An 802.1Q VLAN sub-interface of a port (`vlans` in a port's entry): frames tagged with `id`
/// on the port's wire belong to it, and it owns its own addresses (docs/configuration.md).
struct VlanCfg {
    uint16_t id = 0;                ///< VLAN id, 1..4094, unique on its port
    std::vector<Prefix> addresses;  ///< owned addresses; the prefix gives the connected route
    bool operator==(const VlanCfg&) const = default;
};

/// Most VLAN sub-interfaces of all ports together (the dataplane's interface table is fixed).
inline constexpr size_t kMaxVlans = 56;

/// A dataplane port: a DPDK ethdev and the addresses Dirigo owns on it.
struct PortCfg {
    std::string name;                ///< operator's name, e.g. "ext"
    std::string device;              ///< ethdev name, e.g. "net_af_packet0"
    std::vector<Prefix> addresses;   ///< owned addresses; the prefix gives the connected route
    /// Owned IPv6 addresses (the same `addresses` list, entries with a ':'); the prefix gives the
    /// connected route. Dirigo answers neighbour discovery and echo for them (docs/configuration.md).
    std::vector<Prefix6> addresses6;
    uint16_t mtu = 1500;
    /// Name of the port's kernel interface (host integration); empty = the port's name.
    std::string kernel_name;
    PortSide side = PortSide::Client;  ///< `side`: "client" (default), "server" or "both"
    std::vector<VlanCfg> vlans;        ///< 802.1Q sub-interfaces, in the file's order
    bool operator==(const PortCfg&) const = default;
};

/// Host integration (docs/host-integration.md): a kernel interface per port, the exception path
/// to it, and the kernel as the source of truth for addresses and routes.
struct HostCfg {
    bool kernel_interfaces = true;  ///< create the interfaces (false: a static, config-only port)
    uint32_t queue = 1024;          ///< packets waiting for the kernel, per port (power of two)
    uint32_t rate = 20000;          ///< packets per second up to the kernel, per port
    uint32_t burst = 2000;          ///< token bucket depth of that rate
    bool operator==(const HostCfg&) const = default;
};

/// A static route. `via` must be on a connected subnet of some port.
struct RouteCfg {
    Prefix prefix;
    Ip4 via = 0;
    bool operator==(const RouteCfg&) const = default;
};

/// A static IPv6 route (a `routes` entry whose prefix is IPv6). `via` must be on a connected
/// IPv6 subnet of some port (global or unique-local: a link-local gateway names no port).
struct Route6Cfg {
    Prefix6 prefix;
    Ip6 via;
    bool operator==(const Route6Cfg&) const = default;
};

/// How a worker polls (`dataplane.poll`).
enum class PollMode : uint8_t {
    Busy,      ///< polls without pause: lowest latency, one core always at 100%
    Adaptive,  ///< after `idle_polls` empty loops, sleeps between polls (doubling up to
               ///< `max_sleep_us`) until a packet arrives, then busy-polls again at once
};

/// Sizing and tuning knobs of the dataplane.
struct DataplaneCfg {
    uint32_t conn_table_size = 1u << 20;  ///< connections per worker (power of two is not required)
    uint32_t mbufs = 16383;               ///< mbufs in the packet pool
    /// Bytes each packet mbuf holds, headroom included (DPDK's RTE_MBUF_DEFAULT_BUF_SIZE): a port
    /// whose frames are longer receives them scattered over several mbufs (a NIC with the
    /// scatter offload) or needs more (af_packet copies a frame into one mbuf).
    uint32_t mbuf_size = 2176;
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    uint32_t neighbours = 4096;           ///< ARP table capacity
    uint32_t arp_timeout = 300;           ///< seconds an ARP entry stays valid without refresh
    /// IPVS's expire_nodest_conn: when a real server is removed, expire its connections at once
    /// instead of letting them run until their timeouts.
    bool expire_nodest_conn = false;
    uint32_t persist_templates = 65536;   ///< persistence template capacity (shared by workers)
    PollMode poll = PollMode::Busy;
    uint32_t idle_polls = 1000;           ///< adaptive: empty loops before the first sleep
    uint32_t max_sleep_us = 1000;         ///< adaptive: longest sleep, also the worst wake-up delay
    /// Fragment reassembly (docs/forwarding.md, "Fragments"): datagrams each worker may hold in
    /// reassembly at once (0: no reassembly), and seconds a datagram may take to complete
    /// (Linux's ipfrag_time).
    uint32_t reassembly = 256;
    uint32_t frag_timeout = 30;
    bool operator==(const DataplaneCfg&) const = default;
};

/// IPVS-style protocol timeouts in seconds (`ipvsadm --set`).
struct TimeoutCfg {
    uint32_t tcp = 900;
    uint32_t tcp_fin = 120;
    uint32_t udp = 300;
    bool operator==(const TimeoutCfg&) const = default;
};

/// IPVS's defence strategies against floods (its sysctls net.ipv4.vs.drop_entry, drop_packet,
/// secure_tcp, am_droprate and amemthresh; docs/reliability.md, "Floods"). Each strategy's mode:
/// 0 off, 1 automatic (on while memory is low; IPVS then shows 2), 2 automatic and on now (back
/// to 1 when memory recovers), 3 always on. "Memory is low" for Dirigo: some worker's connection
/// table has fewer than `amemthresh` free entries (IPVS: fewer than amemthresh free pages).
struct DefenseCfg {
    uint8_t drop_entry = 0;     ///< drop half-open (and idle UDP) entries in bounded slices
    uint8_t drop_packet = 0;    ///< drop 1 of every rate new-connection SYNs
    uint8_t secure_tcp = 0;     ///< IPVS's secure TCP state table
    /// The SYN proxy (not in IPVS; DPVS has one): SYNs to NAT TCP services are answered with
    /// SYN cookies, and a connection gets its table entry only when the client's ACK returns a
    /// valid cookie. Same modes as the others; while the mode is not 0, ACKs that match no entry
    /// are checked as cookies (so that cookies sent before an automatic mode turned off still
    /// open their connections).
    uint8_t syn_proxy = 0;
    uint32_t am_droprate = 10;  ///< drop_packet's rate in mode 3 (IPVS's default 10)
    uint32_t amemthresh = 1024; ///< free entries per worker table below which memory is low
    bool operator==(const DefenseCfg&) const = default;
};

/// The whole file.
struct Config {
    std::vector<std::string> eal;   ///< EAL arguments, argv[0] excluded
    ControlCfg control;
    MetricsCfg metrics;
    std::vector<PortCfg> ports;
    std::vector<RouteCfg> routes;
    std::vector<Route6Cfg> routes6;  ///< `routes` entries with an IPv6 prefix
    std::vector<Service> services;
    std::vector<MarkRule> marks;  ///< `marks`: firewall mark rules, in order (first match wins)
    DataplaneCfg dataplane;
    TimeoutCfg timeouts;
    DefenseCfg defense;
    HostCfg host;
    LogCfg log;
};

/// The kernel interface name of `p` (its kernel_name, else its name).
inline const std::string& kernel_name(const PortCfg& p) {
    return p.kernel_name.empty() ? p.name : p.kernel_name;
}

/// The operator's name of VLAN `id` of port `p`: "<port name>.<id>" (e.g. "ext.100").
inline std::string vlan_name(const PortCfg& p, uint16_t id) {
    std::string n = p.name;
    n += '.';
    n += std::to_string(id);
    return n;
}

/// The kernel interface name of VLAN `id` of port `p`: "<kernel name>.<id>".
inline std::string vlan_kernel_name(const PortCfg& p, uint16_t id) {
    std::string n = kernel_name(p);
    n += '.';
    n += std::to_string(id);
    return n;
}

}  // namespace dirigo::cfg
