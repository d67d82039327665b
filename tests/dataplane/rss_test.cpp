// SPDX-License-Identifier: BSD-3-Clause
// The ownership decision on the multi-queue devices this machine has (run in a network namespace
// of its own, `unshare --net`, so the tap interface and the af_packet socket touch nothing else):
// net_tap with two queues, net_af_packet with two queue pairs, net_ring with two queues and
// net_null. None can hash a NAT flow's two directions onto one queue (tap's RSS is full-tuple
// only and needs a BPF flow rule, which also needs the multiq qdisc this kernel lacks; af_packet
// spreads by kernel fanout; ring has no RSS; null takes an RSS configuration but hashes nothing),
// so each must fall back to the software hand-off and say at start-up which port and why. The
// RSS path itself is verified by tests/unit/dataplane/ownership_test.cpp (hash agreement with
// rte_softrss) only: no device here does Toeplitz RSS with a field selection.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_ring.h>

#include "config/config.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/log.hpp"

namespace dirigo {
namespace {

/// Captures DPDK's log (Dirigo's lines included) while alive.
class LogCapture {
public:
    LogCapture() : f_(open_memstream(&buf_, &len_)) {
        old_ = rte_log_get_stream();
        rte_openlog_stream(f_);
    }
    ~LogCapture() {
        rte_openlog_stream(old_);
        fclose(f_);
        free(buf_);
    }
    std::string text() {
        fflush(f_);
        return std::string(buf_, len_);
    }

private:
    char* buf_ = nullptr;
    size_t len_ = 0;
    FILE* f_;
    FILE* old_ = nullptr;
};

cfg::Config one_port(const std::string& device, cfg::PortSide side) {
    cfg::Config cfg;
    cfg.host.kernel_interfaces = false;
    cfg.dataplane.conn_table_size = 4096;
    cfg.dataplane.mbufs = 4095;
    cfg.dataplane.rx_desc = 256;
    cfg.dataplane.tx_desc = 256;
    cfg::PortCfg pc;
    pc.name = "p0";
    pc.device = device;
    pc.side = side;
    pc.addresses = {{0x0a000001, 24}};
    cfg.ports.push_back(pc);
    return cfg;
}

struct Device {
    const char* device;
    const char* args;  ///< rte_vdev_init's arguments
    const char* why;   ///< what the start-up warning names
};

class RssDeviceTest : public ::testing::TestWithParam<Device> {};

TEST_P(RssDeviceTest, FallsBackToSoftwareHandoffAndSaysWhy) {
    const Device d = GetParam();
    for (cfg::PortSide side : {cfg::PortSide::Client, cfg::PortSide::Server}) {
        // Each run gets a fresh device: closing a virtual device's port releases it.
        ASSERT_EQ(rte_vdev_init(d.device, d.args), 0) << d.device;
        LogCapture log;
        auto dp = dp::Dataplane::create(one_port(d.device, side), 2);
        ASSERT_TRUE(dp) << dp.status().message();
        uint16_t pid = 0;
        ASSERT_EQ(rte_eth_dev_get_port_by_name(d.device, &pid), 0);
        EXPECT_EQ((*dp)->rx_queues(pid), 2) << "a multi-queue device";
        EXPECT_FALSE((*dp)->owners().is_rss());
        // Software ownership: the Fibonacci hash the workers always used.
        EXPECT_EQ((*dp)->owners().owner(0x0200000a, 0x3930), dp::flow_owner(0x0200000a, 0x3930, 2));
        const std::string text = log.text();
        const std::string want =
            std::string("port p0 (") + d.device + "): RSS cannot put flows on their owner worker: ";
        EXPECT_NE(text.find(want), std::string::npos) << text;
        EXPECT_NE(text.find(d.why), std::string::npos) << text;
        EXPECT_NE(text.find("flow ownership: software hash"), std::string::npos) << text;
        EXPECT_EQ((*dp)->shutdown(), 0u);
        dp->reset();
        EXPECT_EQ(rte_vdev_uninit(d.device), 0);
    }
}

TEST_P(RssDeviceTest, OneWorkerNeedsNoDecision) {
    const Device d = GetParam();
    ASSERT_EQ(rte_vdev_init(d.device, d.args), 0) << d.device;
    LogCapture log;
    auto dp = dp::Dataplane::create(one_port(d.device, cfg::PortSide::Client), 1);
    ASSERT_TRUE(dp) << dp.status().message();
    EXPECT_FALSE((*dp)->owners().is_rss());
    EXPECT_EQ((*dp)->owners().owner(0x0200000a, 0x3930), 0u);
    EXPECT_EQ(log.text().find("RSS cannot"), std::string::npos) << log.text();
    EXPECT_EQ((*dp)->shutdown(), 0u);
    dp->reset();
    EXPECT_EQ(rte_vdev_uninit(d.device), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Here, RssDeviceTest,
    ::testing::Values(
        // tap reports full-tuple RSS types (IP, TCP, UDP) and no field selection.
        Device{"net_tap_rss", "iface=dtaprss0", "cannot hash the"},
        // af_packet reports no RSS at all.
        Device{"net_af_packet_rss", "iface=lo,qpairs=2", "no RSS"},
        // null accepts an RSS configuration (full tuples) but hashes nothing.
        Device{"net_null_rss", "", "cannot hash the"}),
    [](const auto& info) {
        std::string n = info.param.device;
        return n.substr(4, n.size() - 8);
    });

TEST(RssRingTest, RingWithTwoQueuesFallsBack) {
    std::vector<rte_ring*> rx, tx;
    for (int q = 0; q < 2; ++q) {
        const std::string n = "rss_ring" + std::to_string(q);
        rx.push_back(rte_ring_create((n + "rx").c_str(), 1024, 0, 0));
        tx.push_back(rte_ring_create((n + "tx").c_str(), 1024, 0, 0));
    }
    const int pid = rte_eth_from_rings("rss_ring", rx.data(), 2, tx.data(), 2, 0);
    ASSERT_GE(pid, 0);
    char dev[RTE_ETH_NAME_MAX_LEN];
    ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<uint16_t>(pid), dev), 0);
    LogCapture log;
    auto dp = dp::Dataplane::create(one_port(dev, cfg::PortSide::Client), 2);
    ASSERT_TRUE(dp) << dp.status().message();
    EXPECT_FALSE((*dp)->owners().is_rss());
    EXPECT_NE(log.text().find("no RSS; software hand-off"), std::string::npos) << log.text();
    EXPECT_EQ((*dp)->shutdown(), 0u);
    dp->reset();
    for (int q = 0; q < 2; ++q) {
        rte_ring_free(rx[q]);
        rte_ring_free(tx[q]);
    }
}

}  // namespace
}  // namespace dirigo

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    // Not EalEnv: this test needs its own devices on the EAL command line.
    std::vector<std::string> args = {
        "rss_test",
        "-l",
        "0",
        "--no-huge",
        "--no-pci",
        "-m",
        "256",
        "--file-prefix=dirigo_rss_test_" + std::to_string(getpid()),
        "--log-level=*:warning",
    };
    std::vector<char*> av;
    for (auto& a : args) {
        av.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(av.size()), av.data()) < 0) {
        fprintf(stderr, "rss_test: EAL init failed\n");
        return 1;
    }
    // The start-up lines this test reads (NOTICE and WARNING), whatever `*:warning` set.
    rte_log_set_level(dirigo::dp::log_type(), RTE_LOG_INFO);
    const int rc = RUN_ALL_TESTS();
    const std::string runtime = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(runtime, ec);
    return rc;
}
