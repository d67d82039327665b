// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// What the in-process dataplane tests share: the test network's MACs, EAL start-up for a test
// binary, and frames to and from mbufs. Each binary gets its own --file-prefix, so several can run
// side by side, and removes its runtime directory when it ends.

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "config/model.hpp"
#include "proto/protocol.hpp"
#include "tests/dataplane/packet_builder.hpp"

namespace dirigo::test {

inline const Mac kClientMac = {0x02, 0xcc, 0, 0, 0, 0x02};
inline const Mac kGwMac = {0x02, 0xcc, 0, 0, 0, 0xfe};
inline const Mac kRs1Mac = {0x02, 0x5e, 0, 0, 0, 0x11};
inline const Mac kRs2Mac = {0x02, 0x5e, 0, 0, 0, 0x12};
inline const Mac kBcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline const Mac kZero = {0, 0, 0, 0, 0, 0};
inline constexpr int kExt = 0;  ///< the client-facing port's index in a test
inline constexpr int kInt = 1;  ///< the real-server-facing port's index

/// Starts EAL for a test binary: `lcores` as --lcores, no hugepages, no PCI, nothing on disk.
class EalEnv : public ::testing::Environment {
public:
    EalEnv(std::string name, std::string lcores, std::string mem_mb)
        : name_(std::move(name)), lcores_(std::move(lcores)), mem_(std::move(mem_mb)) {}
    void SetUp() override {
        std::vector<std::string> args = {
            name_, "--lcores=" + lcores_, "--no-huge", "--no-pci", "-m", mem_,
            "--file-prefix=dirigo_" + name_ + "_" + std::to_string(getpid()),
            "--log-level=*:warning"};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0);
    }
    void TearDown() override {
        const std::string runtime = rte_eal_get_runtime_dir();
        rte_eal_cleanup();
        std::error_code ec;
        std::filesystem::remove_all(runtime, ec);
    }

private:
    std::string name_;
    std::string lcores_;
    std::string mem_;
};

inline Mac to_mac(const rte_ether_addr& a) {
    Mac m;
    std::copy(a.addr_bytes, a.addr_bytes + 6, m.begin());
    return m;
}

/// A frame copied into a fresh mbuf from `pool` (nullptr if the pool is empty).
inline rte_mbuf* to_mbuf(rte_mempool* pool, const Frame& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
        return nullptr;
    }
    char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(f.b.size()));
    if (d == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memcpy(d, f.b.data(), f.b.size());
    return m;
}

/// `f` as a chain of mbufs of at most `seg` bytes each (a NIC's scattered receive).
inline rte_mbuf* to_mbuf_chain(rte_mempool* pool, const Frame& f, uint16_t seg) {
    rte_mbuf* head = nullptr;
    for (size_t off = 0; off < f.b.size(); off += seg) {
        const auto len = static_cast<uint16_t>(std::min<size_t>(seg, f.b.size() - off));
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        char* d = m == nullptr ? nullptr : rte_pktmbuf_append(m, len);
        if (d == nullptr || (head != nullptr && rte_pktmbuf_chain(head, m) != 0)) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
        std::memcpy(d, f.b.data() + off, len);
        if (head == nullptr) {
            head = m;
        }
    }
    return head;
}

/// The frame an mbuf holds, every segment of it; frees the mbuf.
inline Frame take_frame(rte_mbuf* m) {
    Frame f;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
        f.b.insert(f.b.end(), p, p + rte_pktmbuf_data_len(s));
    }
    rte_pktmbuf_free(m);
    return f;
}

/// One control batch, as `ipvsadm -A ... -s SCHED` then `-a ... -r ADDR:RPORT` for each server:
/// service `key` and a real server per (address, template) pair, the template's address and
/// port filled in (`rport` 0: the service's port). Tests adjust the service's flags in
/// `batch[0]` before sending it.
inline ctl::Request service_batch(
    const cfg::ServiceKey& key, const char* sched,
    std::initializer_list<std::pair<const char*, cfg::RealServer>> servers, uint16_t rport = 0) {
    ctl::Request b;
    b.op = ctl::Op::Batch;
    ctl::Request a;
    a.op = ctl::Op::AddService;
    a.service.key = key;
    a.service.scheduler = sched;
    b.batch.push_back(a);
    for (const auto& [addr, server] : servers) {
        ctl::Request d;
        d.op = ctl::Op::AddDest;
        d.service.key = key;
        d.dest = server;
        d.dest.addr = ntohl(ip(addr));
        d.dest.port = rport != 0 ? rport : key.port;
        b.batch.push_back(d);
    }
    return b;
}

}  // namespace dirigo::test
