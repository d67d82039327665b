// SPDX-License-Identifier: BSD-3-Clause
#include "bench/baselines.hpp"

#include <cstring>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/stats.hpp"
#include "dataplane/worker.hpp"

namespace dirigo::bench {
namespace {

void swap_macs(rte_ether_hdr* eth) noexcept {
    rte_ether_addr a;
    rte_ether_addr_copy(&eth->dst_addr, &a);
    rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
    rte_ether_addr_copy(&a, &eth->src_addr);
}

/// testpmd's macswap: new MACs, and the header lengths a TX offload would need.
void macswap(rte_mbuf** pkts, uint16_t n) noexcept {
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        swap_macs(rte_pktmbuf_mtod(m, rte_ether_hdr*));
        m->l2_len = sizeof(rte_ether_hdr);
        m->l3_len = sizeof(rte_ipv4_hdr);
    }
}

/// testpmd's 5tswap: swap source and destination at layers 2, 3 and 4.
void five_tuple_swap(rte_mbuf** pkts, uint16_t n) noexcept {
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
        swap_macs(eth);
        m->l2_len = sizeof(rte_ether_hdr);
        if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
            continue;
        }
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
        const uint32_t s = ip->src_addr;
        ip->src_addr = ip->dst_addr;
        ip->dst_addr = s;
        m->l3_len = rte_ipv4_hdr_len(ip);
        if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
            uint8_t* l4 = reinterpret_cast<uint8_t*>(ip) + m->l3_len;
            uint16_t sp;
            uint16_t dpt;
            std::memcpy(&sp, l4, 2);
            std::memcpy(&dpt, l4 + 2, 2);
            std::memcpy(l4, &dpt, 2);
            std::memcpy(l4 + 2, &sp, 2);
        }
    }
}

template <Baseline B>
void loop(BaselineCtx& c) noexcept {
    rte_mbuf* pkts[dp::kBurst];
    while (!c.stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 2; ++i) {
            const uint16_t n = rte_eth_rx_burst(c.ports[i], 0, pkts, dp::kBurst);
            if (n == 0) {
                continue;
            }
            if constexpr (B == Baseline::Macswap) {
                macswap(pkts, n);
            } else if constexpr (B == Baseline::FiveTupleSwap) {
                five_tuple_swap(pkts, n);
            }
            const uint16_t sent = rte_eth_tx_burst(c.ports[i ^ 1], 0, pkts, n);
            if (sent < n) [[unlikely]] {
                dp::bump(c.tx_full, n - sent);
                rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            }
        }
    }
}

}  // namespace

std::string_view baseline_name(Baseline b) {
    switch (b) {
        case Baseline::Io:
            return "io";
        case Baseline::Macswap:
            return "macswap";
        case Baseline::FiveTupleSwap:
            return "5tswap";
    }
    return "?";
}

int baseline_main(void* arg) {
    auto& c = *static_cast<BaselineCtx*>(arg);
    // Chosen once: each variant is its own loop, as testpmd's forwarding engines are.
    switch (c.kind) {
        case Baseline::Io:
            loop<Baseline::Io>(c);
            break;
        case Baseline::Macswap:
            loop<Baseline::Macswap>(c);
            break;
        case Baseline::FiveTupleSwap:
            loop<Baseline::FiveTupleSwap>(c);
            break;
    }
    return 0;
}

}  // namespace dirigo::bench
