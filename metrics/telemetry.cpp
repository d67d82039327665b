// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/telemetry.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <rte_telemetry.h>

#include "config/addr.hpp"

namespace dirigo::metrics {
namespace {

/// The board the commands read. Set once by register_telemetry and never cleared: DPDK may call
/// a command at any time until the process exits. Release/acquire pair with register_telemetry.
std::atomic<TelemetryBoard*> g_board{nullptr};

/// Most strings a reply lists; DPDK's arrays hold at most RTE_TEL_MAX_ARRAY_ENTRIES.
constexpr size_t kMaxListed = RTE_TEL_MAX_ARRAY_ENTRIES;

std::shared_ptr<const Sample> current() {
    TelemetryBoard* b = g_board.load(std::memory_order_acquire);
    return b == nullptr ? nullptr : b->fresh(kTelemetryWait);
}

std::string service_name(const cfg::ServiceKey& k) {
    if (k.fwmark != 0) {
        return "FWM:" + std::to_string(k.fwmark);
    }
    std::string out(cfg::proto_name_upper(k.proto));
    out += ':';
    out += cfg::format_any_endpoint(k.af, k.addr, k.addr6, k.port);  // IPv6: "TCP:[2001:db8::1]:80"
    return out;
}

/// "10.0.0.1:80" or "[2001:db8::1]:80".
struct AnyEndpoint {
    cfg::Family af = cfg::Family::Inet;
    cfg::Ip4 addr = 0;
    cfg::Ip6 addr6{};
    uint16_t port = 0;
};
std::optional<AnyEndpoint> parse_any_endpoint(std::string_view text) {
    if (!text.empty() && text.front() == '[') {
        const auto ep = cfg::parse_endpoint6(text, true);
        if (!ep) {
            return std::nullopt;
        }
        return AnyEndpoint{cfg::Family::Inet6, 0, ep->addr, ep->port};
    }
    const auto ep = cfg::parse_endpoint(text, true);
    if (!ep) {
        return std::nullopt;
    }
    return AnyEndpoint{cfg::Family::Inet, ep->addr, {}, ep->port};
}

/// "TCP:10.0.0.100:80" or "TCP:[2001:db8::1]:80" (protocol in any case) -> the service of `s`
/// it names, or null.
const ctl::ServiceInfo* find_service(const Sample& s, std::string_view text) {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return nullptr;
    }
    if (text.substr(0, colon) == "FWM" || text.substr(0, colon) == "fwm") {
        const auto mark = cfg::parse_number(text.substr(colon + 1), 1, 0xffffffffu);
        for (const ctl::ServiceInfo& si : s.services) {
            if (mark && si.service.key.fwmark == *mark) {
                return &si;
            }
        }
        return nullptr;
    }
    const auto proto = cfg::parse_proto(text.substr(0, colon));
    const auto ep = parse_any_endpoint(text.substr(colon + 1));
    if (!proto || !ep) {
        return nullptr;
    }
    for (const ctl::ServiceInfo& si : s.services) {
        const cfg::ServiceKey& k = si.service.key;
        if (k.fwmark == 0 && k.proto == *proto && k.af == ep->af && k.addr == ep->addr &&
            k.addr6 == ep->addr6 && k.port == ep->port) {
            return &si;
        }
    }
    return nullptr;
}

void add_stats(rte_tel_data* d, const ctl::Stats& st) {
    rte_tel_data_add_dict_u64(d, "conns", st.conns);
    rte_tel_data_add_dict_u64(d, "inpkts", st.inpkts);
    rte_tel_data_add_dict_u64(d, "outpkts", st.outpkts);
    rte_tel_data_add_dict_u64(d, "inbytes", st.inbytes);
    rte_tel_data_add_dict_u64(d, "outbytes", st.outbytes);
}

void add_rates(rte_tel_data* d, const ctl::Rates& r) {
    rte_tel_data_add_dict_u64(d, "cps", r.cps);
    rte_tel_data_add_dict_u64(d, "inpps", r.inpps);
    rte_tel_data_add_dict_u64(d, "outpps", r.outpps);
    rte_tel_data_add_dict_u64(d, "inbps", r.inbps);
    rte_tel_data_add_dict_u64(d, "outbps", r.outbps);
}

// Every command: a negative return makes DPDK answer {"<cmd>": null}.

int cmd_info(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    uint64_t live = 0;
    for (const ctl::WorkerView& w : s->workers) {
        live += w.connections;
    }
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "version", s->version.c_str());
    rte_tel_data_add_dict_u64(d, "workers", s->workers.size());
    rte_tel_data_add_dict_u64(d, "conn_table_size", s->conn_table_size);
    rte_tel_data_add_dict_u64(d, "connections", live);
    rte_tel_data_add_dict_u64(d, "services", s->services.size());
    add_stats(d, s->totals);
    return 0;
}

int cmd_services(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
    for (size_t i = 0; i < s->services.size() && i < kMaxListed; ++i) {
        rte_tel_data_add_array_string(d, service_name(s->services[i].service.key).c_str());
    }
    return 0;
}

int cmd_service(const char*, const char* params, rte_tel_data* d) {
    const auto s = current();
    if (!s || params == nullptr) {
        return -EINVAL;
    }
    const ctl::ServiceInfo* si = find_service(*s, params);
    if (si == nullptr) {
        return -ENOENT;
    }
    rte_tel_data_start_dict(d);
    const bool fwm = si->service.key.fwmark != 0;
    rte_tel_data_add_dict_string(
        d, "protocol",
        fwm ? "FWM" : std::string(cfg::proto_name_upper(si->service.key.proto)).c_str());
    rte_tel_data_add_dict_u64(d, "fwmark", si->service.key.fwmark);
    const cfg::ServiceKey& k = si->service.key;
    rte_tel_data_add_dict_string(d, "address", cfg::format_addr(k.af, k.addr, k.addr6).c_str());
    rte_tel_data_add_dict_u64(d, "port", si->service.key.port);
    rte_tel_data_add_dict_string(d, "scheduler", si->service.scheduler.c_str());
    rte_tel_data_add_dict_u64(d, "flags", si->service.flags);
    rte_tel_data_add_dict_u64(d, "persistence_timeout", si->service.timeout);
    uint64_t active = 0;
    uint64_t inactive = 0;
    for (const ctl::DestInfo& di : si->dests) {
        active += di.active;
        inactive += di.inactive;
    }
    rte_tel_data_add_dict_u64(d, "active", active);
    rte_tel_data_add_dict_u64(d, "inactive", inactive);
    add_stats(d, si->stats);
    add_rates(d, si->rates);
    rte_tel_data* servers = rte_tel_data_alloc();
    if (servers != nullptr) {
        rte_tel_data_start_array(servers, RTE_TEL_STRING_VAL);
        for (size_t i = 0; i < si->dests.size() && i < kMaxListed; ++i) {
            const cfg::RealServer& rs = si->dests[i].server;
            rte_tel_data_add_array_string(
                servers, cfg::format_any_endpoint(rs.af, rs.addr, rs.addr6, rs.port).c_str());
        }
        // keep = 0: DPDK frees the container with the reply.
        if (rte_tel_data_add_dict_container(d, "servers", servers, 0) != 0) {
            rte_tel_data_free(servers);
        }
    }
    return 0;
}

int cmd_server(const char*, const char* params, rte_tel_data* d) {
    const auto s = current();
    if (!s || params == nullptr) {
        return -EINVAL;
    }
    const std::string_view p(params);
    const size_t comma = p.find(',');
    if (comma == std::string_view::npos) {
        return -EINVAL;
    }
    const ctl::ServiceInfo* si = find_service(*s, p.substr(0, comma));
    const auto ep = parse_any_endpoint(p.substr(comma + 1));
    if (si == nullptr || !ep) {
        return -ENOENT;
    }
    for (const ctl::DestInfo& di : si->dests) {
        if (di.server.af != ep->af || di.server.addr != ep->addr ||
            di.server.addr6 != ep->addr6 || di.server.port != ep->port) {
            continue;
        }
        rte_tel_data_start_dict(d);
        rte_tel_data_add_dict_string(
            d, "address", cfg::format_addr(di.server.af, di.server.addr, di.server.addr6).c_str());
        rte_tel_data_add_dict_u64(d, "port", di.server.port);
        rte_tel_data_add_dict_string(d, "forward",
                                     std::string(cfg::fwd_name(di.server.fwd)).c_str());
        rte_tel_data_add_dict_int(d, "weight", di.server.weight);
        rte_tel_data_add_dict_u64(d, "active", di.active);
        rte_tel_data_add_dict_u64(d, "inactive", di.inactive);
        rte_tel_data_add_dict_u64(d, "persistent", di.persistent);
        add_stats(d, di.stats);
        add_rates(d, di.rates);
        return 0;
    }
    return -ENOENT;
}

int cmd_ports(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
    for (const ctl::PortView& p : s->ports) {
        rte_tel_data_add_array_string(d, p.name.c_str());
    }
    return 0;
}

int cmd_port(const char*, const char* params, rte_tel_data* d) {
    const auto s = current();
    if (!s || params == nullptr) {
        return -EINVAL;
    }
    for (const ctl::PortView& p : s->ports) {
        if (p.name != params) {
            continue;
        }
        rte_tel_data_start_dict(d);
        rte_tel_data_add_dict_string(d, "name", p.name.c_str());
        rte_tel_data_add_dict_string(d, "device", p.device.c_str());
        rte_tel_data_add_dict_u64(d, "port_id", p.port_id);
        rte_tel_data_add_dict_string(d, "mac", p.mac.c_str());
        rte_tel_data_add_dict_u64(d, "link_up", p.link_up ? 1 : 0);
        rte_tel_data_add_dict_u64(d, "mtu", p.mtu);
        rte_tel_data_add_dict_u64(d, "rx_packets", p.rx_packets);
        rte_tel_data_add_dict_u64(d, "tx_packets", p.tx_packets);
        rte_tel_data_add_dict_u64(d, "rx_bytes", p.rx_bytes);
        rte_tel_data_add_dict_u64(d, "tx_bytes", p.tx_bytes);
        rte_tel_data_add_dict_u64(d, "rx_missed", p.rx_missed);
        rte_tel_data_add_dict_u64(d, "rx_errors", p.rx_errors);
        rte_tel_data_add_dict_u64(d, "tx_errors", p.tx_errors);
        return 0;
    }
    return -ENOENT;
}

int cmd_workers(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
    for (const ctl::WorkerView& w : s->workers) {
        rte_tel_data_add_array_u64(d, w.id);
    }
    return 0;
}

int cmd_worker(const char*, const char* params, rte_tel_data* d) {
    const auto s = current();
    if (!s || params == nullptr) {
        return -EINVAL;
    }
    const auto id = cfg::parse_number(params, 0, UINT32_MAX);
    for (const ctl::WorkerView& w : s->workers) {
        if (!id || w.id != *id) {
            continue;
        }
        rte_tel_data_start_dict(d);
        rte_tel_data_add_dict_u64(d, "lcore", w.lcore);
        rte_tel_data_add_dict_u64(d, "rx_packets", w.rx_packets);
        rte_tel_data_add_dict_u64(d, "tx_packets", w.tx_packets);
        rte_tel_data_add_dict_u64(d, "drops", w.drops);
        rte_tel_data_add_dict_u64(d, "loops", w.loops);
        rte_tel_data_add_dict_u64(d, "busy_loops", w.busy_loops);
        rte_tel_data_add_dict_u64(d, "connections", w.connections);
        rte_tel_data_add_dict_u64(d, "conn_table_size", s->conn_table_size);
        rte_tel_data_add_dict_u64(d, "created", w.created);
        rte_tel_data_add_dict_u64(d, "handed_off", w.handed_off);
        rte_tel_data_add_dict_u64(d, "taken_over", w.taken_over);
        return 0;
    }
    return -ENOENT;
}

int cmd_drops(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    rte_tel_data_start_dict(d);
    for (const ctl::DropView& v : s->drops) {
        rte_tel_data_add_dict_u64(d, v.reason.c_str(), v.count);
    }
    return 0;
}

int cmd_exception_path(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    rte_tel_data_start_dict(d);
    for (const NamedCounter& c : s->exception_path.counters) {
        rte_tel_data_add_dict_u64(d, c.name.c_str(), c.value);
    }
    return 0;
}

int cmd_sync(const char*, const char*, rte_tel_data* d) {
    const auto s = current();
    if (!s) {
        return -EAGAIN;
    }
    rte_tel_data_start_dict(d);
    for (const NamedCounter& c : s->sync) {
        rte_tel_data_add_dict_u64(d, c.name.c_str(), c.value);
    }
    return 0;
}

struct Command {
    const char* name;
    telemetry_cb fn;
    const char* help;
};

constexpr Command kCommands[] = {
    {"/dirigo/info", cmd_info, "Dirigo: version, workers, table size, totals. No parameters."},
    {"/dirigo/services", cmd_services, "Dirigo: the virtual services. No parameters."},
    {"/dirigo/service", cmd_service,
     "Dirigo: one service and its counters. Parameter: PROTO:VIP:PORT, e.g. TCP:10.0.0.100:80."},
    {"/dirigo/server", cmd_server,
     "Dirigo: one real server. Parameters: PROTO:VIP:PORT,RIP:RPORT."},
    {"/dirigo/ports", cmd_ports, "Dirigo: the port names. No parameters."},
    {"/dirigo/port", cmd_port, "Dirigo: one port's counters. Parameter: port name."},
    {"/dirigo/workers", cmd_workers, "Dirigo: the worker ids. No parameters."},
    {"/dirigo/worker", cmd_worker,
     "Dirigo: one worker's counters and connection table. Parameter: worker id."},
    {"/dirigo/drops", cmd_drops, "Dirigo: dropped packets by reason. No parameters."},
    {"/dirigo/exception_path", cmd_exception_path,
     "Dirigo: exception path counters. No parameters."},
    {"/dirigo/sync", cmd_sync, "Dirigo: connection sync counters. No parameters."},
};

}  // namespace

void TelemetryBoard::publish(std::shared_ptr<const Sample> s) {
    // Cleared before the publish: a request that arrives after this point asks again.
    wanted_.store(false, std::memory_order_release);
    {
        const std::lock_guard<std::mutex> lock(mu_);
        current_.swap(s);
        ++generation_;
    }
    cv_.notify_all();
    // `s` (the previous Sample) is released here, outside the lock; readers may still hold it.
}

std::shared_ptr<const Sample> TelemetryBoard::fresh(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t seen = generation_;
    // Pairs with wanted()'s acquire load on control, which then publishes.
    wanted_.store(true, std::memory_order_release);
    cv_.wait_for(lock, wait, [&] { return generation_ != seen; });
    return current_;
}

Status register_telemetry(TelemetryBoard* board) {
    // Pairs with the acquire load in current().
    g_board.store(board, std::memory_order_release);
    for (const Command& c : kCommands) {
        const int rc = rte_telemetry_register_cmd(c.name, c.fn, c.help);
        if (rc != 0) {
            return Status(Errc::Io, std::string("telemetry: cannot register ") + c.name + ": " +
                                        std::to_string(rc));
        }
    }
    return {};
}

}  // namespace dirigo::metrics
