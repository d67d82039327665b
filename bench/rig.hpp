// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The rig of dirigo-bench: one Dataplane (one worker) and its Control over two `net_null` ports
/// made for it -- "ext" towards the clients, "int" towards eight NAT real servers -- each with a
/// FrameSource on its RX queue and one LoopClock shared by both (traffic.hpp). The worker lcore
/// runs either the real Worker::run loop (Dataplane::launch) or a baseline loop
/// (baselines.hpp); the main lcore only configures, starts, stops and reads counters.
/// Thread: main lcore, except where a method says otherwise.

#include <memory>
#include <string>

#include <rte_ether.h>

#include "bench/traffic.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"

namespace dirigo::bench {

inline constexpr int kExt = 0;
inline constexpr int kInt = 1;
/// The most workers a rig runs (the scaling scenario: 1 and 2).
inline constexpr uint32_t kMaxRigWorkers = 2;

class Rig {
public:
    /// Creates the ports, the dataplane (a connection table of `table_size`), the control object
    /// with the default config's timeouts, and installs the frame sources (off). `preempt_us`:
    /// a loop interval longer than this is left out of the clock as a preemption. `workers`
    /// (1..kMaxRigWorkers): worker w polls RX queue w of both ports, with its own sources and
    /// clock; the EAL needs that many lcores besides the main one.
    /// `ip6`: an IPv6 rig (its ports also get the IPv6 test network of traffic.hpp and a
    /// default IPv6 route via kGateway6; frames are the smallest IPv6 TCP ones, 74 bytes in the
    /// mbuf, and add_service and resolve work on the IPv6 service and neighbours).
    static std::unique_ptr<Rig> create(uint32_t table_size, double preempt_us, std::string& err,
                                       uint32_t workers = 1, bool ip6 = false);
    ~Rig();
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    dp::Dataplane& dp() { return *dp_; }
    uint16_t port_id(int p) const { return port_[p]; }
    const rte_ether_addr& mac(int p) const { return mac_[p]; }
    uint32_t workers() const { return workers_; }
    bool ip6() const { return ip6_; }
    /// Port `p`'s source on worker `w`'s RX queue.
    FrameSource& source(int p, uint32_t w = 0) { return *src_[p][w]; }
    /// Worker `w`'s loop clock (shared by its two sources).
    LoopClock& clock(uint32_t w = 0) { return *clock_[w]; }
    /// The EAL lcore that polls (the worker's).
    unsigned worker_lcore() const;

    /// Adds the TCP service VIP:80 with kRealServers NAT real servers through Control::handle
    /// (an IPv6 rig: [kVip6]:80 and the real servers rs_addr6(i), as ipvsadm -A -6 would).
    bool add_service(const std::string& sched, std::string& err);
    /// Makes the director learn the gateway and every real server from their ARP requests (an
    /// IPv6 rig: their neighbour solicitations), as hosts would. Drives the worker with
    /// poll_once: call it before launch().
    bool resolve(std::string& err);

    /// Turns the connection-sync master on or off as a master sync daemon's start or stop does
    /// (Dataplane::set_sync, then a snapshot republished by a no-op SetTimeouts through
    /// Control::handle), without its socket: the records the worker queues stay on its ring
    /// (Dataplane::sync_out(0)) for the caller to drain. Call it while the worker is stopped.
    bool set_sync_master(bool on, std::string& err);

    /// Starts Worker::run on the worker lcore.
    bool launch(std::string& err);
    /// Stops it (waits). Idempotent.
    void stop();
    /// Runs the workers until every source is done (Script or Range) and each worker has looped
    /// twice more, or `timeout_s` passed. Returns false on timeout.
    bool run_until_done(double timeout_s, std::string& err);

    /// Stops the worker, removes the callbacks, closes everything and returns the mbufs still in
    /// use (0 unless one leaked). Idempotent.
    uint32_t close();

private:
    Rig() = default;

    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
    uint32_t workers_ = 1;
    bool ip6_ = false;
    std::unique_ptr<LoopClock> clock_[kMaxRigWorkers];
    std::unique_ptr<FrameSource> src_[2][kMaxRigWorkers];
    std::string vdev_[2];
    uint16_t port_[2] = {};
    rte_ether_addr mac_[2] = {};
    bool launched_ = false;
    bool closed_ = false;
    uint32_t leaked_ = 0;
};

}  // namespace dirigo::bench
