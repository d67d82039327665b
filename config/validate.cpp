// SPDX-License-Identifier: BSD-3-Clause
#include "config/validate.hpp"

#include <bit>
#include <cstdio>
#include <string>
#include <unordered_set>

#include "config/addr.hpp"

namespace dirigo::cfg {

Status check_server(const Service& svc, const RealServer& rs) {
    const std::string who = "real server " + format_endpoint(rs.addr, rs.port);
    if (rs.addr == 0) {
        return {Errc::Invalid, who + ": address must not be 0.0.0.0"};
    }
    // A port-zero service forwards each packet to its own port: its servers have none.
    if (rs.port == 0 && svc.key.port != 0) {
        return {Errc::Invalid, who + ": port must not be 0"};
    }
    if (rs.fwd != Fwd::Masq && rs.fwd != Fwd::Route && rs.fwd != Fwd::Tunnel) {
        return {Errc::Invalid, who + ": unknown forwarding method"};
    }
    if (rs.weight < 0 || rs.weight > kMaxWeight) {
        return {Errc::Invalid,
                who + ": weight " + std::to_string(rs.weight) + " is out of range 0..65535"};
    }
    // DR and tunnelling leave the L4 header alone, so the server sees the service's port.
    if (rs.fwd != Fwd::Masq && rs.port != svc.key.port) {
        return {Errc::Invalid, who + ": port mapping is only supported with masquerading (-m); " +
                                   std::string(fwd_name(rs.fwd)) + " servers must use the " +
                                   "service port " + std::to_string(svc.key.port)};
    }
    return Status::ok();
}

uint64_t server_id(const RealServer& rs) {
    return (uint64_t{rs.addr} << 16) | rs.port;
}

bool contiguous_mask(Ip4 m) {
    return m == prefix_mask(static_cast<uint8_t>(std::popcount(m)));
}

Status validate_service(const Service& s) {
    const std::string who = "service " + std::string(proto_name_upper(s.key.proto)) + " " +
                            format_endpoint(s.key.addr, s.key.port);
    if (s.key.proto != Proto::Tcp && s.key.proto != Proto::Udp) {
        return {Errc::Invalid, who + ": unknown protocol"};
    }
    if (s.key.addr == 0) {
        return {Errc::Invalid, who + ": address must not be 0.0.0.0"};
    }
    // IPVS's "all ports" service: port zero, persistent only (ipvsadm's words).
    if (s.key.port == 0 && (s.flags & kSvcPersistent) == 0) {
        return {Errc::Invalid, "Zero port specified for non-persistent service"};
    }
    if (s.scheduler.empty()) {
        return {Errc::Invalid, who + ": no scheduler"};
    }
    if ((s.flags & ~kKnownServiceFlags) != 0) {
        char bits[16];
        std::snprintf(bits, sizeof bits, "0x%x", s.flags & ~kKnownServiceFlags);
        return {Errc::Invalid, who + ": unknown flag bits " + bits};
    }
    if ((s.flags & kSvcPersistent) != 0 && s.timeout < 1) {
        return {Errc::Invalid, who + ": persistence timeout must be at least 1 second"};
    }
    if (!contiguous_mask(s.netmask)) {
        return {Errc::Invalid, who + ": netmask " + format_ip4(s.netmask) + " is not contiguous"};
    }
    std::unordered_set<uint64_t> seen;
    seen.reserve(s.servers.size());
    for (const RealServer& rs : s.servers) {
        if (auto st = check_server(s, rs); !st) {
            return st;
        }
        if (!seen.insert(server_id(rs)).second) {
            return {Errc::DestExists,
                    "real server " + format_endpoint(rs.addr, rs.port) + " is listed twice"};
        }
    }
    return Status::ok();
}

}  // namespace dirigo::cfg
