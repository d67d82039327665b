// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Turns the control thread's model into the dataplane's immutable Snapshot: network-order
/// addresses, a service map, and one Scheduler per service built over the shared per-server
/// counters. Thread: control. Cost: O(services + servers), allocates.

#include <memory>

#include "config/status.hpp"
#include "control/model_store.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/snapshot.hpp"

namespace dirigo::ctl {

/// Builds a snapshot of the prepared `change` for `dp`, and stores each server's thresholds in the
/// dataplane's slot table (read by workers when a connection ends).
Result<std::unique_ptr<dp::Snapshot>> build_snapshot(const ModelStore::Change& change,
                                                     dp::Dataplane& dp);

}  // namespace dirigo::ctl
