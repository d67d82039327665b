// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// rtnetlink, through libmnl: the kernel's IPv4 addresses, routes and link states, read with a
/// dump and then followed through the multicast groups, plus the few requests Dirigo makes
/// (putting the config's addresses and routes on its interfaces).
///
/// Two sockets: one joined to RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV4_ROUTE for events
/// (non-blocking, read by poll()), one for requests and dumps (blocking, with a receive
/// timeout), so an ACK is never mixed with an event. When the event socket overflows (ENOBUFS:
/// events were lost) the whole state is dumped again.
///
/// Thread: control only. Nothing here touches DPDK.

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/model.hpp"
#include "config/status.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace dirigo::host {

/// What Dirigo follows of the kernel (all addresses host order).
struct KernelState {
    struct Link {
        std::string name;
        bool up = false;  ///< IFF_UP
    };
    struct Addr {
        int ifindex = 0;
        uint32_t addr = 0;
        uint8_t len = 0;
        auto operator<=>(const Addr&) const = default;
    };
    /// A main-table unicast route: key (prefix, length, metric), as the kernel keys them.
    struct RouteKey {
        uint32_t dst = 0;
        uint8_t len = 0;
        uint32_t metric = 0;
        auto operator<=>(const RouteKey&) const = default;
    };
    struct RouteVal {
        int ifindex = 0;
        uint32_t gateway = 0;  ///< 0: on-link
        bool operator==(const RouteVal&) const = default;
    };
    std::map<int, Link> links;
    std::map<Addr, bool> addrs;  ///< set (the value is unused)
    std::map<RouteKey, RouteVal> routes;
    uint64_t version = 0;        ///< bumped by every change
};

class RtNetlink {
public:
    RtNetlink() = default;
    ~RtNetlink();
    RtNetlink(const RtNetlink&) = delete;
    RtNetlink& operator=(const RtNetlink&) = delete;

    Status open();

    /// `ip addr add ADDR/LEN dev IFINDEX` (an existing one is fine). Waits for the ACK.
    Status add_address(int ifindex, uint32_t addr, uint8_t len);
    /// `ip route replace DST/LEN via GW dev IFINDEX` (gw 0: on-link). Waits for the ACK.
    Status replace_route(int ifindex, uint32_t dst, uint8_t len, uint32_t gw);
    /// Puts IPv6 `addr`/`len` on `ifindex` without duplicate address detection (IFA_F_NODAD):
    /// Dirigo answers neighbour discovery for it (docs/host-integration.md). Replaces it if there.
    Status add_address6(int ifindex, const cfg::Ip6& addr, uint8_t len);
    /// Adds or replaces the IPv6 route `dst`/`len` via `gw` out of `ifindex` (main table).
    Status replace_route6(int ifindex, const cfg::Ip6& dst, uint8_t len, const cfg::Ip6& gw);
    /// Dumps links, addresses and routes into `st` (replacing what it held).
    Status resync(KernelState& st);
    /// Applies the events waiting on the event socket to `st` (never blocks). Returns how many
    /// messages changed `st`; resyncs after an overflow.
    uint32_t poll(KernelState& st);

    uint64_t overflows() const { return overflows_; }
    uint64_t bad_messages() const { return bad_; }

private:
    Status request(nlmsghdr* nlh);
    Status dump(int type, KernelState& st);
    /// Applies one message (a dump's part or an event); true when `st` changed.
    bool apply(const nlmsghdr* nlh, KernelState& st);

    mnl_socket* events_ = nullptr;
    mnl_socket* req_ = nullptr;
    uint32_t seq_ = 1;
    uint32_t req_portid_ = 0;
    uint64_t overflows_ = 0;
    uint64_t bad_ = 0;
    std::vector<char> events_buf_;  ///< poll()'s receive buffer, allocated once by open()
};

}  // namespace dirigo::host
