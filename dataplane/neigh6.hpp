// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The IPv6 neighbour table: IPv6 next hop -> Ethernet address, filled by neighbour discovery.
///
/// The twin of NeighTable (dataplane/neigh.hpp), with the same single writer (the control thread,
/// which runs neighbour discovery in the slow path), the same lock-free readers (the workers), the
/// same life cycle (incomplete, resolved, failed, removed after a hold time) and the same capacity
/// rule (twice as many slots as entries, linear probing, tombstones reused).
///
/// A 16-byte address cannot be published with one atomic store, so each slot carries a sequence
/// number (a seqlock): the writer makes it odd, writes the slot's address and MAC words, makes it
/// even again. A reader that sees it odd, or changed across its reads, reports a miss for that
/// packet, which then goes to the slow path; the slow path looks again before asking the network.
/// Every field is an atomic word, so no read is a data race; a reader never waits.

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include <rte_ether.h>

#include "config/model.hpp"

namespace dirigo::dp {

class NeighTable6 {
public:
    /// What `ip -6 neigh` would call the entry.
    enum class State : uint8_t { Incomplete, Resolved, Failed };

    /// Holds up to `capacity` entries (rounded up to a power of two, at least 16). Thread: startup.
    explicit NeighTable6(uint32_t capacity);

    /// Looks up `ip` (16 bytes, network order). On success writes its MAC and returns true.
    /// Thread: any (workers). Cost: a short linear probe, no write, no wait.
    bool lookup(const uint8_t* ip, rte_ether_addr* mac) const noexcept {
        uint64_t a0;
        uint64_t a1;
        std::memcpy(&a0, ip, 8);
        std::memcpy(&a1, ip + 8, 8);
        uint32_t i = slot_of(a0, a1);
        for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
            const Entry& e = entries_[i];
            // Pairs with the release store that ends a write in write_slot().
            const uint32_t s1 = e.seq.load(std::memory_order_acquire);
            const uint64_t w0 = e.a0.load(std::memory_order_relaxed);
            const uint64_t w1 = e.a1.load(std::memory_order_relaxed);
            const uint64_t m = e.mac.load(std::memory_order_relaxed);
            // Pairs with the release fence that starts a write in write_slot(): if any word read
            // above came from a write in progress, the sequence read below has moved on.
            std::atomic_thread_fence(std::memory_order_acquire);
            if ((s1 & 1) != 0 || e.seq.load(std::memory_order_relaxed) != s1) {
                return false;  // being written: the slow path looks again
            }
            if ((m & kUsed) == 0) {
                return false;  // empty: the end of the probe path
            }
            if ((m & kTomb) == 0 && w0 == a0 && w1 == a1) {
                if ((m & kValid) == 0) {
                    return false;
                }
                std::memcpy(mac->addr_bytes, &m, RTE_ETHER_ADDR_LEN);
                return true;
            }
        }
        return false;
    }

    /// Inserts or updates `ip` with `mac` (nullptr: incomplete; an existing entry keeps its MAC
    /// and leaves the failed state). Returns false when the table is full. Thread: control only.
    bool update(const cfg::Ip6& ip, uint16_t port, const rte_ether_addr* mac);
    /// Marks `ip` failed: unresolved, and shown as such. Thread: control.
    void mark_failed(const cfg::Ip6& ip);
    /// Removes `ip`'s entry. Thread: control.
    void remove(const cfg::Ip6& ip);
    /// True if `ip` has an entry (complete or not). Thread: control.
    bool contains(const cfg::Ip6& ip) const { return find(ip) != kNotFound; }

    uint32_t capacity() const { return capacity_; }
    /// Live entries.
    uint32_t size() const { return live_; }

    /// Calls f(ip, port, mac, state) for every entry. Thread: control.
    template <class F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i <= mask_; ++i) {
            const Entry& e = entries_[i];
            const uint64_t m = e.mac.load(std::memory_order_relaxed);
            if ((m & kUsed) == 0 || (m & kTomb) != 0) {
                continue;
            }
            const cfg::Ip6 ip = address(e);
            rte_ether_addr mac;
            std::memcpy(mac.addr_bytes, &m, RTE_ETHER_ADDR_LEN);
            const State s = (m & kValid) != 0    ? State::Resolved
                            : (m & kFailed) != 0 ? State::Failed
                                                 : State::Incomplete;
            f(ip, e.port.load(std::memory_order_relaxed), mac, s);
        }
    }

private:
    // The MAC word: 6 MAC bytes, then state bits.
    static constexpr uint64_t kValid = 1ull << 63;
    static constexpr uint64_t kFailed = 1ull << 62;
    static constexpr uint64_t kUsed = 1ull << 61;  ///< the slot holds an entry or a tombstone
    static constexpr uint64_t kTomb = 1ull << 60;
    static constexpr uint32_t kNotFound = 0xffffffffu;
    struct alignas(32) Entry {
        std::atomic<uint32_t> seq{0};  ///< odd while the control thread writes the slot
        std::atomic<uint16_t> port{0};
        std::atomic<uint64_t> a0{0};   ///< address bytes 0-7, as in memory
        std::atomic<uint64_t> a1{0};   ///< address bytes 8-15
        std::atomic<uint64_t> mac{0};  ///< MAC bytes and the k* bits; 0: empty
    };
    uint32_t slot_of(uint64_t a0, uint64_t a1) const noexcept {
        // Neighbours differ in the low (interface identifier) half most: mix both halves.
        uint64_t h = (a0 ^ (a1 * 0x9e3779b97f4a7c15ull));
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 32;
        return static_cast<uint32_t>(h) & mask_;
    }
    static cfg::Ip6 address(const Entry& e) {
        cfg::Ip6 ip;
        const uint64_t w0 = e.a0.load(std::memory_order_relaxed);
        const uint64_t w1 = e.a1.load(std::memory_order_relaxed);
        std::memcpy(ip.b.data(), &w0, 8);
        std::memcpy(ip.b.data() + 8, &w1, 8);
        return ip;
    }
    /// Rewrites slot `i` under its sequence number. Thread: control.
    void write_slot(uint32_t i, const cfg::Ip6& ip, uint16_t port, uint64_t mac);
    uint32_t find(const cfg::Ip6& ip) const;
    bool place(const cfg::Ip6& ip, uint16_t port, uint64_t mac);
    void rebuild();
    std::unique_ptr<Entry[]> entries_;
    uint32_t mask_ = 0;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;  ///< slots with kUsed (entries and tombstones)
    uint32_t live_ = 0;
};

}  // namespace dirigo::dp
