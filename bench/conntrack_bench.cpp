// SPDX-License-Identifier: BSD-3-Clause
// Connection table micro-benchmarks at 1K, 100K, 1M and (memory allowing) 10M live connections,
// each indexed by both of its keys as NAT does:
//   BM_Conntrack_LookupHit   burst lookup (32 keys) of live keys, uniform over flows and direction
//   BM_Conntrack_LookupMiss  burst lookup of keys that are not in the table
//   BM_Conntrack_SweepIdle   the per-loop bounded sweep (64 entries) when nothing has expired
//   BM_Conntrack_Churn       steady state at the occupancy: insert 32 new connections, remove the
//                            32 oldest (per item: one insert plus one removal)
//   BM_Conntrack_Insert      filling an empty table to the occupancy (per item: one insert)
//   BM_Conntrack_Expire      a sweep that finds every entry expired (per item: one removal)
// Every benchmark reports items/s, cycles_per_pkt (TSC cycles per item) and bytes_per_conn
// (ConnTable::memory_bytes() / capacity). EAL starts with --no-huge --no-pci on one lcore.
// Run: build/bench/conntrack_bench [--benchmark_filter=...]; DIRIGO_BENCH_MAX_CONNS caps the sizes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>

#include "bench/bench_sys.hpp"
#include "bench/bench_traffic.hpp"
#include "conntrack/conn_table.hpp"

namespace {

namespace ct = dirigo::ct;
namespace bench = dirigo::bench;

constexpr uint32_t kBurst = 32;
constexpr size_t kSeqLen = 1u << 16;  // keys walked by the lookup loops (power of two)
constexpr uint32_t kHeadroom = 64;    // free entries so churn can insert before it removes
constexpr uint32_t kRealServers = 8;
constexpr uint32_t kMissBase = 1u << 30;  // flow indices no table here ever holds

const uint32_t kVip = rte_cpu_to_be_32((10u << 24) | 100u);

ct::FlowKey client_key(uint32_t f) {
    ct::FlowKey k;
    k.saddr = bench::client_addr(f);
    k.daddr = kVip;
    k.sport = bench::client_port(f);
    k.dport = rte_cpu_to_be_16(80);
    k.proto = 6;
    return k;
}

ct::Conn make_conn(uint32_t f, uint64_t expire) {
    ct::Conn c;
    c.client = client_key(f);
    c.raddr = rte_cpu_to_be_32((172u << 24) | (16u << 16) | (11u + f % kRealServers));
    c.rport = rte_cpu_to_be_16(80);
    c.state = ct::TcpState::Established;
    c.expire = expire;
    c.dest_slot = f % kRealServers;
    return c;
}

/// One table at a time (the 10M one is ~2 GB), built for an occupancy and reused by every
/// benchmark of that occupancy.
struct Fixture {
    uint32_t occ = 0;
    std::unique_ptr<ct::ConnTable> table;
    std::deque<uint32_t> live;  ///< entry indices, oldest first (for churn)
    uint32_t next_flow = 0;     ///< next fresh flow index

    static Fixture& get(uint32_t occ) {
        Fixture& f = instance();
        if (f.occ != occ || !f.table) {
            f.build(occ);
        }
        return f;
    }
    static Fixture& instance() {
        static Fixture f;
        return f;
    }

    void build(uint32_t n) {
        static int seq = 0;
        table.reset();
        live.clear();
        auto t = ct::ConnTable::create("ctb" + std::to_string(seq++), n + kHeadroom,
                                       static_cast<int>(rte_socket_id()));
        if (!t) {
            std::fprintf(stderr, "conntrack_bench: %s\n", t.status().message().c_str());
            std::exit(1);
        }
        table = std::move(*t);
        occ = n;
        for (uint32_t f = 0; f < n; ++f) {
            live.push_back(table->insert(make_conn(f, UINT64_MAX), true));
        }
        next_flow = n;
    }

    /// Removes every live entry.
    void clear() {
        for (uint32_t idx : live) {
            table->remove(idx);
        }
        live.clear();
    }

    /// Inserts `n` fresh connections; returns TSC cycles spent in insert().
    uint64_t fill(uint32_t n, uint64_t expire) {
        const uint64_t t0 = rte_rdtsc();
        for (uint32_t i = 0; i < n; ++i) {
            live.push_back(table->insert(make_conn(next_flow + i, expire), true));
        }
        const uint64_t t = rte_rdtsc() - t0;
        next_flow += n;
        return t;
    }

    double bytes_per_conn() const {
        return static_cast<double>(table->memory_bytes()) / table->capacity();
    }
};

void report(benchmark::State& state, const Fixture& fx, uint64_t cycles, uint64_t items) {
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.counters["cycles_per_pkt"] =
        items == 0 ? 0.0 : static_cast<double>(cycles) / static_cast<double>(items);
    state.counters["bytes_per_conn"] = fx.bytes_per_conn();
    state.counters["live_conns"] = fx.table->size();
}

/// kSeqLen keys: live ones (uniform over flows, either direction) or absent ones.
std::vector<ct::FlowKey> key_sequence(const Fixture& fx, bool hit) {
    std::vector<ct::FlowKey> keys(kSeqLen);
    bench::SplitMix64 rng(hit ? 1 : 2);
    for (auto& k : keys) {
        if (!hit) {
            k = client_key(kMissBase + rng.below(1u << 24));
            continue;
        }
        const uint32_t f = rng.below(fx.occ);
        const ct::Conn c = make_conn(f, 0);
        k = (rng.next() & 1) != 0 ? c.reply_key() : c.client;
    }
    return keys;
}

void lookup_bench(benchmark::State& state, uint32_t occ, bool hit) {
    Fixture& fx = Fixture::get(occ);
    const auto keys = key_sequence(fx, hit);
    const ct::FlowKey* kp[kBurst];
    uint32_t out[kBurst];
    size_t pos = 0;
    uint64_t items = 0;
    uint64_t found = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        for (uint32_t i = 0; i < kBurst; ++i) {
            kp[i] = &keys[pos + i];
        }
        fx.table->lookup_bulk(kp, kBurst, out);
        benchmark::DoNotOptimize(out);
        found += out[0] != ct::kMiss ? 1 : 0;
        pos = (pos + kBurst) & (kSeqLen - 1);
        items += kBurst;
    }
    report(state, fx, rte_rdtsc() - t0, items);
    // Quality: the hit benchmark must hit, the miss benchmark must miss.
    state.counters["hit_pct"] =
        items == 0 ? 0.0 : 100.0 * static_cast<double>(found) * kBurst / static_cast<double>(items);
}

void sweep_idle_bench(benchmark::State& state, uint32_t occ) {
    Fixture& fx = Fixture::get(occ);
    uint64_t items = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        const uint32_t removed = fx.table->sweep(rte_rdtsc(), 64, [](uint32_t, const ct::Conn&) {});
        benchmark::DoNotOptimize(removed);
        items += 64;
    }
    report(state, fx, rte_rdtsc() - t0, items);
}

void churn_bench(benchmark::State& state, uint32_t occ) {
    Fixture& fx = Fixture::get(occ);
    uint64_t items = 0;
    uint64_t failed = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        for (uint32_t i = 0; i < kBurst; ++i) {
            const uint32_t idx = fx.table->insert(make_conn(fx.next_flow++, UINT64_MAX), true);
            failed += idx == ct::kMiss ? 1 : 0;
            fx.live.push_back(idx);
        }
        for (uint32_t i = 0; i < kBurst; ++i) {
            fx.table->remove(fx.live.front());
            fx.live.pop_front();
        }
        items += kBurst;
    }
    report(state, fx, rte_rdtsc() - t0, items);
    state.counters["insert_failed"] = static_cast<double>(failed);
}

void insert_bench(benchmark::State& state, uint32_t occ) {
    Fixture& fx = Fixture::get(occ);
    uint64_t items = 0;
    uint64_t cycles = 0;
    for (auto _ : state) {
        // Once per batch of `occ` items, never per item.
        state.PauseTiming();
        fx.clear();
        state.ResumeTiming();
        cycles += fx.fill(occ, UINT64_MAX);
        items += occ;
    }
    report(state, fx, cycles, items);
}

void expire_bench(benchmark::State& state, uint32_t occ) {
    Fixture& fx = Fixture::get(occ);
    uint64_t items = 0;
    uint64_t cycles = 0;
    for (auto _ : state) {
        // Once per batch: refill with connections that are already dead.
        state.PauseTiming();
        fx.clear();
        fx.fill(occ, 1);
        state.ResumeTiming();
        const uint64_t t0 = rte_rdtsc();
        const uint32_t removed =
            fx.table->sweep(2, fx.table->capacity(), [](uint32_t, const ct::Conn&) {});
        cycles += rte_rdtsc() - t0;
        benchmark::DoNotOptimize(removed);
        items += removed;
        fx.live.clear();
    }
    // Leave the table full for whoever comes next.
    fx.fill(occ, UINT64_MAX);
    report(state, fx, cycles, items);
}

std::string size_name(uint32_t n) {
    if (n >= 1000000 && n % 1000000 == 0) {
        return std::to_string(n / 1000000) + "M";
    }
    if (n >= 1000 && n % 1000 == 0) {
        return std::to_string(n / 1000) + "K";
    }
    return std::to_string(n);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<uint32_t> sizes = {1000, 100000, 1000000};
    uint64_t max_conns = 10000000;
    if (const char* cap = std::getenv("DIRIGO_BENCH_MAX_CONNS"); cap != nullptr) {
        max_conns = std::strtoull(cap, nullptr, 10);
    }
    // A 10M table holds ~2 GB (entries, two keys per connection, cuckoo buckets, free-slot ring).
    constexpr uint64_t kNeed10M = 4ull << 30;
    const uint64_t avail = bench::available_bytes();
    bool with_10m = false;
    if (max_conns < 10000000) {
        // stderr: stdout may be JSON (--benchmark_format=json).
        std::fprintf(stderr, "conntrack_bench: skipping 10M: DIRIGO_BENCH_MAX_CONNS=%llu\n",
                     static_cast<unsigned long long>(max_conns));
    } else if (avail < kNeed10M) {
        std::fprintf(stderr, "conntrack_bench: skipping 10M: %llu MiB available, need %llu MiB\n",
                     static_cast<unsigned long long>(avail >> 20),
                     static_cast<unsigned long long>(kNeed10M >> 20));
    } else {
        with_10m = true;
        sizes.push_back(10000000);
    }
    std::erase_if(sizes, [&](uint32_t n) { return n > max_conns; });
    if (!with_10m) {
        benchmark::AddCustomContext("skipped", "10M connections (see stderr)");
    }

    bench::EalArgs eal("conntrack_bench", "0", with_10m ? 3072 : 1024, "dirigo_ctbench");
    if (rte_eal_init(eal.argc(), eal.argv()) < 0) {
        std::fprintf(stderr, "conntrack_bench: rte_eal_init failed (%s)\n", eal.joined().c_str());
        return 1;
    }
    benchmark::AddCustomContext("pages", "4 KiB (--no-huge)");

    // Grouped by occupancy so each table is built once; the ones that keep the key set run first.
    for (uint32_t n : sizes) {
        const std::string s = "/" + size_name(n);
        const bool huge = n >= 10000000;
        benchmark::RegisterBenchmark(("BM_Conntrack_LookupHit" + s).c_str(),
                                     [n](benchmark::State& st) { lookup_bench(st, n, true); });
        benchmark::RegisterBenchmark(("BM_Conntrack_LookupMiss" + s).c_str(),
                                     [n](benchmark::State& st) { lookup_bench(st, n, false); });
        benchmark::RegisterBenchmark(("BM_Conntrack_SweepIdle" + s).c_str(),
                                     [n](benchmark::State& st) { sweep_idle_bench(st, n); });
        benchmark::RegisterBenchmark(("BM_Conntrack_Churn" + s).c_str(),
                                     [n](benchmark::State& st) { churn_bench(st, n); });
        auto* ins =
            benchmark::RegisterBenchmark(("BM_Conntrack_Insert" + s).c_str(),
                                         [n](benchmark::State& st) { insert_bench(st, n); });
        auto* exp =
            benchmark::RegisterBenchmark(("BM_Conntrack_Expire" + s).c_str(),
                                         [n](benchmark::State& st) { expire_bench(st, n); });
        if (huge) {
            // One batch is 10M items and seconds long: one is enough.
            ins->Iterations(1);
            exp->Iterations(1);
        }
        if (n >= 1000000) {
            ins->Unit(benchmark::kMillisecond);
            exp->Unit(benchmark::kMillisecond);
        }
    }

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    // The table lives in EAL memory: free it before EAL goes.
    Fixture::instance().table.reset();
    rte_eal_cleanup();
    return 0;
}
