// SPDX-License-Identifier: BSD-3-Clause
#include "host/host.hpp"

#include <net/if.h>

#include <algorithm>
#include <fstream>

#include <rte_byteorder.h>
#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/addr.hpp"
#include "dataplane/log.hpp"

namespace dirigo::host {
namespace {

constexpr uint16_t kTapDesc = 512;
constexpr unsigned kPumpBurst = 64;
constexpr unsigned kPumpRounds = 32;  ///< bursts a round at most towards the kernel (2048 packets)

std::string dpdk_error(int err) { return rte_strerror(err < 0 ? -err : err); }

uint32_t mask_of(uint8_t len) { return cfg::prefix_mask(len); }

}  // namespace

Result<std::unique_ptr<Host>> Host::create(dp::Dataplane& dp, const cfg::Config& cfg) {
    std::unique_ptr<Host> h(new Host(dp, cfg));
    h->hz_ = rte_get_tsc_hz();
    if (Status s = h->nl_.open(); !s) {
        return Status(s.code(), "host integration: " + s.message());
    }
    h->base_ports_ = dp.topology()->ports;
    for (dp::PortInfo& p : h->base_ports_) {
        p.addrs.clear();
    }
    std::vector<uint16_t> pids;
    for (const cfg::PortCfg& pc : cfg.ports) {
        uint16_t pid = 0;
        if (rte_eth_dev_get_port_by_name(pc.device.c_str(), &pid) != 0) {
            return Status(Errc::Invalid, "port " + pc.name + ": no DPDK device " + pc.device);
        }
        if (Status s =
                h->add_tap(cfg::kernel_name(pc), "port " + pc.name, pid, pid, pc.mtu, pc.addresses,
                           !pc.addresses6.empty());
            !s) {
            return s;
        }
        pids.push_back(pid);
    }
    // Then each port's VLANs, a tap each.
    for (size_t i = 0; i < cfg.ports.size(); ++i) {
        const cfg::PortCfg& pc = cfg.ports[i];
        for (const cfg::VlanCfg& v : pc.vlans) {
            const uint16_t iface = dp.topology()->vlan_iface(pids[i], v.id);
            if (iface == 0) {
                return Status(Errc::Internal, "VLAN " + cfg::vlan_name(pc, v.id) +
                                                  ": not among the dataplane's interfaces");
            }
            if (Status s =
                    h->add_tap(cfg::vlan_kernel_name(pc, v.id), "VLAN " + cfg::vlan_name(pc, v.id),
                               iface, pids[i], pc.mtu, v.addresses, false);
                !s) {
                return s;
            }
        }
    }
    if (Status s = h->push_config(true, 0); !s) {
        return s;
    }
    if (Status s = h->nl_.resync(h->kernel_); !s) {
        return Status(s.code(), "host integration: reading the kernel's addresses: " + s.message());
    }
    h->rebuild(nullptr);
    if (!h->topo_error_.empty()) {
        return Status(Errc::Invalid, "host integration: " + h->topo_error_);
    }
    h->built_version_ = h->kernel_.version;
    return h;
}

Host::~Host() {
    for (Tap& t : taps_) {
        (void)rte_eth_dev_stop(t.tap_port);
        (void)rte_eth_dev_close(t.tap_port);
        (void)rte_vdev_uninit(t.vdev.c_str());
    }
}

Status Host::add_tap(const std::string& iface, const std::string& owner, uint16_t port,
                     uint16_t mac_port, uint16_t mtu, const std::vector<cfg::Prefix>& addresses,
                     bool ipv6) {
    const std::string what = owner + ": kernel interface " + iface;
    rte_ether_addr mac{};
    if (int rc = rte_eth_macaddr_get(mac_port, &mac); rc != 0) {
        return Status(Errc::Io, what + ": MAC: " + dpdk_error(rc));
    }
    char mac_text[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac_text, sizeof(mac_text), &mac);
    if (if_nametoindex(iface.c_str()) != 0) {
        return Status(Errc::Invalid, what + ": an interface of that name already exists (set "
                                           "kernel_name, or remove it)");
    }
    Tap t;
    t.port = port;
    t.owner = owner;
    t.addresses = addresses;
    t.vdev = "net_tap_dirigo" + std::to_string(port);
    const std::string args = "iface=" + iface + ",mac=" + mac_text;
    if (int rc = rte_vdev_init(t.vdev.c_str(), args.c_str()); rc != 0) {
        return Status(Errc::Io, what + ": cannot create it (net_tap " + args + "): " +
                                    dpdk_error(rc) + " (is /dev/net/tun there?)");
    }
    if (rte_eth_dev_get_port_by_name(t.vdev.c_str(), &t.tap_port) != 0) {
        return Status(Errc::Io, what + ": net_tap created no port");
    }
    taps_.push_back(t);  // from here on, the destructor closes it
    Tap& tap = taps_.back();
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(tap.tap_port, 1, 1, &conf); rc != 0) {
        return Status(Errc::Io, what + ": configure: " + dpdk_error(rc));
    }
    const int socket = static_cast<int>(rte_socket_id());
    if (int rc = rte_eth_rx_queue_setup(tap.tap_port, 0, kTapDesc, socket, nullptr, dp_.pool());
        rc != 0) {
        return Status(Errc::Io, what + ": rx queue: " + dpdk_error(rc));
    }
    if (int rc = rte_eth_tx_queue_setup(tap.tap_port, 0, kTapDesc, socket, nullptr); rc != 0) {
        return Status(Errc::Io, what + ": tx queue: " + dpdk_error(rc));
    }
    if (mtu != 1500) {
        (void)rte_eth_dev_set_mtu(tap.tap_port, mtu);
    }
    if (int rc = rte_eth_dev_start(tap.tap_port); rc != 0) {
        return Status(Errc::Io, what + ": start: " + dpdk_error(rc));
    }
    tap.view.iface = iface;
    tap.view.ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (tap.view.ifindex == 0) {
        return Status(Errc::Io, what + ": not found after creation");
    }
    // Dirigo answers ARP for the port's addresses itself (so a flood of host traffic cannot
    // starve it); the kernel learns from the rest and must not answer as well.
    std::ofstream("/proc/sys/net/ipv4/conf/" + iface + "/arp_ignore") << "8\n";
    // IPv6 likewise: Dirigo answers neighbour discovery for the port's IPv6 addresses and never
    // passes those solicitations up, so the kernel needs no duplicate address detection (its
    // probes would go out of the port and come back answered by Dirigo), and as a router's
    // interface it takes no router advertisements. IPv6 is turned on for a port that has IPv6
    // addresses, whatever the namespace's default.
    const std::string v6conf = "/proc/sys/net/ipv6/conf/" + iface + "/";
    std::ofstream(v6conf + "accept_dad") << "0\n";
    std::ofstream(v6conf + "accept_ra") << "0\n";
    std::ofstream(v6conf + "autoconf") << "0\n";
    // Linux flushes IPv6 addresses when a link goes down (IPv4's stay): keep them, so that a flap
    // leaves the interface as the config made it, as it does for IPv4.
    std::ofstream(v6conf + "keep_addr_on_down") << "1\n";
    if (ipv6) {
        std::ofstream(v6conf + "disable_ipv6") << "0\n";
    }
    tap.bucket = dp::TokenBucket(cfg_.host.rate, cfg_.host.burst);
    tap.bucket.last = rte_rdtsc();
    return {};
}

Status Host::push_config(bool addresses, int only_ifindex) {
    for (size_t i = 0; addresses && i < taps_.size(); ++i) {
        const Tap& t = taps_[i];
        for (const cfg::Prefix& a : t.addresses) {
            if (Status s = nl_.add_address(t.view.ifindex, a.addr, a.len); !s) {
                return Status(s.code(), t.owner + ": cannot put " + cfg::format_prefix(a) + " on " +
                                            t.view.iface + ": " + s.message());
            }
        }
    }
    for (size_t i = 0; addresses && i < cfg_.ports.size() && i < taps_.size(); ++i) {
        const cfg::PortCfg& pc = cfg_.ports[i];
        const Tap& t = taps_[i];
        for (const cfg::Prefix6& a : pc.addresses6) {
            if (Status s = nl_.add_address6(t.view.ifindex, a.addr, a.len); !s) {
                std::string what = "port " + pc.name + ": cannot put ";
                what += cfg::format_prefix6(a) + " on " + t.view.iface + ": " + s.message();
                return Status(s.code(), what);
            }
        }
    }
    for (const cfg::Route6Cfg& r : cfg_.routes6) {
        const Tap* via = nullptr;
        for (size_t i = 0; i < cfg_.ports.size() && i < taps_.size() && via == nullptr; ++i) {
            for (const cfg::Prefix6& a : cfg_.ports[i].addresses6) {
                if (a.len < 128 && cfg::prefix_contains(a, r.via)) {
                    via = &taps_[i];
                    break;
                }
            }
        }
        if (via == nullptr || (only_ifindex != 0 && via->view.ifindex != only_ifindex)) {
            continue;
        }
        if (Status s = nl_.replace_route6(via->view.ifindex, r.prefix.addr, r.prefix.len, r.via);
            !s) {
            std::string what = "route ";
            what += cfg::format_prefix6(r.prefix) + " via " + cfg::format_ip6(r.via) + " dev " +
                    via->view.iface + ": " + s.message();
            return Status(s.code(), what);
        }
    }
    for (const cfg::RouteCfg& r : cfg_.routes) {
        // Through the interface whose configured subnet holds the gateway (as at start-up).
        const Tap* via = nullptr;
        for (size_t i = 0; i < taps_.size() && via == nullptr; ++i) {
            for (const cfg::Prefix& a : taps_[i].addresses) {
                if (a.len < 32 && ((a.addr ^ r.via) & mask_of(a.len)) == 0) {
                    via = &taps_[i];
                    break;
                }
            }
        }
        if (via == nullptr || (only_ifindex != 0 && via->view.ifindex != only_ifindex)) {
            continue;
        }
        const uint32_t dst = r.prefix.addr & mask_of(r.prefix.len);
        if (Status s = nl_.replace_route(via->view.ifindex, dst, r.prefix.len, r.via); !s) {
            return Status(s.code(), "route " + cfg::format_prefix(r.prefix) + " via " +
                                        cfg::format_ip4(r.via) + " dev " + via->view.iface +
                                        ": " + s.message());
        }
    }
    return {};
}

Host::Tap* Host::tap_by_ifindex(int ifindex) {
    for (Tap& t : taps_) {
        if (t.view.ifindex == ifindex) {
            return &t;
        }
    }
    return nullptr;
}

bool Host::link_up(int ifindex) const {
    const auto link = kernel_.links.find(ifindex);
    return link != kernel_.links.end() && link->second.up;
}

bool Host::rebuild(dp::SlowPath* slow) {
    std::vector<dp::PortInfo> ports = base_ports_;
    std::vector<std::pair<uint16_t, uint32_t>> owned;
    for (Tap& t : taps_) {
        t.view.up = link_up(t.view.ifindex);
    }
    for (const auto& [a, unused] : kernel_.addrs) {
        const Tap* t = tap_by_ifindex(a.ifindex);
        if (t == nullptr || !t->view.up) {
            continue;  // another interface's, or a port that is down
        }
        ports[t->port].addrs.push_back(
            {rte_cpu_to_be_32(a.addr), rte_cpu_to_be_32(mask_of(a.len))});
        owned.emplace_back(t->port, rte_cpu_to_be_32(a.addr));
    }
    std::vector<dp::RouteSpec> routes;
    const KernelState::RouteKey* prev = nullptr;
    for (const auto& [key, val] : kernel_.routes) {
        // Ordered by prefix, then metric: the first of a prefix is the one the kernel uses.
        if (prev != nullptr && prev->dst == key.dst && prev->len == key.len) {
            continue;
        }
        const Tap* t = tap_by_ifindex(val.ifindex);
        if (t == nullptr || !t->view.up) {
            continue;
        }
        prev = &key;
        routes.push_back({cfg::Prefix{key.dst, key.len}, t->port, val.gateway});
    }
    // IPv6 comes from the config alone (ports' addrs6 in base_ports_, and these routes).
    auto next = dp::make_topology(std::move(ports), routes, dp_.topology()->route_specs6);
    if (!next) {
        // E.g. more routes than the table holds: keep forwarding with the last good topology.
        topo_error_ = next.status().message();
        DIRIGO_LOG(ERR, "kernel routes not applied: %s", topo_error_.c_str());
        return false;
    }
    if (owned == owned_ && (*next)->routes == dp_.topology()->routes) {
        return false;  // nothing the dataplane would see (a change on another interface)
    }
    topo_error_.clear();
    dp_.set_topology(std::move(*next));
    ++topo_updates_;
    if (slow != nullptr) {
        for (const auto& [port, addr] : owned) {
            if (std::find(owned_.begin(), owned_.end(), std::make_pair(port, addr)) ==
                owned_.end()) {
                slow->announce(port, addr);
            }
        }
    }
    owned_ = std::move(owned);
    return true;
}

void Host::announce_all(dp::SlowPath& slow) {
    for (const auto& [port, addr] : owned_) {
        slow.announce(port, addr);
    }
}

uint32_t Host::pump_up(Tap& t, uint64_t now) {
    rte_ring* r = dp_.host_ring(t.port);
    if (r == nullptr) {
        return 0;
    }
    t.bucket.refill(now, hz_);
    // Bursts until the ring is empty or the tokens are spent (bounded: the ring holds at most a
    // queue's worth), so a round after a wait delivers everything the bucket allows.
    uint32_t total = 0;
    for (unsigned round = 0; round < kPumpRounds; ++round) {
        rte_mbuf* pkts[kPumpBurst];
        const unsigned n =
            rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kPumpBurst, nullptr);
        total += n;
        rte_mbuf* send[kPumpBurst];
        uint16_t ns = 0;
        for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = pkts[i];
            const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
            // ARP is exempt: the kernel's own neighbours must resolve under a flood.
            if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) || t.bucket.take()) {
                send[ns++] = m;
            } else {
                ++t.view.stats.rate_limited;
                rte_pktmbuf_free(m);
            }
        }
        const uint16_t sent = ns == 0 ? 0 : rte_eth_tx_burst(t.tap_port, 0, send, ns);
        t.view.stats.to_kernel += sent;
        if (sent < ns) {
            t.view.stats.tap_full += ns - sent;
            rte_pktmbuf_free_bulk(send + sent, ns - sent);
        }
        if (n < kPumpBurst || t.bucket.tokens == 0) {
            break;
        }
    }
    // Out of tokens, another round now could only drop: report no work, so the control loop
    // waits for the socket (up to 1 ms, when the bucket has refilled) instead of spinning a core
    // to rate-limit a flood. What arrives meanwhile waits in the host ring, or is dropped by the
    // workers as host_queue_full when it overflows; the next round delivers the refilled share.
    return t.bucket.tokens != 0 ? total : 0;
}

uint32_t Host::pump_down(Tap& t) {
    rte_mbuf* pkts[kPumpBurst];
    const uint16_t n = rte_eth_rx_burst(t.tap_port, 0, pkts, kPumpBurst);
    if (n == 0) {
        return 0;
    }
    rte_mbuf* ok[kPumpBurst];
    unsigned k = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        if (m->nb_segs != 1 || rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr)) {
            ++t.view.stats.bad_from_kernel;
            rte_pktmbuf_free(m);
            continue;
        }
        m->port = t.port;  // worker 0 transmits it on the data port
        ok[k++] = m;
    }
    // Single producer: the control thread (the slow path injects from it too).
    const unsigned sent =
        rte_ring_sp_enqueue_burst(dp_.inject_ring(), reinterpret_cast<void**>(ok), k, nullptr);
    t.view.stats.from_kernel += sent;
    if (sent < k) {
        t.view.stats.inject_full += k - sent;
        rte_pktmbuf_free_bulk(ok + sent, k - sent);
    }
    return n;
}

uint32_t Host::poll(dp::SlowPath& slow, bool& topology_changed) {
    topology_changed = false;
    const uint64_t now = rte_rdtsc();
    uint32_t moved = 0;
    for (Tap& t : taps_) {
        moved += pump_up(t, now);
        moved += pump_down(t);
    }
    nl_.poll(kernel_);
    if (kernel_.version != built_version_) {
        built_version_ = kernel_.version;
        // An interface that came back up lost its routes in the kernel: put the config's back
        // (as ifupdown would); their events arrive in a later round.
        for (Tap& t : taps_) {
            if (link_up(t.view.ifindex) && !t.view.up) {
                if (Status s = push_config(false, t.view.ifindex); !s) {
                    DIRIGO_LOG(WARNING, "%s: config routes not restored: %s", t.view.iface.c_str(),
                               s.message().c_str());
                }
            }
        }
        topology_changed = rebuild(&slow);
    }
    if (!announced_) {
        announced_ = true;
        announce_all(slow);
    }
    return moved;
}

const Host::PortView* Host::port(uint16_t port) const {
    for (const Tap& t : taps_) {
        if (t.port == port) {
            return &t.view;
        }
    }
    return nullptr;
}

}  // namespace dirigo::host
