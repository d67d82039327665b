// SPDX-License-Identifier: BSD-3-Clause
// Packet pipeline micro-benchmarks: the per-packet header work of a worker, without EAL, rings or
// tables. BM_Pipeline_Parse parses a burst of prebuilt TCP frames (stage 1 of the worker loop);
// BM_Pipeline_NatRewrite is stage 3's rewrite of an inbound NAT packet (destination address and
// port, TTL, incremental IPv4 and TCP checksums); BM_Pipeline_SctpCrc32c is the CRC32c an SCTP
// NAT rewrite adds when it changes a port. Run: build/bench/pipeline_bench.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <rte_cycles.h>
#include <rte_ether.h>

#include "bench/bench_frames.hpp"
#include "bench/bench_traffic.hpp"
#include "dataplane/packet.hpp"

namespace {

using dirigo::bench::client_addr;
using dirigo::bench::client_port;
using dirigo::bench::kTcpAck;
using dirigo::bench::tcp_frame;
namespace dp = dirigo::dp;

constexpr uint32_t kMaxBurst = 32;

/// One frame per cache-line pair, like mbuf data: frames never share a line.
struct alignas(64) Slot {
    std::array<uint8_t, 128> b;
};

/// `n` 60-byte TCP ACK frames of distinct client flows to the VIP.
std::vector<Slot> make_frames(uint32_t n) {
    const rte_ether_addr dst = {{0x02, 0xd1, 0, 0, 0, 0x01}};
    const rte_ether_addr src = {{0x02, 0xcc, 0, 0, 0, 0xfe}};
    const uint32_t vip = rte_cpu_to_be_32((10u << 24) | 100u);
    std::vector<Slot> v(n);
    for (uint32_t i = 0; i < n; ++i) {
        const auto f = tcp_frame(dst, src, client_addr(i * 7919), client_port(i * 7919), vip,
                                 rte_cpu_to_be_16(80), kTcpAck, 60);
        std::memcpy(v[i].b.data(), f.b.data(), f.len);
    }
    return v;
}

/// Sets the throughput and the TSC cycles per packet of a run.
void report(benchmark::State& state, uint64_t cycles, uint64_t items) {
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.counters["cycles_per_pkt"] =
        items == 0 ? 0.0 : static_cast<double>(cycles) / static_cast<double>(items);
}

void BM_Pipeline_Parse(benchmark::State& state) {
    const auto burst = static_cast<uint32_t>(state.range(0));
    auto frames = make_frames(kMaxBurst);
    std::array<dp::Parsed, kMaxBurst> parsed{};
    uint64_t items = 0;
    uint32_t base = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        for (uint32_t i = 0; i < burst; ++i) {
            const uint32_t k = (base + i) & (kMaxBurst - 1);
            dp::parse_frame(frames[k].b.data(), 60, parsed[i]);
        }
        benchmark::DoNotOptimize(parsed.data());
        benchmark::ClobberMemory();
        base = (base + burst) & (kMaxBurst - 1);
        items += burst;
    }
    report(state, rte_rdtsc() - t0, items);
    // Quality next to speed: every frame must have parsed as TCP with a key.
    state.counters["ok"] = parsed[0].cls == dp::PktClass::Ipv4L4 ? 1 : 0;
}
BENCHMARK(BM_Pipeline_Parse)->Arg(1)->Arg(32);

void BM_Pipeline_NatRewrite(benchmark::State& state) {
    const auto burst = static_cast<uint32_t>(state.range(0));
    auto frames = make_frames(kMaxBurst);
    // Alternate between two real servers so every rewrite changes the header and the checksums.
    const uint32_t rs[2] = {rte_cpu_to_be_32((172u << 24) | (16u << 16) | 11u),
                            rte_cpu_to_be_32((172u << 24) | (16u << 16) | 12u)};
    const uint16_t rport[2] = {rte_cpu_to_be_16(8080), rte_cpu_to_be_16(8081)};
    uint64_t items = 0;
    uint32_t base = 0;
    uint32_t flip = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        for (uint32_t i = 0; i < burst; ++i) {
            uint8_t* f = frames[(base + i) & (kMaxBurst - 1)].b.data();
            auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + dirigo::bench::kIpOff);
            void* l4 = f + dirigo::bench::kL4Off;
            // The TTL wraps from 0 to 255 here (the worker stops at 1); the cost is the same and
            // the checksum stays exact.
            dp::decrement_ttl(ip);
            dp::rewrite_dst(ip, l4, rs[flip], rport[flip]);
        }
        benchmark::ClobberMemory();
        base = (base + burst) & (kMaxBurst - 1);
        flip ^= base == 0 ? 1u : 0u;
        items += burst;
    }
    report(state, rte_rdtsc() - t0, items);
    // The checksum must still verify after millions of incremental updates.
    dp::Parsed p;
    dp::parse_frame(frames[0].b.data(), 60, p);
    state.counters["ip_csum_ok"] = p.cls == dp::PktClass::Ipv4L4 ? 1 : 0;
}
BENCHMARK(BM_Pipeline_NatRewrite)->Arg(1)->Arg(32);

/// What an SCTP NAT rewrite that changes a port adds to the one above: the CRC32c over the whole
/// SCTP packet (common header and chunks, `range(0)` bytes), with the crc32 instruction
/// (range(1) == 0) or the table-driven scalar twin (1). Four packets, so the data sits in L1.
void BM_Pipeline_SctpCrc32c(benchmark::State& state) {
    const auto len = static_cast<uint32_t>(state.range(0));
    const bool scalar = state.range(1) != 0;
    constexpr uint32_t kPkts = 4;
    const uint32_t stride = (len + 2 + 127) / 128 * 128;
    std::vector<Slot> storage(stride / 128 * kPkts);
    auto* base = reinterpret_cast<uint8_t*>(storage.data());
    for (uint32_t i = 0; i < stride * kPkts; ++i) {
        base[i] = static_cast<uint8_t>(i * 131);
    }
    uint64_t items = 0;
    uint32_t sink = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        // An SCTP header at a frame's offset 34 is never 8-byte aligned: nor is it here.
        uint8_t* pkt = base + (items & (kPkts - 1)) * stride + 2;
        sink ^= scalar ? dp::sctp_crc32c_sw(pkt, len) : dp::sctp_crc32c(pkt, len);
        benchmark::DoNotOptimize(sink);
        ++items;
    }
    report(state, rte_rdtsc() - t0, items);
    state.SetBytesProcessed(static_cast<int64_t>(items * len));
}
BENCHMARK(BM_Pipeline_SctpCrc32c)
    ->Args({64, 0})
    ->Args({512, 0})
    ->Args({1480, 0})
    ->Args({64, 1})
    ->Args({512, 1})
    ->Args({1480, 1});

}  // namespace

BENCHMARK_MAIN();
