// SPDX-License-Identifier: BSD-3-Clause
// idle-bench: what adaptive polling (dataplane.poll = "adaptive") costs and saves, through the
// real Worker::run loop on one worker lcore.
//
// Set-up: EAL on two lcores (-l 0-1), one net_ring port "ext" owning 10.0.0.1 (one RX ring, one
// TX ring). For each polling mode, the worker is launched and left idle for a second (its
// thread's CPU time and sleeps are read), then woken N times: after --idle-ms of silence (long
// enough to reach the longest sleep) the main lcore stamps the TSC, enqueues one ICMP echo
// request to 10.0.0.1 on the RX ring and spins on the TX ring until the worker's echo reply
// appears. Wake-up latency = TSC from enqueue to dequeue: ring transfer, one burst of work and,
// with adaptive polling, what is left of the sleep the packet arrived in. The busy row is the
// floor. Cycles per packet under load, busy against adaptive, come from dirigo-bench's
// "nat 1K uniform adaptive" scenario (same rig, interleaved windows).
//
// Usage: idle-bench [--wakeups N] [--idle-ms MS] [--json PATH] [--smoke]
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bench/bench_sys.hpp"
#include "config/config.hpp"
#include "dataplane/dataplane.hpp"

namespace dirigo::bench {
namespace {

struct Options {
    uint32_t wakeups = 200;
    uint32_t idle_ms = 20;
    std::string json;
    bool smoke = false;
};

struct Mode {
    const char* name;
    cfg::PollMode poll;
    uint32_t max_sleep_us;
};

struct Row {
    std::string mode;
    uint32_t max_sleep_us = 0;
    double idle_cpu_pct = 0;
    double sleeps_per_s = 0;
    double median_us = 0;
    double p99_us = 0;
    double max_us = 0;
    uint32_t wakeups = 0;
};

clockid_t g_clock{};

int store_clock(void*) {
    return pthread_getcpuclockid(pthread_self(), &g_clock);
}

double cpu_s() {
    timespec ts{};
    clock_gettime(g_clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// An ICMP echo request from 10.0.0.2 to 10.0.0.1, to `dst` (checksums right: the worker
/// answers it itself, no service or ARP needed).
rte_mbuf* echo_request(rte_mempool* pool, const rte_ether_addr& dst, uint16_t seq) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
        return nullptr;
    }
    constexpr uint16_t kLen = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kLen));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memset(p, 0, kLen);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = dst;
    eth->src_addr = {{0x02, 0xcc, 0, 0, 0, 0x02}};
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = rte_cpu_to_be_32(0x0a000002);
    ip->dst_addr = rte_cpu_to_be_32(0x0a000001);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    icmp->icmp_ident = rte_cpu_to_be_16(1);
    icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(rte_icmp_hdr)));
    return m;
}

std::string loadavg() {
    char buf[64] = {};
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    if (f != nullptr) {
        if (std::fgets(buf, sizeof buf, f) == nullptr) {
            buf[0] = '\0';
        }
        std::fclose(f);
    }
    std::string s = buf;
    return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int run(const Options& o) {
    EalArgs eal("idle-bench", "0-1", 256, "dirigo_idle_bench");
    if (rte_eal_init(eal.argc(), eal.argv()) < 0) {
        std::fprintf(stderr, "idle-bench: rte_eal_init failed (%s)\n", eal.joined().c_str());
        return 1;
    }
    const unsigned worker = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    if (rte_lcore_count() < 2 || rte_eal_remote_launch(store_clock, nullptr, worker) != 0 ||
        rte_eal_wait_lcore(worker) != 0) {
        std::fprintf(stderr, "idle-bench: needs a worker lcore and its CPU clock\n");
        return 1;
    }
    rte_ring* rx = rte_ring_create("idle_rx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* tx = rte_ring_create("idle_tx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int pid = rx && tx ? rte_eth_from_rings("idle_ext", &rx, 1, &tx, 1, 0) : -1;
    if (pid < 0) {
        std::fprintf(stderr, "idle-bench: cannot create the net_ring port\n");
        return 1;
    }
    char dev[RTE_ETH_NAME_MAX_LEN];
    rte_eth_dev_get_name_by_port(static_cast<uint16_t>(pid), dev);
    cfg::Config cfg;
    cfg.host.kernel_interfaces = false;  // in-process: no net_tap interfaces
    cfg.dataplane.conn_table_size = 4096;
    cfg.dataplane.mbufs = 2047;
    cfg::PortCfg pc;
    pc.name = "ext";
    pc.device = dev;
    pc.addresses = {{0x0a000001, 24}};
    cfg.ports.push_back(pc);
    auto made = dp::Dataplane::create(cfg, 1);
    if (!made) {
        std::fprintf(stderr, "idle-bench: %s\n", made.status().message().c_str());
        return 1;
    }
    dp::Dataplane& dp = **made;
    const rte_ether_addr mac = dp.topology()->ports[pid].mac;
    const double hz = static_cast<double>(rte_get_tsc_hz());
    std::printf("idle-bench: EAL %s, TSC %.3f GHz, load average %s; %u wake-ups after %u ms "
                "idle per mode\n",
                eal.joined().c_str(), hz / 1e9, loadavg().c_str(), o.wakeups, o.idle_ms);
    std::printf("  %-9s %9s %9s %10s %10s %9s %9s\n", "poll", "max_sleep", "idle CPU", "sleeps/s",
                "wake med", "wake p99", "wake max");
    const cfg::DataplaneCfg defaults;
    const std::vector<Mode> modes = {
        {"busy", cfg::PollMode::Busy, defaults.max_sleep_us},
        {"adaptive", cfg::PollMode::Adaptive, 100},
        {"adaptive", cfg::PollMode::Adaptive, defaults.max_sleep_us},
        {"adaptive", cfg::PollMode::Adaptive, 10000},
    };
    std::vector<Row> rows;
    bool ok = true;
    uint16_t seq = 0;
    for (const Mode& md : modes) {
        cfg::DataplaneCfg d;
        d.poll = md.poll;
        d.max_sleep_us = md.max_sleep_us;
        dp.set_poll(d);
        if (!dp.launch()) {
            std::fprintf(stderr, "idle-bench: cannot launch the worker\n");
            return 1;
        }
        Row r;
        r.mode = md.name;
        r.max_sleep_us = md.poll == cfg::PollMode::Adaptive ? md.max_sleep_us : 0;
        const dp::WorkerStats& st = dp.worker(0).stats();
        usleep(200000);  // past the first doubling steps
        const double c0 = cpu_s();
        const uint64_t s0 = st.idle_sleeps.load();
        const uint64_t t0 = rte_rdtsc();
        usleep(o.smoke ? 200000 : 1000000);
        const double wall = static_cast<double>(rte_rdtsc() - t0) / hz;
        r.idle_cpu_pct = 100.0 * (cpu_s() - c0) / wall;
        r.sleeps_per_s = static_cast<double>(st.idle_sleeps.load() - s0) / wall;
        std::vector<double> lat;
        for (uint32_t i = 0; i < o.wakeups; ++i) {
            usleep(o.idle_ms * 1000);
            rte_mbuf* m = echo_request(dp.pool(), mac, seq++);
            if (m == nullptr) {
                ok = false;
                break;
            }
            const uint64_t a = rte_rdtsc();
            if (rte_ring_sp_enqueue(rx, m) != 0) {
                rte_pktmbuf_free(m);
                ok = false;
                break;
            }
            void* out = nullptr;
            const uint64_t give_up = a + static_cast<uint64_t>(hz);  // 1 s: lost
            while (rte_ring_sc_dequeue(tx, &out) != 0 && rte_rdtsc() < give_up) {
            }
            const uint64_t b = rte_rdtsc();
            if (out == nullptr) {
                std::fprintf(stderr, "idle-bench: no echo reply within 1 s\n");
                ok = false;
                break;
            }
            rte_pktmbuf_free(static_cast<rte_mbuf*>(out));
            lat.push_back(static_cast<double>(b - a) / hz * 1e6);
        }
        dp.stop();
        if (lat.empty()) {
            break;
        }
        r.wakeups = static_cast<uint32_t>(lat.size());
        r.median_us = percentile(lat, 0.5);
        r.p99_us = percentile(lat, 0.99);
        r.max_us = percentile(lat, 1.0);
        std::printf("  %-9s %9s %8.1f%% %10.0f %8.1f us %6.1f us %6.1f us\n", r.mode.c_str(),
                    r.max_sleep_us ? (std::to_string(r.max_sleep_us) + " us").c_str() : "-",
                    r.idle_cpu_pct, r.sleeps_per_s, r.median_us, r.p99_us, r.max_us);
        std::fflush(stdout);
        rows.push_back(r);
    }
    if (!o.json.empty()) {
        std::FILE* f = std::fopen(o.json.c_str(), "w");
        if (f == nullptr) {
            ok = false;
        } else {
            std::fprintf(f, "{\"idle_ms\": %u, \"modes\": [", o.idle_ms);
            for (size_t i = 0; i < rows.size(); ++i) {
                const Row& r = rows[i];
                std::fprintf(f,
                             "%s\n  {\"poll\": \"%s\", \"max_sleep_us\": %u, \"idle_cpu_pct\": "
                             "%.2f, \"sleeps_per_s\": %.1f, \"wake_median_us\": %.2f, "
                             "\"wake_p99_us\": %.2f, \"wake_max_us\": %.2f, \"wakeups\": %u}",
                             i ? "," : "", r.mode.c_str(), r.max_sleep_us, r.idle_cpu_pct,
                             r.sleeps_per_s, r.median_us, r.p99_us, r.max_us, r.wakeups);
            }
            std::fprintf(f, "\n]}\n");
            std::fclose(f);
        }
    }
    const uint32_t leaked = dp.shutdown();
    made->reset();
    rte_ring_free(rx);
    rte_ring_free(tx);
    bench::eal_cleanup();
    if (leaked != 0) {
        std::fprintf(stderr, "idle-bench: %u mbufs leaked\n", leaked);
        ok = false;
    }
    return ok && rows.size() == modes.size() ? 0 : 1;
}

}  // namespace
}  // namespace dirigo::bench

int main(int argc, char** argv) {
    dirigo::bench::Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--smoke") {
            o.smoke = true;
            o.wakeups = 20;
        } else if (a == "--wakeups" && i + 1 < argc) {
            o.wakeups = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (a == "--idle-ms" && i + 1 < argc) {
            o.idle_ms = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (a == "--json" && i + 1 < argc) {
            o.json = argv[++i];
        } else {
            std::fprintf(stderr, "usage: idle-bench [--wakeups N] [--idle-ms MS] [--json PATH] "
                                 "[--smoke]\n");
            return 2;
        }
    }
    if (o.wakeups == 0) {
        return 2;
    }
    return dirigo::bench::run(o);
}
