// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// A small immutable open-addressing map from a 64-bit key to a 32-bit value, built once by the
/// control thread and then only read (by workers, through a snapshot). Power-of-two capacity at
/// most half full, linear probing: a lookup is one or two cache lines. Thread: build on control,
/// find on any. Cost: find O(1) expected, no allocation.

#include <cstdint>
#include <vector>

#include "dataplane/hash.hpp"

namespace dirigo::dp {

class FlatMap {
public:
    static constexpr uint32_t kNotFound = 0xffffffffu;

    /// Builds from (key, value) pairs; later duplicates are ignored.
    explicit FlatMap(const std::vector<std::pair<uint64_t, uint32_t>>& items = {}) {
        uint32_t cap = 8;
        while (cap < items.size() * 2 + 2) {
            cap <<= 1;
        }
        slots_.assign(cap, Slot{});
        mask_ = cap - 1;
        for (const auto& [k, v] : items) {
            uint32_t i = slot_of(k);
            while (slots_[i].used && slots_[i].key != k) {
                i = (i + 1) & mask_;
            }
            if (!slots_[i].used) {
                slots_[i] = Slot{k, v, true};
            }
        }
    }

    uint32_t find(uint64_t key) const noexcept {
        uint32_t i = slot_of(key);
        while (slots_[i].used) {
            if (slots_[i].key == key) {
                return slots_[i].value;
            }
            i = (i + 1) & mask_;
        }
        return kNotFound;
    }

private:
    struct Slot {
        uint64_t key = 0;
        uint32_t value = 0;
        bool used = false;
    };
    uint32_t slot_of(uint64_t k) const noexcept {
        return fib_slot(k, mask_);
    }
    std::vector<Slot> slots_;
    uint32_t mask_ = 0;
};

}  // namespace dirigo::dp
