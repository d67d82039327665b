// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Work a reply needs from every worker (listing connections, expiring a removed server's
/// connections), posted on the workers' command rings and checked once per control round: the
/// control thread never waits for a worker. A reply that needs the job is held until poll() says
/// it is over (Server's HeldReply). Thread: control only.

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/command.hpp"
#include "dataplane/dataplane.hpp"

namespace dirigo::ctl {

/// How long a job may take before its reply gives up with Errc::Internal (the commands stay
/// alive until their workers finish them).
inline constexpr uint32_t kWorkerJobTimeoutMs = 5000;

class WorkerJob {
public:
    /// `cmds` holds one command per worker, in worker order. Nothing is posted yet.
    WorkerJob(dp::Dataplane& dp, std::vector<std::unique_ptr<dp::Command>> cmds);

    /// Posts the commands not posted yet (a full ring is tried again next time) and reports
    /// whether every command is done. O(workers), no waiting.
    bool poll();
    /// True once every command is done (as of the last poll()).
    bool done() const { return done_; }
    /// True when the job is not done kWorkerJobTimeoutMs after it was made.
    bool timed_out() const;
    /// The commands, in worker order; read their results once done().
    const std::vector<std::unique_ptr<dp::Command>>& commands() const { return cmds_; }

private:
    dp::Dataplane& dp_;
    std::vector<std::unique_ptr<dp::Command>> cmds_;
    std::vector<bool> posted_;
    uint64_t deadline_ = 0;  ///< TSC
    bool done_ = false;
};

}  // namespace dirigo::ctl
