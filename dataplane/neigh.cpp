// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/neigh.hpp"

#include <cstring>
#include <vector>

#include <rte_common.h>

namespace dirigo::dp {

NeighTable::NeighTable(uint32_t capacity) {
    capacity_ = rte_align32pow2(capacity < 16 ? 16 : capacity);
    entries_ = std::make_unique<Entry[]>(2 * static_cast<size_t>(capacity_));
    mask_ = 2 * capacity_ - 1;
}

uint32_t NeighTable::find(uint32_t ip) const {
    uint32_t i = slot_of(ip);
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
        const uint32_t e = entries_[i].ip.load(std::memory_order_relaxed);
        if (e == ip) {
            return i;
        }
        if (e == kEmpty) {
            return kNotFound;
        }
    }
    return kNotFound;
}

bool NeighTable::update(uint32_t ip, uint16_t port, const rte_ether_addr* mac) {
    uint64_t m = 0;
    if (mac != nullptr) {
        std::memcpy(&m, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
        m |= kValid;
    }
    const uint32_t at = find(ip);
    if (at != kNotFound) {
        Entry& e = entries_[at];
        if (mac == nullptr) {
            m = e.mac.load(std::memory_order_relaxed) & ~kFailed;
        } else {
            e.port = port;
        }
        // Readers load mac relaxed after an acquire of ip; a torn read is impossible because
        // the MAC and its state bits are one 64-bit atomic.
        e.mac.store(m, std::memory_order_relaxed);
        return true;
    }
    if (live_ >= capacity_) {
        return false;
    }
    if (!place(ip, port, m)) {
        rebuild();
        if (!place(ip, port, m)) {
            return false;  // unreachable: live_ < capacity_ leaves half the slots empty
        }
    }
    ++live_;
    return true;
}

bool NeighTable::place(uint32_t ip, uint16_t port, uint64_t mac) {
    // The first tombstone on the probe path, else the empty slot that ends it.
    uint32_t i = slot_of(ip);
    for (uint32_t n = 0;; ++n, i = (i + 1) & mask_) {
        if (n > mask_) {
            return false;
        }
        const uint32_t e = entries_[i].ip.load(std::memory_order_relaxed);
        if (e == kTombstone) {
            break;
        }
        if (e == kEmpty) {
            // Leave one slot empty so a reader's probe always ends.
            if (used_ + 1 >= mask_ + 1) {
                return false;
            }
            ++used_;
            break;
        }
    }
    entries_[i].port = port;
    entries_[i].mac.store(mac, std::memory_order_relaxed);
    // Pairs with the acquire load in lookup(): publishes port and mac with the address.
    entries_[i].ip.store(ip, std::memory_order_release);
    return true;
}

void NeighTable::rebuild() {
    struct Live {
        uint32_t ip;
        uint16_t port;
        uint64_t mac;
    };
    std::vector<Live> live;
    live.reserve(live_);
    for (uint32_t i = 0; i <= mask_; ++i) {
        const uint32_t ip = entries_[i].ip.load(std::memory_order_relaxed);
        if (ip != kEmpty && ip != kTombstone) {
            live.push_back({ip, entries_[i].port, entries_[i].mac.load(std::memory_order_relaxed)});
        }
        entries_[i].ip.store(kEmpty, std::memory_order_relaxed);
    }
    // Pairs with the acquire fence in lookup(), as in remove(): a reader that sees a MAC placed
    // below in a slot it matched before the rebuild also sees the slot's new address.
    std::atomic_thread_fence(std::memory_order_release);
    used_ = 0;
    for (const Live& e : live) {
        (void)place(e.ip, e.port, e.mac);
    }
}

void NeighTable::invalidate(uint32_t ip) {
    const uint32_t at = find(ip);
    if (at != kNotFound) {
        // Workers then send this next hop's packets to the slow path, which ARPs again.
        Entry& e = entries_[at];
        e.mac.store(e.mac.load(std::memory_order_relaxed) & ~kValid, std::memory_order_relaxed);
    }
}

void NeighTable::mark_failed(uint32_t ip) {
    const uint32_t at = find(ip);
    if (at != kNotFound) {
        Entry& e = entries_[at];
        e.mac.store((e.mac.load(std::memory_order_relaxed) & ~kValid) | kFailed,
                    std::memory_order_relaxed);
    }
}

void NeighTable::remove(uint32_t ip) {
    const uint32_t at = find(ip);
    if (at == kNotFound) {
        return;
    }
    Entry& e = entries_[at];
    e.ip.store(kTombstone, std::memory_order_relaxed);
    // Pairs with the acquire fence in lookup(): a reader that then sees a later owner's MAC in
    // this slot also sees that the address is no longer the one it matched.
    std::atomic_thread_fence(std::memory_order_release);
    e.mac.store(0, std::memory_order_relaxed);
    --live_;
    // A tombstone followed by an empty slot ends no probe path that matters: every entry after it
    // would have had to cross that empty slot. Empty it, and its tombstone predecessors likewise.
    for (uint32_t i = at; entries_[i].ip.load(std::memory_order_relaxed) == kTombstone &&
                          entries_[(i + 1) & mask_].ip.load(std::memory_order_relaxed) == kEmpty;
         i = (i - 1) & mask_) {
        entries_[i].ip.store(kEmpty, std::memory_order_relaxed);
        --used_;
    }
}

}  // namespace dirigo::dp
