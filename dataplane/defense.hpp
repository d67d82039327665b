// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// What the workers do against floods, as control last decided it (IPVS's defence strategies,
/// docs/reliability.md "Floods").
///
/// Control computes the level off the hot path, from the config's modes and the workers' table
/// occupancy (control/defense.hpp), and publishes it in every Snapshot; a worker reads it from
/// the snapshot it holds, so a change reaches every worker with one pointer swap like any other.

#include <cstdint>

namespace dirigo::dp {

struct DefenseParams {
    /// drop_entry is active: each worker removes half-open TCP entries and idle UDP entries,
    /// examining 1/32 of its table a second in slices (IPVS's ip_vs_random_dropentry).
    bool drop_entry = false;
    /// IPVS's secure_tcp is active: TCP connections move through the secure state table.
    bool secure_tcp = false;
    /// drop_packet: 0, or drop one of every `drop_rate` new-connection SYNs (IPVS's drop_rate).
    uint32_t drop_rate = 0;
    /// The SYN proxy answers SYNs to NAT TCP services with cookies (docs/reliability.md, "The
    /// SYN proxy").
    bool syn_proxy = false;
    /// ACKs to NAT TCP services that match no entry are checked as cookies: the proxy's mode is
    /// not 0 (an automatic proxy that just turned off still honours the cookies it sent).
    bool syn_proxy_ack = false;
    bool operator==(const DefenseParams&) const = default;
};

}  // namespace dirigo::dp
