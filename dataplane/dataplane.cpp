// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/dataplane.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_pause.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/addr.hpp"
#include "dataplane/log.hpp"

namespace dirigo::dp {
namespace {

constexpr unsigned kSlowRingSize = 4096;
/// The smallest IPv6 connection table a worker gets (an eighth of conn_table_size otherwise).
constexpr uint32_t kMinConnTable6 = 1024;
constexpr unsigned kInjectRingSize = 1024;
constexpr unsigned kMbufCache = 256;
constexpr unsigned kHandoffRingSize = 2048;
/// Largest redirection table Dirigo fills (ice has 2048 entries).
constexpr uint32_t kMaxReta = 4096;

std::string dpdk_error(int err) { return rte_strerror(err < 0 ? -err : err); }

int worker_main(void* arg) {
    auto* ctx = static_cast<std::pair<Worker*, const std::atomic<bool>*>*>(arg);
    ctx->first->run(*ctx->second);
    return 0;
}

}  // namespace

Topology::~Topology() {
    if (lpm != nullptr) {
        rte_lpm_free(lpm);
    }
    if (lpm6 != nullptr) {
        rte_lpm6_free(lpm6);
    }
}

bool Topology::source6_for(uint16_t port, const uint8_t* dst, cfg::Ip6& out) const noexcept {
    const PortInfo& p = ports[port];
    if (p.addrs6.empty()) {
        return false;
    }
    cfg::Ip6 d;
    std::memcpy(d.b.data(), dst, 16);
    out = p.addrs6.front().addr;
    for (const LocalAddr6& a : p.addrs6) {
        if (cfg::prefix_contains({a.addr, a.len}, d)) {
            out = a.addr;
            break;
        }
    }
    return true;
}

uint32_t Topology::source_for(uint16_t port, uint32_t dst) const {
    const PortInfo& p = ports[port];
    for (const LocalAddr& a : p.addrs) {
        if (((a.addr ^ dst) & a.mask) == 0) {
            return a.addr;
        }
    }
    return p.addrs.empty() ? 0 : p.addrs.front().addr;
}

bool Topology::is_broadcast(uint32_t addr) const {
    for (const PortInfo& p : ports) {
        for (const LocalAddr& a : p.addrs) {
            const uint32_t mask = rte_be_to_cpu_32(a.mask);
            // /31 and /32 have no broadcast address.
            if (mask < 0xfffffffeu && (addr & mask) == (rte_be_to_cpu_32(a.addr) & mask) &&
                (addr | mask) == 0xffffffffu) {
                return true;
            }
        }
    }
    return false;
}

int Topology::connected_port(uint32_t ip) const {
    for (const PortInfo& p : ports) {
        for (const LocalAddr& a : p.addrs) {
            if (a.mask != 0xffffffffu && ((a.addr ^ ip) & a.mask) == 0) {
                return p.port_id;
            }
        }
    }
    return -1;
}

Result<std::unique_ptr<Dataplane>> Dataplane::create(const cfg::Config& cfg, uint32_t n_workers) {
    if (n_workers == 0) {
        return Status(Errc::Invalid, "no worker lcore: give EAL at least two lcores (-l 0-1)");
    }
    if (n_workers > kMaxWorkers) {
        return Status(Errc::Invalid, "at most " + std::to_string(kMaxWorkers) + " workers");
    }
    if (cfg.ports.empty() || cfg.ports.size() > kMaxPorts) {
        return Status(Errc::Invalid, "between 1 and " + std::to_string(kMaxPorts) + " ports");
    }
    std::unique_ptr<Dataplane> dp(new Dataplane());
    dp->tsc_hz_ = rte_get_tsc_hz();
    const int socket = static_cast<int>(rte_socket_id());

    if (!register_slow_meta()) {
        return Status(Errc::Resource, "cannot register mbuf dynfield: " + dpdk_error(rte_errno));
    }
    dp->pool_ = rte_pktmbuf_pool_create("dirigo_mbufs", cfg.dataplane.mbufs, kMbufCache, 0,
                                        static_cast<uint16_t>(cfg.dataplane.mbuf_size), socket);
    if (dp->pool_ == nullptr) {
        return Status(Errc::Resource, "cannot create mbuf pool of " +
                                          std::to_string(cfg.dataplane.mbufs) + " mbufs: " +
                                          dpdk_error(rte_errno) +
                                          " (reserve hugepages or raise EAL -m)");
    }
    // Fragmentation on the way out: a fragment is a small direct mbuf for its headers (room for
    // the Ethernet header in front of the IPv4 header and its options) chained to indirect mbufs
    // that point into the original packet. A quarter of the packet pool each: fragments are
    // sent at once, and a 9 KB datagram over a 1500-byte MTU needs seven of each.
    const uint32_t n_frag = std::max<uint32_t>(1023, cfg.dataplane.mbufs / 4);
    dp->frag_direct_ = rte_pktmbuf_pool_create("dirigo_frag_hdrs", n_frag, kMbufCache, 0,
                                               RTE_PKTMBUF_HEADROOM + 64, socket);
    dp->frag_indirect_ = rte_pktmbuf_pool_create("dirigo_frag_data", n_frag, kMbufCache, 0, 0,
                                                 socket);
    if (dp->frag_direct_ == nullptr || dp->frag_indirect_ == nullptr) {
        return Status(Errc::Resource, "cannot create the fragmentation mbuf pools: " +
                                          dpdk_error(rte_errno));
    }
    if (Status s = dp->setup_ports(cfg, n_workers); !s) {
        return s;
    }
    if (Status s = dp->build_topology(cfg); !s) {
        return s;
    }
    dp->neigh_ = std::make_unique<NeighTable>(cfg.dataplane.neighbours);
    dp->neigh6_ = std::make_unique<NeighTable6>(cfg.dataplane.neighbours);

    dp->slow_ring_ = rte_ring_create("dirigo_slow", kSlowRingSize, socket, RING_F_SC_DEQ);
    if (dp->slow_ring_ == nullptr) {
        return Status(Errc::Resource, "cannot create slow-path ring: " + dpdk_error(rte_errno));
    }
    const size_t qs_size = rte_rcu_qsbr_get_memsize(n_workers);
    dp->qsv_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dirigo_qsbr", qs_size, RTE_CACHE_LINE_SIZE));
    if (dp->qsv_ == nullptr || rte_rcu_qsbr_init(dp->qsv_, n_workers) != 0) {
        return Status(Errc::Resource, "cannot set up RCU");
    }
    dp->dest_counters_ = std::make_unique<sched::DestCounters[]>(kMaxDests);
    dp->thresholds_ = std::make_unique<SlotThresholds[]>(kMaxDests);
    dp->dest_addr6_ = std::make_unique<cfg::Ip6[]>(kMaxDests);
    dp->persist_ = std::make_unique<PersistTable>(cfg.dataplane.persist_templates);
    dp->conn_table_size_ = cfg.dataplane.conn_table_size;

    WorkerEnv env;
    env.frag_direct = dp->frag_direct_;
    env.frag_indirect = dp->frag_indirect_;
    env.published = &dp->published_;
    env.qsv = dp->qsv_;
    env.neigh = dp->neigh_.get();
    env.neigh6 = dp->neigh6_.get();
    env.slow_ring = dp->slow_ring_;
    env.dest_counters = dp->dest_counters_.get();
    env.thresholds = dp->thresholds_.get();
    env.dest_addr6 = dp->dest_addr6_.get();
    env.persist = dp->persist_.get();
    env.ms_mult = (uint64_t{1000} << 32) / dp->tsc_hz_;
    env.us_mult = (uint64_t{1000000} << 32) / dp->tsc_hz_;
    env.tsc_hz = dp->tsc_hz_;
    env.adaptive = cfg.dataplane.poll == cfg::PollMode::Adaptive;
    env.idle_polls = cfg.dataplane.idle_polls;
    env.max_sleep_us = cfg.dataplane.max_sleep_us;
    for (const PortInfo& p : dp->topo_->ports) {
        if (!p.name.empty()) {
            if (p.vlan == 0) {
                env.port_ids[env.n_ports++] = p.port_id;
                env.rx_queues[p.port_id] = dp->rx_queues_[p.port_id];
            } else {
                // Where a VLAN interface's frames go out, and with which tag.
                env.vlans[p.port_id - kMaxPorts] = {p.parent, p.vlan};
                env.n_vlans = static_cast<uint16_t>(p.port_id - kMaxPorts + 1);
            }
            if (cfg.host.kernel_interfaces) {
                // Every worker and the slow path produce; control consumes.
                const std::string hn = "dirigo_host" + std::to_string(p.port_id);
                rte_ring* hr = rte_ring_create(hn.c_str(), cfg.host.queue, socket, RING_F_SC_DEQ);
                if (hr == nullptr) {
                    return Status(Errc::Resource,
                                  "cannot create ring " + hn + ": " + dpdk_error(rte_errno));
                }
                dp->host_rings_[p.port_id] = hr;
                env.host_rings[p.port_id] = hr;
                env.host = true;
            }
        }
    }
    env.n_workers = n_workers;
    env.owners = dp->owners_.get();
    // The slow path's frames go out through worker 0 only, so only TX queues are touched by
    // workers.
    dp->inject_ring_ =
        rte_ring_create("dirigo_inject", kInjectRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (dp->inject_ring_ == nullptr) {
        return Status(Errc::Resource, "cannot create the inject ring: " + dpdk_error(rte_errno));
    }
    for (uint32_t i = 0; i < n_workers; ++i) {
        const std::string cn = "dirigo_cmd" + std::to_string(i);
        rte_ring* cr = rte_ring_create(cn.c_str(), 64, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (cr == nullptr) {
            return Status(Errc::Resource, "cannot create ring " + cn + ": " + dpdk_error(rte_errno));
        }
        dp->command_rings_.push_back(cr);
        // Connection sync: worker -> control (master) and control -> worker (backup).
        rte_ring* sync_rings[2] = {};
        for (int dir = 0; dir < 2; ++dir) {
            const std::string sn =
                std::string(dir == 0 ? "dirigo_syo" : "dirigo_syi") + std::to_string(i);
            sync_rings[dir] = rte_ring_create_elem(sn.c_str(), sizeof(SyncRecord), kSyncRingSize,
                                                   socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (sync_rings[dir] == nullptr) {
                return Status(Errc::Resource,
                              "cannot create ring " + sn + ": " + dpdk_error(rte_errno));
            }
        }
        dp->sync_out_rings_.push_back(sync_rings[0]);
        dp->sync_in_rings_.push_back(sync_rings[1]);
        // The same for IPv6 connections, whose records are twice as long.
        rte_ring* sync6_rings[2] = {};
        for (int dir = 0; dir < 2; ++dir) {
            const std::string sn =
                std::string(dir == 0 ? "dirigo_sy6o" : "dirigo_sy6i") + std::to_string(i);
            sync6_rings[dir] = rte_ring_create_elem(sn.c_str(), sizeof(SyncRecord6), kSyncRing6Size,
                                                    socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (sync6_rings[dir] == nullptr) {
                return Status(Errc::Resource,
                              "cannot create ring " + sn + ": " + dpdk_error(rte_errno));
            }
        }
        dp->sync6_out_rings_.push_back(sync6_rings[0]);
        dp->sync6_in_rings_.push_back(sync6_rings[1]);
        auto table = ct::ConnTable::create("dirigo_ct" + std::to_string(i),
                                           cfg.dataplane.conn_table_size, socket);
        if (!table) {
            return table.status();
        }
        if (rte_rcu_qsbr_thread_register(dp->qsv_, i) != 0) {
            return Status(Errc::Resource, "cannot register worker with RCU");
        }
        dp->workers_.push_back(std::make_unique<Worker>(
            i, env, std::move(*table), i == 0 ? dp->inject_ring_ : nullptr, cr));
        dp->workers_.back()->set_sync_rings(sync_rings[0], sync_rings[1]);
        dp->workers_.back()->set_sync_rings6(sync6_rings[0], sync6_rings[1]);
        // IPv6 connections (docs/conntrack.md, "IPv6 connections"): an eighth of the IPv4
        // table's size, at least kMinConnTable6, in a table of their own.
        auto table6 = ct::ConnTable6::create(
            "dirigo_ct6_" + std::to_string(i),
            std::max(cfg.dataplane.conn_table_size / 8, kMinConnTable6), socket);
        if (!table6) {
            return table6.status();
        }
        dp->workers_.back()->set_table6(std::move(*table6));
        if (const uint32_t datagrams = cfg.dataplane.reassembly; datagrams != 0) {
            // rte_ip_frag's own sizing: a bucket per datagram, 4 ways (its hash tries two
            // buckets), and the timeout in TSC cycles.
            const uint64_t timeout = dp->tsc_hz_ * cfg.dataplane.frag_timeout;
            rte_ip_frag_tbl* tbl =
                rte_ip_frag_table_create(datagrams, 4, datagrams, timeout, socket);
            if (tbl == nullptr) {
                return Status(Errc::Resource, "cannot create the fragment reassembly table of "
                                              "worker " + std::to_string(i) + " (" +
                                                  std::to_string(datagrams) + " datagrams)");
            }
            dp->workers_.back()->set_reassembly(tbl, timeout);
        }
    }

    // Hand-off rings, one per ordered pair of workers.
    if (n_workers > 1) {
        std::vector<std::vector<rte_ring*>> to(n_workers, std::vector<rte_ring*>(n_workers));
        std::vector<std::vector<rte_ring*>> from(n_workers, std::vector<rte_ring*>(n_workers));
        for (uint32_t a = 0; a < n_workers; ++a) {
            for (uint32_t b = 0; b < n_workers; ++b) {
                if (a == b) {
                    continue;
                }
                const std::string hn = "dirigo_ho" + std::to_string(a) + "_" + std::to_string(b);
                rte_ring* r = rte_ring_create(hn.c_str(), kHandoffRingSize, socket,
                                              RING_F_SP_ENQ | RING_F_SC_DEQ);
                if (r == nullptr) {
                    return Status(Errc::Resource, "cannot create ring " + hn + ": " +
                                                      dpdk_error(rte_errno));
                }
                dp->handoff_rings_.push_back(r);
                to[a][b] = r;
                from[b][a] = r;
            }
        }
        for (uint32_t w = 0; w < n_workers; ++w) {
            dp->workers_[w]->set_handoff(to[w], from[w]);
        }
    }

    // The slot is never null: an empty snapshot stands until control publishes the real one.
    auto first = std::make_unique<Snapshot>();
    first->topo = dp->topo_;
    dp->publish(std::move(first));
    return dp;
}

namespace {

const char* side_name(cfg::PortSide s) {
    switch (s) {
        case cfg::PortSide::Client:
            return "client";
        case cfg::PortSide::Server:
            return "server";
        case cfg::PortSide::Both:
            return "both";
    }
    return "?";
}

/// Points every entry of `pid`'s redirection table (`size` entries) at owners.reta_entry(i).
int set_reta(uint16_t pid, uint32_t size, const FlowOwners& owners) {
    std::vector<rte_eth_rss_reta_entry64> conf((size + RTE_ETH_RETA_GROUP_SIZE - 1) /
                                               RTE_ETH_RETA_GROUP_SIZE);
    for (uint32_t i = 0; i < size; ++i) {
        rte_eth_rss_reta_entry64& g = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        g.mask = ~uint64_t{0};
        g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = owners.reta_entry(i);
    }
    return rte_eth_dev_rss_reta_update(pid, conf.data(), static_cast<uint16_t>(size));
}

}  // namespace

RssPlan rss_plan(const rte_eth_dev_info& info, cfg::PortSide side, uint32_t n_workers,
                 uint16_t rx_queues) {
    RssPlan plan;
    const uint64_t have = info.flow_type_rss_offloads;
    const uint64_t only = side == cfg::PortSide::Server
                              ? RTE_ETH_RSS_L3_DST_ONLY | RTE_ETH_RSS_L4_DST_ONLY
                              : RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L4_SRC_ONLY;
    const uint64_t l4 = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
    const uint32_t reta = info.reta_size;
    if (rx_queues < n_workers) {
        plan.why = std::to_string(rx_queues) + " RX queue(s) for " + std::to_string(n_workers) +
                   " workers";
    } else if (have == 0) {
        plan.why = "no RSS";
    } else if ((have & l4) != l4) {
        plan.why = "no RSS over IPv4 TCP and UDP ports";
    } else if ((have & only) != only) {
        plan.why = side == cfg::PortSide::Server
                       ? "cannot hash the destination only (no RTE_ETH_RSS_L3_DST_ONLY and "
                         "L4_DST_ONLY)"
                       : "cannot hash the source only (no RTE_ETH_RSS_L3_SRC_ONLY and "
                         "L4_SRC_ONLY)";
    } else if (info.hash_key_size < 12 || info.hash_key_size > kRssKeyMax) {
        plan.why = "an RSS key of " + std::to_string(info.hash_key_size) + " bytes";
    } else if (reta < n_workers || reta > kMaxReta || (reta & (reta - 1)) != 0) {
        plan.why = "a redirection table of " + std::to_string(reta) + " entries";
    } else {
        plan.ok = true;
        // The other IPv4 types hash the addresses only (source or destination too): ICMP and
        // fragments spread by client; the owner function covers TCP and UDP.
        const uint64_t l3 =
            RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER;
        plan.rss_hf = l4 | (have & l3) | only;
        plan.reta_size = reta;
    }
    return plan;
}

Status Dataplane::setup_ports(const cfg::Config& cfg, uint32_t n_workers) {
    port_infos_.resize(kMaxPorts);
    for (uint16_t i = 0; i < kMaxPorts; ++i) {
        port_infos_[i].port_id = i;
    }
    // First every port's capabilities, then one ownership decision for all: RSS places flows on
    // their owners only if every port hashes the client's end the same way.
    struct Port {
        uint16_t pid;
        uint16_t nrxq;
        rte_eth_dev_info info;
        RssPlan rss;
    };
    std::vector<Port> ports;
    for (const cfg::PortCfg& pc : cfg.ports) {
        Port pt{};
        uint16_t& pid = pt.pid;
        if (rte_eth_dev_get_port_by_name(pc.device.c_str(), &pid) != 0) {
            return Status(Errc::Invalid, "port " + pc.name + ": no DPDK device named \"" +
                                             pc.device + "\" (check the eal --vdev arguments)");
        }
        if (pid >= kMaxPorts) {
            return Status(Errc::Invalid, "port " + pc.name + ": DPDK port id too large");
        }
        rte_eth_dev_info& info = pt.info;
        if (int rc = rte_eth_dev_info_get(pid, &info); rc != 0) {
            return Status(Errc::Io, "port " + pc.name + ": " + dpdk_error(rc));
        }
        // Every worker transmits on its own queue; RX may have fewer queues than workers (the
        // workers without one get their flows by hand-off).
        if (info.max_tx_queues < n_workers) {
            return Status(Errc::Invalid,
                          "port " + pc.name + " (" + pc.device + ") has " +
                              std::to_string(info.max_tx_queues) + " TX queues but there are " +
                              std::to_string(n_workers) +
                              " workers (each worker needs its own TX queue)");
        }
        pt.nrxq = static_cast<uint16_t>(std::min<uint32_t>(info.max_rx_queues, n_workers));
        if (n_workers > 1) {
            pt.rss = rss_plan(info, pc.side, n_workers, pt.nrxq);
        }
        ports.push_back(pt);
    }
    bool rss = n_workers > 1;
    uint32_t reta = kOwnerRetaMax;
    for (size_t i = 0; i < ports.size(); ++i) {
        const Port& pt = ports[i];
        if (n_workers == 1) {
            break;
        }
        if (!pt.rss.ok) {
            DIRIGO_LOG(WARNING,
                       "port %s (%s): RSS cannot put flows on their owner worker: %s; software "
                       "hand-off",
                       cfg.ports[i].name.c_str(), cfg.ports[i].device.c_str(), pt.rss.why.c_str());
            rss = false;
        } else {
            reta = std::min(reta, pt.rss.reta_size);
        }
    }
    owners_ = std::make_unique<FlowOwners>(rss ? FlowOwners::rss(n_workers, reta)
                                               : FlowOwners::software(n_workers));

    for (size_t i = 0; i < ports.size(); ++i) {
        const cfg::PortCfg& pc = cfg.ports[i];
        const Port& pt = ports[i];
        const uint16_t pid = pt.pid;
        const rte_eth_dev_info& info = pt.info;
        const auto nq = static_cast<uint16_t>(n_workers);
        const uint16_t nrxq = pt.nrxq;
        rx_queues_[pid] = nrxq;
        rte_eth_conf conf{};
        // A frame longer than an mbuf (a jumbo MTU, or a datagram the kernel reassembled) arrives
        // as a chain of mbufs where the NIC can scatter; the worker handles chains whose first
        // mbuf holds the headers. af_packet cannot: it copies each frame into one mbuf
        // (dataplane.mbuf_size must then cover its framesz).
        const uint32_t room = cfg.dataplane.mbuf_size - RTE_PKTMBUF_HEADROOM;
        if (uint32_t{pc.mtu} + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN > room &&
            (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) != 0) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        }
        // Dirigo's key, as long as the device's (the PMD copies it during configure).
        alignas(4) uint8_t key[kRssKeyMax];
        if (rss) {
            rss_key(key, info.hash_key_size);
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = key;
            conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
            conf.rx_adv_conf.rss_conf.rss_hf = pt.rss.rss_hf;
        }
        if (int rc = rte_eth_dev_configure(pid, nrxq, nq, &conf); rc != 0) {
            return Status(Errc::Io, "port " + pc.name + ": configure: " + dpdk_error(rc));
        }
        uint16_t rxd = cfg.dataplane.rx_desc;
        uint16_t txd = cfg.dataplane.tx_desc;
        if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd); rc != 0) {
            return Status(Errc::Io, "port " + pc.name + ": descriptors: " + dpdk_error(rc));
        }
        const int socket = rte_eth_dev_socket_id(pid);
        const unsigned sock = socket < 0 ? rte_socket_id() : static_cast<unsigned>(socket);
        for (uint16_t q = 0; q < nq; ++q) {
            if (q < nrxq) {
                if (int rc = rte_eth_rx_queue_setup(pid, q, rxd, sock, nullptr, pool_); rc != 0) {
                    return Status(Errc::Io, "port " + pc.name + ": rx queue: " + dpdk_error(rc));
                }
            }
            if (int rc = rte_eth_tx_queue_setup(pid, q, txd, sock, nullptr); rc != 0) {
                return Status(Errc::Io, "port " + pc.name + ": tx queue: " + dpdk_error(rc));
            }
        }
        if (pc.mtu != 1500) {
            if (int rc = rte_eth_dev_set_mtu(pid, pc.mtu); rc != 0) {
                DIRIGO_LOG(WARNING, "port %s: cannot set MTU %u: %s", pc.name.c_str(),
                           static_cast<unsigned>(pc.mtu), dpdk_error(rc).c_str());
            }
        }
        if (int rc = rte_eth_dev_start(pid); rc != 0) {
            return Status(Errc::Io, "port " + pc.name + ": start: " + dpdk_error(rc));
        }
        if (rss && owners_->is_rss()) {
            // The table the owner function mirrors, and a check that the hash types took.
            rte_eth_rss_conf got{};
            std::string why;
            if (int rc = set_reta(pid, pt.rss.reta_size, *owners_); rc != 0) {
                why = "cannot set the redirection table: " + dpdk_error(rc);
            } else if (rte_eth_dev_rss_hash_conf_get(pid, &got) == 0 &&
                       (got.rss_hf & pt.rss.rss_hf) != pt.rss.rss_hf) {
                why = "the device kept other hash types";
            }
            if (!why.empty()) {
                // Workers do not exist yet: every user of the owner function sees the fallback.
                DIRIGO_LOG(WARNING, "port %s (%s): %s; software hand-off", pc.name.c_str(),
                           pc.device.c_str(), why.c_str());
                *owners_ = FlowOwners::software(n_workers);
            } else {
                DIRIGO_LOG(INFO, "port %s (%s): RSS over the %s (side %s), %u-entry table",
                           pc.name.c_str(), pc.device.c_str(),
                           pc.side == cfg::PortSide::Server ? "destination" : "source",
                           side_name(pc.side), pt.rss.reta_size);
            }
            if (pc.side == cfg::PortSide::Both) {
                DIRIGO_LOG(NOTICE,
                           "port %s: side \"both\": its NAT replies are hashed on the real server "
                           "and handed off to their owner",
                           pc.name.c_str());
            }
        }
        // Best effort: virtual devices deliver every frame anyway; the worker filters by MAC.
        (void)rte_eth_promiscuous_enable(pid);
        PortInfo& p = port_infos_[pid];
        p.name = pc.name;
        p.mtu = pc.mtu;
        if (int rc = rte_eth_macaddr_get(pid, &p.mac); rc != 0) {
            return Status(Errc::Io, "port " + pc.name + ": MAC: " + dpdk_error(rc));
        }
        for (const cfg::Prefix& a : pc.addresses) {
            p.addrs.push_back({rte_cpu_to_be_32(a.addr), rte_cpu_to_be_32(cfg::prefix_mask(a.len))});
        }
        p.parent = pid;
        for (const cfg::Prefix6& a : pc.addresses6) {
            p.addrs6.push_back({a.addr, a.len});
        }
        ++n_ports_;
    }
    // The ports' VLAN sub-interfaces, as interfaces of their own from kMaxPorts up.
    for (size_t i = 0; i < cfg.ports.size(); ++i) {
        const cfg::PortCfg& pc = cfg.ports[i];
        const uint16_t pid = ports[i].pid;
        for (const cfg::VlanCfg& v : pc.vlans) {
            if (port_infos_.size() >= kMaxIfaces) {
                return Status(Errc::Invalid, "at most " + std::to_string(kMaxVlanIfaces) +
                                                 " VLANs in all ports together");
            }
            PortInfo vi;
            vi.port_id = static_cast<uint16_t>(port_infos_.size());
            vi.parent = pid;
            vi.vlan = v.id;
            vi.mtu = pc.mtu;
            vi.mac = port_infos_[pid].mac;
            vi.name = cfg::vlan_name(pc, v.id);
            for (const cfg::Prefix& a : v.addresses) {
                vi.addrs.push_back(
                    {rte_cpu_to_be_32(a.addr), rte_cpu_to_be_32(cfg::prefix_mask(a.len))});
            }
            port_infos_.push_back(std::move(vi));
        }
    }
    if (n_workers > 1) {
        if (owners_->is_rss()) {
            DIRIGO_LOG(NOTICE,
                       "flow ownership: RSS (Toeplitz over the client's address and port, %u-entry "
                       "table) on every port: TCP and UDP arrive on their owner, no hand-off",
                       owners_->reta_size());
        } else {
            DIRIGO_LOG(NOTICE,
                       "flow ownership: software hash; packets that arrive on another worker's "
                       "queue are handed off to their owner");
        }
    }
    return {};
}

namespace {

/// The IPv6 half of make_topology: connected prefixes of the ports' IPv6 addresses, then
/// `routes6` (a route to a prefix already there is skipped, as a connected one wins).
Status add_routes6(Topology& topo, const std::vector<RouteSpec6>& routes6, uint32_t serial) {
    rte_lpm6_config lc{};
    lc.max_rules = kMaxRoutes;
    lc.number_tbl8s = 2048;  // 1 KB each; a /64 takes five, a /128 thirteen
    const std::string name = "dirigo_rt6_" + std::to_string(serial);
    topo.lpm6 = rte_lpm6_create(name.c_str(), static_cast<int>(rte_socket_id()), &lc);
    if (topo.lpm6 == nullptr) {
        return Status(Errc::Resource, "cannot create the IPv6 route table: " +
                                          dpdk_error(rte_errno));
    }
    topo.route_specs6 = routes6;
    auto add = [&topo](const cfg::Prefix6& pfx, const NextHop6& nh) -> Status {
        const cfg::Prefix6 net = cfg::network_of(pfx);
        for (const auto& [p, unused] : topo.routes6) {
            if (p == net) {
                return {};  // connected first: a configured route to the same prefix is moot
            }
        }
        const auto idx = static_cast<uint32_t>(topo.next_hops6.size());
        cfg::Ip6 upper;
        upper.b[0] = 0x80;
        // rte_lpm6 has no depth 0 either: a default route is the two halves of the space.
        const bool ok = pfx.len == 0
                            ? rte_lpm6_add(topo.lpm6, net.addr.b.data(), 1, idx) == 0 &&
                                  rte_lpm6_add(topo.lpm6, upper.b.data(), 1, idx) == 0
                            : rte_lpm6_add(topo.lpm6, net.addr.b.data(), pfx.len, idx) == 0;
        if (!ok) {
            std::string what = "cannot add IPv6 route ";
            what += cfg::format_prefix6(net);
            return Status(Errc::Resource, what);
        }
        topo.next_hops6.push_back(nh);
        topo.routes6.emplace_back(net, nh);
        return {};
    };
    for (const PortInfo& p : topo.ports) {
        for (const LocalAddr6& a : p.addrs6) {
            if (a.len < 128) {
                if (Status s = add({a.addr, a.len}, {p.port_id, {}}); !s) {
                    return s;
                }
            }
        }
    }
    for (const RouteSpec6& r : routes6) {
        if (Status s = add(r.prefix, {r.port, r.gateway}); !s) {
            return s;
        }
    }
    return {};
}

}  // namespace

Result<std::shared_ptr<Topology>> make_topology(std::vector<PortInfo> ports,
                                                const std::vector<RouteSpec>& routes,
                                                const std::vector<RouteSpec6>& routes6) {
    // rte_lpm names are global: each topology gets its own.
    static uint32_t serial = 0;
    auto topo = std::make_shared<Topology>();
    topo->ports = std::move(ports);
    uint16_t min_mtu = 0xffff;
    for (const PortInfo& p : topo->ports) {
        if (!p.name.empty()) {
            min_mtu = std::min(min_mtu, p.mtu);
        }
    }
    topo->min_mtu = min_mtu == 0xffff ? 1500 : min_mtu;
    for (const PortInfo& p : topo->ports) {
        if (p.vlan != 0 && p.parent < kMaxPorts && p.vlan < kVlanIds) {
            if (topo->vlan_ifaces.empty()) {
                topo->vlan_ifaces.assign(static_cast<size_t>(kMaxPorts) * kVlanIds, 0);
            }
            topo->vlan_ifaces[static_cast<size_t>(p.parent) * kVlanIds + p.vlan] = p.port_id;
        }
    }
    std::vector<std::pair<uint64_t, uint32_t>> local;
    for (const PortInfo& p : topo->ports) {
        for (const LocalAddr& a : p.addrs) {
            local.emplace_back(a.addr, p.port_id);
        }
    }
    topo->local = FlatMap(local);

    rte_lpm_config lc{};
    lc.max_rules = kMaxRoutes;
    lc.number_tbl8s = 1024;
    const std::string name = "dirigo_rt" + std::to_string(serial++);
    topo->lpm = rte_lpm_create(name.c_str(), static_cast<int>(rte_socket_id()), &lc);
    if (topo->lpm == nullptr) {
        return Status(Errc::Resource, "cannot create route table: " + dpdk_error(rte_errno));
    }
    auto add = [&topo](const cfg::Prefix& pfx, const NextHop& nh) -> Status {
        const auto idx = static_cast<uint32_t>(topo->next_hops.size());
        const uint32_t net = pfx.addr & cfg::prefix_mask(pfx.len);
        // rte_lpm has no depth 0: a default route is the two halves of the space.
        const bool ok = pfx.len == 0 ? rte_lpm_add(topo->lpm, 0x00000000u, 1, idx) == 0 &&
                                           rte_lpm_add(topo->lpm, 0x80000000u, 1, idx) == 0
                                     : rte_lpm_add(topo->lpm, net, pfx.len, idx) == 0;
        if (!ok) {
            return Status(Errc::Resource, "cannot add route " + cfg::format_prefix(pfx) +
                                              " (at most " + std::to_string(kMaxRoutes) +
                                              " routes)");
        }
        topo->next_hops.push_back(nh);
        topo->routes.emplace_back(cfg::Prefix{net, pfx.len}, nh);
        return {};
    };
    for (const PortInfo& p : topo->ports) {
        for (const LocalAddr& a : p.addrs) {
            const uint32_t mask = rte_be_to_cpu_32(a.mask);
            if (mask != 0xffffffffu) {
                const auto len = static_cast<uint8_t>(__builtin_popcount(mask));
                if (Status s = add({rte_be_to_cpu_32(a.addr) & mask, len}, {p.port_id, 0}); !s) {
                    return s;
                }
            }
        }
    }
    for (const RouteSpec& r : routes) {
        const bool connected = std::any_of(
            topo->routes.begin(), topo->routes.end(), [&r](const auto& e) {
                return e.second.gateway == 0 && r.gateway == 0 && e.second.port == r.port &&
                       e.first.len == r.prefix.len &&
                       e.first.addr == (r.prefix.addr & cfg::prefix_mask(r.prefix.len));
            });
        if (connected) {
            continue;  // the kernel lists the connected routes of its addresses too
        }
        if (Status s = add(r.prefix, {r.port, rte_cpu_to_be_32(r.gateway)}); !s) {
            return s;
        }
    }
    if (Status s = add_routes6(*topo, routes6, serial - 1); !s) {
        return s;
    }
    return topo;
}

Status Dataplane::build_topology(const cfg::Config& cfg) {
    // The config's routes, each through the port whose connected subnet holds its gateway.
    Topology connected;
    connected.ports = port_infos_;
    std::vector<RouteSpec> routes;
    for (const cfg::RouteCfg& r : cfg.routes) {
        const int port = connected.connected_port(rte_cpu_to_be_32(r.via));
        if (port < 0) {
            return Status(Errc::Invalid, "route " + cfg::format_prefix(r.prefix) + " via " +
                                             cfg::format_ip4(r.via) +
                                             ": gateway is on no connected subnet");
        }
        routes.push_back({r.prefix, static_cast<uint16_t>(port), r.via});
    }
    // IPv6 routes likewise, through the port whose connected IPv6 prefix holds the gateway.
    std::vector<RouteSpec6> routes6;
    for (const cfg::Route6Cfg& r : cfg.routes6) {
        int port = -1;
        for (const PortInfo& p : port_infos_) {
            for (const LocalAddr6& a : p.addrs6) {
                if (port < 0 && a.len < 128 && cfg::prefix_contains({a.addr, a.len}, r.via)) {
                    port = p.port_id;
                }
            }
        }
        if (port < 0) {
            std::string what = "route ";
            what += cfg::format_prefix6(r.prefix);
            what += " via " + cfg::format_ip6(r.via) + ": gateway is on no connected subnet";
            return Status(Errc::Invalid, what);
        }
        routes6.push_back({r.prefix, static_cast<uint16_t>(port), r.via});
    }
    auto topo = make_topology(port_infos_, routes, routes6);
    if (!topo) {
        return topo.status();
    }
    topo_ = std::move(*topo);
    return {};
}

Dataplane::~Dataplane() {
    if (launched_) {
        stop();
    }
    shutdown();
    if (!retired_.empty()) {
        // Workers are stopped (offline): every grace period has ended.
        rte_rcu_qsbr_synchronize(qsv_, RTE_QSBR_THRID_INVALID);
        reclaim();
    }
    delete published_.exchange(nullptr);
    workers_.clear();
    rte_ring_free(inject_ring_);
    for (rte_ring* r : command_rings_) {
        rte_ring_free(r);
    }
    for (rte_ring* r : sync_out_rings_) {
        rte_ring_free(r);
    }
    for (rte_ring* r : sync_in_rings_) {
        rte_ring_free(r);
    }
    for (rte_ring* r : sync6_out_rings_) {
        rte_ring_free(r);
    }
    for (rte_ring* r : sync6_in_rings_) {
        rte_ring_free(r);
    }
    for (rte_ring* r : handoff_rings_) {
        rte_ring_free(r);
    }
    for (rte_ring* r : host_rings_) {
        rte_ring_free(r);
    }
    if (slow_ring_ != nullptr) {
        rte_ring_free(slow_ring_);
    }
    rte_free(qsv_);
    topo_.reset();
    if (pool_ != nullptr) {
        rte_mempool_free(pool_);
    }
    rte_mempool_free(frag_direct_);
    rte_mempool_free(frag_indirect_);
}

void Dataplane::publish(std::unique_ptr<Snapshot> next) {
    next->generation = ++generation_;
    next->sync = sync_;
    next->defense = defense_;
    if (!next->topo) {
        next->topo = topo_;
    }
    // Clamped to what an IPv4 entry's 32-bit expiry tick holds (conntrack/expiry.hpp: at least
    // 41 days below a 6.7 GHz TSC, past the 31 days config and ipvsadm accept), for both tables
    // alike; the seconds first, so that no product wraps.
    const uint64_t max_secs = tsc_hz_ != 0 ? ct::kMaxTimeoutTsc / tsc_hz_ + 1 : UINT64_MAX;
    for (size_t i = 0; i < next->timeout_tsc.size(); ++i) {
        const uint64_t secs = std::min<uint64_t>(next->timeouts.secs[i], max_secs);
        next->timeout_tsc[i] = std::min(secs * tsc_hz_, ct::kMaxTimeoutTsc);
    }
    // Pairs with the workers' acquire load: the snapshot is complete before it is visible.
    const Snapshot* old = published_.exchange(next.release(), std::memory_order_acq_rel);
    if (old != nullptr) {
        // Workers may still read `old` until each has reported a quiescent state after this
        // token; it is freed by reclaim() once they have, without control ever waiting.
        last_token_ = rte_rcu_qsbr_start(qsv_);
        retired_.push_back({last_token_, old});
    }
    reclaim();
}

bool Dataplane::passed(uint64_t token) const {
    return token == 0 || rte_rcu_qsbr_check(qsv_, token, false) == 1;
}

void Dataplane::wait_for_workers() {
    rte_rcu_qsbr_synchronize(qsv_, RTE_QSBR_THRID_INVALID);
    reclaim();
}

size_t Dataplane::reclaim() {
    while (!retired_.empty() && rte_rcu_qsbr_check(qsv_, retired_.front().first, false) == 1) {
        delete retired_.front().second;
        retired_.pop_front();
    }
    return retired_.size();
}

Status Dataplane::launch() {
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (worker_lcores_.size() == workers_.size()) {
            break;
        }
        worker_lcores_.push_back(lcore);
    }
    if (worker_lcores_.size() < workers_.size()) {
        return Status(Errc::Invalid, "not enough worker lcores");
    }
    stop_.store(false);
    static std::vector<std::pair<Worker*, const std::atomic<bool>*>> ctx;
    ctx.clear();
    ctx.reserve(workers_.size());
    for (size_t i = 0; i < workers_.size(); ++i) {
        ctx.emplace_back(workers_[i].get(), &stop_);
        if (int rc = rte_eal_remote_launch(worker_main, &ctx[i], worker_lcores_[i]); rc != 0) {
            stop();
            return Status(Errc::Internal, "cannot launch worker: " + dpdk_error(rc));
        }
        launched_ = true;
    }
    return {};
}

void Dataplane::stop() {
    stop_.store(true);
    if (launched_) {
        rte_eal_mp_wait_lcore();
        launched_ = false;
    }
}

uint32_t Dataplane::shutdown() {
    if (!ports_closed_) {
        ports_closed_ = true;
        rte_mbuf* m;
        while (slow_ring_ != nullptr && rte_ring_dequeue(slow_ring_, reinterpret_cast<void**>(&m)) == 0) {
            rte_pktmbuf_free(m);
        }
        while (inject_ring_ != nullptr &&
               rte_ring_dequeue(inject_ring_, reinterpret_cast<void**>(&m)) == 0) {
            rte_pktmbuf_free(m);
        }
        for (rte_ring* r : handoff_rings_) {
            while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
                rte_pktmbuf_free(m);
            }
        }
        for (rte_ring* r : host_rings_) {
            while (r != nullptr && rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
                rte_pktmbuf_free(m);
            }
        }
        // A start-up that failed before the topology was built has only port_infos_ (each port
        // named once started).
        for (const PortInfo& p : topo_ ? topo_->ports : port_infos_) {
            if (!p.name.empty() && p.vlan == 0) {
                (void)rte_eth_dev_stop(p.port_id);
                (void)rte_eth_dev_close(p.port_id);
            }
        }
    }
    return mbufs_in_use();
}

bool Dataplane::run_command(uint32_t w, Command& cmd, uint32_t timeout_ms) {
    if (!launched_) {
        while (!workers_[w]->run_command_slice(cmd)) {
        }
        return true;
    }
    // Single producer: only the control thread enqueues commands.
    if (rte_ring_sp_enqueue(command_rings_[w], &cmd) != 0) {
        return false;
    }
    const uint64_t deadline = rte_rdtsc() + tsc_hz_ / 1000 * timeout_ms;
    // Pairs with the worker's release store of `done`.
    while (!cmd.done.load(std::memory_order_acquire)) {
        if (rte_rdtsc() > deadline) {
            return false;
        }
        rte_pause();
    }
    return true;
}

bool Dataplane::post_command(uint32_t w, Command& cmd) {
    if (!launched_) {
        while (!workers_[w]->run_command_slice(cmd)) {
        }
        return true;
    }
    // Single producer: only the control thread enqueues commands.
    return rte_ring_sp_enqueue(command_rings_[w], &cmd) == 0;
}

uint32_t Dataplane::mbufs_in_use() const {
    uint32_t n = 0;
    for (const rte_mempool* p : {pool_, frag_direct_, frag_indirect_}) {
        n += p == nullptr ? 0 : static_cast<uint32_t>(rte_mempool_in_use_count(p));
    }
    return n;
}

}  // namespace dirigo::dp
