// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The results of one dirigo-bench run and how they are shown: the console table, the short
/// summary and the JSON file (nlohmann::json) that scripts/bench turns into docs/performance.md.
/// Thread: main lcore. Cost: allocates; never on a timed path.

#include <cstdint>
#include <string>
#include <vector>

namespace dirigo::bench {

/// One timed window of one loop (Dirigo's or a baseline's).
struct Window {
    double cycles_per_pkt = 0;  ///< busy TSC cycles of the polling loop per packet
    double mpps_wall = 0;       ///< packets over the wall-clock window
    double cpu_pct = 0;         ///< share of the window the worker thread was on a CPU
    double seconds = 0;
    uint64_t packets = 0;
    uint64_t gaps = 0;       ///< loop intervals left out as preemptions
    uint64_t drops = 0;      ///< worker drop counters (TX full for the baselines)
    uint64_t created = 0;    ///< connections created (Dirigo)
    double conns_per_s = 0;  ///< created per busy second (Dirigo)
};

/// One scenario: the medians of its Dirigo windows and of the baseline windows interleaved with
/// them (baseline, baseline, baseline, Dirigo; repeated).
struct Result {
    std::string name;
    std::string kind;    ///< nat | nat-adaptive | newconn | newconn3
    std::string mode;    ///< rr | mh | io | macswap | 5tswap
    std::string dist;    ///< uniform | zipf | ""
    uint64_t conns = 0;  ///< live connections (nat), or created (newconn)
    uint64_t table_size = 0;
    uint32_t frame = 64;                     ///< bytes on the wire, FCS included
    std::vector<Window> runs;                ///< Dirigo's windows, in order
    std::vector<double> io, macswap, fivet;  ///< cycles/packet of the interleaved baselines
    double cycles_per_pkt = 0;               ///< median over runs
    double mpps_core = 0;                    ///< TSC Hz / cycles_per_pkt
    double mpps_wall = 0;                    ///< median
    double cpu_pct = 0;                      ///< median
    double conns_per_s = 0;                  ///< median (newconn)
    double cycles_per_conn = 0;              ///< TSC Hz / conns_per_s (newconn)
    double io_cycles = 0;                    ///< median of the interleaved io runs
    double macswap_cycles = 0;
    double fivet_cycles = 0;
    /// Speed as a share of a baseline's: median over runs of baseline cycles / Dirigo cycles,
    /// each Dirigo run against the baseline run just before it.
    double ratio_io = 0;
    double ratio_macswap = 0;
    double ratio_5tswap = 0;
    double spread_pct = 0;  ///< (max - min) / median of Dirigo's runs
    uint64_t packets = 0;
    uint64_t drops = 0;
    uint64_t created = 0;
    uint64_t gaps = 0;
    double setup_s = 0;
    bool ok = false;
    std::string note;
    /// Connection sync: the worker ran as a master's (records queued on its ring and drained
    /// by a control-like thread during the windows).
    bool sync = false;
    uint64_t sync_queued = 0;    ///< records the worker queued over the Dirigo windows
    uint64_t sync_lost = 0;      ///< records its full ring refused (must stay 0)
    uint64_t sync_opened = 0;    ///< connections created over the same span (newconn3)
    uint64_t sync_drained = 0;   ///< records the drainer took and encoded (whole scenario)
    uint64_t sync_messages = 0;  ///< IPVS sync messages they made (discarded, not sent)

    /// Fills the medians and ratios from `runs` and the baseline vectors.
    void summarise(double tsc_hz);
};

/// One window of the scaling scenario: the real workers of one rig (1 or 2) on established
/// traffic, each fed on its own queues with the connections it owns.
struct ScaleWindow {
    uint32_t workers = 0;
    std::vector<double> cycles_per_pkt;  ///< per worker: busy TSC cycles per packet
    double mpps_busy = 0;  ///< sum over workers of packets per busy second (preemptions left out)
    double mpps_wall = 0;  ///< every worker's packets over the wall-clock window
    double cpu_pct = 0;    ///< sum of the workers' CPU time over the window (200% = 2 cores)
    uint64_t packets = 0;
    uint64_t handed_off = 0;  ///< packets passed between workers (0: steering by owner)
    uint64_t drops = 0;
};

/// The scaling scenario: established NAT with 1 and with 2 workers, windows alternating.
struct ScaleResult {
    std::string name;
    uint64_t conns = 0;
    std::vector<ScaleWindow> one, two;        ///< in order
    double mpps_busy_1 = 0, mpps_busy_2 = 0;  ///< medians
    double mpps_wall_1 = 0, mpps_wall_2 = 0;  ///< medians
    double factor_busy = 0;  ///< median over reps of two/one (each 2-worker window against the
                             ///< 1-worker window just before it), busy time
    double factor_wall = 0;  ///< the same with wall-clock Mpps (moves with the machine's load)
    bool ok = false;
    std::string note;

    void summarise();
};

/// Bytes per connection of one connection table, filled.
struct MemProbe {
    uint64_t conns = 0;
    uint64_t capacity = 0;
    uint64_t memory_bytes = 0;
    uint64_t rss_create = 0;
    uint64_t rss_filled = 0;
};

/// What the machine looked like (read from /proc and /sys).
struct MachineState {
    std::string cpu;
    std::string governor;  ///< "unknown" when /sys does not say (a VM)
    std::string loadavg;
    std::string kernel;
    long nproc = 0;
    uint64_t hugepages_total = 0;  ///< 2 MiB pages
    uint64_t hugepages_free = 0;
    bool hugetlbfs = false;

    static MachineState read();
};

/// Median of `v` (0 when empty).
double median(std::vector<double> v);
/// "1K", "10M", or the plain number.
std::string count_name(uint64_t n);

/// Everything a run produced.
struct Report {
    std::string command;
    std::string eal;
    bool huge = false;
    bool smoke = false;
    double duration_s = 0;
    uint32_t reps = 0;
    double preempt_us = 0;
    uint64_t tsc_hz = 0;
    MachineState start;
    MachineState end;
    std::vector<Result> results;
    std::vector<ScaleResult> scale;
    std::vector<MemProbe> mem;
    std::vector<std::string> skipped;

    /// Every scenario with its runs, then memory and skips.
    void print_table() const;
    /// A few lines: cycles/packet and ratios per scenario, for before/after comparisons; then
    /// the cost of the sync master (print_sync_cost).
    void print_summary() const;
    /// For every "X sync" scenario with its "X" partner: "sync master: +N cycles per new
    /// connection (+P%)" (newconn3) or per packet (established).
    void print_sync_cost() const;
    /// Writes the JSON document to `path`. False when the file cannot be written.
    bool write_json(const std::string& path) const;
};

}  // namespace dirigo::bench
