// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The ruler: testpmd-style forwarding loops run on the worker lcore, over the rig's ports and
/// fed by the same FrameSource callbacks as the Dirigo worker, so that they pay the same
/// generator cost for the same frames. io forwards untouched, macswap swaps the MACs (testpmd's
/// macswap, also setting l2_len/l3_len), 5tswap swaps MACs, addresses and ports (testpmd's
/// 5tswap). What came in on one port leaves on the other, as testpmd's paired topology does.
/// Thread: the loop runs on the worker lcore; the main lcore starts and stops it.

#include <atomic>
#include <cstdint>
#include <string_view>

namespace dirigo::bench {

enum class Baseline : uint8_t { Io, Macswap, FiveTupleSwap };

/// The report's name of a baseline: "io", "macswap" or "5tswap".
std::string_view baseline_name(Baseline b);

/// What one baseline loop needs; `stop` ends it.
struct alignas(64) BaselineCtx {
    std::atomic<bool> stop{false};
    Baseline kind = Baseline::Io;
    uint16_t ports[2] = {};
    alignas(64) std::atomic<uint64_t> tx_full{0};  ///< packets the TX queue refused (freed)
};

/// The loop, for rte_eal_remote_launch (`arg` is a BaselineCtx). Returns 0.
int baseline_main(void* arg);

}  // namespace dirigo::bench
