// SPDX-License-Identifier: BSD-3-Clause
// Connection table micro-benchmarks: Dirigo's ConnTable against an rte_hash reference (the index
// the table used before: a single-writer cuckoo rte_hash mapping each key to entry index and
// direction, over the same 32-byte entry array), side by side, at 1K, 1M and (memory allowing)
// 10M live connections, each indexed by both of its keys as NAT does:
//   BM_Conntrack_<T>_LookupHit     burst lookup (32 keys, hashes computed as the worker does, in
//                                  parsing: not timed) of live keys, uniform over flows and
//                                  direction; the hit's entry is read (expire), as the worker does
//   BM_Conntrack_<T>_LookupZipf    the same with flows drawn from Zipf(0.99) (hot flows cached)
//   BM_Conntrack_<T>_LookupMiss    burst lookup of keys that are not in the table
//   BM_Conntrack_<T>_Churn         steady state at the occupancy: insert 32 new connections (both
//                                  keys), remove the 32 oldest (per item: one insert plus one
//                                  removal; items/s is new connections per second)
//   BM_Conntrack_Table_SweepIdle   the per-loop bounded sweep (64 entries) when nothing expired
//   BM_Conntrack_Table_Insert      filling an empty table to the occupancy (per item: one insert)
//   BM_Conntrack_Table_Expire      a sweep that finds every entry expired (per item: one removal)
// <T> is Table (ct::ConnTable) or RteHash (the reference). Every benchmark reports items/s,
// cycles_per_pkt (TSC cycles per item) and bytes_per_conn (memory / capacity, both directions).
// EAL starts with --no-huge --no-pci on one lcore (DIRIGO_BENCH_HUGE=1: hugepages instead).
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
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

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

/// An expiry tick that stays in the future while the benchmarks run (days).
ct::Tick live_tick() {
    static const ct::Tick t = ct::expire_at(rte_rdtsc(), ct::kMaxTimeoutTsc);
    return t;
}

ct::Conn make_conn(uint32_t f, ct::Tick expire) {
    ct::Conn c;
    c.client = client_key(f);
    c.raddr = rte_cpu_to_be_32((172u << 24) | (16u << 16) | (11u + f % kRealServers));
    c.rport = rte_cpu_to_be_16(80);
    c.state = ct::TcpState::Established;
    c.expire = expire;
    c.dest_slot = f % kRealServers;
    return c;
}

/// The reference: what ConnTable was before its own index. An rte_hash (single-writer, with
/// extendable buckets, 2 x capacity keys) maps both keys of a connection to (index << 1 | reply)
/// over the same preallocated 32-byte entries (and 16-byte cold parts, counted); the same API
/// subset as ConnTable.
class RteHashTable {
public:
    static std::unique_ptr<RteHashTable> create(const std::string& name, uint32_t capacity,
                                                int socket) {
        std::unique_ptr<RteHashTable> t(new RteHashTable());
        rte_hash_parameters p{};
        p.name = name.c_str();
        p.entries = capacity * 2;
        p.key_len = sizeof(ct::FlowKey);
        p.hash_func = [](const void* key, uint32_t, uint32_t) {
            return ct::ConnTable::hash(*static_cast<const ct::FlowKey*>(key));
        };
        p.socket_id = socket;
        p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
        t->hash_ = rte_hash_create(&p);
        const size_t bytes = sizeof(ct::Conn) * static_cast<size_t>(capacity);
        t->entries_ = static_cast<ct::Conn*>(rte_zmalloc_socket(nullptr, bytes, 64, socket));
        // The cold parts (ct::ConnCold) are counted, not allocated: no benchmark here reads them.
        const size_t cold_bytes = sizeof(ct::ConnCold) * static_cast<size_t>(capacity);
        if (t->hash_ == nullptr || t->entries_ == nullptr) {
            std::fprintf(stderr, "conntrack_bench: reference table: %s\n", rte_strerror(rte_errno));
            std::exit(1);
        }
        for (uint32_t i = 0; i < capacity; ++i) {
            t->entries_[i].next_free = i + 1;
        }
        t->capacity_ = capacity;
        // What rte_hash 22.11 allocates for these parameters: key store (16-byte key and data
        // pointer, 32 bytes a slot), primary and extendable buckets (64 bytes per 8 slots of the
        // power-of-two slot count), two free-slot rings (4 bytes a slot).
        const uint64_t slots = static_cast<uint64_t>(p.entries) + 1;
        const uint64_t pow2 = rte_align64pow2(slots);
        t->memory_bytes_ = bytes + cold_bytes + slots * 32 + (pow2 / 8) * 64 * 2 + pow2 * 4 * 2;
        return t;
    }
    ~RteHashTable() {
        rte_hash_free(hash_);
        rte_free(entries_);
    }
    void lookup_bulk(const ct::FlowKey* const* keys, const uint32_t* hashes, uint32_t n,
                     uint32_t* out) noexcept {
        void* data[kBurst];
        uint64_t hits = 0;
        const void* kp[kBurst];
        for (uint32_t i = 0; i < n; ++i) {
            kp[i] = keys[i];
        }
        // rte_hash takes the hashes as non-const but only reads them.
        (void)rte_hash_lookup_with_hash_bulk_data(hash_, kp, const_cast<uint32_t*>(hashes), n,
                                                  &hits, data);
        for (uint32_t i = 0; i < n; ++i) {
            out[i] = (hits >> i) & 1u ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]))
                                      : ct::kMiss;
        }
    }
    uint32_t insert(const ct::Conn& c, bool with_reply) noexcept {
        if (free_head_ >= capacity_) {
            return ct::kMiss;
        }
        const uint32_t idx = free_head_;
        if (rte_hash_add_key_data(hash_, &c.client, encode(idx << 1)) < 0) {
            return ct::kMiss;
        }
        const ct::FlowKey rk = c.reply_key();
        if (with_reply && rte_hash_add_key_data(hash_, &rk, encode(idx << 1 | 1)) < 0) {
            rte_hash_del_key(hash_, &c.client);
            return ct::kMiss;
        }
        ct::Conn& e = entries_[idx];
        free_head_ = e.next_free;
        e = c;
        e.flags = static_cast<uint8_t>(ct::kConnInUse | (with_reply ? ct::kConnHasReply : 0));
        ++used_;
        return idx;
    }
    void remove(uint32_t idx) noexcept {
        ct::Conn& e = entries_[idx];
        rte_hash_del_key(hash_, &e.client);
        if (e.flags & ct::kConnHasReply) {
            const ct::FlowKey rk = e.reply_key();
            rte_hash_del_key(hash_, &rk);
        }
        e.flags = 0;
        e.next_free = free_head_;
        free_head_ = idx;
        --used_;
    }
    const ct::Conn& at(uint32_t idx) const noexcept { return entries_[idx]; }
    uint32_t size() const { return used_; }
    uint32_t capacity() const { return capacity_; }
    uint64_t memory_bytes() const { return memory_bytes_; }

private:
    static void* encode(uint32_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }
    RteHashTable() = default;
    rte_hash* hash_ = nullptr;
    ct::Conn* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t used_ = 0;
    uint32_t free_head_ = 0;
    uint64_t memory_bytes_ = 0;
};

std::unique_ptr<ct::ConnTable> make_table(const std::string& name, uint32_t cap, ct::ConnTable*) {
    auto t = ct::ConnTable::create(name, cap, static_cast<int>(rte_socket_id()));
    if (!t) {
        std::fprintf(stderr, "conntrack_bench: %s\n", t.status().message().c_str());
        std::exit(1);
    }
    return std::move(*t);
}
std::unique_ptr<RteHashTable> make_table(const std::string& name, uint32_t cap, RteHashTable*) {
    return RteHashTable::create(name, cap, static_cast<int>(rte_socket_id()));
}

/// Frees the other kind's table before a new one is built: one table in memory at a time.
void (*g_release_other)() = nullptr;

/// One table of kind T at a time (a 10M reference is ~2 GB), built for an occupancy and reused by
/// every benchmark of that occupancy.
template <class T>
struct Fixture {
    uint32_t occ = 0;
    std::unique_ptr<T> table;
    std::deque<uint32_t> live;  ///< entry indices, oldest first (for churn)
    uint32_t next_flow = 0;     ///< next fresh flow index

    static Fixture& get(uint32_t occ) {
        Fixture& f = instance();
        if (f.occ != occ || !f.table) {
            if (g_release_other != nullptr && g_release_other != &release) {
                g_release_other();
            }
            g_release_other = &release;
            f.build(occ);
        }
        return f;
    }
    static Fixture& instance() {
        static Fixture f;
        return f;
    }
    static void release() {
        instance().table.reset();
        instance().live.clear();
    }

    void build(uint32_t n) {
        static int seq = 0;
        table.reset();
        live.clear();
        table = make_table("ctb" + std::to_string(seq++), n + kHeadroom, static_cast<T*>(nullptr));
        occ = n;
        for (uint32_t f = 0; f < n; ++f) {
            live.push_back(table->insert(make_conn(f, live_tick()), true));
            if (live.back() == ct::kMiss) {
                std::fprintf(stderr, "conntrack_bench: insert %u of %u refused\n", f, n);
                std::exit(1);
            }
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
    uint64_t fill(uint32_t n, ct::Tick expire) {
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

template <class T>
void report(benchmark::State& state, const Fixture<T>& fx, uint64_t cycles, uint64_t items) {
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.counters["cycles_per_pkt"] =
        items == 0 ? 0.0 : static_cast<double>(cycles) / static_cast<double>(items);
    state.counters["bytes_per_conn"] = fx.bytes_per_conn();
    state.counters["live_conns"] = fx.table->size();
}

/// Index quality of Dirigo's table: share of keys living in their alternate bucket, and of
/// buckets whose lookups read the alternate too.
void index_counters(benchmark::State& state, const ct::ConnTable& t) {
    const auto st = t.index_stats();
    state.counters["away_pct"] =
        st.keys == 0 ? 0.0
                     : 100.0 * static_cast<double>(st.keys_away) / static_cast<double>(st.keys);
    state.counters["overflowed_bkt_pct"] =
        100.0 * static_cast<double>(st.buckets_overflowed) / t.bucket_count();
    state.counters["slot_fill_pct"] =
        100.0 * static_cast<double>(st.keys) / (t.bucket_count() * ct::Bucket::kSlots);
}
void index_counters(benchmark::State&, const RteHashTable&) {}

enum class Pick { Uniform, Zipf, Miss };

/// kSeqLen keys: live ones (uniform or Zipf over flows, either direction) or absent ones.
std::vector<ct::FlowKey> key_sequence(uint32_t occ, Pick pick) {
    std::vector<ct::FlowKey> keys(kSeqLen);
    bench::SplitMix64 rng(static_cast<uint64_t>(pick) + 1);
    const bench::ZipfSampler zipf(occ, 0.99);
    for (auto& k : keys) {
        if (pick == Pick::Miss) {
            k = client_key(kMissBase + rng.below(1u << 24));
            continue;
        }
        // Zipf ranks are scattered over the flows, so hot flows are not neighbours in memory.
        const uint32_t f =
            pick == Pick::Uniform
                ? rng.below(occ)
                : static_cast<uint32_t>(((zipf.sample(rng) - 1) * 2654435761ull) % occ);
        const ct::Conn c = make_conn(f, 0);
        k = (rng.next() & 1) != 0 ? c.reply_key() : c.client;
    }
    return keys;
}

template <class T>
void lookup_bench(benchmark::State& state, uint32_t occ, Pick pick) {
    Fixture<T>& fx = Fixture<T>::get(occ);
    const auto keys = key_sequence(occ, pick);
    // The worker hashes while it parses: precomputed here, outside the timed loop.
    std::vector<uint32_t> hashes(kSeqLen);
    for (size_t i = 0; i < kSeqLen; ++i) {
        hashes[i] = ct::ConnTable::hash(keys[i]);
    }
    const ct::FlowKey* kp[kBurst];
    uint32_t out[kBurst];
    size_t pos = 0;
    uint64_t items = 0;
    uint64_t found = 0;
    uint64_t sum = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        for (uint32_t i = 0; i < kBurst; ++i) {
            kp[i] = &keys[pos + i];
        }
        fx.table->lookup_bulk(kp, &hashes[pos], kBurst, out);
        // The worker reads every hit's entry next (expiry, state, rewrite data).
        for (uint32_t i = 0; i < kBurst; ++i) {
            if (out[i] != ct::kMiss) {
                sum += fx.table->at(ct::lookup_index(out[i])).expire;
                ++found;
            }
        }
        pos = (pos + kBurst) & (kSeqLen - 1);
        items += kBurst;
    }
    benchmark::DoNotOptimize(sum);
    report(state, fx, rte_rdtsc() - t0, items);
    index_counters(state, *fx.table);
    // Quality: the hit benchmarks must hit, the miss benchmark must miss.
    state.counters["hit_pct"] =
        items == 0 ? 0.0 : 100.0 * static_cast<double>(found) / static_cast<double>(items);
}

template <class T>
void churn_bench(benchmark::State& state, uint32_t occ) {
    Fixture<T>& fx = Fixture<T>::get(occ);
    uint64_t items = 0;
    uint64_t failed = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        for (uint32_t i = 0; i < kBurst; ++i) {
            const uint32_t idx = fx.table->insert(make_conn(fx.next_flow++, live_tick()), true);
            failed += idx == ct::kMiss ? 1 : 0;
            fx.live.push_back(idx);
        }
        for (uint32_t i = 0; i < kBurst; ++i) {
            if (fx.live.front() != ct::kMiss) {
                fx.table->remove(fx.live.front());
            }
            fx.live.pop_front();
        }
        items += kBurst;
    }
    report(state, fx, rte_rdtsc() - t0, items);
    state.counters["insert_failed"] = static_cast<double>(failed);
}

void sweep_idle_bench(benchmark::State& state, uint32_t occ) {
    auto& fx = Fixture<ct::ConnTable>::get(occ);
    uint64_t items = 0;
    const uint64_t t0 = rte_rdtsc();
    for (auto _ : state) {
        const uint32_t removed = fx.table->sweep(rte_rdtsc(), 64, [](uint32_t, const ct::Conn&) {});
        benchmark::DoNotOptimize(removed);
        items += 64;
    }
    report(state, fx, rte_rdtsc() - t0, items);
}

void insert_bench(benchmark::State& state, uint32_t occ) {
    auto& fx = Fixture<ct::ConnTable>::get(occ);
    uint64_t items = 0;
    uint64_t cycles = 0;
    for (auto _ : state) {
        // Once per batch of `occ` items, never per item.
        state.PauseTiming();
        fx.clear();
        state.ResumeTiming();
        cycles += fx.fill(occ, live_tick());
        items += occ;
    }
    report(state, fx, cycles, items);
}

void expire_bench(benchmark::State& state, uint32_t occ) {
    auto& fx = Fixture<ct::ConnTable>::get(occ);
    uint64_t items = 0;
    uint64_t cycles = 0;
    for (auto _ : state) {
        // Once per batch: refill with connections that are already dead.
        state.PauseTiming();
        fx.clear();
        fx.fill(occ, 1);
        state.ResumeTiming();
        const uint64_t t0 = rte_rdtsc();
        const uint32_t removed = fx.table->sweep(
            uint64_t{2} << ct::kTickShift, fx.table->capacity(), [](uint32_t, const ct::Conn&) {});
        cycles += rte_rdtsc() - t0;
        benchmark::DoNotOptimize(removed);
        items += removed;
        fx.live.clear();
    }
    // Leave the table full for whoever comes next.
    fx.fill(occ, live_tick());
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

/// The side-by-side benchmarks of one kind and occupancy.
template <class T>
void register_kind(const std::string& kind, uint32_t n) {
    std::string s = "/";  // appended in two steps: GCC 12 -O3 warns -Wrestrict on "/" + str
    s += size_name(n);
    const std::string p = "BM_Conntrack_" + kind + "_";
    benchmark::RegisterBenchmark((p + "LookupHit" + s).c_str(), [n](benchmark::State& st) {
        lookup_bench<T>(st, n, Pick::Uniform);
    });
    benchmark::RegisterBenchmark((p + "LookupZipf" + s).c_str(),
                                 [n](benchmark::State& st) { lookup_bench<T>(st, n, Pick::Zipf); });
    benchmark::RegisterBenchmark((p + "LookupMiss" + s).c_str(),
                                 [n](benchmark::State& st) { lookup_bench<T>(st, n, Pick::Miss); });
    benchmark::RegisterBenchmark((p + "Churn" + s).c_str(),
                                 [n](benchmark::State& st) { churn_bench<T>(st, n); });
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<uint32_t> sizes = {1000, 1000000};
    uint64_t max_conns = 10000000;
    if (const char* cap = std::getenv("DIRIGO_BENCH_MAX_CONNS"); cap != nullptr) {
        max_conns = std::strtoull(cap, nullptr, 10);
    }
    const bool huge = std::getenv("DIRIGO_BENCH_HUGE") != nullptr;
    // The 10M reference holds ~2 GB (entries, key store, cuckoo buckets, free-slot rings); one
    // table is in memory at a time.
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

    bench::EalArgs eal("conntrack_bench", "0", huge ? 0 : (with_10m ? 3072 : 1024),
                       "dirigo_ctbench");
    if (rte_eal_init(eal.argc(), eal.argv()) < 0) {
        std::fprintf(stderr, "conntrack_bench: rte_eal_init failed (%s)\n", eal.joined().c_str());
        return 1;
    }
    benchmark::AddCustomContext("pages", huge ? "2 MiB (hugepages)" : "4 KiB (--no-huge)");

    // Grouped by occupancy and kind so each table is built once; the benchmarks that keep the
    // key set run first.
    for (uint32_t n : sizes) {
        std::string s = "/";  // appended in two steps: GCC 12 -O3 warns -Wrestrict on "/" + str
        s += size_name(n);
        register_kind<ct::ConnTable>("Table", n);
        benchmark::RegisterBenchmark(("BM_Conntrack_Table_SweepIdle" + s).c_str(),
                                     [n](benchmark::State& st) { sweep_idle_bench(st, n); });
        auto* ins =
            benchmark::RegisterBenchmark(("BM_Conntrack_Table_Insert" + s).c_str(),
                                         [n](benchmark::State& st) { insert_bench(st, n); });
        auto* exp =
            benchmark::RegisterBenchmark(("BM_Conntrack_Table_Expire" + s).c_str(),
                                         [n](benchmark::State& st) { expire_bench(st, n); });
        if (n >= 10000000) {
            // One batch is 10M items and seconds long: one is enough.
            ins->Iterations(1);
            exp->Iterations(1);
        }
        if (n >= 1000000) {
            ins->Unit(benchmark::kMillisecond);
            exp->Unit(benchmark::kMillisecond);
        }
        register_kind<RteHashTable>("RteHash", n);
    }

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    // The tables live in EAL memory: free them before EAL goes.
    Fixture<ct::ConnTable>::release();
    Fixture<RteHashTable>::release();
    bench::eal_cleanup();
    return 0;
}
