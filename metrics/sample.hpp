// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The operations module (metrics/): what an operator's tools read from a running director, in
/// three forms: a Prometheus text endpoint (exposition.hpp, http_server.hpp), DPDK telemetry
/// commands (telemetry.hpp) and packet capture through DPDK's pdump (operations.hpp).
///
/// All of them start from one `Sample`: a plain copy of the counters and listings, taken on the
/// control thread (sampler.hpp) through control's own read-only requests. A Sample owns its data
/// and never changes once built, so it may be rendered anywhere: the HTTP responder renders it on
/// the control thread, DPDK's telemetry thread renders a copy control published for it. Workers
/// are never involved. No DPDK types here: the exposition builds and tests without EAL.

#include <cstdint>
#include <string>
#include <vector>

#include "proto/protocol.hpp"

namespace dirigo::metrics {

/// One named counter.
struct NamedCounter {
    std::string name;  ///< [a-z0-9_]+, becomes part of a metric name
    uint64_t value = 0;
};

/// The exception path's counters (packets handed to and taken back from the host kernel), filled
/// in sample() (sampler.cpp); each one is exported as `dirigo_exception_path_<name>_total`.
struct ExceptionPathSample {
    std::vector<NamedCounter> counters;
};

/// Everything exported, as of one moment on the control thread.
struct Sample {
    std::string version;           ///< DIRIGO_VERSION
    uint32_t conn_table_size = 0;  ///< capacity of each worker's connection table
    /// Since start, over every service that ever existed and every worker: never zeroed (not by
    /// -Z, not by removing a service), so node_ipvs_*_total are true Prometheus counters.
    ctl::Stats totals;
    std::vector<ctl::ServiceInfo> services;  ///< as `dirigoadm -L --stats` sees them
    std::vector<ctl::PortView> ports;
    std::vector<ctl::DropView> drops;  ///< every reason, zero counts included
    std::vector<ctl::WorkerView> workers;
    ExceptionPathSample exception_path;
    /// Connection sync (docs/sync.md): the workers' and the daemons' counters, each exported as
    /// `dirigo_sync_<name>_total`; a daemon that does not run counts 0.
    std::vector<NamedCounter> sync;
};

}  // namespace dirigo::metrics
