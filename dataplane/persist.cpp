// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/persist.hpp"

#include <rte_common.h>

namespace dirigo::dp {

PersistTable::PersistTable(uint32_t capacity) {
    const uint32_t cap = rte_align32pow2(capacity < kWindow ? kWindow : capacity);
    entries_ = std::make_unique<Entry[]>(cap);
    mask_ = cap - 1;
}

}  // namespace dirigo::dp
