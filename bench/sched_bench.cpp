// SPDX-License-Identifier: BSD-3-Clause
// Scheduler benchmarks: the cost of one pick (once per new flow) for every policy, and the cost
// of building an mh table. Run: build/bench/sched_bench [--benchmark_filter=...].
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "schedulers/scheduler.hpp"

namespace {

using dirigo::sched::BackendIdx;
using dirigo::sched::BackendSpec;
using dirigo::sched::DestCounters;
using dirigo::sched::kNoBackend;
using dirigo::sched::kSchedKinds;
using dirigo::sched::make_shared_state;
using dirigo::sched::SchedInput;
using dirigo::sched::SchedKind;
using dirigo::sched::Scheduler;

constexpr size_t kInputs = 4096;   // power of two: the loop indexes with a mask
constexpr uint32_t kDests = 1024;  // distinct destinations for lblc/lblcr

uint64_t tsc() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;
#endif
}

/// `n` servers with mixed weights (1..4) and mixed connection counts, their counters owned here.
struct Pool {
    explicit Pool(size_t n) : counters(std::make_unique<DestCounters[]>(n)) {
        for (size_t i = 0; i < n; ++i) {
            BackendSpec b;
            b.addr = 0x0a000000u + static_cast<uint32_t>(i);
            b.port = 80;
            b.weight = 1 + static_cast<int32_t>(i % 4);
            b.counters = &counters[i];
            counters[i].active.store(static_cast<int32_t>((i * 7) % 11));
            counters[i].inactive.store(static_cast<int32_t>((i * 13) % 50));
            specs.push_back(b);
        }
    }
    std::unique_ptr<DestCounters[]> counters;
    std::vector<BackendSpec> specs;
};

std::vector<SchedInput> inputs() {
    std::mt19937 rng(42);
    std::vector<SchedInput> v(kInputs);
    for (size_t i = 0; i < kInputs; ++i) {
        v[i].saddr = rng();
        v[i].sport = static_cast<uint16_t>(1024 + rng() % 60000);
        v[i].daddr = 0xc0a80000u + rng() % kDests;
        v[i].dport = 80;
        v[i].proto = 6;
        v[i].now_ms = i;
    }
    return v;
}

/// A scheduler that must build (benchmark setup).
std::unique_ptr<Scheduler> must_build(SchedKind kind, const std::vector<BackendSpec>& specs) {
    auto r = Scheduler::build(kind, 0, specs, make_shared_state(kind));
    return r.is_ok() ? std::move(*r) : nullptr;
}

/// Busiest server's share over its fair share (1.0 = perfect), for policies whose spread does
/// not depend on connection counts. The fair share follows the weights unless `equal` (rr).
double max_over_mean(const Scheduler& s, const std::vector<SchedInput>& in, bool equal) {
    std::vector<double> count(s.backends().size(), 0.0);
    double total = 0;
    for (int rep = 0; rep < 16; ++rep) {
        for (size_t i = 0; i < in.size(); ++i) {
            SchedInput x = in[i];
            x.saddr += static_cast<uint32_t>(rep) * 0x9e3779b9u;
            x.daddr += static_cast<uint32_t>(rep) * kDests;
            const BackendIdx b = s.pick(x);
            if (b != kNoBackend) {
                count[b] += 1;
                total += 1;
            }
        }
    }
    double wsum = 0;
    for (const BackendSpec& b : s.backends()) {
        wsum += equal ? 1 : b.weight;
    }
    double worst = 0;
    for (size_t i = 0; i < count.size(); ++i) {
        const double expect = total * (equal ? 1 : s.backends()[i].weight) / wsum;
        worst = std::max(worst, count[i] / expect);
    }
    return worst;
}

void BM_Sched_Pick(benchmark::State& state, SchedKind kind) {
    const size_t n = static_cast<size_t>(state.range(0));
    Pool pool(n);
    const auto in = inputs();
    auto r = Scheduler::build(kind, 0, pool.specs, make_shared_state(kind));
    if (!r) {
        state.SkipWithError(r.status().message().c_str());
        return;
    }
    const Scheduler& s = **r;
    for (const SchedInput& x : in) {
        benchmark::DoNotOptimize(s.pick(x));  // warm tables (lblc/lblcr entries) and caches
    }
    size_t i = 0;
    const uint64_t t0 = tsc();
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.pick(in[i & (kInputs - 1)]));
        ++i;
    }
    const uint64_t t1 = tsc();
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["tsc_per_pick"] =
        static_cast<double>(t1 - t0) / static_cast<double>(std::max<size_t>(i, 1));
    switch (kind) {
        case SchedKind::Rr:
        case SchedKind::Sh:
        case SchedKind::Dh:
        case SchedKind::Mh:
        case SchedKind::Wrr:
            state.counters["max_over_mean"] = max_over_mean(s, in, kind == SchedKind::Rr);
            break;
        default:
            break;
    }
}

/// rr/wrr picks from several threads on one scheduler: the shared cursor's CAS under contention.
void BM_Sched_PickShared(benchmark::State& state, SchedKind kind) {
    static Pool pool(16);
    static std::unique_ptr<Scheduler> rr = must_build(SchedKind::Rr, pool.specs);
    static std::unique_ptr<Scheduler> wrr = must_build(SchedKind::Wrr, pool.specs);
    const Scheduler& s = kind == SchedKind::Rr ? *rr : *wrr;
    const SchedInput in{};
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.pick(in));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Sched_MhBuild(benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    Pool pool(n);
    auto shared = make_shared_state(SchedKind::Mh);
    for (auto _ : state) {
        auto r = Scheduler::build(SchedKind::Mh, 0, pool.specs, shared);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));

    // Quality: share of sources that move when one server is removed (ideal 1/n).
    const auto in = inputs();
    auto before = must_build(SchedKind::Mh, pool.specs);
    std::vector<BackendSpec> less(pool.specs.begin() + 1, pool.specs.end());
    auto after = must_build(SchedKind::Mh, less);
    int moved = 0;
    int total = 0;
    for (int rep = 0; rep < 16; ++rep) {
        for (SchedInput x : in) {
            x.saddr += static_cast<uint32_t>(rep) * 0x9e3779b9u;
            const BackendIdx a = before->pick(x);
            const BackendIdx b = after->pick(x);
            moved += before->backends()[a].addr != after->backends()[b].addr ? 1 : 0;
            ++total;
        }
    }
    state.counters["moved_pct"] = 100.0 * moved / total;
}

}  // namespace

int main(int argc, char** argv) {
    for (size_t k = 0; k < kSchedKinds; ++k) {
        const auto kind = static_cast<SchedKind>(k);
        const std::string name = "BM_Sched_Pick/" + std::string(dirigo::sched::sched_name(kind));
        benchmark::RegisterBenchmark(name.c_str(), BM_Sched_Pick, kind)->Arg(2)->Arg(16)->Arg(256);
    }
    for (const SchedKind kind : {SchedKind::Rr, SchedKind::Wrr}) {
        const std::string name =
            "BM_Sched_PickShared/" + std::string(dirigo::sched::sched_name(kind));
        benchmark::RegisterBenchmark(name.c_str(), BM_Sched_PickShared, kind)
            ->Threads(1)
            ->Threads(2);
    }
    benchmark::RegisterBenchmark("BM_Sched_MhBuild", BM_Sched_MhBuild)
        ->Arg(256)
        ->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
