// SPDX-License-Identifier: BSD-3-Clause
#include "cli/format.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "config/addr.hpp"
#include "schedulers/names.hpp"

#ifndef DIRIGO_VERSION
#define DIRIGO_VERSION "unknown"
#endif

namespace dirigo::ctl::cli {

namespace {

const char* neigh_state_name(NeighState s) {
    switch (s) {
    case NeighState::Incomplete:
        return "incomplete";
    case NeighState::Resolved:
        return "resolved";
    case NeighState::Failed:
        return "failed";
    }
    return "?";
}

/// printf into a std::string: the layouts below are ipvsadm's printf formats, kept verbatim so
/// that column widths can be checked against ipvsadm.c by eye.
[[gnu::format(printf, 2, 3)]] void appendf(std::string& out, const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if (static_cast<size_t>(n) < sizeof(buf)) {
        out.append(buf, static_cast<size_t>(n));
        return;
    }
    std::string big(static_cast<size_t>(n) + 1, '\0');
    va_start(ap, fmt);
    std::vsnprintf(big.data(), big.size(), fmt, ap);
    va_end(ap);
    big.resize(static_cast<size_t>(n));
    out += big;
}

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

const char* fwd_switch(cfg::Fwd f) {
    switch (f) {
        case cfg::Fwd::Masq:
            return "-m";
        case cfg::Fwd::Tunnel:
            return "-i";
        case cfg::Fwd::Route:
            return "-g";
    }
    return "-g";
}

bool has_sched_flags(const cfg::Service& s) {
    return (s.flags & (cfg::kSvcSched1 | cfg::kSvcSched2 | cfg::kSvcSched3)) != 0;
}

/// "TCP  10.0.0.1:80" for tables (cut at 33 characters, as ipvsadm does, IPv4 only), "-t
/// 10.0.0.1:80" for rules; "TCP  [2001:db8::1]:80" and "-t [2001:db8::1]:80" for IPv6.
std::string service_name(const cfg::ServiceKey& k, bool rule, const FormatOpts& opts,
                         const Namer& namer) {
    const bool v6 = k.af == cfg::Family::Inet6;
    if (k.fwmark != 0) {
        // ipvsadm: "-f 1" in rules, "FWM  1" in tables (two blanks, as after "TCP"); an IPv6
        // one is "-f 1 -6" and "FWM  1 IPv6".
        std::string out = (rule ? "-f " : "FWM  ") + std::to_string(k.fwmark);
        if (v6) {
            out += rule ? " -6" : " IPv6";
        }
        return out;
    }
    const std::string vname =
        format_addr_port(k.af, k.addr, k.addr6, k.port, k.proto, opts, namer);
    std::string out;
    if (rule) {
        // ipvsadm's -S: SCTP has no short option.
        const char* opt = k.proto == cfg::Proto::Tcp   ? "-t"
                          : k.proto == cfg::Proto::Udp ? "-u"
                                                       : "--sctp-service";
        appendf(out, "%s %s", opt, vname.c_str());
    } else {
        appendf(out, "%-4s %s", std::string(cfg::proto_name_upper(k.proto)).c_str(), vname.c_str());
        // ipvsadm cuts IPv4 names only: an IPv6 one overflows the column.
        if (!v6 && out.size() > 33) {
            out.resize(33);
        }
    }
    return out;
}

std::vector<ServiceInfo> sorted_services(const std::vector<ServiceInfo>& in,
                                         const FormatOpts& opts) {
    std::vector<ServiceInfo> out = in;
    if (!opts.nosort) {
        std::stable_sort(out.begin(), out.end(), [](const ServiceInfo& a, const ServiceInfo& b) {
            return a.service.key < b.service.key;
        });
    }
    return out;
}

/// ipvsadm's ipvs_cmp_dests: IPv4 servers before IPv6 ones, then by address, then by port.
bool dest_before(const DestInfo& a, const DestInfo& b) {
    const cfg::RealServer& x = a.server;
    const cfg::RealServer& y = b.server;
    if (x.af != y.af) {
        return x.af < y.af;
    }
    if (x.addr != y.addr) {
        return x.addr < y.addr;
    }
    if (x.addr6 != y.addr6) {
        return x.addr6 < y.addr6;
    }
    return x.port < y.port;
}

/// "rr|wrr|lc|...", the way ipvsadm's usage lists schedulers.
std::string sched_names_for_usage() {
    std::string names = sched::sched_names();
    std::replace(names.begin(), names.end(), ' ', '|');
    return names;
}

/// ipvsadm 1.31's TunnelInfo column (--tun-info): "ipip", "gue:PORT:FLAGS", "gre:FLAGS" for a
/// tunnelling server, FLAGS being -c (no checksum), +c (checksum) or r+c (remote checksum);
/// "n/a" for the other methods.
std::string tunnel_info(const cfg::RealServer& rs) {
    if (rs.fwd != cfg::Fwd::Tunnel) {
        return "n/a";
    }
    const char* flags = rs.tun_csum == cfg::TunCsum::Csum      ? "+c"
                        : rs.tun_csum == cfg::TunCsum::RemCsum ? "r+c"
                                                               : "-c";
    switch (rs.tun_type) {
        case cfg::TunType::Ipip:
            return "ipip";
        case cfg::TunType::Gue:
            return "gue:" + std::to_string(rs.tun_port) + ":" + flags;
        case cfg::TunType::Gre:
            return std::string("gre:") + flags;
    }
    return "n/a";
}

/// The tunnel options ipvsadm 1.31's -S writes after "-w N": " --tun-type ipip", " --tun-type
/// gue --tun-port PORT --tun-csum", " --tun-type gre --tun-nocsum"; nothing for other methods.
std::string tunnel_rule(const cfg::RealServer& rs) {
    if (rs.fwd != cfg::Fwd::Tunnel) {
        return "";
    }
    std::string out = " --tun-type " + std::string(cfg::tun_type_name(rs.tun_type));
    if (rs.tun_type == cfg::TunType::Ipip) {
        return out;
    }
    if (rs.tun_type == cfg::TunType::Gue) {
        out += " --tun-port " + std::to_string(rs.tun_port);
    }
    return out + " --tun-" + std::string(cfg::tun_csum_name(rs.tun_csum));
}

}  // namespace

std::string format_addr_port(cfg::Ip4 addr, uint16_t port, cfg::Proto proto, const FormatOpts& opts,
                             const Namer& namer) {
    if (opts.numeric) {
        return cfg::format_endpoint(addr, port);
    }
    std::string host = namer.host(addr).value_or(cfg::format_ip4(addr));
    std::string svc = namer.service(port, proto).value_or(std::to_string(port));
    return host + ":" + svc;
}

std::string format_addr_port(cfg::Family af, cfg::Ip4 addr, const cfg::Ip6& addr6, uint16_t port,
                             cfg::Proto proto, const FormatOpts& opts, const Namer& namer) {
    if (af == cfg::Family::Inet) {
        return format_addr_port(addr, port, proto, opts, namer);
    }
    if (opts.numeric) {
        return cfg::format_endpoint6(addr6, port);
    }
    std::string out = "[";
    out += cfg::format_ip6(addr6);
    out += "]:";
    out += namer.service(port, proto).value_or(std::to_string(port));
    return out;
}

std::string format_largenum(uint64_t v, bool exact) {
    std::string out;
    if (exact) {
        const int len = std::snprintf(nullptr, 0, "%llu", ull(v));
        appendf(out, "%*llu", len <= 8 ? 9 : len + 1, ull(v));
    } else if (v < 100000000ULL) {
        appendf(out, "%9llu", ull(v));
    } else if (v < 1000000000ULL) {
        appendf(out, "%8lluK", ull(v / 1000ULL));
    } else if (v < 100000000000ULL) {
        appendf(out, "%8lluM", ull(v / 1000000ULL));
    } else if (v < 100000000000000ULL) {
        appendf(out, "%8lluG", ull(v / 1000000000ULL));
    } else {
        appendf(out, "%8lluT", ull(v / 1000000000000ULL));
    }
    return out;
}

std::string format_banner(const Info& info) {
    std::string out;
    appendf(out, "Dirigo Virtual Server version %s (size=%u)\n", info.version.c_str(),
            info.conn_table_size);
    return out;
}

std::string format_title(const FormatOpts& opts) {
    std::string out;
    if (opts.stats) {
        appendf(out, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
                "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
    } else if (opts.rate) {
        appendf(out, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
                "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
    } else if (opts.thresholds) {
        appendf(out, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
                "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn");
    } else if (opts.persistent_conn) {
        appendf(out, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
                "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn");
    } else if (opts.tun_info) {
        out +=
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n";
    } else {
        out +=
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
    }
    return out;
}

std::string sched_flags_text(const cfg::Service& svc) {
    // The names depend on the scheduler (sh-port, mh-port, flag-2 are one bit), as in ipvsadm's
    // print_sched_flags; a name this build does not know prints the generic flag-N names.
    const auto kind = sched::parse_sched(svc.scheduler);
    return sched::format_sched_flags(kind.value_or(sched::SchedKind::Rr), svc.flags);
}

std::string format_service(const ServiceInfo& si, const FormatOpts& opts, const Namer& namer) {
    const cfg::Service& s = si.service;
    const std::string svc = service_name(s.key, false, opts, namer);
    std::string out;
    if (opts.stats) {
        appendf(out, "%-33s", svc.c_str());
        out += format_largenum(si.stats.conns, opts.exact);
        out += format_largenum(si.stats.inpkts, opts.exact);
        out += format_largenum(si.stats.outpkts, opts.exact);
        out += format_largenum(si.stats.inbytes, opts.exact);
        out += format_largenum(si.stats.outbytes, opts.exact);
    } else if (opts.rate) {
        appendf(out, "%-33s", svc.c_str());
        out += format_largenum(si.rates.cps, opts.exact);
        out += format_largenum(si.rates.inpps, opts.exact);
        out += format_largenum(si.rates.outpps, opts.exact);
        out += format_largenum(si.rates.inbps, opts.exact);
        out += format_largenum(si.rates.outbps, opts.exact);
    } else {
        appendf(out, "%s %s", svc.c_str(), s.scheduler.c_str());
        if (has_sched_flags(s)) {
            out += " (" + sched_flags_text(s) + ")";
        }
        if ((s.flags & cfg::kSvcPersistent) != 0) {
            appendf(out, " persistent %u", s.timeout);
            // ipvsadm: an IPv4 mask as a dotted quad, an IPv6 one as its length.
            if (s.key.af == cfg::Family::Inet6) {
                if (s.prefix6 != 128) {
                    out += " mask " + std::to_string(s.prefix6);
                }
            } else if (s.netmask != 0xffffffffu) {
                out += " mask " + cfg::format_ip4(s.netmask);
            }
        }
        if ((s.flags & cfg::kSvcOnePacket) != 0) {
            out += " ops";
        }
    }
    out += "\n";

    std::vector<DestInfo> dests = si.dests;
    if (!opts.nosort) {
        std::stable_sort(dests.begin(), dests.end(), dest_before);
    }
    for (const DestInfo& d : dests) {
        std::string dname = format_addr_port(d.server.af, d.server.addr, d.server.addr6,
                                             d.server.port, s.key.proto, opts, namer);
        // As the service name: ipvsadm cuts an IPv4 server's name, an IPv6 one overflows.
        if (d.server.af == cfg::Family::Inet && dname.size() > 28) {
            dname.resize(28);
        }
        const char* dn = dname.c_str();
        if (opts.stats) {
            appendf(out, "  -> %-28s", dn);
            out += format_largenum(d.stats.conns, opts.exact);
            out += format_largenum(d.stats.inpkts, opts.exact);
            out += format_largenum(d.stats.outpkts, opts.exact);
            out += format_largenum(d.stats.inbytes, opts.exact);
            out += format_largenum(d.stats.outbytes, opts.exact);
            out += "\n";
        } else if (opts.rate) {
            // ipvsadm prints the per-destination packet rates unscaled.
            appendf(out, "  -> %-28s %8llu %8llu %8llu", dn, ull(d.rates.cps), ull(d.rates.inpps),
                    ull(d.rates.outpps));
            out += format_largenum(d.rates.inbps, opts.exact);
            out += format_largenum(d.rates.outbps, opts.exact);
            out += "\n";
        } else if (opts.thresholds) {
            appendf(out, "  -> %-28s %-10u %-10u %-10u %-10u\n", dn, d.server.u_threshold,
                    d.server.l_threshold, d.active, d.inactive);
        } else if (opts.persistent_conn) {
            appendf(out, "  -> %-28s %-9d %-11u %-10u %-10u\n", dn, d.server.weight, d.persistent,
                    d.active, d.inactive);
        } else if (opts.tun_info) {
            appendf(out, "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", dn,
                    std::string(cfg::fwd_name(d.server.fwd)).c_str(),
                    tunnel_info(d.server).c_str(), d.server.weight, d.active, d.inactive);
        } else {
            appendf(out, "  -> %-28s %-7s %-6d %-10u %-10u\n", dn,
                    std::string(cfg::fwd_name(d.server.fwd)).c_str(), d.server.weight, d.active,
                    d.inactive);
        }
    }
    return out;
}

std::string format_list(const Info& info, const std::vector<ServiceInfo>& services,
                        const FormatOpts& opts, const Namer& namer) {
    std::string out = format_banner(info);
    out += format_title(opts);
    for (const ServiceInfo& si : sorted_services(services, opts)) {
        out += format_service(si, opts, namer);
    }
    return out;
}

std::string format_save(const std::vector<ServiceInfo>& services, const FormatOpts& opts,
                        const Namer& namer) {
    std::string out;
    for (const ServiceInfo& si : sorted_services(services, opts)) {
        const cfg::Service& s = si.service;
        const std::string svc = service_name(s.key, true, opts, namer);
        appendf(out, "-A %s -s %s", svc.c_str(), s.scheduler.c_str());
        if ((s.flags & cfg::kSvcPersistent) != 0) {
            appendf(out, " -p %u", s.timeout);
            if (s.key.af == cfg::Family::Inet6) {
                if (s.prefix6 != 128) {
                    out += " -M " + std::to_string(s.prefix6);
                }
            } else if (s.netmask != 0xffffffffu) {
                out += " -M " + cfg::format_ip4(s.netmask);
            }
        }
        if ((s.flags & cfg::kSvcOnePacket) != 0) {
            out += " -o";
        }
        if (has_sched_flags(s)) {
            out += " -b " + sched_flags_text(s);
        }
        out += "\n";
        std::vector<DestInfo> dests = si.dests;
        if (!opts.nosort) {
            std::stable_sort(dests.begin(), dests.end(), dest_before);
        }
        for (const DestInfo& d : dests) {
            const std::string dname = format_addr_port(d.server.af, d.server.addr, d.server.addr6,
                                                       d.server.port, s.key.proto, opts, namer);
            // ipvsadm 1.31 names the tunnel type of every tunnel server, and its options.
            appendf(out, "-a %s -r %s %s -w %d%s\n", svc.c_str(), dname.c_str(),
                    fwd_switch(d.server.fwd), d.server.weight, tunnel_rule(d.server).c_str());
        }
    }
    return out;
}

std::string format_marks(const std::vector<cfg::MarkRule>& marks) {
    std::string out;
    for (const cfg::MarkRule& m : marks) {
        const char* proto = m.proto == static_cast<uint8_t>(cfg::Proto::Tcp)    ? "-t"
                            : m.proto == static_cast<uint8_t>(cfg::Proto::Udp)  ? "-u"
                            : m.proto == static_cast<uint8_t>(cfg::Proto::Sctp) ? "--sctp-service"
                                                                                : "--tcp-udp";
        std::string where;
        if (m.af == cfg::Family::Inet6) {
            where = "[";
            where += m.dst6.len == 128 ? cfg::format_ip6(m.dst6.addr) : cfg::format_prefix6(m.dst6);
            where += ']';
        } else {
            where = m.dst.len == 32 ? cfg::format_ip4(m.dst.addr) : cfg::format_prefix(m.dst);
        }
        if (!m.ports.empty()) {
            where += ':';  // two steps: see the GCC 12 -Werror=restrict note in format_ports
            where += cfg::format_port_list(m.ports);
        }
        appendf(out, "--add-mark %s %s --mark %u\n", proto, where.c_str(), m.mark);
    }
    return out;
}

std::string format_conns(const std::vector<ConnInfo>& conns, const FormatOpts& opts,
                         const Namer& namer) {
    std::string out = "IPVS connection entries\n";
    appendf(out, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination");
    for (const ConnInfo& c : conns) {
        // /proc/net/ip_vs_conn shows whole seconds left; ipvsadm prints them as mm:ss.
        const uint32_t secs = c.expires_ms / 1000;
        char expire[16];
        std::snprintf(expire, sizeof(expire), "%02u:%02u", secs / 60, secs % 60);
        // A fwmark template (IP) has port 0 everywhere: no service name to look up.
        const auto proto = c.proto == 0 ? cfg::Proto::Tcp : static_cast<cfg::Proto>(c.proto);
        // An IPv6 connection's endpoints are bracketed and overflow their columns, as ipvsadm's.
        const std::string cname =
            format_addr_port(c.af, c.caddr, c.caddr6, c.cport, proto, opts, namer);
        const std::string vname =
            format_addr_port(c.af, c.vaddr, c.vaddr6, c.vport, proto, opts, namer);
        // A tunnel server of the other family (an IPv4 daddr on an IPv6 connection) in its own
        // form, as ipvsadm prints the kernel's daf.
        // An IPv6 server of an IPv4 connection likewise (a non-zero daddr6 on an IPv4 row).
        const cfg::Family daf = c.af == cfg::Family::Inet6 && c.daddr != 0 ? cfg::Family::Inet
                                : c.af == cfg::Family::Inet && !c.daddr6.is_unspecified()
                                    ? cfg::Family::Inet6
                                    : c.af;
        const std::string dname =
            format_addr_port(daf, c.daddr, c.daddr6, c.dport, proto, opts, namer);
        appendf(out, "%-3s %-6s %-11s %-18s %-18s %s\n",
                std::string(cfg::ip_proto_name_upper(c.proto)).c_str(), expire, c.state.c_str(),
                cname.c_str(), vname.c_str(), dname.c_str());
    }
    return out;
}

std::string link_speed_text(uint32_t mbps) {
    // 0 is "no link / not reported"; UINT32_MAX is DPDK's RTE_ETH_SPEED_NUM_UNKNOWN.
    if (mbps == 0 || mbps == UINT32_MAX) {
        return "-";
    }
    std::string out;
    if (mbps % 1000 == 0) {
        appendf(out, "%uG", mbps / 1000);
    } else if (mbps > 1000 && mbps % 100 == 0) {
        appendf(out, "%u.%uG", mbps / 1000, (mbps % 1000) / 100);
    } else {
        appendf(out, "%uM", mbps);
    }
    return out;
}

std::string busy_percent_text(uint64_t busy_loops, uint64_t loops) {
    if (loops == 0) {
        return "-";
    }
    uint64_t busy = std::min(busy_loops, loops);
    // Tenths of a percent, rounded: busy * 1000 + loops / 2 must not overflow. Halving both keeps
    // the ratio to within one part in 2^53, far below the one decimal printed.
    while (loops > UINT64_MAX / 1001) {
        loops >>= 1;
        busy >>= 1;
    }
    const uint64_t tenths = (busy * 1000 + loops / 2) / loops;
    std::string out;
    appendf(out, "%llu.%llu", ull(tenths / 10), ull(tenths % 10));
    return out;
}

std::string format_ports(const std::vector<PortView>& ports, const std::vector<DropView>& drops,
                         const FormatOpts& opts) {
    std::string out;
    // Counter columns are print_largenum's 9 characters, titles right-aligned over them, as in
    // ipvsadm's --stats.
    appendf(out, "%-8s %-16s %-4s %6s %5s %3s %3s%9s%9s%9s%9s%9s\n", "Port", "Device", "Link",
            "Speed", "MTU", "RxQ", "TxQ", "RxPkts", "TxPkts", "RxMissed", "RxErr", "TxErr");
    appendf(out, "  -> %-5s %-17s%9s%9s %s\n", "Id", "MAC", "RxBytes", "TxBytes", "Addresses");
    appendf(out, "  -> %-16s %-6s%9s%9s\n", "Kernel", "Link", "ToKern", "FromKern");
    std::vector<const PortView*> sorted;
    sorted.reserve(ports.size());
    for (const PortView& p : ports) {
        sorted.push_back(&p);
    }
    if (!opts.nosort) {
        std::stable_sort(sorted.begin(), sorted.end(), [](const PortView* a, const PortView* b) {
            return a->port_id < b->port_id;
        });
    }
    for (const PortView* p : sorted) {
        appendf(out, "%-8s %-16s %-4s %6s %5u %3u %3u", p->name.c_str(), p->device.c_str(),
                p->link_up ? "up" : "down", link_speed_text(p->speed_mbps).c_str(), p->mtu,
                p->rx_queues, p->tx_queues);
        out += format_largenum(p->rx_packets, opts.exact);
        out += format_largenum(p->tx_packets, opts.exact);
        out += format_largenum(p->rx_missed, opts.exact);
        out += format_largenum(p->rx_errors, opts.exact);
        out += format_largenum(p->tx_errors, opts.exact);
        out += "\n";
        appendf(out, "  -> %-5u %-17s", p->port_id, p->mac.empty() ? "-" : p->mac.c_str());
        out += format_largenum(p->rx_bytes, opts.exact);
        out += format_largenum(p->tx_bytes, opts.exact);
        if (p->addresses.empty()) {
            out += " -";
        }
        for (const cfg::Prefix& a : p->addresses) {
            // Appended in two steps: at -O3 GCC 12 flags `" " + std::string&&` (an insert at the
            // front of the temporary) with a false -Werror=restrict, a known GCC 12 bug.
            out += ' ';
            out += cfg::format_prefix(a);
        }
        out += "\n";
        appendf(out, "  -> %-16s %-6s", p->kernel_iface.empty() ? "-" : p->kernel_iface.c_str(),
                p->kernel_iface.empty() ? "-" : p->kernel_up ? "up" : "down");
        out += format_largenum(p->to_kernel, opts.exact);
        out += format_largenum(p->from_kernel, opts.exact);
        out += "\n";
    }
    out += "Drops by reason\n";
    for (const DropView& d : drops) {
        // Zero counts are noise in a health check; --exact shows the whole table, which is also
        // how to learn every reason's name.
        if (d.count == 0 && !opts.exact) {
            continue;
        }
        appendf(out, "  %-28s", d.reason.c_str());
        out += format_largenum(d.count, opts.exact);
        out += "\n";
    }
    return out;
}

std::string format_workers(const std::vector<WorkerView>& workers, const FormatOpts& opts) {
    std::string out;
    // Ten-character counter columns: "HandedOff" and "TakenOver" need nine plus a separator.
    appendf(out, "%6s %5s %9s %9s %9s %6s %9s %9s %9s %9s %9s\n", "Worker", "Lcore", "RxPkts",
            "TxPkts", "Drops", "Busy%", "Conns", "Created", "HandedOff", "TakenOver", "Sleeps");
    std::vector<const WorkerView*> sorted;
    sorted.reserve(workers.size());
    for (const WorkerView& w : workers) {
        sorted.push_back(&w);
    }
    if (!opts.nosort) {
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const WorkerView* a, const WorkerView* b) { return a->id < b->id; });
    }
    const auto num = [&](std::string& line, uint64_t v) {
        line += ' ';  // two steps: see the GCC 12 -Werror=restrict note in format_ports
        line += format_largenum(v, opts.exact);
    };
    for (const WorkerView* w : sorted) {
        appendf(out, "%6u %5u", w->id, w->lcore);
        num(out, w->rx_packets);
        num(out, w->tx_packets);
        num(out, w->drops);
        appendf(out, " %6s", busy_percent_text(w->busy_loops, w->loops).c_str());
        num(out, w->connections);
        num(out, w->created);
        num(out, w->handed_off);
        num(out, w->taken_over);
        num(out, w->sleeps);
        out += "\n";
    }
    return out;
}

std::string format_neighbours(const std::vector<NeighbourView>& neighbours, const FormatOpts& opts,
                              const Namer& namer) {
    std::string out;
    appendf(out, "%-16s %-17s %-8s %s\n", "Address", "MAC", "Port", "State");
    std::vector<const NeighbourView*> sorted;
    sorted.reserve(neighbours.size());
    for (const NeighbourView& n : neighbours) {
        sorted.push_back(&n);
    }
    if (!opts.nosort) {
        std::stable_sort(
            sorted.begin(), sorted.end(),
            [](const NeighbourView* a, const NeighbourView* b) { return a->addr < b->addr; });
    }
    for (const NeighbourView* n : sorted) {
        const std::string addr = opts.numeric
                                     ? cfg::format_ip4(n->addr)
                                     : namer.host(n->addr).value_or(cfg::format_ip4(n->addr));
        appendf(out, "%-16s %-17s %-8s %s\n", addr.c_str(), n->mac.empty() ? "-" : n->mac.c_str(),
                n->port.c_str(), neigh_state_name(n->state));
    }
    return out;
}

std::string format_routes(const std::vector<RouteView>& routes, const FormatOpts& opts,
                          const Namer& namer) {
    std::string out;
    appendf(out, "%-18s %-20s %s\n", "Destination", "Gateway", "Port");
    std::vector<const RouteView*> sorted;
    sorted.reserve(routes.size());
    for (const RouteView& r : routes) {
        sorted.push_back(&r);
    }
    if (!opts.nosort) {
        // By address, then shorter prefixes first: the default route leads, as in `ip route`.
        std::stable_sort(sorted.begin(), sorted.end(), [](const RouteView* a, const RouteView* b) {
            if (a->prefix.addr != b->prefix.addr) {
                return a->prefix.addr < b->prefix.addr;
            }
            return a->prefix.len < b->prefix.len;
        });
    }
    for (const RouteView* r : sorted) {
        std::string via = "connected";
        if (r->gateway != 0) {
            via = "via " + (opts.numeric
                                ? cfg::format_ip4(r->gateway)
                                : namer.host(r->gateway).value_or(cfg::format_ip4(r->gateway)));
        }
        appendf(out, "%-18s %-20s %s\n", cfg::format_prefix(r->prefix).c_str(), via.c_str(),
                r->port.c_str());
    }
    return out;
}

std::string format_timeouts(const cfg::TimeoutCfg& t) {
    std::string out;
    appendf(out, "Timeout (tcp tcpfin udp): %u %u %u\n", t.tcp, t.tcp_fin, t.udp);
    return out;
}

std::string format_daemons(const std::vector<DaemonView>& daemons) {
    std::string out;
    for (const DaemonView& d : daemons) {
        const DaemonCfg& c = d.cfg;
        appendf(out, "%s sync daemon (mcast=%s, syncid=%d",
                c.role == SyncRole::Master ? "master" : "backup", c.mcast_ifn.c_str(), c.syncid);
        // ipvsadm prints each of these only when the kernel reports it (it always does).
        if (c.sync_maxlen != 0) {
            appendf(out, ", maxlen=%u", c.sync_maxlen);
        }
        if (c.mcast_group != 0) {
            appendf(out, ", group=%s", cfg::format_ip4(c.mcast_group).c_str());
        }
        if (c.mcast_port != 0) {
            appendf(out, ", port=%u", c.mcast_port);
        }
        if (c.mcast_ttl != 0) {
            appendf(out, ", ttl=%u", c.mcast_ttl);
        }
        out += ")\n";
    }
    return out;
}

std::string error_message(Op op, Errc code, std::string_view daemon_message) {
    // A batch names its failing rule; mark rules are Dirigo's own, with no ipvsadm wording.
    if ((op == Op::Batch || op == Op::AddMark || op == Op::DelMark) && !daemon_message.empty()) {
        return std::string(daemon_message);
    }
    const bool dest_op = op == Op::AddDest || op == Op::EditDest || op == Op::DelDest;
    switch (code) {
        case Errc::ServiceExists:
            return "Service already exists";
        case Errc::NoService:
            return dest_op ? "Service not defined" : "No such service";
        case Errc::DestExists:
            return "Destination already exists";
        case Errc::NoDest:
            return "No such destination";
        case Errc::NoScheduler:
            return "Scheduler or persistence engine not found";
        case Errc::DaemonRunning:
            return "Daemon has already run";
        case Errc::NoDaemon:
            return "No daemon is running";
        case Errc::NoDevice:
            return "No such device";
        case Errc::Ok:
        case Errc::Invalid:
        case Errc::Unsupported:
        case Errc::Protocol:
        case Errc::Resource:
        case Errc::Internal:
        case Errc::Io:
            break;
    }
    if (!daemon_message.empty()) {
        return std::string(daemon_message);
    }
    return std::string(op_name(op)) + " failed: " + std::string(errc_name(code));
}

std::string version_text() {
    return "dirigoadm v" DIRIGO_VERSION " (ipvsadm v1.31 compatible command line)\n";
}

std::string version_text(std::string_view daemon_version) {
    return "dirigoadm v" DIRIGO_VERSION " (ipvsadm v1.31 compatible command line and dirigo v" +
           std::string(daemon_version) + ")\n";
}

std::string usage_text(std::string_view program) {
    const std::string p(program);
    std::string out = version_text();
    out += "Usage:\n";
    out += "  " + p + " -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] " +
           "[-b sched-flags] [-o]\n";
    out += "  " + p + " -D virtual-service\n";
    out += "  " + p + " -C\n";
    out += "  " + p + " -R\n";
    out += "  " + p + " -S [-n]\n";
    out += "  " + p + " -a|e virtual-service -r server-address [options]\n";
    out += "  " + p + " -d virtual-service -r server-address\n";
    out += "  " + p + " -L|l [virtual-service] [options]\n";
    out += "  " + p + " -Z [virtual-service]\n";
    out += "  " + p + " --set tcp tcpfin udp\n";
    out += "  " + p + " --start-daemon {master|backup} [daemon-options]\n";
    out += "  " + p + " --stop-daemon {master|backup}\n";
    out += "  " + p + " --list-ports|--list-workers [-n] [--exact] [--nosort]\n";
    out += "  " + p + " --list-neighbours|--list-routes [-n] [--nosort]\n";
    out += "  " + p +
           " --add-mark|--del-mark -t|-u|--sctp-service|--tcp-udp addr[/len][:ports] --mark mark\n";
    out += "  " + p + " --list-marks\n";
    out += "  " + p + " -h\n\n";
    out +=
        "Commands:\n"
        "Either long or short options are allowed.\n"
        "  --add-service     -A        add virtual service with options\n"
        "  --edit-service    -E        edit virtual service with options\n"
        "  --delete-service  -D        delete virtual service\n"
        "  --clear           -C        clear the whole table\n"
        "  --restore         -R        restore rules from stdin (all or nothing)\n"
        "  --save            -S        save rules to stdout\n"
        "  --add-server      -a        add real server with options\n"
        "  --edit-server     -e        edit real server with options\n"
        "  --delete-server   -d        delete real server\n"
        "  --list            -L|-l     list the table\n"
        "  --zero            -Z        zero counters in a service or all services\n"
        "  --set tcp tcpfin udp        set connection timeout values\n"
        "  --start-daemon              start connection sync daemon\n"
        "  --stop-daemon               stop connection sync daemon\n"
        "  --list-ports                list ports: link, queues, packets, drops by reason\n"
        "  --list-workers              list workers: packets, busy ratio, connections\n"
        "  --list-neighbours           list the neighbour (ARP) table (or --list-neighbors)\n"
        "  --list-routes               list the route table\n"
        "  --add-mark                  add a firewall mark rule (for -f services)\n"
        "  --del-mark                  delete the firewall mark rule with that match\n"
        "  --list-marks                list the mark rules, in order, as --add-mark commands\n"
        "  --help            -h        display this help message\n"
        "  --version         -v        display the version\n\n";
    out +=
        "virtual-service:\n"
        "  --tcp-service|-t  service-address   service-address is host[:port]\n"
        "  --udp-service|-u  service-address   service-address is host[:port]\n"
        "  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n\n";
    out +=
        "Options:\n"
        "  --scheduler    -s scheduler         one of " +
        sched_names_for_usage() +
        ",\n"
        "                                      the default scheduler is wlc.\n"
        "  --persistent   -p [timeout]         persistent service (default timeout 300)\n"
        "  --netmask      -M netmask           persistent granularity mask\n"
        "  --sched-flags  -b flags             scheduler flags (comma-separated)\n"
        "  --ops          -o                   one-packet scheduling (UDP)\n"
        "  --real-server  -r server-address    server-address is host (and port)\n"
        "  --gatewaying   -g                   gatewaying (direct routing) (default)\n"
        "  --ipip         -i                   ipip encapsulation (tunneling)\n"
        "  --tun-type     ipip                 tunnel type (ipip is the only one)\n"
        "  --masquerading -m                   masquerading (NAT); the only method\n"
        "                                      that may map to another port\n"
        "  --weight       -w weight            capacity of real server (0-65535)\n"
        "  --u-threshold  -x uthreshold        upper threshold of connections\n"
        "  --l-threshold  -y lthreshold        lower threshold of connections\n"
        "  --connection   -c                   output of current connections\n"
        "  --timeout                           output of timeout (tcp tcpfin udp)\n"
        "  --daemon                            output of daemon information\n"
        "  --stats                             output of statistics information\n"
        "  --rate                              output of rate information\n"
        "  --exact                             expand numbers (display exact values);\n"
        "                                      with --list-ports, drop reasons at 0 too\n"
        "  --thresholds                        output of thresholds information\n"
        "  --persistent-conn                   output of persistent connection info\n"
        "  --tun-info                          output of tunnel information\n"
        "  --nosort                            disable sorting output of service/server "
        "entries\n"
        "                                      (and of ports, workers, neighbours, routes)\n"
        "  --sort                              does nothing, for backwards compatibility\n"
        "  --numeric      -n                   numeric output of addresses and ports\n"
        "  --socket path                       control socket of the dirigo daemon\n"
        "                                      (default $DIRIGO_SOCKET, else " +
        std::string("/run/dirigo/dirigo.sock") + ")\n";
    out +=
        "Daemon Options:\n"
        "  --syncid sid                        syncid for connection sync (0-255, default 0)\n"
        "  --mcast-interface interface         multicast interface for connection sync\n"
        "  --mcast-group address               IPv4 group (default=224.0.0.81)\n"
        "  --mcast-port port                   UDP port (default=8848)\n"
        "  --mcast-ttl ttl                     Multicast TTL (default=1)\n"
        "  --sync-maxlen length                Max sync message length (default: MTU - 28)\n";
    return out;
}

}  // namespace dirigo::ctl::cli
