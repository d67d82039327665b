// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The per-worker connection table.
///
/// One table per worker, written and read only by that worker: no lock and no atomic on any path.
/// A connection is a 32-byte `Conn` (the hot part, two to a cache line) in a preallocated array
/// plus a 16-byte `ConnCold` at the same index in a parallel one, 48 bytes in all, findable from
/// both directions through Dirigo's own index: an array of 64-byte buckets (`Bucket`), each holding
/// 10 slots of a 16-bit signature and a 32-bit slot word (entry index, direction bit, "stored in
/// its alternate bucket" bit). There is no key store: a candidate's key is compared against the
/// `Conn` itself (its client key, or the reply key derived from its fields), so a hit costs the
/// bucket line and the entry line, and the entry line is the one the worker reads next anyway.
///
/// A key's primary bucket is the hash scaled into the bucket count by a multiply (any count, not
/// a power of two: the index is sized to the load it is designed for), its alternate the primary
/// plus a non-zero step derived from the signature, modulo the count; the slot word's kSlotInAlt
/// says which of the two a slot is in, so a slot can move between them without its key. Insert
/// takes the primary, else the alternate, else moves one resident of either bucket to its other
/// bucket
/// (at most 20 bucket reads): bounded cost, and a refusal (kMiss) when that fails. Each bucket
/// counts the keys whose primary it is but which live in their alternate: while that count is
/// zero a lookup reads one bucket only. Lookups run a burst at a time in stages (prefetch every
/// primary bucket; scan signatures, prefetch candidate entries and the alternates needed; scan
/// alternates; compare keys).
///
/// Expiry is lazy on lookup plus a bounded sweep: `sweep()` examines at most `budget` entries per
/// call from a rotating cursor, so no call ever scans the table (see docs/architecture.md).
/// Expiry times are 32-bit ticks compared in serial arithmetic (conntrack/expiry.hpp).
/// Memory is fixed at creation (rte_zmalloc_socket on the worker's NUMA socket: hugepages when
/// the EAL has them): `capacity` entries and cold parts plus the buckets, 64 bytes per connection
/// (docs/architecture.md, "The connection table").

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rte_jhash.h>

#include "config/status.hpp"
#include "conntrack/expiry.hpp"
#include "conntrack/flow_key.hpp"
#include "conntrack/tcp_state.hpp"

namespace dirigo::ct {

/// Connection flags.
enum ConnFlag : uint8_t {
    kConnInactive = 1u << 0,  ///< counted in the server's InActConn (IPVS's IP_VS_CONN_F_INACTIVE)
    kConnHasReply = 1u << 1,  ///< the reply-direction key is in the index (NAT)
    /// The reply key is staged (insert_staged()): indexed by the next commit_staged().
    kConnReplyStaged = 1u << 2,
    /// The entry is live (set by the table only; a free entry's flags are 0).
    kConnInUse = 1u << 3,
};

/// Service slots a Conn can hold (Conn::svc_slot is 12 bits); dataplane static_asserts its
/// kMaxServices against it.
inline constexpr uint32_t kConnMaxSvcSlots = 1u << 12;
/// Server slots a Conn can hold (Conn::dest_slot is 16 bits); checked against kMaxDests.
inline constexpr uint32_t kConnMaxDestSlots = 1u << 16;

/// One tracked connection, the part a lookup and an established packet's forward read: 32 bytes,
/// two to a cache line. The rest (ConnCold) is in a parallel array, ConnTable::cold(). Owned by
/// one worker; stores its rewrite data, never a pointer into a snapshot, so it outlives rule
/// changes. The key compare (ConnTable::key_matches) reads the first 22 bytes as two words.
struct alignas(32) Conn {
    FlowKey client;  ///< client -> VIP:vport, as received
    union {
        uint32_t raddr = 0;  ///< real server, network order
        uint32_t next_free;  ///< free-list link while unused (the table's only)
    };
    uint16_t rport = 0;  ///< real server port, network order
    TcpState state = TcpState::None;
    uint8_t flags = 0;           ///< ConnFlag, kConnDest6 and the dataplane's
    Tick expire = 0;             ///< tick at which the entry dies (conntrack/expiry.hpp)
    uint16_t dest_slot = 0;      ///< the real server's global counter/stats slot
    uint16_t svc_slot : 12 = 0;  ///< the service's stats slot
    uint16_t fwd : 4 = 0;        ///< cfg::Fwd

    /// True while the entry holds a connection.
    bool in_use() const noexcept { return (flags & kConnInUse) != 0; }

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
static_assert(sizeof(Conn) == 32 && alignof(Conn) == 32, "two connection entries a cache line");
static_assert(offsetof(Conn, client) == 0 && offsetof(Conn, raddr) == 16 &&
                  offsetof(Conn, rport) == 20 && offsetof(Conn, expire) == 24,
              "key_matches() reads the key, raddr and rport as two words");

/// The rest of a connection: what only new connections, tunnels, the SYN proxy, connection sync
/// and removal read. 16 bytes, four to a cache line, at the same index as its Conn.
struct ConnCold {
    uint32_t tmpl = 0xffffffffu;  ///< persistence template index, or none
    /// Connection sync (master): client packets until the next periodic send; 0 or 1 sends on
    /// the next packet (docs/sync.md).
    uint32_t sync_countdown = 0;
    /// SYN proxy (dataplane/worker.cpp): while the server's SYN-ACK is awaited, the cookie sent to
    /// the client; then the sequence offset, server ISN - cookie.
    uint32_t synp_seq = 0;
    uint16_t tun_port = 0;  ///< tunnelling: GUE's UDP destination port, network order
    uint8_t encap = 0;  ///< tunnelling: dp::Encap, from the real server when the connection began
    uint8_t synced_state = 0xff;  ///< TcpState last sent to the backups (0xff: never sent)
};
static_assert(sizeof(ConnCold) == 16, "a connection's cold part is 16 bytes");

/// Conn::flags (besides ConnFlag's): the real server is IPv6, an IPv4 service's tunnel server of
/// the other family (IPv4-in-IPv6, as the kernel allows for tunnels only). `raddr` is then 0 and
/// the server's address is the per-slot IPv6 address of `dest_slot` (WorkerEnv::dest_addr6),
/// which control keeps as long as a connection refers to the slot.
inline constexpr uint8_t kConnDest6 = 1u << 5;

/// Result of a lookup: entry index and direction, or kMiss.
inline constexpr uint32_t kMiss = 0xffffffffu;
inline constexpr uint32_t kReplyBit = 1u;
inline uint32_t lookup_index(uint32_t r) { return r >> 1; }
inline bool lookup_is_reply(uint32_t r) { return (r & kReplyBit) != 0; }

/// One bucket of the index: one cache line, 10 slots. Slot i is live when bit i of `used` is set;
/// `sig[i]` is the top 16 bits of its key's hash, `slot[i]` is (entry index << 1 | reply bit),
/// with kSlotInAlt set when the key lives in its alternate bucket. `overflow` counts the keys
/// whose primary bucket this is and that live in their alternate (a lookup reads the alternate
/// only when it is non-zero). The 10 signatures come first, so two 16-byte loads cover them.
struct alignas(64) Bucket {
    static constexpr uint32_t kSlots = 10;
    uint16_t sig[kSlots];
    uint16_t used;      ///< bit i: slot i is live
    uint16_t overflow;  ///< keys with this primary that live in their alternate
    uint32_t slot[kSlots];
};
static_assert(sizeof(Bucket) == 64, "a bucket is one cache line");
static_assert(offsetof(Bucket, sig) == 0 && offsetof(Bucket, used) == 20 &&
              offsetof(Bucket, overflow) == 22 && offsetof(Bucket, slot) == 24);

/// Slot word bit: the key lives in its alternate bucket.
inline constexpr uint32_t kSlotInAlt = 1u << 31;

/// The live slots of `b` whose signature is `sig`, one bit per slot. Scalar version (the
/// reference; tests check the SIMD one against it). Thread: any. Cost: 10 compares.
inline uint32_t bucket_match_scalar(const Bucket& b, uint16_t sig) noexcept {
    uint32_t m = 0;
    for (uint32_t i = 0; i < Bucket::kSlots; ++i) {
        m |= static_cast<uint32_t>(b.sig[i] == sig) << i;
    }
    return m & b.used;
}

/// bucket_match_scalar() with SSE2 where available: two aligned 16-byte loads (signatures 0-7,
/// then 8-9 and the rest of the line, masked off by `used`), one compare each, one pack.
inline uint32_t bucket_match(const Bucket& b, uint16_t sig) noexcept {
#if defined(__SSE2__)
    const __m128i k = _mm_set1_epi16(static_cast<short>(sig));
    const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(&b));
    const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(&b) + 1);
    // Equal lanes are 0xffff and pack (signed saturation) to 0xff; one mask bit per lane.
    const __m128i eq = _mm_packs_epi16(_mm_cmpeq_epi16(lo, k), _mm_cmpeq_epi16(hi, k));
    return static_cast<uint32_t>(_mm_movemask_epi8(eq)) & b.used;
#else
    return bucket_match_scalar(b, sig);
#endif
}

class ConnTable {
public:
    /// Maximum keys per lookup_bulk call.
    static constexpr uint32_t kMaxBulk = 32;
    /// Largest capacity: an entry index and the direction bit fit the slot word's low 31 bits.
    static constexpr uint32_t kMaxCapacity = 1u << 30;
    /// The index is sized for at most this fill (percent) when every connection has both keys.
    static constexpr uint32_t kMaxLoadPct = 80;

    /// Creates a table for `capacity` connections on NUMA `socket`. `name` must be unique in the
    /// process (it names DPDK memory zones). Thread: control/startup. Cost: allocates all memory.
    static Result<std::unique_ptr<ConnTable>> create(const std::string& name, uint32_t capacity,
                                                     int socket);
    ~ConnTable();
    ConnTable(const ConnTable&) = delete;
    ConnTable& operator=(const ConnTable&) = delete;

    /// The table's hash of `key`: the worker computes it while it parses, for lookup_bulk() and
    /// insert(). Its low bits choose the bucket, its top 16 bits are the signature. Thread: any.
    /// Cost: one jhash of four words.
    static uint32_t hash(const FlowKey& key) noexcept {
        // The key is exactly four 32-bit words: jhash_32b is the cheapest full-avalanche hash.
        return rte_jhash_32b(reinterpret_cast<const uint32_t*>(&key), sizeof(FlowKey) / 4,
                             kHashInit);
    }

    /// Looks up `n` (<= kMaxBulk) keys; out[i] is kMiss or an encoded index (lookup_index(),
    /// lookup_is_reply()). Thread: owner. Cost: n hashes plus the staged probe below.
    void lookup_bulk(const FlowKey* const* keys, uint32_t n, uint32_t* out) noexcept;
    /// lookup_bulk() with each key's hash() already computed. Stages over the burst: prefetch
    /// every primary bucket; scan signatures, prefetch candidate entries and any alternate bucket
    /// needed; scan the alternates; compare keys against the entries. Cost: one bucket line and
    /// one entry line per hit (the misses overlapped across the burst), no allocation.
    void lookup_bulk(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n,
                     uint32_t* out) noexcept;
    /// Single-key lookup, same encoding.
    uint32_t lookup(const FlowKey& key) noexcept;
    /// lookup() with the key's hash() already computed.
    uint32_t lookup(const FlowKey& key, uint32_t hash) noexcept;

    /// Adds a connection; `with_reply` also indexes its reply key, which then names this
    /// connection only (an older connection with the same reply key loses it, and its
    /// kConnHasReply flag: the newest wins, as in IPVS). Returns the index or kMiss
    /// when the entries are all in use or the index cannot place a key (both of its buckets full
    /// and no resident movable). Thread: owner. Cost: bounded (at most 22 bucket reads per key),
    /// no allocation.
    uint32_t insert(const Conn& c, bool with_reply) noexcept;
    /// insert() with the client key's hash() already computed (the worker's, from parsing).
    uint32_t insert(const Conn& c, bool with_reply, uint32_t client_hash) noexcept;
    /// insert() with the connection's cold part `cold` (the others store ConnCold{}).
    uint32_t insert(const Conn& c, const ConnCold& cold, bool with_reply,
                    uint32_t client_hash) noexcept;
    /// Most reply keys staged between two commit_staged() calls: a burst's new connections.
    static constexpr uint32_t kMaxStaged = 64;
    /// insert() of a NAT connection in two steps, for a burst of new connections: the client key
    /// and the entry now, the reply key at the next commit_staged(), whose bucket this requests
    /// now so that the burst's reply-bucket misses overlap instead of stalling one insert each.
    /// Until then the entry has kConnReplyStaged (not kConnHasReply) and its reply key finds
    /// nothing; a lookup by the client key finds it at once. With kMaxStaged keys already staged
    /// it is insert(c, true, client_hash). Returns the index or kMiss as insert() does.
    /// Thread: owner. Cost: a hash, the client key's index_add, no allocation.
    uint32_t insert_staged(const Conn& c, uint32_t client_hash) noexcept;
    /// insert_staged() with the connection's cold part.
    uint32_t insert_staged(const Conn& c, const ConnCold& cold, uint32_t client_hash) noexcept;
    /// Reply keys staged and not yet committed.
    uint32_t staged() const noexcept { return n_staged_; }
    /// Indexes every staged reply key, in staging order (the newest wins, as in insert()), and
    /// writes to `refused` the staging ordinals (0 = the first insert_staged() since the last
    /// commit) of the keys neither bucket could place: those entries stay live, indexed by their
    /// client key only and without kConnHasReply; the caller removes them (staged_entry() names
    /// them until the next insert_staged()). Entries removed while staged are skipped. Returns how many were refused. Thread: owner. Cost: two passes
    /// over the staged keys, the second with their bucket lines already requested.
    uint32_t commit_staged(uint32_t* refused) noexcept;
    /// The entry of staging ordinal `i` until the next commit_staged() returns (kMiss once
    /// removed): what the caller removes for a refused ordinal.
    uint32_t staged_entry(uint32_t i) const noexcept { return staged_[i].idx; }
    /// Removes entry `idx` and its keys. Thread: owner. Cost: a hash and 1-2 bucket reads per key.
    void remove(uint32_t idx) noexcept;

    Conn& at(uint32_t idx) noexcept { return entries_[idx]; }
    const Conn& at(uint32_t idx) const noexcept { return entries_[idx]; }
    /// The cold part of entry `idx`. Thread: owner. Cost: O(1), a second cache line.
    ConnCold& cold(uint32_t idx) noexcept { return cold_[idx]; }
    const ConnCold& cold(uint32_t idx) const noexcept { return cold_[idx]; }
    /// The cold part of `c`, which must be one of this table's entries (at()), not a copy.
    ConnCold& cold(const Conn& c) noexcept { return cold_[&c - entries_]; }
    /// True when `c` is one of this table's entries (not a copy). Thread: any. Cost: 2 compares.
    bool owns(const Conn& c) const noexcept { return &c >= entries_ && &c < entries_ + capacity_; }
    uint32_t size() const { return used_; }
    uint32_t capacity() const { return capacity_; }
    /// Bytes of memory this table holds (entries, their cold parts and the buckets).
    uint64_t memory_bytes() const { return memory_bytes_; }
    /// Buckets in the index (a power of two).
    uint32_t bucket_count() const { return nbuckets_; }

    /// How full the index is: keys, keys living in their alternate bucket, buckets with a key
    /// away (a lookup there reads two buckets). Thread: owner. Cost: O(buckets), for reports.
    struct IndexStats {
        uint64_t keys = 0;
        uint64_t keys_away = 0;
        uint64_t buckets_overflowed = 0;
    };
    IndexStats index_stats() const noexcept;

    /// Test hook: the hash the table uses where the caller gives none (lookup(key), insert
    /// without a hash, remove). Tests force collisions with it; set before the first insert.
    void set_hash_for_test(uint32_t (*fn)(const FlowKey&)) noexcept { hash_fn_ = fn; }
    /// Test hook: checks the index against the entries (every live slot names a live entry whose
    /// key hashes to this bucket, or to the other one when marked so, with this signature; every
    /// bucket's `overflow` equals its keys living away; every live entry's keys are indexed
    /// exactly once). Returns the number of violations. Thread: owner. Cost: O(buckets +
    /// capacity), allocates.
    uint64_t audit_for_test() const;

    /// Visits at most `budget` entries from the rotating cursor and calls `on_expire(idx, conn)`
    /// for each live entry expired at TSC `now` (ct::expired), then removes it. Returns entries
    /// removed. Thread: owner. Cost: O(budget).
    template <class F>
    uint32_t sweep(uint64_t now, uint32_t budget, F&& on_expire) noexcept {
        uint32_t removed = 0;
        for (uint32_t i = 0; i < budget; ++i) {
            const uint32_t idx = cursor_;
            cursor_ = cursor_ + 1 == capacity_ ? 0 : cursor_ + 1;
            Conn& c = entries_[idx];
            if (c.in_use() && expired(c.expire, now)) {
                on_expire(idx, c);
                remove(idx);
                ++removed;
            }
        }
        return removed;
    }

    /// Makes room in a full table: examines `budget` entries from its own rotating cursor and
    /// removes, of the TCP connections among them that never reached ESTABLISHED (NONE, SYN_SENT,
    /// SYN_RECV, SYNACK) and the SCTP ones still waiting for an INIT ACK (NONE, INIT1, INIT), the
    /// one idle longest, calling `on_evict(conn)` first. Returns true if
    /// one was removed. Under a SYN flood the table fills with half-open entries: those go first,
    /// the stalest of each sample, so a legitimate client's handshake (a fresh entry) survives the
    /// flood's turnover; an established connection is never evicted. `timeout_tsc` is the
    /// snapshot's per-state timeouts: an entry's last packet was at expire - timeout[state]
    /// (to a tick), and its idle time is `now` less that, in serial arithmetic.
    /// Thread: owner. Cost: O(budget).
    template <class F>
    bool evict_half_open(uint32_t budget, uint64_t now, const uint64_t* timeout_tsc,
                         F&& on_evict) noexcept {
        uint32_t victim = kMiss;
        int64_t idlest = INT64_MIN;
        const Tick now_tick = tick_of(now);
        for (uint32_t i = 0; i < budget; ++i) {
            const uint32_t idx = evict_cursor_;
            evict_cursor_ = evict_cursor_ + 1 == capacity_ ? 0 : evict_cursor_ + 1;
            const Conn& c = entries_[idx];
            if (c.in_use() && (c.state == TcpState::None || c.state == TcpState::SynSent ||
                               c.state == TcpState::SynRecv || c.state == TcpState::SynAck ||
                               c.state == TcpState::SctpNone || c.state == TcpState::SctpInit1 ||
                               c.state == TcpState::SctpInit)) {
                const Tick last =
                    c.expire - timeout_ticks(timeout_tsc[static_cast<size_t>(c.state)]);
                const int64_t idle = tick_diff(now_tick, last);
                if (idle > idlest) {
                    idlest = idle;
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
    /// own rotating cursor and removes every TCP entry in SYN_RECV or SYNACK, every SCTP entry in
    /// INIT1 or INIT, and every UDP entry
    /// whose expire time is at or before TSC time `udp_idle_before` (no packet for a minute; 0:
    /// none), calling
    /// `on_drop(conn)` first. An ESTABLISHED (or closing) TCP connection is never removed.
    /// Returns entries removed. Thread: owner. Cost: O(budget).
    template <class F>
    uint32_t drop_entries(uint32_t budget, uint64_t udp_idle_before, F&& on_drop) noexcept {
        uint32_t removed = 0;
        // 0 names no time (a UDP timeout of a minute or less): no UDP entry qualifies.
        const bool udp_any = udp_idle_before != 0;
        const Tick udp_tick = tick_of(udp_idle_before);
        for (uint32_t i = 0; i < budget; ++i) {
            const uint32_t idx = drop_cursor_;
            drop_cursor_ = drop_cursor_ + 1 == capacity_ ? 0 : drop_cursor_ + 1;
            Conn& c = entries_[idx];
            if (!c.in_use()) {
                continue;
            }
            // SCTP as ip_vs_random_dropentry: associations still in INIT1 or INIT.
            const bool drop = c.state == TcpState::Udp
                                  ? udp_any && tick_at_or_before(c.expire, udp_tick)
                                  : c.state == TcpState::SynRecv || c.state == TcpState::SynAck ||
                                        c.state == TcpState::SctpInit1 ||
                                        c.state == TcpState::SctpInit;
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
            if (entries_[i].in_use()) {
                f(i, entries_[i]);
            }
        }
    }

private:
    static constexpr uint32_t kHashInit = 0x9e3779b9u;
    ConnTable() = default;

    uint32_t key_hash(const FlowKey& k) const noexcept {
        return hash_fn_ == nullptr ? hash(k) : hash_fn_(k);
    }
    /// A key's primary bucket: the hash mixed by an odd multiply (a bijection whose top bits
    /// depend on every bit, so they are not the signature's), then scaled into [0, nbuckets_)
    /// with one more multiply (Lemire's fast range): any bucket count, no division.
    uint32_t primary_of(uint32_t hash) const noexcept {
        return static_cast<uint32_t>((static_cast<uint64_t>(hash * 0x2545f491u) * nbuckets_) >>
                                     32);
    }
    /// The distance from a key's primary bucket to its alternate, 1..nbuckets_-1 (never 0, so
    /// the alternate is never the primary), from the signature alone: a slot moves between its
    /// two buckets without its key.
    uint32_t step_of(uint16_t sig) const noexcept {
        const uint32_t s = static_cast<uint32_t>(sig) * 0x9e3779b1u;
        return 1 + static_cast<uint32_t>((static_cast<uint64_t>(s) * (nbuckets_ - 1)) >> 32);
    }
    /// The alternate of primary bucket `b` for signature `sig`.
    uint32_t alt_of(uint32_t b, uint16_t sig) const noexcept {
        const uint32_t a = b + step_of(sig);
        return a >= nbuckets_ ? a - nbuckets_ : a;
    }
    /// The primary of alternate bucket `b` for signature `sig` (alt_of's inverse).
    uint32_t primary_from_alt(uint32_t b, uint16_t sig) const noexcept {
        const uint32_t s = step_of(sig);
        return b >= s ? b - s : b + nbuckets_ - s;
    }
    /// The slot of a key `key` (hash `hash`) in its primary or alternate, or kMiss; with
    /// `kReplyOnly`, client slots are passed over.
    template <bool kReplyOnly>
    uint32_t find(const FlowKey& key, uint32_t hash) const noexcept;
    /// True when entry slot word `v` (no kSlotInAlt) names an entry whose key is `key`.
    /// Inline: called once per key of every lookup; out of line it cost a call per key.
    bool key_matches(const FlowKey& key, uint32_t v) const noexcept {
        const Conn& e = entries_[v >> 1];
        // As two 64-bit words: addresses, then ports, protocol and the zero pad.
        static_assert(std::endian::native == std::endian::little, "the word layout below");
        uint64_t k[2];
        std::memcpy(k, &key, sizeof(k));
        uint64_t c[2];
        std::memcpy(c, &e.client, sizeof(c));
        // The reply key (reply_key()) built in registers: RIP -> client, rport -> client port.
        const uint64_t r0 = e.raddr | static_cast<uint64_t>(e.client.saddr) << 32;
        const uint64_t r1 = e.rport | static_cast<uint64_t>(e.client.sport) << 16 |
                            static_cast<uint64_t>(e.client.proto) << 32;
        // Selected without a branch: the direction of a burst's keys is a coin toss.
        const uint64_t reply = 0 - static_cast<uint64_t>(v & kReplyBit);
        const uint64_t w0 = (c[0] & ~reply) | (r0 & reply);
        const uint64_t w1 = (c[1] & ~reply) | (r1 & reply);
        return ((k[0] ^ w0) | (k[1] ^ w1)) == 0;
    }
    /// Index one key; false when neither bucket nor a one-step move has room.
    bool index_add(uint32_t hash, uint32_t value) noexcept;
    /// Unindex the key with `hash` and slot word `value` (no kSlotInAlt).
    void index_del(uint32_t hash, uint32_t value) noexcept;
    /// Places `value` in a free slot of bucket `b` (which has one).
    static void put(Bucket& b, uint16_t sig, uint32_t value) noexcept;
    /// Takes a free entry for `c` (flags as given) and returns its index; free_head_ must be valid.
    uint32_t take_entry(const Conn& c, const ConnCold& cold, uint8_t flags) noexcept;
    /// Indexes reply key `key` (hash `reply_hash`) for entry `idx`, taking it from an older
    /// connection that has it (which loses kConnHasReply). False, changing nothing, when no slot
    /// is free.
    bool index_reply(const FlowKey& key, uint32_t idx, uint32_t reply_hash) noexcept;
    /// The reply slot whose key is `key`, or kMiss; client slots are passed over.
    uint32_t find_reply(const FlowKey& key, uint32_t hash) const noexcept;

    /// A reply key waiting for commit_staged(): its entry (kMiss once removed) and hash.
    struct Staged {
        uint32_t idx;
        uint32_t hash;
    };

    Bucket* buckets_ = nullptr;
    Conn* entries_ = nullptr;
    ConnCold* cold_ = nullptr;  ///< parallel to entries_
    uint32_t nbuckets_ = 0;  ///< at least 2
    uint32_t (*hash_fn_)(const FlowKey&) = nullptr;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;
    uint32_t free_head_ = 0;
    uint32_t cursor_ = 0;
    uint32_t evict_cursor_ = 0;
    uint32_t drop_cursor_ = 0;
    uint64_t memory_bytes_ = 0;
    uint32_t n_staged_ = 0;
    Staged staged_[kMaxStaged];
};

}  // namespace dirigo::ct
