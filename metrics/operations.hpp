// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The daemon's operations hooks, put together for main.cpp: the Prometheus endpoint (when
/// `metrics.listen` is set), the /dirigo/... telemetry commands and DPDK's packet-capture server
/// (rte_pdump, for dpdk-dumpcap). round() runs on the control thread once per control round
/// (Control::add_round_hook). Thread: control, except as telemetry.hpp describes.

#include <chrono>
#include <memory>

#include "config/config.hpp"
#include "config/status.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"
#include "metrics/http_server.hpp"
#include "metrics/telemetry.hpp"

namespace dirigo::metrics {

class Operations {
public:
    Operations(ctl::Control& control, const dp::Dataplane& dp, const cfg::MetricsCfg& cfg);
    ~Operations();
    Operations(const Operations&) = delete;
    Operations& operator=(const Operations&) = delete;

    /// Registers the telemetry commands, starts the capture server and opens the metrics
    /// endpoint. Thread: main, after rte_eal_init, before the control loop.
    Status open();
    /// Serves metrics clients (never waits) and publishes a Sample for telemetry when one was
    /// asked for. Thread: control.
    void round();
    /// Stops the capture server and closes the metrics endpoint. Call it once the workers have
    /// stopped: a dpdk-dumpcap still attached has callbacks in their RX/TX bursts, and
    /// rte_pdump_uninit frees what those use. Safe to call twice.
    void close();

private:
    ctl::Control& control_;
    const dp::Dataplane& dp_;
    cfg::MetricsCfg cfg_;
    TelemetryBoard* board_ = nullptr;  ///< immortal (see register_telemetry)
    std::unique_ptr<HttpServer> http_;
    bool pdump_ = false;
};

}  // namespace dirigo::metrics
