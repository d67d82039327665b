// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/exposition.hpp"

#include <cstdint>
#include <string>

#include "config/addr.hpp"

namespace dirigo::metrics {
namespace {

/// Appends families and samples; one family's samples must follow its header.
class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}

    void family(std::string_view name, std::string_view help, std::string_view type) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    /// `labels` is the rendered `{...}` part, or empty.
    void sample(std::string_view name, std::string_view labels, uint64_t v) {
        out_ += name;
        out_ += labels;
        out_ += ' ';
        out_ += std::to_string(v);
        out_ += '\n';
    }

private:
    std::string& out_;
};

/// `{k1="v1",k2="v2"}` from pairs; values escaped.
std::string labels(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
    std::string s = "{";
    bool first = true;
    for (const auto& [k, v] : kv) {
        if (!first) {
            s += ',';
        }
        first = false;
        s += k;
        s += "=\"";
        s += escape_label(v);
        s += '"';
    }
    s += '}';
    return s;
}

/// node_exporter's backend labels, in the order its client library prints them (sorted).
/// A firewall-mark service's row is node_exporter's reading of an "FWM  1" line: no local
/// address, local port 0, proto "FWM", the mark in local_mark.
std::string backend_labels(const ctl::ServiceInfo& svc, const ctl::DestInfo& d) {
    const cfg::ServiceKey& k = svc.service.key;
    const bool fwm = k.fwmark != 0;
    // node_exporter prints addresses with Go's net.IP.String(): an IPv6 one unbracketed.
    const std::string laddr = fwm ? std::string() : cfg::format_addr(k.af, k.addr, k.addr6);
    const std::string lport = std::to_string(k.port);
    const std::string lmark = fwm ? std::to_string(k.fwmark) : std::string();
    const std::string raddr = cfg::format_addr(d.server.af, d.server.addr, d.server.addr6);
    const std::string rport = std::to_string(d.server.port);
    return labels({{"local_address", laddr},
                   {"local_mark", lmark},
                   {"local_port", lport},
                   {"proto", fwm ? std::string_view("FWM") : cfg::proto_name_upper(k.proto)},
                   {"remote_address", raddr},
                   {"remote_port", rport}});
}

struct Total {
    std::string_view name;
    std::string_view help;
    uint64_t ctl::Stats::*field;
};

void ipvs(Writer& w, const Sample& s) {
    // node_exporter's collector/ipvs_linux.go: names, help texts and types as it registers them.
    const Total totals[] = {
        {"node_ipvs_connections_total", "The total number of connections made.",
         &ctl::Stats::conns},
        {"node_ipvs_incoming_packets_total", "The total number of incoming packets.",
         &ctl::Stats::inpkts},
        {"node_ipvs_outgoing_packets_total", "The total number of outgoing packets.",
         &ctl::Stats::outpkts},
        {"node_ipvs_incoming_bytes_total", "The total amount of incoming data.",
         &ctl::Stats::inbytes},
        {"node_ipvs_outgoing_bytes_total", "The total amount of outgoing data.",
         &ctl::Stats::outbytes},
    };
    for (const Total& t : totals) {
        w.family(t.name, t.help, "counter");
        w.sample(t.name, "", s.totals.*(t.field));
    }
    // One label string per real server, reused by every family below.
    std::vector<std::string> keys;
    for (const ctl::ServiceInfo& svc : s.services) {
        for (const ctl::DestInfo& d : svc.dests) {
            keys.push_back(backend_labels(svc, d));
        }
    }
    struct Gauge {
        std::string_view name;
        std::string_view help;
        uint64_t (*value)(const ctl::DestInfo&);
    };
    const Gauge gauges[] = {
        {"node_ipvs_backend_connections_active",
         "The current active connections by local and remote address.",
         [](const ctl::DestInfo& d) -> uint64_t { return d.active; }},
        {"node_ipvs_backend_connections_inactive",
         "The current inactive connections by local and remote address.",
         [](const ctl::DestInfo& d) -> uint64_t { return d.inactive; }},
        {"node_ipvs_backend_weight", "The current backend weight by local and remote address.",
         [](const ctl::DestInfo& d) -> uint64_t {
             return d.server.weight < 0 ? 0 : static_cast<uint64_t>(d.server.weight);
         }},
        {"dirigo_backend_connections_persistent",
         "Persistence templates pointing at the real server (ipvsadm's PersistConn).",
         [](const ctl::DestInfo& d) -> uint64_t { return d.persistent; }},
    };
    for (const Gauge& g : gauges) {
        w.family(g.name, g.help, "gauge");
        size_t k = 0;
        for (const ctl::ServiceInfo& svc : s.services) {
            for (const ctl::DestInfo& d : svc.dests) {
                w.sample(g.name, keys[k++], g.value(d));
            }
        }
    }
    // Per real server traffic, as `ipvsadm -L --stats` shows it: zeroed by -Z (a counter reset,
    // which rate() and increase() handle).
    const Total backend[] = {
        {"dirigo_backend_connections_total", "Connections scheduled to the real server.",
         &ctl::Stats::conns},
        {"dirigo_backend_incoming_packets_total", "Packets from clients to the real server.",
         &ctl::Stats::inpkts},
        {"dirigo_backend_outgoing_packets_total", "Packets from the real server to clients.",
         &ctl::Stats::outpkts},
        {"dirigo_backend_incoming_bytes_total", "Bytes from clients to the real server.",
         &ctl::Stats::inbytes},
        {"dirigo_backend_outgoing_bytes_total", "Bytes from the real server to clients.",
         &ctl::Stats::outbytes},
    };
    for (const Total& t : backend) {
        w.family(t.name, t.help, "counter");
        size_t k = 0;
        for (const ctl::ServiceInfo& svc : s.services) {
            for (const ctl::DestInfo& d : svc.dests) {
                w.sample(t.name, keys[k++], d.stats.*(t.field));
            }
        }
    }
}

void dirigo_own(Writer& w, const Sample& s) {
    w.family("dirigo_info", "The running Dirigo's version.", "gauge");
    w.sample("dirigo_info", labels({{"version", s.version}}), 1);
    w.family("dirigo_services", "Virtual services configured.", "gauge");
    w.sample("dirigo_services", "", s.services.size());

    w.family("dirigo_drops_total",
             "Packets dropped, by reason (docs/architecture.md); conn_evicted, conn_drop_entry, "
             "secure_tcp_held and synp_cookie_sent, synp_cookie_valid, synp_handshake and "
             "synp_early_held count flood-defence decisions (docs/reliability.md); frag_in, "
             "frag_reassembled, frag_fragmented, frag_out and frag_needed count fragments "
             "(docs/forwarding.md).",
             "counter");
    for (const ctl::DropView& d : s.drops) {
        w.sample("dirigo_drops_total", labels({{"reason", d.reason}}), d.count);
    }

    // Ports: what the workers counted, then what the device itself counted.
    struct PortField {
        std::string_view name;
        std::string_view help;
        uint64_t ctl::PortView::*field;
    };
    const PortField port_fields[] = {
        {"dirigo_port_rx_packets_total", "Packets the workers received on the port.",
         &ctl::PortView::rx_packets},
        {"dirigo_port_tx_packets_total", "Packets the workers transmitted on the port.",
         &ctl::PortView::tx_packets},
        {"dirigo_port_rx_bytes_total", "Bytes the workers received on the port.",
         &ctl::PortView::rx_bytes},
        {"dirigo_port_tx_bytes_total", "Bytes the device transmitted.", &ctl::PortView::tx_bytes},
        {"dirigo_port_rx_missed_total", "Packets the device dropped for want of a descriptor.",
         &ctl::PortView::rx_missed},
        {"dirigo_port_rx_errors_total", "Receive errors the device counted.",
         &ctl::PortView::rx_errors},
        {"dirigo_port_tx_errors_total", "Transmit errors the device counted.",
         &ctl::PortView::tx_errors},
    };
    std::vector<std::string> port_keys;
    for (const ctl::PortView& p : s.ports) {
        port_keys.push_back(labels({{"device", p.device}, {"port", p.name}}));
    }
    for (const PortField& f : port_fields) {
        w.family(f.name, f.help, "counter");
        for (size_t i = 0; i < s.ports.size(); ++i) {
            w.sample(f.name, port_keys[i], s.ports[i].*(f.field));
        }
    }
    w.family("dirigo_port_up", "1 when the port's link is up.", "gauge");
    for (size_t i = 0; i < s.ports.size(); ++i) {
        w.sample("dirigo_port_up", port_keys[i], s.ports[i].link_up ? 1 : 0);
    }

    // Workers, and the occupancy of their connection tables.
    struct WorkerField {
        std::string_view name;
        std::string_view help;
        uint64_t ctl::WorkerView::*field;
    };
    const WorkerField worker_fields[] = {
        {"dirigo_worker_rx_packets_total", "Packets the worker received, all ports.",
         &ctl::WorkerView::rx_packets},
        {"dirigo_worker_tx_packets_total", "Packets the worker transmitted, all ports.",
         &ctl::WorkerView::tx_packets},
        {"dirigo_worker_drops_total", "Packets the worker dropped, all reasons.",
         &ctl::WorkerView::drops},
        {"dirigo_worker_loops_total", "Iterations of the worker's poll loop.",
         &ctl::WorkerView::loops},
        {"dirigo_worker_busy_loops_total", "Poll loop iterations that received packets.",
         &ctl::WorkerView::busy_loops},
        {"dirigo_worker_connections_created_total", "Connections the worker created.",
         &ctl::WorkerView::created},
        {"dirigo_worker_handed_off_total", "Packets passed to the worker that owns their flow.",
         &ctl::WorkerView::handed_off},
        {"dirigo_worker_taken_over_total", "Packets other workers passed to this one.",
         &ctl::WorkerView::taken_over},
    };
    std::vector<std::string> worker_keys;
    for (const ctl::WorkerView& v : s.workers) {
        worker_keys.push_back(
            labels({{"lcore", std::to_string(v.lcore)}, {"worker", std::to_string(v.id)}}));
    }
    for (const WorkerField& f : worker_fields) {
        w.family(f.name, f.help, "counter");
        for (size_t i = 0; i < s.workers.size(); ++i) {
            w.sample(f.name, worker_keys[i], s.workers[i].*(f.field));
        }
    }
    w.family("dirigo_conntrack_entries", "Live connections in the worker's table.", "gauge");
    for (size_t i = 0; i < s.workers.size(); ++i) {
        w.sample("dirigo_conntrack_entries", worker_keys[i], s.workers[i].connections);
    }
    w.family("dirigo_conntrack_capacity", "Size of the worker's connection table.", "gauge");
    for (size_t i = 0; i < s.workers.size(); ++i) {
        w.sample("dirigo_conntrack_capacity", worker_keys[i], s.conn_table_size);
    }

    // The exception path's counters (see ExceptionPathSample), one family each.
    for (const NamedCounter& c : s.exception_path.counters) {
        const std::string name = "dirigo_exception_path_" + c.name + "_total";
        w.family(name, "Exception path: " + c.name + ".", "counter");
        w.sample(name, "", c.value);
    }
    // Connection sync (docs/sync.md), one family each.
    for (const NamedCounter& c : s.sync) {
        const std::string name = "dirigo_sync_" + c.name + "_total";
        w.family(name, "Connection sync: " + c.name + ".", "counter");
        w.sample(name, "", c.value);
    }
}

}  // namespace

std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
                break;
        }
    }
    return out;
}

std::string render_prometheus(const Sample& s) {
    std::string out;
    out.reserve(4096 + 1024 * s.services.size());
    Writer w(out);
    ipvs(w, s);
    dirigo_own(w, s);
    return out;
}

}  // namespace dirigo::metrics
