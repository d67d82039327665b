// SPDX-License-Identifier: BSD-3-Clause
#include "bench/report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>

#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace dirigo::bench {
namespace {

std::string read_line(const char* path) {
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) {
        return "";
    }
    char line[512] = {};
    if (std::fgets(line, sizeof(line), f) == nullptr) {
        line[0] = 0;
    }
    std::fclose(f);
    std::string s = line;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

std::string cpu_model() {
    FILE* f = std::fopen("/proc/cpuinfo", "r");
    if (f == nullptr) {
        return "unknown";
    }
    char line[512];
    std::string model = "unknown";
    while (std::fgets(line, sizeof(line), f) != nullptr) {
        if (std::strncmp(line, "model name", 10) == 0) {
            const char* c = std::strchr(line, ':');
            if (c != nullptr) {
                model = c + 2;
                while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) {
                    model.pop_back();
                }
            }
            break;
        }
    }
    std::fclose(f);
    return model;
}

uint64_t meminfo(const char* key) {
    FILE* f = std::fopen("/proc/meminfo", "r");
    if (f == nullptr) {
        return 0;
    }
    char line[256];
    uint64_t v = 0;
    const size_t klen = std::strlen(key);
    while (std::fgets(line, sizeof(line), f) != nullptr) {
        if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = std::strtoull(line + klen + 1, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return v;
}

bool hugetlbfs_mounted() {
    FILE* f = std::fopen("/proc/mounts", "r");
    if (f == nullptr) {
        return false;
    }
    char line[512];
    bool found = false;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
        if (std::strstr(line, " hugetlbfs ") != nullptr) {
            found = true;
            break;
        }
    }
    std::fclose(f);
    return found;
}

nlohmann::ordered_json machine_json(const MachineState& m) {
    return {{"cpu", m.cpu},
            {"governor", m.governor},
            {"loadavg", m.loadavg},
            {"kernel", m.kernel},
            {"nproc", m.nproc},
            {"hugepages_total", m.hugepages_total},
            {"hugepages_free", m.hugepages_free},
            {"hugetlbfs", m.hugetlbfs}};
}

double finite(double v) {
    return std::isfinite(v) ? v : 0.0;
}

}  // namespace

double median(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string count_name(uint64_t n) {
    if (n >= 1000000 && n % 1000000 == 0) {
        return std::to_string(n / 1000000) + "M";
    }
    if (n >= 1000 && n % 1000 == 0) {
        return std::to_string(n / 1000) + "K";
    }
    return std::to_string(n);
}

MachineState MachineState::read() {
    MachineState m;
    m.cpu = cpu_model();
    m.governor = read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    if (m.governor.empty()) {
        m.governor = "unknown";
    }
    const std::string la = read_line("/proc/loadavg");
    // The first three fields: 1, 5 and 15 minutes.
    size_t cut = 0;
    for (int i = 0; i < 3 && cut != std::string::npos; ++i) {
        cut = la.find(' ', cut + (i == 0 ? 0 : 1));
    }
    m.loadavg = la.substr(0, cut);
    utsname u{};
    if (uname(&u) == 0) {
        m.kernel = u.release;
    }
    m.nproc = sysconf(_SC_NPROCESSORS_ONLN);
    m.hugepages_total = meminfo("HugePages_Total");
    m.hugepages_free = meminfo("HugePages_Free");
    m.hugetlbfs = hugetlbfs_mounted();
    return m;
}

void Result::summarise(double tsc_hz) {
    std::vector<double> cyc;
    std::vector<double> wall;
    std::vector<double> cpu;
    std::vector<double> cps;
    std::vector<double> r_io;
    std::vector<double> r_ms;
    std::vector<double> r_5t;
    packets = drops = created = gaps = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
        const Window& w = runs[i];
        cyc.push_back(w.cycles_per_pkt);
        wall.push_back(w.mpps_wall);
        cpu.push_back(w.cpu_pct);
        cps.push_back(w.conns_per_s);
        packets += w.packets;
        drops += w.drops;
        created += w.created;
        gaps += w.gaps;
        if (w.cycles_per_pkt <= 0) {
            continue;
        }
        if (i < io.size()) {
            r_io.push_back(io[i] / w.cycles_per_pkt);
        }
        if (i < macswap.size()) {
            r_ms.push_back(macswap[i] / w.cycles_per_pkt);
        }
        if (i < fivet.size()) {
            r_5t.push_back(fivet[i] / w.cycles_per_pkt);
        }
    }
    cycles_per_pkt = median(cyc);
    mpps_core = cycles_per_pkt > 0 ? tsc_hz / cycles_per_pkt / 1e6 : 0;
    mpps_wall = median(wall);
    cpu_pct = median(cpu);
    conns_per_s = median(cps);
    cycles_per_conn = conns_per_s > 0 ? tsc_hz / conns_per_s : 0;
    io_cycles = median(io);
    macswap_cycles = median(macswap);
    fivet_cycles = median(fivet);
    ratio_io = median(r_io);
    ratio_macswap = median(r_ms);
    ratio_5tswap = median(r_5t);
    if (!cyc.empty() && cycles_per_pkt > 0) {
        const auto [lo, hi] = std::minmax_element(cyc.begin(), cyc.end());
        spread_pct = 100 * (*hi - *lo) / cycles_per_pkt;
    }
}

void Report::print_table() const {
    std::printf("\n%-24s %8s %9s %8s %8s %8s %7s %7s %7s %6s %5s %6s\n", "scenario", "cyc/pkt",
                "Mpps/core", "io cyc", "macswap", "5tswap", "vs io", "vs msw", "vs 5t", "spread",
                "cpu%", "gaps");
    for (const Result& r : results) {
        std::printf(
            "%-24s %8.1f %9.2f %8.1f %8.1f %8.1f %6.1f%% %6.1f%% %6.1f%% %5.1f%% %5.0f "
            "%6" PRIu64 "%s%s\n",
            r.name.c_str(), r.cycles_per_pkt, r.mpps_core, r.io_cycles, r.macswap_cycles,
            r.fivet_cycles, 100 * r.ratio_io, 100 * r.ratio_macswap, 100 * r.ratio_5tswap,
            r.spread_pct, r.cpu_pct, r.gaps, r.note.empty() ? "" : "  ", r.note.c_str());
        if (r.kind == "newconn" || r.kind == "newconn3") {
            std::printf("%-24s %8s %.3f M new connections/s per core (median), %.0f cycles each\n",
                        "", "", r.conns_per_s / 1e6, r.cycles_per_conn);
        }
        if (r.sync) {
            std::printf("%-24s %8s sync: %" PRIu64 " records queued, %" PRIu64 " lost, %" PRIu64
                        " drained into %" PRIu64 " messages\n",
                        "", "", r.sync_queued, r.sync_lost, r.sync_drained, r.sync_messages);
        }
    }
    for (const MemProbe& p : mem) {
        std::printf(
            "memory %-4s connections: %.1f B/conn (memory_bytes/capacity), resident "
            "growth %.1f B/conn at creation, %.1f B/conn filled\n",
            count_name(p.conns).c_str(), static_cast<double>(p.memory_bytes) / p.capacity,
            static_cast<double>(p.rss_create) / p.capacity,
            static_cast<double>(p.rss_filled) / p.capacity);
    }
    for (const std::string& s : skipped) {
        std::printf("skipped: %s\n", s.c_str());
    }
}

void ScaleResult::summarise() {
    std::vector<double> b1, b2, w1, w2, fb, fw;
    for (size_t i = 0; i < one.size(); ++i) {
        b1.push_back(one[i].mpps_busy);
        w1.push_back(one[i].mpps_wall);
        if (i < two.size()) {
            b2.push_back(two[i].mpps_busy);
            w2.push_back(two[i].mpps_wall);
            if (one[i].mpps_busy > 0) {
                fb.push_back(two[i].mpps_busy / one[i].mpps_busy);
            }
            if (one[i].mpps_wall > 0) {
                fw.push_back(two[i].mpps_wall / one[i].mpps_wall);
            }
        }
    }
    mpps_busy_1 = median(b1);
    mpps_busy_2 = median(b2);
    mpps_wall_1 = median(w1);
    mpps_wall_2 = median(w2);
    factor_busy = median(fb);
    factor_wall = median(fw);
}

void Report::print_summary() const {
    std::printf("\nbuilt with -march=%s (meson -Dcpu_baseline)\n", DIRIGO_CPU_BASELINE);
    std::printf("\nsummary (%s, medians of %u interleaved runs; load average %s -> %s):\n",
                huge ? "hugepages" : "--no-huge", reps, start.loadavg.c_str(), end.loadavg.c_str());
    std::printf("  %-24s %10s %10s %10s %10s\n", "scenario", "cyc/pkt", "macswap", "vs macswap",
                "vs io");
    for (const Result& r : results) {
        std::printf("  %-24s %10.1f %10.1f %9.1f%% %9.1f%%\n", r.name.c_str(), r.cycles_per_pkt,
                    r.macswap_cycles, 100 * r.ratio_macswap, 100 * r.ratio_io);
    }
    print_sync_cost();
    for (const ScaleResult& r : scale) {
        std::printf(
            "  %s: 1 worker %.2f Mpps, 2 workers %.2f Mpps (busy time): scaling factor "
            "%.2f (wall clock: %.2f -> %.2f Mpps, %.2f)%s\n",
            r.name.c_str(), r.mpps_busy_1, r.mpps_busy_2, r.factor_busy, r.mpps_wall_1,
            r.mpps_wall_2, r.factor_wall, r.ok ? "" : " (NOT ok)");
    }
}

void Report::print_sync_cost() const {
    constexpr std::string_view kSuffix = " sync";
    for (const Result& on : results) {
        if (!on.sync || !on.name.ends_with(kSuffix)) {
            continue;
        }
        const std::string base = on.name.substr(0, on.name.size() - kSuffix.size());
        const auto off = std::find_if(results.begin(), results.end(),
                                      [&](const Result& r) { return r.name == base && !r.sync; });
        if (off == results.end()) {
            continue;
        }
        const bool per_conn = on.kind == "newconn3";
        const double a = per_conn ? off->cycles_per_conn : off->cycles_per_pkt;
        const double b = per_conn ? on.cycles_per_conn : on.cycles_per_pkt;
        if (a <= 0 || b <= 0) {
            continue;
        }
        std::printf("  %s: sync master: %+.0f cycles per %s (%+.1f%%): %.0f -> %.0f%s\n",
                    base.c_str(), b - a, per_conn ? "new connection" : "packet", 100 * (b - a) / a,
                    a, b, on.ok && off->ok ? "" : " (NOT ok)");
    }
}

bool Report::write_json(const std::string& path) const {
    using nlohmann::ordered_json;
    ordered_json j;
    j["tool"] = "dirigo-bench";
    j["command"] = command;
    j["eal"] = eal;
    j["huge"] = huge;
    j["cpu_baseline"] = DIRIGO_CPU_BASELINE;  // meson -Dcpu_baseline (-march)
    ordered_json m = machine_json(start);
    m["tsc_hz"] = tsc_hz;
    m["loadavg_end"] = end.loadavg;
    j["machine"] = m;
    j["duration_s"] = duration_s;
    j["reps"] = reps;
    j["preempt_us"] = preempt_us;
    j["smoke"] = smoke;
    ordered_json mem_j = ordered_json::array();
    for (const MemProbe& p : mem) {
        const double cap = static_cast<double>(p.capacity);
        mem_j.push_back({{"conns", p.conns},
                         {"capacity", p.capacity},
                         {"memory_bytes", p.memory_bytes},
                         {"bytes_per_conn", finite(static_cast<double>(p.memory_bytes) / cap)},
                         {"rss_create_per_conn", finite(static_cast<double>(p.rss_create) / cap)},
                         {"rss_filled_per_conn", finite(static_cast<double>(p.rss_filled) / cap)}});
    }
    j["memory"] = mem_j;
    j["skipped"] = skipped;
    ordered_json sc = ordered_json::array();
    for (const Result& r : results) {
        ordered_json runs = ordered_json::array();
        for (const Window& w : r.runs) {
            runs.push_back({{"cycles_per_pkt", finite(w.cycles_per_pkt)},
                            {"mpps_wall", finite(w.mpps_wall)},
                            {"cpu_pct", finite(w.cpu_pct)},
                            {"seconds", finite(w.seconds)},
                            {"packets", w.packets},
                            {"gaps", w.gaps},
                            {"drops", w.drops},
                            {"created", w.created},
                            {"conns_per_s", finite(w.conns_per_s)}});
        }
        sc.push_back({{"name", r.name},
                      {"kind", r.kind},
                      {"mode", r.mode},
                      {"dist", r.dist},
                      {"conns", r.conns},
                      {"table_size", r.table_size},
                      {"frame", r.frame},
                      {"cycles_per_pkt", finite(r.cycles_per_pkt)},
                      {"mpps_core", finite(r.mpps_core)},
                      {"mpps_wall", finite(r.mpps_wall)},
                      {"cpu_pct", finite(r.cpu_pct)},
                      {"conns_per_s", finite(r.conns_per_s)},
                      {"cycles_per_conn", finite(r.cycles_per_conn)},
                      {"io_cycles", finite(r.io_cycles)},
                      {"macswap_cycles", finite(r.macswap_cycles)},
                      {"fivet_cycles", finite(r.fivet_cycles)},
                      {"ratio_io", finite(r.ratio_io)},
                      {"ratio_macswap", finite(r.ratio_macswap)},
                      {"ratio_5tswap", finite(r.ratio_5tswap)},
                      {"spread_pct", finite(r.spread_pct)},
                      {"io_runs", r.io},
                      {"macswap_runs", r.macswap},
                      {"fivet_runs", r.fivet},
                      {"runs", runs},
                      {"packets", r.packets},
                      {"drops", r.drops},
                      {"created", r.created},
                      {"gaps", r.gaps},
                      {"setup_s", finite(r.setup_s)},
                      {"ok", r.ok},
                      {"note", r.note},
                      {"sync", r.sync},
                      {"sync_queued", r.sync_queued},
                      {"sync_lost", r.sync_lost},
                      {"sync_opened", r.sync_opened},
                      {"sync_drained", r.sync_drained},
                      {"sync_messages", r.sync_messages}});
    }
    j["scenarios"] = sc;
    ordered_json scale_j = ordered_json::array();
    for (const ScaleResult& r : scale) {
        auto windows = [](const std::vector<ScaleWindow>& ws) {
            ordered_json a = ordered_json::array();
            for (const ScaleWindow& w : ws) {
                ordered_json cyc = ordered_json::array();
                for (double c : w.cycles_per_pkt) {
                    cyc.push_back(finite(c));
                }
                a.push_back({{"workers", w.workers},
                             {"cycles_per_pkt", cyc},
                             {"mpps_busy", finite(w.mpps_busy)},
                             {"mpps_wall", finite(w.mpps_wall)},
                             {"cpu_pct", finite(w.cpu_pct)},
                             {"packets", w.packets},
                             {"handed_off", w.handed_off},
                             {"drops", w.drops}});
            }
            return a;
        };
        scale_j.push_back({{"name", r.name},
                           {"conns", r.conns},
                           {"mpps_busy_1", finite(r.mpps_busy_1)},
                           {"mpps_busy_2", finite(r.mpps_busy_2)},
                           {"mpps_wall_1", finite(r.mpps_wall_1)},
                           {"mpps_wall_2", finite(r.mpps_wall_2)},
                           {"factor_busy", finite(r.factor_busy)},
                           {"factor_wall", finite(r.factor_wall)},
                           {"one", windows(r.one)},
                           {"two", windows(r.two)},
                           {"ok", r.ok},
                           {"note", r.note}});
    }
    j["scale"] = scale_j;
    std::ofstream f(path);
    if (!f) {
        std::fprintf(stderr, "dirigo-bench: cannot write %s\n", path.c_str());
        return false;
    }
    f << j.dump(2) << "\n";
    return static_cast<bool>(f);
}

}  // namespace dirigo::bench
