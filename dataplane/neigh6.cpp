// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/neigh6.hpp"

#include <vector>

#include <rte_common.h>

namespace dirigo::dp {
namespace {

void split(const cfg::Ip6& ip, uint64_t& a0, uint64_t& a1) {
    std::memcpy(&a0, ip.b.data(), 8);
    std::memcpy(&a1, ip.b.data() + 8, 8);
}

}  // namespace

NeighTable6::NeighTable6(uint32_t capacity) {
    capacity_ = rte_align32pow2(capacity < 16 ? 16 : capacity);
    entries_ = std::make_unique<Entry[]>(2 * static_cast<size_t>(capacity_));
    mask_ = 2 * capacity_ - 1;
}

void NeighTable6::write_slot(uint32_t i, const cfg::Ip6& ip, uint16_t port, uint64_t mac) {
    Entry& e = entries_[i];
    const uint32_t s = e.seq.load(std::memory_order_relaxed);
    e.seq.store(s + 1, std::memory_order_relaxed);
    // Pairs with the acquire fence in lookup(): a reader that sees any word written below also
    // sees the odd sequence number, or a later one.
    std::atomic_thread_fence(std::memory_order_release);
    uint64_t a0;
    uint64_t a1;
    split(ip, a0, a1);
    e.a0.store(a0, std::memory_order_relaxed);
    e.a1.store(a1, std::memory_order_relaxed);
    e.port.store(port, std::memory_order_relaxed);
    e.mac.store(mac, std::memory_order_relaxed);
    // Pairs with the acquire load in lookup(): the even number publishes the words above.
    e.seq.store(s + 2, std::memory_order_release);
}

uint32_t NeighTable6::find(const cfg::Ip6& ip) const {
    uint64_t a0;
    uint64_t a1;
    split(ip, a0, a1);
    uint32_t i = slot_of(a0, a1);
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
        const Entry& e = entries_[i];
        const uint64_t m = e.mac.load(std::memory_order_relaxed);
        if ((m & kUsed) == 0) {
            return kNotFound;
        }
        if ((m & kTomb) == 0 && e.a0.load(std::memory_order_relaxed) == a0 &&
            e.a1.load(std::memory_order_relaxed) == a1) {
            return i;
        }
    }
    return kNotFound;
}

bool NeighTable6::update(const cfg::Ip6& ip, uint16_t port, const rte_ether_addr* mac) {
    uint64_t m = kUsed;
    if (mac != nullptr) {
        uint64_t bytes = 0;
        std::memcpy(&bytes, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
        m |= bytes | kValid;
    }
    const uint32_t at = find(ip);
    if (at != kNotFound) {
        const Entry& e = entries_[at];
        uint16_t p = port;
        if (mac == nullptr) {
            m = e.mac.load(std::memory_order_relaxed) & ~kFailed;
            p = e.port.load(std::memory_order_relaxed);
        }
        write_slot(at, ip, p, m);
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

bool NeighTable6::place(const cfg::Ip6& ip, uint16_t port, uint64_t mac) {
    uint64_t a0;
    uint64_t a1;
    split(ip, a0, a1);
    uint32_t i = slot_of(a0, a1);
    for (uint32_t n = 0;; ++n, i = (i + 1) & mask_) {
        if (n > mask_) {
            return false;
        }
        const uint64_t m = entries_[i].mac.load(std::memory_order_relaxed);
        if ((m & kTomb) != 0) {
            break;
        }
        if ((m & kUsed) == 0) {
            // Leave one slot empty so a reader's probe always ends.
            if (used_ + 1 >= mask_ + 1) {
                return false;
            }
            ++used_;
            break;
        }
    }
    write_slot(i, ip, port, mac);
    return true;
}

void NeighTable6::rebuild() {
    struct Live {
        cfg::Ip6 ip;
        uint16_t port;
        uint64_t mac;
    };
    std::vector<Live> live;
    live.reserve(live_);
    for (uint32_t i = 0; i <= mask_; ++i) {
        const Entry& e = entries_[i];
        const uint64_t m = e.mac.load(std::memory_order_relaxed);
        if ((m & kUsed) != 0 && (m & kTomb) == 0) {
            live.push_back({address(e), e.port.load(std::memory_order_relaxed), m});
        }
        if (m != 0) {
            write_slot(i, cfg::Ip6{}, 0, 0);
        }
    }
    used_ = 0;
    for (const Live& e : live) {
        (void)place(e.ip, e.port, e.mac);
    }
}

void NeighTable6::mark_failed(const cfg::Ip6& ip) {
    const uint32_t at = find(ip);
    if (at != kNotFound) {
        const Entry& e = entries_[at];
        const uint64_t m = (e.mac.load(std::memory_order_relaxed) & ~kValid) | kFailed;
        write_slot(at, ip, e.port.load(std::memory_order_relaxed), m);
    }
}

void NeighTable6::remove(const cfg::Ip6& ip) {
    const uint32_t at = find(ip);
    if (at == kNotFound) {
        return;
    }
    write_slot(at, cfg::Ip6{}, 0, kUsed | kTomb);
    --live_;
    // As in NeighTable::remove: a tombstone followed by an empty slot ends no probe path that
    // matters; empty it, and its tombstone predecessors likewise.
    for (uint32_t i = at;
         (entries_[i].mac.load(std::memory_order_relaxed) & kTomb) != 0 &&
         (entries_[(i + 1) & mask_].mac.load(std::memory_order_relaxed) & kUsed) == 0;
         i = (i - 1) & mask_) {
        write_slot(i, cfg::Ip6{}, 0, 0);
        --used_;
    }
}

}  // namespace dirigo::dp
