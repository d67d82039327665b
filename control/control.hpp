// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The control thread: serves the Unix socket, applies rule changes by publishing new snapshots,
/// runs the slow path, keeps statistics baselines and rate estimates.
///
/// Everything here runs on one thread (the EAL main lcore), so nothing here locks. A request is
/// handled completely before the next is read: a change is validated on a copy of the model,
/// built into a new Snapshot and published with one pointer swap; workers never wait for it.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/status.hpp"
#include "control/model_store.hpp"
#include "dataplane/command.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/slow_path.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

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
    /// One round: socket events (waiting at most `timeout_ms`), slow path, estimator.
    void poll(int timeout_ms);
    /// Handles one request as if it came from the socket (tests, and the socket itself).
    Reply handle(const Request& req);
    /// Closes every client and removes the socket file.
    void close_socket();

    dp::SlowPath& slow_path() { return slow_; }
    const ModelStore& model() const { return model_; }

private:
    /// A reply held until the workers have seen the change it reports (its RCU token passed),
    /// so that when dirigoadm returns, the next new flow uses the new rules.
    struct Held {
        uint64_t token = 0;
        std::vector<uint8_t> bytes;
    };
    struct Client {
        int fd = -1;
        std::vector<uint8_t> in;
        std::vector<uint8_t> out;
        std::deque<Held> held;  ///< replies in request order
        bool close_after_write = false;
    };
    void release_held(Client& c);
    struct Totals {
        Stats stats;
    };
    struct RateState {
        Stats last;
        Rates avg;  ///< scaled by 2^10 (fixed point), as IPVS's estimator keeps them
    };

    Status publish();
    void accept_clients();
    void read_client(Client& c);
    void write_client(Client& c);
    void fill_list(const Request& req, Reply& rep);
    Stats dest_totals(uint32_t slot) const;
    Stats service_totals(uint32_t slot) const;
    void run_estimator();
    /// Runs `kind` on every worker; false if one timed out (the command is kept until done).
    bool run_on_workers(std::vector<std::unique_ptr<dp::Command>>& cmds);
    void list_conns(Reply& rep);
    void list_ports(Reply& rep);
    void list_workers(Reply& rep);
    void list_neighbours(Reply& rep);
    void list_routes(Reply& rep);

    dp::Dataplane& dp_;
    cfg::Config cfg_;
    ModelStore model_;
    dp::SlowPath slow_;
    int listen_fd_ = -1;
    std::vector<Client> clients_;
    std::vector<Stats> dest_base_;  ///< per slot: totals at the last zero/reuse
    std::vector<Stats> svc_base_;
    std::vector<RateState> dest_rate_;
    std::vector<RateState> svc_rate_;
    uint64_t next_estimate_ = 0;
    std::vector<std::unique_ptr<dp::Command>> abandoned_;  ///< timed-out commands, kept until done
};

}  // namespace dirigo::ctl
