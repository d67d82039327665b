// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The per-worker IPv6 connection table (docs/conntrack.md, "IPv6 connections").
///
/// Separate from the IPv4 ConnTable, whose 16-byte key and 64-byte entry the IPv4 hot path is
/// built around: IPv6 flows pay for their 40-byte keys here, IPv4 pays nothing. A DPDK rte_hash
/// (single writer, no locks: only the owning worker reads or writes it) maps a FlowKey6 to an
/// encoded slot (entry index << 1 | reply bit); the entries are a preallocated array of
/// 128-byte Conn6. A NAT connection is indexed by its client key and by its reply key, both
/// naming one entry, as in the IPv4 table. Expiry has the IPv4 table's semantics: lazy on
/// lookup (the worker's), plus sweep() examining at most `budget` entries per call from a
/// rotating cursor. Memory is fixed at creation (rte_zmalloc_socket and rte_hash_create on the
/// worker's socket); nothing allocates after.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "config/status.hpp"
#include "conntrack/conn_table.hpp"
#include "conntrack/tcp_state.hpp"

struct rte_hash;

namespace dirigo::ct {

/// An IPv6 5-tuple, addresses and ports as on the wire (network order), hashed and compared as
/// 40 raw bytes (the pad is always zero).
struct FlowKey6 {
    uint8_t saddr[16] = {};
    uint8_t daddr[16] = {};
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t proto = 0;
    uint8_t pad[3] = {0, 0, 0};

    bool operator==(const FlowKey6& o) const { return std::memcmp(this, &o, sizeof(*this)) == 0; }
};
static_assert(sizeof(FlowKey6) == 40);

/// One tracked IPv6 connection: the fields of Conn that IPv6 NAT, direct routing and tunnels
/// use, with IPv6 addresses.
/// Owned by one worker; stores its rewrite data, never a pointer into a snapshot.
struct alignas(64) Conn6 {
    FlowKey6 client;              ///< client -> VIP:vport, as received
    uint8_t raddr[16] = {};       ///< real server, network order
    uint64_t expire = 0;          ///< TSC at which the entry dies
    uint32_t dest_slot = 0;       ///< the real server's global counter/stats slot
    uint32_t svc_slot = 0;        ///< the service's stats slot
    uint32_t next_free = 0;       ///< free-list link while unused
    uint32_t tmpl = 0xffffffffu;  ///< persistence template, or none
    uint32_t sync_countdown = 0;  ///< client packets until the next sync record (docs/sync.md)
    uint16_t rport = 0;           ///< real server port, network order
    uint16_t tun_port = 0;        ///< Fwd::Tunnel: GUE's UDP destination port, network order
    TcpState state = TcpState::None;
    uint8_t fwd = 0;    ///< cfg::Fwd
    uint8_t encap = 0;  ///< Fwd::Tunnel: dp::Encap (dataplane/tunnel.hpp)
    uint8_t flags = 0;  ///< ConnFlag (kConnInactive, kConnHasReply)
    uint8_t in_use = 0;
    uint8_t synced_state = 0xff;  ///< the state last sent to the backups (none yet)

    /// The key under which replies from the real server arrive (NAT).
    FlowKey6 reply_key() const {
        FlowKey6 k;
        std::memcpy(k.saddr, raddr, 16);
        std::memcpy(k.daddr, client.saddr, 16);
        k.sport = rport;
        k.dport = client.sport;
        k.proto = client.proto;
        return k;
    }
};
static_assert(sizeof(Conn6) == 128, "an IPv6 connection entry is two cache lines");

/// Conn6::flags (besides ConnFlag's): the real server is IPv4, an IPv6 service's tunnel server
/// of the other family (IPv6-in-IPv4, as the kernel allows for tunnels only); `raddr` then holds
/// its address IPv4-mapped (::ffff:a.b.c.d), the IPv4 address in the last 4 bytes.
inline constexpr uint8_t kConn6Dest4 = 1u << 5;

class ConnTable6 {
public:
    /// Most entries: the slot word is (index << 1 | reply bit) in 32 bits.
    static constexpr uint32_t kMaxCapacity = 1u << 30;

    /// Creates a table for `capacity` (>= 8) connections on NUMA `socket`; `name` must be
    /// unique in the process (it names the rte_hash). The hash holds two keys per connection.
    /// Thread: control/startup. Cost: allocates all memory.
    static Result<std::unique_ptr<ConnTable6>> create(const std::string& name, uint32_t capacity,
                                                      int socket);
    ~ConnTable6();
    ConnTable6(const ConnTable6&) = delete;
    ConnTable6& operator=(const ConnTable6&) = delete;

    /// kMiss, or the entry index and direction encoded as ConnTable's (lookup_index(),
    /// lookup_is_reply()). Thread: owner. Cost: one rte_hash lookup (a hash of 40 bytes).
    uint32_t lookup(const FlowKey6& key) const noexcept;
    /// Looks up `n` (<= kMaxBulk) keys at once, out[i] as lookup() answers, and prefetches each
    /// hit's entry: rte_hash's bulk lookup stages the burst (buckets, then signatures, then
    /// keys), so the burst's cache misses overlap instead of queueing one key at a time.
    /// Thread: owner. Cost: one bulk rte_hash lookup, no allocation.
    void lookup_bulk(const FlowKey6* keys, uint32_t n, uint32_t* out) const noexcept;
    /// Most keys per lookup_bulk() call.
    static constexpr uint32_t kMaxBulk = 32;
    /// Counts inserts and removals: a bulk answer is current while this has not moved since.
    uint32_t changes() const noexcept { return changes_; }
    /// Adds a connection, with its reply key when `with_reply` (the newest connection wins a
    /// reply key, as in ConnTable). Returns the index, or kMiss when every entry is in use or
    /// the hash refuses a key (then nothing was added). Thread: owner. Cost: one or two rte_hash
    /// adds, no allocation.
    uint32_t insert(const Conn6& c, bool with_reply) noexcept;
    /// Removes entry `idx` and its keys. Thread: owner.
    void remove(uint32_t idx) noexcept;

    Conn6& at(uint32_t idx) noexcept { return entries_[idx]; }
    const Conn6& at(uint32_t idx) const noexcept { return entries_[idx]; }
    uint32_t size() const { return used_; }
    uint32_t capacity() const { return capacity_; }

    /// Visits at most `budget` entries from the rotating cursor and calls `on_expire(idx, conn)`
    /// for each live entry whose expire time is <= now, then removes it. Returns entries removed.
    /// Thread: owner. Cost: O(budget).
    template <class F>
    uint32_t sweep(uint64_t now, uint32_t budget, F&& on_expire) noexcept {
        uint32_t removed = 0;
        if (used_ == 0) {
            return 0;
        }
        for (uint32_t n = 0; n < budget && n < capacity_; ++n) {
            const uint32_t i = cursor_;
            cursor_ = cursor_ + 1 == capacity_ ? 0 : cursor_ + 1;
            Conn6& c = entries_[i];
            if (c.in_use && c.expire <= now) {
                on_expire(i, c);
                remove(i);
                ++removed;
            }
        }
        return removed;
    }

private:
    ConnTable6() = default;

    rte_hash* hash_ = nullptr;
    Conn6* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;
    uint32_t free_head_ = 0;
    uint32_t cursor_ = 0;
    uint32_t changes_ = 0;
};

}  // namespace dirigo::ct
