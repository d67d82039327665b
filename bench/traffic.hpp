// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Traffic for dirigo-bench, made on the worker's own core as a NIC would deliver it. The rig's
/// ports are `net_null` devices (copy=1): their RX allocates mbufs from the pool and copies a
/// zeroed frame into each, their TX frees what it is given. A FrameSource, installed as the RX
/// callback of one port (rte_eth_add_rx_callback), then stamps every received mbuf's header line
/// with the next frame of a precomputed stream: a template per direction (client -> VIP, and each
/// real server's reply) patched with one connection's client endpoint, the connection taken from
/// a precomputed uniform or Zipf sequence. The callback runs inside rte_eth_rx_burst on the
/// polling core, so whatever polls the port -- the real Worker loop or a testpmd-style baseline
/// -- pays the same generator cost, and no header crosses between cores.
///
/// The same callback is the clock (LoopClock): one TSC read per RX burst, the interval up to the
/// next burst charged to the packets of this one; intervals longer than a preemption limit (the
/// shared machine took the core away) are left out and counted.
///
/// Thread: a FrameSource and its LoopClock are written by the polling lcore only (inside
/// rx_burst); the main lcore reconfigures them only while nothing polls, and reads the clock's
/// counters with relaxed loads at any time.

#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_ether.h>

#include "bench/bench_frames.hpp"
#include "bench/bench_traffic.hpp"

struct rte_mbuf;

namespace dirigo::bench {

inline constexpr uint32_t kRealServers = 8;
/// Entries of a stream sequence (each a connection index and its real server), a power of two.
inline constexpr size_t kSeqLen = 1u << 22;
inline constexpr size_t kSeqMask = kSeqLen - 1;
/// A stream entry: connection index in the low kFlowBits, its real server above.
inline constexpr uint32_t kFlowBits = 28;
inline constexpr uint32_t kFlowMask = (1u << kFlowBits) - 1;

constexpr uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}
// The test network, host order.
inline constexpr uint32_t kExtAddr = ip4(10, 0, 0, 1);
inline constexpr uint32_t kVip = ip4(10, 0, 0, 100);
inline constexpr uint32_t kGateway = ip4(10, 0, 0, 254);  ///< next hop towards the clients
inline constexpr uint32_t kIntAddr = ip4(172, 16, 0, 1);
inline constexpr uint32_t kRsBase = ip4(172, 16, 0, 11);  ///< real servers .11 to .18
inline constexpr uint16_t kPort = 80;
inline constexpr rte_ether_addr kGwMac = {{0x02, 0xcc, 0, 0, 0, 0xfe}};
/// The MAC of real server `i`.
inline rte_ether_addr rs_mac(uint32_t i) {
    return {{0x02, 0x5e, 0, 0, 0, static_cast<uint8_t>(0x11 + i)}};
}

// The IPv6 test network, in RFC 5180's benchmarking prefix 2001:2::/48: the clients' side
// 2001:2:0:a::/64 (director ::1, VIP ::100, gateway ::fe), the real servers' 2001:2:0:b::/64
// (director ::1, real servers ::11 to ::18), and the clients 2001:2:0:c::/96 beyond the gateway,
// flow f being 2001:2:0:c::<client_addr(f)> (bench_traffic.hpp).
/// The address `hi`:0:0:`lo32` (`hi` the first 64 bits, host order).
constexpr Addr6 addr6(uint64_t hi, uint32_t lo32) {
    Addr6 a{};
    for (int i = 0; i < 8; ++i) {
        a[static_cast<size_t>(i)] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    }
    for (int i = 0; i < 4; ++i) {
        a[static_cast<size_t>(12 + i)] = static_cast<uint8_t>(lo32 >> (24 - 8 * i));
    }
    return a;
}
inline constexpr uint64_t kExtNet6 = 0x20010002000000aull;
inline constexpr uint64_t kIntNet6 = 0x20010002000000bull;
inline constexpr uint64_t kClientNet6 = 0x20010002000000cull;
inline constexpr Addr6 kExtAddr6 = addr6(kExtNet6, 1);
inline constexpr Addr6 kVip6 = addr6(kExtNet6, 0x100);
inline constexpr Addr6 kGateway6 = addr6(kExtNet6, 0xfe);
inline constexpr Addr6 kIntAddr6 = addr6(kIntNet6, 1);
/// Real server `i` (0 to kRealServers - 1): 2001:2:0:b::11 and on.
constexpr Addr6 rs_addr6(uint32_t i) {
    return addr6(kIntNet6, 0x11 + i);
}

/// The frame templates of one rig: client -> VIP (source patched per connection) and each real
/// server's reply (destination patched). Frames are 60 bytes in the mbuf (64 on the wire).
struct Templates {
    std::vector<Template> to_vip;  ///< one entry
    std::vector<Template> reply;   ///< one per real server
    uint16_t len = 60;

    /// `ext_mac`/`int_mac` are the director's port MACs; flags are TCP flag bytes.
    Templates(const rte_ether_addr& ext_mac, const rte_ether_addr& int_mac, uint8_t to_vip_flags,
              uint8_t reply_flags);
};

/// The IPv6 twin of Templates: client -> [VIP6]:80 and each real server's reply, the smallest
/// IPv6 TCP frames (74 bytes in the mbuf, 78 on the wire).
struct Templates6 {
    std::vector<Template6> to_vip;  ///< one entry
    std::vector<Template6> reply;   ///< one per real server
    uint16_t len = kTcpFrameMin6;

    Templates6(const rte_ether_addr& ext_mac, const rte_ether_addr& int_mac, uint8_t to_vip_flags,
               uint8_t reply_flags);
};

/// Cycles and packets of the polling loop, measured by the RX callbacks. Thread: see the file.
struct alignas(64) LoopClock {
    uint64_t limit = 0;  ///< TSC cycles: a longer interval was a preemption
    uint64_t last = 0;   ///< TSC of the previous burst, 0 after reset()
    uint32_t last_n = 0;
    bool frozen = false;  ///< set when a finite source ran out: idle loops are not charged
    alignas(64) std::atomic<uint64_t> busy_cycles{0};
    std::atomic<uint64_t> busy_pkts{0};
    std::atomic<uint64_t> pkts{0};
    std::atomic<uint64_t> gaps{0};  ///< intervals left out as preemptions

    /// Forgets the previous burst (the next interval starts at the next burst). Thread: main
    /// lcore, nothing polling.
    void reset() noexcept {
        last = 0;
        last_n = 0;
        frozen = false;
    }
    /// Called once per RX burst with the packets it delivers. Cost: one TSC read.
    void tick(uint32_t n) noexcept;
};

/// What a FrameSource delivers.
enum class Feed : uint8_t {
    Off,     ///< nothing (every mbuf the PMD made is freed)
    Script,  ///< a list of whole frames, once (ARP requests)
    Stream,  ///< endless, from a sequence of (connection, real server) entries
    Range,   ///< connections [first, end) once each, then nothing
    Opens,   ///< connections [first, end), each three packets apart by a block, then nothing
};

/// One port's traffic: the RX callback. Thread: see the file.
class FrameSource {
public:
    explicit FrameSource(LoopClock& clock) : clock_(&clock) {}

    /// Installs the callback on RX queue `queue` of `port`. False on failure. Thread: main lcore.
    bool attach(uint16_t port, uint16_t queue = 0);
    /// Removes it (the object must outlive any rx_burst in flight). Thread: main lcore.
    void detach();

    void off() {
        feed_ = Feed::Off;
        done_.store(true, std::memory_order_relaxed);
    }
    /// Delivers `frames` once, in order.
    void script(std::vector<FrameBytes> frames);
    /// Endless traffic: entry e of `seq` (kSeqLen entries) is connection e & kFlowMask, stamped
    /// with `tmpl[e >> kFlowBits]` when `by_rs`, else `tmpl[0]`; starts at `start`.
    void stream(const std::vector<Template>& tmpl, bool by_rs, const std::vector<uint32_t>& seq,
                size_t start);
    /// The same with IPv6 frames.
    void stream(const std::vector<Template6>& tmpl, bool by_rs, const std::vector<uint32_t>& seq,
                size_t start);
    /// Connections [first, end) once each; template by `rs_of[flow]` when `rs_of` is set. With
    /// `list`, positions [first, end) of it instead (the connections one worker owns).
    void range(const std::vector<Template>& tmpl, uint32_t first, uint32_t end,
               const std::vector<uint8_t>* rs_of, const std::vector<uint32_t>* list = nullptr);
    /// The same with IPv6 frames.
    void range(const std::vector<Template6>& tmpl, uint32_t first, uint32_t end,
               const std::vector<uint8_t>* rs_of, const std::vector<uint32_t>* list = nullptr);
    /// Connections [first, end) opened as clients open them: per block of `block` connections,
    /// the first packet of each (`tmpl[0]`, a SYN), then the second of each (`tmpl[1]`, the
    /// ACK), then the third (`tmpl[2]`, data), so a connection's packets are `block` packets
    /// apart (never in one burst when `block` >= kBurst) and every connection is whole once the
    /// source is done. `tmpl` has three entries and must outlive the source's use.
    void opens(const std::vector<Template>& tmpl, uint32_t first, uint32_t end, uint32_t block);
    /// True once a Script, Range or Opens source has delivered everything (relaxed: pairs with the
    /// polling lcore's relaxed store; only a hint to stop waiting).
    bool done() const { return done_.load(std::memory_order_relaxed); }
    /// True for a source that runs out (Script, Range, Opens). Thread: main lcore.
    bool finite() const {
        return feed_ == Feed::Script || feed_ == Feed::Range || feed_ == Feed::Opens;
    }

private:
    static uint16_t on_rx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t max,
                          void* arg);
    uint16_t fill(rte_mbuf** pkts, uint16_t n) noexcept;
    /// Stamps pkts[0, n) of a Stream or a Range with `T` (Template or Template6) frames; returns
    /// how many it stamped (fewer when a Range ends).
    template <class T>
    uint16_t stamp(const T* tmpl, rte_mbuf** pkts, uint16_t n) noexcept;

    LoopClock* clock_;
    Feed feed_ = Feed::Off;
    const Template* tmpl_ = nullptr;
    const Template6* tmpl6_ = nullptr;  ///< set instead of tmpl_ for IPv6 Stream and Range
    bool by_rs_ = false;
    const uint32_t* seq_ = nullptr;
    size_t pos_ = 0;
    uint32_t next_ = 0;
    uint32_t end_ = 0;
    uint32_t block_ = 0;      ///< Opens: connections per block
    uint32_t blk_first_ = 0;  ///< Opens: the current block's first connection
    uint32_t blk_end_ = 0;    ///< ... and its end
    uint32_t phase_ = 0;      ///< Opens: which packet of the block's connections (0, 1, 2)
    const uint8_t* rs_of_ = nullptr;
    const uint32_t* list_ = nullptr;  ///< Range: connection of each position, or identity
    std::vector<FrameBytes> script_;
    std::atomic<bool> done_{false};
    uint16_t port_ = 0;
    uint16_t queue_ = 0;
    const void* cb_ = nullptr;  ///< rte_eth_add_rx_callback's handle
};

/// Records, from the frames a port transmits, which real server each client connection went to
/// (the TX callback of the real-server side during the SYN pass), from IPv4 and IPv6 frames
/// alike. Thread: like FrameSource.
class RsTap {
public:
    explicit RsTap(std::vector<uint8_t>& rs_of) : rs_of_(&rs_of) {}
    /// Taps TX queue `queue` of `port` (one tap per worker: each writes the entries of the
    /// connections its worker owns, distinct bytes of `rs_of`).
    bool attach(uint16_t port, uint16_t queue = 0);
    void detach();
    /// Connections seen so far (read after the worker stopped).
    uint32_t seen() const { return seen_; }

private:
    static uint16_t on_tx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* arg);
    std::vector<uint8_t>* rs_of_;
    uint32_t seen_ = 0;
    uint16_t port_ = 0;
    uint16_t queue_ = 0;
    const void* cb_ = nullptr;
};

/// A stream sequence over `conns` connections: `len` entries (connection | real server << 28),
/// uniform or Zipf (bench_traffic.hpp), deterministic for `seed`.
std::vector<uint32_t> stream_sequence(uint32_t conns, Popularity pop,
                                      const std::vector<uint8_t>& rs_of, uint64_t seed);

/// The entries of `seq` whose connection worker `w` of `workers` owns (dp::flow_owner of its
/// client endpoint), in order and repeated to kSeqLen entries: what a NIC steering each flow to
/// its owner's queue would hand that worker. Empty when `w` owns none of them.
std::vector<uint32_t> owned_sequence(const std::vector<uint32_t>& seq, uint32_t w,
                                     uint32_t workers);
/// The connections of [0, conns) that worker `w` of `workers` owns, in order.
std::vector<uint32_t> owned_connections(uint32_t conns, uint32_t w, uint32_t workers);

}  // namespace dirigo::bench
