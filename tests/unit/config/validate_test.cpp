// SPDX-License-Identifier: BSD-3-Clause
#include "config/validate.hpp"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace dirigo::cfg {
namespace {

constexpr Ip4 ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

Service good_service() {
    Service s;
    s.key = {Proto::Tcp, ip(10, 0, 0, 100), 80};
    s.scheduler = "rr";
    s.servers = {{ip(172, 16, 0, 11), 80, Fwd::Masq, 1, 0, 0},
                 {ip(172, 16, 0, 12), 8080, Fwd::Masq, 3, 0, 0},
                 {ip(172, 16, 0, 13), 80, Fwd::Route, 0, 0, 0},
                 {ip(172, 16, 0, 14), 80, Fwd::Tunnel, 65535, 10, 5}};
    return s;
}

::testing::AssertionResult rejects(const Service& s, Errc code, std::string_view what) {
    const Status st = validate_service(s);
    if (st.is_ok()) {
        return ::testing::AssertionFailure() << "accepted";
    }
    if (st.code() != code || st.message().find(what) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "code " << static_cast<int>(st.code()) << " message \"" << st.message() << "\"";
    }
    return ::testing::AssertionSuccess();
}

TEST(ValidateService, AcceptsGoodService) {
    EXPECT_TRUE(validate_service(good_service()).is_ok());
    Service s = good_service();
    s.servers.clear();
    EXPECT_TRUE(validate_service(s).is_ok());
    s.flags = kSvcPersistent;
    s.timeout = 1;
    s.netmask = 0;
    EXPECT_TRUE(validate_service(s).is_ok());
}

TEST(ValidateService, RejectsBadService) {
    Service s = good_service();
    s.key.addr = 0;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "address must not be 0.0.0.0"));
    s = good_service();
    s.key.port = 0;  // IPVS's "all ports" service must be persistent
    EXPECT_TRUE(rejects(s, Errc::Invalid, "Zero port specified for non-persistent service"));
    s.flags = kSvcPersistent;
    s.timeout = 300;
    for (RealServer& rs : s.servers) {
        rs.port = 0;
    }
    EXPECT_TRUE(validate_service(s).is_ok()) << validate_service(s).message();
    s = good_service();
    s.key.proto = static_cast<Proto>(1);
    EXPECT_TRUE(rejects(s, Errc::Invalid, "unknown protocol"));
    s = good_service();
    s.scheduler.clear();
    EXPECT_TRUE(rejects(s, Errc::Invalid, "no scheduler"));
    s = good_service();
    s.flags = kSvcPersistent;
    s.timeout = 0;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "persistence timeout must be at least 1 second"));
    s = good_service();
    s.netmask = 0xff00ff00;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "netmask 255.0.255.0 is not contiguous"));
    s = good_service();
    s.flags = 1u << 20;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "unknown flag bits"));
}

TEST(ValidateService, RejectsBadServers) {
    Service s = good_service();
    s.servers.push_back(s.servers[1]);
    EXPECT_TRUE(rejects(s, Errc::DestExists, "real server 172.16.0.12:8080 is listed twice"));
    s = good_service();
    s.servers[0].weight = 65536;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "weight 65536 is out of range 0..65535"));
    s = good_service();
    s.servers[0].weight = -1;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "weight -1 is out of range"));
    s = good_service();
    s.servers[0].addr = 0;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "address must not be 0.0.0.0"));
    s = good_service();
    s.servers[0].port = 0;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "real server 172.16.0.11:0: port must not be 0"));
    s = good_service();
    s.servers[2].port = 81;
    EXPECT_TRUE(rejects(s, Errc::Invalid,
                        "real server 172.16.0.13:81: port mapping is only supported with "
                        "masquerading (-m)"));
    s = good_service();
    s.servers[3].port = 443;
    EXPECT_TRUE(rejects(s, Errc::Invalid, "port mapping is only supported with masquerading"));
    s = good_service();
    s.servers[0].fwd = static_cast<Fwd>(7);
    EXPECT_TRUE(rejects(s, Errc::Invalid, "unknown forwarding method"));
}

TEST(ValidateService, SameAddressDifferentPortIsNotDuplicate) {
    Service s = good_service();
    s.servers = {{ip(172, 16, 0, 11), 80, Fwd::Masq, 1, 0, 0},
                 {ip(172, 16, 0, 11), 81, Fwd::Masq, 1, 0, 0}};
    EXPECT_TRUE(validate_service(s).is_ok());
}

TEST(ValidateService, Ipv6Services) {
    Service s;
    s.key.af = Family::Inet6;
    s.key.addr6.b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    s.key.port = 80;
    s.scheduler = "rr";
    RealServer rs;
    rs.af = Family::Inet6;
    rs.addr6 = s.key.addr6;
    rs.addr6.b[14] = 0;
    rs.addr6.b[15] = 0x11;
    rs.port = 80;
    s.servers = {rs};
    EXPECT_TRUE(validate_service(s).is_ok());
    s.servers.push_back(rs);
    EXPECT_TRUE(rejects(s, Errc::DestExists, "real server [2001:db8::11]:80 is listed twice"));
    s.servers.pop_back();
    Service bad = s;
    bad.key.addr = ip(10, 0, 0, 1);
    EXPECT_TRUE(rejects(bad, Errc::Invalid, "not a unicast IPv6 address"));
    bad = s;
    bad.key.addr6 = {};
    EXPECT_TRUE(rejects(bad, Errc::Invalid, "not a unicast IPv6 address"));
    bad = s;
    bad.prefix6 = 0;
    EXPECT_TRUE(rejects(bad, Errc::Invalid, "out of range 1..128"));
    bad = s;
    bad.servers[0].af = Family::Inet;
    bad.servers[0].addr6 = {};
    bad.servers[0].addr = ip(172, 16, 0, 11);
    EXPECT_TRUE(rejects(bad, Errc::Invalid,
                        "Different address family is allowed only for tunneling servers"));
    // The kernel's rule: a tunnel crosses families, of any type (ipip, GUE, GRE), both ways.
    bad.servers[0].fwd = Fwd::Tunnel;
    EXPECT_TRUE(validate_service(bad).is_ok());
    bad.servers[0].tun_type = TunType::Gre;
    EXPECT_TRUE(validate_service(bad).is_ok());
    bad.servers[0].tun_type = TunType::Gue;
    bad.servers[0].tun_port = 6080;
    EXPECT_TRUE(validate_service(bad).is_ok());
    Service v4svc = good_service();
    v4svc.servers[0].af = Family::Inet6;
    v4svc.servers[0].addr = 0;
    v4svc.servers[0].addr6 = s.servers[0].addr6;
    v4svc.servers[0].fwd = Fwd::Masq;
    v4svc.servers[0].port = v4svc.key.port;
    EXPECT_TRUE(rejects(v4svc, Errc::Invalid,
                        "Different address family is allowed only for tunneling servers"));
    v4svc.servers[0].fwd = Fwd::Tunnel;
    EXPECT_TRUE(validate_service(v4svc).is_ok());  // IPv4-in-IPv6
    v4svc.servers[0].tun_type = TunType::Gue;
    v4svc.servers[0].tun_port = 6080;
    EXPECT_TRUE(validate_service(v4svc).is_ok());
    v4svc.servers[0].tun_type = TunType::Gre;
    v4svc.servers[0].tun_port = 0;
    v4svc.servers[0].tun_csum = TunCsum::Csum;
    EXPECT_TRUE(validate_service(v4svc).is_ok());
    bad = s;
    bad.servers[0].addr6 = {};
    EXPECT_TRUE(rejects(bad, Errc::Invalid, "not a unicast IPv6 address"));
    // IPv6 direct routing and IPv6-in-IPv6, GUE and GRE tunnels over IPv6 are served.
    Service dr = s;
    dr.servers[0].fwd = Fwd::Route;
    EXPECT_TRUE(validate_service(dr).is_ok());
    dr.servers[0].fwd = Fwd::Tunnel;
    EXPECT_TRUE(validate_service(dr).is_ok());
    dr.servers[0].tun_type = TunType::Gue;
    dr.servers[0].tun_port = 6080;
    EXPECT_TRUE(validate_service(dr).is_ok());
    dr.servers[0].tun_type = TunType::Gre;
    dr.servers[0].tun_port = 0;
    EXPECT_TRUE(validate_service(dr).is_ok());
    // An IPv4 service keeps its addr6 zero; an IPv6 fwmark service has no address.
    Service v4 = good_service();
    v4.key.addr6.b[0] = 1;
    EXPECT_TRUE(rejects(v4, Errc::Invalid, "an IPv4 service has no IPv6 address"));
    Service fwm;
    fwm.key.fwmark = 3;
    fwm.key.af = Family::Inet6;
    fwm.scheduler = "rr";
    EXPECT_TRUE(validate_service(fwm).is_ok());
    fwm.key.addr6.b[0] = 0x20;
    EXPECT_TRUE(rejects(fwm, Errc::Invalid, "a firewall-mark service has no address or port"));
}

TEST(ValidateService, FwmarkServices) {
    Service s;
    s.key.fwmark = 1;
    s.scheduler = "rr";
    s.flags = kSvcPersistent;
    s.timeout = 300;
    // Port 0: the packet's port is kept; a port: that port (NAT); DR keeps the packet's.
    s.servers = {{ip(172, 16, 0, 11), 0, Fwd::Masq, 1, 0, 0},
                 {ip(172, 16, 0, 12), 8443, Fwd::Masq, 1, 0, 0},
                 {ip(172, 16, 0, 13), 0, Fwd::Route, 1, 0, 0}};
    EXPECT_TRUE(validate_service(s).is_ok()) << validate_service(s).message();
    s.flags = 0;  // not persistent: fine for a mark (no "Zero port" rule)
    EXPECT_TRUE(validate_service(s).is_ok());
    Service a = s;
    a.key.addr = ip(10, 0, 0, 1);
    EXPECT_TRUE(rejects(a, Errc::Invalid, "service FWM 1: a firewall-mark service has no address"));
    a = s;
    a.key.port = 80;
    EXPECT_TRUE(rejects(a, Errc::Invalid, "has no address or port"));
    a = s;
    a.servers.push_back({ip(172, 16, 0, 14), 80, Fwd::Route, 1, 0, 0});
    EXPECT_TRUE(rejects(a, Errc::Invalid, "port mapping is only supported with masquerading"));
}

TEST(ValidateService, Ipv6ServicesAndServers) {
    Service s;
    s.key.proto = Proto::Tcp;
    s.key.port = 80;
    s.key.af = Family::Inet6;
    s.key.addr6.b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    s.scheduler = "rr";
    RealServer a;
    a.af = Family::Inet6;
    a.port = 80;
    a.addr6.b = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
    RealServer b = a;
    b.addr6.b[15] = 0x12;
    s.servers = {a, b};
    EXPECT_TRUE(validate_service(s).is_ok());  // addr 0 is no error for IPv6
    Service dup = s;
    dup.servers = {a, a};
    EXPECT_TRUE(rejects(dup, Errc::DestExists, "listed twice"));
    Service mixed = s;
    mixed.servers[1] = {ip(172, 16, 0, 11), 80, Fwd::Masq, 1, 0, 0};
    EXPECT_TRUE(rejects(mixed, Errc::Invalid, "family"));
    Service unspec = s;
    unspec.key.addr6 = Ip6{};
    EXPECT_TRUE(rejects(unspec, Errc::Invalid, "address"));
    Service unspec_rs = s;
    unspec_rs.servers[0].addr6 = Ip6{};
    EXPECT_TRUE(rejects(unspec_rs, Errc::Invalid, "address"));
}

TEST(ValidateMark, AcceptsAndRejects) {
    MarkRule m;
    m.dst = {ip(10, 0, 0, 100), 32};
    m.proto = 6;
    m.ports = {{80, 80}, {443, 443}};
    m.mark = 1;
    EXPECT_TRUE(validate_mark(m).is_ok());
    MarkRule b = m;
    b.mark = 0;
    EXPECT_NE(validate_mark(b).message().find("mark must be 1..4294967295"), std::string::npos);
    b = m;
    b.dst = {ip(10, 0, 0, 1), 24};
    EXPECT_NE(validate_mark(b).message().find("host bits are set (did you mean 10.0.0.0/24?)"),
              std::string::npos);
    b = m;
    b.proto = 1;
    EXPECT_NE(validate_mark(b).message().find("unknown protocol 1"), std::string::npos);
    b = m;
    b.ports = {{90, 80}};
    EXPECT_NE(validate_mark(b).message().find("port range 90-80 is reversed"), std::string::npos);
    b = m;
    b.ports.assign(kMaxMarkRanges + 1, PortRange{1, 1});
    EXPECT_FALSE(validate_mark(b).is_ok());
    b = m;
    b.dst = {0, 0};  // every address
    b.proto = kMarkAnyProto;
    b.ports.clear();
    EXPECT_TRUE(validate_mark(b).is_ok());
}

}  // namespace
}  // namespace dirigo::cfg
