// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/ownership.hpp"

#include <rte_thash.h>

namespace dirigo::dp {

FlowOwners FlowOwners::software(uint32_t n) noexcept {
    FlowOwners o;
    o.n_ = n;
    return o;
}

FlowOwners FlowOwners::rss(uint32_t n, uint32_t reta_size) noexcept {
    FlowOwners o;
    o.n_ = n;
    o.rss_ = true;
    // A device's larger table repeats this one (reta_entry masks), so clamping keeps the
    // agreement.
    reta_size = reta_size < kOwnerRetaMax ? reta_size : kOwnerRetaMax;
    o.reta_mask_ = reta_size - 1;
    for (uint32_t i = 0; i < reta_size; ++i) {
        o.reta_[i] = static_cast<uint8_t>(i % n);
    }
    // Toeplitz is linear over XOR: the hash of a 16-bit word is the XOR of its two bytes' hashes,
    // each computed by rte_softrss itself on an input holding only that byte. Eight key bytes
    // cover the window of a one-word input.
    alignas(4) uint8_t key[8];
    rss_key(key, sizeof(key));
    for (uint32_t v = 0; v < 256; ++v) {
        uint32_t hi = v << 24;
        uint32_t lo = v << 16;
        o.hi_[v] = rte_softrss(&hi, 1, key);
        o.lo_[v] = rte_softrss(&lo, 1, key);
    }
    return o;
}

}  // namespace dirigo::dp
