// SPDX-License-Identifier: BSD-3-Clause
#include "conntrack/conn_table.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

namespace dirigo::ct {
namespace {

constexpr uint16_t kFull = (1u << Bucket::kSlots) - 1;

}  // namespace

Result<std::unique_ptr<ConnTable>> ConnTable::create(const std::string& name, uint32_t capacity,
                                                     int socket) {
    if (capacity == 0 || capacity > kMaxCapacity) {
        return Status(Errc::Invalid, "connection table capacity out of range");
    }
    std::unique_ptr<ConnTable> t(new ConnTable());
    t->capacity_ = capacity;

    // Two keys per connection at most (client side and, for NAT, real-server side), at no more
    // than kMaxLoadPct of the slots. Any count: primary_of() scales by a multiply, so the index
    // is not rounded up to a power of two (which cost up to twice the bytes).
    const uint64_t keys = 2 * static_cast<uint64_t>(capacity);
    const uint64_t want =
        (keys * 100 + Bucket::kSlots * kMaxLoadPct - 1) / (Bucket::kSlots * kMaxLoadPct);
    const uint64_t nb = want < 2 ? 2 : want;
    t->nbuckets_ = static_cast<uint32_t>(nb);
    const size_t bucket_bytes = sizeof(Bucket) * nb;
    t->buckets_ = static_cast<Bucket*>(
        rte_zmalloc_socket((name + "_idx").c_str(), bucket_bytes, RTE_CACHE_LINE_SIZE, socket));
    if (t->buckets_ == nullptr) {
        return Status(Errc::Resource, "cannot allocate " + std::to_string(bucket_bytes) +
                                          " bytes for the index of connection table " + name);
    }
    const size_t bytes = sizeof(Conn) * static_cast<size_t>(capacity);
    t->entries_ =
        static_cast<Conn*>(rte_zmalloc_socket(name.c_str(), bytes, RTE_CACHE_LINE_SIZE, socket));
    if (t->entries_ == nullptr) {
        return Status(Errc::Resource, "cannot allocate " + std::to_string(bytes) +
                                          " bytes for connection table " + name);
    }
    const size_t cold_bytes = sizeof(ConnCold) * static_cast<size_t>(capacity);
    t->cold_ = static_cast<ConnCold*>(
        rte_zmalloc_socket((name + "_cold").c_str(), cold_bytes, RTE_CACHE_LINE_SIZE, socket));
    if (t->cold_ == nullptr) {
        return Status(Errc::Resource, "cannot allocate " + std::to_string(cold_bytes) +
                                          " bytes for connection table " + name);
    }
    for (uint32_t i = 0; i < capacity; ++i) {
        new (&t->entries_[i]) Conn();
        t->entries_[i].next_free = i + 1;
        new (&t->cold_[i]) ConnCold();
    }
    t->free_head_ = 0;
    t->memory_bytes_ = bytes + cold_bytes + bucket_bytes;
    return t;
}

ConnTable::~ConnTable() {
    rte_free(buckets_);
    rte_free(entries_);
    rte_free(cold_);
}

void ConnTable::put(Bucket& b, uint16_t sig, uint32_t value) noexcept {
    const uint32_t i = static_cast<uint32_t>(std::countr_zero(static_cast<uint32_t>(~b.used)));
    b.sig[i] = sig;
    b.slot[i] = value;
    b.used = static_cast<uint16_t>(b.used | (1u << i));
}

bool ConnTable::index_add(uint32_t hash, uint32_t value) noexcept {
    const uint16_t sig = static_cast<uint16_t>(hash >> 16);
    const uint32_t b1 = primary_of(hash);
    Bucket& prim = buckets_[b1];
    if (prim.used != kFull) {
        put(prim, sig, value);
        return true;
    }
    if (prim.overflow == UINT16_MAX) [[unlikely]] {
        return false;  // 65535 keys of this bucket already live elsewhere: a hash flood
    }
    const uint32_t b2 = alt_of(b1, sig);
    Bucket& alt = buckets_[b2];
    if (alt.used != kFull) {
        put(alt, sig, value | kSlotInAlt);
        ++prim.overflow;
        return true;
    }
    // Both full: move one resident of either bucket to its other bucket, if that has room, and
    // take its slot. One step only, so the cost is bounded (20 more bucket reads at most).
    for (uint32_t which = 0; which < 2; ++which) {
        const uint32_t bi = which == 0 ? b1 : b2;
        Bucket& b = buckets_[bi];
        for (uint32_t i = 0; i < Bucket::kSlots; ++i) {
            const uint32_t oi = (b.slot[i] & kSlotInAlt) != 0 ? primary_from_alt(bi, b.sig[i])
                                                              : alt_of(bi, b.sig[i]);
            Bucket& o = buckets_[oi];
            if (o.used == kFull) {
                continue;
            }
            const uint32_t v = b.slot[i];
            if ((v & kSlotInAlt) != 0) {
                // Back to its primary `oi`, which counts one key fewer living away.
                put(o, b.sig[i], v & ~kSlotInAlt);
                --o.overflow;
            } else {
                if (b.overflow == UINT16_MAX) [[unlikely]] {
                    continue;
                }
                put(o, b.sig[i], v | kSlotInAlt);
                ++b.overflow;
            }
            b.sig[i] = sig;
            b.slot[i] = which == 0 ? value : value | kSlotInAlt;
            if (which == 1) {
                ++prim.overflow;
            }
            return true;
        }
    }
    return false;
}

void ConnTable::index_del(uint32_t hash, uint32_t value) noexcept {
    const uint16_t sig = static_cast<uint16_t>(hash >> 16);
    const uint32_t b1 = primary_of(hash);
    Bucket& prim = buckets_[b1];
    // Slot words are unique (entry index and direction): no key compare needed.
    for (uint32_t m = bucket_match(prim, sig); m != 0; m &= m - 1) {
        const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
        if ((prim.slot[i] & ~kSlotInAlt) == value) {
            prim.used = static_cast<uint16_t>(prim.used & ~(1u << i));
            return;
        }
    }
    Bucket& alt = buckets_[alt_of(b1, sig)];
    for (uint32_t m = bucket_match(alt, sig); m != 0; m &= m - 1) {
        const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
        if ((alt.slot[i] & ~kSlotInAlt) == value) {
            alt.used = static_cast<uint16_t>(alt.used & ~(1u << i));
            --prim.overflow;
            return;
        }
    }
}

void ConnTable::lookup_bulk(const FlowKey* const* keys, uint32_t n, uint32_t* out) noexcept {
    uint32_t hashes[kMaxBulk];
    for (uint32_t i = 0; i < n; ++i) {
        hashes[i] = key_hash(*keys[i]);
    }
    lookup_bulk(keys, hashes, n, out);
}

void ConnTable::lookup_bulk(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n,
                            uint32_t* out) noexcept {
    // Locals: stores through `out` could alias the members, which would reload them per key.
    const Bucket* const bk = buckets_;
    const Conn* const en = entries_;
    uint32_t first[kMaxBulk];  // the first candidate's slot word (no kSlotInAlt), or kMiss
    uint32_t rest[kMaxBulk];   // the primary's other candidates (rare)
    uint32_t alt_idx[kMaxBulk];
    uint32_t need_slow = 0;  // bit i: key i has more candidates or an alternate to read
    // Stage 1: every primary bucket's line is requested before any is read.
    uint32_t prim[kMaxBulk];
    for (uint32_t i = 0; i < n; ++i) {
        prim[i] = primary_of(hashes[i]);
        rte_prefetch0(&bk[prim[i]]);
    }
    // Stage 2: signatures of the primaries; request the first candidate's entry, and the
    // alternate bucket where some key of this primary lives away (rare below the design load).
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t b1 = prim[i];
        const uint16_t sig = static_cast<uint16_t>(hashes[i] >> 16);
        const Bucket& b = bk[b1];
        const uint32_t m = bucket_match(b, sig);
        uint32_t v = kMiss;
        if (m != 0) {
            v = b.slot[std::countr_zero(m)] & ~kSlotInAlt;
            rte_prefetch0(&en[v >> 1]);
        }
        first[i] = v;
        rest[i] = m & (m - 1);
        // Branch-free: near the design load about a third of the buckets have a key away, an
        // unpredictable branch; re-prefetching the primary line instead costs nothing.
        const uint32_t b2 = alt_of(b1, sig);
        alt_idx[i] = b.overflow != 0 ? b2 : kMiss;
        rte_prefetch0(&bk[b.overflow != 0 ? b2 : b1]);
        need_slow |= static_cast<uint32_t>((rest[i] | b.overflow) != 0) << i;
    }
    // Stage 3: the key against the first candidate's entry (client key or derived reply key).
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t v = first[i];
        out[i] = v != kMiss && key_matches(*keys[i], v) ? v : kMiss;
    }
    // Stage 4, rare: other candidates of the primary, then the alternate.
    for (uint32_t s = need_slow; s != 0; s &= s - 1) {
        const uint32_t i = static_cast<uint32_t>(std::countr_zero(s));
        if (out[i] != kMiss) {
            continue;
        }
        const Bucket& b = bk[prim[i]];
        for (uint32_t c = rest[i]; c != 0; c &= c - 1) {
            const uint32_t v = b.slot[std::countr_zero(c)] & ~kSlotInAlt;
            if (key_matches(*keys[i], v)) {
                out[i] = v;
                break;
            }
        }
        if (out[i] != kMiss || alt_idx[i] == kMiss) {
            continue;
        }
        const Bucket& a = bk[alt_idx[i]];
        for (uint32_t c = bucket_match(a, static_cast<uint16_t>(hashes[i] >> 16)); c != 0;
             c &= c - 1) {
            const uint32_t v = a.slot[std::countr_zero(c)] & ~kSlotInAlt;
            if (key_matches(*keys[i], v)) {
                out[i] = v;
                break;
            }
        }
    }
}

template <bool kReplyOnly>
uint32_t ConnTable::find(const FlowKey& key, uint32_t hash) const noexcept {
    const uint32_t b1 = primary_of(hash);
    const uint16_t sig = static_cast<uint16_t>(hash >> 16);
    const Bucket& b = buckets_[b1];
    for (uint32_t c = bucket_match(b, sig); c != 0; c &= c - 1) {
        const uint32_t v = b.slot[std::countr_zero(c)] & ~kSlotInAlt;
        if ((!kReplyOnly || lookup_is_reply(v)) && key_matches(key, v)) {
            return v;
        }
    }
    if (b.overflow == 0) {
        return kMiss;
    }
    const Bucket& a = buckets_[alt_of(b1, sig)];
    for (uint32_t c = bucket_match(a, sig); c != 0; c &= c - 1) {
        const uint32_t v = a.slot[std::countr_zero(c)] & ~kSlotInAlt;
        if ((!kReplyOnly || lookup_is_reply(v)) && key_matches(key, v)) {
            return v;
        }
    }
    return kMiss;
}

uint32_t ConnTable::lookup(const FlowKey& key, uint32_t hash) noexcept {
    return find<false>(key, hash);
}

uint32_t ConnTable::lookup(const FlowKey& key) noexcept {
    return lookup(key, key_hash(key));
}

uint32_t ConnTable::insert(const Conn& c, bool with_reply) noexcept {
    return insert(c, ConnCold{}, with_reply, key_hash(c.client));
}

uint32_t ConnTable::insert(const Conn& c, bool with_reply, uint32_t client_hash) noexcept {
    return insert(c, ConnCold{}, with_reply, client_hash);
}

uint32_t ConnTable::insert(const Conn& c, const ConnCold& cold, bool with_reply,
                           uint32_t client_hash) noexcept {
    if (free_head_ >= capacity_) {
        return kMiss;
    }
    const uint32_t idx = free_head_;
    // Every line this insert writes is requested first, so their misses overlap: the reply
    // key's bucket (the client key's was just read by the lookup that missed) and the entry.
    const uint32_t reply_hash = with_reply ? key_hash(c.reply_key()) : 0;
    rte_prefetch0(&buckets_[primary_of(client_hash)]);
    if (with_reply) {
        rte_prefetch0(&buckets_[primary_of(reply_hash)]);
    }
    rte_prefetch0(&entries_[idx]);
    rte_prefetch0(&cold_[idx]);
    if (!index_add(client_hash, idx << 1)) {
        return kMiss;
    }
    if (with_reply && !index_reply(c.reply_key(), idx, reply_hash)) {
        index_del(client_hash, idx << 1);
        return kMiss;
    }
    return take_entry(c, cold, with_reply ? kConnHasReply : 0);
}

uint32_t ConnTable::insert_staged(const Conn& c, uint32_t client_hash) noexcept {
    return insert_staged(c, ConnCold{}, client_hash);
}

uint32_t ConnTable::insert_staged(const Conn& c, const ConnCold& cold,
                                  uint32_t client_hash) noexcept {
    if (n_staged_ == kMaxStaged) [[unlikely]] {
        return insert(c, cold, true, client_hash);
    }
    if (free_head_ >= capacity_) {
        return kMiss;
    }
    const uint32_t idx = free_head_;
    const uint32_t reply_hash = key_hash(c.reply_key());
    rte_prefetch0(&buckets_[primary_of(reply_hash)]);
    rte_prefetch0(&entries_[idx]);
    rte_prefetch0(&cold_[idx]);
    if (!index_add(client_hash, idx << 1)) {
        return kMiss;
    }
    staged_[n_staged_++] = {idx, reply_hash};
    return take_entry(c, cold, kConnReplyStaged);
}

uint32_t ConnTable::commit_staged(uint32_t* refused) noexcept {
    const uint32_t n = n_staged_;
    // Pass 1: the primaries were requested at staging; request the alternates they point to.
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t h = staged_[i].hash;
        const uint32_t b1 = primary_of(h);
        if (buckets_[b1].overflow != 0) {
            rte_prefetch0(&buckets_[alt_of(b1, static_cast<uint16_t>(h >> 16))]);
        }
    }
    // Pass 2: index them in staging order, so that of two staged keys alike the later wins.
    uint32_t n_refused = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t idx = staged_[i].idx;
        if (idx == kMiss) {
            continue;  // removed while staged
        }
        Conn& e = entries_[idx];
        e.flags = static_cast<uint8_t>(e.flags & ~kConnReplyStaged);
        if (index_reply(e.reply_key(), idx, staged_[i].hash)) {
            e.flags = static_cast<uint8_t>(e.flags | kConnHasReply);
        } else {
            refused[n_refused++] = i;
        }
    }
    n_staged_ = 0;  // staged_ keeps the entries for staged_entry() until the next staging
    return n_refused;
}

bool ConnTable::index_reply(const FlowKey& key, uint32_t idx, uint32_t reply_hash) noexcept {
    // A reply key names one connection, the newest, as IPVS's out lookup finds the newest entry
    // first: two NAT connections from one client port to two virtual ports of the same real
    // server share the reply key (the server cannot tell them apart either), and the server's
    // SYN-ACK answers the SYN just sent, never the older connection (often in TIME_WAIT).
    const uint32_t prev = find_reply(key, reply_hash);
    if (!index_add(reply_hash, idx << 1 | kReplyBit)) {
        return false;
    }
    if (prev != kMiss) [[unlikely]] {
        // Placed before the old one is dropped: a refused insert changes nothing.
        index_del(reply_hash, prev);
        Conn& old = entries_[lookup_index(prev)];
        old.flags = static_cast<uint8_t>(old.flags & ~kConnHasReply);
    }
    return true;
}

uint32_t ConnTable::find_reply(const FlowKey& key, uint32_t hash) const noexcept {
    // Reply slots only: a client key alike (a server that is also some service's client) is
    // another connection's, and must not hide the reply slot behind it.
    return find<true>(key, hash);
}

uint32_t ConnTable::take_entry(const Conn& c, const ConnCold& cold, uint8_t flags) noexcept {
    const uint32_t idx = free_head_;
    Conn& e = entries_[idx];
    const uint32_t next = e.next_free;  // read before `c` overwrites it (raddr)
    e = c;
    e.flags = static_cast<uint8_t>((c.flags & ~(kConnHasReply | kConnReplyStaged | kConnInUse)) |
                                   flags | kConnInUse);
    cold_[idx] = cold;
    free_head_ = next;
    ++used_;
    return idx;
}

void ConnTable::remove(uint32_t idx) noexcept {
    Conn& e = entries_[idx];
    if (!e.in_use()) {
        return;
    }
    // Both buckets requested before either is read, so their misses overlap.
    const bool reply = (e.flags & kConnHasReply) != 0;
    const uint32_t ch = key_hash(e.client);
    const uint32_t rh = reply ? key_hash(e.reply_key()) : 0;
    rte_prefetch0(&buckets_[primary_of(ch)]);
    if (reply) {
        rte_prefetch0(&buckets_[primary_of(rh)]);
    }
    index_del(ch, idx << 1);
    if (reply) {
        index_del(rh, idx << 1 | kReplyBit);
    }
    if ((e.flags & kConnReplyStaged) != 0) [[unlikely]] {
        // Removed in the burst that made it: its reply key must not be indexed for a reuse.
        for (uint32_t i = 0; i < n_staged_; ++i) {
            if (staged_[i].idx == idx) {
                staged_[i].idx = kMiss;
            }
        }
    }
    e.flags = 0;  // and so not in use
    e.next_free = free_head_;
    free_head_ = idx;
    --used_;
}

ConnTable::IndexStats ConnTable::index_stats() const noexcept {
    IndexStats st;
    for (uint32_t bi = 0; bi < nbuckets_; ++bi) {
        const Bucket& b = buckets_[bi];
        st.keys += static_cast<uint64_t>(std::popcount(static_cast<uint32_t>(b.used)));
        st.keys_away += b.overflow;
        st.buckets_overflowed += b.overflow != 0 ? 1 : 0;
    }
    return st;
}

uint64_t ConnTable::audit_for_test() const {
    uint64_t bad = 0;
    std::vector<uint32_t> away(nbuckets_, 0);
    std::vector<uint8_t> seen(static_cast<size_t>(capacity_) * 2, 0);
    for (uint32_t bi = 0; bi < nbuckets_; ++bi) {
        const Bucket& b = buckets_[bi];
        for (uint32_t i = 0; i < Bucket::kSlots; ++i) {
            if ((b.used & (1u << i)) == 0) {
                continue;
            }
            const uint32_t v = b.slot[i] & ~kSlotInAlt;
            if ((v >> 1) >= capacity_ || !entries_[v >> 1].in_use()) {
                ++bad;
                continue;
            }
            const Conn& e = entries_[v >> 1];
            if ((v & kReplyBit) != 0 && (e.flags & kConnHasReply) == 0) {
                ++bad;
            }
            const uint32_t h = key_hash((v & kReplyBit) != 0 ? e.reply_key() : e.client);
            const bool in_alt = (b.slot[i] & kSlotInAlt) != 0;
            const uint32_t prim = in_alt ? primary_from_alt(bi, b.sig[i]) : bi;
            bad += primary_of(h) != prim || static_cast<uint16_t>(h >> 16) != b.sig[i];
            if (in_alt) {
                ++away[prim];
            }
            bad += seen[v]++ != 0;
        }
    }
    for (uint32_t bi = 0; bi < nbuckets_; ++bi) {
        bad += away[bi] != buckets_[bi].overflow;
    }
    for (uint32_t i = 0; i < capacity_; ++i) {
        if (entries_[i].in_use()) {
            bad += seen[2 * i] != 1;
            bad += (entries_[i].flags & kConnHasReply) != 0 && seen[2 * i + 1] != 1;
        }
    }
    return bad;
}

}  // namespace dirigo::ct
