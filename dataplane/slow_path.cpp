// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/slow_path.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/addr.hpp"
#include "dataplane/checksum.hpp"
#include "dataplane/nd.hpp"

namespace dirigo::dp {
namespace {

constexpr uint32_t kMinFrame = 60;  // Ethernet minimum without FCS
constexpr uint8_t kIcmpDestUnreach = 3;
constexpr uint8_t kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmpFragNeeded = 4;

bool is_icmp_error(uint8_t type) {
    return type == kIcmpDestUnreach || type == 4 /* source quench */ || type == 5 ||
           type == kIcmpTimeExceeded || type == 12 /* parameter problem */;
}

}  // namespace

// ---- Neighbour resolution, one code path for ARP and ND -----------------------------------------

template <class F>
SlowPath::Family<F> SlowPath::family() {
    if constexpr (std::is_same_v<F, Fam4>) {
        return {v4_, dp_.neigh(), stats_.neigh_learned, stats_.neigh_failed,
                stats_.neigh_removed};
    } else {
        return {v6_, dp_.neigh6(), stats_.neigh6_learned, stats_.neigh6_failed,
                stats_.neigh6_removed};
    }
}

template <class F>
void SlowPath::queue_for_neighbour(rte_mbuf* m, const typename F::Addr& hop, uint16_t port) {
    Family<F> f = family<F>();
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    if (f.table.lookup(key_of(hop), &eth->dst_addr)) {
        m->port = port;
        inject(m);
        return;
    }
    auto [it, fresh] = f.res.pending.try_emplace(hop);
    Pending& p = it->second;
    if (fresh) {
        p.port = port;
        // An incomplete entry makes the answer learnable (handle_arp, handle_nd); a failed one is
        // asked again, as Linux does when new traffic needs it.
        (void)f.table.update(hop, port, nullptr);
        f.res.failed.erase(hop);
    }
    if (p.pkts.size() >= kMaxPending) {
        rte_pktmbuf_free(p.pkts.front());
        p.pkts.pop_front();
        ++stats_.queue_drops;
    }
    m->port = port;
    p.pkts.push_back(m);
    if (p.tries == 0) {
        solicit(port, hop);
        p.tries = 1;
        p.next_try = rte_rdtsc() + dp_.tsc_hz();
    }
}

template <class F>
void SlowPath::heard_from(const typename F::Addr& ip, uint16_t port) {
    Family<F> f = family<F>();
    ++f.learned;
    f.res.heard[ip] = Heard{port, rte_rdtsc(), 0, 0};
    f.res.failed.erase(ip);
    auto it = f.res.pending.find(ip);
    if (it == f.res.pending.end()) {
        return;
    }
    rte_ether_addr mac;
    if (!f.table.lookup(key_of(ip), &mac)) {
        return;
    }
    for (rte_mbuf* m : it->second.pkts) {
        rte_ether_addr_copy(&mac, &rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr);
        ++stats_.released;
        inject(m);
    }
    f.res.pending.erase(it);
}

template <class F>
void SlowPath::mark_failed(const typename F::Addr& ip, uint64_t now) {
    Family<F> f = family<F>();
    f.table.mark_failed(ip);
    ++f.failed;
    f.res.failed[ip] = now + kFailedHoldSeconds * dp_.tsc_hz();
}

template <class F>
void SlowPath::age(uint64_t now) {
    Family<F> f = family<F>();
    const uint64_t hz = dp_.tsc_hz();
    for (auto it = f.res.heard.begin(); it != f.res.heard.end();) {
        Heard& h = it->second;
        if (now - h.at < arp_timeout_ * hz || now < h.next_probe) {
            ++it;
            continue;
        }
        if (h.probes >= kArpTries) {
            ++stats_.neigh_expired;
            mark_failed<F>(it->first, now);
            it = f.res.heard.erase(it);
            continue;
        }
        solicit(h.port, it->first);
        ++stats_.probes_sent;
        ++h.probes;
        h.next_probe = now + hz;
        ++it;
    }
}

template <class F>
void SlowPath::expire_failed(uint64_t now) {
    Family<F> f = family<F>();
    for (auto it = f.res.failed.begin(); it != f.res.failed.end();) {
        if (now < it->second) {
            ++it;
            continue;
        }
        f.table.remove(it->first);
        ++f.removed;
        it = f.res.failed.erase(it);
    }
}

template <class F>
void SlowPath::retry_pending(uint64_t now) {
    Family<F> f = family<F>();
    for (auto it = f.res.pending.begin(); it != f.res.pending.end();) {
        Pending& p = it->second;
        if (now < p.next_try) {
            ++it;
            continue;
        }
        if (p.tries >= kArpTries) {
            for (rte_mbuf* m : p.pkts) {
                rte_pktmbuf_free(m);
                ++stats_.unresolved_drops;
            }
            mark_failed<F>(it->first, now);
            it = f.res.pending.erase(it);
            continue;
        }
        solicit(p.port, it->first);
        ++p.tries;
        p.next_try = now + dp_.tsc_hz();
        ++it;
    }
}

template <class F>
void SlowPath::drop_pending() {
    Family<F> f = family<F>();
    for (auto& [ip, p] : f.res.pending) {
        for (rte_mbuf* m : p.pkts) {
            rte_pktmbuf_free(m);
        }
    }
    f.res.pending.clear();
}

void SlowPath::solicit(uint16_t port, uint32_t ip) { send_arp_request(port, ip); }

void SlowPath::solicit(uint16_t port, const cfg::Ip6& ip) { send_ns(port, ip); }

SlowPath::~SlowPath() { clear(); }

void SlowPath::clear() {
    drop_pending<Fam4>();
    drop_pending<Fam6>();
}

uint32_t SlowPath::poll() {
    rte_mbuf* pkts[32];
    const unsigned n = rte_ring_sc_dequeue_burst(dp_.slow_ring(), reinterpret_cast<void**>(pkts),
                                                 32, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        const SlowMeta meta = *slow_meta(pkts[i]);
        switch (meta.kind) {
        case SlowKind::Arp:
            handle_arp(pkts[i]);
            break;
        case SlowKind::NeedNeigh:
            queue_for_neighbour<Fam4>(pkts[i], meta.next_hop, meta.out_port);
            break;
        case SlowKind::TtlExceeded:
            icmp_error(pkts[i], kIcmpTimeExceeded, 0, 0);
            break;
        case SlowKind::FragNeeded:
            // RFC 1191: the next-hop MTU sits in the low 16 bits of the header's second word.
            icmp_error(pkts[i], kIcmpDestUnreach, kIcmpFragNeeded, meta.next_hop & 0xffffu);
            break;
        case SlowKind::Nd:
            handle_nd(pkts[i]);
            break;
        case SlowKind::NeedNeigh6:
            route_need_neigh6(pkts[i], static_cast<uint16_t>(meta.next_hop));
            break;
        case SlowKind::NeedNeighDr6:
            route_need_neigh_dr6(pkts[i], static_cast<uint16_t>(meta.next_hop));
            break;
        case SlowKind::TimeExceeded6:
            icmp6_error(pkts[i], nd::kTimeExceeded, 0, 0);  // code 0: hop limit exceeded
            break;
        case SlowKind::TooBig6:
            icmp6_error(pkts[i], nd::kPacketTooBig, 0, meta.next_hop);
            break;
        default:
            rte_pktmbuf_free(pkts[i]);
            break;
        }
    }
    run_timers();
    return n;
}

void SlowPath::handle_arp(rte_mbuf* m) {
    ++stats_.arp_in;
    const Topology& topo = *dp_.topology();
    const uint16_t port = m->port;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    const bool well_formed = arp->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
                             arp->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
                             arp->arp_hlen == RTE_ETHER_ADDR_LEN && arp->arp_plen == 4;
    if (!well_formed || port >= topo.ports.size() || topo.ports[port].name.empty()) {
        rte_pktmbuf_free(m);
        return;
    }
    const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
    const uint32_t sip = arp->arp_data.arp_sip;
    const uint32_t tip = arp->arp_data.arp_tip;
    const bool for_us = topo.local_port(tip) == port;
    // Learn like Linux: update a known neighbour from any ARP, create one when it talks to us.
    if (sip != 0 && topo.connected_port(sip) == port && (for_us || dp_.neigh().contains(sip))) {
        if (dp_.neigh().update(sip, port, &arp->arp_data.arp_sha)) {
            heard_from<Fam4>(sip, port);
        }
    }
    if (op == RTE_ARP_OP_REQUEST && for_us) {
        const rte_ether_addr& mine = topo.ports[port].mac;
        arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
        rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
        arp->arp_data.arp_tip = sip;
        rte_ether_addr_copy(&mine, &arp->arp_data.arp_sha);
        arp->arp_data.arp_sip = tip;
        rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
        rte_ether_addr_copy(&mine, &eth->src_addr);
        m->port = port;
        ++stats_.arp_replies_sent;
        inject(m);
        return;
    }
    // The rest (replies, announcements, requests for others) also goes up to the kernel, which
    // learns its own neighbours from them; it answers no request itself (docs/host-integration.md).
    to_kernel(m);
}

void SlowPath::to_kernel(rte_mbuf* m) {
    rte_ring* r = dp_.host_ring(m->port);
    if (r == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    if (rte_ring_mp_enqueue(r, m) != 0) {
        ++stats_.arp_up_full;
        rte_pktmbuf_free(m);
        return;
    }
    ++stats_.arp_up;
}

void SlowPath::nd_to_kernel(rte_mbuf* m) {
    rte_ring* r = dp_.host_ring(m->port);
    if (r == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    if (rte_ring_mp_enqueue(r, m) != 0) {
        ++stats_.nd_up_full;
        rte_pktmbuf_free(m);
        return;
    }
    ++stats_.nd_up;
}

// ---- IPv6: neighbour discovery, resolution, ICMPv6 errors -------------------------------------

namespace {

cfg::Ip6 ip6_of(const uint8_t* a) {
    cfg::Ip6 ip;
    std::memcpy(ip.b.data(), a, 16);
    return ip;
}

/// Makes single-segment `m` exactly `len` bytes long; false when it cannot grow that far.
bool resize(rte_mbuf* m, uint16_t len) {
    const uint16_t cur = rte_pktmbuf_data_len(m);
    if (cur > len) {
        return rte_pktmbuf_trim(m, static_cast<uint16_t>(cur - len)) == 0;
    }
    return cur == len || rte_pktmbuf_append(m, static_cast<uint16_t>(len - cur)) != nullptr;
}

/// Fills the fixed IPv6 header of what the slow path sends.
void ip6_header(rte_ipv6_hdr* ip6, uint32_t payload, uint8_t hop_limit, const uint8_t* src,
                const uint8_t* dst) {
    ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip6->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(payload));
    ip6->proto = IPPROTO_ICMPV6;
    ip6->hop_limits = hop_limit;
    std::memcpy(ip6->src_addr, src, 16);
    std::memcpy(ip6->dst_addr, dst, 16);
}

}  // namespace

void SlowPath::handle_nd(rte_mbuf* m) {
    ++stats_.nd_in;
    const Topology& topo = *dp_.topology();
    const uint16_t port = m->port;
    if (port >= kMaxPorts || topo.ports[port].name.empty()) {
        rte_pktmbuf_free(m);
        return;
    }
    // The worker validated the message (nd::valid_nd): lengths, options, checksum.
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    auto* l4 = reinterpret_cast<uint8_t*>(ip6 + 1);
    const uint32_t len = rte_be_to_cpu_16(ip6->payload_len);
    const cfg::Ip6 target = ip6_of(l4 + 8);
    const cfg::Ip6 src = ip6_of(ip6->src_addr);
    const bool ours = topo.local6_port(target.b.data()) == port;
    if (l4[0] == nd::kNeighAdvert) {
        if (topo.local6_port(target.b.data()) >= 0) {
            // Another node claims one of our addresses: keep ours, count it (no DAD defence).
            ++stats_.nd_conflicts;
            rte_pktmbuf_free(m);
            return;
        }
        const rte_ether_addr* tll = nd::find_lladdr(l4, len, nd::kOptTargetLladdr);
        // Learn like the ARP side: update a neighbour we know or asked about.
        if (tll != nullptr && dp_.neigh6().contains(target) &&
            dp_.neigh6().update(target, port, tll)) {
            heard_from<Fam6>(target, port);
        }
        nd_to_kernel(m);  // the kernel may have asked too (its own link-local neighbours)
        return;
    }
    // A solicitation. Not for one of our addresses on this port: the kernel's (its link-local).
    if (!ours) {
        nd_to_kernel(m);
        return;
    }
    const bool dad = src.is_unspecified();
    if (!dad) {
        const rte_ether_addr* sll = nd::find_lladdr(l4, len, nd::kOptSourceLladdr);
        if (sll != nullptr && dp_.neigh6().update(src, port, sll)) {
            heard_from<Fam6>(src, port);
        }
    }
    // The advertisement, in place: from the target, to the solicitor, or to all nodes when it
    // probed for a duplicate from :: (RFC 4861 7.2.4: then not "solicited").
    constexpr uint32_t kNaLen = nd::kNdLen + nd::kLladdrOptLen;
    constexpr auto kFrame = static_cast<uint16_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) +
                                                  kNaLen);
    const rte_ether_addr& mine = topo.ports[port].mac;
    if (m->nb_segs != 1 || !resize(m, kFrame)) {
        ++stats_.no_mbuf;
        rte_pktmbuf_free(m);
        return;
    }
    uint8_t dst[16];
    if (dad) {
        static constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                                  0,    0,    0, 0, 0, 0, 0, 1};
        std::memcpy(dst, kAllNodes, 16);
        nd::multicast_mac(dst, &eth->dst_addr);
    } else {
        std::memcpy(dst, ip6->src_addr, 16);
        rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
    }
    rte_ether_addr_copy(&mine, &eth->src_addr);
    ip6_header(ip6, kNaLen, nd::kNdHopLimit, target.b.data(), dst);
    l4[0] = nd::kNeighAdvert;
    l4[1] = 0;
    l4[4] = static_cast<uint8_t>((dad ? 0 : nd::kNaSolicited) | nd::kNaOverride);
    l4[5] = l4[6] = l4[7] = 0;
    // l4[8..23] is the target already.
    l4[nd::kNdLen] = nd::kOptTargetLladdr;
    l4[nd::kNdLen + 1] = 1;
    std::memcpy(l4 + nd::kNdLen + 2, mine.addr_bytes, RTE_ETHER_ADDR_LEN);
    nd::set_checksum(ip6, l4, kNaLen);
    m->ol_flags = 0;
    m->port = port;
    ++stats_.na_sent;
    inject(m);
}

void SlowPath::route_need_neigh6(rte_mbuf* m, uint16_t port) {
    const Topology& topo = *dp_.topology();
    const auto* ip6 = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, sizeof(rte_ether_hdr));
    const NextHop6* nh = topo.route6(ip6->dst_addr);
    if (nh == nullptr || nh->port != port) {
        // The topology changed since the worker routed it: route it as it is now.
        if (nh == nullptr) {
            ++stats_.no_route6;
            rte_pktmbuf_free(m);
            return;
        }
        rte_ether_addr_copy(&topo.ports[nh->port].mac,
                            &rte_pktmbuf_mtod(m, rte_ether_hdr*)->src_addr);
    }
    queue_for_neighbour<Fam6>(m, nh->gateway.is_unspecified() ? ip6_of(ip6->dst_addr) : nh->gateway,
                       nh->port);
}

void SlowPath::route_need_neigh_dr6(rte_mbuf* m, uint16_t port) {
    // The worker put the real server's address in front of the frame: its destination is the
    // VIP, which routes nowhere useful. The server is on the link (the worker checked).
    cfg::Ip6 target;
    std::memcpy(target.b.data(), rte_pktmbuf_mtod(m, const uint8_t*), 16);
    if (rte_pktmbuf_adj(m, 16) == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    queue_for_neighbour<Fam6>(m, target, port);
}

void SlowPath::send_ns(uint16_t port, const cfg::Ip6& target) {
    const Topology& topo = *dp_.topology();
    cfg::Ip6 src;
    if (!topo.source6_for(port, target.b.data(), src)) {
        return;  // no IPv6 address on the port to ask from
    }
    rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool());
    if (m == nullptr) {
        ++stats_.no_mbuf;
        return;
    }
    constexpr uint32_t kNsLen = nd::kNdLen + nd::kLladdrOptLen;
    constexpr auto kFrame = static_cast<uint16_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) +
                                                  kNsLen);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, kFrame));
    if (eth == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    std::memset(eth, 0, kFrame);
    uint8_t group[16];
    nd::solicited_node(target.b.data(), group);
    nd::multicast_mac(group, &eth->dst_addr);
    const rte_ether_addr& mine = topo.ports[port].mac;
    rte_ether_addr_copy(&mine, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    ip6_header(ip6, kNsLen, nd::kNdHopLimit, src.b.data(), group);
    auto* l4 = reinterpret_cast<uint8_t*>(ip6 + 1);
    l4[0] = nd::kNeighSolicit;
    std::memcpy(l4 + 8, target.b.data(), 16);
    l4[nd::kNdLen] = nd::kOptSourceLladdr;
    l4[nd::kNdLen + 1] = 1;
    std::memcpy(l4 + nd::kNdLen + 2, mine.addr_bytes, RTE_ETHER_ADDR_LEN);
    nd::set_checksum(ip6, l4, kNsLen);
    m->port = port;
    ++stats_.ns_sent;
    inject(m);
}

void SlowPath::icmp6_error(rte_mbuf* in, uint8_t type, uint8_t code, uint32_t param) {
    const Topology& topo = *dp_.topology();
    const uint16_t rx_port = in->port;
    const auto* in_eth = rte_pktmbuf_mtod(in, const rte_ether_hdr*);
    const auto* oip = reinterpret_cast<const rte_ipv6_hdr*>(in_eth + 1);
    const uint32_t l3 = static_cast<uint32_t>(sizeof(rte_ipv6_hdr)) +
                        rte_be_to_cpu_16(oip->payload_len);
    const auto* ol4 = reinterpret_cast<const uint8_t*>(oip + 1);
    cfg::Ip6 src;
    // RFC 4443 2.4: never about an ICMPv6 error, nor about a packet from :: or a multicast
    // source, nor (but for packet too big) one sent to a multicast group or in a link-layer
    // multicast; a source address of the port it came in on to send from; and under the rate
    // limit ICMP errors share.
    bool answer = rx_port < kMaxPorts && !topo.ports[rx_port].name.empty() &&
                  topo.source6_for(rx_port, oip->src_addr, src);
    if (answer && oip->proto == IPPROTO_ICMPV6 && l3 > sizeof(rte_ipv6_hdr)) {
        answer = ol4[0] >= 128;  // 0-127 are errors
    }
    if (!answer) {
        rte_pktmbuf_free(in);
        return;
    }
    if (nd::is_unspecified(oip->src_addr) || oip->src_addr[0] == 0xff ||
        (type != nd::kPacketTooBig &&
         (oip->dst_addr[0] == 0xff || rte_is_multicast_ether_addr(&in_eth->dst_addr)))) {
        ++stats_.icmp_suppressed;
        rte_pktmbuf_free(in);
        return;
    }
    if (!icmp_tokens_.take(rte_rdtsc(), dp_.tsc_hz())) {
        ++stats_.icmp_rate_limited;
        rte_pktmbuf_free(in);
        return;
    }
    // As much of the packet as fits in the minimum MTU (RFC 4443 2.4 (c)), from its first
    // segment (which holds at least its headers).
    constexpr uint32_t kRoom = nd::kMinMtu - sizeof(rte_ipv6_hdr) - 8;
    const uint32_t in_first = rte_pktmbuf_data_len(in) - static_cast<uint32_t>(sizeof(rte_ether_hdr));
    const uint32_t quote = std::min({l3, kRoom, in_first});
    rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool());
    if (m == nullptr) {
        ++stats_.no_mbuf;
        rte_pktmbuf_free(in);
        return;
    }
    const uint32_t icmp_len = 8 + quote;
    const uint32_t len = static_cast<uint32_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr)) +
                         icmp_len;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
    if (eth == nullptr) {
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(in);
        return;
    }
    std::memset(eth, 0, len);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    ip6_header(ip6, icmp_len, nd::kHopLimit, src.b.data(), oip->src_addr);
    auto* l4 = reinterpret_cast<uint8_t*>(ip6 + 1);
    l4[0] = type;
    l4[1] = code;
    const uint32_t param_be = rte_cpu_to_be_32(param);
    std::memcpy(l4 + 4, &param_be, 4);
    std::memcpy(l4 + 8, oip, quote);
    nd::set_checksum(ip6, l4, icmp_len);
    rte_pktmbuf_free(in);
    // Out through the routing table, as every packet of ours.
    const NextHop6* nh = topo.route6(ip6->dst_addr);
    if (nh == nullptr) {
        ++stats_.no_route6;
        rte_pktmbuf_free(m);
        return;
    }
    ++stats_.icmp6_sent;
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &eth->src_addr);
    queue_for_neighbour<Fam6>(m, nh->gateway.is_unspecified() ? ip6_of(ip6->dst_addr) : nh->gateway,
                       nh->port);
}

void SlowPath::announce(uint16_t port, uint32_t addr) {
    ++stats_.garp_sent;
    send_arp(port, addr, addr);
}

void SlowPath::run_timers() {
    const uint64_t now = rte_rdtsc();
    if (now >= next_aging_) {
        // Once a second is plenty: the timeouts are in seconds.
        next_aging_ = now + dp_.tsc_hz();
        age<Fam4>(now);
        expire_failed<Fam4>(now);
        age<Fam6>(now);
        expire_failed<Fam6>(now);
    }
    retry_pending<Fam6>(now);
    retry_pending<Fam4>(now);
}

void SlowPath::send_arp_request(uint16_t port, uint32_t target) {
    ++stats_.arp_requests_sent;
    send_arp(port, dp_.topology()->source_for(port, target), target);
}

void SlowPath::send_arp(uint16_t port, uint32_t sip, uint32_t tip) {
    rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool());
    if (m == nullptr) {
        ++stats_.no_mbuf;
        return;
    }
    const Topology& topo = *dp_.topology();
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, kMinFrame));
    if (eth == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    std::memset(eth, 0, kMinFrame);
    std::memset(eth->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
    rte_ether_addr_copy(&topo.ports[port].mac, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    rte_ether_addr_copy(&topo.ports[port].mac, &arp->arp_data.arp_sha);
    arp->arp_data.arp_sip = sip;
    arp->arp_data.arp_tip = tip;
    m->port = port;
    inject(m);
}

void SlowPath::icmp_error(rte_mbuf* in, uint8_t type, uint8_t code, uint32_t rest) {
    const Topology& topo = *dp_.topology();
    const uint16_t rx_port = in->port;
    const auto* oip =
        reinterpret_cast<const rte_ipv4_hdr*>(rte_pktmbuf_mtod(in, uint8_t*) + sizeof(rte_ether_hdr));
    const uint32_t ihl = static_cast<uint32_t>(oip->version_ihl & 0x0f) * 4;
    const uint32_t l3 = rte_be_to_cpu_16(oip->total_length);
    bool answer = rx_port < topo.ports.size() && !topo.ports[rx_port].name.empty();
    if (answer && oip->next_proto_id == IPPROTO_ICMP && l3 >= ihl + 1) {
        // Never an ICMP error about an ICMP error (RFC 1122 3.2.2).
        answer = !is_icmp_error(*(reinterpret_cast<const uint8_t*>(oip) + ihl));
    }
    if (!answer) {
        rte_pktmbuf_free(in);
        return;
    }
    // RFC 1812 4.3.2.7 (and Linux): never about a packet from an address that cannot be a host
    // (0.0.0.0, broadcast, multicast, loopback, class E) or that came in a link-layer broadcast;
    // and at most kIcmpBurst at once, kIcmpPerSecond on average, whatever the senders.
    const uint32_t src = rte_be_to_cpu_32(oip->src_addr);
    const auto* in_eth = rte_pktmbuf_mtod(in, const rte_ether_hdr*);
    if (src == 0 || src == 0xffffffffu || (src >> 28) >= 0xe || (src >> 24) == 127 ||
        rte_is_multicast_ether_addr(&in_eth->dst_addr) || topo.is_broadcast(src)) {
        ++stats_.icmp_suppressed;
        rte_pktmbuf_free(in);
        return;
    }
    if (!icmp_tokens_.take(rte_rdtsc(), dp_.tsc_hz())) {
        ++stats_.icmp_rate_limited;
        rte_pktmbuf_free(in);
        return;
    }
    const uint32_t quote = std::min(l3, ihl + 8);
    rte_mbuf* m = rte_pktmbuf_alloc(dp_.pool());
    if (m == nullptr) {
        ++stats_.no_mbuf;
        rte_pktmbuf_free(in);
        return;
    }
    const uint32_t len = static_cast<uint32_t>(sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) +
                                               sizeof(rte_icmp_hdr)) + quote;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(
        rte_pktmbuf_append(m, static_cast<uint16_t>(std::max(len, kMinFrame))));
    if (eth == nullptr) {
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(in);
        return;
    }
    std::memset(eth, 0, std::max(len, kMinFrame));
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0xc0;  // internetwork control, as Linux sends ICMP errors
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(rte_ether_hdr)));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = topo.source_for(rx_port, oip->src_addr);
    ip->dst_addr = oip->src_addr;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    const uint32_t rest_be = rte_cpu_to_be_32(rest);
    std::memcpy(&icmp->icmp_ident, &rest_be, 4);
    std::memcpy(icmp + 1, oip, quote);
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(*icmp) + quote));
    rte_pktmbuf_free(in);
    ++stats_.icmp_sent;
    send_ip(m);
}

void SlowPath::send_ip(rte_mbuf* m) {
    const Topology& topo = *dp_.topology();
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
    const NextHop* nh = topo.route(ip->dst_addr);
    if (nh == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    rte_ether_addr_copy(&topo.ports[nh->port].mac, &eth->src_addr);
    queue_for_neighbour<Fam4>(m, nh->gateway != 0 ? nh->gateway : ip->dst_addr, nh->port);
}

void SlowPath::inject(rte_mbuf* m) {
    // Single producer: only the control thread injects. Pairs with the worker's sc dequeue.
    if (rte_ring_sp_enqueue(dp_.inject_ring(), m) != 0) {
        ++stats_.inject_full;
        rte_pktmbuf_free(m);
    }
}

}  // namespace dirigo::dp
