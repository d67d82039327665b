// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Flow ownership across workers.
///
/// Every connection belongs to one worker, chosen from its client-side endpoint only, so the
/// client's packets and the real server's NAT replies meet on the same core and the connection
/// table stays private. A packet addressed to one of our addresses comes from a client (its source
/// is the client); any other packet is a reply or transit traffic (its destination is the client
/// side). A worker that receives a packet it does not own hands it to the owner through a
/// single-producer single-consumer ring, in bursts (Worker::process_burst).
///
/// Two owner functions, chosen once at start-up (Dataplane::create) and the same for every user
/// (the workers' hand-off decision, the sync daemon's installs):
/// - software: a Fibonacci hash of the client's address and port over the workers. The NIC's
///   queue has nothing to do with it, so (n-1)/n of the packets are handed off.
/// - RSS: every port hashes the client's endpoint with Toeplitz and Dirigo's key (source-only
///   where clients arrive, destination-only where NAT replies arrive), and its redirection table
///   sends entry i to queue reta_entry(i); the owner is that same hash and table computed in
///   software, so each TCP/UDP packet already arrives on its owner's queue and nothing is handed
///   off. Hand-off stays as the safety net (a packet the NIC hashed otherwise: an ICMP error, a
///   fragment, a port with a misdeclared side) and correctness never depends on the NIC.
/// docs/architecture.md, "Flow ownership and RSS", says how and where each was verified.

#include <array>
#include <cstddef>
#include <cstdint>

#include <rte_byteorder.h>

#include "dataplane/hash.hpp"

namespace dirigo::dp {

inline constexpr uint32_t kMaxWorkers = 16;

/// Owner of the flow whose client endpoint is `ip`:`port` (network order) among `n` workers, by
/// the software hash. Thread: any. Cost: a multiply and a shift.
inline uint32_t flow_owner(uint32_t ip, uint16_t port, uint32_t n) noexcept {
    return fib_range((static_cast<uint64_t>(ip) << 16) | port, n);
}

/// Dirigo's Toeplitz key: the bytes 0x6d 0x5a repeated, as long as the device's key. Its bits
/// repeat every 16, so a 16-bit-aligned field contributes the same hash bits at any offset of the
/// hash input: a NIC that hashes "source only" as (src addr, src port) packed, or in place with
/// the destination fields zeroed, gives the same hash as one that hashes "destination only" over
/// (dst addr, dst port) -- what makes both directions of a NAT flow agree without depending on
/// how a driver lays out a partial tuple. Thread: any.
inline constexpr uint8_t kRssKeyByte[2] = {0x6d, 0x5a};
/// Longest key Dirigo writes (devices report 40 or 52 bytes).
inline constexpr size_t kRssKeyMax = 128;
/// The owner function's redirection table: at most this many entries (a device's larger table
/// repeats it).
inline constexpr uint32_t kOwnerRetaMax = 512;

/// Fills `key` with `len` bytes of Dirigo's key. Thread: any.
inline void rss_key(uint8_t* key, size_t len) noexcept {
    for (size_t i = 0; i < len; ++i) {
        key[i] = kRssKeyByte[i & 1];
    }
}

/// The owner function in use, built once at start-up and read-only afterwards (shared by every
/// worker and the control thread).
class FlowOwners {
public:
    /// Software ownership over `n` workers (1..kMaxWorkers).
    static FlowOwners software(uint32_t n) noexcept;
    /// RSS ownership over `n` workers with a redirection table of `reta_size` entries (a power
    /// of two, at least `n`: the smallest table of the ports; a larger one is clamped to
    /// kOwnerRetaMax, which a larger device table repeats).
    /// Entry i sends to worker i mod n.
    static FlowOwners rss(uint32_t n, uint32_t reta_size) noexcept;

    /// Owner of the flow whose client endpoint is `ip`:`port` (network order).
    /// Thread: any. Cost: RSS, two table loads, a few XORs and one more load (no loop, no
    /// branch on data); software, a multiply and a shift.
    uint32_t owner(uint32_t ip, uint16_t port) const noexcept {
        if (!rss_) {
            return flow_owner(ip, port, n_);
        }
        return reta_[rss_hash(ip, port) & reta_mask_];
    }

    /// The Toeplitz hash with Dirigo's key of the 6 bytes (ip, port) (network order): what the
    /// NIC computes over the client's endpoint, equal to rte_softrss over it (unit-tested).
    /// Thread: any. Cost: two table loads.
    uint32_t rss_hash(uint32_t ip, uint16_t port) const noexcept {
        // The key repeats every 16 bits, so the hash is linear in the XOR of the input's 16-bit
        // words: the address's two halves and the port, each with its first byte on the wire
        // as the high byte.
        const uint32_t h = rte_be_to_cpu_32(ip);
        const uint32_t f = (h >> 16) ^ (h & 0xffff) ^ rte_be_to_cpu_16(port);
        return hi_[f >> 8] ^ lo_[f & 0xff];
    }

    bool is_rss() const noexcept { return rss_; }
    uint32_t n_workers() const noexcept { return n_; }
    /// Entries of the owner's redirection table (RSS; 0 in software mode).
    uint32_t reta_size() const noexcept { return rss_ ? reta_mask_ + 1 : 0; }
    /// The queue (= worker) that entry `i` of a port's redirection table must hold, for a table
    /// of any power-of-two size >= reta_size(). Thread: any.
    uint16_t reta_entry(uint32_t i) const noexcept { return reta_[i & reta_mask_]; }

private:
    FlowOwners() = default;

    std::array<uint32_t, 256> hi_{};  ///< hash of the folded word's high byte
    std::array<uint32_t, 256> lo_{};  ///< hash of its low byte
    std::array<uint8_t, kOwnerRetaMax> reta_{};
    uint32_t reta_mask_ = 0;
    uint32_t n_ = 1;
    bool rss_ = false;
};

}  // namespace dirigo::dp
