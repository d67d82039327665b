// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/operations.hpp"

#include <string>

#include <rte_errno.h>
#include <rte_pdump.h>

#include "config/addr.hpp"
#include "dataplane/log.hpp"
#include "metrics/exposition.hpp"
#include "metrics/sampler.hpp"

namespace dirigo::metrics {
namespace {

/// One board for the life of the process: DPDK's telemetry thread may run a command at any
/// moment until exit, and DPDK cannot unregister one.
TelemetryBoard* immortal_board() {
    static TelemetryBoard* const board = new TelemetryBoard();
    return board;
}

}  // namespace

Operations::Operations(ctl::Control& control, const dp::Dataplane& dp, const cfg::MetricsCfg& cfg)
    : control_(control), dp_(dp), cfg_(cfg) {}

Operations::~Operations() {
    close();
}

Status Operations::open() {
    board_ = immortal_board();
    if (Status st = register_telemetry(board_); !st) {
        return st;
    }
    // The first Sample, so that a telemetry request before the first round has an answer.
    board_->publish(std::make_shared<const Sample>(sample(control_, dp_)));
    // DPDK's capture server: dpdk-dumpcap (a secondary process with the same --file-prefix)
    // asks it to copy what a port receives and sends into its ring.
    if (rte_pdump_init() != 0) {
        return Status(Errc::Io,
                      std::string("capture: rte_pdump_init failed: ") + rte_strerror(rte_errno));
    }
    pdump_ = true;
    if (cfg_.enabled) {
        http_ = std::make_unique<HttpServer>(
            [this] { return render_prometheus(sample(control_, dp_)); },
            std::string(kPrometheusContentType));
        if (Status st = http_->open(cfg_.addr, cfg_.port); !st) {
            http_.reset();
            return st;
        }
        DIRIGO_LOG(INFO, "metrics at http://%s/metrics",
                   cfg::format_endpoint(cfg_.addr, http_->port()).c_str());
    }
    return {};
}

void Operations::round() {
    if (http_) {
        http_->poll();
    }
    if (board_ != nullptr && board_->wanted()) {
        board_->publish(std::make_shared<const Sample>(sample(control_, dp_)));
    }
}

void Operations::close() {
    http_.reset();
    if (pdump_) {
        rte_pdump_uninit();
        pdump_ = false;
    }
}

}  // namespace dirigo::metrics
