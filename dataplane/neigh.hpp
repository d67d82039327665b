// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The neighbour (ARP) table: IPv4 next hop -> Ethernet address.
///
/// One table for the process, written only by the control thread (which runs ARP) and read by
/// every worker without locks. It is a fixed-capacity open-addressing array: an entry's address
/// is published last with a release store, so a reader that sees the address also sees the port;
/// the MAC and its state bits live in one 64-bit atomic, so a reader never sees half of an update.
///
/// Entries follow Linux's life cycle: incomplete while the slow path asks, resolved once answered,
/// failed when every try went unanswered, and removed (the slot becomes a tombstone that probes
/// walk past and inserts reuse) once the slow path's hold time for failed entries has passed, so
/// addresses that never answer cannot fill the table for good. The array has twice as many slots
/// as the table holds entries, so probes stay short; a tombstone whose next slot is empty is no
/// longer on any probe path and becomes empty itself; when tombstones leave no empty slot to end
/// a new probe, the control thread rebuilds the array in place (a reader may then miss an entry
/// for a moment and hand its packet to the slow path, which looks again; it never gets a MAC for
/// the wrong address).

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include <rte_ether.h>

#include "dataplane/hash.hpp"

namespace dirigo::dp {

class NeighTable {
public:
    /// What `ip neigh` would call the entry.
    enum class State : uint8_t { Incomplete, Resolved, Failed };

    /// Holds up to `capacity` entries (rounded up to a power of two, at least 16). Thread: startup.
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
                // Pairs with the release fence in remove(): if `m` came from a later owner of
                // this slot, the address re-read below is no longer `ip`.
                std::atomic_thread_fence(std::memory_order_acquire);
                if ((m & kValid) == 0 || entries_[i].ip.load(std::memory_order_relaxed) != ip) {
                    return false;
                }
                std::memcpy(mac->addr_bytes, &m, RTE_ETHER_ADDR_LEN);
                return true;
            }
            if (e == kEmpty) {
                return false;
            }
        }
        return false;
    }

    /// Inserts or updates `ip` with `mac` (nullptr: incomplete; an existing entry keeps its MAC
    /// and leaves the failed state). Returns false when the table is full.
    /// Thread: control only (single writer).
    bool update(uint32_t ip, uint16_t port, const rte_ether_addr* mac);

    /// Marks `ip` unresolved (its MAC stops being used until it answers again). Thread: control.
    void invalidate(uint32_t ip);
    /// Marks `ip` failed: unresolved, and shown as such. Thread: control.
    void mark_failed(uint32_t ip);
    /// Removes `ip`'s entry. Thread: control.
    void remove(uint32_t ip);

    /// True if `ip` has an entry (complete or not). Thread: control.
    bool contains(uint32_t ip) const { return find(ip) != kNotFound; }

    uint32_t capacity() const { return capacity_; }
    /// Live entries (tombstones not counted).
    uint32_t size() const { return live_; }

    /// Calls f(ip, port, mac, state) for every entry. Thread: control.
    template <class F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i <= mask_; ++i) {
            const uint32_t ip = entries_[i].ip.load(std::memory_order_acquire);
            if (ip == kEmpty || ip == kTombstone) {
                continue;
            }
            const uint64_t m = entries_[i].mac.load(std::memory_order_relaxed);
            rte_ether_addr mac;
            std::memcpy(mac.addr_bytes, &m, RTE_ETHER_ADDR_LEN);
            const State s = (m & kValid) != 0    ? State::Resolved
                            : (m & kFailed) != 0 ? State::Failed
                                                 : State::Incomplete;
            f(ip, entries_[i].port, mac, s);
        }
    }

private:
    static constexpr uint64_t kValid = 1ull << 63;
    static constexpr uint64_t kFailed = 1ull << 62;
    static constexpr uint32_t kEmpty = 0;
    /// 255.255.255.255 is never a neighbour.
    static constexpr uint32_t kTombstone = 0xffffffffu;
    static constexpr uint32_t kNotFound = 0xffffffffu;
    struct alignas(16) Entry {
        std::atomic<uint32_t> ip{kEmpty};  ///< network order; kEmpty or kTombstone when unused
        uint16_t port = 0;
        std::atomic<uint64_t> mac{0};  ///< 6 MAC bytes, kValid when resolved, kFailed
    };
    uint32_t slot_of(uint32_t ip) const noexcept {
        return fib_slot(ip, mask_);  // neighbours are often consecutive addresses
    }
    /// The slot holding `ip`, or kNotFound.
    uint32_t find(uint32_t ip) const;
    /// Places a new entry (not present) on its probe path; false when no slot ends it.
    bool place(uint32_t ip, uint16_t port, uint64_t mac);
    /// Empties every slot and places the live entries again: no tombstone survives.
    void rebuild();
    std::unique_ptr<Entry[]> entries_;
    uint32_t mask_ = 0;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;  ///< slots not empty (live entries and tombstones): probes must end
    uint32_t live_ = 0;
};

}  // namespace dirigo::dp
