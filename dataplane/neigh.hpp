// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The neighbour (ARP) table: IPv4 next hop -> Ethernet address.
///
/// One table for the process, written only by the control thread (which runs ARP) and read by
/// every worker without locks. It is a fixed-capacity open-addressing array: an entry's address
/// is published last with a release store, so a reader that sees the address also sees the port;
/// the MAC and its valid bit live in one 64-bit atomic, so a reader never sees half of an update.
/// Entries are never removed (capacity is configured); an entry whose address never answered
/// stays "incomplete" and costs readers nothing but a failed probe.

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include <rte_ether.h>

namespace dirigo::dp {

class NeighTable {
public:
    /// `capacity` is rounded up to a power of two. Thread: startup.
    explicit NeighTable(uint32_t capacity);

    /// Looks up `ip` (network order). On success writes its MAC and returns true.
    /// Thread: any (workers). Cost: a short linear probe, no write.
    bool lookup(uint32_t ip, rte_ether_addr* mac) const noexcept {
        uint32_t i = slot_of(ip);
        for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
            // Pairs with the release store in insert(): seeing ip implies seeing the entry.
            const uint32_t e = entries_[i].ip.load(std::memory_order_acquire);
            if (e == ip) {
                const uint64_t m = entries_[i].mac.load(std::memory_order_relaxed);
                if ((m & kValid) == 0) {
                    return false;
                }
                std::memcpy(mac->addr_bytes, &m, RTE_ETHER_ADDR_LEN);
                return true;
            }
            if (e == 0) {
                return false;
            }
        }
        return false;
    }

    /// Inserts or updates `ip` with `mac` (nullptr: incomplete, keep any old MAC). Returns false
    /// when the table is full. Thread: control only (single writer).
    bool update(uint32_t ip, uint16_t port, const rte_ether_addr* mac);

    /// Marks `ip` unresolved (its MAC stops being used until it answers again). Thread: control.
    void invalidate(uint32_t ip);

    /// True if `ip` has an entry (complete or not). Thread: control.
    bool contains(uint32_t ip) const;

    uint32_t capacity() const { return mask_ + 1; }
    uint32_t size() const { return size_; }

    /// Calls f(ip, port, mac, valid) for every entry. Thread: control.
    template <class F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i <= mask_; ++i) {
            const uint32_t ip = entries_[i].ip.load(std::memory_order_acquire);
            if (ip == 0) {
                continue;
            }
            const uint64_t m = entries_[i].mac.load(std::memory_order_relaxed);
            rte_ether_addr mac;
            std::memcpy(mac.addr_bytes, &m, RTE_ETHER_ADDR_LEN);
            f(ip, entries_[i].port, mac, (m & kValid) != 0);
        }
    }

private:
    static constexpr uint64_t kValid = 1ull << 63;
    struct alignas(16) Entry {
        std::atomic<uint32_t> ip{0};   ///< network order; 0 = empty
        uint16_t port = 0;
        std::atomic<uint64_t> mac{0};  ///< 6 MAC bytes, kValid when resolved
    };
    uint32_t slot_of(uint32_t ip) const noexcept {
        // Fibonacci hashing: neighbours are often consecutive addresses.
        return static_cast<uint32_t>((static_cast<uint64_t>(ip) * 0x9e3779b97f4a7c15ull) >> 32) &
               mask_;
    }
    std::unique_ptr<Entry[]> entries_;
    uint32_t mask_ = 0;
    uint32_t size_ = 0;
};

}  // namespace dirigo::dp
