// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The 5-tuple a connection is found by. Addresses and ports are kept exactly as they appear on the
/// wire (network byte order), so a key is built from a packet with plain loads and compared as 16
/// raw bytes. Thread: any. Cost: O(1).

#include <bit>
#include <cstddef>
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
    /// Sets both ports from the first four bytes of a TCP, UDP or SCTP header (source port, then
    /// destination port, as the key holds them) with one 32-bit store, and the protocol with its
    /// zero pad with another. The hash reads the key as four 32-bit words right after the parser
    /// writes it: words written by narrower stores (two 16-bit ports, a protocol byte) cannot be
    /// forwarded to those loads and stall them (~10 cycles a packet in dirigo-bench's profile).
    void set_ports_proto(const void* l4, uint8_t protocol) noexcept {
        std::memcpy(&sport, l4, 4);
        static_assert(std::endian::native == std::endian::little, "the protocol byte first");
        const uint32_t w = protocol;  // protocol, then three zero bytes
        std::memcpy(&proto, &w, 4);
    }
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
static_assert(offsetof(FlowKey, dport) == offsetof(FlowKey, sport) + 2 &&
                  offsetof(FlowKey, proto) == 12 && offsetof(FlowKey, pad) == 13,
              "set_ports_proto() stores the ports and the protocol word whole");

}  // namespace dirigo::ct
