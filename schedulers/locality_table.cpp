// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/locality_table.hpp"

#include <bit>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

namespace {

bool expired(uint64_t lastuse, uint64_t now, uint64_t expire_ms) {
    // IPVS keeps an entry while time_before(now, lastuse + expiration). Written without the sum
    // so that a huge expiry cannot wrap; a clock slightly behind lastuse (another worker's) keeps
    // the entry.
    return now >= lastuse && now - lastuse >= expire_ms;
}

}  // namespace

int LocEntry::find(uint16_t id) const noexcept {
    for (uint32_t i = 0; i < n; ++i) {
        if (m[i] == id) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

void LocEntry::erase(uint32_t pos) noexcept {
    for (uint32_t i = pos; i + 1 < n; ++i) {
        m[i] = m[i + 1];
    }
    --n;
}

void LocEntry::push_front(uint16_t id) noexcept {
    const uint32_t keep = n < LocSlot::kSetMax ? n : LocSlot::kSetMax - 1;
    for (uint32_t i = keep; i > 0; --i) {
        m[i] = m[i - 1];
    }
    m[0] = id;
    n = static_cast<uint16_t>(keep + 1);
}

LocalityTable::LocalityTable(uint32_t slots) {
    const uint32_t size = std::bit_ceil(slots < 64 ? 64u : slots);
    mask_ = size - 1;
    bits_ = static_cast<uint32_t>(std::countr_zero(size));
    slot_ = std::make_unique<LocSlot[]>(size);
}

uint32_t LocalityTable::home(uint32_t key) const noexcept {
    return detail::hash_32(key, bits_);
}

bool LocalityTable::find(uint32_t key, uint32_t epoch, uint64_t now, uint64_t expire_ms,
                         LocEntry& e) const noexcept {
    e = LocEntry{};
    const uint32_t h = home(key);
    for (uint32_t i = 0; i < kProbe; ++i) {
        const uint32_t idx = (h + i) & mask_;
        const LocSlot& s = slot_[idx];
        // Acquire: pairs with the release store that ends a write, so the fields read below are
        // at least that write's.
        const uint32_t s1 = s.seq.load(std::memory_order_acquire);
        if (s1 & 1) {
            continue;  // being written: not usable now
        }
        const uint32_t ep = s.epoch.load(std::memory_order_acquire);
        const uint32_t k = s.key.load(std::memory_order_acquire);
        if (ep == 0) {
            // Slots only go from empty to used, and a key is stored at or before the first empty
            // slot of its window, so the key is not further on.
            return false;
        }
        if (ep != epoch || k != key) {
            continue;
        }
        // Acquire on every field (plain loads on x86): if one of them returns a value stored by
        // a write that overlaps this copy, that write's odd `seq` (stored before its fields) is
        // visible to the re-check below. No standalone fence, so TSan can follow it.
        LocEntry c;
        c.n = s.n.load(std::memory_order_acquire);
        c.lastmod = s.lastmod.load(std::memory_order_acquire);
        for (uint32_t j = 0; j < LocSlot::kSetMax; ++j) {
            c.m[j] = s.member[j].load(std::memory_order_acquire);
        }
        const uint64_t lastuse = s.lastuse.load(std::memory_order_acquire);
        if (s.seq.load(std::memory_order_relaxed) != s1) {
            continue;  // torn copy: treat as a miss
        }
        if (c.n > LocSlot::kSetMax) {
            continue;  // cannot happen for a validated copy; keeps m[] indexing in bounds
        }
        c.slot = idx;
        c.seq = s1;
        c.found = !expired(lastuse, now, expire_ms);
        e = c;
        return e.found;
    }
    return false;
}

void LocalityTable::touch(const LocEntry& e, uint64_t now) noexcept {
    LocSlot& s = slot_[e.slot & mask_];
    // Relaxed: lastuse only steers expiry and eviction; a racing writer may overwrite it, which
    // at worst ages the entry by the time since that write.
    if (s.lastuse.load(std::memory_order_relaxed) < now) {
        s.lastuse.store(now, std::memory_order_relaxed);
    }
}

bool LocalityTable::store(uint32_t key, uint32_t epoch, uint64_t now, uint64_t expire_ms,
                          const LocEntry& e) noexcept {
    uint32_t target = e.slot;
    uint32_t expect = e.seq;
    if (target == LocEntry::kNoSlot) {
        const uint32_t h = home(key);
        uint32_t lru = LocEntry::kNoSlot;
        uint32_t lru_seq = 0;
        uint64_t lru_use = ~uint64_t{0};
        for (uint32_t i = 0; i < kProbe; ++i) {
            const uint32_t idx = (h + i) & mask_;
            const LocSlot& s = slot_[idx];
            // Acquire: as in find(); the CAS below re-validates this read.
            const uint32_t s1 = s.seq.load(std::memory_order_acquire);
            if (s1 & 1) {
                continue;
            }
            const uint32_t ep = s.epoch.load(std::memory_order_relaxed);
            const uint64_t use = s.lastuse.load(std::memory_order_relaxed);
            if (ep == 0 || ep != epoch || expired(use, now, expire_ms)) {
                target = idx;
                expect = s1;
                break;
            }
            if (use < lru_use) {
                lru = idx;
                lru_seq = s1;
                lru_use = use;
            }
        }
        if (target == LocEntry::kNoSlot) {
            target = lru;
            expect = lru_seq;
        }
        if (target == LocEntry::kNoSlot) {
            return false;  // the whole window is being written
        }
    }
    LocSlot& s = slot_[target & mask_];
    // Claim the slot only if nobody wrote it since we read it (odd = ours now). The CAS can be
    // relaxed: each field store below is a release, so it is ordered after the CAS.
    if ((expect & 1) != 0 ||
        !s.seq.compare_exchange_strong(expect, expect + 1, std::memory_order_relaxed)) {
        return false;
    }
    // Release stores: pair with the acquire field loads in find(); a reader that sees any of
    // them also sees `seq` odd or advanced on its re-check.
    s.key.store(key, std::memory_order_release);
    s.epoch.store(epoch, std::memory_order_release);
    s.n.store(e.n, std::memory_order_release);
    s.lastmod.store(e.lastmod, std::memory_order_release);
    s.lastuse.store(now, std::memory_order_release);
    for (uint32_t j = 0; j < LocSlot::kSetMax; ++j) {
        s.member[j].store(j < e.n ? e.m[j] : 0, std::memory_order_release);
    }
    // Release: pairs with the acquire load of `seq` in find() and store().
    s.seq.store(expect + 2, std::memory_order_release);
    return true;
}

uint32_t LocalityTable::live(uint32_t epoch, uint64_t now, uint64_t expire_ms) const noexcept {
    uint32_t count = 0;
    for (uint32_t i = 0; i <= mask_; ++i) {
        const LocSlot& s = slot_[i];
        // Relaxed: a statistic; a slot being written may be miscounted.
        if (s.epoch.load(std::memory_order_relaxed) == epoch &&
            !expired(s.lastuse.load(std::memory_order_relaxed), now, expire_ms)) {
            ++count;
        }
    }
    return count;
}

}  // namespace dirigo::sched
