// SPDX-License-Identifier: BSD-3-Clause
// Golden output of dirigoadm's listings. The expected text is laid out with ipvsadm 1.31's own
// printf formats (print_title, print_service_entry, print_largenum, print_conn, list_timeout),
// column for column and with ipvsadm's trailing blanks; only the banner line is dirigo's.

#include "cli/format.hpp"

#include <netinet/in.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/addr.hpp"

namespace dirigo::ctl::cli {
namespace {

constexpr cfg::Ip4 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return (cfg::Ip4{a} << 24) | (cfg::Ip4{b} << 16) | (cfg::Ip4{c} << 8) | d;
}

DestInfo dest(cfg::Ip4 addr, uint16_t port, cfg::Fwd fwd, int32_t weight, uint32_t active,
              uint32_t inactive, uint32_t persistent, Stats stats, Rates rates, uint32_t uthr = 0,
              uint32_t lthr = 0) {
    DestInfo d;
    d.server.addr = addr;
    d.server.port = port;
    d.server.fwd = fwd;
    d.server.weight = weight;
    d.server.u_threshold = uthr;
    d.server.l_threshold = lthr;
    d.active = active;
    d.inactive = inactive;
    d.persistent = persistent;
    d.stats = stats;
    d.rates = rates;
    return d;
}

const Info kInfo{"0.1.0", 4096, 2};

/// Three services, deliberately out of order (and with real servers out of order) so that the
/// listings also check ipvsadm's sorting: protocol, then address, then port.
std::vector<ServiceInfo> services() {
    ServiceInfo udp;
    udp.service.key = {cfg::Proto::Udp, ip(10, 0, 0, 2), 53};
    udp.service.scheduler = "wlc";
    udp.service.flags = cfg::kSvcPersistent;
    udp.service.timeout = 300;
    udp.service.netmask = ip(255, 255, 255, 0);
    udp.stats = {7, 70, 0, 5600, 0};
    udp.rates = {0, 1, 0, 80, 0};
    udp.dests = {dest(ip(172, 16, 0, 21), 53, cfg::Fwd::Route, 1, 0, 3, 9, {7, 70, 0, 5600, 0},
                      {0, 1, 0, 80, 0})};

    ServiceInfo web;
    web.service.key = {cfg::Proto::Tcp, ip(10, 0, 0, 1), 80};
    web.service.scheduler = "rr";
    web.stats = {12, 123456789, 99999999, 98765432101ULL, 123456789012345ULL};
    web.rates = {5, 1500, 1400, 1234567890, 150000000};
    web.dests = {
        dest(ip(172, 16, 115, 104), 8080, cfg::Fwd::Masq, 2, 5, 0, 3,
             {2, 99999999, 100000000, 999999999, 1000000000},
             {1, 123456789, 8, 1999999999, 100000000000000ULL}, 500, 100),
        dest(ip(172, 16, 115, 103), 80, cfg::Fwd::Masq, 1, 0, 1, 0,
             {10, 2000, 1900, 300000, 2800000}, {2, 700, 650, 56000, 520000}),
    };

    ServiceInfo tls;
    tls.service.key = {cfg::Proto::Tcp, ip(10, 0, 0, 1), 443};
    tls.service.scheduler = "sh";
    tls.service.flags = cfg::kSvcSched1 | cfg::kSvcSched2;
    tls.dests = {dest(ip(172, 16, 0, 31), 443, cfg::Fwd::Tunnel, 100, 1234567, 7, 0, {}, {})};

    return {udp, web, tls};
}

FormatOpts numeric() {
    FormatOpts o;
    o.numeric = true;
    return o;
}

const NumericNamer kNoNames;

// Generated from ipvsadm's format strings; see the file comment.
const std::string kListN =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    "TCP  10.0.0.1:80 rr\n"
    "  -> 172.16.115.103:80            Masq    1      0          1         \n"
    "  -> 172.16.115.104:8080          Masq    2      5          0         \n"
    "TCP  10.0.0.1:443 sh (sh-fallback,sh-port)\n"
    "  -> 172.16.0.31:443              Tunnel  100    1234567    7         \n"
    "UDP  10.0.0.2:53 wlc persistent 300 mask 255.255.255.0\n"
    "  -> 172.16.0.21:53               Route   1      0          3         \n";

const std::string kListStats =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
    "  -> RemoteAddress:Port\n"
    "TCP  10.0.0.1:80                        12  123456K 99999999   98765M     123T\n"
    "  -> 172.16.115.103:80                  10     2000     1900   300000  2800000\n"
    "  -> 172.16.115.104:8080                 2 99999999  100000K  999999K    1000M\n"
    "TCP  10.0.0.1:443                        0        0        0        0        0\n"
    "  -> 172.16.0.31:443                     0        0        0        0        0\n"
    "UDP  10.0.0.2:53                         7       70        0     5600        0\n"
    "  -> 172.16.0.21:53                      7       70        0     5600        0\n";

const std::string kListStatsExact =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
    "  -> RemoteAddress:Port\n"
    "TCP  10.0.0.1:80                        12 123456789 99999999 98765432101 123456789012345\n"
    "  -> 172.16.115.103:80                  10     2000     1900   300000  2800000\n"
    "  -> 172.16.115.104:8080                 2 99999999 100000000 999999999 1000000000\n"
    "TCP  10.0.0.1:443                        0        0        0        0        0\n"
    "  -> 172.16.0.31:443                     0        0        0        0        0\n"
    "UDP  10.0.0.2:53                         7       70        0     5600        0\n"
    "  -> 172.16.0.21:53                      7       70        0     5600        0\n";

const std::string kListRate =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
    "  -> RemoteAddress:Port\n"
    "TCP  10.0.0.1:80                         5     1500     1400    1234M  150000K\n"
    "  -> 172.16.115.103:80                   2      700      650    56000   520000\n"
    "  -> 172.16.115.104:8080                 1 123456789        8    1999M     100T\n"
    "TCP  10.0.0.1:443                        0        0        0        0        0\n"
    "  -> 172.16.0.31:443                     0        0        0        0        0\n"
    "UDP  10.0.0.2:53                         0        1        0       80        0\n"
    "  -> 172.16.0.21:53                      0        1        0       80        0\n";

const std::string kListRateExact =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
    "  -> RemoteAddress:Port\n"
    "TCP  10.0.0.1:80                         5     1500     1400 1234567890 150000000\n"
    "  -> 172.16.115.103:80                   2      700      650    56000   520000\n"
    "  -> 172.16.115.104:8080                 1 123456789        8 1999999999 100000000000000\n"
    "TCP  10.0.0.1:443                        0        0        0        0        0\n"
    "  -> 172.16.0.31:443                     0        0        0        0        0\n"
    "UDP  10.0.0.2:53                         0        1        0       80        0\n"
    "  -> 172.16.0.21:53                      0        1        0       80        0\n";

const std::string kListThresholds =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
    "  -> RemoteAddress:Port\n"
    "TCP  10.0.0.1:80 rr\n"
    "  -> 172.16.115.103:80            0          0          0          1         \n"
    "  -> 172.16.115.104:8080          500        100        5          0         \n"
    "TCP  10.0.0.1:443 sh (sh-fallback,sh-port)\n"
    "  -> 172.16.0.31:443              0          0          1234567    7         \n"
    "UDP  10.0.0.2:53 wlc persistent 300 mask 255.255.255.0\n"
    "  -> 172.16.0.21:53               0          0          0          3         \n";

const std::string kListPersistentConn =
    "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
    "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
    "  -> RemoteAddress:Port\n"
    "TCP  10.0.0.1:80 rr\n"
    "  -> 172.16.115.103:80            1         0           0          1         \n"
    "  -> 172.16.115.104:8080          2         3           5          0         \n"
    "TCP  10.0.0.1:443 sh (sh-fallback,sh-port)\n"
    "  -> 172.16.0.31:443              100       0           1234567    7         \n"
    "UDP  10.0.0.2:53 wlc persistent 300 mask 255.255.255.0\n"
    "  -> 172.16.0.21:53               1         9           0          3         \n";

const std::string kConns =
    "IPVS connection entries\n"
    "pro expire state       source             virtual            destination\n"
    "TCP 14:59  ESTABLISHED 192.168.1.10:40000 10.0.0.1:80        172.16.115.103:80\n"
    "TCP 01:59  FIN_WAIT    192.168.1.11:51234 10.0.0.1:80        172.16.115.104:8080\n"
    "UDP 00:05  UDP         192.168.100.200:65535 10.0.0.2:53        172.16.0.21:53\n"
    "TCP 100:00 NONE        0.0.0.0:0          10.0.0.1:443       172.16.0.31:443\n";

TEST(Format, ListNumeric) {
    EXPECT_EQ(format_list(kInfo, services(), numeric(), kNoNames), kListN);
}

TEST(Format, ListStats) {
    FormatOpts o = numeric();
    o.stats = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListStats);
    o.exact = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListStatsExact);
}

TEST(Format, ListRate) {
    FormatOpts o = numeric();
    o.rate = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListRate);
    o.exact = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListRateExact);
}

TEST(Format, StatsWinOverRateAsInIpvsadm) {
    FormatOpts o = numeric();
    o.stats = true;
    o.rate = true;
    o.thresholds = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListStats);
}

TEST(Format, ListThresholdsAndPersistentConn) {
    FormatOpts o = numeric();
    o.thresholds = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListThresholds);
    o = numeric();
    o.persistent_conn = true;
    EXPECT_EQ(format_list(kInfo, services(), o, kNoNames), kListPersistentConn);
}

TEST(Format, ListTunnelInfo) {
    FormatOpts o = numeric();
    o.tun_info = true;
    EXPECT_EQ(
        format_list(kInfo, services(), o, kNoNames),
        "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
        "TCP  10.0.0.1:80 rr\n"
        "  -> 172.16.115.103:80            Masq    n/a           1      0          1         \n"
        "  -> 172.16.115.104:8080          Masq    n/a           2      5          0         \n"
        "TCP  10.0.0.1:443 sh (sh-fallback,sh-port)\n"
        "  -> 172.16.0.31:443              Tunnel  ipip          100    1234567    7         \n"
        "UDP  10.0.0.2:53 wlc persistent 300 mask 255.255.255.0\n"
        "  -> 172.16.0.21:53               Route   n/a           1      0          3         \n");
}

/// A service with one server of each tunnel kind, for --tun-info and -S.
ServiceInfo tunnels() {
    ServiceInfo s;
    s.service.key = {cfg::Proto::Udp, ip(10, 0, 0, 7), 4789};
    s.service.scheduler = "rr";
    auto tun = [](cfg::Ip4 addr, cfg::TunType t, uint16_t port, cfg::TunCsum c) {
        DestInfo d = dest(addr, 4789, cfg::Fwd::Tunnel, 1, 0, 0, 0, {}, {});
        d.server.tun_type = t;
        d.server.tun_port = port;
        d.server.tun_csum = c;
        return d;
    };
    s.dests = {tun(ip(172, 16, 0, 41), cfg::TunType::Gue, 6080, cfg::TunCsum::None),
               tun(ip(172, 16, 0, 42), cfg::TunType::Gue, 65535, cfg::TunCsum::RemCsum),
               tun(ip(172, 16, 0, 43), cfg::TunType::Gre, 0, cfg::TunCsum::Csum),
               tun(ip(172, 16, 0, 44), cfg::TunType::Gre, 0, cfg::TunCsum::None),
               tun(ip(172, 16, 0, 45), cfg::TunType::Ipip, 0, cfg::TunCsum::None)};
    return s;
}

TEST(Format, TunnelInfoOfGueAndGre) {
    // ipvsadm 1.31's fwd_tun_info: type[:port]:flags, flags -c, +c or r+c.
    FormatOpts o = numeric();
    o.tun_info = true;
    EXPECT_EQ(format_service(tunnels(), o, kNoNames),
              "UDP  10.0.0.7:4789 rr\n"
              "  -> 172.16.0.41:4789             Tunnel  gue:6080:-c   1      0          0         \n"
              "  -> 172.16.0.42:4789             Tunnel  gue:65535:r+c 1      0          0         \n"
              "  -> 172.16.0.43:4789             Tunnel  gre:+c        1      0          0         \n"
              "  -> 172.16.0.44:4789             Tunnel  gre:-c        1      0          0         \n"
              "  -> 172.16.0.45:4789             Tunnel  ipip          1      0          0         \n");
}

TEST(Format, SaveOfGueAndGre) {
    // ipvsadm 1.31's print_tunnel_rule.
    EXPECT_EQ(format_save({tunnels()}, numeric(), kNoNames),
              "-A -u 10.0.0.7:4789 -s rr\n"
              "-a -u 10.0.0.7:4789 -r 172.16.0.41:4789 -i -w 1 --tun-type gue --tun-port 6080 "
              "--tun-nocsum\n"
              "-a -u 10.0.0.7:4789 -r 172.16.0.42:4789 -i -w 1 --tun-type gue --tun-port 65535 "
              "--tun-remcsum\n"
              "-a -u 10.0.0.7:4789 -r 172.16.0.43:4789 -i -w 1 --tun-type gre --tun-csum\n"
              "-a -u 10.0.0.7:4789 -r 172.16.0.44:4789 -i -w 1 --tun-type gre --tun-nocsum\n"
              "-a -u 10.0.0.7:4789 -r 172.16.0.45:4789 -i -w 1 --tun-type ipip\n");
}

TEST(Format, NoSortKeepsTheDaemonsOrder) {
    FormatOpts o = numeric();
    o.nosort = true;
    const std::string out = format_list(kInfo, services(), o, kNoNames);
    EXPECT_LT(out.find("UDP  10.0.0.2:53"), out.find("TCP  10.0.0.1:80"));
    EXPECT_LT(out.find("172.16.115.104:8080"), out.find("172.16.115.103:80"));
}

TEST(Format, EmptyTable) {
    EXPECT_EQ(format_list(kInfo, {}, numeric(), kNoNames),
              "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    EXPECT_EQ(format_banner(Info{"1.2.3", 1048576, 4}),
              "Dirigo Virtual Server version 1.2.3 (size=1048576)\n");
}

TEST(Format, OneServiceHasNoBanner) {
    const ServiceInfo web = services()[1];
    EXPECT_EQ(format_title(numeric()) + format_service(web, numeric(), kNoNames),
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.1:80 rr\n"
              "  -> 172.16.115.103:80            Masq    1      0          1         \n"
              "  -> 172.16.115.104:8080          Masq    2      5          0         \n");
}

TEST(Format, ServiceFlags) {
    ServiceInfo s;
    s.service.key = {cfg::Proto::Udp, ip(10, 0, 0, 5), 0};
    s.service.scheduler = "wrr";
    s.service.flags = cfg::kSvcPersistent | cfg::kSvcOnePacket | cfg::kSvcSched1 | cfg::kSvcSched3;
    s.service.timeout = 3600;
    EXPECT_EQ(format_service(s, numeric(), kNoNames),
              "UDP  10.0.0.5:0 wrr (flag-1,flag-3) persistent 3600 ops\n");
    EXPECT_EQ(sched_flags_text(s.service), "flag-1,flag-3");
    // ipvsadm drops flag-3 for sh and mh (printing "sh ()" and a "-b " that -R rejects); dirigo
    // keeps it so that -S output always restores.
    s.service.scheduler = "mh";
    EXPECT_EQ(sched_flags_text(s.service), "mh-fallback,flag-3");
    s.service.scheduler = "sh";
    s.service.flags = cfg::kSvcSched2;
    EXPECT_EQ(sched_flags_text(s.service), "sh-port");
    s.service.flags = 0;
    EXPECT_EQ(sched_flags_text(s.service), "");
}

TEST(Format, Save) {
    EXPECT_EQ(format_save(services(), numeric(), kNoNames),
              "-A -t 10.0.0.1:80 -s rr\n"
              "-a -t 10.0.0.1:80 -r 172.16.115.103:80 -m -w 1\n"
              "-a -t 10.0.0.1:80 -r 172.16.115.104:8080 -m -w 2\n"
              "-A -t 10.0.0.1:443 -s sh -b sh-fallback,sh-port\n"
              "-a -t 10.0.0.1:443 -r 172.16.0.31:443 -i -w 100 --tun-type ipip\n"
              "-A -u 10.0.0.2:53 -s wlc -p 300 -M 255.255.255.0\n"
              "-a -u 10.0.0.2:53 -r 172.16.0.21:53 -g -w 1\n");
    ServiceInfo ops;
    ops.service.key = {cfg::Proto::Udp, ip(10, 0, 0, 9), 0};
    ops.service.scheduler = "rr";
    ops.service.flags = cfg::kSvcPersistent | cfg::kSvcOnePacket;
    ops.service.timeout = 60;
    EXPECT_EQ(format_save({ops}, numeric(), kNoNames), "-A -u 10.0.0.9:0 -s rr -p 60 -o\n");
    EXPECT_EQ(format_save({}, numeric(), kNoNames), "");
}

/// ipvsadm -A -f 1 -s rr -p 300 with -a -f 1 -r 172.16.0.11 -m (and .12): the FWM rows come
/// after every address service, as ipvsadm sorts them.
ServiceInfo fwm_service() {
    ServiceInfo f;
    f.service.key.fwmark = 1;
    f.service.scheduler = "rr";
    f.service.flags = cfg::kSvcPersistent;
    f.service.timeout = 300;
    f.stats = {4, 40, 30, 4000, 3000};
    f.dests = {
        dest(ip(172, 16, 0, 12), 0, cfg::Fwd::Masq, 1, 1, 0, 2, {2, 20, 15, 2000, 1500}, {}),
        dest(ip(172, 16, 0, 11), 0, cfg::Fwd::Masq, 1, 0, 1, 2, {2, 20, 15, 2000, 1500}, {})};
    return f;
}

TEST(Format, FwmarkRowsAsIpvsadm) {
    std::vector<ServiceInfo> all = {fwm_service(), services()[1]};
    EXPECT_EQ(format_list(kInfo, all, numeric(), kNoNames).substr(format_banner(kInfo).size()),
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.1:80 rr\n"
              "  -> 172.16.115.103:80            Masq    1      0          1         \n"
              "  -> 172.16.115.104:8080          Masq    2      5          0         \n"
              "FWM  1 rr persistent 300\n"
              "  -> 172.16.0.11:0                Masq    1      0          1         \n"
              "  -> 172.16.0.12:0                Masq    1      1          0         \n");
    FormatOpts stats = numeric();
    stats.stats = true;
    EXPECT_EQ(format_service(fwm_service(), stats, kNoNames),
              "FWM  1                                   4       40       30     4000     3000\n"
              "  -> 172.16.0.11:0                       2       20       15     2000     1500\n"
              "  -> 172.16.0.12:0                       2       20       15     2000     1500\n");
    FormatOpts rate = numeric();
    rate.rate = true;
    EXPECT_EQ(format_service(fwm_service(), rate, kNoNames).substr(0, 34),
              "FWM  1                            ");
}

TEST(Format, FwmarkTemplateConnectionIsListedAsIp) {
    // ipvsadm -Lcn of a fwmark service's template: protocol IP, the mark as the virtual address.
    ConnInfo t;
    t.proto = 0;
    t.state = "NONE";
    t.expires_ms = 299000;
    t.caddr = 0x0a000002;
    t.vaddr = 1;
    t.daddr = 0xac10000b;
    EXPECT_EQ(format_conns({t}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "IP  04:59  NONE        10.0.0.2:0         0.0.0.1:0          172.16.0.11:0\n");
}

TEST(Format, FwmarkSaveAsIpvsadm) {
    EXPECT_EQ(format_save({fwm_service(), services()[1]}, numeric(), kNoNames),
              "-A -t 10.0.0.1:80 -s rr\n"
              "-a -t 10.0.0.1:80 -r 172.16.115.103:80 -m -w 1\n"
              "-a -t 10.0.0.1:80 -r 172.16.115.104:8080 -m -w 2\n"
              "-A -f 1 -s rr -p 300\n"
              "-a -f 1 -r 172.16.0.11:0 -m -w 1\n"
              "-a -f 1 -r 172.16.0.12:0 -m -w 1\n");
}

/// IPv6 services as ipvsadm 1.31 prints them: endpoints bracketed, never cut (the IPv4 columns
/// of 33 and 28 overflow), -M as a prefix length, "FWM  7 IPv6" and "-f 7 -6" for an IPv6 mark;
/// a tunnelling server of the other family is printed in its own family, sorted first.
cfg::Ip6 ip6(const char* s) {
    return *cfg::parse_ip6(s);
}

DestInfo dest6(const char* addr, uint16_t port, cfg::Fwd fwd, int32_t weight, uint32_t active,
               uint32_t inactive) {
    DestInfo d = dest(0, port, fwd, weight, active, inactive, 0, {}, {});
    d.server.af = cfg::Family::Inet6;
    d.server.addr6 = ip6(addr);
    return d;
}

std::vector<ServiceInfo> v6_services() {
    ServiceInfo web;
    web.service.key.af = cfg::Family::Inet6;
    web.service.key.addr6 = ip6("2001:db8::100");
    web.service.key.port = 80;
    web.service.scheduler = "rr";
    web.service.flags = cfg::kSvcPersistent;
    web.service.timeout = 300;
    web.service.prefix6 = 64;
    web.dests = {dest6("2001:db8:1234:5678:9abc:def0:1234:5678", 8080, cfg::Fwd::Masq, 2, 0, 1),
                 dest6("2001:db8:1::11", 80, cfg::Fwd::Masq, 1, 2, 3),
                 dest(ip(10, 0, 0, 11), 80, cfg::Fwd::Tunnel, 1, 0, 0, 0, {}, {})};
    ServiceInfo fwm;
    fwm.service.key.fwmark = 7;
    fwm.service.key.af = cfg::Family::Inet6;
    fwm.service.scheduler = "rr";
    fwm.dests = {dest6("2001:db8:1::21", 0, cfg::Fwd::Route, 1, 0, 0)};
    return {fwm, web};
}

TEST(Format, Ipv6ListAsIpvsadm) {
    EXPECT_EQ(format_list(kInfo, v6_services(), numeric(), kNoNames)
                  .substr(format_banner(kInfo).size()),
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  [2001:db8::100]:80 rr persistent 300 mask 64\n"
              "  -> 10.0.0.11:80                 Tunnel  1      0          0         \n"
              "  -> [2001:db8:1::11]:80          Masq    1      2          3         \n"
              "  -> [2001:db8:1234:5678:9abc:def0:1234:5678]:8080 Masq    2      0          1         \n"
              "FWM  7 IPv6 rr\n"
              "  -> [2001:db8:1::21]:0           Route   1      0          0         \n");
    // The default /128 is not printed.
    std::vector<ServiceInfo> plain = v6_services();
    plain[1].service.prefix6 = 128;
    plain[1].dests.clear();
    EXPECT_EQ(format_service(plain[1], numeric(), kNoNames),
              "TCP  [2001:db8::100]:80 rr persistent 300\n");
    // A long VIP overflows the stats column instead of being cut.
    ServiceInfo wide = plain[1];
    wide.service.key.addr6 = ip6("2001:db8:1234:5678:9abc:def0:1234:5678");
    wide.service.key.port = 443;
    FormatOpts stats = numeric();
    stats.stats = true;
    EXPECT_EQ(format_service(wide, stats, kNoNames),
              "TCP  [2001:db8:1234:5678:9abc:def0:1234:5678]:443        0        0        0        0"
              "        0\n");
    FormatOpts thr = numeric();
    thr.thresholds = true;
    EXPECT_EQ(format_service(v6_services()[0], thr, kNoNames),
              "FWM  7 IPv6 rr\n"
              "  -> [2001:db8:1::21]:0           0          0          0          0         \n");
}

TEST(Format, Ipv6SaveAsIpvsadm) {
    EXPECT_EQ(format_save(v6_services(), numeric(), kNoNames),
              "-A -t [2001:db8::100]:80 -s rr -p 300 -M 64\n"
              "-a -t [2001:db8::100]:80 -r 10.0.0.11:80 -i -w 1 --tun-type ipip\n"
              "-a -t [2001:db8::100]:80 -r [2001:db8:1::11]:80 -m -w 1\n"
              "-a -t [2001:db8::100]:80 -r [2001:db8:1234:5678:9abc:def0:1234:5678]:8080 -m -w 2\n"
              "-A -f 7 -6 -s rr\n"
              "-a -f 7 -6 -r [2001:db8:1::21]:0 -g -w 1\n");
}

TEST(Format, Ipv6ConnectionsAsIpvsadm) {
    ConnInfo c;
    c.proto = 6;
    c.state = "ESTABLISHED";
    c.expires_ms = 899000;
    c.af = cfg::Family::Inet6;
    c.caddr6 = ip6("2001:db8:9::1");
    c.cport = 40000;
    c.vaddr6 = ip6("2001:db8::100");
    c.vport = 80;
    c.daddr6 = ip6("2001:db8:1::11");
    c.dport = 80;
    EXPECT_EQ(format_conns({c}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "TCP 14:59  ESTABLISHED [2001:db8:9::1]:40000 [2001:db8::100]:80 "
              "[2001:db8:1::11]:80\n");
}

TEST(Format, MixedFamilyTunnelConnectionAsIpvsadm) {
    // An IPv6 service's IPv4 tunnel server (IPv6-in-IPv4): the destination in its own family.
    ConnInfo c;
    c.proto = 17;
    c.state = "UDP";
    c.expires_ms = 299000;
    c.af = cfg::Family::Inet6;
    c.caddr6 = ip6("2001:db8:9::1");
    c.cport = 5353;
    c.vaddr6 = ip6("2001:db8::100");
    c.vport = 53;
    c.daddr = ip(172, 16, 0, 11);
    c.dport = 53;
    EXPECT_EQ(format_conns({c}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "UDP 04:59  UDP         [2001:db8:9::1]:5353 [2001:db8::100]:53 172.16.0.11:53\n");
}

TEST(Format, Ipv4ConnectionToAnIpv6TunnelServerAsIpvsadm) {
    // An IPv4 service's IPv6 tunnel server (IPv4-in-IPv6): the destination in its own family,
    // bracketed, overflowing its column as ipvsadm's.
    ConnInfo c;
    c.proto = 6;
    c.state = "ESTABLISHED";
    c.expires_ms = 899000;
    c.caddr = ip(10, 0, 0, 2);
    c.cport = 40000;
    c.vaddr = ip(10, 0, 0, 100);
    c.vport = 80;
    c.daddr6 = ip6("2001:db8:2::11");
    c.dport = 80;
    EXPECT_EQ(format_conns({c}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "TCP 14:59  ESTABLISHED 10.0.0.2:40000     10.0.0.100:80      [2001:db8:2::11]:80\n");
}

TEST(Format, Ipv4ServiceWithIpv6GueServerAsIpvsadm) {
    ServiceInfo web;
    web.service.key.addr = ip(10, 0, 0, 100);
    web.service.key.port = 80;
    web.service.scheduler = "rr";
    DestInfo d = dest6("2001:db8:2::11", 80, cfg::Fwd::Tunnel, 1, 0, 0);
    d.server.tun_type = cfg::TunType::Gue;
    d.server.tun_port = 6080;
    d.server.tun_csum = cfg::TunCsum::Csum;
    web.dests = {d};
    // ipvsadm prints a server in its own family (the dest's af), bracketed when IPv6.
    EXPECT_EQ(format_list(kInfo, {web}, numeric(), kNoNames),
              "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.100:80 rr\n"
              "  -> [2001:db8:2::11]:80          Tunnel  1      0          0         \n");
    EXPECT_EQ(format_save({web}, numeric(), kNoNames),
              "-A -t 10.0.0.100:80 -s rr\n"
              "-a -t 10.0.0.100:80 -r [2001:db8:2::11]:80 -i -w 1 --tun-type gue --tun-port 6080 "
              "--tun-csum\n");
}

// IPv6 persistence templates as ipvsadm -Lnc lists them: state NONE, client port 0, the
// client masked to the prefix length (-M 64); a fwmark service's template is protocol IP with
// the mark as the first word of its virtual address (ip_vs_sched_persist's nf_inet_addr).
TEST(Format, Ipv6TemplatesAsIpvsadm) {
    ConnInfo t;
    t.proto = 6;
    t.state = "NONE";
    t.expires_ms = 299500;
    t.af = cfg::Family::Inet6;
    t.caddr6 = ip6("2001:db8:9::");
    t.vaddr6 = ip6("2001:db8::100");
    t.vport = 80;
    t.daddr6 = ip6("2001:db8:1::11");
    t.dport = 80;
    ConnInfo f = t;
    f.proto = 0;
    f.vaddr6 = ip6("0:1::");
    f.vport = 0;
    f.dport = 0;
    EXPECT_EQ(format_conns({t, f}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "TCP 04:59  NONE        [2001:db8:9::]:0   [2001:db8::100]:80 [2001:db8:1::11]:80\n"
              "IP  04:59  NONE        [2001:db8:9::]:0   [0:1::]:0          [2001:db8:1::11]:0\n");
}

TEST(Format, Ipv6MarkRulesAsCommands) {
    std::vector<cfg::MarkRule> marks(2);
    marks[0].af = cfg::Family::Inet6;
    marks[0].dst6 = {ip6("2001:db8::100"), 128};
    marks[0].proto = 6;
    marks[0].ports = {{80, 80}, {443, 443}};
    marks[0].mark = 1;
    marks[1].af = cfg::Family::Inet6;
    marks[1].dst6 = {ip6("2001:db8:1::"), 64};
    marks[1].mark = 2;
    EXPECT_EQ(format_marks(marks), "--add-mark -t [2001:db8::100]:80,443 --mark 1\n"
                                   "--add-mark --tcp-udp [2001:db8:1::/64] --mark 2\n");
}

TEST(Format, MarkRulesAsCommands) {
    std::vector<cfg::MarkRule> marks(3);
    marks[0].dst = {ip(10, 0, 0, 100), 32};
    marks[0].proto = 6;
    marks[0].ports = {{80, 80}, {443, 443}};
    marks[0].mark = 1;
    marks[1].dst = {ip(10, 0, 0, 0), 24};
    marks[1].proto = 17;
    marks[1].ports = {{8000, 8100}};
    marks[1].mark = 2;
    marks[2].dst = {ip(10, 0, 1, 1), 32};
    marks[2].mark = 3;
    EXPECT_EQ(format_marks(marks),
              "--add-mark -t 10.0.0.100:80,443 --mark 1\n"
              "--add-mark -u 10.0.0.0/24:8000-8100 --mark 2\n"
              "--add-mark --tcp-udp 10.0.1.1 --mark 3\n");
    EXPECT_EQ(format_marks({}), "");
    // The daemon's words for mark rules (ipvsadm has none).
    EXPECT_EQ(error_message(Op::AddMark, Errc::ServiceExists, "Mark rule already exists"),
              "Mark rule already exists");
    EXPECT_EQ(error_message(Op::DelMark, Errc::NoService, "No such mark rule"),
              "No such mark rule");
}

TEST(Format, Connections) {
    std::vector<ConnInfo> conns;
    const auto add = [&](cfg::Proto p, uint32_t ms, const char* state, cfg::Ip4 c, uint16_t cp,
                         cfg::Ip4 v, uint16_t vp, cfg::Ip4 d, uint16_t dp) {
        ConnInfo ci;
        ci.proto = static_cast<uint8_t>(p);
        ci.expires_ms = ms;
        ci.state = state;
        ci.caddr = c;
        ci.cport = cp;
        ci.vaddr = v;
        ci.vport = vp;
        ci.daddr = d;
        ci.dport = dp;
        conns.push_back(ci);
    };
    add(cfg::Proto::Tcp, 899000, "ESTABLISHED", ip(192, 168, 1, 10), 40000, ip(10, 0, 0, 1), 80,
        ip(172, 16, 115, 103), 80);
    add(cfg::Proto::Tcp, 119999, "FIN_WAIT", ip(192, 168, 1, 11), 51234, ip(10, 0, 0, 1), 80,
        ip(172, 16, 115, 104), 8080);
    add(cfg::Proto::Udp, 5000, "UDP", ip(192, 168, 100, 200), 65535, ip(10, 0, 0, 2), 53,
        ip(172, 16, 0, 21), 53);
    add(cfg::Proto::Tcp, 6000000, "NONE", 0, 0, ip(10, 0, 0, 1), 443, ip(172, 16, 0, 31), 443);
    EXPECT_EQ(format_conns(conns, numeric(), kNoNames), kConns);
    EXPECT_EQ(format_conns({}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n");
}

// SCTP services as ipvsadm lists them: "SCTP" padded by "%-4s" (so one blank follows it), sorted
// after TCP and UDP (by protocol number, 132), "--sctp-service" in -S; its connections carry
// IPVS's SCTP state names and "SCTP" overflows the "%-3s" protocol column, as in ipvsadm -Lnc.
TEST(Format, SctpServices) {
    ServiceInfo sctp;
    sctp.service.key = {cfg::Proto::Sctp, ip(10, 0, 0, 100), 5000};
    sctp.service.scheduler = "rr";
    sctp.dests = {dest(ip(172, 16, 0, 12), 5000, cfg::Fwd::Masq, 1, 0, 1, 0, {}, {}),
                  dest(ip(172, 16, 0, 11), 5000, cfg::Fwd::Masq, 1, 1, 0, 0, {}, {})};
    std::vector<ServiceInfo> all = services();
    all.insert(all.begin(), sctp);
    EXPECT_EQ(format_list(kInfo, all, numeric(), kNoNames),
              kListN +
                  "SCTP 10.0.0.100:5000 rr\n"
                  "  -> 172.16.0.11:5000             Masq    1      1          0         \n"
                  "  -> 172.16.0.12:5000             Masq    1      0          1         \n");
    EXPECT_EQ(format_save({sctp}, numeric(), kNoNames),
              "-A --sctp-service 10.0.0.100:5000 -s rr\n"
              "-a --sctp-service 10.0.0.100:5000 -r 172.16.0.11:5000 -m -w 1\n"
              "-a --sctp-service 10.0.0.100:5000 -r 172.16.0.12:5000 -m -w 1\n");
    ConnInfo c;
    c.proto = IPPROTO_SCTP;
    c.expires_ms = 899000;
    c.state = "ESTABLISHED";
    c.caddr = ip(192, 168, 1, 10);
    c.cport = 40000;
    c.vaddr = ip(10, 0, 0, 100);
    c.vport = 5000;
    c.daddr = ip(172, 16, 0, 11);
    c.dport = 5000;
    ConnInfo d = c;
    d.expires_ms = 60000;
    d.state = "C-REPLIED";
    d.cport = 40001;
    d.daddr = ip(172, 16, 0, 12);
    EXPECT_EQ(format_conns({c, d}, numeric(), kNoNames),
              "IPVS connection entries\n"
              "pro expire state       source             virtual            destination\n"
              "SCTP 14:59  ESTABLISHED 192.168.1.10:40000 10.0.0.100:5000    172.16.0.11:5000\n"
              "SCTP 01:00  C-REPLIED   192.168.1.10:40001 10.0.0.100:5000    172.16.0.12:5000\n");
}

TEST(Format, Timeouts) {
    EXPECT_EQ(format_timeouts(cfg::TimeoutCfg{}), "Timeout (tcp tcpfin udp): 900 120 300\n");
    EXPECT_EQ(format_timeouts(cfg::TimeoutCfg{7200, 0, 30}),
              "Timeout (tcp tcpfin udp): 7200 0 30\n");
}

TEST(Format, LargeNumbers) {
    EXPECT_EQ(format_largenum(0, false), "        0");
    EXPECT_EQ(format_largenum(99999999, false), " 99999999");
    EXPECT_EQ(format_largenum(100000000, false), "  100000K");
    EXPECT_EQ(format_largenum(999999999, false), "  999999K");
    EXPECT_EQ(format_largenum(1000000000, false), "    1000M");
    EXPECT_EQ(format_largenum(99999999999ULL, false), "   99999M");
    EXPECT_EQ(format_largenum(100000000000ULL, false), "     100G");
    EXPECT_EQ(format_largenum(99999999999999ULL, false), "   99999G");
    EXPECT_EQ(format_largenum(100000000000000ULL, false), "     100T");
    EXPECT_EQ(format_largenum(UINT64_MAX, false), "18446744T");
    EXPECT_EQ(format_largenum(0, true), "        0");
    EXPECT_EQ(format_largenum(12345678, true), " 12345678");
    EXPECT_EQ(format_largenum(123456789, true), " 123456789");
    EXPECT_EQ(format_largenum(UINT64_MAX, true), " 18446744073709551615");
}

/// Knows a few names, like /etc/hosts and /etc/services would.
class FakeNamer final : public Namer {
public:
    std::optional<std::string> host(cfg::Ip4 addr) const override {
        static const std::map<cfg::Ip4, std::string> names = {
            {ip(10, 0, 0, 1), "www.example.com"},
            {ip(172, 16, 115, 103), "a-really-long-backend-name.example.com"},
        };
        const auto it = names.find(addr);
        return it == names.end() ? std::nullopt : std::optional(it->second);
    }
    std::optional<std::string> service(uint16_t port, cfg::Proto proto) const override {
        if (port == 80 && proto == cfg::Proto::Tcp) {
            return "http";
        }
        if (port == 53) {
            return "domain";
        }
        return std::nullopt;
    }
};

TEST(Format, NamesWithoutNumeric) {
    const FakeNamer names;
    const FormatOpts o;  // not numeric
    EXPECT_EQ(format_addr_port(ip(10, 0, 0, 1), 80, cfg::Proto::Tcp, o, names),
              "www.example.com:http");
    EXPECT_EQ(format_addr_port(ip(10, 0, 0, 1), 80, cfg::Proto::Tcp, numeric(), names),
              "10.0.0.1:80");
    EXPECT_EQ(format_addr_port(ip(10, 0, 0, 7), 8080, cfg::Proto::Udp, o, names), "10.0.0.7:8080");
    // Real-server names are cut at 28 characters, service names at 33, as ipvsadm does.
    EXPECT_EQ(format_service(services()[1], o, names),
              "TCP  www.example.com:http rr\n"
              "  -> a-really-long-backend-name.e Masq    1      0          1         \n"
              "  -> 172.16.115.104:8080          Masq    2      5          0         \n");
    ServiceInfo s = services()[1];
    s.dests.clear();
    s.service.key.addr = ip(172, 16, 115, 103);
    EXPECT_EQ(format_service(s, o, names), "TCP  a-really-long-backend-name.e rr\n");
    EXPECT_EQ(format_save({s}, o, names),
              "-A -t a-really-long-backend-name.example.com:http -s rr\n");
}

TEST(Format, Daemons) {
    // ipvsadm 1.31's print_daemon: master first, each field as the kernel reports it.
    DaemonView master;
    master.cfg = {SyncRole::Master, "eth0", 7, 1472, ip(224, 0, 0, 81), 8848, 1};
    master.messages = 10;  // the counters are dirigo's; ipvsadm's line has no room for them
    DaemonView backup;
    backup.cfg = {SyncRole::Backup, "bond0.100", 255, 65507, ip(239, 255, 255, 255), 65535, 255};
    EXPECT_EQ(format_daemons({master, backup}),
              "master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, "
              "port=8848, ttl=1)\n"
              "backup sync daemon (mcast=bond0.100, syncid=255, maxlen=65507, "
              "group=239.255.255.255, port=65535, ttl=255)\n");
    EXPECT_EQ(format_daemons({backup}).rfind("backup sync daemon (mcast=bond0.100, ", 0), 0u);
    EXPECT_EQ(format_daemons({}), "");
}

TEST(Format, DaemonZeroFieldsAreOmitted) {
    // As ipvsadm prints an old kernel's reply without the newer attributes: syncid always,
    // the rest only when set.
    DaemonView d;
    d.cfg.role = SyncRole::Backup;
    d.cfg.mcast_ifn = "eth1";
    EXPECT_EQ(format_daemons({d}), "backup sync daemon (mcast=eth1, syncid=0)\n");
    d.cfg.mcast_port = 8848;
    EXPECT_EQ(format_daemons({d}), "backup sync daemon (mcast=eth1, syncid=0, port=8848)\n");
    d.cfg = {SyncRole::Master, "eth0", 1, 0, ip(224, 0, 0, 81), 0, 3};
    EXPECT_EQ(format_daemons({d}),
              "master sync daemon (mcast=eth0, syncid=1, group=224.0.0.81, ttl=3)\n");
    d.cfg = {SyncRole::Master, "eth0", 1, 1500, 0, 0, 0};
    EXPECT_EQ(format_daemons({d}), "master sync daemon (mcast=eth0, syncid=1, maxlen=1500)\n");
}

TEST(Format, ErrorMessagesMatchIpvsadm) {
    EXPECT_EQ(error_message(Op::AddService, Errc::ServiceExists, "x"), "Service already exists");
    EXPECT_EQ(error_message(Op::EditService, Errc::NoService, "x"), "No such service");
    EXPECT_EQ(error_message(Op::DelService, Errc::NoService, ""), "No such service");
    EXPECT_EQ(error_message(Op::Zero, Errc::NoService, ""), "No such service");
    EXPECT_EQ(error_message(Op::List, Errc::NoService, ""), "No such service");
    EXPECT_EQ(error_message(Op::AddDest, Errc::NoService, ""), "Service not defined");
    EXPECT_EQ(error_message(Op::EditDest, Errc::NoService, ""), "Service not defined");
    EXPECT_EQ(error_message(Op::DelDest, Errc::NoService, ""), "Service not defined");
    EXPECT_EQ(error_message(Op::AddDest, Errc::DestExists, ""), "Destination already exists");
    EXPECT_EQ(error_message(Op::EditDest, Errc::NoDest, ""), "No such destination");
    EXPECT_EQ(error_message(Op::DelDest, Errc::NoDest, ""), "No such destination");
    EXPECT_EQ(error_message(Op::AddService, Errc::NoScheduler, "no lblcr"),
              "Scheduler or persistence engine not found");
    // The sync daemon's: ipvsadm's ipvs_strerror words for EEXIST, ESRCH and ENODEV.
    EXPECT_EQ(error_message(Op::StartDaemon, Errc::DaemonRunning, "master runs"),
              "Daemon has already run");
    EXPECT_EQ(error_message(Op::StopDaemon, Errc::NoDaemon, ""), "No daemon is running");
    EXPECT_EQ(error_message(Op::StartDaemon, Errc::NoDevice, "no interface eth9"),
              "No such device");
    // Codes ipvsadm has no words for carry the daemon's explanation.
    EXPECT_EQ(error_message(Op::AddService, Errc::Resource, "service table full (4096)"),
              "service table full (4096)");
    EXPECT_EQ(error_message(Op::AddDest, Errc::Unsupported, ""), "add-server failed: Unsupported");
    // A batch names the failing rule in the daemon's message.
    EXPECT_EQ(error_message(Op::Batch, Errc::NoService, "rule 3 (-a): Service not defined"),
              "rule 3 (-a): Service not defined");
    EXPECT_EQ(error_message(Op::Batch, Errc::NoService, ""), "No such service");
}

// ---- dirigo's views ----

std::vector<PortView> ports() {
    // Out of port-id order, to check the sorting.
    const PortView in{.name = "int",
                      .device = "0000:03:00.1",
                      .port_id = 1,
                      .mac = "02:00:00:00:00:02",
                      .link_up = false,
                      .speed_mbps = 0,
                      .mtu = 9000,
                      .rx_queues = 2,
                      .tx_queues = 2,
                      .addresses = {},
                      .rx_packets = 123456789,
                      .rx_missed = 17,
                      .rx_errors = 2,
                      .tx_errors = 100000000000ULL,
                      .kernel_iface = "",
                      .kernel_up = false,
                      .to_kernel = 0,
                      .from_kernel = 0};
    const PortView ext{.name = "ext",
                       .device = "net_af_packet0",
                       .port_id = 0,
                       .mac = "02:00:00:00:00:01",
                       .link_up = true,
                       .speed_mbps = 10000,
                       .mtu = 1500,
                       .rx_queues = 2,
                       .tx_queues = 2,
                       .addresses = {{ip(10, 0, 0, 1), 24}, {ip(10, 0, 0, 10), 24}},
                       .rx_packets = 1204332,
                       .tx_packets = 1107211,
                       .rx_bytes = 98234511,
                       .tx_bytes = 1523400882,
                       .rx_missed = 0,
                       .rx_errors = 0,
                       .tx_errors = 0,
                       .kernel_iface = "ext",
                       .kernel_up = true,
                       .to_kernel = 4321,
                       .from_kernel = 1234567};
    return {in, ext};
}

const std::vector<DropView> kDrops = {
    {"no_route", 12}, {"bad_checksum", 0}, {"ttl_exceeded", 3}, {"no_service", 123456789}};

const std::string kPorts =
    "Port     Device           Link  Speed   MTU RxQ TxQ   RxPkts   TxPkts RxMissed"
    "    RxErr    TxErr\n"
    "  -> Id    MAC                RxBytes  TxBytes Addresses\n"
    "  -> Kernel           Link     ToKern FromKern\n"
    "ext      net_af_packet0   up      10G  1500   2   2  1204332  1107211        0"
    "        0        0\n"
    "  -> 0     02:00:00:00:00:01 98234511    1523M 10.0.0.1/24 10.0.0.10/24\n"
    "  -> ext              up         4321  1234567\n"
    "int      0000:03:00.1     down      -  9000   2   2  123456K        0       17"
    "        2     100G\n"
    "  -> 1     02:00:00:00:00:02        0        0 -\n"
    "  -> -                -             0        0\n"
    "Drops by reason\n"
    "  no_route                           12\n"
    "  ttl_exceeded                        3\n"
    "  no_service                    123456K\n";

const std::string kPortsExact =
    "Port     Device           Link  Speed   MTU RxQ TxQ   RxPkts   TxPkts RxMissed"
    "    RxErr    TxErr\n"
    "  -> Id    MAC                RxBytes  TxBytes Addresses\n"
    "  -> Kernel           Link     ToKern FromKern\n"
    "ext      net_af_packet0   up      10G  1500   2   2  1204332  1107211        0"
    "        0        0\n"
    "  -> 0     02:00:00:00:00:01 98234511 1523400882 10.0.0.1/24 10.0.0.10/24\n"
    "  -> ext              up         4321  1234567\n"
    "int      0000:03:00.1     down      -  9000   2   2 123456789        0       17"
    "        2 100000000000\n"
    "  -> 1     02:00:00:00:00:02        0        0 -\n"
    "  -> -                -             0        0\n"
    "Drops by reason\n"
    "  no_route                           12\n"
    "  bad_checksum                        0\n"
    "  ttl_exceeded                        3\n"
    "  no_service                   123456789\n";

TEST(FormatViews, Ports) {
    EXPECT_EQ(format_ports(ports(), kDrops, numeric()), kPorts);
    FormatOpts names;  // no name lookups in this view: -n changes nothing
    EXPECT_EQ(format_ports(ports(), kDrops, names), kPorts);
}

TEST(FormatViews, PortsExactShowsEveryDropReason) {
    FormatOpts o = numeric();
    o.exact = true;
    EXPECT_EQ(format_ports(ports(), kDrops, o), kPortsExact);
}

TEST(FormatViews, PortsNoSortAndEmpty) {
    FormatOpts o = numeric();
    o.nosort = true;
    const std::string out = format_ports(ports(), {}, o);
    EXPECT_LT(out.find("int      0000:03:00.1"), out.find("ext      net_af_packet0"));
    EXPECT_EQ(out.substr(out.size() - 16), "Drops by reason\n");
    EXPECT_EQ(format_ports({}, {{"no_route", 0}}, numeric()),
              "Port     Device           Link  Speed   MTU RxQ TxQ   RxPkts   TxPkts RxMissed"
              "    RxErr    TxErr\n"
              "  -> Id    MAC                RxBytes  TxBytes Addresses\n"
              "  -> Kernel           Link     ToKern FromKern\n"
              "Drops by reason\n");
}

TEST(FormatViews, LinkSpeed) {
    EXPECT_EQ(link_speed_text(0), "-");
    EXPECT_EQ(link_speed_text(UINT32_MAX), "-");
    EXPECT_EQ(link_speed_text(10), "10M");
    EXPECT_EQ(link_speed_text(100), "100M");
    EXPECT_EQ(link_speed_text(1000), "1G");
    EXPECT_EQ(link_speed_text(2500), "2.5G");
    EXPECT_EQ(link_speed_text(1234), "1234M");
    EXPECT_EQ(link_speed_text(25000), "25G");
    EXPECT_EQ(link_speed_text(400000), "400G");
}

const std::vector<WorkerView> kWorkers = {
    {1, 2, 99999999, 100000000, 0, 1000, 0, 0, 0, 0, 0, 0, 0},
    {0, 1, 1204332, 1107211, 12, 8, 3, 41213, 120012, 301, 288, 123456789, 7000000},
    {2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

TEST(FormatViews, Workers) {
    EXPECT_EQ(format_workers(kWorkers, numeric()),
              "Worker Lcore    RxPkts    TxPkts     Drops  Busy%     Conns   Created HandedOff "
              "TakenOver    Sleeps\n"
              "     0     1   1204332   1107211        12   37.5     41213    120012       301 "
              "      288   123456K\n"
              "     1     2  99999999   100000K         0    0.0         0         0         0 "
              "        0         0\n"
              "     2     3         0         0         0      -         0         0         0 "
              "        0         0\n");
    FormatOpts o = numeric();
    o.exact = true;
    o.nosort = true;
    const std::string exact = format_workers(kWorkers, o);
    EXPECT_NE(exact.find("     1     2  99999999  100000000         0    0.0"), std::string::npos)
        << exact;
    EXPECT_LT(exact.find("     1     2"), exact.find("     0     1"));  // daemon's order
}

TEST(FormatViews, BusyPercent) {
    EXPECT_EQ(busy_percent_text(0, 0), "-");
    EXPECT_EQ(busy_percent_text(5, 0), "-");
    EXPECT_EQ(busy_percent_text(0, 10), "0.0");
    EXPECT_EQ(busy_percent_text(3, 8), "37.5");
    EXPECT_EQ(busy_percent_text(1, 3), "33.3");
    EXPECT_EQ(busy_percent_text(2, 3), "66.7");    // rounded to nearest
    EXPECT_EQ(busy_percent_text(1, 2000), "0.1");  // 0.05 rounds up
    EXPECT_EQ(busy_percent_text(1, 2001), "0.0");
    EXPECT_EQ(busy_percent_text(999, 1000), "99.9");
    EXPECT_EQ(busy_percent_text(9999, 10000), "100.0");
    EXPECT_EQ(busy_percent_text(10, 10), "100.0");
    EXPECT_EQ(busy_percent_text(11, 10), "100.0");  // two relaxed reads of a running worker
    // Counters near 2^64 neither overflow nor lose the ratio.
    EXPECT_EQ(busy_percent_text(UINT64_MAX, UINT64_MAX), "100.0");
    EXPECT_EQ(busy_percent_text(UINT64_MAX / 4, UINT64_MAX), "25.0");
    EXPECT_EQ(busy_percent_text(UINT64_MAX / 3 * 2, UINT64_MAX), "66.7");
}

const std::vector<NeighbourView> kNeighbours = {
    {ip(10, 0, 0, 254), "52:54:00:12:34:56", "ext", NeighState::Resolved},
    {ip(10, 0, 0, 77), "", "ext", NeighState::Incomplete},
    {ip(172, 16, 115, 103), "52:54:00:ab:cd:ef", "int", NeighState::Resolved},
    {ip(10, 0, 0, 78), "", "ext", NeighState::Failed},
};

TEST(FormatViews, Neighbours) {
    EXPECT_EQ(format_neighbours(kNeighbours, numeric(), kNoNames),
              "Address          MAC               Port     State\n"
              "10.0.0.77        -                 ext      incomplete\n"
              "10.0.0.78        -                 ext      failed\n"
              "10.0.0.254       52:54:00:12:34:56 ext      resolved\n"
              "172.16.115.103   52:54:00:ab:cd:ef int      resolved\n");
    FormatOpts o = numeric();
    o.nosort = true;
    EXPECT_EQ(format_neighbours({}, o, kNoNames),
              "Address          MAC               Port     State\n");
    EXPECT_LT(format_neighbours(kNeighbours, o, kNoNames).find("10.0.0.254"),
              format_neighbours(kNeighbours, o, kNoNames).find("10.0.0.77"));
}

const std::vector<RouteView> kRoutes = {
    {{ip(10, 0, 0, 0), 24}, 0, "ext"},
    {{ip(172, 16, 0, 0), 16}, 0, "int"},
    {{ip(10, 0, 0, 0), 8}, ip(10, 0, 0, 1), "ext"},
    {{0, 0}, ip(10, 0, 0, 254), "ext"},
    {{ip(192, 168, 0, 0), 16}, ip(172, 16, 115, 103), "int"},
};

TEST(FormatViews, Routes) {
    EXPECT_EQ(format_routes(kRoutes, numeric(), kNoNames),
              "Destination        Gateway              Port\n"
              "0.0.0.0/0          via 10.0.0.254       ext\n"
              "10.0.0.0/8         via 10.0.0.1         ext\n"
              "10.0.0.0/24        connected            ext\n"
              "172.16.0.0/16      connected            int\n"
              "192.168.0.0/16     via 172.16.115.103   int\n");
    FormatOpts o = numeric();
    o.nosort = true;
    EXPECT_EQ(format_routes({kRoutes[1], kRoutes[0]}, o, kNoNames),
              "Destination        Gateway              Port\n"
              "172.16.0.0/16      connected            int\n"
              "10.0.0.0/24        connected            ext\n");
}

TEST(FormatViews, NamesWithoutNumeric) {
    // Neighbour addresses and gateways are hosts, named unless -n; prefixes stay numeric.
    const FakeNamer names;
    const FormatOpts o;
    EXPECT_EQ(format_neighbours({kNeighbours[2]}, o, names),
              "Address          MAC               Port     State\n"
              "a-really-long-backend-name.example.com 52:54:00:ab:cd:ef int      resolved\n");
    EXPECT_EQ(format_routes({kRoutes[4], {{ip(10, 0, 0, 1), 32}, 0, "ext"}}, o, names),
              "Destination        Gateway              Port\n"
              "10.0.0.1/32        connected            ext\n"
              "192.168.0.0/16     via a-really-long-backend-name.example.com int\n");
}

TEST(FormatViews, UsageAndVersion) {
    const std::string u = usage_text("dirigoadm");
    for (const char* needle : {"--list-ports", "--list-workers", "--list-neighbours",
                               "--list-neighbors", "--list-routes"}) {
        EXPECT_NE(u.find(needle), std::string::npos) << needle;
    }
}

TEST(Format, UsageAndVersion) {
    const std::string u = usage_text("dirigoadm");
    EXPECT_EQ(u.rfind(version_text(), 0), 0u);
    for (const char* needle : {"-A|E virtual-service", "--set tcp tcpfin udp", "--sched-flags",
                               "--socket", "wlc", "--exact"}) {
        EXPECT_NE(u.find(needle), std::string::npos) << needle;
    }
    // The sync daemon's commands and options, as ipvsadm 1.31 lists them.
    for (const char* needle :
         {"--start-daemon {master|backup} [daemon-options]", "--stop-daemon {master|backup}",
          "--syncid sid", "--mcast-interface interface", "--mcast-group address",
          "--mcast-port port", "--mcast-ttl ttl", "--sync-maxlen length"}) {
        EXPECT_NE(u.find(needle), std::string::npos) << needle;
    }
    EXPECT_EQ(u.find("daemon information (none)"), std::string::npos);
    EXPECT_EQ(version_text().rfind("dirigoadm v", 0), 0u);
}

}  // namespace
}  // namespace dirigo::ctl::cli
