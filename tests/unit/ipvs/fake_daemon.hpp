// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// A small in-memory stand-in for the Dirigo daemon (the rule changes, List, Ping, timeouts,
/// ListConns and the sync daemons, with the daemon's error codes and its order of checks), and a
/// builder of IPVS generic-netlink requests laid out as libipvs lays them out. Shared by the
/// emulator's unit tests and the netlink fuzz target. No sockets.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>

#include "ipvs/emulator.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ipvs::test {

class FakeDaemon {
public:
    bool up = true;                      ///< false: every call fails with Errc::Io
    std::vector<ctl::Request> requests;  ///< every request received, in order
    std::vector<ctl::ServiceInfo> services;
    cfg::TimeoutCfg timeouts;
    std::vector<ctl::ConnInfo> conns;
    uint32_t conn_table_size = 1u << 20;
    std::vector<ctl::DaemonView> daemons;                  ///< running sync daemons, any order
    std::vector<std::string> interfaces = {"lo", "eth0"};  ///< what StartDaemon may name

    CallFn fn() {
        return [this](const ctl::Request& r) { return call(r); };
    }

    Result<ctl::Reply> call(const ctl::Request& r) {
        requests.push_back(r);
        if (!up) {
            return Status(Errc::Io, "cannot connect to dirigo at /nonexistent: refused");
        }
        ctl::Reply rep;
        rep.code = apply(r, rep);
        return rep;
    }

    ctl::ServiceInfo* find(const cfg::ServiceKey& k) {
        for (auto& s : services) {
            if (s.service.key == k) {
                return &s;
            }
        }
        return nullptr;
    }

private:
    static bool known_sched(const std::string& s) {
        for (const char* n : {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq",
                              "fo", "ovf", "mh"}) {
            if (s == n) {
                return true;
            }
        }
        return false;
    }

    Errc apply(const ctl::Request& r, ctl::Reply& rep) {
        switch (r.op) {
            case ctl::Op::Ping:
                rep.info.version = "0.1.0";
                rep.info.conn_table_size = conn_table_size;
                return Errc::Ok;
            case ctl::Op::GetTimeouts:
                rep.timeouts = timeouts;
                return Errc::Ok;
            case ctl::Op::SetTimeouts:
                if (r.timeouts.tcp != 0) {
                    timeouts.tcp = r.timeouts.tcp;
                }
                if (r.timeouts.tcp_fin != 0) {
                    timeouts.tcp_fin = r.timeouts.tcp_fin;
                }
                if (r.timeouts.udp != 0) {
                    timeouts.udp = r.timeouts.udp;
                }
                return Errc::Ok;
            case ctl::Op::AddService:
            case ctl::Op::EditService: {
                if (!known_sched(r.service.scheduler)) {
                    return Errc::NoScheduler;  // the daemon checks the scheduler first
                }
                ctl::ServiceInfo* cur = find(r.service.key);
                if (r.op == ctl::Op::AddService && cur != nullptr) {
                    return Errc::ServiceExists;
                }
                if (r.op == ctl::Op::EditService && cur == nullptr) {
                    return Errc::NoService;
                }
                if (cur == nullptr) {
                    services.emplace_back();
                    cur = &services.back();
                }
                cur->service = r.service;
                return Errc::Ok;
            }
            case ctl::Op::DelService: {
                const auto it = std::find_if(services.begin(), services.end(), [&](auto& s) {
                    return s.service.key == r.service.key;
                });
                if (it == services.end()) {
                    return Errc::NoService;
                }
                services.erase(it);
                return Errc::Ok;
            }
            case ctl::Op::Clear:
                services.clear();
                return Errc::Ok;
            case ctl::Op::Zero:
                if (r.has_key && find(r.service.key) == nullptr) {
                    return Errc::NoService;
                }
                return Errc::Ok;
            case ctl::Op::AddDest:
            case ctl::Op::EditDest:
            case ctl::Op::DelDest: {
                ctl::ServiceInfo* cur = find(r.service.key);
                if (cur == nullptr) {
                    return Errc::NoService;
                }
                auto& ds = cur->dests;
                const auto it = std::find_if(ds.begin(), ds.end(), [&](auto& d) {
                    return d.server.same_identity(r.dest);
                });
                if (r.op == ctl::Op::AddDest) {
                    if (it != ds.end()) {
                        return Errc::DestExists;
                    }
                    ctl::DestInfo d;
                    d.server = r.dest;
                    ds.insert(ds.begin(), d);
                    return Errc::Ok;
                }
                if (it == ds.end()) {
                    return Errc::NoDest;
                }
                if (r.op == ctl::Op::EditDest) {
                    it->server = r.dest;
                } else {
                    ds.erase(it);
                }
                return Errc::Ok;
            }
            case ctl::Op::List:
                for (const auto& s : services) {
                    if (!r.has_key || s.service.key == r.service.key) {
                        rep.services.push_back(s);
                    }
                }
                if (r.has_key && rep.services.empty()) {
                    return Errc::NoService;
                }
                return Errc::Ok;
            case ctl::Op::ListConns:
                rep.conns = conns;
                return Errc::Ok;
            case ctl::Op::StartDaemon: {
                // The daemon's order: a running role first, then the interface.
                for (const auto& d : daemons) {
                    if (d.cfg.role == r.daemon.role) {
                        return Errc::DaemonRunning;
                    }
                }
                if (std::find(interfaces.begin(), interfaces.end(), r.daemon.mcast_ifn) ==
                    interfaces.end()) {
                    return Errc::NoDevice;
                }
                daemons.push_back({r.daemon, 0, 0, 0});
                return Errc::Ok;
            }
            case ctl::Op::StopDaemon: {
                const auto it = std::find_if(daemons.begin(), daemons.end(),
                                             [&](auto& d) { return d.cfg.role == r.daemon.role; });
                if (it == daemons.end()) {
                    return Errc::NoDaemon;
                }
                daemons.erase(it);
                return Errc::Ok;
            }
            case ctl::Op::ListDaemons:
                // Master first, as the daemon answers.
                for (const ctl::SyncRole role : {ctl::SyncRole::Master, ctl::SyncRole::Backup}) {
                    for (const auto& d : daemons) {
                        if (d.cfg.role == role) {
                            rep.daemons.push_back(d);
                        }
                    }
                }
                return Errc::Ok;
            default:
                return Errc::Invalid;
        }
    }
};

/// Builds one request the way libipvs does (genlmsg_put + nested attributes).
class Req {
public:
    explicit Req(uint8_t cmd, uint16_t flags = NLM_F_REQUEST | NLM_F_ACK, uint32_t seq = 7,
                 uint16_t type = kFamilyId, uint8_t version = IPVS_GENL_VERSION)
        : buf_(8192, 0) {
        nlh_ = mnl_nlmsg_put_header(buf_.data());
        nlh_->nlmsg_type = type;
        nlh_->nlmsg_flags = flags;
        nlh_->nlmsg_seq = seq;
        nlh_->nlmsg_pid = 4242;
        auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(genlmsghdr)));
        g->cmd = cmd;
        g->version = version;
    }
    nlmsghdr* nlh() { return nlh_; }
    nlattr* begin(uint16_t type) { return mnl_attr_nest_start(nlh_, type); }
    void end(nlattr* n) { mnl_attr_nest_end(nlh_, n); }
    Req& u8(uint16_t t, uint8_t v) {
        mnl_attr_put_u8(nlh_, t, v);
        return *this;
    }
    Req& u16(uint16_t t, uint16_t v) {
        mnl_attr_put_u16(nlh_, t, v);
        return *this;
    }
    Req& u32(uint16_t t, uint32_t v) {
        mnl_attr_put_u32(nlh_, t, v);
        return *this;
    }
    Req& str(uint16_t t, const char* s) {
        mnl_attr_put_strz(nlh_, t, s);
        return *this;
    }
    Req& raw(uint16_t t, const void* p, size_t n) {
        mnl_attr_put(nlh_, t, n, p);
        return *this;
    }
    /// IPVS_CMD_ATTR_SERVICE as ipvs_nl_fill_service_attr writes it (addr: host order).
    Req& service(uint8_t proto, uint32_t addr, uint16_t port, const char* sched = "wlc",
                 uint32_t flags = 0, uint32_t timeout = 0, uint32_t netmask = 0xffffffffu,
                 uint32_t mask = ~0u) {
        nlattr* n = begin(IPVS_CMD_ATTR_SERVICE);
        u16(IPVS_SVC_ATTR_AF, AF_INET);
        u16(IPVS_SVC_ATTR_PROTOCOL, proto);
        uint8_t a[16] = {};
        const uint32_t be = htonl(addr);
        std::memcpy(a, &be, 4);
        raw(IPVS_SVC_ATTR_ADDR, a, sizeof(a));
        u16(IPVS_SVC_ATTR_PORT, htons(port));
        str(IPVS_SVC_ATTR_SCHED_NAME, sched);
        const ip_vs_flags f{flags, mask};
        raw(IPVS_SVC_ATTR_FLAGS, &f, sizeof(f));
        u32(IPVS_SVC_ATTR_TIMEOUT, timeout);
        u32(IPVS_SVC_ATTR_NETMASK, htonl(netmask));
        end(n);
        return *this;
    }
    /// IPVS_CMD_ATTR_DEST as ipvs_nl_fill_dest_attr writes it.
    Req& dest(uint32_t addr, uint16_t port, uint32_t fwd = IP_VS_CONN_F_MASQ, uint32_t weight = 1,
              uint32_t u = 0, uint32_t l = 0) {
        nlattr* n = begin(IPVS_CMD_ATTR_DEST);
        u16(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
        uint8_t a[16] = {};
        const uint32_t be = htonl(addr);
        std::memcpy(a, &be, 4);
        raw(IPVS_DEST_ATTR_ADDR, a, sizeof(a));
        u16(IPVS_DEST_ATTR_PORT, htons(port));
        u32(IPVS_DEST_ATTR_FWD_METHOD, fwd);
        u32(IPVS_DEST_ATTR_WEIGHT, weight);
        u32(IPVS_DEST_ATTR_U_THRESH, u);
        u32(IPVS_DEST_ATTR_L_THRESH, l);
        end(n);
        return *this;
    }
    /// An IPv6 service as libipvs writes it: AF_INET6, the 16-byte address, the netmask a plain
    /// prefix length.
    Req& service6(uint8_t proto, const cfg::Ip6& addr, uint16_t port, const char* sched = "wlc",
                  uint32_t flags = 0, uint32_t timeout = 0, uint32_t plen = 128) {
        nlattr* n = begin(IPVS_CMD_ATTR_SERVICE);
        u16(IPVS_SVC_ATTR_AF, AF_INET6);
        u16(IPVS_SVC_ATTR_PROTOCOL, proto);
        raw(IPVS_SVC_ATTR_ADDR, addr.b.data(), addr.b.size());
        u16(IPVS_SVC_ATTR_PORT, htons(port));
        str(IPVS_SVC_ATTR_SCHED_NAME, sched);
        const ip_vs_flags f{flags, ~0u};
        raw(IPVS_SVC_ATTR_FLAGS, &f, sizeof(f));
        u32(IPVS_SVC_ATTR_TIMEOUT, timeout);
        u32(IPVS_SVC_ATTR_NETMASK, plen);
        end(n);
        return *this;
    }
    /// An IPv6 destination.
    Req& dest6(const cfg::Ip6& addr, uint16_t port, uint32_t fwd = IP_VS_CONN_F_MASQ,
               uint32_t weight = 1) {
        nlattr* n = begin(IPVS_CMD_ATTR_DEST);
        u16(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET6);
        raw(IPVS_DEST_ATTR_ADDR, addr.b.data(), addr.b.size());
        u16(IPVS_DEST_ATTR_PORT, htons(port));
        u32(IPVS_DEST_ATTR_FWD_METHOD, fwd);
        u32(IPVS_DEST_ATTR_WEIGHT, weight);
        u32(IPVS_DEST_ATTR_U_THRESH, 0);
        u32(IPVS_DEST_ATTR_L_THRESH, 0);
        end(n);
        return *this;
    }
    std::vector<uint8_t> bytes() const { return {buf_.begin(), buf_.begin() + nlh_->nlmsg_len}; }

private:
    std::vector<uint8_t> buf_;
    nlmsghdr* nlh_;
};

/// CTRL_CMD_GETFAMILY by name, as genl_ctrl_resolve sends it.
inline std::vector<uint8_t> getfamily(const char* name, uint32_t seq = 1) {
    Req r(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, seq, GENL_ID_CTRL, 1);
    r.str(CTRL_ATTR_FAMILY_NAME, name);
    return r.bytes();
}

}  // namespace dirigo::ipvs::test
