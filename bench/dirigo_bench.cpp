// SPDX-License-Identifier: BSD-3-Clause
// dirigo-bench: cycles per packet of the whole dataplane on one core, against testpmd-style
// forwarding loops fed the same traffic on the same core in the same run.
//
// Set-up (rig.hpp, traffic.hpp): EAL on two lcores (-l 0-1). Two net_null ports (copy=1), "ext"
// facing the clients and "int" facing eight NAT real servers. The worker lcore polls them: the
// REAL Worker::run loop (Dataplane::launch) for Dirigo, or a testpmd-style io, macswap or 5tswap
// loop for the baselines (baselines.hpp). The traffic is made inside rx_burst on that same core
// by an RX callback that stamps each mbuf with the next frame of a precomputed stream (client ->
// VIP packets on ext, the real servers' replies on int, N established connections, uniform or
// Zipf), so every loop pays the same generator cost and no packet crosses cores. The main lcore
// only sets up, starts and stops the loops and sleeps in between.
//
// Figures: cycles per packet = TSC cycles between consecutive RX bursts, summed over the window,
// over the packets of those bursts; an interval longer than --preempt-us is a preemption (the
// machine is shared) and is left out and counted ("gaps"). Each scenario interleaves its runs:
// io, macswap, 5tswap, Dirigo, repeated --reps times; the report gives medians, and each ratio
// compares a Dirigo run with the baseline run seconds before it. Report (JSON and tables):
// report.hpp.
//
// Usage: dirigo-bench [--duration S] [--reps N] [--json PATH] [--max-conns N] [--only TEXT]
//                     [--huge] [--no-mem-probe] [--preempt-us US] [--scale N]
//                     [--no-baselines] [--smoke]
//
// Scaling (--scale N): one rig with one worker and one with two (EAL --lcores 0@0,1@1,2@0), one
// at a time, alternating every rep; each worker's queues stamped only with the connections it
// owns (dp::flow_owner), so no packet is handed off; the factor is 2-worker over 1-worker
// throughput in busy time.
//
// IPv6 (docs/performance.md): "nat6 1K uniform" and the other nat6 rows are the established
// rows' twins on an IPv6 rig (74-byte IPv6 TCP frames, the same connections in the same order,
// an IPv6 table as large as the IPv4 twin's), and "newconn6 rr" is "newconn rr"'s; the
// baselines of an IPv6 row forward the same IPv6 frames.
//
// Connection sync (docs/sync.md): "newconn3 rr" opens connections as clients do (SYN, ACK, a
// data segment: the third client packet is the one IPVS's sync_threshold sends) and "newconn3
// rr sync" does the same with the worker running as a master sync daemon's; "nat 100K uniform"
// and "nat 100K uniform sync" are the established pair. The two variants of a pair alternate
// within each rep, and a thread on the main lcore's core drains the worker's sync ring and
// encodes the records into IPVS messages as the control thread would (SyncDrainer).
#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench/baselines.hpp"
#include "bench/bench_sys.hpp"
#include "bench/report.hpp"
#include "bench/rig.hpp"
#include "bench/traffic.hpp"
#include "conntrack/conn_table.hpp"
#include "control/sync_daemon.hpp"
#include "dataplane/sync.hpp"
#include "sync/wire.hpp"

namespace dirigo::bench {
namespace {

constexpr uint32_t kNewConnTable = 1u << 22;      // connection table of the new-connection runs
constexpr uint32_t kNewConnTableHuge = 1u << 20;  // the same within 512 MiB of hugepages
constexpr uint64_t kNewConnTableHugeNeed = 1536ull << 20;  // hugepages free for the 4M table
constexpr double kNewConnFill = 0.85;  // stop creating before the table is this full
constexpr uint64_t kHugePage = 2ull << 20;
constexpr uint32_t kAdaptiveConns = 1000;      // the scenario also run with adaptive polling
constexpr uint32_t kNewConn3Table = 1u << 20;  // connection table of the newconn3 pair
constexpr double kNewConn3Prefill = 0.5;       // newconn3: the table this full before the windows
constexpr uint32_t kOpenBlock = 256;     // newconn3: a connection's packets are this many apart
constexpr uint32_t kSyncConns = 100000;  // established connections of the sync pair
constexpr uint64_t kMinPackets = 20000;  // a timed window measures at least this many packets
constexpr double kMaxStretch = 20;       // ... unless it has run this many times its length

struct Options {
    double duration = 0.5;  ///< seconds per timed window
    uint32_t reps = 3;      ///< interleaved windows per loop and scenario
    bool smoke = false;     ///< a short run of a few scenarios that checks the harness only
    bool huge = false;      ///< EAL on hugepages instead of --no-huge
    std::string json;
    uint64_t max_conns = 10000000;
    std::string only;
    bool mem_probe = true;
    double preempt_us = 100;
    uint64_t scale = 0;     ///< --scale N: only the scaling scenario, N connections
    bool baselines = true;  ///< false: Dirigo's windows only (profiles; no ratios)
    std::string command;
};

void usage() {
    std::printf(
        "usage: dirigo-bench [--duration S] [--reps N] [--json PATH] [--max-conns N]\n"
        "                    [--only TEXT] [--huge] [--no-mem-probe] [--preempt-us US]\n"
        "                    [--scale N] [--smoke]\n"
        "  --duration S    seconds per timed window (default 0.5)\n"
        "  --reps N        interleaved windows per loop and scenario (default 3, medians)\n"
        "  --json PATH     also write every figure as JSON\n"
        "  --max-conns N   largest live-connection count (default 10000000; 10M runs only when\n"
        "                  the machine has the memory)\n"
        "  --only TEXT     only scenarios whose name contains TEXT (no memory probe then)\n"
        "  --huge          EAL on hugepages (fails when too few are free) instead of --no-huge\n"
        "  --no-mem-probe  skip the bytes-per-connection check against resident memory\n"
        "  --preempt-us US a loop interval longer than this is a preemption, left out\n"
        "                  (default 100)\n"
        "  --scale N       only the scaling scenario: N established connections on 1 and on 2\n"
        "                  workers (EAL --lcores 0@0,1@1,2@0: the second worker shares the main\n"
        "                  lcore's core), windows alternating; prints the scaling factor\n"
        "  --no-baselines  Dirigo's windows only, no io/macswap/5tswap (for a profile of the\n"
        "                  worker; the report then has no ratios)\n"
        "  --smoke         short runs of a few scenarios; checks the harness, not the speed\n");
}

bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 0; i < argc; ++i) {
        if (i != 0) {
            o.command += ' ';
        }
        o.command += argv[i];
    }
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--smoke") {
            o.smoke = true;
        } else if (a == "--huge") {
            o.huge = true;
        } else if (a == "--no-baselines") {
            o.baselines = false;
        } else if (a == "--no-mem-probe") {
            o.mem_probe = false;
        } else if (a == "-h" || a == "--help") {
            usage();
            std::exit(0);
        } else if (!has_value &&
                   (a == "--duration" || a == "--reps" || a == "--json" || a == "--max-conns" ||
                    a == "--only" || a == "--preempt-us" || a == "--scale")) {
            std::fprintf(stderr, "dirigo-bench: %s needs a value\n", a.c_str());
            return false;
        } else if (a == "--duration") {
            o.duration = std::atof(argv[++i]);
        } else if (a == "--reps") {
            o.reps = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (a == "--json") {
            o.json = argv[++i];
        } else if (a == "--max-conns") {
            o.max_conns = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--only") {
            o.only = argv[++i];
        } else if (a == "--preempt-us") {
            o.preempt_us = std::atof(argv[++i]);
        } else if (a == "--scale") {
            o.scale = std::strtoull(argv[++i], nullptr, 10);
            if (o.scale == 0 || o.scale > 10000000) {
                std::fprintf(stderr, "dirigo-bench: --scale wants 1 to 10000000 connections\n");
                return false;
            }
        } else {
            std::fprintf(stderr, "dirigo-bench: unknown argument %s\n", a.c_str());
            usage();
            return false;
        }
    }
    if (o.smoke) {
        o.duration = 0.05;
        o.reps = 1;
    }
    if (o.duration <= 0 || o.reps == 0 || o.preempt_us <= 0) {
        std::fprintf(stderr, "dirigo-bench: --duration, --reps and --preempt-us must be > 0\n");
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The worker lcore's thread CPU clock: how much of a window the shared machine left it.

// Each worker lcore's thread CPU clock, stored by store_clock on that lcore before any window.
std::array<clockid_t, RTE_MAX_LCORE> g_lcore_clock{};
std::array<bool, RTE_MAX_LCORE> g_have_lcore_clock{};

int store_clock(void*) {
    const unsigned id = rte_lcore_id();
    g_have_lcore_clock[id] = pthread_getcpuclockid(pthread_self(), &g_lcore_clock[id]) == 0;
    return 0;
}

/// CPU time of lcore `lcore`'s thread (0 when unknown).
uint64_t lcore_cpu_ns(unsigned lcore) {
    timespec ts{};
    if (lcore >= RTE_MAX_LCORE || !g_have_lcore_clock[lcore] ||
        clock_gettime(g_lcore_clock[lcore], &ts) != 0) {
        return 0;
    }
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

/// The first worker lcore's (the one every single-worker loop runs on).
uint64_t worker_cpu_ns() {
    return lcore_cpu_ns(rte_get_next_lcore(rte_get_main_lcore(), 1, 0));
}

struct Sample {
    uint64_t tsc = 0;
    uint64_t cpu_ns = 0;
    uint64_t busy_cycles = 0;
    uint64_t busy_pkts = 0;
    uint64_t pkts = 0;
    uint64_t gaps = 0;
    uint64_t drops = 0;
    uint64_t created = 0;
};

/// Reads the clock and, for Dirigo, the worker's counters (relaxed loads pair with the
/// single-writer relaxed stores of dp::bump).
Sample sample(Rig& rig, bool dirigo, const BaselineCtx* ctx) {
    Sample s;
    LoopClock& c = rig.clock();
    s.busy_cycles = c.busy_cycles.load(std::memory_order_relaxed);
    s.busy_pkts = c.busy_pkts.load(std::memory_order_relaxed);
    s.pkts = c.pkts.load(std::memory_order_relaxed);
    s.gaps = c.gaps.load(std::memory_order_relaxed);
    if (dirigo) {
        const dp::WorkerStats& st = rig.dp().worker(0).stats();
        for (size_t i = 1; i < st.drops.size(); ++i) {
            s.drops += st.drops[i].load(std::memory_order_relaxed);
        }
        s.created = st.conns_created.load(std::memory_order_relaxed);
    } else if (ctx != nullptr) {
        s.drops = ctx->tx_full.load(std::memory_order_relaxed);
    }
    s.tsc = rte_rdtsc();
    s.cpu_ns = worker_cpu_ns();
    return s;
}

Window window_of(const Sample& a, const Sample& b) {
    const double hz = static_cast<double>(rte_get_tsc_hz());
    Window w;
    const double wall = static_cast<double>(b.tsc - a.tsc);
    w.seconds = wall / hz;
    w.packets = b.busy_pkts - a.busy_pkts;
    w.gaps = b.gaps - a.gaps;
    w.drops = b.drops - a.drops;
    w.created = b.created - a.created;
    const double busy = static_cast<double>(b.busy_cycles - a.busy_cycles);
    if (w.packets != 0) {
        w.cycles_per_pkt = busy / static_cast<double>(w.packets);
    }
    w.mpps_wall = w.seconds > 0 ? static_cast<double>(b.pkts - a.pkts) / w.seconds / 1e6 : 0;
    if (a.cpu_ns != 0 && b.cpu_ns > a.cpu_ns && wall > 0) {
        w.cpu_pct = 100.0 * static_cast<double>(b.cpu_ns - a.cpu_ns) * 1e-9 * hz / wall;
    }
    if (w.created != 0 && busy > 0) {
        w.conns_per_s = static_cast<double>(w.created) / (busy / hz);
    }
    return w;
}

void sleep_s(double s) {
    usleep(static_cast<useconds_t>(s * 1e6));
}

/// Drains worker 0's sync ring as the control thread's master does (SyncDaemon::poll_master):
/// rte_ring_sc_dequeue_burst_elem of up to 64 records, each converted (ctl::to_wire) and added
/// to an IPVS sync message (sync::MessageBuilder, 1472-byte messages as on a 1500-byte MTU); a
/// full message is finished and discarded instead of sent. Runs on its own thread, which
/// inherits the main lcore's CPU, so the worker's core pays only what a real control thread on
/// another core would cost it (the ring's cache lines). Thread: its own; counts read after stop().
class SyncDrainer {
public:
    explicit SyncDrainer(rte_ring* ring) : ring_(ring), builder_(0, 1500 - 28) {
        thread_ = std::thread([this] { loop(); });
    }
    ~SyncDrainer() { stop(); }
    SyncDrainer(const SyncDrainer&) = delete;
    SyncDrainer& operator=(const SyncDrainer&) = delete;

    /// Stops the thread once the ring is empty. Idempotent.
    void stop() {
        if (thread_.joinable()) {
            // Relaxed: only a request to stop; join() orders the counts for the reader.
            stop_.store(true, std::memory_order_relaxed);
            thread_.join();
        }
    }
    uint64_t records() const { return records_; }
    uint64_t messages() const { return messages_; }

private:
    void loop() {
        while (!stop_.load(std::memory_order_relaxed)) {
            if (drain_once() == 0) {
                usleep(50);
            }
        }
        while (drain_once() != 0) {
        }
        if (!builder_.empty()) {
            finish();
        }
    }
    unsigned drain_once() {
        dp::SyncRecord recs[64];
        // Single consumer, as the control thread is in the daemon.
        const unsigned n =
            rte_ring_sc_dequeue_burst_elem(ring_, recs, sizeof(dp::SyncRecord), 64, nullptr);
        for (unsigned i = 0; i < n; ++i) {
            const sync::ConnRecord c = ctl::to_wire(recs[i]);
            if (!builder_.add(c)) {
                finish();
                (void)builder_.add(c);
            }
        }
        records_ += n;
        return n;
    }
    void finish() {
        const std::span<const uint8_t> m = builder_.finish();
        sink_ = sink_ + m.size() + m.back();  // kept, so the encoding is not optimised away
        ++messages_;
        builder_.reset();
    }

    rte_ring* ring_;
    sync::MessageBuilder builder_;
    std::atomic<bool> stop_{false};
    uint64_t records_ = 0;
    uint64_t messages_ = 0;
    volatile size_t sink_ = 0;
    std::thread thread_;
};

/// Runs a loop for one window. Endless traffic: start, warm up, then time `seconds`. Finite
/// traffic (a Range): timed from before the start until both sources are done (at most
/// `seconds`), since a baseline may need only milliseconds for it. `start` launches the loop.
template <class Start>
bool timed(Rig& rig, double seconds, bool dirigo, const BaselineCtx* ctx, Start start, Window& w) {
    const bool finite = rig.source(kExt).finite() || rig.source(kInt).finite();
    rig.clock().reset();
    Sample a;
    if (finite) {
        a = sample(rig, dirigo, ctx);
    }
    if (!start()) {
        return false;
    }
    if (!finite) {
        sleep_s(std::max(0.02, seconds / 5));
        a = sample(rig, dirigo, ctx);
    }
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end = a.tsc + static_cast<uint64_t>(seconds * static_cast<double>(hz));
    // A loaded machine may hardly run the worker in a short window: the window goes on until it
    // has measured kMinPackets, up to kMaxStretch times its length.
    const uint64_t hard_end =
        a.tsc + static_cast<uint64_t>(seconds * kMaxStretch * static_cast<double>(hz));
    for (;;) {
        if (rig.source(kExt).done() && rig.source(kInt).done()) {
            break;
        }
        const uint64_t now = rte_rdtsc();
        // Relaxed: pairs with LoopClock::tick's single-writer relaxed bump.
        if (now >= hard_end ||
            (now >= end &&
             rig.clock().busy_pkts.load(std::memory_order_relaxed) - a.busy_pkts >= kMinPackets)) {
            break;
        }
        sleep_s(std::min(0.002, seconds / 10));
    }
    w = window_of(a, sample(rig, dirigo, ctx));
    return true;
}

/// One window of a baseline loop on the worker lcore. The Dirigo worker must be stopped.
bool run_baseline(Rig& rig, Baseline b, double seconds, Window& w) {
    BaselineCtx ctx;
    ctx.kind = b;
    ctx.ports[0] = rig.port_id(kExt);
    ctx.ports[1] = rig.port_id(kInt);
    const bool ok = timed(
        rig, seconds, false, &ctx,
        [&] { return rte_eal_remote_launch(baseline_main, &ctx, rig.worker_lcore()) == 0; }, w);
    if (!ok) {
        return false;
    }
    ctx.stop.store(true, std::memory_order_relaxed);
    rte_eal_wait_lcore(rig.worker_lcore());
    return true;
}

/// One window of the real Worker::run loop.
bool run_dirigo(Rig& rig, double seconds, Window& w, std::string& err) {
    if (!timed(
            rig, seconds, true, nullptr, [&] { return rig.launch(err); }, w)) {
        return false;
    }
    rig.stop();
    return true;
}

bool wanted(const Options& o, const std::string& name) {
    return o.only.empty() || name.find(o.only) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

class Bench {
public:
    explicit Bench(const Options& o) : o_(o) {}
    int run();

private:
    /// The baseline loops each rep runs: all three, or none with --no-baselines.
    std::span<const Baseline> baselines() const {
        static constexpr Baseline kAll[] = {Baseline::Io, Baseline::Macswap,
                                            Baseline::FiveTupleSwap};
        return o_.baselines ? std::span<const Baseline>(kAll) : std::span<const Baseline>();
    }
    /// `before` sets the sources up for the next window (the worker is stopped).
    template <class F>
    bool interleave(Rig& rig, Result& r, F before);
    /// interleave() for the variants of one scenario (sync master off and on): per rep, the
    /// three baselines, then each variant's window, their order rotated every rep so that no
    /// variant always runs first. `setup(v, i)` prepares rep i's window of variant v (-1: a
    /// baseline's) with the worker stopped; `after(v, i)` runs after each variant's window,
    /// worker stopped, false on failure. The baselines go into every result.
    template <class Setup, class After>
    bool interleave_variants(Rig& rig, const std::vector<Result*>& rs, Setup setup, After after);
    /// SYN, SYN-ACK, ACK for `conns` connections through the worker; `rs_of` learns which real
    /// server each went to; `setup_s` how long it took. IPv6 frames on an IPv6 rig.
    bool handshake(Rig& rig, uint32_t conns, std::vector<uint8_t>& rs_of, double& setup_s);
    template <class Tm>
    bool handshake_with(Rig& rig, uint32_t conns, std::vector<uint8_t>& rs_of, double& setup_s);
    /// A rig of `table` entries and `workers` workers with an rr service whose `conns`
    /// connections are established (handshake()); nullptr, reported, on failure. `ip6`: an
    /// IPv6 rig and service (`table` is then conn_table_size, of which IPv6 gets an eighth).
    std::unique_ptr<Rig> established_rig(uint32_t table, uint32_t conns, uint32_t workers,
                                         std::vector<uint8_t>& rs_of, double& setup_s,
                                         bool ip6 = false) {
        std::string err;
        auto rig = Rig::create(table, o_.preempt_us, err, workers, ip6);
        if (!rig) {
            fail(err);
            return nullptr;
        }
        if (!rig->add_service("rr", err) || !rig->resolve(err)) {
            fail(err);
            return nullptr;
        }
        if (!handshake(*rig, conns, rs_of, setup_s)) {
            return nullptr;
        }
        return rig;
    }
    bool established(uint32_t conns, const std::vector<Popularity>& dists);
    /// "nat6 N uniform|zipf": established IPv6 NAT, the twin of established().
    bool established6(uint32_t conns, const std::vector<Popularity>& dists);
    bool new_connections(const std::string& sched, bool ip6 = false);
    /// newconn3 rr with the sync master off and on.
    bool new_connections_sync();
    /// nat 100K uniform with the sync master off and on.
    bool established_sync(uint32_t conns);
    void memory_probe(const std::vector<uint32_t>& sizes);
    /// "scale nat N uniform": established NAT on a 1-worker and a 2-worker rig, windows
    /// alternating, each worker fed only the connections it owns.
    bool scaling(uint32_t conns);
    /// One window of every worker of `rig` on its endless streams.
    bool scale_window(Rig& rig, ScaleWindow& w, std::string& err);
    bool fail(const std::string& what) {
        std::fprintf(stderr, "dirigo-bench: %s\n", what.c_str());
        failed_ = true;
        return false;
    }
    void print_row(const Result& r) const {
        std::printf(
            "  %-24s %8.1f cyc/pkt (%.2f Mpps/core), macswap %.1f, io %.1f: %.1f%% of "
            "macswap, %.1f%% of io\n",
            r.name.c_str(), r.cycles_per_pkt, r.mpps_core, r.macswap_cycles, r.io_cycles,
            100 * r.ratio_macswap, 100 * r.ratio_io);
        std::fflush(stdout);
    }

    Options o_;
    Report rep_;
    bool failed_ = false;
};

template <class F>
bool Bench::interleave(Rig& rig, Result& r, F before) {
    std::string err;
    for (uint32_t i = 0; i < o_.reps; ++i) {
        for (Baseline b : baselines()) {
            Window w;
            before(false, i);
            if (!run_baseline(rig, b, o_.duration, w)) {
                return fail("cannot launch the baseline loop");
            }
            auto& v = b == Baseline::Io ? r.io : b == Baseline::Macswap ? r.macswap : r.fivet;
            v.push_back(w.cycles_per_pkt);
        }
        Window w;
        before(true, i);
        if (!run_dirigo(rig, o_.duration, w, err)) {
            return fail(err);
        }
        r.runs.push_back(w);
    }
    r.summarise(static_cast<double>(rte_get_tsc_hz()));
    r.ok = r.packets != 0 && r.cycles_per_pkt > 0;
    return true;
}

template <class Setup, class After>
bool Bench::interleave_variants(Rig& rig, const std::vector<Result*>& rs, Setup setup,
                                After after) {
    std::string err;
    const auto n = static_cast<uint32_t>(rs.size());
    for (uint32_t i = 0; i < o_.reps; ++i) {
        for (Baseline b : baselines()) {
            Window w;
            if (!setup(-1, i)) {
                return false;
            }
            if (!run_baseline(rig, b, o_.duration, w)) {
                return fail("cannot launch the baseline loop");
            }
            for (Result* r : rs) {
                auto& v = b == Baseline::Io        ? r->io
                          : b == Baseline::Macswap ? r->macswap
                                                   : r->fivet;
                v.push_back(w.cycles_per_pkt);
            }
        }
        for (uint32_t j = 0; j < n; ++j) {
            const auto v = static_cast<int>((i + j) % n);
            Window w;
            if (!setup(v, i)) {
                return false;
            }
            if (!run_dirigo(rig, o_.duration, w, err)) {
                return fail(err);
            }
            if (!after(v, i)) {
                return false;
            }
            rs[static_cast<size_t>(v)]->runs.push_back(w);
        }
    }
    for (Result* r : rs) {
        r->summarise(static_cast<double>(rte_get_tsc_hz()));
        r->ok = r->packets != 0 && r->cycles_per_pkt > 0;
    }
    return true;
}

bool Bench::handshake(Rig& rig, uint32_t conns, std::vector<uint8_t>& rs_of, double& setup_s) {
    return rig.ip6() ? handshake_with<Templates6>(rig, conns, rs_of, setup_s)
                     : handshake_with<Templates>(rig, conns, rs_of, setup_s);
}

template <class Tm>
bool Bench::handshake_with(Rig& rig, uint32_t conns, std::vector<uint8_t>& rs_of, double& setup_s) {
    // Establish every connection through the workers: SYN, SYN-ACK, ACK. The SYN pass records
    // which real server each connection went to, from the frames the int port transmits. With
    // several workers, each one's queues carry only the connections it owns (as a NIC steering
    // by the owner's hash would), so no packet is handed off.
    std::string err;
    const uint64_t t0 = rte_rdtsc();
    const uint32_t nw = rig.workers();
    const Tm hs(rig.mac(kExt), rig.mac(kInt), kTcpSyn, kTcpSyn | kTcpAck);
    const Tm ack(rig.mac(kExt), rig.mac(kInt), kTcpAck, kTcpAck);
    rs_of.assign(conns, 0);
    std::vector<std::vector<uint32_t>> owned(nw);
    std::vector<std::unique_ptr<RsTap>> taps;
    for (uint32_t w = 0; w < nw; ++w) {
        if (nw > 1) {
            owned[w] = owned_connections(conns, w, nw);
        }
        taps.push_back(std::make_unique<RsTap>(rs_of));
        if (!taps.back()->attach(rig.port_id(kInt), static_cast<uint16_t>(w))) {
            return fail("rte_eth_add_tx_callback failed");
        }
    }
    const double limit = 60.0 + conns / 200000.0;
    // Each pass feeds one port of every worker: connections [0, conns), or the worker's own.
    auto pass = [&](int port, const auto& tmpl, const std::vector<uint8_t>* rs) {
        for (uint32_t w = 0; w < nw; ++w) {
            rig.source(port, w).range(tmpl, 0, conns, rs, nw > 1 ? &owned[w] : nullptr);
            rig.source(port == kExt ? kInt : kExt, w).off();
        }
        return rig.run_until_done(limit, err);
    };
    bool ok = pass(kExt, hs.to_vip, nullptr);
    uint32_t seen = 0;
    for (auto& t : taps) {
        t->detach();
        seen += t->seen();
    }
    ok = ok && pass(kInt, hs.reply, &rs_of);
    ok = ok && pass(kExt, ack.to_vip, nullptr);
    if (!ok) {
        return fail("handshake: " + err);
    }
    setup_s = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(rte_get_tsc_hz());
    uint32_t live = 0;
    for (uint32_t w = 0; w < nw; ++w) {
        const dp::Worker& wk = rig.dp().worker(w);
        live += rig.ip6() ? (wk.table6() != nullptr ? wk.table6()->size() : 0) : wk.table().size();
    }
    std::printf("  established %s connections in %.1f s (%u live, %u worker%s)\n",
                count_name(conns).c_str(), setup_s, live, nw, nw == 1 ? "" : "s");
    std::fflush(stdout);
    if (seen != conns || live != conns) {
        return fail("handshake: " + std::to_string(seen) + " SYNs seen, " + std::to_string(live) +
                    " connections live, expected " + std::to_string(conns));
    }
    return true;
}

bool Bench::established(uint32_t conns, const std::vector<Popularity>& dists) {
    bool any = false;
    for (Popularity d : dists) {
        any = any || wanted(o_, "nat " + count_name(conns) + " " +
                                    (d == Popularity::Zipf ? "zipf" : "uniform"));
    }
    const std::string adaptive_name = "nat " + count_name(conns) + " uniform adaptive";
    const bool adaptive = conns == kAdaptiveConns && wanted(o_, adaptive_name);
    any = any || adaptive;
    if (!any) {
        return true;
    }
    std::vector<uint8_t> rs_of;
    double setup = 0;
    auto rig = established_rig(conns, conns, 1, rs_of, setup);
    if (!rig) {
        return false;
    }
    const Templates ack(rig->mac(kExt), rig->mac(kInt), kTcpAck, kTcpAck);
    for (Popularity d : dists) {
        const char* dn = d == Popularity::Zipf ? "zipf" : "uniform";
        Result r;
        r.kind = "nat";
        r.mode = "rr";
        r.dist = dn;
        r.conns = conns;
        r.table_size = conns;
        r.setup_s = setup;
        r.name = "nat " + count_name(conns) + " " + dn;
        if (!wanted(o_, r.name)) {
            continue;
        }
        const std::vector<uint32_t> seq = stream_sequence(conns, d, rs_of, 11);
        // Both directions of the same connections: replies start half a sequence later.
        rig->source(kExt).stream(ack.to_vip, false, seq, 0);
        rig->source(kInt).stream(ack.reply, true, seq, kSeqLen / 2);
        if (!interleave(*rig, r, [](bool, uint32_t) {})) {
            return false;
        }
        if (r.created != 0 || r.drops != 0) {
            r.note += "unexpected: " + std::to_string(r.created) + " created, " +
                      std::to_string(r.drops) + " dropped; ";
            r.ok = false;
        }
        print_row(r);
        rep_.results.push_back(r);
    }
    if (adaptive) {
        // The same worker and traffic with dataplane.poll = "adaptive" (default idle_polls and
        // max_sleep_us): under load no loop is empty, so the backoff never engages; what this
        // measures is the cost of its bookkeeping, against the busy run above.
        Result r;
        r.kind = "nat-adaptive";
        r.mode = "rr";
        r.dist = "uniform";
        r.conns = conns;
        r.table_size = conns;
        r.setup_s = setup;
        r.name = adaptive_name;
        const std::vector<uint32_t> seq = stream_sequence(conns, Popularity::Uniform, rs_of, 11);
        rig->source(kExt).stream(ack.to_vip, false, seq, 0);
        rig->source(kInt).stream(ack.reply, true, seq, kSeqLen / 2);
        cfg::DataplaneCfg poll;
        poll.poll = cfg::PollMode::Adaptive;
        rig->dp().set_poll(poll);
        const bool ok_run = interleave(*rig, r, [](bool, uint32_t) {});
        rig->dp().set_poll(cfg::DataplaneCfg{});
        if (!ok_run) {
            return false;
        }
        const dp::WorkerStats& st = rig->dp().worker(0).stats();
        r.note += std::to_string(st.idle_sleeps.load()) + " sleeps in all; ";
        if (r.created != 0 || r.drops != 0) {
            r.note += "unexpected: " + std::to_string(r.created) + " created, " +
                      std::to_string(r.drops) + " dropped; ";
            r.ok = false;
        }
        print_row(r);
        rep_.results.push_back(r);
    }
    rig->source(kExt).off();
    rig->source(kInt).off();
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (nat " + count_name(conns) + ")");
    }
    return true;
}

bool Bench::established6(uint32_t conns, const std::vector<Popularity>& dists) {
    bool any = false;
    for (Popularity d : dists) {
        any = any || wanted(o_, "nat6 " + count_name(conns) + " " +
                                    (d == Popularity::Zipf ? "zipf" : "uniform"));
    }
    if (!any) {
        return true;
    }
    // The IPv6 table is an eighth of conn_table_size (Dataplane::create): eight times the
    // connections, so that the IPv6 table is exactly as large as the IPv4 twin's.
    const uint32_t table = conns * 8;
    std::vector<uint8_t> rs_of;
    double setup = 0;
    auto rig = established_rig(table, conns, 1, rs_of, setup, true);
    if (!rig) {
        return false;
    }
    const uint32_t capacity = rig->dp().worker(0).table6()->capacity();
    const Templates6 ack(rig->mac(kExt), rig->mac(kInt), kTcpAck, kTcpAck);
    for (Popularity d : dists) {
        const char* dn = d == Popularity::Zipf ? "zipf" : "uniform";
        Result r;
        r.kind = "nat6";
        r.mode = "rr";
        r.dist = dn;
        r.conns = conns;
        r.table_size = capacity;
        r.setup_s = setup;
        r.name = "nat6 " + count_name(conns) + " " + dn;
        if (!wanted(o_, r.name)) {
            continue;
        }
        // The same sequence (seed) as the IPv4 twin's: the same connections in the same order.
        const std::vector<uint32_t> seq = stream_sequence(conns, d, rs_of, 11);
        rig->source(kExt).stream(ack.to_vip, false, seq, 0);
        rig->source(kInt).stream(ack.reply, true, seq, kSeqLen / 2);
        // Every frame is one of a connection's: a reply that missed its connection would be
        // routed as transit traffic (counted as forwarded) rather than dropped.
        const dp::WorkerStats& st = rig->dp().worker(0).stats();
        const uint64_t routed = st.forwarded.load(std::memory_order_relaxed);
        if (!interleave(*rig, r, [](bool, uint32_t) {})) {
            return false;
        }
        const uint64_t transit = st.forwarded.load(std::memory_order_relaxed) - routed;
        if (r.created != 0 || r.drops != 0 || transit != 0) {
            r.note += "unexpected: " + std::to_string(r.created) + " created, " +
                      std::to_string(r.drops) + " dropped, " + std::to_string(transit) +
                      " routed without NAT; ";
            r.ok = false;
        }
        print_row(r);
        rep_.results.push_back(r);
    }
    rig->source(kExt).off();
    rig->source(kInt).off();
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (nat6 " + count_name(conns) + ")");
    }
    return true;
}

bool Bench::new_connections(const std::string& sched, bool ip6) {
    Result r;
    r.kind = ip6 ? "newconn6" : "newconn";
    r.mode = sched;
    r.name = (ip6 ? "newconn6 " : "newconn ") + sched;
    if (!wanted(o_, r.name)) {
        return true;
    }
    // On hugepages the 4M table when the run has the pages (scripts/bench reserves them).
    const bool small_huge =
        o_.huge && rep_.start.hugepages_free * kHugePage < kNewConnTableHugeNeed;
    const uint32_t table = o_.smoke ? (1u << 16) : small_huge ? kNewConnTableHuge : kNewConnTable;
    std::string err;
    auto rig = Rig::create(table, o_.preempt_us, err, 1, ip6);
    if (!rig || !rig->add_service(sched, err) || !rig->resolve(err)) {
        return fail(err);
    }
    const Templates syn(rig->mac(kExt), rig->mac(kInt), kTcpSyn, kTcpSyn | kTcpAck);
    const Templates6 syn6(rig->mac(kExt), rig->mac(kInt), kTcpSyn, kTcpSyn | kTcpAck);
    // The same daemon configuration for both families: IPv6 connections get a table of an
    // eighth of conn_table_size (Dataplane::create), filled to the same fraction.
    const uint32_t capacity = ip6 ? rig->dp().worker(0).table6()->capacity() : table;
    // Each Dirigo window creates its own share of the table; the baselines forward the same
    // SYNs (flows already used: to them a frame is a frame).
    const auto per = static_cast<uint32_t>(capacity * kNewConnFill / o_.reps);
    r.table_size = capacity;
    auto before = [&](bool dirigo, uint32_t i) {
        const uint32_t first = dirigo ? i * per : 0;
        const uint32_t end = dirigo ? (i + 1) * per : per;
        if (ip6) {
            rig->source(kExt).range(syn6.to_vip, first, end, nullptr);
        } else {
            rig->source(kExt).range(syn.to_vip, first, end, nullptr);
        }
        rig->source(kInt).off();
    };
    if (!interleave(*rig, r, before)) {
        return false;
    }
    r.conns = ip6 ? rig->dp().worker(0).table6()->size() : rig->dp().worker(0).table().size();
    if (r.drops != 0) {
        r.note += std::to_string(r.drops) + " dropped; ";
    }
    print_row(r);
    std::printf("  %-24s %.3f M new connections/s per core (table %s, %" PRIu64 " live)\n", "",
                r.conns_per_s / 1e6, count_name(r.table_size).c_str(), r.conns);
    rep_.results.push_back(r);
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (" + r.name + ")");
    }
    return true;
}

bool Bench::new_connections_sync() {
    Result off;
    off.kind = "newconn3";
    off.mode = "rr";
    off.name = "newconn3 rr";
    Result on = off;
    on.name = "newconn3 rr sync";
    on.sync = true;
    // A pair or nothing: the figure is the difference.
    if (!wanted(o_, off.name) && !wanted(o_, on.name)) {
        return true;
    }
    const uint32_t table = o_.smoke ? (1u << 16) : kNewConn3Table;
    std::string err;
    auto rig = Rig::create(table, o_.preempt_us, err);
    if (!rig || !rig->add_service("rr", err) || !rig->resolve(err)) {
        return fail(err);
    }
    // Per connection the client's SYN, its ACK of the SYN-ACK (SYN_RECV -> ESTABLISHED in IPVS's
    // input table: no server packet needed) and a data segment, its third packet: the one
    // sync_threshold 3 sends. The int port carries nothing (the SYN-ACKs are not needed).
    const Templates syn(rig->mac(kExt), rig->mac(kInt), kTcpSyn, kTcpSyn | kTcpAck);
    const Templates ack(rig->mac(kExt), rig->mac(kInt), kTcpAck, kTcpAck);
    const Templates data(rig->mac(kExt), rig->mac(kInt), kTcpAck | kTcpPsh, kTcpAck);
    const std::vector<Template> three = {syn.to_vip[0], ack.to_vip[0], data.to_vip[0]};
    // The cost of a new connection grows with the table's fill (about 15% from empty to 85%
    // full on a 1M table), and each window adds to it: half the table is filled first (master
    // off, untimed), then every Dirigo window opens its own connections, its share of the
    // remaining 35%, so that two windows of a rep differ by a few percent of fill only (and the
    // variants' order alternates by rep). The baselines forward the first window's frames again.
    const auto prefill = static_cast<uint32_t>(table * kNewConn3Prefill);
    rig->source(kExt).opens(three, 0, prefill, kOpenBlock);
    rig->source(kInt).off();
    if (!rig->run_until_done(60.0 + prefill / 100000.0, err)) {
        return fail("newconn3 prefill: " + err);
    }
    const auto per =
        static_cast<uint32_t>(table * (kNewConnFill - kNewConn3Prefill) / (2 * o_.reps));
    off.table_size = on.table_size = table;
    const dp::WorkerStats& st = rig->dp().worker(0).stats();
    struct Mark {
        uint64_t created = 0;
        uint64_t queued = 0;
        uint64_t lost = 0;
    };
    auto mark = [&] {
        // Relaxed loads of the stopped worker's single-writer counters.
        return Mark{st.conns_created.load(std::memory_order_relaxed),
                    st.sync_queued.load(std::memory_order_relaxed),
                    st.sync_lost.load(std::memory_order_relaxed)};
    };
    Mark m0;
    Mark total[2];
    if (rig->dp().sync_out(0) == nullptr) {
        return fail("the worker has no sync ring");
    }
    SyncDrainer drainer(rig->dp().sync_out(0));
    auto setup = [&](int v, uint32_t i) {
        const uint32_t first = prefill + (v < 0 ? 0 : (2 * i + static_cast<uint32_t>(v)) * per);
        rig->source(kExt).opens(three, first, first + per, kOpenBlock);
        rig->source(kInt).off();
        if (v >= 0) {
            if (!rig->set_sync_master(v == 1, err)) {
                return fail(err);
            }
            m0 = mark();
        }
        return true;
    };
    auto after = [&](int v, uint32_t) {
        // A window cut short by the shared machine leaves connections half open: finish them
        // (untimed), so that every connection opened has sent its third packet.
        if (!rig->source(kExt).done() && !rig->run_until_done(60, err)) {
            return fail("newconn3: " + err);
        }
        const Mark m1 = mark();
        Mark& t = total[v];
        t.created += m1.created - m0.created;
        t.queued += m1.queued - m0.queued;
        t.lost += m1.lost - m0.lost;
        return true;
    };
    const bool ran = interleave_variants(*rig, {&off, &on}, setup, after);
    drainer.stop();
    if (!ran) {
        return false;
    }
    Result* rs[2] = {&off, &on};
    for (int v = 0; v < 2; ++v) {
        Result& r = *rs[v];
        r.conns = total[v].created;
        r.sync_opened = total[v].created;
        r.sync_queued = total[v].queued;
        r.sync_lost = total[v].lost;
        if (r.drops != 0) {
            r.note += std::to_string(r.drops) + " dropped; ";
            r.ok = false;
        }
    }
    on.sync_drained = drainer.records();
    on.sync_messages = drainer.messages();
    if (off.sync_queued != 0) {
        off.note += "records queued with the master off: " + std::to_string(off.sync_queued) + "; ";
        off.ok = false;
    }
    if (on.sync_lost != 0 || on.sync_queued != on.sync_opened ||
        on.sync_drained != on.sync_queued) {
        on.note += "sync: " + std::to_string(on.sync_opened) + " opened, " +
                   std::to_string(on.sync_queued) + " queued, " + std::to_string(on.sync_lost) +
                   " lost, " + std::to_string(on.sync_drained) + " drained; ";
        on.ok = false;
    }
    for (const Result* r : rs) {
        print_row(*r);
        std::printf("  %-24s %.3f M new connections/s per core, %.0f cycles each (%s, %" PRIu64
                    " opened, %" PRIu64 " records)\n",
                    "", r->conns_per_s / 1e6, r->cycles_per_conn, count_name(table).c_str(),
                    r->conns, r->sync_queued);
        rep_.results.push_back(*r);
    }
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (newconn3)");
    }
    return true;
}

bool Bench::established_sync(uint32_t conns) {
    Result off;
    off.kind = "nat";
    off.mode = "rr";
    off.dist = "uniform";
    off.conns = off.table_size = conns;
    off.name = "nat " + count_name(conns) + " uniform";
    Result on = off;
    on.name = off.name + " sync";
    on.sync = true;
    if (!wanted(o_, off.name) && !wanted(o_, on.name)) {
        return true;
    }
    std::string err;
    auto rig = Rig::create(conns, o_.preempt_us, err);
    if (!rig || !rig->add_service("rr", err) || !rig->resolve(err)) {
        return fail(err);
    }
    std::vector<uint8_t> rs_of;
    double setup_s = 0;
    if (!handshake(*rig, conns, rs_of, setup_s)) {
        return false;
    }
    off.setup_s = on.setup_s = setup_s;
    const Templates ack(rig->mac(kExt), rig->mac(kInt), kTcpAck, kTcpAck);
    const std::vector<uint32_t> seq = stream_sequence(conns, Popularity::Uniform, rs_of, 11);
    rig->source(kExt).stream(ack.to_vip, false, seq, 0);
    rig->source(kInt).stream(ack.reply, true, seq, kSeqLen / 2);
    const dp::WorkerStats& st = rig->dp().worker(0).stats();
    uint64_t q0 = 0;
    uint64_t l0 = 0;
    uint64_t queued[2] = {};
    uint64_t lost[2] = {};
    if (rig->dp().sync_out(0) == nullptr) {
        return fail("the worker has no sync ring");
    }
    SyncDrainer drainer(rig->dp().sync_out(0));
    auto setup = [&](int v, uint32_t) {
        if (v >= 0) {
            if (!rig->set_sync_master(v == 1, err)) {
                return fail(err);
            }
            // Relaxed loads of the stopped worker's single-writer counters.
            q0 = st.sync_queued.load(std::memory_order_relaxed);
            l0 = st.sync_lost.load(std::memory_order_relaxed);
        }
        return true;
    };
    auto after = [&](int v, uint32_t) {
        queued[v] += st.sync_queued.load(std::memory_order_relaxed) - q0;
        lost[v] += st.sync_lost.load(std::memory_order_relaxed) - l0;
        return true;
    };
    const bool ran = interleave_variants(*rig, {&off, &on}, setup, after);
    drainer.stop();
    if (!ran) {
        return false;
    }
    Result* rs[2] = {&off, &on};
    for (int v = 0; v < 2; ++v) {
        rs[v]->sync_queued = queued[v];
        rs[v]->sync_lost = lost[v];
        if (rs[v]->created != 0 || rs[v]->drops != 0) {
            rs[v]->note += "unexpected: " + std::to_string(rs[v]->created) + " created, " +
                           std::to_string(rs[v]->drops) + " dropped; ";
            rs[v]->ok = false;
        }
    }
    on.sync_drained = drainer.records();
    on.sync_messages = drainer.messages();
    if (off.sync_queued != 0) {
        off.note += "records queued with the master off: " + std::to_string(off.sync_queued) + "; ";
        off.ok = false;
    }
    // Every 50th client packet of a connection is sent (sync_period), so about 1% of all.
    if (on.sync_lost != 0 || on.sync_queued == 0 || on.sync_drained != on.sync_queued) {
        on.note += "sync: " + std::to_string(on.sync_queued) + " queued, " +
                   std::to_string(on.sync_lost) + " lost, " + std::to_string(on.sync_drained) +
                   " drained; ";
        on.ok = false;
    }
    for (const Result* r : rs) {
        print_row(*r);
        rep_.results.push_back(*r);
    }
    rig->source(kExt).off();
    rig->source(kInt).off();
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (" + off.name + ")");
    }
    return true;
}

bool Bench::scale_window(Rig& rig, ScaleWindow& w, std::string& err) {
    const uint32_t nw = rig.workers();
    std::vector<unsigned> lcores;
    unsigned lc = rte_get_main_lcore();
    for (uint32_t i = 0; i < nw; ++i) {
        lc = rte_get_next_lcore(lc, 1, 0);
        lcores.push_back(lc);
    }
    struct Snap {
        uint64_t cycles = 0, pkts = 0, all = 0, cpu_ns = 0, handed = 0, drops = 0;
    };
    // Relaxed loads: pair with the single-writer relaxed bumps of the clocks and the stats.
    auto take = [&](uint32_t i) {
        Snap x;
        const LoopClock& c = rig.clock(i);
        x.cycles = c.busy_cycles.load(std::memory_order_relaxed);
        x.pkts = c.busy_pkts.load(std::memory_order_relaxed);
        x.all = c.pkts.load(std::memory_order_relaxed);
        x.cpu_ns = lcore_cpu_ns(lcores[i]);
        const dp::WorkerStats& st = rig.dp().worker(i).stats();
        x.handed = st.handed_off.load(std::memory_order_relaxed);
        for (size_t d = 1; d < st.drops.size(); ++d) {
            x.drops += st.drops[d].load(std::memory_order_relaxed);
        }
        return x;
    };
    for (uint32_t i = 0; i < nw; ++i) {
        rig.clock(i).reset();
    }
    if (!rig.launch(err)) {
        return false;
    }
    sleep_s(std::max(0.02, o_.duration / 5));
    std::vector<Snap> a(nw), b(nw);
    const uint64_t t0 = rte_rdtsc();
    for (uint32_t i = 0; i < nw; ++i) {
        a[i] = take(i);
    }
    sleep_s(o_.duration);
    for (uint32_t i = 0; i < nw; ++i) {
        b[i] = take(i);
    }
    const uint64_t t1 = rte_rdtsc();
    rig.stop();
    const double hz = static_cast<double>(rte_get_tsc_hz());
    const double wall = static_cast<double>(t1 - t0) / hz;
    w.workers = nw;
    uint64_t all = 0;
    double cpu_s = 0;
    for (uint32_t i = 0; i < nw; ++i) {
        const auto pk = static_cast<double>(b[i].pkts - a[i].pkts);
        const auto cyc = static_cast<double>(b[i].cycles - a[i].cycles);
        w.cycles_per_pkt.push_back(pk > 0 ? cyc / pk : 0);
        if (cyc > 0) {
            w.mpps_busy += pk / (cyc / hz) / 1e6;
        }
        w.packets += b[i].pkts - a[i].pkts;
        all += b[i].all - a[i].all;
        cpu_s += static_cast<double>(b[i].cpu_ns - a[i].cpu_ns) * 1e-9;
        w.handed_off += b[i].handed - a[i].handed;
        w.drops += b[i].drops - a[i].drops;
    }
    w.mpps_wall = wall > 0 ? static_cast<double>(all) / wall / 1e6 : 0;
    w.cpu_pct = wall > 0 ? 100 * cpu_s / wall : 0;
    return true;
}

bool Bench::scaling(uint32_t conns) {
    ScaleResult r;
    r.name = "scale nat " + count_name(conns) + " uniform";
    r.conns = conns;
    if (!wanted(o_, r.name)) {
        return true;
    }
    // Every worker's table as full as the single worker's: sized to the most any worker owns.
    uint32_t table2 = 0;
    for (uint32_t i = 0; i < 2; ++i) {
        table2 = std::max(table2, static_cast<uint32_t>(owned_connections(conns, i, 2).size()));
    }
    // One rig at a time (a Dataplane's pools and rings have fixed names): per rep, each rig is
    // made, its connections established, one window run and the rig closed; which rig goes
    // first alternates every rep.
    auto one_rig = [&](uint32_t nw, ScaleWindow& w) {
        std::vector<uint8_t> rs_of;
        double setup = 0;
        auto rig = established_rig(nw == 1 ? conns : table2, conns, nw, rs_of, setup);
        if (!rig) {
            return false;
        }
        std::string err;
        const Templates ack(rig->mac(kExt), rig->mac(kInt), kTcpAck, kTcpAck);
        const std::vector<uint32_t> seq = stream_sequence(conns, Popularity::Uniform, rs_of, 11);
        std::vector<std::vector<uint32_t>> seqs;
        for (uint32_t i = 0; i < nw; ++i) {
            seqs.push_back(nw == 1 ? seq : owned_sequence(seq, i, nw));
            if (seqs.back().empty()) {
                return fail(r.name + ": worker " + std::to_string(i) + " owns no connection");
            }
            rig->source(kExt, i).stream(ack.to_vip, false, seqs.back(), 0);
            rig->source(kInt, i).stream(ack.reply, true, seqs.back(), kSeqLen / 2);
        }
        const bool ok = scale_window(*rig, w, err);
        for (uint32_t i = 0; i < nw; ++i) {
            rig->source(kExt, i).off();
            rig->source(kInt, i).off();
        }
        const uint32_t leaked = rig->close();
        if (!ok) {
            return fail(r.name + ": " + err);
        }
        if (leaked != 0) {
            return fail(std::to_string(leaked) + " mbufs leaked (" + r.name + ")");
        }
        return true;
    };
    for (uint32_t i = 0; i < o_.reps; ++i) {
        ScaleWindow w1;
        ScaleWindow w2;
        const bool ok =
            i % 2 == 0 ? one_rig(1, w1) && one_rig(2, w2) : one_rig(2, w2) && one_rig(1, w1);
        if (!ok) {
            return false;
        }
        std::printf(
            "    rep %u: 1 worker %.2f Mpps (%.0f cyc/pkt), 2 workers %.2f Mpps (%.0f, %.0f "
            "cyc/pkt; CPU %.0f%%)\n",
            i, w1.mpps_busy, w1.cycles_per_pkt[0], w2.mpps_busy, w2.cycles_per_pkt[0],
            w2.cycles_per_pkt[1], w2.cpu_pct);
        std::fflush(stdout);
        r.one.push_back(w1);
        r.two.push_back(w2);
    }
    r.summarise();
    r.ok = r.mpps_busy_1 > 0 && r.mpps_busy_2 > 0;
    for (const auto* ws : {&r.one, &r.two}) {
        for (const ScaleWindow& w : *ws) {
            if (w.handed_off != 0 || w.drops != 0) {
                r.note = "unexpected: " + std::to_string(w.handed_off) + " handed off, " +
                         std::to_string(w.drops) + " dropped in a window; ";
                r.ok = false;
            }
        }
    }
    std::printf(
        "  %-24s 1 worker %.2f Mpps, 2 workers %.2f Mpps (busy time): factor %.2f "
        "(wall clock %.2f)\n",
        r.name.c_str(), r.mpps_busy_1, r.mpps_busy_2, r.factor_busy, r.factor_wall);
    std::fflush(stdout);
    rep_.scale.push_back(r);
    return r.ok || fail(r.name + ": " + r.note);
}

void Bench::memory_probe(const std::vector<uint32_t>& sizes) {
    // Every table stays alive until all are measured, so no table reuses memory another freed.
    std::vector<std::unique_ptr<ct::ConnTable>> keep;
    for (uint32_t n : sizes) {
        MemProbe p;
        p.conns = n;
        const uint64_t r0 = resident_bytes();
        auto t = ct::ConnTable::create("memprobe" + std::to_string(n), n,
                                       static_cast<int>(rte_socket_id()));
        if (!t) {
            rep_.skipped.push_back("memory probe " + count_name(n) + ": " + t.status().message());
            continue;
        }
        const uint64_t r1 = resident_bytes();
        for (uint32_t f = 0; f < n; ++f) {
            ct::Conn c;
            c.client.saddr = client_addr(f);
            c.client.daddr = rte_cpu_to_be_32(kVip);
            c.client.sport = client_port(f);
            c.client.dport = rte_cpu_to_be_16(kPort);
            c.client.proto = IPPROTO_TCP;
            c.raddr = rte_cpu_to_be_32(kRsBase + f % kRealServers);
            c.rport = rte_cpu_to_be_16(kPort);
            c.expire = ct::expire_at(rte_rdtsc(), ct::kMaxTimeoutTsc);
            (void)(*t)->insert(c, true);
        }
        const uint64_t r2 = resident_bytes();
        p.capacity = (*t)->capacity();
        p.memory_bytes = (*t)->memory_bytes();
        p.rss_create = r1 - r0;
        p.rss_filled = r2 - r0;
        std::printf(
            "  conn table %-4s: memory_bytes/capacity %6.1f B, resident growth %6.1f B "
            "at creation, %6.1f B filled\n",
            count_name(n).c_str(), static_cast<double>(p.memory_bytes) / p.capacity,
            static_cast<double>(p.rss_create) / p.capacity,
            static_cast<double>(p.rss_filled) / p.capacity);
        std::fflush(stdout);
        rep_.mem.push_back(p);
        keep.push_back(std::move(*t));
    }
}

int Bench::run() {
    rep_.command = o_.command;
    rep_.huge = o_.huge;
    rep_.smoke = o_.smoke;
    rep_.duration_s = o_.duration;
    rep_.reps = o_.reps;
    rep_.preempt_us = o_.preempt_us;
    rep_.start = MachineState::read();
    std::vector<uint32_t> sizes = {1000};
    std::vector<Popularity> dists = {Popularity::Uniform};
    if (!o_.smoke) {
        sizes = {1000, 1000000, 10000000};
        dists = {Popularity::Uniform, Popularity::Zipf};
    }
    // A 10M table holds about 2 GB; the memory probe holds all its tables at once.
    constexpr uint64_t kNeed10M = 6ull << 30;
    constexpr uint64_t kNeed10MHuge = 2816ull << 20;
    const uint64_t avail = available_bytes();
    const uint64_t huge_free = rep_.start.hugepages_free * kHugePage;
    std::erase_if(sizes, [&](uint32_t n) {
        if (n > o_.max_conns) {
            rep_.skipped.push_back("nat " + count_name(n) + ": above --max-conns");
            return true;
        }
        // On hugepages the 10M table (about 2.1 GB) and the rig's pools come from the pages
        // scripts/bench reserves for the run; --no-huge also holds the memory probe's tables.
        if (n >= 10000000 && (o_.huge ? huge_free < kNeed10MHuge : avail < kNeed10M)) {
            rep_.skipped.push_back(
                "nat " + count_name(n) + ": " +
                (o_.huge ? std::to_string(huge_free >> 20) + " MiB of hugepages free, need " +
                               std::to_string(kNeed10MHuge >> 20)
                         : std::to_string(avail >> 20) + " MiB available, need " +
                               std::to_string(kNeed10M >> 20)));
            return true;
        }
        return false;
    });
    if (o_.huge && (!rep_.start.hugetlbfs || huge_free < (256ull << 20))) {
        std::fprintf(stderr,
                     "dirigo-bench: --huge needs hugetlbfs and at least 256 MiB of free 2 MiB "
                     "pages (%" PRIu64 " free, hugetlbfs %s)\n",
                     rep_.start.hugepages_free, rep_.start.hugetlbfs ? "mounted" : "not mounted");
        return 3;
    }
    // IPv6 twins of the established rows, on a conn_table_size eight times theirs (the IPv6
    // table is an eighth of it): 1K and 1M (10M would need an 80M-entry IPv4 table).
    constexpr uint64_t kNeed6_1M = 3ull << 30;         // an 8M IPv4 table beside the 1M IPv6 one
    constexpr uint64_t kNeed6_1MHuge = 2048ull << 20;  // the same on hugepages, with the pools
    std::vector<uint32_t> sizes6 = {1000};
    if (!o_.smoke) {
        sizes6.push_back(1000000);
    }
    std::erase_if(sizes6, [&](uint32_t n) {
        if (n > o_.max_conns) {
            rep_.skipped.push_back("nat6 " + count_name(n) + ": above --max-conns");
            return true;
        }
        if (n >= 1000000 && (o_.huge ? huge_free < kNeed6_1MHuge : avail < kNeed6_1M)) {
            rep_.skipped.push_back(
                "nat6 " + count_name(n) + ": " +
                (o_.huge ? std::to_string(huge_free >> 20) + " MiB of hugepages free, need " +
                               std::to_string(kNeed6_1MHuge >> 20)
                         : std::to_string(avail >> 20) + " MiB available, need " +
                               std::to_string(kNeed6_1M >> 20)));
            return true;
        }
        return false;
    });
    uint32_t biggest = sizes.empty() ? 1000 : sizes.back();
    if (o_.scale != 0) {
        // One rig at a time; the 2-worker one has two tables of about half the connections.
        biggest = static_cast<uint32_t>(o_.scale);
    }
    const bool small = o_.smoke || (o_.scale != 0 && o_.scale <= 100000);
    uint32_t mem_mb = small ? 512 : biggest >= 10000000 ? 4096 : 1536;
    const bool nat6_1m = std::find(sizes6.begin(), sizes6.end(), 1000000u) != sizes6.end() &&
                         (wanted(o_, "nat6 1M uniform") || wanted(o_, "nat6 1M zipf"));
    if (o_.scale == 0 && nat6_1m) {
        mem_mb = std::max<uint32_t>(mem_mb, 3072);  // the 8M IPv4 table beside the 1M IPv6 one
    }
    // The scaling run has a second worker lcore, on the main lcore's core.
    EalArgs eal("dirigo-bench", o_.scale != 0 ? "0@0,1@1,2@0" : "0-1", o_.huge ? 0 : mem_mb,
                "dirigo_bench");
    rep_.eal = eal.joined();
    if (rte_eal_init(eal.argc(), eal.argv()) < 0) {
        std::fprintf(stderr, "dirigo-bench: rte_eal_init failed (%s)\n", eal.joined().c_str());
        return 1;
    }
    rep_.tsc_hz = rte_get_tsc_hz();
    int rc = 0;
    auto store_clocks = [] {
        unsigned lc = 0;
        RTE_LCORE_FOREACH_WORKER(lc) {
            if (rte_eal_remote_launch(store_clock, nullptr, lc) != 0 ||
                rte_eal_wait_lcore(lc) != 0) {
                return false;
            }
        }
        return true;
    };
    if (rte_lcore_count() < 2) {
        std::fprintf(stderr, "dirigo-bench: needs two lcores (the worker and the main one)\n");
        rc = 1;
    } else if (!store_clocks()) {
        std::fprintf(stderr, "dirigo-bench: cannot start the worker lcores\n");
        rc = 1;
    } else if (o_.scale != 0) {
        std::printf(
            "dirigo-bench: EAL %s; scaling, %u x %.2f s windows per rig, TSC %.3f GHz, "
            "load average %s\n",
            eal.joined().c_str(), o_.reps, o_.duration, static_cast<double>(rte_get_tsc_hz()) / 1e9,
            rep_.start.loadavg.c_str());
        std::fflush(stdout);
        bool ok = scaling(static_cast<uint32_t>(o_.scale));
        rep_.end = MachineState::read();
        if (!o_.json.empty() && !rep_.write_json(o_.json)) {
            ok = false;
        }
        rep_.print_summary();
        rc = ok && !failed_ ? 0 : 1;
    } else {
        std::printf(
            "dirigo-bench: EAL %s; %u x %.2f s windows per loop and scenario, TSC %.3f "
            "GHz, load average %s, CPU %s, governor %s, hugepages %" PRIu64 "/%" PRIu64 " free\n",
            eal.joined().c_str(), o_.reps, o_.duration, static_cast<double>(rte_get_tsc_hz()) / 1e9,
            rep_.start.loadavg.c_str(), rep_.start.cpu.c_str(), rep_.start.governor.c_str(),
            rep_.start.hugepages_free, rep_.start.hugepages_total);
        std::fflush(stdout);
        // The probe is slow at 10M and says nothing about a scenario picked by --only.
        if (o_.mem_probe && o_.only.empty()) {
            memory_probe(sizes);
        }
        bool ok = true;
        for (uint32_t n : sizes) {
            ok = ok && established(n, dists);
        }
        for (uint32_t n : sizes6) {
            ok = ok && established6(n, dists);
        }
        if (!o_.smoke && kSyncConns <= o_.max_conns) {
            ok = ok && established_sync(kSyncConns);
        }
        ok = ok && new_connections("rr");
        ok = ok && new_connections("rr", true);
        if (!o_.smoke) {
            ok = ok && new_connections("mh");
        }
        ok = ok && new_connections_sync();
        rep_.end = MachineState::read();
        rep_.print_table();
        if (!o_.json.empty() && !rep_.write_json(o_.json)) {
            ok = false;
        }
        for (const Result& r : rep_.results) {
            if (!r.ok) {
                std::fprintf(stderr, "dirigo-bench: %s: failed %s\n", r.name.c_str(),
                             r.note.c_str());
                ok = false;
            }
        }
        rep_.print_summary();
        rc = ok && !failed_ ? 0 : 1;
        if (o_.smoke) {
            std::printf("smoke: %s (packets flowed in every scenario, no mbuf leaked)\n",
                        rc == 0 ? "ok" : "FAILED");
        }
    }
    bench::eal_cleanup();
    return rc;
}

}  // namespace
}  // namespace dirigo::bench

int main(int argc, char** argv) {
    dirigo::bench::Options o;
    if (!dirigo::bench::parse_options(argc, argv, o)) {
        return 2;
    }
    dirigo::bench::Bench b(o);
    return b.run();
}
