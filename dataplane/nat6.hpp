// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// IPv6 NAT rewrites (docs/architecture.md, "IPv6 services"). IPv6 has no header checksum; the
/// TCP and UDP checksums cover the IPv6 pseudo-header (RFC 8200 8.1), so a rewritten address is
/// eight 16-bit words replaced in the checksum (RFC 1624, as dataplane/checksum.hpp does for
/// IPv4), plus the port's word. UDP over IPv6 always has a checksum: a computed zero is sent as
/// 0xffff. Thread: any. Cost: a few dozen ALU operations; no memory beyond the headers.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <netinet/in.h>
#include <rte_ip.h>

#include "dataplane/checksum.hpp"
#include "dataplane/packet.hpp"

namespace dirigo::dp {

/// Checksum field `check` after the 16 bytes `from` become `to` (both network order).
inline uint16_t csum_replace16(uint16_t check, const uint8_t* from, const uint8_t* to) noexcept {
    uint32_t sum = static_cast<uint16_t>(~check);
    for (size_t i = 0; i < 16; i += 2) {
        uint16_t a;
        uint16_t b;
        std::memcpy(&a, from + i, 2);
        std::memcpy(&b, to + i, 2);
        sum += static_cast<uint16_t>(~a);
        sum += b;
    }
    return static_cast<uint16_t>(~csum_fold(sum));
}

/// Rewrites one endpoint of a TCP or UDP packet over IPv6 to [`addr`]:`port` (network order),
/// updating its checksum incrementally. `l4` holds at least the whole TCP (20) or UDP (8) header.
inline void rewrite_endpoint6(rte_ipv6_hdr* ip6, void* l4, Endpoint which, const uint8_t* addr,
                              uint16_t port) noexcept {
    const uint8_t proto = ip6->proto;
    auto* l4b = static_cast<uint8_t*>(l4);
    uint8_t* port_field = l4b + (which == Endpoint::Source ? 0 : 2);
    uint8_t* addr_field = which == Endpoint::Source ? ip6->src_addr : ip6->dst_addr;
    uint8_t* csum = l4b + l4_csum_offset(proto);
    uint16_t c = csum_replace16(load16(csum), addr_field, addr);
    c = csum_replace2(c, load16(port_field), port);
    store16(csum, (proto == IPPROTO_UDP && c == 0) ? 0xffff : c);
    std::memcpy(addr_field, addr, 16);
    store16(port_field, port);
}

}  // namespace dirigo::dp
