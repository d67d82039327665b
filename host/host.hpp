// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Host integration (docs/host-integration.md): a kernel interface per port and per VLAN
/// sub-interface, and the kernel as the source of truth for their addresses and routes.
///
///  - The exception path. Each port gets a `net_tap` interface with the port's MAC, named by the
///    config. Workers queue what they do not serve themselves on the port's host ring (see
///    WorkerEnv::host_rings); poll() moves it into the interface under a per-port token bucket
///    (ARP exempt), and moves what the kernel sends on the interface to worker 0's inject ring,
///    to go out of the port. Every drop is counted. A VLAN sub-interface gets a tap of its own
///    ("ext.100"; the kernel here may have no 8021q module): untagged on the tap, tagged on the
///    wire by the worker that transmits it.
///  - Addresses and routes. poll() follows rtnetlink: the IPv4 addresses on the interfaces are
///    the addresses Dirigo owns, the main table's routes through them are its routes. A change
///    rebuilds the Topology and asks control to publish it; an address that becomes Dirigo's is
///    announced with a gratuitous ARP. An interface that is down contributes nothing.
///
/// Thread: control (the EAL main lcore) only; the taps' queues are used by nobody else.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/status.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/slow_path.hpp"
#include "host/netlink.hpp"

namespace dirigo::host {

/// Exception-path counters of one port (control thread writes, views read: same thread).
struct HostPortStats {
    uint64_t to_kernel = 0;       ///< packets written to the interface
    uint64_t from_kernel = 0;     ///< packets the kernel sent, queued for the port
    uint64_t rate_limited = 0;    ///< for the kernel, over the port's rate
    uint64_t tap_full = 0;        ///< for the kernel, refused by the interface
    uint64_t inject_full = 0;     ///< from the kernel, refused by the inject ring
    uint64_t bad_from_kernel = 0; ///< from the kernel, not sendable (chained mbufs)
};

class Host {
public:
    /// Creates the interfaces, puts the config's addresses and routes on them, reads the
    /// kernel's state and sets the dataplane's topology from it. EAL and the ports are up;
    /// workers not launched yet. Thread: startup.
    static Result<std::unique_ptr<Host>> create(dp::Dataplane& dp, const cfg::Config& cfg);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    /// One round: packets both ways, then rtnetlink. Sets `topology_changed` when the dataplane's
    /// topology was replaced (the caller publishes a snapshot with it). Returns the packets
    /// moved, or 0 when there is nothing more to do right away (also when the port's token
    /// bucket is empty: then the caller may wait, and the host ring absorbs a flood).
    uint32_t poll(dp::SlowPath& slow, bool& topology_changed);

    /// Announces every owned address (gratuitous ARP), as at start-up. Thread: control.
    void announce_all(dp::SlowPath& slow);

    struct PortView {
        std::string iface;
        int ifindex = 0;
        bool up = false;
        HostPortStats stats;
    };
    /// The kernel side of DPDK port `port`, or nullptr when it has none.
    const PortView* port(uint16_t port) const;
    uint64_t netlink_overflows() const { return nl_.overflows(); }
    uint64_t netlink_bad() const { return nl_.bad_messages(); }
    uint64_t topology_updates() const { return topo_updates_; }
    /// Why the last kernel state could not become a topology ("" when it could).
    const std::string& topology_error() const { return topo_error_; }

private:
    struct Tap {
        uint16_t port = 0;       ///< the interface it mirrors: a DPDK port, or a VLAN's index
        std::string owner;       ///< "port ext" or "VLAN ext.100", for messages
        std::vector<cfg::Prefix> addresses;  ///< the config's addresses of that interface
        uint16_t tap_port = 0;   ///< the net_tap ethdev
        std::string vdev;        ///< its vdev name
        PortView view;
        dp::TokenBucket bucket{0, 0};  ///< for the packets going up (ARP exempt)
    };

    Host(dp::Dataplane& dp, const cfg::Config& cfg) : dp_(dp), cfg_(cfg) {}
    /// Creates the tap `iface` mirroring interface `port` (a port, or a VLAN on DPDK port
    /// `mac_port`, whose MAC it takes), with the config's `addresses` to put on it; `ipv6`: the
    /// interface has IPv6 addresses (a port's, pushed by push_config), so IPv6 is turned on.
    Status add_tap(const std::string& iface, const std::string& owner, uint16_t port,
                   uint16_t mac_port, uint16_t mtu, const std::vector<cfg::Prefix>& addresses,
                   bool ipv6);
    /// Puts the config's addresses and routes on the interfaces (at start, and routes again
    /// when an interface comes back up: the kernel drops them when it goes down).
    Status push_config(bool addresses, int only_ifindex);
    /// Rebuilds the topology from kernel_; true when it differs from the current one.
    bool rebuild(dp::SlowPath* slow);
    uint32_t pump_up(Tap& t, uint64_t now);
    uint32_t pump_down(Tap& t);
    Tap* tap_by_ifindex(int ifindex);
    /// True when the kernel says interface `ifindex` is up.
    bool link_up(int ifindex) const;

    dp::Dataplane& dp_;
    cfg::Config cfg_;
    RtNetlink nl_;
    KernelState kernel_;
    uint64_t built_version_ = ~uint64_t{0};
    std::vector<Tap> taps_;
    std::vector<dp::PortInfo> base_ports_;  ///< the dataplane's ports without addresses
    /// (port, address network order) owned now: to announce what is new.
    std::vector<std::pair<uint16_t, uint32_t>> owned_;
    uint64_t topo_updates_ = 0;
    bool announced_ = false;
    std::string topo_error_;
    uint64_t hz_ = 0;
};

}  // namespace dirigo::host
