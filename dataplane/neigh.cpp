// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/neigh.hpp"

#include <cstring>

#include <rte_common.h>

namespace dirigo::dp {

NeighTable::NeighTable(uint32_t capacity) {
    const uint32_t cap = rte_align32pow2(capacity < 16 ? 16 : capacity);
    entries_ = std::make_unique<Entry[]>(cap);
    mask_ = cap - 1;
}

bool NeighTable::update(uint32_t ip, uint16_t port, const rte_ether_addr* mac) {
    uint32_t i = slot_of(ip);
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
        const uint32_t e = entries_[i].ip.load(std::memory_order_relaxed);
        if (e == ip) {
            if (mac != nullptr) {
                uint64_t m = 0;
                std::memcpy(&m, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
                entries_[i].port = port;
                // Readers load mac relaxed after an acquire of ip; a torn read is impossible
                // because the MAC and its valid bit are one 64-bit atomic.
                entries_[i].mac.store(m | kValid, std::memory_order_relaxed);
            }
            return true;
        }
        if (e == 0) {
            // Leave one slot free so a reader's probe always ends.
            if (size_ + 1 >= mask_ + 1) {
                return false;
            }
            uint64_t m = 0;
            if (mac != nullptr) {
                std::memcpy(&m, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
                m |= kValid;
            }
            entries_[i].port = port;
            entries_[i].mac.store(m, std::memory_order_relaxed);
            // Pairs with the acquire load in lookup(): publishes port and mac with the address.
            entries_[i].ip.store(ip, std::memory_order_release);
            ++size_;
            return true;
        }
    }
    return false;
}

void NeighTable::invalidate(uint32_t ip) {
    uint32_t i = slot_of(ip);
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
        const uint32_t e = entries_[i].ip.load(std::memory_order_relaxed);
        if (e == ip) {
            // Workers then send this next hop's packets to the slow path, which ARPs again.
            entries_[i].mac.store(entries_[i].mac.load(std::memory_order_relaxed) & ~kValid,
                                  std::memory_order_relaxed);
            return;
        }
        if (e == 0) {
            return;
        }
    }
}

bool NeighTable::contains(uint32_t ip) const {
    uint32_t i = slot_of(ip);
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
        const uint32_t e = entries_[i].ip.load(std::memory_order_relaxed);
        if (e == ip) {
            return true;
        }
        if (e == 0) {
            return false;
        }
    }
    return false;
}

}  // namespace dirigo::dp
