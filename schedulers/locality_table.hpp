// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The lblc/lblcr destination table: destination address -> server (lblc) or server set (lblcr),
/// shared by every worker of one service and kept across snapshots in SchedShared.
///
/// IPVS keeps a chained hash table under a spin lock with a timer that collects stale entries.
/// Here it is a fixed array of one-cache-line slots, open addressing with linear probing over a
/// window of kProbe slots, each slot guarded by a sequence counter:
///  - readers never wait: they copy a slot and retry nothing; a slot that is being written is
///    treated as "not this key";
///  - writers never wait: a write claims the slot by a CAS on its counter from the value it read,
///    so a write based on stale data, or racing another write, simply does not happen and the
///    entry is not cached this time (IPVS: "if we fail to create a cache entry, we'll just use
///    the valid dest");
///  - expiry is lazy: an entry unused for `expire` ms reads as absent and its slot is reusable;
///    when a window is full of live entries the least recently used one is replaced.
/// Entries name servers by a stable id (see lblc.hpp) and carry the table epoch they were
/// written in; an entry of another epoch reads as absent.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace dirigo::sched {

/// One slot. 64 bytes so that a slot never shares a line with another.
struct alignas(64) LocSlot {
    static constexpr uint32_t kSetMax = 16;
    std::atomic<uint32_t> seq{0};    ///< odd while a writer owns the slot
    std::atomic<uint32_t> key{0};    ///< destination address, host order
    std::atomic<uint32_t> epoch{0};  ///< 0: never written
    std::atomic<uint16_t> n{0};      ///< members in `member`
    std::atomic<uint16_t> unused{0};
    std::atomic<uint64_t> lastuse{0};  ///< ms; also bumped by readers, outside `seq`
    std::atomic<uint64_t> lastmod{0};  ///< ms; last change of the lblcr set
    std::array<std::atomic<uint16_t>, kSetMax> member{};  ///< stable server ids, newest first
};
static_assert(sizeof(LocSlot) == 64);

/// A copy of one slot as read by LocalityTable::find, edited by the caller and written back.
/// A plain value owned by the calling thread; its methods are O(kSetMax), no allocation.
struct LocEntry {
    static constexpr uint32_t kNoSlot = ~0u;
    uint32_t slot = kNoSlot;  ///< slot read (the live entry, or an expired one to reuse)
    uint32_t seq = 0;         ///< its sequence value when read; a store needs it unchanged
    bool found = false;       ///< a live entry for the key
    uint16_t n = 0;
    uint64_t lastmod = 0;
    std::array<uint16_t, LocSlot::kSetMax> m{};

    /// Position of `id` in m[0, n), or -1.
    int find(uint16_t id) const noexcept;
    /// Removes m[pos], keeping the order of the others.
    void erase(uint32_t pos) noexcept;
    /// Inserts `id` first (IPVS adds set members at the head); drops the oldest when full.
    void push_front(uint16_t id) noexcept;
};

class LocalityTable {
public:
    static constexpr uint32_t kProbe = 8;

    /// `slots` is rounded up to a power of two, at least 64. Thread: control. Allocates.
    explicit LocalityTable(uint32_t slots);

    /// Looks `key` up among the entries of `epoch`. On a live entry (used within `expire_ms` of
    /// `now`) returns true with `e` filled. On an expired entry for the key returns false with
    /// e.slot/e.seq naming it for reuse. Thread: worker. Cost: at most kProbe cache lines.
    bool find(uint32_t key, uint32_t epoch, uint64_t now, uint64_t expire_ms,
              LocEntry& e) const noexcept;

    /// IPVS's `en->lastuse = jiffies` on a hit. Thread: worker. Cost: one relaxed load, a store
    /// at most once per millisecond per entry.
    void touch(const LocEntry& e, uint64_t now) noexcept;

    /// Writes e.n/e.m/e.lastmod and lastuse = now for `key`: into e.slot if set (only if its
    /// sequence still equals e.seq), else into the first empty or expired slot of the key's
    /// window, else over the least recently used one. Returns false when a concurrent write got
    /// there first; nothing is written then. Thread: worker. Cost: at most kProbe lines, one CAS.
    bool store(uint32_t key, uint32_t epoch, uint64_t now, uint64_t expire_ms,
               const LocEntry& e) noexcept;

    /// Live entries of `epoch` at `now`. Thread: any (tests, stats). Cost: O(slots).
    uint32_t live(uint32_t epoch, uint64_t now, uint64_t expire_ms) const noexcept;

    /// Number of slots. Thread: any. Cost: O(1).
    uint32_t slots() const { return mask_ + 1; }

private:
    uint32_t home(uint32_t key) const noexcept;

    uint32_t mask_ = 0;
    uint32_t bits_ = 0;
    std::unique_ptr<LocSlot[]> slot_;
};

}  // namespace dirigo::sched
