// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Per-worker operations that control asks for without touching a worker's private state: listing
/// connections (`dirigoadm -L -c`) and expiring the connections of removed real servers.
///
/// Control fills a Command (allocating any buffer it needs), enqueues a pointer on the worker's
/// single-producer single-consumer command ring (Dataplane::post_command) and, without waiting,
/// checks `done` on its later rounds; the reply that needs the result is held until then. The worker takes one command
/// at a time and works through its table in slices of kCommandSlice entries per loop iteration, so
/// a command never stalls forwarding; it never allocates. `done` is stored with release after the
/// last write to the command, and control loads it with acquire.

#include <atomic>
#include <cstdint>
#include <vector>

#include "conntrack/conn_table.hpp"
#include "conntrack/conn_table6.hpp"

namespace dirigo::dp {

inline constexpr uint32_t kCommandSlice = 4096;

enum class CommandKind : uint8_t {
    ListConns,    ///< copy live connections into `conns` (up to its size)
    ExpireDests,  ///< expire connections whose dest_slot is in `slots` (sorted)
};

struct Command {
    CommandKind kind = CommandKind::ListConns;
    std::vector<ct::Conn> conns;   ///< ListConns: sized by control; the worker fills [0, count)
    std::vector<uint32_t> slots;   ///< ExpireDests: sorted slots
    uint32_t count = 0;            ///< ListConns: entries written; ExpireDests: entries expired
    uint32_t cursor = 0;           ///< worker's progress through its table
    /// The same for the IPv6 table, walked after the IPv4 one (ListConns and ExpireDests alike).
    std::vector<ct::Conn6> conns6;  ///< ListConns: sized by control; the worker fills [0, count6)
    uint32_t count6 = 0;           ///< ListConns: IPv6 entries written
    uint32_t cursor6 = 0;
    uint64_t now = 0;              ///< TSC when the worker finished (to compute time left)
    std::atomic<bool> done{false};
};

}  // namespace dirigo::dp
