// SPDX-License-Identifier: BSD-3-Clause
// The owner function's cost per packet: today's software hash (a multiply) against the RSS owner
// (Dirigo's table form of the Toeplitz hash, and rte_softrss_be over the same two words with the
// converted key, which the table replaces). Each iteration owns a burst of 32 flows out of a set
// of 4096 random ones, as Worker::process_burst's stage 1 does per packet.

#include <array>
#include <cstdint>
#include <random>

#include <benchmark/benchmark.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_thash.h>

#include "dataplane/ownership.hpp"

namespace {

using dirigo::dp::FlowOwners;

constexpr uint32_t kFlows = 4096;
constexpr uint32_t kBurst = 32;

struct Flows {
    std::array<uint32_t, kFlows> ip{};
    std::array<uint16_t, kFlows> port{};
    Flows() {
        std::mt19937_64 rng(42);
        for (uint32_t i = 0; i < kFlows; ++i) {
            ip[i] = static_cast<uint32_t>(rng());
            port[i] = static_cast<uint16_t>(rng());
        }
    }
};

template <class Owner>
void run(benchmark::State& state, Owner&& owner) {
    static const Flows f;
    uint32_t base = 0;
    uint64_t cycles = 0;
    uint64_t items = 0;
    for (auto _ : state) {
        const uint64_t t0 = rte_rdtsc();
        uint32_t acc = 0;
        for (uint32_t i = 0; i < kBurst; ++i) {
            const uint32_t k = (base + i) & (kFlows - 1);
            acc += owner(f.ip[k], f.port[k]);
        }
        benchmark::DoNotOptimize(acc);
        cycles += rte_rdtsc() - t0;
        items += kBurst;
        base += kBurst;
    }
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.counters["cycles_per_pkt"] = static_cast<double>(cycles) / static_cast<double>(items);
}

void BM_Ownership_Software(benchmark::State& state) {
    const FlowOwners o = FlowOwners::software(static_cast<uint32_t>(state.range(0)));
    run(state, [&o](uint32_t ip, uint16_t port) { return o.owner(ip, port); });
}

void BM_Ownership_RssTable(benchmark::State& state) {
    const FlowOwners o = FlowOwners::rss(static_cast<uint32_t>(state.range(0)), 128);
    run(state, [&o](uint32_t ip, uint16_t port) { return o.owner(ip, port); });
}

// What the table replaces: rte_softrss_be over (client address, client port) with the converted
// key, then the same redirection table.
void BM_Ownership_SoftrssBe(benchmark::State& state) {
    const FlowOwners o = FlowOwners::rss(static_cast<uint32_t>(state.range(0)), 128);
    alignas(4) static uint8_t key[40];
    alignas(4) static uint8_t converted[40];
    dirigo::dp::rss_key(key, sizeof(key));
    rte_convert_rss_key(reinterpret_cast<const uint32_t*>(key),
                        reinterpret_cast<uint32_t*>(converted), sizeof(key));
    run(state, [&o](uint32_t ip, uint16_t port) {
        uint32_t t[2] = {rte_be_to_cpu_32(ip), static_cast<uint32_t>(rte_be_to_cpu_16(port)) << 16};
        return o.reta_entry(rte_softrss_be(t, 2, converted));
    });
}

BENCHMARK(BM_Ownership_Software)->Arg(2)->Arg(4);
BENCHMARK(BM_Ownership_RssTable)->Arg(2)->Arg(4);
BENCHMARK(BM_Ownership_SoftrssBe)->Arg(2)->Arg(4);

}  // namespace

BENCHMARK_MAIN();
