// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The dataplane: ports, the packet pool, the workers and everything they share, plus the
/// snapshot slot that control publishes into.
///
/// Threads: workers run Worker::run() on their lcores; the control thread (the EAL main lcore)
/// calls publish(), runs the SlowPath, and reads counters. See docs/architecture.md for the table
/// of which thread owns which object.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/status.hpp"
#include "dataplane/neigh.hpp"
#include "dataplane/ownership.hpp"
#include "dataplane/snapshot.hpp"
#include "dataplane/worker.hpp"
#include "schedulers/scheduler.hpp"

struct rte_eth_dev_info;
struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace dirigo::dp {

/// Whether a port's RSS can put every TCP/UDP packet of a flow on its owner's queue, and how.
struct RssPlan {
    bool ok = false;
    uint64_t rss_hf = 0;     ///< ok: the hash types to configure (RTE_ETH_RSS_*)
    uint32_t reta_size = 0;  ///< ok: the device's redirection table entries
    std::string why;         ///< !ok: what the device lacks, for the start-up log
};

/// The RSS a port of `side` needs with `n_workers` workers and `rx_queues` RX queues, from what
/// the device reports: Toeplitz over IPv4 TCP and UDP restricted to the client's end
/// (RTE_ETH_RSS_L3/L4_SRC_ONLY on a client or both port, _DST_ONLY on a server port), a key
/// Dirigo can set, and a power-of-two redirection table with an entry per worker.
/// Thread: startup. No EAL needed.
RssPlan rss_plan(const rte_eth_dev_info& info, cfg::PortSide side, uint32_t n_workers,
                 uint16_t rx_queues);

class Dataplane {
public:
    /// Sets up the pool, configures and starts every port of `cfg` with `n_workers` RX/TX queue
    /// pairs, builds the topology (owned addresses, connected and static routes) and the workers.
    /// EAL must be initialised. Thread: startup (main lcore).
    static Result<std::unique_ptr<Dataplane>> create(const cfg::Config& cfg, uint32_t n_workers);
    ~Dataplane();
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;

    /// Publishes `next` (its generation is set here). The previous snapshot is retired with an
    /// RCU token and freed by reclaim() once every worker has passed a quiescent point after it:
    /// control never blocks on workers. Thread: control. Cost: one pointer exchange.
    void publish(std::unique_ptr<Snapshot> next);
    /// Frees retired snapshots whose grace period has ended; returns how many still wait.
    /// Thread: control (called every control loop). Cost: one rte_rcu_qsbr_check per snapshot.
    size_t reclaim();
    /// RCU token of the last publish: once passed(token) holds, every worker has finished the
    /// loop iteration that might have used an older snapshot, so every packet handled from then
    /// on sees the new rules. Thread: control.
    uint64_t last_token() const { return last_token_; }
    bool passed(uint64_t token) const;
    /// Blocks until every worker has passed a quiescent point (tests, shutdown). Thread: control.
    void wait_for_workers();
    /// The snapshot last published. Thread: control (the only thread that frees snapshots).
    const Snapshot& current() const { return *published_.load(std::memory_order_relaxed); }

    /// Starts Worker::run() on every worker lcore (all EAL lcores but the main one, in order).
    Status launch();
    /// Stops the workers and waits for them. Thread: control.
    void stop();
    /// Stops and closes the ports and frees everything queued in rings. Returns the mbufs still
    /// in use afterwards (0 unless a buffer leaked). Thread: control, after stop().
    uint32_t shutdown();

    /// The current topology: the config's at start, then whatever the host integration sets.
    std::shared_ptr<const Topology> topology() const { return topo_; }
    /// Replaces the topology that snapshots built from now on carry (workers see it with the
    /// next publish). Ports must be the same. Thread: control.
    void set_topology(std::shared_ptr<const Topology> t) { topo_ = std::move(t); }
    /// The exception-path ring of interface `port` (a port or a VLAN: packets for its kernel
    /// interface), or null.
    rte_ring* host_ring(uint16_t port) const {
        return port < kMaxIfaces ? host_rings_[port] : nullptr;
    }
    uint32_t n_workers() const { return static_cast<uint32_t>(workers_.size()); }
    Worker& worker(uint32_t i) { return *workers_[i]; }
    const Worker& worker(uint32_t i) const { return *workers_[i]; }
    NeighTable& neigh() { return *neigh_; }
    /// The IPv6 neighbour table (written by the slow path, read by workers).
    NeighTable6& neigh6() { return *neigh6_; }
    rte_ring* slow_ring() const { return slow_ring_; }
    /// Control injects ready frames (m->port = output port) for worker 0 to transmit.
    rte_ring* inject_ring() const { return inject_ring_; }
    rte_mempool* pool() const { return pool_; }
    sched::DestCounters* dest_counters() { return dest_counters_.get(); }
    SlotThresholds* thresholds() { return thresholds_.get(); }
    /// By slot: an IPv6 server's address (WorkerEnv::dest_addr6).
    cfg::Ip6* dest_addr6() { return dest_addr6_.get(); }
    PersistTable& persist() { return *persist_; }
    uint32_t conn_table_size() const { return conn_table_size_; }
    uint64_t tsc_hz() const { return tsc_hz_; }
    /// Sets every worker's polling (dataplane.poll, idle_polls, max_sleep_us), taking effect at
    /// the next launch(). Thread: control, while the workers are stopped.
    void set_poll(const cfg::DataplaneCfg& d) {
        for (auto& w : workers_) {
            w->set_poll(d.poll == cfg::PollMode::Adaptive, d.idle_polls, d.max_sleep_us);
        }
    }
    /// Connection sync: what the next published snapshot tells the workers (control
    /// republishes after a change). Thread: control.
    void set_sync(const SyncParams& s) { sync_ = s; }
    const SyncParams& sync() const { return sync_; }
    /// Flood defence: what the next published snapshot tells the workers (control
    /// publishes a snapshot when it changes). Thread: control.
    void set_defense(const DefenseParams& d) { defense_ = d; }
    const DefenseParams& defense() const { return defense_; }
    /// Worker `w`'s sync rings: its records for control (master), and control's records for it
    /// to install (backup). Elements are SyncRecords. Thread: control is the consumer of the
    /// first and the producer of the second.
    rte_ring* sync_out(uint32_t w) const { return sync_out_rings_[w]; }
    rte_ring* sync_in(uint32_t w) const { return sync_in_rings_[w]; }
    /// Worker `w`'s IPv6 sync rings, as sync_out() and sync_in(); elements are SyncRecord6s.
    rte_ring* sync6_out(uint32_t w) const { return sync6_out_rings_[w]; }
    rte_ring* sync6_in(uint32_t w) const { return sync6_in_rings_[w]; }
    /// The workers' QSBR variable (tests start and check grace periods on it). Thread: control.
    rte_rcu_qsbr* rcu() const { return qsv_; }
    /// Runs `cmd` on worker `w` and waits (at most `timeout_ms`) for it to finish: through the
    /// worker's command ring while workers run, directly while they are stopped. Returns false on
    /// timeout, after which `cmd` must stay alive until `done`. Thread: control.
    bool run_command(uint32_t w, Command& cmd, uint32_t timeout_ms);
    /// Hands `cmd` to worker `w` without waiting: through the worker's command ring while workers
    /// run (false when the ring is full: post again later), run to completion directly while they
    /// are stopped. Once posted, `cmd` must stay alive until `done`. Thread: control. Cost: one
    /// enqueue while running.
    bool post_command(uint32_t w, Command& cmd);
    bool launched() const { return launched_; }
    /// EAL lcore of worker `w` (its index before launch()).
    unsigned worker_lcore(uint32_t w) const {
        return w < worker_lcores_.size() ? worker_lcores_[w] : w;
    }
    uint16_t rx_queues(uint16_t port_id) const { return rx_queues_[port_id]; }
    /// The owner function every worker and the sync daemon use (software or RSS, decided once
    /// at start-up). Thread: any.
    const FlowOwners& owners() const { return *owners_; }
    /// Replaces the owner function (tests that deliver packets to queues as an RSS NIC would,
    /// on devices without RSS). Thread: control, while the workers are stopped.
    void set_owners(const FlowOwners& o) { *owners_ = o; }
    /// mbufs currently taken from the pool.
    uint32_t mbufs_in_use() const;

private:
    Dataplane() = default;
    Status setup_ports(const cfg::Config& cfg, uint32_t n_workers);
    Status build_topology(const cfg::Config& cfg);

    rte_mempool* pool_ = nullptr;
    rte_mempool* frag_direct_ = nullptr;    ///< fragments' header mbufs
    rte_mempool* frag_indirect_ = nullptr;  ///< fragments' payload mbufs (indirect)
    std::shared_ptr<const Topology> topo_;
    std::vector<PortInfo> port_infos_;  ///< startup: ports with the config's addresses
    rte_ring* host_rings_[kMaxIfaces] = {};
    std::unique_ptr<NeighTable> neigh_;
    std::unique_ptr<NeighTable6> neigh6_;
    rte_ring* slow_ring_ = nullptr;
    rte_ring* inject_ring_ = nullptr;
    std::vector<rte_ring*> command_rings_;
    std::vector<rte_ring*> sync_out_rings_;
    std::vector<rte_ring*> sync_in_rings_;
    std::vector<rte_ring*> sync6_out_rings_;
    std::vector<rte_ring*> sync6_in_rings_;
    SyncParams sync_;
    DefenseParams defense_;
    std::vector<rte_ring*> handoff_rings_;
    std::unique_ptr<FlowOwners> owners_;
    uint16_t rx_queues_[kMaxPorts] = {};
    rte_rcu_qsbr* qsv_ = nullptr;
    std::unique_ptr<sched::DestCounters[]> dest_counters_;
    std::unique_ptr<SlotThresholds[]> thresholds_;
    std::unique_ptr<cfg::Ip6[]> dest_addr6_;
    std::unique_ptr<PersistTable> persist_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<unsigned> worker_lcores_;
    std::atomic<const Snapshot*> published_{nullptr};
    std::deque<std::pair<uint64_t, const Snapshot*>> retired_;  ///< (RCU token, snapshot)
    uint64_t last_token_ = 0;
    std::atomic<bool> stop_{false};
    uint64_t generation_ = 0;
    uint64_t tsc_hz_ = 0;
    uint32_t conn_table_size_ = 0;
    uint16_t n_ports_ = 0;
    bool launched_ = false;
    bool ports_closed_ = false;
};

}  // namespace dirigo::dp
