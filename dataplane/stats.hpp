// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Per-worker counters. Each worker writes only its own (plain load + store on a relaxed atomic:
/// no read-modify-write, no shared cache line); control sums them on read with relaxed loads.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/packet.hpp"
#include "dataplane/snapshot.hpp"

namespace dirigo::dp {

/// Single-writer increment. Thread: the owning worker. Pairs with relaxed loads on control.
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

/// ipvsadm --stats counters of one service or real server, on one worker.
struct TrafficStats {
    std::atomic<uint64_t> conns{0};
    std::atomic<uint64_t> inpkts{0};
    std::atomic<uint64_t> outpkts{0};
    std::atomic<uint64_t> inbytes{0};
    std::atomic<uint64_t> outbytes{0};
};

/// Port counters of one worker.
struct PortStats {
    std::atomic<uint64_t> rx{0};
    std::atomic<uint64_t> tx{0};
    std::atomic<uint64_t> rx_bytes{0};
};

/// Everything one worker counts: owned by its Worker (itself cache-line aligned); the per-service
/// and per-server arrays are separate heap allocations indexed by stats slot.
struct alignas(64) WorkerStats {
    std::array<std::atomic<uint64_t>, static_cast<size_t>(Drop::Count)> drops{};
    std::array<PortStats, kMaxPorts> ports{};
    std::atomic<uint64_t> loops{0};
    std::atomic<uint64_t> busy_loops{0};  ///< loops that received at least one packet
    std::atomic<uint64_t> conns_created{0};
    std::atomic<uint64_t> conns_expired{0};
    std::atomic<uint64_t> conns_evicted{0};  ///< half-open connections removed for a new one
    std::atomic<uint64_t> conns_dropentry{0};  ///< entries the drop_entry defence removed
    /// Packets that secure_tcp's state table moved differently from the normal table (a NAT
    /// client's ACK that did not establish its connection, ...).
    std::atomic<uint64_t> secure_tcp_held{0};
    // The SYN proxy (docs/reliability.md, "The SYN proxy"); its drops are Drop::Synp*.
    std::atomic<uint64_t> synp_cookies_sent{0};   ///< SYNs answered with a cookie SYN-ACK
    std::atomic<uint64_t> synp_cookies_valid{0};  ///< ACKs whose cookie opened a connection
    std::atomic<uint64_t> synp_handshakes{0};     ///< server SYN-ACKs that completed a splice
    std::atomic<uint64_t> synp_early_held{0};     ///< client segments held for the server
    std::atomic<uint64_t> to_slow_path{0};
    std::atomic<uint64_t> to_host{0};        ///< packets queued for the kernel (exception path)
    std::atomic<uint64_t> icmp_echo_replies{0};
    std::atomic<uint64_t> forwarded{0};  ///< routed without NAT
    // Fragmentation on the way out (docs/forwarding.md, "Fragments").
    std::atomic<uint64_t> frag_packets{0};  ///< packets larger than their egress MTU, fragmented
    std::atomic<uint64_t> frag_out{0};      ///< fragments those made
    std::atomic<uint64_t> frag_needed{0};   ///< DF packets too big: ICMP fragmentation needed
    std::atomic<uint64_t> reasm_in{0};      ///< fragments taken for reassembly
    std::atomic<uint64_t> reasm_ok{0};      ///< datagrams reassembled from them
    std::atomic<uint64_t> live_conns{0};
    std::atomic<uint64_t> handed_off{0};     ///< packets passed to their owner worker
    std::atomic<uint64_t> taken_over{0};     ///< packets received from other workers
    std::atomic<uint64_t> persist_full{0};   ///< new flows scheduled without a template (table full)
    std::atomic<uint64_t> idle_sleeps{0};    ///< adaptive polling: sleeps taken while idle
    std::atomic<uint64_t> idle_us{0};        ///< adaptive polling: microseconds spent asleep
    // Connection sync (docs/sync.md).
    std::atomic<uint64_t> sync_queued{0};     ///< master: records queued for control
    std::atomic<uint64_t> sync_lost{0};       ///< master: records the full ring refused
    std::atomic<uint64_t> sync_installed{0};  ///< backup: connections added
    std::atomic<uint64_t> sync_updated{0};    ///< backup: connections refreshed
    std::atomic<uint64_t> sync_templates{0};  ///< backup: persistence templates set
    std::atomic<uint64_t> sync_no_service{0}; ///< backup: no such service or real server here
    std::atomic<uint64_t> sync_table_full{0}; ///< backup: no room in the connection table
    std::unique_ptr<TrafficStats[]> svc = std::make_unique<TrafficStats[]>(kMaxServices);
    std::unique_ptr<TrafficStats[]> dest = std::make_unique<TrafficStats[]>(kMaxDests);
};

}  // namespace dirigo::dp
