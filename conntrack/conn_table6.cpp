// SPDX-License-Identifier: BSD-3-Clause
#include "conntrack/conn_table6.hpp"

#include <algorithm>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

namespace dirigo::ct {

namespace {

/// The slot an rte_hash entry stores for a key: the entry index and the direction bit.
void* slot_data(uint32_t idx, bool reply) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>((idx << 1) | (reply ? kReplyBit : 0)));
}

}  // namespace

Result<std::unique_ptr<ConnTable6>> ConnTable6::create(const std::string& name, uint32_t capacity,
                                                       int socket) {
    if (capacity < 8 || capacity > kMaxCapacity) {
        return Status(Errc::Invalid, "IPv6 connection table size " + std::to_string(capacity) +
                                         " is out of range 8.." + std::to_string(kMaxCapacity));
    }
    std::unique_ptr<ConnTable6> t(new ConnTable6());
    t->capacity_ = capacity;
    t->entries_ = static_cast<Conn6*>(
        rte_zmalloc_socket(name.c_str(), sizeof(Conn6) * capacity, alignof(Conn6), socket));
    if (t->entries_ == nullptr) {
        return Status(Errc::Resource, "cannot allocate the IPv6 connection table " + name);
    }
    for (uint32_t i = 0; i < capacity; ++i) {
        t->entries_[i].next_free = i + 1;
    }
    rte_hash_parameters p{};
    p.name = name.c_str();
    // Two keys per connection (client and reply), with room for the cuckoo hash to place them.
    p.entries = capacity * 2 + capacity / 2;
    p.key_len = sizeof(FlowKey6);
    p.hash_func = rte_jhash;
    p.hash_func_init_val = 0x6d5a6d5a;
    p.socket_id = socket;
    p.extra_flag = 0;  // one writer, no concurrent readers: the owning worker only
    t->hash_ = rte_hash_create(&p);
    if (t->hash_ == nullptr) {
        return Status(Errc::Resource, "cannot create the IPv6 connection hash " + name + ": " +
                                          std::string(rte_strerror(rte_errno)));
    }
    return t;
}

ConnTable6::~ConnTable6() {
    rte_hash_free(hash_);
    rte_free(entries_);
}

uint32_t ConnTable6::lookup(const FlowKey6& key) const noexcept {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) {
        return kMiss;
    }
    return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
}

void ConnTable6::lookup_bulk(const FlowKey6* keys, uint32_t n, uint32_t* out) const noexcept {
    static_assert(kMaxBulk <= RTE_HASH_LOOKUP_BULK_MAX);
    const void* key_at[kMaxBulk];
    void* data[kMaxBulk];
    uint64_t hits = 0;
    for (uint32_t i = 0; i < n; ++i) {
        key_at[i] = &keys[i];
    }
    if (n == 0 || n > kMaxBulk ||
        rte_hash_lookup_bulk_data(hash_, key_at, n, &hits, data) < 0) [[unlikely]] {
        std::fill(out, out + n, kMiss);
        return;
    }
    for (uint32_t i = 0; i < n; ++i) {
        if ((hits >> i & 1u) == 0) {
            out[i] = kMiss;
            continue;
        }
        out[i] = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]));
        const Conn6* e = &entries_[lookup_index(out[i])];
        rte_prefetch0(e);
        rte_prefetch0(reinterpret_cast<const uint8_t*>(e) + 64);
    }
}

uint32_t ConnTable6::insert(const Conn6& c, bool with_reply) noexcept {
    ++changes_;
    if (used_ == capacity_) {
        return kMiss;
    }
    const uint32_t idx = free_head_;
    if (rte_hash_add_key_data(hash_, &c.client, slot_data(idx, false)) < 0) {
        return kMiss;
    }
    Conn6& e = entries_[idx];
    free_head_ = e.next_free;
    e = c;
    e.in_use = 1;
    e.flags = static_cast<uint8_t>(e.flags & ~(kConnHasReply | kConnReplyStaged));
    ++used_;
    if (with_reply) {
        const FlowKey6 rk = c.reply_key();
        void* old = nullptr;
        if (rte_hash_lookup_data(hash_, &rk, &old) >= 0) {
            // The newest connection wins the reply key; the older one keeps its client key.
            const uint32_t o = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(old)) >> 1;
            entries_[o].flags = static_cast<uint8_t>(entries_[o].flags & ~kConnHasReply);
        }
        if (rte_hash_add_key_data(hash_, &rk, slot_data(idx, true)) < 0) {
            remove(idx);
            return kMiss;
        }
        e.flags |= kConnHasReply;
    }
    return idx;
}

void ConnTable6::remove(uint32_t idx) noexcept {
    ++changes_;
    Conn6& e = entries_[idx];
    if (!e.in_use) {
        return;
    }
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &e.client, &data) >= 0 &&
        static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data)) == (idx << 1)) {
        rte_hash_del_key(hash_, &e.client);
    }
    if ((e.flags & kConnHasReply) != 0) {
        const FlowKey6 rk = e.reply_key();
        if (rte_hash_lookup_data(hash_, &rk, &data) >= 0 &&
            static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data)) == ((idx << 1) | kReplyBit)) {
            rte_hash_del_key(hash_, &rk);
        }
    }
    e.in_use = 0;
    e.flags = 0;
    e.next_free = free_head_;
    free_head_ = idx;
    --used_;
}

}  // namespace dirigo::ct
