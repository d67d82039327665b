// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The 5-tuple a connection is found by. Addresses and ports are kept exactly as they appear on the
/// wire (network byte order), so a key is built from a packet with plain loads and compared as 16
/// raw bytes. Thread: any. Cost: O(1).

#include <cstdint>
#include <cstring>

namespace dirigo::ct {

struct FlowKey {
    uint32_t saddr = 0;  ///< network order
    uint32_t daddr = 0;  ///< network order
    uint16_t sport = 0;  ///< network order
    uint16_t dport = 0;  ///< network order
    uint8_t proto = 0;
    uint8_t pad[3] = {0, 0, 0};  ///< always zero: the key is hashed and compared as raw bytes

    bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof(*this)) == 0; }
    /// The same flow seen from the other end.
    FlowKey reversed() const {
        FlowKey r;
        r.saddr = daddr;
        r.daddr = saddr;
        r.sport = dport;
        r.dport = sport;
        r.proto = proto;
        return r;
    }
};
static_assert(sizeof(FlowKey) == 16);

}  // namespace dirigo::ct
