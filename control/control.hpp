// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The control thread. Everything here runs on one thread (the EAL main lcore), so nothing here
/// locks. Its parts, one type each:
///  - Server (server.hpp): the Unix socket, framing, and each client's replies in order;
///  - ModelStore (model_store.hpp): the rules; a change is prepared, built into a Snapshot
///    (snapshot_builder.hpp), then committed and published with one pointer swap;
///  - Views (views.hpp): the listings;
///  - Counters (counters.hpp): counter baselines and the rate estimator;
///  - WorkerJob (worker_job.hpp): per-worker commands whose replies are held until they finish.
/// Control itself only dispatches each operation (see kOps) to its handler and runs the rounds.
/// It never waits for a worker: replies that need one are held, not spun for.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/status.hpp"
#include "control/counters.hpp"
#include "control/model_store.hpp"
#include "control/server.hpp"
#include "control/sync_daemon.hpp"
#include "control/views.hpp"
#include "control/worker_job.hpp"
#include "control/defense.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/slow_path.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

/// How often control evaluates the flood defence level (IPVS: once a second).
inline constexpr uint64_t kDefensePeriodMs = 100;

class Control {
public:
    Control(dp::Dataplane& dp, const cfg::Config& cfg);
    ~Control();
    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;

    /// Applies the config's services and timeouts as one change and publishes them.
    Status load_initial();
    /// Creates the socket (parent directory, mode, group from the config).
    Status open_socket();
    /// Serves until `stop` is set. Thread: control.
    void run(const std::atomic<bool>& stop);
    /// One round: worker jobs, socket events (waiting at most `timeout_ms`), slow path,
    /// estimator, persistence sweep.
    void poll(int timeout_ms);
    /// Starts handling one request and returns at once: the reply, and what it must wait for
    /// before it is sent (the socket's path). Thread: control. Never blocks.
    HeldReply submit(const Request& req);
    /// Handles one request to the end: submit(), then runs worker jobs until the reply is
    /// complete (at most kWorkerJobTimeoutMs). For tests and load_initial(), never the socket.
    /// Does not wait for the RCU token of a change.
    Reply handle(const Request& req);
    /// Closes every client and removes the socket file.
    void close_socket();
    /// Runs `hook` at the end of every round (e.g. metrics/'s endpoint). It must never block.
    /// Thread: control.
    void add_round_hook(std::function<void()> hook) { round_hooks_.push_back(std::move(hook)); }

    dp::SlowPath& slow_path() { return slow_; }
    /// Host integration: polled every round; its topology changes are published. Null: none.
    void attach_host(host::Host* h) {
        host_ = h;
        views_.set_host(h);
    }
    Server& server() { return server_; }
    SyncDaemon& sync() { return sync_; }
    const ModelStore& model() const { return model_; }
    /// Counts committed rule changes (not topology republishes): the rules file is saved when
    /// it moves. Thread: control.
    uint64_t generation() const { return generation_; }
    /// The config whose services and timeouts were last applied (load_initial or set_config).
    const cfg::Config& config() const { return cfg_; }
    /// After a reload's change was applied: its services, timeouts and log level are the new
    /// baseline.
    void set_config_rules(const cfg::Config& next) {
        cfg_.services = next.services;
        cfg_.timeouts = next.timeouts;
        cfg_.log = next.log;
        if (!(cfg_.defense == next.defense)) {
            cfg_.defense = next.defense;
            defense_modes_ = initial_modes(next.defense);
            next_defense_ = 0;  // evaluated in the next round
        }
    }
    /// Every kDefensePeriodMs (each round calls it; `force`: now): the flood defence level from
    /// the workers' table occupancy (control/defense.hpp); publishes a snapshot when it changed.
    /// Thread: control.
    void update_defense_level(bool force = false);
    /// The flood defence's modes as they read now (automatic ones flip between 1 and 2).
    const DefenseModes& defense_modes() const { return defense_modes_; }

private:
    /// A rule change: prepare, build, commit, publish; the reply waits for its token (and for
    /// expire_nodest_conn's job).
    HeldReply change(const Request& req);
    /// Starts `cmds` on the workers and keeps the job until they are done.
    std::shared_ptr<WorkerJob> start_job(std::vector<std::unique_ptr<dp::Command>> cmds);
    /// Polls running jobs; forgets those that are done and no reply holds.
    void poll_jobs();
    Reply zero(const Request& req);
    /// StartDaemon / StopDaemon: a master's start or stop is published to the workers.
    Reply daemon(const Request& req);
    /// Publishes a snapshot of the same rules with the dataplane's current topology.
    void republish();

    dp::Dataplane& dp_;
    cfg::Config cfg_;
    ModelStore model_;
    dp::SlowPath slow_;
    Counters counters_;
    Views views_;
    Server server_;
    SyncDaemon sync_;
    bool sync_busy_ = false;  ///< the last round moved sync records: do not sleep
    std::vector<std::shared_ptr<WorkerJob>> jobs_;
    host::Host* host_ = nullptr;
    bool host_busy_ = false;  ///< the last round moved exception-path packets: do not sleep
    std::vector<std::function<void()>> round_hooks_;
    uint64_t generation_ = 0;
    DefenseModes defense_modes_;
    uint64_t next_defense_ = 0;  ///< TSC of the next evaluation
};

}  // namespace dirigo::ctl
