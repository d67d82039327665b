// SPDX-License-Identifier: BSD-3-Clause
// dirigo-bench: packets per second per worker core of the whole dataplane, against DPDK's own
// forwarding ceiling measured on the same ports and the same core in the same run.
//
// Set-up: EAL on two lcores (-l 0-1 --no-huge --no-pci). Two net_ring ports ("ext" facing the
// clients, "int" facing the real servers) whose rings this program feeds and drains. The worker
// lcore runs either the REAL Worker::run loop (Dataplane::launch) or, for the baselines, a minimal
// testpmd-style loop (io: rx_burst/tx_burst; 5tswap: swap MACs, IPs and ports, then transmit).
// The main lcore is the traffic generator: a closed loop over a fixed pool of prebuilt mbufs. It
// dequeues what the worker transmitted, rewrites the header line (a 64-byte copy of a template
// plus one flow's endpoint and checksums) and enqueues it again on the port it belongs to, so the
// worker never waits for memory allocation and never sees a stale header.
//
// Figures: packets = the worker's RX counter; cycles per packet = the worker's busy TSC cycles
// per packet, where busy = the worker thread's CPU time (its thread CPU clock: the shared machine
// takes the core away now and then) minus its loops without packets, each costed by a
// calibration without traffic (the baseline loops time their busy loops themselves);
// Mpps/core = TSC Hz / cycles per packet; drops = worker drop counters (TX ring full included).
// Only ratios between figures of one run mean anything on a shared machine.
//
// Usage: dirigo-bench [--duration S] [--json PATH] [--max-conns N] [--inflight N] [--only TEXT]
//                     [--no-mem-probe] [--perf FILE] [--smoke]
#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "bench/bench_frames.hpp"
#include "bench/bench_sys.hpp"
#include "bench/bench_traffic.hpp"
#include "config/config.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"

namespace dirigo::bench {
namespace {

constexpr uint32_t kRingSize = 4096;  // per ring; capacity 4095
constexpr uint32_t kGenBurst = 64;    // generator dequeue burst
constexpr uint32_t kRealServers = 8;
constexpr size_t kSeqLen = 1u << 22;  // flow indices per popularity sequence
constexpr size_t kSeqMask = kSeqLen - 1;
constexpr int kExt = 0;
constexpr int kInt = 1;
constexpr uint32_t kNewConnTable = 1u << 22;  // connection table of the new-connection runs
constexpr double kNewConnFill = 0.85;         // stop creating before the table is this full
constexpr size_t kSubWindows = 5;             // a timed window's parts; the best one is reported

constexpr uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}
// Host order.
constexpr uint32_t kExtAddr = ip4(10, 0, 0, 1);
constexpr uint32_t kVip = ip4(10, 0, 0, 100);
constexpr uint32_t kGateway = ip4(10, 0, 0, 254);  // next hop towards the clients
constexpr uint32_t kIntAddr = ip4(172, 16, 0, 1);
constexpr uint32_t kRsBase = ip4(172, 16, 0, 11);  // real servers .11 to .18
constexpr uint16_t kPort = 80;

const rte_ether_addr kGwMac = {{0x02, 0xcc, 0, 0, 0, 0xfe}};
rte_ether_addr rs_mac(uint32_t i) {
    return {{0x02, 0x5e, 0, 0, 0, static_cast<uint8_t>(0x11 + i)}};
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

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    double duration = 2.0;  ///< seconds per timed scenario
    bool smoke = false;     ///< a short run of a few scenarios that checks the harness only
    std::string json;       ///< machine-readable results
    uint64_t max_conns = 10000000;
    uint32_t inflight = 512;  ///< mbufs the generator keeps circulating
    std::string only;         ///< run only scenarios whose name contains this (baselines always)
    bool mem_probe = true;
    std::string perf;     ///< profile the worker thread during one scenario into this file
    std::string command;  ///< how we were started, for the report
};

void usage() {
    std::printf(
        "usage: dirigo-bench [--duration S] [--json PATH] [--max-conns N] [--inflight N]\n"
        "                    [--only TEXT] [--no-mem-probe] [--smoke]\n"
        "  --duration S    seconds per timed scenario (default 2)\n"
        "  --json PATH     also write every figure as JSON\n"
        "  --max-conns N   largest live-connection count (default 10000000; 10M runs only when\n"
        "                  the machine has the memory)\n"
        "  --inflight N    mbufs the generator keeps in flight (default 512, at most 4000)\n"
        "  --only TEXT     only scenarios whose name contains TEXT (baselines always run)\n"
        "  --no-mem-probe  skip the bytes-per-connection check against resident memory\n"
        "  --perf FILE     record a perf profile (cpu-clock) of the worker thread during the\n"
        "                  timed window of the first scenario selected by --only\n"
        "  --smoke         0.2 s runs of a few scenarios; checks the harness, not the speed\n");
}

bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 0; i < argc; ++i) {
        o.command += (i == 0 ? "" : " ") + std::string(argv[i]);
    }
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "dirigo-bench: %s needs a value\n", name);
                return nullptr;
            }
            return argv[++i];
        };
        if (a == "--smoke") {
            o.smoke = true;
        } else if (a == "--no-mem-probe") {
            o.mem_probe = false;
        } else if (a == "--duration") {
            const char* v = value("--duration");
            if (v == nullptr) {
                return false;
            }
            o.duration = std::atof(v);
        } else if (a == "--json") {
            const char* v = value("--json");
            if (v == nullptr) {
                return false;
            }
            o.json = v;
        } else if (a == "--max-conns") {
            const char* v = value("--max-conns");
            if (v == nullptr) {
                return false;
            }
            o.max_conns = std::strtoull(v, nullptr, 10);
        } else if (a == "--inflight") {
            const char* v = value("--inflight");
            if (v == nullptr) {
                return false;
            }
            o.inflight = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--perf") {
            const char* v = value("--perf");
            if (v == nullptr) {
                return false;
            }
            o.perf = v;
        } else if (a == "--only") {
            const char* v = value("--only");
            if (v == nullptr) {
                return false;
            }
            o.only = v;
        } else if (a == "-h" || a == "--help") {
            usage();
            std::exit(0);
        } else {
            std::fprintf(stderr, "dirigo-bench: unknown argument %s\n", a.c_str());
            usage();
            return false;
        }
    }
    if (o.smoke) {
        o.duration = 0.2;
    }
    if (o.duration <= 0 || o.inflight < 64 || o.inflight > 4000) {
        std::fprintf(stderr, "dirigo-bench: --duration must be > 0, --inflight in [64, 4000]\n");
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The generator's view of an mbuf. It never touches the mbuf header: the worker reads and writes
// its first line (and testpmd's 5tswap its second), and a generator that touched them would add
// a cache-line transfer per packet to the figures that no NIC causes. The data starts at a fixed
// offset (the pool has no private area and every mbuf is reset once, at allocation), and the
// generator keeps its slot number at the start of the buffer, in the headroom nobody else uses.

inline uint8_t* data_of(rte_mbuf* m) {
    return reinterpret_cast<uint8_t*>(m) + sizeof(rte_mbuf) + RTE_PKTMBUF_HEADROOM;
}
inline uint32_t& slot_of(rte_mbuf* m) {
    return *reinterpret_cast<uint32_t*>(reinterpret_cast<uint8_t*>(m) + sizeof(rte_mbuf));
}

/// The worker lcore's thread: its kernel id (for perf) and its CPU-time clock, on which the
/// figures are based (a shared machine takes the core away now and then).
long g_worker_tid = 0;
clockid_t g_worker_clock = 0;
bool g_have_worker_clock = false;

int store_tid(void*) {
    g_worker_tid = static_cast<long>(gettid());
    g_have_worker_clock = pthread_getcpuclockid(pthread_self(), &g_worker_clock) == 0;
    return 0;
}

/// Nanoseconds the worker thread has run, exact to the call (the kernel accounts the running
/// slice too), or 0 when unknown.
uint64_t worker_cpu_ns() {
    timespec ts{};
    if (!g_have_worker_clock || clock_gettime(g_worker_clock, &ts) != 0) {
        return 0;
    }
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

/// A `perf record` of the worker thread over one timed window (--perf), started and stopped by
/// the generator. Thread: main lcore.
class Profiler {
public:
    /// Arms the profiler: the next start() records into `path`.
    void arm(const std::string& path) { path_ = path; }
    void start() {
        if (path_.empty() || pid_ > 0) {
            return;
        }
        const std::string tid = std::to_string(g_worker_tid);
        std::vector<std::string> args = {"perf", "record", "-q", "-e", "cpu-clock", "-F",
                                         "4999", "-t",     tid,  "-o", path_};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        if (posix_spawnp(&pid_, "perf", nullptr, nullptr, argv.data(), environ) != 0) {
            std::fprintf(stderr, "dirigo-bench: cannot start perf\n");
            pid_ = 0;
            path_.clear();
            return;
        }
        // perf needs a moment to attach before the window opens.
        usleep(300000);
    }
    void stop() {
        if (pid_ <= 0) {
            return;
        }
        kill(pid_, SIGINT);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = 0;
        path_.clear();  // one window only
    }

private:
    std::string path_;
    pid_t pid_ = 0;
};

Profiler g_profiler;

// ---------------------------------------------------------------------------------------------
// Rig: one Dataplane and Control over two net_ring ports, sized for one scenario group.

class Rig {
public:
    /// Creates the ports, the dataplane (connection table of `table_size`) and the control
    /// object, with the timeouts of the default config. Thread: main lcore.
    static std::unique_ptr<Rig> create(uint32_t table_size, std::string& err) {
        static int seq = 0;
        ++seq;
        std::unique_ptr<Rig> r(new Rig());
        cfg::Config cfg;
        cfg.dataplane.conn_table_size = table_size;
        cfg.dataplane.mbufs = 8191;
        const char* names[2] = {"ext", "int"};
        for (int i = 0; i < 2; ++i) {
            const std::string base = "bn" + std::to_string(seq) + names[i];
            r->rx_[i] = rte_ring_create((base + "_rx").c_str(), kRingSize, 0,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
            r->tx_[i] = rte_ring_create((base + "_tx").c_str(), kRingSize, 0,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (r->rx_[i] == nullptr || r->tx_[i] == nullptr) {
                err = "cannot create rings for " + base;
                return nullptr;
            }
            const int pid = rte_eth_from_rings(base.c_str(), &r->rx_[i], 1, &r->tx_[i], 1, 0);
            if (pid < 0) {
                err = "rte_eth_from_rings failed for " + base;
                return nullptr;
            }
            char dev[RTE_ETH_NAME_MAX_LEN];
            if (rte_eth_dev_get_name_by_port(static_cast<uint16_t>(pid), dev) != 0) {
                err = "no name for port " + std::to_string(pid);
                return nullptr;
            }
            r->port_[i] = static_cast<uint16_t>(pid);
            cfg::PortCfg pc;
            pc.name = names[i];
            pc.device = dev;
            cfg.ports.push_back(pc);
        }
        cfg.ports[kExt].addresses = {{kExtAddr, 24}, {kVip, 32}};
        cfg.ports[kInt].addresses = {{kIntAddr, 24}};
        cfg.routes.push_back({{0, 0}, kGateway});
        auto d = dp::Dataplane::create(cfg, 1);
        if (!d) {
            err = "Dataplane::create: " + d.status().message();
            return nullptr;
        }
        r->dp_ = std::move(*d);
        r->ctl_ = std::make_unique<ctl::Control>(*r->dp_, cfg);
        if (Status s = r->ctl_->load_initial(); !s) {
            err = "load_initial: " + s.message();
            return nullptr;
        }
        for (int i = 0; i < 2; ++i) {
            r->mac_[i] = r->dp_->topology()->ports[r->port_[i]].mac;
        }
        return r;
    }

    ~Rig() { (void)close(); }
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    dp::Dataplane& dp() { return *dp_; }
    rte_ring* rx(int p) const { return rx_[p]; }
    rte_ring* tx(int p) const { return tx_[p]; }
    uint16_t port_id(int p) const { return port_[p]; }
    const rte_ether_addr& mac(int p) const { return mac_[p]; }

    /// Adds the TCP service VIP:80 with `kRealServers` NAT real servers through Control::handle.
    bool add_service(const std::string& sched, std::string& err) {
        ctl::Request batch;
        batch.op = ctl::Op::Batch;
        ctl::Request svc;
        svc.op = ctl::Op::AddService;
        svc.service.key = {cfg::Proto::Tcp, kVip, kPort};
        svc.service.scheduler = sched;
        batch.batch.push_back(svc);
        for (uint32_t i = 0; i < kRealServers; ++i) {
            ctl::Request d;
            d.op = ctl::Op::AddDest;
            d.service.key = svc.service.key;
            d.dest = {kRsBase + i, kPort, cfg::Fwd::Masq, 1, 0, 0};
            batch.batch.push_back(d);
        }
        const ctl::Reply rep = ctl_->handle(batch);
        if (rep.code != Errc::Ok) {
            err = "add service (" + sched + "): " + rep.message;
            return false;
        }
        return true;
    }

    /// Makes the director learn the gateway and every real server the way hosts would: each asks
    /// for the director's address on its side. Runs the worker with poll_once, so call it before
    /// launch(). Thread: main lcore.
    bool resolve(std::string& err) {
        std::vector<std::pair<int, FrameBytes>> asks;
        asks.emplace_back(
            kExt, arp_request(kGwMac, rte_cpu_to_be_32(kGateway), rte_cpu_to_be_32(kExtAddr)));
        for (uint32_t i = 0; i < kRealServers; ++i) {
            asks.emplace_back(kInt, arp_request(rs_mac(i), rte_cpu_to_be_32(kRsBase + i),
                                                rte_cpu_to_be_32(kIntAddr)));
        }
        for (const auto& [port, f] : asks) {
            rte_mbuf* m = rte_pktmbuf_alloc(dp_->pool());
            if (m == nullptr) {
                err = "mbuf pool empty";
                return false;
            }
            std::memcpy(rte_pktmbuf_append(m, f.len), f.b.data(), f.len);
            if (rte_ring_enqueue(rx_[port], m) != 0) {
                rte_pktmbuf_free(m);
                err = "rx ring full";
                return false;
            }
        }
        dp_->worker(0).poll_once();
        ctl_->slow_path().poll();
        dp_->worker(0).poll_once();
        free_ring(tx_[kExt]);
        free_ring(tx_[kInt]);
        rte_ether_addr mac;
        bool ok = dp_->neigh().lookup(rte_cpu_to_be_32(kGateway), &mac);
        for (uint32_t i = 0; i < kRealServers; ++i) {
            ok = ok && dp_->neigh().lookup(rte_cpu_to_be_32(kRsBase + i), &mac);
        }
        if (!ok) {
            err = "neighbours not resolved";
        }
        return ok;
    }

    /// Starts Worker::run on the worker lcore.
    bool launch(std::string& err) {
        if (Status s = dp_->launch(); !s) {
            err = "launch: " + s.message();
            return false;
        }
        launched_ = true;
        return true;
    }

    void stop() {
        if (launched_) {
            dp_->stop();
            launched_ = false;
        }
    }

    /// Frees everything queued in the port rings. Thread: main lcore, worker stopped.
    void reclaim() {
        for (int i = 0; i < 2; ++i) {
            free_ring(rx_[i]);
            free_ring(tx_[i]);
        }
    }

    /// Stops the worker, closes everything and returns the mbufs still in use (0 unless a buffer
    /// leaked). Idempotent.
    uint32_t close() {
        if (!dp_) {
            return leaked_;
        }
        stop();
        reclaim();
        ctl_.reset();
        leaked_ = dp_->shutdown();
        dp_.reset();
        for (int i = 0; i < 2; ++i) {
            rte_ring_free(rx_[i]);
            rte_ring_free(tx_[i]);
            rx_[i] = tx_[i] = nullptr;
        }
        return leaked_;
    }

private:
    Rig() = default;

    static void free_ring(rte_ring* r) {
        rte_mbuf* m;
        while (r != nullptr && rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
            rte_pktmbuf_free(m);
        }
    }

    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t port_[2] = {};
    rte_ether_addr mac_[2] = {};
    bool launched_ = false;
    uint32_t leaked_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Traffic: templates and the writers that turn a returned mbuf into its next frame.

/// The frame templates of one rig and one frame size.
struct Templates {
    Template to_vip;              ///< client -> VIP:80, source patched per flow
    std::vector<Template> reply;  ///< real server i -> client, destination patched
    uint16_t len = 0;

    Templates(const Rig& rig, uint16_t wire_len, uint8_t to_vip_flags, uint8_t reply_flags) {
        len = static_cast<uint16_t>(wire_len - kFcsLen);
        to_vip = Template::make(tcp_frame(rig.mac(kExt), kGwMac, 0, 0, rte_cpu_to_be_32(kVip),
                                          rte_cpu_to_be_16(kPort), to_vip_flags, len),
                                Patch::Src);
        for (uint32_t i = 0; i < kRealServers; ++i) {
            reply.push_back(
                Template::make(tcp_frame(rig.mac(kInt), rs_mac(i), rte_cpu_to_be_32(kRsBase + i),
                                         rte_cpu_to_be_16(kPort), 0, 0, reply_flags, len),
                               Patch::Dst));
        }
    }
};

/// Established NAT traffic: even slots carry client -> VIP packets (into "ext"), odd slots the
/// real servers' replies to the same connections (into "int"); flows come from a popularity
/// sequence. Also the baselines' traffic, so both see the same frames.
class EstablishedWriter {
public:
    static constexpr bool kObserve = false;
    EstablishedWriter(const Templates& t, const std::vector<uint32_t>& seq,
                      const std::vector<uint8_t>& rs_of)
        : t_(t), seq_(seq.data()), rs_of_(rs_of.data()) {
        pos_[1] = kSeqLen / 2;
    }
    int port(uint32_t slot) const { return (slot & 1) == 0 ? kExt : kInt; }
    const Template& base(uint32_t slot) const { return (slot & 1) == 0 ? t_.to_vip : t_.reply[0]; }
    uint16_t len() const { return t_.len; }
    bool fill(uint8_t* d, uint32_t slot) noexcept {
        const uint32_t dir = slot & 1;
        const uint32_t f = seq_[pos_[dir]++ & kSeqMask];
        if (dir == 0) {
            t_.to_vip.write(d, client_addr(f), client_port(f));
        } else {
            t_.reply[rs_of_[f]].write(d, client_addr(f), client_port(f));
        }
        return true;
    }
    void observe(rte_mbuf*) noexcept {}

private:
    const Templates& t_;
    const uint32_t* seq_;
    const uint8_t* rs_of_;
    size_t pos_[2] = {0, 0};
};

/// One pass of a TCP handshake over flows [0, n): client SYN, server SYN-ACK or client ACK. The
/// SYN pass records which real server each flow went to (from the rewritten SYN the worker sends).
/// Also the new-connection traffic (a SYN pass over fresh flows).
class HandshakeWriter {
public:
    enum class Step : uint8_t { Syn, SynAck, Ack };
    static constexpr bool kObserve = true;
    HandshakeWriter(const Templates& t, Step step, uint32_t first, uint32_t n,
                    std::vector<uint8_t>* rs_of)
        : t_(t), step_(step), first_(first), next_(first), end_(first + n), rs_of_(rs_of) {}
    int port(uint32_t) const { return step_ == Step::SynAck ? kInt : kExt; }
    const Template& base(uint32_t) const { return step_ == Step::SynAck ? t_.reply[0] : t_.to_vip; }
    uint16_t len() const { return t_.len; }
    bool fill(uint8_t* d, uint32_t) noexcept {
        if (next_ == end_) {
            return false;
        }
        const uint32_t f = next_++;
        if (step_ == Step::SynAck) {
            t_.reply[(*rs_of_)[f]].write(d, client_addr(f), client_port(f));
        } else {
            t_.to_vip.write(d, client_addr(f), client_port(f));
        }
        return true;
    }
    void observe(rte_mbuf* m) noexcept {
        if (step_ != Step::Syn || rs_of_ == nullptr) {
            return;
        }
        const uint8_t* p = data_of(m);
        uint32_t daddr;
        uint32_t saddr;
        uint16_t sport;
        std::memcpy(&saddr, p + kIpOff + 12, 4);
        std::memcpy(&daddr, p + kIpOff + 16, 4);
        std::memcpy(&sport, p + kL4Off, 2);
        const uint32_t rs = rte_be_to_cpu_32(daddr) - kRsBase;
        const uint32_t f = flow_of(saddr, sport);
        if (rs < kRealServers && f < rs_of_->size()) {
            (*rs_of_)[f] = static_cast<uint8_t>(rs);
            ++observed_;
        }
    }
    bool exhausted() const { return next_ == end_; }
    /// Share of the flows already sent.
    double used_share() const {
        return 1.0 - static_cast<double>(end_ - next_) / static_cast<double>(end_ - first_);
    }
    uint32_t observed() const { return observed_; }

private:
    const Templates& t_;
    Step step_;
    uint32_t first_;
    uint32_t next_;
    uint32_t end_;
    std::vector<uint8_t>* rs_of_;
    uint32_t observed_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Pump: the closed loop on the main lcore.

template <class W>
class Pump {
public:
    Pump(Rig& rig, W& w) : rig_(rig), w_(w) {}
    ~Pump() = default;
    Pump(const Pump&) = delete;
    Pump& operator=(const Pump&) = delete;

    /// Allocates `n` mbufs, writes each slot's first frame and queues it on its port. Returns
    /// false if the pool ran short.
    bool start(uint32_t n) {
        std::vector<rte_mbuf*> out[2];
        for (uint32_t s = 0; s < n; ++s) {
            rte_mbuf* m = rte_pktmbuf_alloc(rig_.dp().pool());
            if (m == nullptr) {
                for (auto& v : out) {
                    rte_pktmbuf_free_bulk(v.data(), static_cast<unsigned>(v.size()));
                }
                return false;
            }
            const FrameBytes& full = w_.base(s).full;
            uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, full.len));
            if (d != data_of(m) || m->buf_addr != reinterpret_cast<uint8_t*>(&slot_of(m))) {
                std::fprintf(stderr, "dirigo-bench: unexpected mbuf layout\n");
                std::abort();
            }
            slot_of(m) = s;
            std::memcpy(d, full.b.data(), full.len);
            if (!w_.fill(d, s)) {
                rte_pktmbuf_free(m);
                continue;
            }
            out[w_.port(s)].push_back(m);
        }
        for (int p = 0; p < 2; ++p) {
            const unsigned k = static_cast<unsigned>(out[p].size());
            const unsigned sent = rte_ring_sp_enqueue_burst(
                rig_.rx(p), reinterpret_cast<void**>(out[p].data()), k, nullptr);
            rte_pktmbuf_free_bulk(out[p].data() + sent, k - sent);
            live_ += sent;
        }
        return true;
    }

    /// One pass over both TX rings: every returned mbuf gets its next frame and goes back to the
    /// RX ring of its port, or is freed once `refill` is false or the traffic is exhausted.
    /// Returns the mbufs that came back.
    uint32_t step(bool refill) noexcept {
        rte_mbuf* in[kGenBurst];
        rte_mbuf* out[2][kGenBurst];
        unsigned k[2] = {0, 0};
        uint32_t total = 0;
        for (int p = 0; p < 2; ++p) {
            const unsigned n = rte_ring_sc_dequeue_burst(rig_.tx(p), reinterpret_cast<void**>(in),
                                                         kGenBurst, nullptr);
            total += n;
            for (unsigned i = 0; i < n; ++i) {
                if (i + 4 < n) {
                    rte_prefetch0(data_of(in[i + 4]));
                    rte_prefetch0(&slot_of(in[i + 4]));
                }
                rte_mbuf* m = in[i];
                if constexpr (W::kObserve) {
                    w_.observe(m);
                }
                const uint32_t s = slot_of(m);
                if (refill && w_.fill(data_of(m), s)) {
                    const int q = w_.port(s);
                    out[q][k[q]++] = m;
                } else {
                    // Off the timed path: the worker must have left the mbuf as it found it.
                    if (m->data_off != RTE_PKTMBUF_HEADROOM || m->data_len != w_.len() ||
                        m->nb_segs != 1) [[unlikely]] {
                        ++changed_;
                    }
                    rte_pktmbuf_free(m);
                    --live_;
                }
            }
            // Each output burst is flushed before the next dequeue so it never holds more than
            // one ring's burst.
            for (int q = 0; q < 2; ++q) {
                if (k[q] == 0) {
                    continue;
                }
                const unsigned sent = rte_ring_sp_enqueue_burst(
                    rig_.rx(q), reinterpret_cast<void**>(out[q]), k[q], nullptr);
                if (sent < k[q]) [[unlikely]] {
                    rte_pktmbuf_free_bulk(out[q] + sent, k[q] - sent);
                    live_ -= k[q] - sent;
                    gen_full_ += k[q] - sent;
                }
                k[q] = 0;
            }
        }
        return total;
    }

    /// Stops refilling and frees what comes back. Done when the RX rings are empty and the worker
    /// has since finished two loop iterations (`loops` reads its loop counter) with nothing more
    /// to show: every mbuf it held was transmitted, dropped or handed to the slow path. Gives up
    /// after 10 s. Thread: main lcore, worker running.
    template <class L>
    void drain(L loops) {
        const uint64_t hz = rte_get_tsc_hz();
        const uint64_t t0 = rte_rdtsc();
        bool empty = false;
        uint64_t mark = 0;
        while (live_ > 0 && rte_rdtsc() - t0 < 10 * hz) {
            const uint32_t got = step(false);
            if (got != 0 || rte_ring_count(rig_.rx(kExt)) != 0 ||
                rte_ring_count(rig_.rx(kInt)) != 0) {
                empty = false;
            } else if (!empty) {
                empty = true;
                mark = loops();
            } else if (loops() >= mark + 2 && step(false) == 0) {
                break;
            }
        }
    }

    /// mbufs the loop still counts as its own (in a ring or in the worker).
    uint32_t live() const { return live_; }
    /// Frames the generator could not queue (RX ring full; never expected).
    uint64_t gen_full() const { return gen_full_; }
    /// mbufs whose data offset, length or segments the worker changed (never expected).
    uint64_t changed() const { return changed_; }

private:
    Rig& rig_;
    W& w_;
    uint32_t live_ = 0;
    uint64_t gen_full_ = 0;
    uint64_t changed_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Counters of the loop on the worker lcore, sampled by the generator.

struct Sample {
    uint64_t tsc = 0;
    uint64_t cpu_ns = 0;  ///< on-CPU time of the worker lcore's thread
    /// Measured in the loop itself (baselines only): cycles and packets of busy loops.
    uint64_t busy_cycles = 0;
    uint64_t busy_pkts = 0;
    uint64_t pkts = 0;
    uint64_t loops = 0;
    uint64_t busy_loops = 0;
    uint64_t drops = 0;
    uint64_t created = 0;
    uint64_t slow = 0;
};

Sample sample_worker(Rig& rig) {
    const dp::WorkerStats& st = rig.dp().worker(0).stats();
    Sample s;
    // Relaxed loads pair with the worker's single-writer relaxed stores (dp::bump).
    s.loops = st.loops.load(std::memory_order_relaxed);
    s.busy_loops = st.busy_loops.load(std::memory_order_relaxed);
    for (int p = 0; p < 2; ++p) {
        s.pkts += st.ports[rig.port_id(p)].rx.load(std::memory_order_relaxed);
    }
    for (size_t i = 1; i < st.drops.size(); ++i) {
        s.drops += st.drops[i].load(std::memory_order_relaxed);
    }
    s.created = st.conns_created.load(std::memory_order_relaxed);
    s.slow = st.to_slow_path.load(std::memory_order_relaxed);
    s.tsc = rte_rdtsc();
    s.cpu_ns = worker_cpu_ns();
    return s;
}

/// A testpmd-style forwarding loop for the worker lcore: io, or 5tswap.
struct alignas(64) BaselineCtx {
    std::atomic<bool> stop{false};
    bool swap = false;
    uint16_t ports[2] = {};
    alignas(64) std::atomic<uint64_t> pkts{0};
    std::atomic<uint64_t> loops{0};
    std::atomic<uint64_t> busy_loops{0};
    std::atomic<uint64_t> tx_full{0};
    std::atomic<uint64_t> busy_cycles{0};  ///< TSC cycles of loops that forwarded something
    std::atomic<uint64_t> busy_pkts{0};    ///< packets of those loops
};

Sample sample_baseline(const BaselineCtx& c) {
    Sample s;
    s.loops = c.loops.load(std::memory_order_relaxed);
    s.busy_loops = c.busy_loops.load(std::memory_order_relaxed);
    s.pkts = c.pkts.load(std::memory_order_relaxed);
    s.drops = c.tx_full.load(std::memory_order_relaxed);
    s.busy_cycles = c.busy_cycles.load(std::memory_order_relaxed);
    s.busy_pkts = c.busy_pkts.load(std::memory_order_relaxed);
    s.tsc = rte_rdtsc();
    s.cpu_ns = worker_cpu_ns();
    return s;
}

/// testpmd's 5tswap: swap source and destination at layers 2, 3 and 4, and fill the mbuf's
/// l2_len/l3_len as testpmd does.
inline void five_tuple_swap(rte_mbuf** pkts, uint16_t n) noexcept {
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
        }
        rte_mbuf* m = pkts[i];
        auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
        const uint16_t proto = eth->ether_type;
        rte_ether_addr a;
        rte_ether_addr_copy(&eth->dst_addr, &a);
        rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
        rte_ether_addr_copy(&a, &eth->src_addr);
        m->l2_len = sizeof(rte_ether_hdr);
        if (proto != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
            continue;
        }
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
        const uint32_t s = ip->src_addr;
        ip->src_addr = ip->dst_addr;
        ip->dst_addr = s;
        m->l3_len = rte_ipv4_hdr_len(ip);
        if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
            auto* l4 = reinterpret_cast<uint16_t*>(reinterpret_cast<uint8_t*>(ip) + m->l3_len);
            uint16_t sp;
            uint16_t dpt;
            std::memcpy(&sp, l4, 2);
            std::memcpy(&dpt, l4 + 1, 2);
            std::memcpy(l4, &dpt, 2);
            std::memcpy(l4 + 1, &sp, 2);
        }
    }
}

int baseline_main(void* arg) {
    auto* c = static_cast<BaselineCtx*>(arg);
    rte_mbuf* pkts[dp::kBurst];
    // A loop that took longer than this was preempted (a shared machine): its cycles are not the
    // loop's, so neither they nor its packets enter the busy figures.
    const uint64_t preempted = rte_get_tsc_hz() / 10000;
    uint64_t prev = rte_rdtsc();
    while (!c->stop.load(std::memory_order_relaxed)) {
        uint32_t got = 0;
        for (int i = 0; i < 2; ++i) {
            const uint16_t n = rte_eth_rx_burst(c->ports[i], 0, pkts, dp::kBurst);
            if (n == 0) {
                continue;
            }
            got += n;
            if (c->swap) {
                five_tuple_swap(pkts, n);
            }
            // Paired ports, as testpmd's default topology: what came in on one leaves the other.
            const uint16_t sent = rte_eth_tx_burst(c->ports[i ^ 1], 0, pkts, n);
            if (sent < n) [[unlikely]] {
                dp::bump(c->tx_full, n - sent);
                rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            }
        }
        // One TSC read per loop, as testpmd's --record-core-cycles does.
        const uint64_t now = rte_rdtsc();
        dp::bump(c->loops);
        if (got != 0) {
            dp::bump(c->busy_loops);
            dp::bump(c->pkts, got);
            if (now - prev < preempted) {
                dp::bump(c->busy_cycles, now - prev);
                dp::bump(c->busy_pkts, got);
            }
        }
        prev = now;
    }
    return 0;
}

/// A cache line bounced between the main and the worker lcore: how far apart the hypervisor has
/// put the two vCPUs right now (sharing an L3 or not), which moves every figure here, since each
/// packet's header line travels from the generator's core to the worker's and back.
struct alignas(64) PingPong {
    std::atomic<uint32_t> v{0};
    uint32_t rounds = 0;
};

int pong_main(void* arg) {
    auto* p = static_cast<PingPong*>(arg);
    for (uint32_t i = 0; i < p->rounds; ++i) {
        // Pairs with the main lcore's release store of the odd value.
        while (p->v.load(std::memory_order_acquire) != 2 * i + 1) {
            rte_pause();
        }
        p->v.store(2 * i + 2, std::memory_order_release);
    }
    return 0;
}

/// Round-trip time of a cache line between the two lcores in nanoseconds: the best of 20 batches
/// of 200 (a descheduled vCPU spoils a batch, not the figure). 0 if the worker lcore is busy.
/// Thread: main lcore, worker lcore free.
double core_to_core_ns(unsigned worker) {
    constexpr uint32_t kBatches = 20;
    constexpr uint32_t kPerBatch = 200;
    PingPong p;
    p.rounds = kBatches * kPerBatch;
    if (rte_eal_remote_launch(pong_main, &p, worker) != 0) {
        return 0;
    }
    double best = 0;
    for (uint32_t b = 0; b < kBatches; ++b) {
        const uint64_t t0 = rte_rdtsc();
        for (uint32_t k = 0; k < kPerBatch; ++k) {
            const uint32_t i = b * kPerBatch + k;
            // Pairs with the worker's acquire load; its reply pairs with our acquire below.
            p.v.store(2 * i + 1, std::memory_order_release);
            while (p.v.load(std::memory_order_acquire) != 2 * i + 2) {
                rte_pause();
            }
        }
        const double ns = static_cast<double>(rte_rdtsc() - t0) * 1e9 /
                          static_cast<double>(rte_get_tsc_hz()) / kPerBatch;
        best = b == 0 ? ns : std::min(best, ns);
    }
    rte_eal_wait_lcore(worker);
    return best;
}

// ---------------------------------------------------------------------------------------------
// Results

struct Result {
    std::string name;
    std::string kind;    ///< baseline | nat | newconn
    std::string mode;    ///< io | 5tswap | rr | mh
    std::string dist;    ///< uniform | zipf | ""
    uint64_t conns = 0;  ///< live connections during the run (nat), or created (newconn)
    uint32_t frame = 0;  ///< bytes on the wire, FCS included
    double seconds = 0;
    uint64_t packets = 0;
    double mpps_wall = 0;
    double mpps_core = 0;
    double cycles_per_pkt = 0;  ///< best sub-window (see kSubWindows)
    double mpps_core_all = 0;   ///< over the whole window
    double cycles_per_pkt_all = 0;
    double idle_pct = 0;  ///< share of the worker's run time spent in loops without packets
    double cpu_pct = 0;   ///< share of the wall time the worker thread was on a CPU
    uint64_t drops = 0;
    uint64_t lost = 0;  ///< mbufs that never came back (dropped or on the slow path)
    uint64_t slow = 0;
    uint64_t created = 0;
    double conns_per_s = 0;  ///< newconn: per core, from busy cycles
    double ratio_io = 0;
    double ratio_5tswap = 0;
    double setup_s = 0;
    uint64_t table_size = 0;
    double adj_io = 0;      ///< io Mpps/core measured right before this scenario
    double adj_5tswap = 0;  ///< 5tswap Mpps/core measured right before this scenario
    double c2c_ns = 0;      ///< cache-line round trip between the lcores right before the run
    bool ok = false;
    std::string note;
};

struct MemProbe {
    uint64_t conns = 0;
    uint64_t capacity = 0;
    uint64_t memory_bytes = 0;
    uint64_t rss_create = 0;
    uint64_t rss_filled = 0;
};

/// TSC cycles the worker thread ran between two samples: its on-CPU time when the kernel reports
/// it (a shared machine takes the core away now and then), else the wall clock.
double worker_cycles(const Sample& a, const Sample& b) {
    const double wall = static_cast<double>(b.tsc - a.tsc);
    if (a.cpu_ns == 0 || b.cpu_ns <= a.cpu_ns) {
        return wall;
    }
    const double cpu =
        static_cast<double>(b.cpu_ns - a.cpu_ns) * 1e-9 * static_cast<double>(rte_get_tsc_hz());
    return std::min(cpu, wall);
}

/// Turns two samples into the figures. `idle_cost` is TSC cycles per loop without traffic.
void compute(Result& r, const Sample& a, const Sample& b, double idle_cost) {
    const double hz = static_cast<double>(rte_get_tsc_hz());
    const double wall = static_cast<double>(b.tsc - a.tsc);
    const double ran = worker_cycles(a, b);
    const uint64_t loops = b.loops - a.loops;
    const uint64_t idle_loops = loops - (b.busy_loops - a.busy_loops);
    double idle = static_cast<double>(idle_loops) * idle_cost;
    if (idle > ran) {
        idle = ran;
    }
    double busy = ran - idle;
    r.cpu_pct = wall > 0 ? 100.0 * ran / wall : 0;
    r.packets = b.pkts - a.pkts;
    r.drops = b.drops - a.drops;
    r.created = b.created - a.created;
    r.slow = b.slow - a.slow;
    r.seconds = wall / hz;
    r.idle_pct = ran > 0 ? 100.0 * idle / ran : 0;
    double busy_pkts = static_cast<double>(r.packets);
    if (b.busy_pkts != a.busy_pkts) {
        // The loop timed itself: exact, whatever the generator managed to feed it.
        busy = static_cast<double>(b.busy_cycles - a.busy_cycles);
        busy_pkts = static_cast<double>(b.busy_pkts - a.busy_pkts);
        r.idle_pct = ran > 0 ? std::max(0.0, 100.0 * (1.0 - busy / ran)) : 0;
    }
    if (r.packets != 0 && busy > 0) {
        r.cycles_per_pkt = busy / busy_pkts;
        r.mpps_core = hz / r.cycles_per_pkt / 1e6;
        r.mpps_wall = static_cast<double>(r.packets) / r.seconds / 1e6;
    }
    if (r.created != 0 && busy > 0) {
        r.conns_per_s = static_cast<double>(r.created) / (busy / hz);
    }
}

/// TSC cycles of one loop of the worker-lcore loop with no traffic, measured for 50 ms.
template <class S>
double calibrate_idle(S sample) {
    const uint64_t hz = rte_get_tsc_hz();
    const Sample a = sample();
    while (rte_rdtsc() - a.tsc < hz / 20) {
        rte_pause();
    }
    const Sample b = sample();
    const uint64_t loops = b.loops - a.loops;
    return loops == 0 ? 0.0 : worker_cycles(a, b) / static_cast<double>(loops);
}

/// Runs the closed loop for `seconds` after a warm-up and returns the figures; a writer with
/// finite traffic ends the timed window when it runs out.
template <class W, class S>
Result timed_run(Rig& rig, W& w, S sample, uint32_t inflight, double seconds, Result r) {
    const uint64_t hz = rte_get_tsc_hz();
    const double idle_before = calibrate_idle(sample);
    Pump<W> pump(rig, w);
    if (!pump.start(inflight)) {
        r.note = "mbuf pool too small";
        return r;
    }
    const double warm = std::max(0.02, seconds / 10);
    const uint64_t warm_end = rte_rdtsc() + static_cast<uint64_t>(warm * static_cast<double>(hz));
    while (rte_rdtsc() < warm_end) {
        pump.step(true);
        if constexpr (requires { w.used_share(); }) {
            // Finite traffic: keep most of it for the timed window.
            if (w.used_share() >= 0.1) {
                break;
            }
        }
    }
    if (r.kind != "baseline") {
        // Keep the loop fed while perf attaches.
        g_profiler.start();
    }
    // The window is cut in kSubWindows: other work on a shared machine only ever adds cycles, so
    // the best sub-window is the closest to what the code costs; the whole window is kept too.
    std::array<Sample, kSubWindows + 1> marks;
    marks[0] = sample();
    const uint64_t t0 = marks[0].tsc;
    const double span = seconds * static_cast<double>(hz);
    size_t used = 0;
    bool exhausted = false;
    while (used < kSubWindows && !exhausted) {
        const uint64_t end =
            t0 + static_cast<uint64_t>(span * static_cast<double>(used + 1) / kSubWindows);
        while (rte_rdtsc() < end) {
            pump.step(true);
            if constexpr (requires { w.exhausted(); }) {
                if (w.exhausted()) {
                    exhausted = true;
                    break;
                }
            }
        }
        marks[++used] = sample();
    }
    g_profiler.stop();
    pump.drain([&sample] { return sample().loops; });
    // Noise only ever adds cycles: the cheaper of the two calibrations is the closer one.
    const double idle_cost = std::min(idle_before, calibrate_idle(sample));
    compute(r, marks[0], marks[used], idle_cost);
    r.cycles_per_pkt_all = r.cycles_per_pkt;
    r.mpps_core_all = r.mpps_core;
    uint64_t most = 0;
    for (size_t i = 0; i < used; ++i) {
        most = std::max(most, marks[i + 1].pkts - marks[i].pkts);
    }
    double best = 0;
    for (size_t i = 0; i < used; ++i) {
        Result sub;
        compute(sub, marks[i], marks[i + 1], idle_cost);
        // A short last window (finite traffic) does not count.
        if (sub.packets * 4 >= most && sub.cycles_per_pkt > 0 &&
            (best == 0 || sub.cycles_per_pkt < best)) {
            best = sub.cycles_per_pkt;
            r.cycles_per_pkt = sub.cycles_per_pkt;
            r.mpps_core = sub.mpps_core;
            r.conns_per_s = sub.conns_per_s;
        }
    }
    r.lost = pump.live();
    if (pump.gen_full() != 0) {
        r.note += "generator found an RX ring full; ";
    }
    if (pump.changed() != 0) {
        r.note += "worker changed mbuf lengths; ";
        r.ok = false;
        return r;
    }
    if (r.kind == "baseline" && r.idle_pct > 10) {
        r.note += "generator-bound (cycles timed by the loop itself); ";
    } else if (r.kind != "baseline" && r.idle_pct > 50) {
        r.note += "UNRELIABLE: worker idle " + std::to_string(static_cast<int>(r.idle_pct)) +
                  "% (generator starved), busy cycles estimated; ";
    } else if (r.kind != "baseline" && r.idle_pct > 10) {
        r.note += "worker idle " + std::to_string(static_cast<int>(r.idle_pct)) +
                  "%: busy cycles estimated; ";
    }
    r.ok = r.packets != 0;
    return r;
}

/// Drives one handshake step over flows [0, n) through the running worker. Returns seconds.
double handshake_step(Rig& rig, const Templates& t, HandshakeWriter::Step step, uint32_t n,
                      std::vector<uint8_t>& rs_of, uint32_t inflight, uint32_t* observed) {
    HandshakeWriter w(t, step, 0, n, &rs_of);
    Pump<HandshakeWriter> pump(rig, w);
    const uint64_t t0 = rte_rdtsc();
    if (!pump.start(std::min(inflight, n))) {
        return -1;
    }
    while (!w.exhausted()) {
        pump.step(true);
    }
    pump.drain([&rig] { return sample_worker(rig).loops; });
    if (observed != nullptr) {
        *observed = w.observed();
    }
    return static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(rte_get_tsc_hz());
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
    /// One testpmd-style loop on the (free) worker lcore for `seconds`. False on failure.
    bool run_baseline(Rig& rig, bool swap, uint16_t frame, double seconds, Result& r);
    bool baselines(Rig& rig, const std::vector<uint16_t>& frames, const std::string& suffix);
    /// io and 5tswap at r's frame size right before r runs; stops the worker, and relaunches it
    /// when `relaunch`. Sets r.adj_io and r.adj_5tswap.
    bool adjacent_baselines(Rig& rig, bool relaunch, Result& r);
    bool established(uint32_t conns, const std::vector<uint16_t>& frames,
                     const std::vector<Popularity>& dists);
    bool new_connections(const std::string& sched);
    void memory_probe(const std::vector<uint32_t>& sizes);
    void fill_ratios();
    void print_table() const;
    bool write_json(const std::string& eal) const;
    uint32_t worker_lcore() const { return rte_get_next_lcore(rte_get_main_lcore(), 1, 0); }
    bool fail(const std::string& what) {
        std::fprintf(stderr, "dirigo-bench: %s\n", what.c_str());
        failed_ = true;
        return false;
    }

    Options o_;
    std::vector<Result> results_;
    std::vector<MemProbe> mem_;
    std::vector<std::string> skipped_;
    bool failed_ = false;
};

bool Bench::run_baseline(Rig& rig, bool swap, uint16_t frame, double seconds, Result& r) {
    // The same frames as the 1K-connection NAT scenario: established traffic over 1K flows.
    static const std::vector<uint32_t> seq = flow_sequence(1000, Popularity::Uniform, kSeqLen, 7);
    static const std::vector<uint8_t> rs_of = [] {
        std::vector<uint8_t> v(1000);
        for (uint32_t f = 0; f < v.size(); ++f) {
            v[f] = static_cast<uint8_t>(f % kRealServers);
        }
        return v;
    }();
    r.kind = "baseline";
    r.mode = swap ? "5tswap" : "io";
    r.frame = frame;
    const Templates t(rig, frame, kTcpAck, kTcpAck);
    EstablishedWriter w(t, seq, rs_of);
    r.c2c_ns = core_to_core_ns(worker_lcore());
    BaselineCtx ctx;
    ctx.swap = swap;
    ctx.ports[0] = rig.port_id(kExt);
    ctx.ports[1] = rig.port_id(kInt);
    if (rte_eal_remote_launch(baseline_main, &ctx, worker_lcore()) != 0) {
        return fail("cannot launch the baseline loop");
    }
    r = timed_run(
        rig, w, [&ctx] { return sample_baseline(ctx); }, o_.inflight, seconds, r);
    ctx.stop.store(true, std::memory_order_relaxed);
    rte_eal_wait_lcore(worker_lcore());
    rig.reclaim();
    return true;
}

bool Bench::baselines(Rig& rig, const std::vector<uint16_t>& frames, const std::string& suffix) {
    for (uint16_t frame : frames) {
        for (const bool swap : {false, true}) {
            Result r;
            r.name =
                std::string(swap ? "5tswap" : "io") + " " + std::to_string(frame) + "B" + suffix;
            if (!run_baseline(rig, swap, frame, o_.duration, r)) {
                return false;
            }
            std::printf("  %-28s %8.2f Mpps/core %8.1f cyc/pkt\n", r.name.c_str(), r.mpps_core,
                        r.cycles_per_pkt);
            std::fflush(stdout);
            results_.push_back(r);
        }
    }
    return true;
}

bool Bench::adjacent_baselines(Rig& rig, bool relaunch, Result& r) {
    // The machine is shared: the ceiling is measured again right before each scenario, on the
    // same core, so each ratio compares figures taken seconds apart.
    if (o_.smoke) {
        return true;
    }
    rig.stop();
    const double secs = std::max(0.2, o_.duration / 4);
    const uint16_t frame = static_cast<uint16_t>(r.frame);
    Result io;
    Result sw;
    if (!run_baseline(rig, false, frame, secs, io) || !run_baseline(rig, true, frame, secs, sw)) {
        return false;
    }
    r.adj_io = io.mpps_core;
    r.adj_5tswap = sw.mpps_core;
    r.c2c_ns = core_to_core_ns(worker_lcore());
    std::string err;
    if (relaunch && !rig.launch(err)) {
        return fail(err);
    }
    return true;
}

bool Bench::established(uint32_t conns, const std::vector<uint16_t>& frames,
                        const std::vector<Popularity>& dists) {
    std::string err;
    auto rig = Rig::create(conns, err);
    if (!rig) {
        return fail(err);
    }
    const bool first = results_.empty();
    if (first && !baselines(*rig, frames, "")) {
        return false;
    }
    bool any = false;
    for (Popularity d : dists) {
        for (uint16_t f : frames) {
            any = any || wanted(o_, "nat " + count_name(conns) + " " +
                                        (d == Popularity::Zipf ? "zipf " : "uniform ") +
                                        std::to_string(f) + "B");
        }
    }
    if (!any) {
        return true;
    }
    if (!rig->add_service("rr", err) || !rig->resolve(err) || !rig->launch(err)) {
        return fail(err);
    }
    // Establish every connection through the worker: SYN, SYN-ACK, ACK.
    const Templates hs(*rig, 64, kTcpSyn, kTcpSyn | kTcpAck);
    const Templates ack(*rig, 64, kTcpAck, kTcpAck);
    std::vector<uint8_t> rs_of(conns, 0);
    const Sample s0 = sample_worker(*rig);
    uint32_t observed = 0;
    double setup =
        handshake_step(*rig, hs, HandshakeWriter::Step::Syn, conns, rs_of, o_.inflight, &observed);
    setup +=
        handshake_step(*rig, hs, HandshakeWriter::Step::SynAck, conns, rs_of, o_.inflight, nullptr);
    setup +=
        handshake_step(*rig, ack, HandshakeWriter::Step::Ack, conns, rs_of, o_.inflight, nullptr);
    const Sample s1 = sample_worker(*rig);
    const uint32_t live = rig->dp().worker(0).table().size();
    std::printf("  established %s connections in %.1f s (created %" PRIu64
                ", live %u, drops %" PRIu64 ")\n",
                count_name(conns).c_str(), setup, s1.created - s0.created, live,
                s1.drops - s0.drops);
    std::fflush(stdout);
    if (observed != conns || live != conns) {
        return fail("handshake: " + std::to_string(observed) + " SYNs seen, " +
                    std::to_string(live) + " connections live, expected " + std::to_string(conns));
    }
    for (Popularity d : dists) {
        const char* dn = d == Popularity::Zipf ? "zipf" : "uniform";
        const std::vector<uint32_t> seq = flow_sequence(conns, d, kSeqLen, 11);
        for (uint16_t frame : frames) {
            Result r;
            r.kind = "nat";
            r.mode = "rr";
            r.dist = dn;
            r.conns = conns;
            r.frame = frame;
            r.table_size = conns;
            r.setup_s = setup;
            r.name = "nat " + count_name(conns) + " " + dn + " " + std::to_string(frame) + "B";
            if (!wanted(o_, r.name)) {
                continue;
            }
            if (!adjacent_baselines(*rig, true, r)) {
                return false;
            }
            const Templates t(*rig, frame, kTcpAck, kTcpAck);
            EstablishedWriter w(t, seq, rs_of);
            r = timed_run(
                *rig, w, [&rig] { return sample_worker(*rig); }, o_.inflight, o_.duration, r);
            if (r.created != 0 || r.drops != 0) {
                r.note += "unexpected: " + std::to_string(r.created) + " created, " +
                          std::to_string(r.drops) + " dropped; ";
            }
            std::printf("  %-28s %8.2f Mpps/core %8.1f cyc/pkt\n", r.name.c_str(), r.mpps_core,
                        r.cycles_per_pkt);
            std::fflush(stdout);
            results_.push_back(r);
        }
    }
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (nat " + count_name(conns) + ")");
    }
    return true;
}

bool Bench::new_connections(const std::string& sched) {
    Result r;
    r.kind = "newconn";
    r.mode = sched;
    r.frame = 64;
    r.name = "newconn " + sched;
    if (!wanted(o_, r.name)) {
        return true;
    }
    const uint32_t table = o_.smoke ? (1u << 18) : kNewConnTable;
    std::string err;
    auto rig = Rig::create(table, err);
    if (!rig || !rig->add_service(sched, err) || !rig->resolve(err)) {
        return fail(err);
    }
    if (!adjacent_baselines(*rig, false, r)) {
        return false;
    }
    if (!rig->launch(err)) {
        return fail(err);
    }
    const Templates t(*rig, 64, kTcpSyn, kTcpSyn | kTcpAck);
    const auto budget = static_cast<uint32_t>(table * kNewConnFill);
    HandshakeWriter w(t, HandshakeWriter::Step::Syn, 0, budget, nullptr);
    r.table_size = table;
    r = timed_run(
        *rig, w, [&rig] { return sample_worker(*rig); }, o_.inflight, o_.duration, r);
    r.conns = rig->dp().worker(0).table().size();
    if (r.drops != 0) {
        r.note += std::to_string(r.drops) + " dropped; ";
    }
    std::printf("  %-28s %8.2f Mconn/s/core %8.1f cyc/conn (table %s, %" PRIu64 " live)\n",
                r.name.c_str(), r.conns_per_s / 1e6, r.cycles_per_pkt, count_name(table).c_str(),
                r.conns);
    std::fflush(stdout);
    results_.push_back(r);
    const uint32_t leaked = rig->close();
    if (leaked != 0) {
        return fail(std::to_string(leaked) + " mbufs leaked (" + r.name + ")");
    }
    return true;
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
            skipped_.push_back("memory probe " + count_name(n) + ": " + t.status().message());
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
            c.expire = UINT64_MAX;
            (void)(*t)->insert(c, true);
        }
        const uint64_t r2 = resident_bytes();
        p.capacity = (*t)->capacity();
        p.memory_bytes = (*t)->memory_bytes();
        p.rss_create = r1 - r0;
        p.rss_filled = r2 - r0;
        std::printf(
            "  conn table %-4s: memory_bytes/capacity %6.1f B, resident growth %6.1f B "
            "at creation, %6.1f B filled (%u live)\n",
            count_name(n).c_str(), static_cast<double>(p.memory_bytes) / p.capacity,
            static_cast<double>(p.rss_create) / p.capacity,
            static_cast<double>(p.rss_filled) / p.capacity, (*t)->size());
        std::fflush(stdout);
        mem_.push_back(p);
        keep.push_back(std::move(*t));
    }
}

void Bench::fill_ratios() {
    auto find = [&](const std::string& mode, uint32_t frame) -> const Result* {
        for (const Result& r : results_) {
            if (r.kind == "baseline" && r.mode == mode && r.frame == frame &&
                r.name.find("(end)") == std::string::npos) {
                return &r;
            }
        }
        return nullptr;
    };
    for (Result& r : results_) {
        const uint32_t frame = r.kind == "newconn" ? 64 : r.frame;
        const double mine = r.kind == "newconn" ? r.conns_per_s / 1e6 : r.mpps_core;
        // The ceiling measured right before the scenario when there is one, else the run's.
        double io = r.adj_io;
        double sw = r.adj_5tswap;
        if (const Result* b = find("io", frame); io == 0 && b != nullptr) {
            io = b->mpps_core;
        }
        if (const Result* b = find("5tswap", frame); sw == 0 && b != nullptr) {
            sw = b->mpps_core;
        }
        r.ratio_io = io > 0 ? mine / io : 0;
        r.ratio_5tswap = sw > 0 ? mine / sw : 0;
    }
}

void Bench::print_table() const {
    std::printf("\n%-28s %10s %10s %8s %8s %6s %6s %6s %6s %7s %9s\n", "scenario", "Mpps/core",
                "Mpps wall", "cyc/pkt", "Mconn/s", "idle%", "cpu%", "drops", "c2c ns", "vs io",
                "vs 5tswap");
    for (const Result& r : results_) {
        char cps[16] = "-";
        if (r.kind == "newconn") {
            std::snprintf(cps, sizeof(cps), "%.3f", r.conns_per_s / 1e6);
        }
        std::printf("%-28s %10.3f %10.3f %8.1f %8s %6.1f %6.1f %6" PRIu64
                    " %6.0f %6.1f%% %8.1f%%%s%s\n",
                    r.name.c_str(), r.mpps_core, r.mpps_wall, r.cycles_per_pkt, cps, r.idle_pct,
                    r.cpu_pct, r.drops, r.c2c_ns, 100 * r.ratio_io, 100 * r.ratio_5tswap,
                    r.note.empty() ? "" : "  ", r.note.c_str());
    }
    for (const MemProbe& p : mem_) {
        std::printf(
            "memory %-4s connections: %.1f B/conn (memory_bytes/capacity), resident "
            "growth %.1f B/conn at creation, %.1f B/conn filled\n",
            count_name(p.conns).c_str(), static_cast<double>(p.memory_bytes) / p.capacity,
            static_cast<double>(p.rss_create) / p.capacity,
            static_cast<double>(p.rss_filled) / p.capacity);
    }
    for (const std::string& s : skipped_) {
        std::printf("skipped: %s\n", s.c_str());
    }
}

std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            o += ' ';
        } else {
            o += c;
        }
    }
    return o + "\"";
}

/// A flat JSON object built field by field.
class JsonObject {
public:
    JsonObject& str(const char* k, const std::string& v) { return raw(k, json_str(v)); }
    JsonObject& num(const char* k, double v) {
        char b[64];
        std::snprintf(b, sizeof(b), "%.6g", std::isfinite(v) ? v : 0.0);
        return raw(k, b);
    }
    JsonObject& num(const char* k, uint64_t v) { return raw(k, std::to_string(v)); }
    JsonObject& num(const char* k, uint32_t v) { return raw(k, std::to_string(v)); }
    JsonObject& boolean(const char* k, bool v) { return raw(k, v ? "true" : "false"); }
    std::string done() const { return "{" + s_ + "}"; }

private:
    JsonObject& raw(const char* k, const std::string& v) {
        s_ += (s_.empty() ? "\"" : ", \"") + std::string(k) + "\": " + v;
        return *this;
    }
    std::string s_;
};

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

bool Bench::write_json(const std::string& eal) const {
    FILE* f = std::fopen(o_.json.c_str(), "w");
    if (f == nullptr) {
        std::fprintf(stderr, "dirigo-bench: cannot write %s\n", o_.json.c_str());
        return false;
    }
    utsname u{};
    uname(&u);
    std::fprintf(f, "{\n  \"tool\": \"dirigo-bench\",\n  \"command\": %s,\n  \"eal\": %s,\n",
                 json_str(o_.command).c_str(), json_str(eal).c_str());
    std::fprintf(f,
                 "  \"machine\": {\"nproc\": %ld, \"cpu\": %s, \"kernel\": %s, \"tsc_hz\": %" PRIu64
                 "},\n",
                 sysconf(_SC_NPROCESSORS_ONLN), json_str(cpu_model()).c_str(),
                 json_str(std::string(u.release)).c_str(), rte_get_tsc_hz());
    std::fprintf(f, "  \"duration_s\": %.3f,\n  \"inflight\": %u,\n  \"smoke\": %s,\n", o_.duration,
                 o_.inflight, o_.smoke ? "true" : "false");
    std::fprintf(f, "  \"memory\": [");
    for (size_t i = 0; i < mem_.size(); ++i) {
        const MemProbe& p = mem_[i];
        std::fprintf(f,
                     "%s\n    {\"conns\": %" PRIu64 ", \"capacity\": %" PRIu64
                     ", \"memory_bytes\": %" PRIu64
                     ", \"bytes_per_conn\": %.2f, "
                     "\"rss_create_per_conn\": %.2f, \"rss_filled_per_conn\": %.2f}",
                     i == 0 ? "" : ",", p.conns, p.capacity, p.memory_bytes,
                     static_cast<double>(p.memory_bytes) / p.capacity,
                     static_cast<double>(p.rss_create) / p.capacity,
                     static_cast<double>(p.rss_filled) / p.capacity);
    }
    std::fprintf(f, "\n  ],\n  \"skipped\": [");
    for (size_t i = 0; i < skipped_.size(); ++i) {
        std::fprintf(f, "%s%s", i == 0 ? "" : ", ", json_str(skipped_[i]).c_str());
    }
    std::fprintf(f, "],\n  \"scenarios\": [");
    for (size_t i = 0; i < results_.size(); ++i) {
        const Result& r = results_[i];
        JsonObject o;
        o.str("name", r.name).str("kind", r.kind).str("mode", r.mode).str("dist", r.dist);
        o.num("conns", r.conns).num("table_size", r.table_size).num("frame", r.frame);
        o.num("seconds", r.seconds).num("packets", r.packets).num("mpps_core", r.mpps_core);
        o.num("mpps_wall", r.mpps_wall).num("cycles_per_pkt", r.cycles_per_pkt);
        o.num("mpps_core_all", r.mpps_core_all).num("cycles_per_pkt_all", r.cycles_per_pkt_all);
        o.num("idle_pct", r.idle_pct).num("cpu_pct", r.cpu_pct).num("drops", r.drops);
        o.num("lost", r.lost).num("slow_path", r.slow).num("created", r.created);
        o.num("conns_per_s", r.conns_per_s).num("ratio_io", r.ratio_io);
        o.num("ratio_5tswap", r.ratio_5tswap).num("adj_io", r.adj_io);
        o.num("adj_5tswap", r.adj_5tswap).num("setup_s", r.setup_s).num("c2c_ns", r.c2c_ns);
        o.boolean("ok", r.ok).str("note", r.note);
        std::fprintf(f, "%s\n    %s", i == 0 ? "" : ",", o.done().c_str());
    }
    std::fprintf(f, "\n  ]\n}\n");
    std::fclose(f);
    return true;
}

int Bench::run() {
    std::vector<uint32_t> sizes = {1000};
    std::vector<uint16_t> frames = {64};
    std::vector<Popularity> dists = {Popularity::Uniform};
    if (!o_.smoke) {
        sizes = {1000, 100000, 1000000, 10000000};
        frames = {64, 512};
        dists = {Popularity::Uniform, Popularity::Zipf};
    }
    // A 10M table holds about 2 GB; the probe holds all tables at once.
    constexpr uint64_t kNeed10M = 6ull << 30;
    const uint64_t avail = available_bytes();
    std::erase_if(sizes, [&](uint32_t n) {
        if (n > o_.max_conns) {
            skipped_.push_back("nat " + count_name(n) + ": above --max-conns");
            return true;
        }
        if (n >= 10000000 && avail < kNeed10M) {
            skipped_.push_back("nat " + count_name(n) + ": " + std::to_string(avail >> 20) +
                               " MiB available, need " + std::to_string(kNeed10M >> 20));
            return true;
        }
        return false;
    });
    const uint32_t biggest = sizes.empty() ? 1000 : sizes.back();
    const uint32_t mem_mb = o_.smoke ? 512 : biggest >= 10000000 ? 4096 : 1536;
    EalArgs eal("dirigo-bench", "0-1", mem_mb, "dirigo_bench");
    if (rte_eal_init(eal.argc(), eal.argv()) < 0) {
        std::fprintf(stderr, "dirigo-bench: rte_eal_init failed (%s)\n", eal.joined().c_str());
        return 1;
    }
    int rc = 0;
    if (rte_lcore_count() < 2) {
        std::fprintf(stderr, "dirigo-bench: needs two lcores (a worker and the generator)\n");
        rc = 1;
    } else if (rte_eal_remote_launch(store_tid, nullptr, worker_lcore()) != 0 ||
               rte_eal_wait_lcore(worker_lcore()) != 0) {
        std::fprintf(stderr, "dirigo-bench: cannot start the worker lcore\n");
        rc = 1;
    } else {
        if (worker_cpu_ns() == 0) {
            skipped_.push_back(
                "per-thread CPU time (no thread CPU clock): figures use the wall "
                "clock");
        }
        std::printf(
            "dirigo-bench: EAL %s; %.1f s per scenario, %u mbufs in flight, TSC %.3f "
            "GHz\n",
            eal.joined().c_str(), o_.duration, o_.inflight,
            static_cast<double>(rte_get_tsc_hz()) / 1e9);
        std::fflush(stdout);
        if (!o_.perf.empty()) {
            g_profiler.arm(o_.perf);
        }
        if (o_.mem_probe) {
            memory_probe(sizes);
        }
        bool ok = true;
        for (uint32_t n : sizes) {
            ok = ok && established(n, frames, dists);
        }
        ok = ok && new_connections("rr");
        if (!o_.smoke && !o_.only.empty()) {
            ok = ok && new_connections("mh");
        }
        if (!o_.smoke && o_.only.empty()) {
            ok = ok && new_connections("mh");
            // The ceiling again at the end: how far the machine drifted during the run.
            std::string err;
            auto rig = Rig::create(1000, err);
            ok = ok && rig != nullptr && baselines(*rig, {64}, " (end)");
            if (rig != nullptr && rig->close() != 0) {
                ok = fail("mbufs leaked (end baseline)");
            }
        }
        fill_ratios();
        print_table();
        if (!o_.json.empty() && !write_json(eal.joined())) {
            ok = false;
        }
        for (const Result& r : results_) {
            if (!r.ok) {
                std::fprintf(stderr, "dirigo-bench: %s: no packet flowed %s\n", r.name.c_str(),
                             r.note.c_str());
                ok = false;
            }
        }
        rc = ok && !failed_ ? 0 : 1;
        if (o_.smoke) {
            std::printf("smoke: %s (packets flowed in every scenario, no mbuf leaked)\n",
                        rc == 0 ? "ok" : "FAILED");
        }
    }
    rte_eal_cleanup();
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
