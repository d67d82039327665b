// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The per-worker connection table.
///
/// One table per worker, written and read only by that worker: no lock and no atomic on any path.
/// A connection is one 64-byte `Conn` in a preallocated array, and is findable from both
/// directions through an `rte_hash` (single-threaded flavour) that maps a FlowKey to the entry's
/// index plus a direction bit: the client-side key (client -> VIP) always, and for NAT the
/// real-server-side key (RIP -> client) as well. Lookups run a burst at a time with
/// `rte_hash_lookup_bulk_data`, which prefetches buckets and keys across the burst.
///
/// Expiry is lazy on lookup plus a bounded sweep: `sweep()` examines at most `budget` entries per
/// call from a rotating cursor, so no call ever scans the table (see docs/architecture.md).
/// Memory is fixed at creation: `capacity` entries plus a hash of 2 x capacity keys.

#include <cstdint>
#include <memory>
#include <string>

#include <rte_jhash.h>

#include "config/status.hpp"
#include "conntrack/flow_key.hpp"
#include "conntrack/tcp_state.hpp"

struct rte_hash;

namespace dirigo::ct {

/// Connection flags.
enum ConnFlag : uint8_t {
    kConnInactive = 1u << 0,  ///< counted in the server's InActConn (IPVS's IP_VS_CONN_F_INACTIVE)
    kConnHasReply = 1u << 1,  ///< the reply-direction key is in the hash (NAT)
};

/// One tracked connection. Owned by one worker; stores its rewrite data, never a pointer into a
/// snapshot, so it outlives rule changes.
struct alignas(64) Conn {
    FlowKey client;         ///< client -> VIP:vport, as received
    uint32_t raddr = 0;     ///< real server, network order
    uint16_t rport = 0;     ///< real server port, network order
    TcpState state = TcpState::None;
    uint8_t fwd = 0;        ///< cfg::Fwd
    uint64_t expire = 0;    ///< TSC at which the entry dies
    uint32_t dest_slot = 0; ///< the real server's global counter/stats slot
    uint32_t svc_slot = 0;  ///< the service's stats slot
    uint8_t flags = 0;      ///< ConnFlag
    uint8_t in_use = 0;
    uint16_t tun_port = 0;  ///< tunnelling: GUE's UDP destination port, network order
    uint32_t next_free = 0; ///< free-list link while unused
    uint32_t tmpl = 0xffffffffu;  ///< persistence template index, or none
    /// Connection sync (master): client packets until the next periodic send; 0 or 1 sends on
    /// the next packet (docs/sync.md).
    uint32_t sync_countdown = 0;
    uint8_t synced_state = 0xff;  ///< TcpState last sent to the backups (0xff: never sent)
    uint8_t encap = 0;  ///< tunnelling: dp::Encap, from the real server when the connection began

    /// The key under which replies from the real server arrive (NAT).
    FlowKey reply_key() const {
        FlowKey k;
        k.saddr = raddr;
        k.daddr = client.saddr;
        k.sport = rport;
        k.dport = client.sport;
        k.proto = client.proto;
        return k;
    }
};
static_assert(sizeof(Conn) == 64, "a connection entry is one cache line");

/// Result of a lookup: entry index and direction, or kMiss.
inline constexpr uint32_t kMiss = 0xffffffffu;
inline constexpr uint32_t kReplyBit = 1u;
inline uint32_t lookup_index(uint32_t r) { return r >> 1; }
inline bool lookup_is_reply(uint32_t r) { return (r & kReplyBit) != 0; }

class ConnTable {
public:
    /// Maximum keys per lookup_bulk call.
    static constexpr uint32_t kMaxBulk = 32;

    /// Creates a table for `capacity` connections on NUMA `socket`. `name` must be unique in the
    /// process (it names DPDK objects). Thread: control/startup. Cost: allocates all memory.
    static Result<std::unique_ptr<ConnTable>> create(const std::string& name, uint32_t capacity,
                                                     int socket);
    ~ConnTable();
    ConnTable(const ConnTable&) = delete;
    ConnTable& operator=(const ConnTable&) = delete;

    /// The table's hash of `key` (the hash rte_hash is configured with): the worker computes it
    /// while it parses, for lookup_bulk(). Thread: any. Cost: one jhash of four words.
    static uint32_t hash(const FlowKey& key) noexcept {
        // The key is exactly four 32-bit words: jhash_32b is the cheapest full-avalanche hash.
        return rte_jhash_32b(reinterpret_cast<const uint32_t*>(&key), sizeof(FlowKey) / 4,
                             kHashInit);
    }

    /// Looks up `n` (<= kMaxBulk) keys; out[i] is kMiss or an encoded index (lookup_index(),
    /// lookup_is_reply()). Thread: owner. Cost: one bulk hash probe, no allocation.
    void lookup_bulk(const FlowKey* const* keys, uint32_t n, uint32_t* out) noexcept;
    /// lookup_bulk() with each key's hash() already computed.
    void lookup_bulk(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n,
                     uint32_t* out) noexcept;
    /// Single-key lookup, same encoding.
    uint32_t lookup(const FlowKey& key) noexcept;
    /// lookup() with the key's hash() already computed.
    uint32_t lookup(const FlowKey& key, uint32_t hash) noexcept;

    /// Adds a connection; `with_reply` also indexes its reply key. Returns the index or kMiss
    /// when the table (or its hash) is full. Thread: owner. Cost: O(1), no allocation.
    uint32_t insert(const Conn& c, bool with_reply) noexcept;
    /// Removes entry `idx` and its keys. Thread: owner.
    void remove(uint32_t idx) noexcept;

    Conn& at(uint32_t idx) noexcept { return entries_[idx]; }
    const Conn& at(uint32_t idx) const noexcept { return entries_[idx]; }
    uint32_t size() const { return used_; }
    uint32_t capacity() const { return capacity_; }
    /// Bytes of memory this table holds (entries + hash), for reporting.
    uint64_t memory_bytes() const { return memory_bytes_; }

    /// Visits at most `budget` entries from the rotating cursor and calls `on_expire(idx, conn)`
    /// for each live entry whose expire time is <= now, then removes it. Returns entries removed.
    /// Thread: owner. Cost: O(budget).
    template <class F>
    uint32_t sweep(uint64_t now, uint32_t budget, F&& on_expire) noexcept {
        uint32_t removed = 0;
        for (uint32_t i = 0; i < budget; ++i) {
            const uint32_t idx = cursor_;
            cursor_ = cursor_ + 1 == capacity_ ? 0 : cursor_ + 1;
            Conn& c = entries_[idx];
            if (c.in_use && c.expire <= now) {
                on_expire(idx, c);
                remove(idx);
                ++removed;
            }
        }
        return removed;
    }

    /// Makes room in a full table: examines `budget` entries from its own rotating cursor and
    /// removes, of the TCP connections among them that never reached ESTABLISHED (NONE, SYN_SENT,
    /// SYN_RECV, SYNACK), the one idle longest, calling `on_evict(conn)` first. Returns true if
    /// one was removed. Under a SYN flood the table fills with half-open entries: those go first,
    /// the stalest of each sample, so a legitimate client's handshake (a fresh entry) survives the
    /// flood's turnover; an established connection is never evicted. `timeout_tsc` is the
    /// snapshot's per-state timeouts: an entry's last packet was at expire - timeout[state].
    /// Thread: owner. Cost: O(budget).
    template <class F>
    bool evict_half_open(uint32_t budget, const uint64_t* timeout_tsc, F&& on_evict) noexcept {
        uint32_t victim = kMiss;
        uint64_t oldest = UINT64_MAX;
        for (uint32_t i = 0; i < budget; ++i) {
            const uint32_t idx = evict_cursor_;
            evict_cursor_ = evict_cursor_ + 1 == capacity_ ? 0 : evict_cursor_ + 1;
            const Conn& c = entries_[idx];
            if (c.in_use && (c.state == TcpState::None || c.state == TcpState::SynSent ||
                             c.state == TcpState::SynRecv || c.state == TcpState::SynAck)) {
                const uint64_t last = c.expire - timeout_tsc[static_cast<size_t>(c.state)];
                if (last < oldest) {
                    oldest = last;
                    victim = idx;
                }
            }
        }
        if (victim == kMiss) {
            return false;
        }
        on_evict(entries_[victim]);
        remove(victim);
        return true;
    }

    /// The drop_entry defence (IPVS's ip_vs_random_dropentry): examines `budget` entries from its
    /// own rotating cursor and removes every TCP entry in SYN_RECV or SYNACK, and every UDP entry
    /// whose expire time is at or before `udp_idle_before` (no packet for a minute), calling
    /// `on_drop(conn)` first. An ESTABLISHED (or closing) TCP connection is never removed.
    /// Returns entries removed. Thread: owner. Cost: O(budget).
    template <class F>
    uint32_t drop_entries(uint32_t budget, uint64_t udp_idle_before, F&& on_drop) noexcept {
        uint32_t removed = 0;
        for (uint32_t i = 0; i < budget; ++i) {
            const uint32_t idx = drop_cursor_;
            drop_cursor_ = drop_cursor_ + 1 == capacity_ ? 0 : drop_cursor_ + 1;
            Conn& c = entries_[idx];
            if (!c.in_use) {
                continue;
            }
            const bool drop = c.state == TcpState::Udp ? c.expire <= udp_idle_before
                                                       : c.state == TcpState::SynRecv ||
                                                             c.state == TcpState::SynAck;
            if (drop) {
                on_drop(c);
                remove(idx);
                ++removed;
            }
        }
        return removed;
    }

    /// Calls f(idx, conn) for every live entry. Thread: owner. Cost: O(capacity); for listings only.
    template <class F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i < capacity_; ++i) {
            if (entries_[i].in_use) {
                f(i, entries_[i]);
            }
        }
    }

private:
    static constexpr uint32_t kHashInit = 0x9e3779b9u;
    ConnTable() = default;
    rte_hash* hash_ = nullptr;
    Conn* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;
    uint32_t free_head_ = 0;
    uint32_t cursor_ = 0;
    uint32_t evict_cursor_ = 0;
    uint32_t drop_cursor_ = 0;
    uint64_t memory_bytes_ = 0;
};

}  // namespace dirigo::ct
