// SPDX-License-Identifier: BSD-3-Clause
// Adaptive polling (dataplane.poll = "adaptive") through the real dataplane: two workers on their
// own lcores, net_ring ports with one RX queue (worker 1 gets its flows only by hand-off, so a
// sleeping worker's hand-off ring is exercised too). Checks that idle workers sleep (the counter
// moves, their threads' CPU time is a small share of wall time), that traffic after an idle spell
// is forwarded without loss, that a sleeping worker holds up no RCU grace period, and that it
// still serves commands. Timing figures are printed; asserts use generous bounds.

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"
#include "tests/dataplane/harness.hpp"

namespace dirigo {
namespace {

using namespace test;  // the test network: MACs, port indexes, frame helpers
using Clock = std::chrono::steady_clock;

constexpr int kWorkers = 2;

int record_thread(void* arg) {
    *static_cast<pthread_t*>(arg) = pthread_self();
    return 0;
}

double seconds(clockid_t clk) {
    timespec ts{};
    clock_gettime(clk, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

class IdleTest : public ::testing::Test {
protected:
    /// Builds and launches a two-worker dataplane polling adaptively with `max_sleep_us`.
    void start(uint32_t max_sleep_us, uint32_t idle_polls = 200) {
        static int seq = 0;
        ++seq;
        ASSERT_EQ(rte_lcore_count(), 3u);
        cfg::Config cfg;
        cfg.host.kernel_interfaces = false;  // in-process: no net_tap interfaces
        cfg.dataplane.conn_table_size = 32768;
        cfg.dataplane.mbufs = 16383;
        cfg.dataplane.poll = cfg::PollMode::Adaptive;
        cfg.dataplane.idle_polls = idle_polls;
        cfg.dataplane.max_sleep_us = max_sleep_us;
        const char* names[2] = {"ext", "int"};
        for (int i = 0; i < 2; ++i) {
            const std::string base = "idle" + std::to_string(seq) + names[i];
            rx_[i] = rte_ring_create((base + "_rx").c_str(), 16384, 0, 0);
            ASSERT_NE(rx_[i], nullptr);
            for (int q = 0; q < kWorkers; ++q) {
                tx_[i].push_back(
                    rte_ring_create((base + std::to_string(q) + "_tx").c_str(), 16384, 0, 0));
                ASSERT_NE(tx_[i].back(), nullptr);
            }
            const int pid = rte_eth_from_rings(base.c_str(), &rx_[i], 1, tx_[i].data(),
                                               static_cast<unsigned>(tx_[i].size()), 0);
            ASSERT_GE(pid, 0);
            char dev[RTE_ETH_NAME_MAX_LEN];
            ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<uint16_t>(pid), dev), 0);
            cfg::PortCfg pc;
            pc.name = names[i];
            pc.device = dev;
            cfg.ports.push_back(pc);
            port_id_[i] = static_cast<uint16_t>(pid);
        }
        cfg.ports[0].addresses = {{ntohl(ip("10.0.0.1")), 16}, {ntohl(ip("10.0.0.100")), 32}};
        cfg.ports[1].addresses = {{ntohl(ip("172.16.0.1")), 24}};
        auto dp = dp::Dataplane::create(cfg, kWorkers);
        ASSERT_TRUE(dp) << dp.status().message();
        dp_ = std::move(*dp);
        ctl_ = std::make_unique<ctl::Control>(*dp_, cfg);
        ASSERT_TRUE(ctl_->load_initial());
        for (int i = 0; i < 2; ++i) {
            mac_[i] = to_mac(dp_->topology()->ports[port_id_[i]].mac);
        }
        // The workers' threads, for their CPU clocks: EAL keeps one thread per lcore, so the
        // thread that runs this probe is the one that will run the worker.
        unsigned lcore;
        int w = 0;
        RTE_LCORE_FOREACH_WORKER(lcore) {
            if (w == kWorkers) {
                break;
            }
            pthread_t t{};
            ASSERT_EQ(rte_eal_remote_launch(record_thread, &t, lcore), 0);
            ASSERT_EQ(rte_eal_wait_lcore(lcore), 0);
            ASSERT_EQ(pthread_getcpuclockid(t, &cpu_clock_[w]), 0);
            ++w;
        }
        ASSERT_TRUE(dp_->launch());
        learn(kExt, kClientMac, ip("10.0.0.2"), ip("10.0.0.1"));
        learn(kInt, kRs1Mac, ip("172.16.0.11"), ip("172.16.0.1"));
        learn(kInt, kRs2Mac, ip("172.16.0.12"), ip("172.16.0.1"));
    }

    void TearDown() override {
        if (!dp_) {
            return;
        }
        dp_->stop();
        drain(kExt);
        drain(kInt);
        ctl_.reset();
        EXPECT_EQ(dp_->shutdown(), 0u) << "mbufs leaked";
        dp_.reset();
        for (int i = 0; i < 2; ++i) {
            rte_ring_free(rx_[i]);
            for (rte_ring* r : tx_[i]) {
                rte_ring_free(r);
            }
        }
    }

    void add_service() {
        const ctl::Request b = service_batch({cfg::Proto::Tcp, ntohl(ip("10.0.0.100")), 80}, "rr",
                                             {{"172.16.0.11", {}}, {"172.16.0.12", {}}});
        ASSERT_EQ(ctl_->handle(b).code, Errc::Ok);
        dp_->wait_for_workers();
    }

    void send(int port, const Frame& f) {
        rte_mbuf* m = to_mbuf(dp_->pool(), f);
        ASSERT_NE(m, nullptr);
        while (rte_ring_enqueue(rx_[port], m) != 0) {
            ctl_->poll(0);
        }
    }

    /// Collects frames from every TX queue of `port` until `want` arrived or 30 s passed.
    std::vector<Frame> recv(int port, size_t want) {
        std::vector<Frame> out;
        const auto deadline = Clock::now() + std::chrono::seconds(30);
        do {
            ctl_->poll(0);
            for (rte_ring* r : tx_[port]) {
                rte_mbuf* m;
                while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
                    out.push_back(take_frame(m));
                }
            }
        } while (out.size() < want && Clock::now() < deadline);
        return out;
    }

    void drain(int port) {
        for (rte_ring* r : tx_[port]) {
            rte_mbuf* m;
            while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
                rte_pktmbuf_free(m);
            }
        }
    }

    void learn(int port, const Mac& mac, uint32_t addr, uint32_t ours) {
        send(port, Frame::arp(kBcast, mac, 1, mac, addr, kZero, ours));
        ASSERT_EQ(recv(port, 1).size(), 1u);
    }

    static Frame client_syn(const Mac& dst, uint32_t n) {
        const uint32_t addr = htonl(0x0a000000u | (2 + n / 1000));
        return Frame::l4(dst, kClientMac, 6, addr, static_cast<uint16_t>(20000 + n % 1000),
                         ip("10.0.0.100"), 80, 0x02);
    }

    uint64_t sleeps(int w) const { return dp_->worker(w).stats().idle_sleeps.load(); }
    uint64_t drops() const {
        uint64_t d = 0;
        for (int w = 0; w < kWorkers; ++w) {
            for (const auto& c : dp_->worker(w).stats().drops) {
                d += c.load();
            }
        }
        return d;
    }

    rte_ring* rx_[2] = {};
    std::vector<rte_ring*> tx_[2];
    uint16_t port_id_[2] = {};
    Mac mac_[2] = {};
    clockid_t cpu_clock_[kWorkers] = {};
    std::unique_ptr<dp::Dataplane> dp_;
    std::unique_ptr<ctl::Control> ctl_;
};

TEST_F(IdleTest, IdleWorkersSleepAndUseLittleCpu) {
    start(1000);
    add_service();
    double cpu0[kWorkers];
    uint64_t s0[kWorkers];
    for (int w = 0; w < kWorkers; ++w) {
        cpu0[w] = seconds(cpu_clock_[w]);
        s0[w] = sleeps(w);
    }
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const double wall = since(t0);
    for (int w = 0; w < kWorkers; ++w) {
        const double cpu = seconds(cpu_clock_[w]) - cpu0[w];
        const uint64_t n = sleeps(w) - s0[w];
        std::printf("worker %d idle: %.1f ms CPU in %.0f ms (%.1f%% of a core), %llu sleeps "
                    "(%.0f/s), %llu us asleep in all\n",
                    w, cpu * 1e3, wall * 1e3, 100.0 * cpu / wall,
                    static_cast<unsigned long long>(n), static_cast<double>(n) / wall,
                    static_cast<unsigned long long>(dp_->worker(w).stats().idle_us.load()));
        // A busy poller uses ~100% of its core; asleep between polls at up to 1 ms, a few percent.
        // 30% leaves room for a loaded machine's scheduling noise.
        EXPECT_LT(cpu, 0.3 * wall) << "worker " << w;
        // At most ~1 ms per sleep: 2 s idle is hundreds of sleeps; 100 is a loose floor.
        EXPECT_GT(n, 100u) << "worker " << w;
    }
}

TEST_F(IdleTest, TrafficAfterIdleIsForwardedWithoutLoss) {
    start(1000);
    add_service();
    constexpr uint32_t kRounds = 20;
    constexpr uint32_t kRound = 250;
    std::vector<double> first_ms;
    uint32_t flow = 0;
    for (uint32_t r = 0; r < kRounds; ++r) {
        // Idle long enough to reach the longest sleep (16 us doubling to 1 ms: ~2 ms of sleeps).
        const uint64_t before = sleeps(0) + sleeps(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        EXPECT_GT(sleeps(0) + sleeps(1), before) << "round " << r << ": no worker slept";
        const auto t0 = Clock::now();
        for (uint32_t i = 0; i < kRound; ++i) {
            send(kExt, client_syn(mac_[kExt], flow++));
        }
        std::vector<Frame> got = recv(kInt, 1);
        first_ms.push_back(since(t0) * 1e3);
        for (Frame& f : recv(kInt, kRound - got.size())) {
            got.push_back(std::move(f));
        }
        ASSERT_EQ(got.size(), kRound) << "round " << r;
        for (const Frame& f : got) {
            EXPECT_EQ(f.dport(), 80);
            EXPECT_TRUE(f.l4_csum_ok());
        }
    }
    std::sort(first_ms.begin(), first_ms.end());
    std::printf("first packet out after an idle spell: median %.3f ms, max %.3f ms over %u rounds\n",
                first_ms[first_ms.size() / 2], first_ms.back(), kRounds);
    EXPECT_EQ(drops(), 0u);
    const uint64_t created = dp_->worker(0).stats().conns_created.load() +
                             dp_->worker(1).stats().conns_created.load();
    EXPECT_EQ(created, kRounds * kRound);
    // Both workers own flows: the hand-off ring of a sleeping worker was drained.
    EXPECT_GT(dp_->worker(1).stats().taken_over.load(), 0u);
    // Loose: a wake-up costs at most max_sleep_us plus scheduling; 1 s means something is stuck.
    EXPECT_LT(first_ms.back(), 1000.0);
}

TEST_F(IdleTest, SleepingWorkersHoldUpNoGracePeriodAndServeCommands) {
    // 100 ms sleeps: a worker that stayed online while asleep would hold every grace period for
    // up to 100 ms.
    start(100000, 10);
    add_service();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // 16 us .. 100 ms: ~200 ms
    // Offline while asleep: a grace period started now is over at once unless a worker happens
    // to be in its few microseconds awake. Allow one of ten to miss.
    int immediate = 0;
    for (int i = 0; i < 10; ++i) {
        const uint64_t token = rte_rcu_qsbr_start(dp_->rcu());
        immediate += rte_rcu_qsbr_check(dp_->rcu(), token, false) == 1 ? 1 : 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(7));
    }
    std::printf("grace periods over at once with both workers asleep: %d of 10\n", immediate);
    EXPECT_GE(immediate, 9);

    // A command reaches a sleeping worker within its sleep: the listing completes.
    send(kExt, client_syn(mac_[kExt], 1));
    ASSERT_EQ(recv(kInt, 1).size(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ctl::Request l;
    l.op = ctl::Op::ListConns;
    const auto t0 = Clock::now();
    const ctl::Reply rep = ctl_->handle(l);
    std::printf("connection listing from sleeping workers: %.1f ms\n", since(t0) * 1e3);
    ASSERT_EQ(rep.code, Errc::Ok) << rep.message;
    EXPECT_EQ(rep.conns.size(), 1u);
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new dirigo::test::EalEnv("idle_test", "0@0,1@1,2@0", "512"));
    return RUN_ALL_TESTS();
}
