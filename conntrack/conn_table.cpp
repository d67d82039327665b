// SPDX-License-Identifier: BSD-3-Clause
#include "conntrack/conn_table.hpp"

#include <cstdint>
#include <new>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

namespace dirigo::ct {
namespace {

uint32_t hash_key(const void* key, uint32_t /*len*/, uint32_t /*init*/) {
    return ConnTable::hash(*static_cast<const FlowKey*>(key));
}

void* encode(uint32_t idx, bool reply) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>((idx << 1) | (reply ? 1u : 0u)));
}

}  // namespace

Result<std::unique_ptr<ConnTable>> ConnTable::create(const std::string& name, uint32_t capacity,
                                                      int socket) {
    if (capacity == 0 || capacity > (1u << 30)) {
        return Status(Errc::Invalid, "connection table capacity out of range");
    }
    std::unique_ptr<ConnTable> t(new ConnTable());
    t->capacity_ = capacity;

    // Two keys per connection (client side and, for NAT, real-server side); cuckoo hashing needs
    // headroom, so the hash gets 2 x capacity slots plus rte_hash's own extra bucket margin.
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = capacity * 2;
    p.key_len = sizeof(FlowKey);
    p.hash_func = hash_key;
    p.hash_func_init_val = kHashInit;
    p.socket_id = socket;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    t->hash_ = rte_hash_create(&p);
    if (t->hash_ == nullptr) {
        return Status(Errc::Resource, "cannot create connection hash " + name + ": " +
                                          rte_strerror(rte_errno));
    }
    const size_t bytes = sizeof(Conn) * static_cast<size_t>(capacity);
    t->entries_ = static_cast<Conn*>(rte_zmalloc_socket(name.c_str(), bytes, 64, socket));
    if (t->entries_ == nullptr) {
        return Status(Errc::Resource, "cannot allocate " + std::to_string(bytes) +
                                          " bytes for connection table " + name);
    }
    for (uint32_t i = 0; i < capacity; ++i) {
        new (&t->entries_[i]) Conn();
        t->entries_[i].next_free = i + 1;
    }
    t->free_head_ = 0;
    // Entries plus what rte_hash 22.11 allocates for these parameters: the key store (a data
    // pointer and the 16-byte key per slot, padded to 32 bytes), the primary buckets (8 slots of
    // a power-of-two slot count per 64-byte bucket), as many extendable buckets (reserved, touched
    // only on overflow), and the free-slot rings (4 bytes per slot, power of two).
    const uint64_t slots = static_cast<uint64_t>(p.entries) + 1;
    const uint64_t pow2 = rte_align64pow2(slots);
    const uint64_t key_store = slots * 32;
    const uint64_t buckets = (pow2 / 8) * 64 * 2;
    const uint64_t free_rings = pow2 * 4 * 2;
    t->memory_bytes_ = bytes + key_store + buckets + free_rings;
    return t;
}

ConnTable::~ConnTable() {
    if (hash_ != nullptr) {
        rte_hash_free(hash_);
    }
    if (entries_ != nullptr) {
        rte_free(entries_);
    }
}

void ConnTable::lookup_bulk(const FlowKey* const* keys, uint32_t n, uint32_t* out) noexcept {
    void* data[kMaxBulk];
    uint64_t hits = 0;
    const void* kp[kMaxBulk];
    for (uint32_t i = 0; i < n; ++i) {
        kp[i] = keys[i];
    }
    rte_hash_lookup_bulk_data(hash_, kp, n, &hits, data);
    for (uint32_t i = 0; i < n; ++i) {
        out[i] = (hits >> i) & 1u ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]))
                                  : kMiss;
    }
}

void ConnTable::lookup_bulk(const FlowKey* const* keys, const uint32_t* hashes, uint32_t n,
                            uint32_t* out) noexcept {
    void* data[kMaxBulk];
    const void* kp[kMaxBulk];
    for (uint32_t i = 0; i < n; ++i) {
        kp[i] = keys[i];
    }
    uint64_t hits = 0;
    // rte_hash takes the hashes as non-const but only reads them.
    (void)rte_hash_lookup_with_hash_bulk_data(hash_, kp, const_cast<uint32_t*>(hashes), n, &hits,
                                              data);
    for (uint32_t i = 0; i < n; ++i) {
        out[i] = (hits >> i) & 1u ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]))
                                  : kMiss;
    }
}

uint32_t ConnTable::lookup(const FlowKey& key, uint32_t hash) noexcept {
    void* data = nullptr;
    if (rte_hash_lookup_with_hash_data(hash_, &key, hash, &data) < 0) {
        return kMiss;
    }
    return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
}

uint32_t ConnTable::lookup(const FlowKey& key) noexcept {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) {
        return kMiss;
    }
    return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
}

uint32_t ConnTable::insert(const Conn& c, bool with_reply) noexcept {
    if (free_head_ >= capacity_) {
        return kMiss;
    }
    const uint32_t idx = free_head_;
    Conn& e = entries_[idx];
    const uint32_t next = e.next_free;
    if (rte_hash_add_key_data(hash_, &c.client, encode(idx, false)) < 0) {
        return kMiss;
    }
    if (with_reply) {
        const FlowKey rk = c.reply_key();
        if (rte_hash_add_key_data(hash_, &rk, encode(idx, true)) < 0) {
            rte_hash_del_key(hash_, &c.client);
            return kMiss;
        }
    }
    e = c;
    e.in_use = 1;
    if (with_reply) {
        e.flags |= kConnHasReply;
    }
    free_head_ = next;
    ++used_;
    return idx;
}

void ConnTable::remove(uint32_t idx) noexcept {
    Conn& e = entries_[idx];
    if (!e.in_use) {
        return;
    }
    rte_hash_del_key(hash_, &e.client);
    if (e.flags & kConnHasReply) {
        const FlowKey rk = e.reply_key();
        rte_hash_del_key(hash_, &rk);
    }
    e.in_use = 0;
    e.flags = 0;
    e.next_free = free_head_;
    free_head_ = idx;
    --used_;
}

}  // namespace dirigo::ct
