// SPDX-License-Identifier: BSD-3-Clause
#include "config/addr.hpp"

#include <string_view>

#include <gtest/gtest.h>

namespace dirigo::cfg {
namespace {

constexpr Ip4 ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

TEST(ParseIp4, AcceptsDottedQuads) {
    EXPECT_EQ(parse_ip4("10.0.0.1"), ip(10, 0, 0, 1));
    EXPECT_EQ(parse_ip4("0.0.0.0"), Ip4{0});
    EXPECT_EQ(parse_ip4("255.255.255.255"), Ip4{0xffffffff});
    EXPECT_EQ(parse_ip4("172.16.0.11"), ip(172, 16, 0, 11));
    EXPECT_EQ(parse_ip4("1.2.3.4"), Ip4{0x01020304});
}

TEST(ParseIp4, RejectsMalformed) {
    for (const std::string_view bad : {
             "",           "10",         "10.0.0",     "10.0.0.1.",   ".10.0.0.1",   "10..0.1",
             "10.0.0.1.5", "256.0.0.1",  "10.0.0.256", "10.0.0.1000", "10.0.0.-1",   "10.0.0.+1",
             "10.0.0.1 ",  " 10.0.0.1",  "10.0.0.1x",  "10.0.0.1/24", "10.0.0.1:80", "a.b.c.d",
             "010.0.0.1",  // inet_aton would read octal 8
             "10.0.0.01",  "0x0a.0.0.1",
         }) {
        EXPECT_FALSE(parse_ip4(bad).has_value()) << '"' << bad << '"';
    }
}

TEST(ParsePrefix, AddressWithLength) {
    const auto p = parse_prefix("10.0.0.1/24");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->addr, ip(10, 0, 0, 1));  // host part is kept
    EXPECT_EQ(p->len, 24);
    EXPECT_EQ(parse_prefix("0.0.0.0/0"), (Prefix{0, 0}));
    EXPECT_EQ(parse_prefix("1.2.3.4/32"), (Prefix{0x01020304, 32}));
}

TEST(ParsePrefix, BareAddressIsHostRoute) {
    EXPECT_EQ(parse_prefix("10.0.0.100"), (Prefix{ip(10, 0, 0, 100), 32}));
}

TEST(ParsePrefix, RejectsMalformed) {
    for (const std::string_view bad : {
             "",
             "/24",
             "10.0.0/24",
             "10.0.0.1/",
             "10.0.0.1/33",
             "10.0.0.1/-1",
             "10.0.0.1/024",
             "10.0.0.1/24/",
             "10.0.0.1/2x",
             "10.0.0.1/24 ",
             "10.0.0.1/100",
         }) {
        EXPECT_FALSE(parse_prefix(bad).has_value()) << '"' << bad << '"';
    }
}

TEST(ParseEndpoint, AddressAndPort) {
    const auto e = parse_endpoint("10.0.0.100:80");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->addr, ip(10, 0, 0, 100));
    EXPECT_EQ(e->port, 80);
    EXPECT_EQ(parse_endpoint("1.2.3.4:1")->port, 1);
    EXPECT_EQ(parse_endpoint("1.2.3.4:65535")->port, 65535);
}

TEST(ParseEndpoint, PortZeroOnlyWhenAllowed) {
    EXPECT_FALSE(parse_endpoint("1.2.3.4:0").has_value());
    const auto e = parse_endpoint("1.2.3.4:0", true);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->port, 0);
    EXPECT_EQ(e->addr, ip(1, 2, 3, 4));
}

TEST(ParseEndpoint, RejectsMalformed) {
    for (const std::string_view bad : {
             "",
             "1.2.3.4",
             "1.2.3.4:",
             ":80",
             "1.2.3.4:65536",
             "1.2.3.4:100000",
             "1.2.3.4:-1",
             "1.2.3.4:80x",
             "1.2.3.4:80:81",
             "1.2.3:80",
             "1.2.3.4:080",
             "1.2.3.4 :80",
             "1.2.3.4:http",
         }) {
        EXPECT_FALSE(parse_endpoint(bad, true).has_value()) << '"' << bad << '"';
    }
}

TEST(Format, Addresses) {
    EXPECT_EQ(format_ip4(ip(10, 0, 0, 1)), "10.0.0.1");
    EXPECT_EQ(format_ip4(0), "0.0.0.0");
    EXPECT_EQ(format_ip4(0xffffffff), "255.255.255.255");
    EXPECT_EQ(format_endpoint(ip(172, 16, 0, 11), 8080), "172.16.0.11:8080");
    EXPECT_EQ(format_prefix({ip(10, 0, 0, 0), 24}), "10.0.0.0/24");
    EXPECT_EQ(format_prefix({0, 0}), "0.0.0.0/0");
}

TEST(Format, RoundTrips) {
    for (const std::string_view s : {"0.0.0.0", "10.0.0.1", "192.168.255.254", "255.0.255.0"}) {
        EXPECT_EQ(format_ip4(*parse_ip4(s)), s);
    }
    for (const std::string_view s : {"0.0.0.0/0", "10.0.0.1/24", "1.2.3.4/32"}) {
        EXPECT_EQ(format_prefix(*parse_prefix(s)), s);
    }
    const auto e = parse_endpoint("10.0.0.100:443");
    EXPECT_EQ(format_endpoint(e->addr, e->port), "10.0.0.100:443");
}

TEST(PrefixMask, Lengths) {
    EXPECT_EQ(prefix_mask(0), Ip4{0});
    EXPECT_EQ(prefix_mask(1), Ip4{0x80000000});
    EXPECT_EQ(prefix_mask(24), Ip4{0xffffff00});
    EXPECT_EQ(prefix_mask(31), Ip4{0xfffffffe});
    EXPECT_EQ(prefix_mask(32), Ip4{0xffffffff});
}

TEST(Proto, ParseAndName) {
    EXPECT_EQ(parse_proto("tcp"), Proto::Tcp);
    EXPECT_EQ(parse_proto("udp"), Proto::Udp);
    EXPECT_EQ(parse_proto("TCP"), Proto::Tcp);
    EXPECT_EQ(parse_proto("sctp"), Proto::Sctp);
    EXPECT_EQ(parse_proto("SCTP"), Proto::Sctp);
    EXPECT_FALSE(parse_proto("icmp").has_value());
    EXPECT_EQ(proto_name(Proto::Sctp), "sctp");
    EXPECT_EQ(proto_name_upper(Proto::Sctp), "SCTP");
    EXPECT_EQ(static_cast<int>(Proto::Sctp), 132);  // IPPROTO_SCTP: the wire and netlink value
    EXPECT_FALSE(parse_proto("").has_value());
    EXPECT_FALSE(parse_proto("tcp ").has_value());
    EXPECT_EQ(proto_name(Proto::Tcp), "tcp");
    EXPECT_EQ(proto_name(Proto::Udp), "udp");
    EXPECT_EQ(proto_name_upper(Proto::Tcp), "TCP");
    EXPECT_EQ(proto_name_upper(Proto::Udp), "UDP");
}

TEST(Fwd, ParseAllAliases) {
    for (const std::string_view s : {"nat", "masq", "Masq"}) {
        EXPECT_EQ(parse_fwd(s), Fwd::Masq) << s;
    }
    for (const std::string_view s : {"dr", "route", "gate", "direct", "Route"}) {
        EXPECT_EQ(parse_fwd(s), Fwd::Route) << s;
    }
    for (const std::string_view s : {"tun", "tunnel", "ipip", "Tunnel"}) {
        EXPECT_EQ(parse_fwd(s), Fwd::Tunnel) << s;
    }
    for (const std::string_view s : {"", "fullnat", "snat", "m", "nat "}) {
        EXPECT_FALSE(parse_fwd(s).has_value()) << s;
    }
}

TEST(Fwd, NamesMatchIpvsadm) {
    EXPECT_EQ(fwd_name(Fwd::Masq), "Masq");
    EXPECT_EQ(fwd_name(Fwd::Route), "Route");
    EXPECT_EQ(fwd_name(Fwd::Tunnel), "Tunnel");
    // Every name parses back to its value.
    for (const Fwd f : {Fwd::Masq, Fwd::Route, Fwd::Tunnel}) {
        EXPECT_EQ(parse_fwd(fwd_name(f)), f);
    }
}

TEST(Addr, ParseNumberIsTheOneDecimalParser) {
    EXPECT_EQ(parse_number("0", 0, 65535), 0u);
    EXPECT_EQ(parse_number("65535", 0, 65535), 65535u);
    EXPECT_EQ(parse_number("080", 0, 65535), 80u);
    EXPECT_FALSE(parse_number("65536", 0, 65535));
    EXPECT_FALSE(parse_number("99999", 0, 65535));
    EXPECT_FALSE(parse_number("18446744073709551616", 0, UINT64_MAX));  // overflow, not a wrap
    EXPECT_EQ(parse_number("18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
    EXPECT_FALSE(parse_number("0", 1, 10));
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1x", "0x10"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_number(bad, 0, UINT64_MAX));
    }
}

// ---- IPv6 ----

Ip6 ip6(std::initializer_list<uint16_t> groups) {
    Ip6 a;
    size_t i = 0;
    for (uint16_t g : groups) {
        a.b[i++] = static_cast<uint8_t>(g >> 8);
        a.b[i++] = static_cast<uint8_t>(g);
    }
    return a;
}

TEST(ParseIp6, AcceptsTheTextForms) {
    EXPECT_EQ(parse_ip6("2001:db8::1"), ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(parse_ip6("2001:DB8:0:0:0:0:0:1"), ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(parse_ip6("::"), Ip6{});
    EXPECT_EQ(parse_ip6("::1"), ip6({0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(parse_ip6("fe80::"), ip6({0xfe80, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(parse_ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
              ip6({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}));
    EXPECT_EQ(parse_ip6("::ffff:10.0.0.1"), ip6({0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001}));
    EXPECT_EQ(parse_ip6("0001:0db8::0001"), ip6({1, 0xdb8, 0, 0, 0, 0, 0, 1}));
}

TEST(ParseIp6, RejectsMalformed) {
    for (const std::string_view bad : {
             "",
             ":",
             ":::",
             "1::2::3",
             "2001:db8::1%eth0",  // zones are not addresses
             "[2001:db8::1]",
             "2001:db8::1 ",
             " 2001:db8::1",
             "2001:db8::g",
             "2001:db8:0:0:0:0:0:0:1",  // nine groups
             "2001:db8:0:0:0:0:1",      // seven, no "::"
             "12345::1",
             "2001:db8::1/64",
             "10.0.0.1",
             "::ffff:10.0.0.256",
             "::ffff:010.0.0.1",
             "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20:21",
         }) {
        EXPECT_FALSE(parse_ip6(bad).has_value()) << '"' << bad << '"';
    }
    EXPECT_FALSE(parse_ip6(std::string_view("::1\0", 4)).has_value());
}

TEST(FormatIp6, IsRfc5952Canonical) {
    EXPECT_EQ(format_ip6(*parse_ip6("2001:0DB8:0000:0000:0000:0000:0000:0001")), "2001:db8::1");
    EXPECT_EQ(format_ip6(Ip6{}), "::");
    EXPECT_EQ(format_ip6(*parse_ip6("0:0:0:0:0:0:0:1")), "::1");
    // The longest run of zero groups is compressed; of two equal runs, the first.
    EXPECT_EQ(format_ip6(*parse_ip6("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
    EXPECT_EQ(format_ip6(*parse_ip6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
    // A single zero group is not compressed.
    EXPECT_EQ(format_ip6(*parse_ip6("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
    EXPECT_EQ(format_ip6(*parse_ip6("FF02::1:FF00:1")), "ff02::1:ff00:1");
    for (const std::string_view s : {"2001:db8:1::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1"}) {
        EXPECT_EQ(format_ip6(*parse_ip6(s)), s);
    }
}

TEST(ParsePrefix6, AddressWithLength) {
    const auto p = parse_prefix6("2001:db8:1::1/64");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->addr, ip6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 1}));  // host part is kept
    EXPECT_EQ(p->len, 64);
    EXPECT_EQ(parse_prefix6("::/0"), (Prefix6{Ip6{}, 0}));
    EXPECT_EQ(parse_prefix6("2001:db8::1"), (Prefix6{ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), 128}));
    EXPECT_EQ(parse_prefix6("2001:db8::1/128")->len, 128);
    EXPECT_EQ(format_prefix6(*parse_prefix6("2001:0db8:0002:0000::/64")), "2001:db8:2::/64");
}

TEST(ParsePrefix6, RejectsMalformed) {
    for (const std::string_view bad : {"", "/64", "2001:db8::/", "2001:db8::/129", "2001:db8::/-1",
                                       "2001:db8::/064", "2001:db8::/64/", "2001:db8::/6x",
                                       "2001:db8::/64 ", "2001:db8::/1000", "10.0.0.0/8",
                                       "2001:db8::%1/64"}) {
        EXPECT_FALSE(parse_prefix6(bad).has_value()) << '"' << bad << '"';
    }
}

TEST(Prefix6, NetworkAndContains) {
    EXPECT_EQ(format_prefix6(network_of(*parse_prefix6("2001:db8:1::1/64"))), "2001:db8:1::/64");
    EXPECT_EQ(format_prefix6(network_of(*parse_prefix6("2001:db8:1:ffff::1/52"))),
              "2001:db8:1:f000::/52");
    EXPECT_EQ(format_prefix6(network_of(*parse_prefix6("2001:db8::1/0"))), "::/0");
    EXPECT_EQ(network_of(*parse_prefix6("2001:db8::1/128")), *parse_prefix6("2001:db8::1/128"));
    const Prefix6 p = *parse_prefix6("2001:db8:1::/63");
    EXPECT_TRUE(prefix_contains(p, *parse_ip6("2001:db8:1:1::5")));
    EXPECT_FALSE(prefix_contains(p, *parse_ip6("2001:db8:1:2::5")));
    EXPECT_TRUE(prefix_contains(*parse_prefix6("::/0"), *parse_ip6("ff02::1")));
    EXPECT_TRUE(parse_ip6("ff02::1")->is_multicast());
    EXPECT_TRUE(parse_ip6("fe80::1")->is_link_local());
    EXPECT_TRUE(parse_ip6("febf::1")->is_link_local());
    EXPECT_FALSE(parse_ip6("fec0::1")->is_link_local());
    EXPECT_TRUE(Ip6{}.is_unspecified());
}

}  // namespace
}  // namespace dirigo::cfg

namespace dirigo::cfg {
namespace {

TEST(Addr, ParseEndpoint6AsIpvsadmWritesIt) {
    const auto e = parse_endpoint6("[2001:db8::100]:80");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(format_ip6(e->addr), "2001:db8::100");
    EXPECT_EQ(e->port, 80);
    EXPECT_EQ(parse_endpoint6("[::1]:65535")->port, 65535);
    EXPECT_FALSE(parse_endpoint6("[::1]:0").has_value());
    EXPECT_EQ(parse_endpoint6("[::1]:0", true)->port, 0);
    // Brackets are required when a port follows, and a port when brackets are written.
    EXPECT_FALSE(parse_endpoint6("2001:db8::100:80").has_value());
    EXPECT_FALSE(parse_endpoint6("[2001:db8::100]").has_value());
    EXPECT_FALSE(parse_endpoint6("[2001:db8::100]:").has_value());
    EXPECT_FALSE(parse_endpoint6("[2001:db8::100]80").has_value());
    EXPECT_FALSE(parse_endpoint6("[2001:db8::100]:65536").has_value());
    EXPECT_FALSE(parse_endpoint6("[10.0.0.1]:80").has_value());
    EXPECT_FALSE(parse_endpoint6("[2001:db8::100%eth0]:80").has_value());
    EXPECT_FALSE(parse_endpoint6("[]:80").has_value());
    EXPECT_FALSE(parse_endpoint6("[2001:db8::100]:80x").has_value());
}

TEST(Addr, FormatsIpv6EndpointsAndKeysBracketed) {
    const Ip6 a = *parse_ip6("2001:DB8:0:0::100");
    EXPECT_EQ(format_endpoint6(a, 80), "[2001:db8::100]:80");
    EXPECT_EQ(format_any_endpoint(Family::Inet6, 0, a, 443), "[2001:db8::100]:443");
    EXPECT_EQ(format_any_endpoint(Family::Inet, 0x0a000001, a, 443), "10.0.0.1:443");
    EXPECT_EQ(format_addr(Family::Inet6, 0, a), "2001:db8::100");
    ServiceKey k;
    k.af = Family::Inet6;
    k.addr6 = a;
    k.port = 80;
    EXPECT_EQ(format_service_key(k), "TCP [2001:db8::100]:80");
    ServiceKey f;
    f.fwmark = 7;
    EXPECT_EQ(format_service_key(f), "FWM 7");
    f.af = Family::Inet6;
    EXPECT_EQ(format_service_key(f), "FWM 7 IPv6");
}

TEST(Addr, ServiceKeysOrderIpv4BeforeIpv6) {
    ServiceKey v4;
    v4.addr = 0xffffffffu;
    v4.port = 80;
    ServiceKey v6;
    v6.af = Family::Inet6;
    v6.addr6 = *parse_ip6("::1");
    v6.port = 1;
    EXPECT_LT(v4, v6);
    ServiceKey v6b = v6;
    v6b.addr6 = *parse_ip6("::2");
    EXPECT_LT(v6, v6b);
    EXPECT_NE(v6, v6b);
}

}  // namespace
}  // namespace dirigo::cfg
