// SPDX-License-Identifier: BSD-3-Clause
#include "control/worker_job.hpp"

#include <utility>

#include <rte_cycles.h>

namespace dirigo::ctl {

WorkerJob::WorkerJob(dp::Dataplane& dp, std::vector<std::unique_ptr<dp::Command>> cmds)
    : dp_(dp),
      cmds_(std::move(cmds)),
      posted_(cmds_.size(), false),
      deadline_(rte_rdtsc() + dp.tsc_hz() / 1000 * kWorkerJobTimeoutMs) {}

bool WorkerJob::poll() {
    if (done_) {
        return true;
    }
    bool all = true;
    for (size_t w = 0; w < cmds_.size(); ++w) {
        if (!posted_[w]) {
            posted_[w] = dp_.post_command(static_cast<uint32_t>(w), *cmds_[w]);
        }
        // Pairs with the worker's release store of `done` after its last write to the command.
        all = all && posted_[w] && cmds_[w]->done.load(std::memory_order_acquire);
    }
    done_ = all;
    return done_;
}

bool WorkerJob::timed_out() const {
    return !done_ && rte_rdtsc() > deadline_;
}

}  // namespace dirigo::ctl
