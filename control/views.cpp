// SPDX-License-Identifier: BSD-3-Clause
#include "control/views.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>

namespace dirigo::ctl {
namespace {

/// A reply must fit one frame (about 400k entries in 16 MiB): the list is capped.
constexpr uint64_t kMaxListedConns = 300000;

std::string mac_text(const rte_ether_addr& a) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    const uint8_t* b = a.addr_bytes;
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                  b[5]);
    return buf;
}
}  // namespace

void Views::services(const Request& req, Reply& rep) const {
    for (const ServiceState& s : model_.services()) {
        if (req.has_key && !(s.svc.key == req.service.key)) {
            continue;
        }
        ServiceInfo si;
        si.service = s.svc;
        si.service.servers.clear();
        si.stats = counters_.service(s.slot);
        si.rates = counters_.service_rates(s.slot);
        for (size_t i = 0; i < s.svc.servers.size(); ++i) {
            const uint32_t slot = s.dest_slots[i];
            const sched::DestCounters& c = dp_.dest_counters()[slot];
            DestInfo di;
            di.server = s.svc.servers[i];
            // Relaxed loads of counters the workers change with atomic RMWs.
            di.active =
                static_cast<uint32_t>(std::max(0, c.active.load(std::memory_order_relaxed)));
            di.inactive =
                static_cast<uint32_t>(std::max(0, c.inactive.load(std::memory_order_relaxed)));
            di.persistent =
                static_cast<uint32_t>(std::max(0, c.persistent.load(std::memory_order_relaxed)));
            di.stats = counters_.dest(slot);
            di.rates = counters_.dest_rates(slot);
            si.dests.push_back(di);
        }
        rep.services.push_back(std::move(si));
    }
    if (req.has_key && rep.services.empty()) {
        rep.code = Errc::NoService;
        rep.message = "Service not defined";
    }
}

std::vector<std::unique_ptr<dp::Command>> Views::conn_commands() const {
    std::vector<std::unique_ptr<dp::Command>> cmds;
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        auto c = std::make_unique<dp::Command>();
        c->kind = dp::CommandKind::ListConns;
        // Room for every live entry plus the ones created while the worker walks its table.
        const uint64_t live = dp_.worker(w).stats().live_conns.load(std::memory_order_relaxed);
        c->conns.resize(std::min<uint64_t>(
            {live + 1024, uint64_t{dp_.conn_table_size()}, kMaxListedConns / dp_.n_workers()}));
        if (const ct::ConnTable6* t6 = dp_.worker(w).table6(); t6 != nullptr) {
            c->conns6.resize(std::min<uint64_t>(
                {live + 1024, uint64_t{t6->capacity()}, kMaxListedConns / dp_.n_workers()}));
        }
        cmds.push_back(std::move(c));
    }
    return cmds;
}

void Views::conns(const WorkerJob& job, Reply& rep) const {
    const uint64_t per_ms = dp_.tsc_hz() / 1000;
    for (const auto& c : job.commands()) {
        for (uint32_t i = 0; i < c->count; ++i) {
            const ct::Conn& k = c->conns[i];
            ConnInfo ci;
            ci.proto = k.client.proto;
            ci.state = std::string(ct::state_name(k.state));
            // An IPv4 entry's expiry is a 32-bit tick (conntrack/expiry.hpp), read against the
            // TSC the worker finished at, as the IPv6 one's TSC is below.
            ci.expires_ms =
                static_cast<uint32_t>(ct::expire_remaining_tsc(k.expire, c->now) / per_ms);
            ci.caddr = rte_be_to_cpu_32(k.client.saddr);
            ci.cport = rte_be_to_cpu_16(k.client.sport);
            ci.vaddr = rte_be_to_cpu_32(k.client.daddr);
            ci.vport = rte_be_to_cpu_16(k.client.dport);
            ci.daddr = rte_be_to_cpu_32(k.raddr);
            if ((k.flags & ct::kConnDest6) != 0) {
                // An IPv6 tunnel server, by its slot's address: listed in its own form (daf).
                ci.daddr6 = dp_.dest_addr6()[k.dest_slot];
            }
            ci.dport = rte_be_to_cpu_16(k.rport);
            rep.conns.push_back(std::move(ci));
        }
        for (uint32_t i = 0; i < c->count6; ++i) {
            const ct::Conn6& k = c->conns6[i];
            ConnInfo ci;
            ci.proto = k.client.proto;
            ci.state = std::string(ct::state_name(k.state));
            ci.expires_ms =
                k.expire > c->now ? static_cast<uint32_t>((k.expire - c->now) / per_ms) : 0;
            ci.af = cfg::Family::Inet6;
            std::memcpy(ci.caddr6.b.data(), k.client.saddr, 16);
            ci.cport = rte_be_to_cpu_16(k.client.sport);
            std::memcpy(ci.vaddr6.b.data(), k.client.daddr, 16);
            ci.vport = rte_be_to_cpu_16(k.client.dport);
            if ((k.flags & ct::kConn6Dest4) != 0) {
                // An IPv4 tunnel server: listed in its own form, as the kernel's daf does.
                uint32_t d4;
                std::memcpy(&d4, k.raddr + 12, 4);
                ci.daddr = rte_be_to_cpu_32(d4);
            } else {
                std::memcpy(ci.daddr6.b.data(), k.raddr, 16);
            }
            ci.dport = rte_be_to_cpu_16(k.rport);
            rep.conns.push_back(std::move(ci));
        }
    }
    // Persistence templates, as IPVS lists them: state NONE, client port 0.
    const uint64_t now = rte_rdtsc();
    dp_.persist().for_each(
        [&](uint32_t svc_slot, const dp::PersistClient& client, uint32_t dest_slot, int32_t,
            uint64_t expire) {
            for (const ServiceState& s : model_.services()) {
                if (s.slot != svc_slot) {
                    continue;
                }
                ConnInfo ci;
                // IPVS makes a fwmark service's templates with protocol IP (listed "IP").
                ci.proto = s.svc.key.fwmark != 0 ? 0 : static_cast<uint8_t>(s.svc.key.proto);
                ci.state = "NONE";
                ci.expires_ms = expire > now ? static_cast<uint32_t>((expire - now) / per_ms) : 0;
                ci.vport = s.svc.key.port;
                for (size_t i = 0; i < s.dest_slots.size(); ++i) {
                    if (s.dest_slots[i] == dest_slot) {
                        ci.daddr = s.svc.servers[i].addr;
                        ci.daddr6 = s.svc.servers[i].addr6;
                        ci.dport = s.svc.servers[i].port;
                    }
                }
                if (client.v6 != nullptr) {
                    // An IPv6 template (ip_vs_sched_persist): the client masked to the
                    // prefix length; a fwmark service's names the mark as the first word of
                    // its virtual address (nf_inet_addr.ip).
                    ci.af = cfg::Family::Inet6;
                    std::memcpy(ci.caddr6.b.data(), client.v6, 16);
                    if (s.svc.key.fwmark != 0) {
                        const uint32_t mark = rte_cpu_to_be_32(s.svc.key.fwmark);
                        std::memcpy(ci.vaddr6.b.data(), &mark, 4);
                    } else {
                        ci.vaddr6 = s.svc.key.addr6;
                    }
                    rep.conns.push_back(std::move(ci));
                    continue;
                }
                ci.caddr = rte_be_to_cpu_32(client.v4);
                // A fwmark service's template names the mark as its address, as IPVS's does.
                ci.vaddr = s.svc.key.fwmark != 0 ? s.svc.key.fwmark : s.svc.key.addr;
                rep.conns.push_back(std::move(ci));
            }
        });
}

void Views::ports(Reply& rep) const {
    const dp::Topology& topo = *dp_.topology();
    for (const dp::PortInfo& p : topo.ports) {
        if (p.name.empty() || p.vlan != 0) {
            continue;  // a VLAN interface has no device or counters of its own
        }
        PortView v;
        v.name = p.name;
        v.port_id = p.port_id;
        char dev[RTE_ETH_NAME_MAX_LEN] = {};
        if (rte_eth_dev_get_name_by_port(p.port_id, dev) == 0) {
            v.device = dev;
        }
        v.mac = mac_text(p.mac);
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(p.port_id, &link) == 0) {
            v.link_up = link.link_status == RTE_ETH_LINK_UP;
            v.speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
        }
        v.mtu = p.mtu;
        v.rx_queues = dp_.rx_queues(p.port_id);
        v.tx_queues = static_cast<uint16_t>(dp_.n_workers());
        for (const dp::LocalAddr& a : p.addrs) {
            const uint32_t mask = rte_be_to_cpu_32(a.mask);
            v.addresses.push_back(
                {rte_be_to_cpu_32(a.addr), static_cast<uint8_t>(__builtin_popcount(mask))});
        }
        for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
            const dp::PortStats& ps = dp_.worker(w).stats().ports[p.port_id];
            v.rx_packets += ps.rx.load(std::memory_order_relaxed);
            v.tx_packets += ps.tx.load(std::memory_order_relaxed);
            v.rx_bytes += ps.rx_bytes.load(std::memory_order_relaxed);
        }
        rte_eth_stats st{};
        if (rte_eth_stats_get(p.port_id, &st) == 0) {
            v.rx_missed = st.imissed;
            v.rx_errors = st.ierrors;
            v.tx_errors = st.oerrors;
            v.tx_bytes = st.obytes;
        }
        if (const host::Host::PortView* k = host_ != nullptr ? host_->port(p.port_id) : nullptr) {
            v.kernel_iface = k->iface;
            v.kernel_up = k->up;
            v.to_kernel = k->stats.to_kernel;
            v.from_kernel = k->stats.from_kernel;
        }
        rep.ports.push_back(std::move(v));
    }
    std::vector<uint64_t> drops(static_cast<size_t>(dp::Drop::Count), 0);
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        const auto& d = dp_.worker(w).stats().drops;
        for (size_t i = 0; i < d.size(); ++i) {
            drops[i] += d[i].load(std::memory_order_relaxed);
        }
    }
    const dp::SlowPathStats& sp = slow_.stats();
    drops[static_cast<size_t>(dp::Drop::NeighUnresolved)] += sp.unresolved_drops;
    drops[static_cast<size_t>(dp::Drop::NeighQueueFull)] += sp.queue_drops;
    drops[static_cast<size_t>(dp::Drop::NoMbuf)] += sp.no_mbuf;
    drops[static_cast<size_t>(dp::Drop::SlowPathFull)] += sp.inject_full;
    for (size_t i = 1; i < drops.size(); ++i) {
        rep.drops.push_back({dp::kDropNames[i], drops[i]});
    }
    // Decisions that are not packet drops, summed over the workers, each after its kind:
    // - flood decisions that drop connection entries rather than packets (docs/reliability.md,
    //   "Floods"): half-open entries a full table evicted for a new client, entries the
    //   drop_entry defence removed, packets secure_tcp's state table held back from a state;
    // - the SYN proxy's (its drops are the synp_* reasons above): SYNs answered with a cookie,
    //   cookies that opened a connection, connections spliced to their server, client segments
    //   held until then;
    // - fragments (docs/forwarding.md, "Fragments"): taken for reassembly, datagrams made whole
    //   (those it gave up on are the `reassembly` reason above), packets fragmented on the way
    //   out, the fragments made, DF packets answered with "fragmentation needed".
    struct Decision {
        const char* name;
        std::atomic<uint64_t> dp::WorkerStats::*field;
    };
    static constexpr Decision kDecisions[] = {
        {"conn_evicted", &dp::WorkerStats::conns_evicted},
        {"conn_drop_entry", &dp::WorkerStats::conns_dropentry},
        {"secure_tcp_held", &dp::WorkerStats::secure_tcp_held},
        {"synp_cookie_sent", &dp::WorkerStats::synp_cookies_sent},
        {"synp_cookie_valid", &dp::WorkerStats::synp_cookies_valid},
        {"synp_handshake", &dp::WorkerStats::synp_handshakes},
        {"synp_early_held", &dp::WorkerStats::synp_early_held},
        {"frag_in", &dp::WorkerStats::reasm_in},
        {"frag_reassembled", &dp::WorkerStats::reasm_ok},
        {"frag_fragmented", &dp::WorkerStats::frag_packets},
        {"frag_out", &dp::WorkerStats::frag_out},
        {"frag_needed", &dp::WorkerStats::frag_needed},
    };
    for (const Decision& d : kDecisions) {
        uint64_t n = 0;
        for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
            n += (dp_.worker(w).stats().*d.field).load(std::memory_order_relaxed);
        }
        rep.drops.push_back({d.name, n});
    }
    if (host_ != nullptr) {
        // The exception path's own drops, summed over the ports (the workers' host_queue_full
        // is above).
        host::HostPortStats sum;
        for (const dp::PortInfo& p : dp_.topology()->ports) {
            if (const host::Host::PortView* k = host_->port(p.port_id); k != nullptr && !p.name.empty()) {
                sum.rate_limited += k->stats.rate_limited;
                sum.tap_full += k->stats.tap_full;
                sum.inject_full += k->stats.inject_full;
                sum.bad_from_kernel += k->stats.bad_from_kernel;
            }
        }
        rep.drops.push_back({"host_rate_limited", sum.rate_limited});
        rep.drops.push_back({"host_tap_full", sum.tap_full});
        rep.drops.push_back({"host_inject_full", sum.inject_full + slow_.stats().arp_up_full});
        rep.drops.push_back({"host_bad_frame", sum.bad_from_kernel});
    }
}

void Views::workers(Reply& rep) const {
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        const dp::WorkerStats& st = dp_.worker(w).stats();
        WorkerView v;
        v.id = w;
        v.lcore = dp_.worker_lcore(w);
        for (const dp::PortStats& ps : st.ports) {
            v.rx_packets += ps.rx.load(std::memory_order_relaxed);
            v.tx_packets += ps.tx.load(std::memory_order_relaxed);
        }
        for (const auto& d : st.drops) {
            v.drops += d.load(std::memory_order_relaxed);
        }
        v.loops = st.loops.load(std::memory_order_relaxed);
        v.busy_loops = st.busy_loops.load(std::memory_order_relaxed);
        v.connections = st.live_conns.load(std::memory_order_relaxed);
        v.created = st.conns_created.load(std::memory_order_relaxed);
        v.handed_off = st.handed_off.load(std::memory_order_relaxed);
        v.taken_over = st.taken_over.load(std::memory_order_relaxed);
        v.sleeps = st.idle_sleeps.load(std::memory_order_relaxed);
        v.slept_us = st.idle_us.load(std::memory_order_relaxed);
        rep.workers.push_back(v);
    }
}

void Views::neighbours(Reply& rep) const {
    const dp::Topology& topo = *dp_.topology();
    dp_.neigh().for_each([&](uint32_t ip, uint16_t port, const rte_ether_addr& mac,
                             dp::NeighTable::State s) {
        NeighbourView v;
        v.addr = rte_be_to_cpu_32(ip);
        const bool valid = s == dp::NeighTable::State::Resolved;
        v.state = valid                                   ? NeighState::Resolved
                  : s == dp::NeighTable::State::Failed ? NeighState::Failed
                                                       : NeighState::Incomplete;
        v.mac = valid ? mac_text(mac) : "";
        v.port = port < topo.ports.size() ? topo.ports[port].name : "";
        rep.neighbours.push_back(std::move(v));
    });
    std::sort(rep.neighbours.begin(), rep.neighbours.end(),
              [](const NeighbourView& a, const NeighbourView& b) { return a.addr < b.addr; });
}

void Views::routes(Reply& rep) const {
    const dp::Topology& topo = *dp_.topology();
    for (const auto& [prefix, nh] : topo.routes) {
        RouteView v;
        v.prefix = prefix;
        v.gateway = rte_be_to_cpu_32(nh.gateway);
        v.port = topo.ports[nh.port].name;
        rep.routes.push_back(std::move(v));
    }
}

}  // namespace dirigo::ctl
