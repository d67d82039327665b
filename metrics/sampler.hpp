// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Takes a Sample (sample.hpp) of a running director. Thread: control only: it asks Control for
/// the same listings dirigoadm gets (List, ListPorts, ListWorkers; none waits for a worker) and
/// sums the workers' per-service counters with relaxed loads, as Counters does.

#include "control/control.hpp"
#include "dataplane/dataplane.hpp"
#include "metrics/sample.hpp"

namespace dirigo::metrics {

/// A Sample of `control` and `dp` now. Thread: control. O(services + servers + kMaxServices x
/// workers); allocates.
Sample sample(ctl::Control& control, const dp::Dataplane& dp);

}  // namespace dirigo::metrics
