// SPDX-License-Identifier: BSD-3-Clause
#include "bench/traffic.hpp"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/ownership.hpp"
#include "dataplane/stats.hpp"

namespace dirigo::bench {

Templates::Templates(const rte_ether_addr& ext_mac, const rte_ether_addr& int_mac,
                     uint8_t to_vip_flags, uint8_t reply_flags) {
    to_vip.push_back(Template::make(tcp_frame(ext_mac, kGwMac, 0, 0, rte_cpu_to_be_32(kVip),
                                              rte_cpu_to_be_16(kPort), to_vip_flags, len),
                                    Patch::Src));
    for (uint32_t i = 0; i < kRealServers; ++i) {
        reply.push_back(Template::make(tcp_frame(int_mac, rs_mac(i), rte_cpu_to_be_32(kRsBase + i),
                                                 rte_cpu_to_be_16(kPort), 0, 0, reply_flags, len),
                                       Patch::Dst));
    }
}

Templates6::Templates6(const rte_ether_addr& ext_mac, const rte_ether_addr& int_mac,
                       uint8_t to_vip_flags, uint8_t reply_flags) {
    const Addr6 client = addr6(kClientNet6, 0);  // the low 32 bits patched per connection
    to_vip.push_back(Template6::make(
        tcp6_frame(ext_mac, kGwMac, client, 0, kVip6, rte_cpu_to_be_16(kPort), to_vip_flags, len),
        Patch::Src));
    for (uint32_t i = 0; i < kRealServers; ++i) {
        reply.push_back(
            Template6::make(tcp6_frame(int_mac, rs_mac(i), rs_addr6(i), rte_cpu_to_be_16(kPort),
                                       client, 0, reply_flags, len),
                            Patch::Dst));
    }
}

void LoopClock::tick(uint32_t n) noexcept {
    const uint64_t now = rte_rdtsc();
    if (last != 0 && !frozen) {
        const uint64_t d = now - last;
        // Relaxed single-writer bumps; the main lcore reads them with relaxed loads.
        if (d < limit) [[likely]] {
            dp::bump(busy_cycles, d);
            dp::bump(busy_pkts, last_n);
        } else {
            dp::bump(gaps);
        }
    }
    dp::bump(pkts, n);
    last = now;
    last_n = n;
}

bool FrameSource::attach(uint16_t port, uint16_t queue) {
    port_ = port;
    queue_ = queue;
    cb_ = rte_eth_add_rx_callback(port, queue, &FrameSource::on_rx, this);
    return cb_ != nullptr;
}

void FrameSource::detach() {
    if (cb_ != nullptr) {
        (void)rte_eth_remove_rx_callback(port_, queue_,
                                         static_cast<const rte_eth_rxtx_callback*>(cb_));
        cb_ = nullptr;
    }
}

void FrameSource::script(std::vector<FrameBytes> frames) {
    script_ = std::move(frames);
    next_ = 0;
    end_ = static_cast<uint32_t>(script_.size());
    done_.store(end_ == 0, std::memory_order_relaxed);
    feed_ = Feed::Script;
}

void FrameSource::stream(const std::vector<Template>& tmpl, bool by_rs,
                         const std::vector<uint32_t>& seq, size_t start) {
    tmpl_ = tmpl.data();
    tmpl6_ = nullptr;
    by_rs_ = by_rs;
    seq_ = seq.data();
    pos_ = start;
    done_.store(false, std::memory_order_relaxed);
    feed_ = Feed::Stream;
}

void FrameSource::stream(const std::vector<Template6>& tmpl, bool by_rs,
                         const std::vector<uint32_t>& seq, size_t start) {
    stream(std::vector<Template>{}, by_rs, seq, start);
    tmpl_ = nullptr;  // the empty vector's data() is gone: IPv6 frames only
    tmpl6_ = tmpl.data();
}

void FrameSource::range(const std::vector<Template>& tmpl, uint32_t first, uint32_t end,
                        const std::vector<uint8_t>* rs_of, const std::vector<uint32_t>* list) {
    tmpl_ = tmpl.data();
    tmpl6_ = nullptr;
    by_rs_ = rs_of != nullptr;
    rs_of_ = rs_of != nullptr ? rs_of->data() : nullptr;
    list_ = list != nullptr ? list->data() : nullptr;
    if (list != nullptr) {
        end = std::min<uint32_t>(end, static_cast<uint32_t>(list->size()));
    }
    next_ = first;
    end_ = end;
    done_.store(first >= end, std::memory_order_relaxed);
    feed_ = Feed::Range;
}

void FrameSource::range(const std::vector<Template6>& tmpl, uint32_t first, uint32_t end,
                        const std::vector<uint8_t>* rs_of, const std::vector<uint32_t>* list) {
    range(std::vector<Template>{}, first, end, rs_of, list);
    tmpl_ = nullptr;
    tmpl6_ = tmpl.data();
}

void FrameSource::opens(const std::vector<Template>& tmpl, uint32_t first, uint32_t end,
                        uint32_t block) {
    tmpl_ = tmpl.data();
    tmpl6_ = nullptr;
    by_rs_ = false;
    block_ = std::max<uint32_t>(block, 1);
    blk_first_ = first;
    blk_end_ = std::min(end, first + block_);
    next_ = first;
    end_ = end;
    phase_ = 0;
    done_.store(first >= end, std::memory_order_relaxed);
    feed_ = Feed::Opens;
}

uint16_t FrameSource::on_rx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t, void* arg) {
    return static_cast<FrameSource*>(arg)->fill(pkts, n);
}

template <class T>
uint16_t FrameSource::stamp(const T* tmpl, rte_mbuf** pkts, uint16_t n) noexcept {
    uint16_t k = 0;
    if (feed_ == Feed::Stream) {
        for (; k < n; ++k) {
            const uint32_t e = seq_[pos_++ & kSeqMask];
            const uint32_t f = e & kFlowMask;
            const T& t = tmpl[by_rs_ ? e >> kFlowBits : 0];
            t.write(rte_pktmbuf_mtod(pkts[k], uint8_t*), client_addr(f), client_port(f));
        }
        return k;
    }
    for (; k < n && next_ != end_; ++k) {
        const uint32_t f = list_ != nullptr ? list_[next_] : next_;
        ++next_;
        const T& t = tmpl[by_rs_ ? rs_of_[f] : 0];
        t.write(rte_pktmbuf_mtod(pkts[k], uint8_t*), client_addr(f), client_port(f));
    }
    return k;
}

uint16_t FrameSource::fill(rte_mbuf** pkts, uint16_t n) noexcept {
    uint16_t k = 0;
    switch (feed_) {
        case Feed::Off:
            break;
        case Feed::Stream:
            k = tmpl6_ != nullptr ? stamp(tmpl6_, pkts, n) : stamp(tmpl_, pkts, n);
            break;
        case Feed::Range:
            k = tmpl6_ != nullptr ? stamp(tmpl6_, pkts, n) : stamp(tmpl_, pkts, n);
            if (next_ == end_ && !done_.load(std::memory_order_relaxed)) {
                // The idle loops that follow are not the loop's cost per packet.
                clock_->tick(k);
                clock_->frozen = true;
                // Relaxed: the main lcore's done() only decides when to stop waiting; the stop
                // itself (rte_eal_wait_lcore) orders everything else.
                done_.store(true, std::memory_order_relaxed);
                rte_pktmbuf_free_bulk(pkts + k, n - k);
                return k;
            }
            break;
        case Feed::Opens:
            for (; k < n && blk_first_ < end_; ++k) {
                const uint32_t f = next_++;
                tmpl_[phase_].write(rte_pktmbuf_mtod(pkts[k], uint8_t*), client_addr(f),
                                    client_port(f));
                if (next_ == blk_end_) {
                    // The block's next packet, or the next block.
                    if (++phase_ == 3) {
                        phase_ = 0;
                        blk_first_ = blk_end_;
                        blk_end_ = std::min(end_, blk_first_ + block_);
                    }
                    next_ = blk_first_;
                }
            }
            if (blk_first_ >= end_ && !done_.load(std::memory_order_relaxed)) {
                // As Range: the idle loops that follow are not charged.
                clock_->tick(k);
                clock_->frozen = true;
                done_.store(true, std::memory_order_relaxed);
                rte_pktmbuf_free_bulk(pkts + k, n - k);
                return k;
            }
            break;
        case Feed::Script:
            for (; k < n && next_ != end_; ++k) {
                const FrameBytes& f = script_[next_++];
                rte_mbuf* m = pkts[k];
                std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), f.b.data(), f.len);
                m->data_len = f.len;
                m->pkt_len = f.len;
            }
            if (next_ == end_) {
                done_.store(true, std::memory_order_relaxed);
            }
            break;
    }
    if (k < n) {
        rte_pktmbuf_free_bulk(pkts + k, n - k);
    }
    clock_->tick(k);
    return k;
}

bool RsTap::attach(uint16_t port, uint16_t queue) {
    port_ = port;
    queue_ = queue;
    cb_ = rte_eth_add_tx_callback(port, queue, &RsTap::on_tx, this);
    return cb_ != nullptr;
}

void RsTap::detach() {
    if (cb_ != nullptr) {
        (void)rte_eth_remove_tx_callback(port_, queue_,
                                         static_cast<const rte_eth_rxtx_callback*>(cb_));
        cb_ = nullptr;
    }
}

uint16_t RsTap::on_tx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* arg) {
    auto* self = static_cast<RsTap*>(arg);
    for (uint16_t i = 0; i < n; ++i) {
        const uint8_t* p = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
        uint16_t type;
        std::memcpy(&type, p + 12, 2);
        const bool v6 = type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
        uint32_t saddr;
        uint32_t daddr;
        uint16_t sport;
        // IPv6: the low 32 bits of each address (the client's are its IPv4 twin's address).
        std::memcpy(&saddr, p + kIpOff + (v6 ? 8 + 12 : 12), 4);
        std::memcpy(&daddr, p + kIpOff + (v6 ? 24 + 12 : 16), 4);
        std::memcpy(&sport, p + (v6 ? kL4Off6 : kL4Off), 2);
        const uint32_t rs = rte_be_to_cpu_32(daddr) - (v6 ? 0x11u : kRsBase);
        const uint32_t f = flow_of(saddr, sport);
        if (rs < kRealServers && f < self->rs_of_->size()) {
            (*self->rs_of_)[f] = static_cast<uint8_t>(rs);
            ++self->seen_;
        }
    }
    return n;
}

std::vector<uint32_t> stream_sequence(uint32_t conns, Popularity pop,
                                      const std::vector<uint8_t>& rs_of, uint64_t seed) {
    std::vector<uint32_t> seq = flow_sequence(conns, pop, kSeqLen, seed);
    for (uint32_t& e : seq) {
        e |= static_cast<uint32_t>(rs_of[e]) << kFlowBits;
    }
    return seq;
}

std::vector<uint32_t> owned_sequence(const std::vector<uint32_t>& seq, uint32_t w,
                                     uint32_t workers) {
    std::vector<uint32_t> mine;
    mine.reserve(kSeqLen);
    for (uint32_t e : seq) {
        const uint32_t f = e & kFlowMask;
        if (dp::flow_owner(client_addr(f), client_port(f), workers) == w) {
            mine.push_back(e);
        }
    }
    if (mine.empty()) {
        return mine;
    }
    const size_t n = mine.size();
    for (size_t i = 0; mine.size() < kSeqLen; ++i) {
        mine.push_back(mine[i % n]);
    }
    mine.resize(kSeqLen);
    return mine;
}

std::vector<uint32_t> owned_connections(uint32_t conns, uint32_t w, uint32_t workers) {
    std::vector<uint32_t> mine;
    for (uint32_t f = 0; f < conns; ++f) {
        if (dp::flow_owner(client_addr(f), client_port(f), workers) == w) {
            mine.push_back(f);
        }
    }
    return mine;
}

}  // namespace dirigo::bench
