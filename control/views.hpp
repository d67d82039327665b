// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The listings: services with their counters and rates (-L), the connection table (-L -c, from
/// a WorkerJob's results plus the persistence templates), and dirigo's own views of ports,
/// workers, neighbours and routes. Read-only: nothing here changes rules or counters.
/// Thread: control only. Cost: proportional to what is listed.

#include <memory>
#include <vector>

#include "control/counters.hpp"
#include "control/model_store.hpp"
#include "control/worker_job.hpp"
#include "dataplane/command.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/slow_path.hpp"
#include "host/host.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

class Views {
public:
    Views(dp::Dataplane& dp, const ModelStore& model, const Counters& counters,
          const dp::SlowPath& slow)
        : dp_(dp), model_(model), counters_(counters), slow_(slow) {}

    /// List: every service, or the one `req` names (Errc::NoService when it does not exist).
    void services(const Request& req, Reply& rep) const;
    /// ListConns, first half: one ListConns command per worker, sized for its live entries.
    std::vector<std::unique_ptr<dp::Command>> conn_commands() const;
    /// ListConns, second half: the finished job's entries plus the persistence templates.
    void conns(const WorkerJob& job, Reply& rep) const;
    /// ListPorts: ports with their counters, and drops by reason.
    void ports(Reply& rep) const;
    /// ListWorkers.
    void workers(Reply& rep) const;
    /// ListNeighbours, sorted by address.
    void neighbours(Reply& rep) const;
    /// ListRoutes.
    void routes(Reply& rep) const;
    /// The ports' kernel interfaces (host integration), shown by ports(); null for none.
    void set_host(const host::Host* h) { host_ = h; }

private:
    dp::Dataplane& dp_;
    const ModelStore& model_;
    const Counters& counters_;
    const dp::SlowPath& slow_;
    const host::Host* host_ = nullptr;
};

}  // namespace dirigo::ctl
