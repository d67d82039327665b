// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Flow ownership across workers.
///
/// Every connection belongs to one worker, chosen from its client-side endpoint only, so the
/// client's packets and the real server's NAT replies meet on the same core and the connection
/// table stays private. A packet addressed to one of our addresses comes from a client (its source
/// is the client); any other packet is a reply or transit traffic (its destination is the client
/// side). A worker that receives a packet it does not own hands it to the owner through a
/// single-producer single-consumer ring, in bursts (Worker::process_burst).
/// Thread: any. Cost: a multiply and a shift.

#include <cstdint>

#include "dataplane/hash.hpp"

namespace dirigo::dp {

inline constexpr uint32_t kMaxWorkers = 16;

/// Owner of the flow whose client endpoint is `ip`:`port` (network order) among `n` workers.
inline uint32_t flow_owner(uint32_t ip, uint16_t port, uint32_t n) noexcept {
    return fib_range((static_cast<uint64_t>(ip) << 16) | port, n);
}

}  // namespace dirigo::dp
