// SPDX-License-Identifier: BSD-3-Clause
#include "control/snapshot_builder.hpp"

#include <algorithm>
#include <unordered_map>

#include <rte_byteorder.h>

#include "config/addr.hpp"

#include "dataplane/tunnel.hpp"

namespace dirigo::ctl {

Result<std::unique_ptr<dp::Snapshot>> build_snapshot(const ModelStore::Change& change,
                                                     dp::Dataplane& dp) {
    auto snap = std::make_unique<dp::Snapshot>();
    snap->topo = dp.topology();
    snap->timeouts.set(change.timeouts.tcp, change.timeouts.tcp_fin, change.timeouts.udp);
    std::vector<std::pair<uint64_t, uint32_t>> keys;
    std::unordered_map<uint32_t, uint32_t> fwmarks;   // mark -> index into services
    std::unordered_map<uint32_t, uint32_t> fwmarks6;  // the same for IPv6 fwmark services
    snap->services.reserve(change.services.size());
    for (const ServiceState& st : change.services) {
        dp::ServiceEntry e;
        e.key = st.svc.key;
        e.slot = st.slot;
        e.flags = st.svc.flags;
        e.timeout = st.svc.timeout;
        e.timeout_tsc = static_cast<uint64_t>(st.svc.timeout) * dp.tsc_hz();
        e.netmask = rte_cpu_to_be_32(st.svc.netmask);
        for (uint32_t i = 0; i < 16; ++i) {
            // -M as a prefix length for IPv6 (ipv6_addr_prefix's mask), byte by byte.
            const uint32_t left = st.svc.prefix6 > i * 8 ? st.svc.prefix6 - i * 8 : 0;
            e.netmask6.b[i] = static_cast<uint8_t>(0xff00u >> std::min<uint32_t>(8, left));
        }
        bool all_masq = true;
        std::vector<sched::BackendSpec> backends;
        backends.reserve(st.svc.servers.size());
        for (size_t i = 0; i < st.svc.servers.size(); ++i) {
            const cfg::RealServer& rs = st.svc.servers[i];
            const uint32_t slot = st.dest_slots[i];
            dp::DestEntry d;
            d.addr = rte_cpu_to_be_32(rs.addr);
            d.port = rte_cpu_to_be_16(rs.port);
            d.fwd = rs.fwd;
            d.encap = static_cast<uint8_t>(dp::encap_of(rs.tun_type, rs.tun_csum));
            d.tun_port = rte_cpu_to_be_16(rs.tun_port);
            d.slot = slot;
            d.u_threshold = rs.u_threshold;
            d.l_threshold = rs.l_threshold;
            d.addr6 = rs.addr6;
            e.dests.push_back(d);
            all_masq = all_masq && rs.fwd == cfg::Fwd::Masq;
            // Thresholds are plain values read by workers when a connection ends; storing them
            // before the snapshot is published (release) makes them visible with it.
            dp.thresholds()[slot].upper.store(rs.u_threshold, std::memory_order_relaxed);
            dp.thresholds()[slot].lower.store(rs.l_threshold, std::memory_order_relaxed);
            if (rs.af == cfg::Family::Inet6 && dp.dest_addr6()[slot] != rs.addr6) {
                // A slot's address changes only when the slot is fresh or recycled, which no
                // connection refers to: workers read it for IPv4-in-IPv6 connections
                // (ct::kConnDest6), made visible by the snapshot's release.
                dp.dest_addr6()[slot] = rs.addr6;
            }
            sched::BackendSpec b;
            // An IPv6 server's address, folded as IPVS's hashing schedulers fold it (the XOR
            // of its four words: ip_vs_sh_hashkey, ip_vs_mh_hashkey, ...).
            b.addr = rs.af == cfg::Family::Inet6 ? sched::fold6(rs.addr6.b.data()) : rs.addr;
            b.port = rs.port;
            b.weight = rs.weight;
            b.u_threshold = rs.u_threshold;
            b.l_threshold = rs.l_threshold;
            b.counters = &dp.dest_counters()[slot];
            backends.push_back(b);
        }
        auto sch = sched::Scheduler::build(st.kind, st.svc.flags, backends, st.shared);
        if (!sch) {
            return sch.status();
        }
        e.sched = std::move(*sch);
        e.synp_ok = st.svc.key.proto == cfg::Proto::Tcp && !e.dests.empty() && all_masq;
        if (st.svc.key.fwmark != 0) {
            // Reached through the mark rules of its family only, never by address: a mark has
            // an IPv4 and an IPv6 service, as in IPVS (-f 1 and -f 1 -6).
            auto& by_mark = st.svc.key.af == cfg::Family::Inet6 ? fwmarks6 : fwmarks;
            by_mark.emplace(st.svc.key.fwmark, static_cast<uint32_t>(snap->services.size()));
            snap->services.push_back(std::move(e));
            continue;
        }
        snap->any_port_zero = snap->any_port_zero || st.svc.key.port == 0;
        if (st.svc.key.af == cfg::Family::Inet6) {
            // Not in the IPv4 map (its `addr` is 0): the IPv6 path's own sorted index.
            dp::Service6Index x;
            x.addr = st.svc.key.addr6;
            x.port = rte_cpu_to_be_16(st.svc.key.port);
            x.proto = static_cast<uint8_t>(st.svc.key.proto);
            x.service = static_cast<uint32_t>(snap->services.size());
            snap->services6.push_back(x);
            snap->services.push_back(std::move(e));
            continue;
        }
        keys.emplace_back(dp::service_map_key(static_cast<uint8_t>(st.svc.key.proto),
                                              rte_cpu_to_be_32(st.svc.key.addr),
                                              rte_cpu_to_be_16(st.svc.key.port)),
                          static_cast<uint32_t>(snap->services.size()));
        snap->services.push_back(std::move(e));
    }
    snap->service_map = dp::FlatMap(keys);
    std::sort(snap->services6.begin(), snap->services6.end(),
              [](const dp::Service6Index& a, const dp::Service6Index& b) {
                  return a.tie() < b.tie();
              });
    // The mark rules, compiled once here: network-order masks, the ranges in one array, and the
    // service each rule's mark selects (none yet: kNoMarkService, looked up again when a later
    // change adds it, since every change builds a new snapshot).
    snap->marks.reserve(change.marks.size());
    for (const cfg::MarkRule& r : change.marks) {
        if (r.af == cfg::Family::Inet6) {
            dp::MarkMatch6 m;
            for (uint32_t i = 0; i < 16; ++i) {
                const uint32_t left = r.dst6.len > i * 8 ? r.dst6.len - i * 8 : 0;
                m.mask.b[i] = static_cast<uint8_t>(0xff00u >> std::min<uint32_t>(8, left));
                m.net.b[i] = static_cast<uint8_t>(r.dst6.addr.b[i] & m.mask.b[i]);
            }
            m.proto = r.proto;
            m.first = static_cast<uint32_t>(snap->mark_ports.size());
            m.count = static_cast<uint16_t>(r.ports.size());
            snap->mark_ports.insert(snap->mark_ports.end(), r.ports.begin(), r.ports.end());
            const auto it = fwmarks6.find(r.mark);
            m.service = it == fwmarks6.end() ? dp::kNoMarkService : it->second;
            snap->marks6.push_back(m);
            continue;
        }
        dp::MarkMatch m;
        const uint32_t mask = cfg::prefix_mask(r.dst.len);
        m.mask = rte_cpu_to_be_32(mask);
        m.net = rte_cpu_to_be_32(r.dst.addr & mask);
        m.proto = r.proto;
        m.first = static_cast<uint32_t>(snap->mark_ports.size());
        m.count = static_cast<uint16_t>(r.ports.size());
        snap->mark_ports.insert(snap->mark_ports.end(), r.ports.begin(), r.ports.end());
        const auto it = fwmarks.find(r.mark);
        m.service = it == fwmarks.end() ? dp::kNoMarkService : it->second;
        snap->marks.push_back(m);
    }
    return snap;
}

}  // namespace dirigo::ctl
