// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Dirigo's views as DPDK telemetry commands, listed by `dpdk-telemetry.py` next to DPDK's own
/// (/ethdev/..., /eal/...):
///   /dirigo/info                     version, workers, table size, the director's totals
///   /dirigo/services                 the services, as "TCP:10.0.0.100:80" strings
///   /dirigo/service,TCP:VIP:PORT     one service: scheduler, counters, its real servers
///   /dirigo/server,TCP:VIP:PORT,RIP:RPORT   one real server of a service
///   /dirigo/ports, /dirigo/port,NAME  port names; one port's counters
///   /dirigo/workers, /dirigo/worker,N worker ids; one worker's counters and table occupancy
///   /dirigo/drops                    drops by reason
///   /dirigo/exception_path           the exception path's counters
///   /dirigo/sync                     the connection sync's counters
///
/// Threads. DPDK calls these commands on its own telemetry thread, which must never read state
/// the control thread owns. The handoff is a TelemetryBoard: the telemetry thread asks for a fresh
/// Sample and waits (at most kTelemetryWait) for control to publish one; control, once a round,
/// sees the request and publishes an immutable Sample through a shared_ptr under a mutex that
/// either side holds only to exchange that pointer. Control never waits for the telemetry thread;
/// if control is slow, the caller gets the last Sample published (or an error before the first).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "config/status.hpp"
#include "metrics/sample.hpp"

namespace dirigo::metrics {

inline constexpr std::chrono::milliseconds kTelemetryWait{500};

/// The handoff between control (writer) and DPDK's telemetry thread (reader).
class TelemetryBoard {
public:
    /// True when a reader asked for a fresh Sample since the last publish. Thread: control.
    /// O(1), one relaxed-enough atomic load.
    bool wanted() const { return wanted_.load(std::memory_order_acquire); }
    /// Publishes `s` and wakes waiting readers. Thread: control. O(1); the mutex is held only
    /// for the pointer exchange.
    void publish(std::shared_ptr<const Sample> s);
    /// Asks for a Sample newer than any published so far and waits at most `wait` for it; returns
    /// the newest Sample then (possibly older, or null before the first). Thread: telemetry.
    std::shared_ptr<const Sample> fresh(std::chrono::milliseconds wait);

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::shared_ptr<const Sample> current_;  ///< guarded by mu_
    uint64_t generation_ = 0;                ///< guarded by mu_
    std::atomic<bool> wanted_{false};
};

/// Registers the /dirigo/... commands to read from `board`. The board must outlive the process's
/// telemetry thread (DPDK has no unregister), so the caller keeps it for the life of the process.
/// Thread: main, after rte_eal_init. Errc::Io when DPDK refuses a command.
Status register_telemetry(TelemetryBoard* board);

}  // namespace dirigo::metrics
