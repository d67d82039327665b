// SPDX-License-Identifier: BSD-3-Clause
#include "config/validate.hpp"

#include <bit>
#include <cstdio>
#include <string>
#include <set>

#include "config/addr.hpp"

namespace dirigo::cfg {

namespace {

// ipvsadm's table of tunnel types and options: GUE needs a port and takes one checksum option,
// GRE takes nocsum or csum, IP-in-IP takes none; and only a tunnelling server has any.
Status check_tunnel(const RealServer& rs, const std::string& who) {
    const bool any = rs.tun_type != TunType::Ipip || rs.tun_port != 0 || rs.tun_csum != TunCsum::None;
    if (rs.fwd != Fwd::Tunnel) {
        if (any) {
            return {Errc::Invalid, who + ": tunnel options need the tunnelling method (-i)"};
        }
        return Status::ok();
    }
    const std::string type(tun_type_name(rs.tun_type));
    switch (rs.tun_type) {
        case TunType::Ipip:
            if (rs.tun_port != 0 || rs.tun_csum != TunCsum::None) {
                return {Errc::Invalid, who + ": an ipip tunnel takes no port or checksum option"};
            }
            return Status::ok();
        case TunType::Gue:
            if (rs.tun_port == 0) {
                return {Errc::Invalid, who + ": a gue tunnel needs a tunnel port"};
            }
            break;
        case TunType::Gre:
            if (rs.tun_port != 0) {
                return {Errc::Invalid, who + ": a gre tunnel takes no tunnel port"};
            }
            if (rs.tun_csum == TunCsum::RemCsum) {
                return {Errc::Invalid, who + ": remote checksum offload is a gue option, not gre"};
            }
            break;
        default:
            return {Errc::Invalid, who + ": unknown tunnel type"};
    }
    if (rs.tun_csum != TunCsum::None && rs.tun_csum != TunCsum::Csum &&
        rs.tun_csum != TunCsum::RemCsum) {
        return {Errc::Invalid, who + ": unknown tunnel checksum option"};
    }
    return Status::ok();
}

}  // namespace

Status check_server(const Service& svc, const RealServer& rs) {
    const std::string who =
        "real server " + format_any_endpoint(rs.af, rs.addr, rs.addr6, rs.port);
    // IPv6: the address is addr6 and the IPv4 one stays 0 (and the other way round).
    if (rs.af == Family::Inet6) {
        if (rs.addr != 0 || rs.addr6.is_unspecified() || rs.addr6.is_multicast()) {
            return {Errc::Invalid, who + ": not a unicast IPv6 address"};
        }
    } else if (rs.af != Family::Inet) {
        return {Errc::Invalid, who + ": unknown address family"};
    } else if (rs.addr == 0) {
        return {Errc::Invalid, who + ": address must not be 0.0.0.0"};
    } else if (!rs.addr6.is_unspecified()) {
        return {Errc::Invalid, who + ": an IPv4 server has no IPv6 address"};
    }
    // The kernel's rule (and ipvsadm 1.31's message): only a tunnel crosses address families.
    if (rs.af != svc.key.af && rs.fwd != Fwd::Tunnel) {
        return {Errc::Invalid, "Different address family is allowed only for tunneling servers"};
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
    if (auto st = check_tunnel(rs, who); !st) {
        return st;
    }
    // DR and tunnelling leave the L4 header alone, so the server sees the service's port.
    if (rs.fwd != Fwd::Masq && rs.port != svc.key.port) {
        return {Errc::Invalid, who + ": port mapping is only supported with masquerading (-m); " +
                                   std::string(fwd_name(rs.fwd)) + " servers must use the " +
                                   "service port " + std::to_string(svc.key.port)};
    }
    return Status::ok();
}

Status validate_mark(const MarkRule& m) {
    std::string who = "mark rule ";
    who += m.af == Family::Inet6 ? format_prefix6(m.dst6) : format_prefix(m.dst);
    if (m.mark == 0) {
        return {Errc::Invalid, who + ": mark must be 1..4294967295 (0 is no mark)"};
    }
    if (m.af == Family::Inet6) {
        if (m.dst6.len > 128) {
            return {Errc::Invalid, who + ": prefix length must be 0..128"};
        }
        if (const Prefix6 net = network_of(m.dst6); net != m.dst6) {
            std::string msg = who + ": host bits are set (did you mean ";
            msg += format_prefix6(net);
            msg += "?)";
            return {Errc::Invalid, msg};
        }
    } else if (m.dst.len > 32) {
        return {Errc::Invalid, who + ": prefix length must be 0..32"};
    }
    if (const Prefix net = network_of(m.dst); m.af != Family::Inet6 && net != m.dst) {
        return {Errc::Invalid, who + ": host bits are set (did you mean " + format_prefix(net) + "?)"};
    }
    if (m.proto != kMarkAnyProto && m.proto != static_cast<uint8_t>(Proto::Tcp) &&
        m.proto != static_cast<uint8_t>(Proto::Udp) && m.proto != static_cast<uint8_t>(Proto::Sctp)) {
        return {Errc::Invalid, who + ": unknown protocol " + std::to_string(m.proto)};
    }
    if (m.ports.size() > kMaxMarkRanges) {
        return {Errc::Invalid,
                who + ": more than " + std::to_string(kMaxMarkRanges) + " port ranges"};
    }
    for (const PortRange& r : m.ports) {
        if (r.lo > r.hi) {
            return {Errc::Invalid, who + ": port range " + std::to_string(r.lo) + "-" +
                                       std::to_string(r.hi) + " is reversed"};
        }
    }
    return Status::ok();
}

ServerId server_id(const RealServer& rs) {
    return ServerId{rs.af, rs.addr, rs.addr6, rs.port};
}

bool contiguous_mask(Ip4 m) {
    return m == prefix_mask(static_cast<uint8_t>(std::popcount(m)));
}

Status validate_service(const Service& s) {
    const std::string who = "service " + format_service_key(s.key);
    if (s.key.proto != Proto::Tcp && s.key.proto != Proto::Udp && s.key.proto != Proto::Sctp) {
        return {Errc::Invalid, who + ": unknown protocol"};
    }
    if (s.key.af != Family::Inet && s.key.af != Family::Inet6) {
        return {Errc::Invalid, who + ": unknown address family"};
    }
    const bool v6 = s.key.af == Family::Inet6;
    if (s.key.fwmark != 0) {
        // IPVS: a firewall-mark service is the mark alone (its protocol is TCP, a placeholder);
        // its family (ipvsadm -6) says which servers and persistence mask it takes.
        if (s.key.addr != 0 || !s.key.addr6.is_unspecified() || s.key.port != 0 ||
            s.key.proto != Proto::Tcp) {
            return {Errc::Invalid, who + ": a firewall-mark service has no address or port"};
        }
    } else {
        // IPv6 acceptance: an IPv6 VIP is addr6 (unicast), with addr 0; an IPv4 one has no addr6.
        if (v6 && (s.key.addr != 0 || s.key.addr6.is_unspecified() ||
                   s.key.addr6.is_multicast())) {
            return {Errc::Invalid, who + ": not a unicast IPv6 address"};
        }
        if (!v6 && s.key.addr == 0) {
            return {Errc::Invalid, who + ": address must not be 0.0.0.0"};
        }
        if (!v6 && !s.key.addr6.is_unspecified()) {
            return {Errc::Invalid, who + ": an IPv4 service has no IPv6 address"};
        }
        // IPVS's "all ports" service: port zero, persistent only (ipvsadm's words).
        if (s.key.port == 0 && (s.flags & kSvcPersistent) == 0) {
            return {Errc::Invalid, "Zero port specified for non-persistent service"};
        }
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
    // ipvsadm and the kernel: an IPv6 service's persistence granularity is a length 1..128.
    if (v6 && (s.prefix6 < 1 || s.prefix6 > 128)) {
        return {Errc::Invalid, who + ": persistence prefix length " + std::to_string(s.prefix6) +
                                   " is out of range 1..128"};
    }
    if (!contiguous_mask(s.netmask)) {
        return {Errc::Invalid, who + ": netmask " + format_ip4(s.netmask) + " is not contiguous"};
    }
    std::set<ServerId> seen;
    for (const RealServer& rs : s.servers) {
        if (auto st = check_server(s, rs); !st) {
            return st;
        }
        if (!seen.insert(server_id(rs)).second) {
            return {Errc::DestExists,
                    "real server " + format_any_endpoint(rs.af, rs.addr, rs.addr6, rs.port) +
                        " is listed twice"};
        }
    }
    return Status::ok();
}

}  // namespace dirigo::cfg
