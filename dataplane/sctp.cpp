// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/sctp.hpp"

#include <rte_hash_crc.h>

namespace dirigo::dp {

// Out of line on purpose: rte_hash_crc.h keeps its choice of instruction in a static variable of
// each translation unit that includes it, so one unit owns it. The call costs nothing next to a
// pass over the packet.
uint32_t sctp_crc32c(const uint8_t* sctp, uint32_t len) noexcept {
    // rte_hash_crc is the raw reflected CRC32c register update: no inversions of its own.
    uint32_t crc = rte_hash_crc(sctp, kSctpCsumOffset, 0xffffffffu);
    crc = rte_hash_crc_4byte(0, crc);  // the checksum field, read as zero
    crc = rte_hash_crc(sctp + kSctpHdrLen, len - kSctpHdrLen, crc);
    return ~crc;
}

}  // namespace dirigo::dp
