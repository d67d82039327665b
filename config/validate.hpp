// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The checks a service and its real servers must pass, whoever supplies them: the config loader
/// at startup and the control thread for every rule change. DPDK-free, no libconfig.

#include <cstdint>

#include "config/config.hpp"
#include "config/status.hpp"

namespace dirigo::cfg {

/// Highest real-server weight, IPVS's limit.
inline constexpr int64_t kMaxWeight = 65535;
/// Service flag bits this build knows.
inline constexpr uint32_t kKnownServiceFlags =
    kSvcPersistent | kSvcHashed | kSvcOnePacket | kSvcSched1 | kSvcSched2 | kSvcSched3;

/// Checks one real server against its service: address and port set, a known forwarding method,
/// weight in 0..kMaxWeight, port mapping only with masquerading. Errc::Invalid with a message
/// that names the server. Thread: any. O(1).
Status check_server(const Service& svc, const RealServer& rs);

/// A real server's identity (family, address, port) as one ordered value, for duplicate checks.
struct ServerId {
    Family af = Family::Inet;
    Ip4 addr = 0;
    Ip6 addr6{};
    uint16_t port = 0;
    auto operator<=>(const ServerId&) const = default;
    bool operator==(const ServerId&) const = default;
};
/// Thread: any. O(1).
ServerId server_id(const RealServer& rs);

/// True when the one bits of netmask `m` are contiguous from the top. Thread: any. O(1).
bool contiguous_mask(Ip4 m);

/// Checks one service as the control plane and the loader both require (addresses set, no
/// duplicate real servers, weights and thresholds in range, port mapping only with NAT).
/// Scheduler names are checked by the caller, which knows the registry; only emptiness is refused.
/// Real-server ports must be set (nonzero): a caller that lets the operator omit the port fills in
/// the service's port first, as ipvsadm does. Returns Errc::DestExists for a repeated real
/// server, Errc::Invalid for anything else, with a message that names the offending server.
/// Thread: any (control). Cost: O(servers), allocates a small hash set.
Status validate_service(const Service& s);

/// Most mark rules the daemon holds (config and runtime together).
inline constexpr size_t kMaxMarkRules = 1024;

/// Checks one mark rule: mark nonzero, prefix without host bits, protocol tcp, udp or both,
/// port ranges in order and at most kMaxMarkRanges of them. Errc::Invalid with a message that
/// names the rule's prefix. Thread: any. O(ranges).
Status validate_mark(const MarkRule& m);

}  // namespace dirigo::cfg
