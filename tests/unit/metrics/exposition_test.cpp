// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/exposition.hpp"

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace dirigo::metrics {
namespace {

constexpr cfg::Ip4 ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

ctl::DestInfo dest(cfg::Ip4 addr, uint16_t port, int32_t weight, uint32_t active, uint32_t inactive,
                   uint64_t conns) {
    ctl::DestInfo d;
    d.server.addr = addr;
    d.server.port = port;
    d.server.weight = weight;
    d.active = active;
    d.inactive = inactive;
    d.stats.conns = conns;
    return d;
}

Sample example() {
    Sample s;
    s.version = "0.1.0";
    s.conn_table_size = 1024;
    s.totals = {7, 70, 60, 7000, 6000};
    ctl::ServiceInfo svc;
    svc.service.key = {cfg::Proto::Tcp, ip(10, 0, 0, 100), 80};
    svc.dests.push_back(dest(ip(172, 16, 0, 11), 80, 1, 3, 1, 4));
    svc.dests.push_back(dest(ip(172, 16, 0, 12), 8080, 2, 0, 2, 3));
    s.services.push_back(svc);
    ctl::ServiceInfo udp;
    udp.service.key = {cfg::Proto::Udp, ip(10, 0, 0, 100), 53};
    udp.dests.push_back(dest(ip(172, 16, 0, 11), 53, 1, 0, 0, 0));
    s.services.push_back(udp);
    ctl::ServiceInfo fwm;  // ipvsadm -A -f 7, a server with port 0
    fwm.service.key.fwmark = 7;
    fwm.dests.push_back(dest(ip(172, 16, 0, 13), 0, 1, 2, 0, 2));
    s.services.push_back(fwm);
    ctl::PortView p;
    p.name = "ext";
    p.device = "net_af_packet0";
    p.rx_packets = 11;
    p.link_up = true;
    s.ports.push_back(p);
    s.drops = {{"no_route", 5}, {"no_service", 0}};
    ctl::WorkerView w;
    w.id = 0;
    w.lcore = 1;
    w.rx_packets = 11;
    w.connections = 2;
    s.workers.push_back(w);
    return s;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const std::string& l : lines(text)) {
        if (l == line) {
            return true;
        }
    }
    return false;
}

const std::string kRs1 = R"({local_address="10.0.0.100",local_mark="",local_port="80",proto="TCP",)"
                         R"(remote_address="172.16.0.11",remote_port="80"})";
const std::string kRs2 = R"({local_address="10.0.0.100",local_mark="",local_port="80",proto="TCP",)"
                         R"(remote_address="172.16.0.12",remote_port="8080"})";
const std::string kUdp = R"({local_address="10.0.0.100",local_mark="",local_port="53",proto="UDP",)"
                         R"(remote_address="172.16.0.11",remote_port="53"})";
// node_exporter's reading of an "FWM  7" row: no local address, port 0, the mark.
const std::string kFwm = R"({local_address="",local_mark="7",local_port="0",proto="FWM",)"
                         R"(remote_address="172.16.0.13",remote_port="0"})";

TEST(Exposition, NodeExporterTotals) {
    const std::string t = render_prometheus(example());
    EXPECT_TRUE(
        has_line(t, "# HELP node_ipvs_connections_total The total number of connections made."));
    EXPECT_TRUE(has_line(t, "# TYPE node_ipvs_connections_total counter"));
    EXPECT_TRUE(has_line(t, "node_ipvs_connections_total 7"));
    EXPECT_TRUE(has_line(t, "node_ipvs_incoming_packets_total 70"));
    EXPECT_TRUE(has_line(t, "node_ipvs_outgoing_packets_total 60"));
    EXPECT_TRUE(has_line(t, "node_ipvs_incoming_bytes_total 7000"));
    EXPECT_TRUE(has_line(t, "node_ipvs_outgoing_bytes_total 6000"));
}

TEST(Exposition, NodeExporterBackendGauges) {
    const std::string t = render_prometheus(example());
    EXPECT_TRUE(has_line(t, "# TYPE node_ipvs_backend_connections_active gauge"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_connections_active" + kRs1 + " 3"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_connections_active" + kRs2 + " 0"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_connections_inactive" + kRs1 + " 1"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_connections_inactive" + kRs2 + " 2"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_weight" + kRs1 + " 1"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_weight" + kRs2 + " 2"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_weight" + kUdp + " 1"));
    EXPECT_TRUE(has_line(t, "dirigo_backend_connections_total" + kRs1 + " 4"));
    EXPECT_TRUE(has_line(t, "node_ipvs_backend_connections_active" + kFwm + " 2"));
}

TEST(Exposition, DirigoOwn) {
    const std::string t = render_prometheus(example());
    EXPECT_TRUE(has_line(t, R"(dirigo_info{version="0.1.0"} 1)"));
    EXPECT_TRUE(has_line(t, R"(dirigo_drops_total{reason="no_route"} 5)"));
    EXPECT_TRUE(has_line(t, R"(dirigo_drops_total{reason="no_service"} 0)"));
    EXPECT_TRUE(
        has_line(t, R"(dirigo_port_rx_packets_total{device="net_af_packet0",port="ext"} 11)"));
    EXPECT_TRUE(has_line(t, R"(dirigo_port_up{device="net_af_packet0",port="ext"} 1)"));
    EXPECT_TRUE(has_line(t, R"(dirigo_worker_rx_packets_total{lcore="1",worker="0"} 11)"));
    EXPECT_TRUE(has_line(t, R"(dirigo_conntrack_entries{lcore="1",worker="0"} 2)"));
    EXPECT_TRUE(has_line(t, R"(dirigo_conntrack_capacity{lcore="1",worker="0"} 1024)"));
    EXPECT_TRUE(has_line(t, "dirigo_services 3"));
    // No exception path yet: no family for it.
    EXPECT_EQ(t.find("dirigo_exception_path_"), std::string::npos);
}

TEST(Exposition, ExceptionPathCounters) {
    Sample s = example();
    s.exception_path.counters.push_back({"to_host", 12});
    const std::string t = render_prometheus(s);
    EXPECT_TRUE(has_line(t, "# TYPE dirigo_exception_path_to_host_total counter"));
    EXPECT_TRUE(has_line(t, "dirigo_exception_path_to_host_total 12"));
}

// The text format's grammar, line by line: every family has one HELP and one TYPE before its
// samples, its samples are contiguous, names and labels are well formed, values are integers.
TEST(Exposition, WellFormed) {
    Sample s = example();
    s.ports[0].name = "a\"b\\c\nd";  // cannot come from the config; escaping must hold anyway
    const std::string t = render_prometheus(s);
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(t.back(), '\n');
    const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
    const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
    const std::regex sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? [0-9]+)");
    std::set<std::string> seen;
    std::string current;
    for (const std::string& l : lines(t)) {
        std::smatch m;
        if (std::regex_match(l, m, help)) {
            EXPECT_TRUE(seen.insert(m[1]).second) << "family twice: " << m[1];
            current = m[1];
        } else if (std::regex_match(l, m, type)) {
            EXPECT_EQ(m[1], current) << l;
        } else if (std::regex_match(l, m, sample)) {
            EXPECT_EQ(m[1], current) << "sample outside its family: " << l;
        } else {
            ADD_FAILURE() << "not a valid exposition line: " << l;
        }
    }
    EXPECT_TRUE(seen.count("node_ipvs_backend_weight"));
}

TEST(Exposition, EscapeLabel) {
    EXPECT_EQ(escape_label("plain"), "plain");
    EXPECT_EQ(escape_label("a\"b"), "a\\\"b");
    EXPECT_EQ(escape_label("a\\b"), "a\\\\b");
    EXPECT_EQ(escape_label("a\nb"), "a\\nb");
}

TEST(Exposition, EmptySample) {
    const std::string t = render_prometheus(Sample{});
    EXPECT_TRUE(has_line(t, "node_ipvs_connections_total 0"));
    EXPECT_TRUE(has_line(t, "# TYPE node_ipvs_backend_weight gauge"));
}

}  // namespace
}  // namespace dirigo::metrics
