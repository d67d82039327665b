// SPDX-License-Identifier: BSD-3-Clause
// The IPVS netlink emulation against a fake daemon: requests built as libipvs builds them, replies
// and errno values checked against what ip_vs_ctl.c answers.

#include "ipvs/emulator.hpp"

#include <netinet/in.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "config/addr.hpp"
#include "tests/unit/ipvs/fake_daemon.hpp"

namespace dirigo::ipvs {
namespace {

using test::FakeDaemon;
using test::getfamily;
using test::Req;

/// One message of a reply datagram, copied out with its attributes indexed by type.
struct Parsed {
    nlmsghdr hdr{};
    uint8_t cmd = 0;
    int error = 1;  ///< NLMSG_ERROR's error field; 1 when not an error message
    std::vector<uint8_t> payload;
};

std::vector<Parsed> parse(const std::vector<std::vector<uint8_t>>& dgrams) {
    std::vector<Parsed> out;
    for (const auto& d : dgrams) {
        size_t off = 0;
        while (d.size() - off >= NLMSG_HDRLEN) {
            Parsed p;
            std::memcpy(&p.hdr, d.data() + off, sizeof(p.hdr));
            EXPECT_GE(p.hdr.nlmsg_len, NLMSG_HDRLEN);
            EXPECT_LE(p.hdr.nlmsg_len, d.size() - off);
            if (p.hdr.nlmsg_len < NLMSG_HDRLEN || p.hdr.nlmsg_len > d.size() - off) {
                return out;
            }
            p.payload.assign(d.begin() + static_cast<ptrdiff_t>(off + NLMSG_HDRLEN),
                             d.begin() + static_cast<ptrdiff_t>(off + p.hdr.nlmsg_len));
            if (p.hdr.nlmsg_type == NLMSG_ERROR && p.payload.size() >= sizeof(int)) {
                std::memcpy(&p.error, p.payload.data(), sizeof(int));
            } else if (!p.payload.empty()) {
                p.cmd = p.payload[0];
            }
            out.push_back(std::move(p));
            off += NLMSG_ALIGN(out.back().hdr.nlmsg_len);
        }
    }
    return out;
}

/// The attributes of a genl message (after the 4-byte genl header), or of a nest.
std::map<uint16_t, std::vector<uint8_t>> attrs(const uint8_t* p, size_t len) {
    std::map<uint16_t, std::vector<uint8_t>> m;
    size_t off = 0;
    while (len - off >= 4) {
        uint16_t alen = 0;
        uint16_t type = 0;
        std::memcpy(&alen, p + off, 2);
        std::memcpy(&type, p + off + 2, 2);
        if (alen < 4 || alen > len - off) {
            break;
        }
        m[static_cast<uint16_t>(type & NLA_TYPE_MASK)].assign(p + off + 4, p + off + alen);
        off += (alen + 3u) & ~3u;
    }
    return m;
}
std::map<uint16_t, std::vector<uint8_t>> attrs(const Parsed& m) {
    return attrs(m.payload.data() + GENL_HDRLEN, m.payload.size() - GENL_HDRLEN);
}
std::map<uint16_t, std::vector<uint8_t>> attrs(const std::vector<uint8_t>& nest) {
    return attrs(nest.data(), nest.size());
}
template <class T>
T get(const std::vector<uint8_t>& v) {
    T x{};
    EXPECT_GE(v.size(), sizeof(T));
    std::memcpy(&x, v.data(), std::min(sizeof(T), v.size()));
    return x;
}

class EmulatorTest : public ::testing::Test {
protected:
    /// Sends one request; returns the messages of the reply.
    std::vector<Parsed> send(const std::vector<uint8_t>& req, bool cap_ack = false) {
        return parse(emu_.handle(req, 4242, cap_ack));
    }
    /// The error of a request answered by a single ack.
    int error_of(const std::vector<uint8_t>& req) {
        const auto r = send(req);
        EXPECT_EQ(r.size(), 1u);
        if (r.size() != 1 || r[0].hdr.nlmsg_type != NLMSG_ERROR) {
            return 1;
        }
        return r[0].error;
    }
    void add_service(uint8_t proto, uint32_t addr, uint16_t port, const char* sched = "rr") {
        ASSERT_EQ(error_of(Req(IPVS_CMD_NEW_SERVICE).service(proto, addr, port, sched).bytes()), 0);
    }

    FakeDaemon daemon_;
    Emulator emu_{daemon_.fn()};
};

TEST_F(EmulatorTest, GetFamilyIpvsAnswersTheFamilyAndItsOps) {
    const auto r = send(getfamily("IPVS", 3));
    ASSERT_EQ(r.size(), 2u);  // the family, then the ack asked for
    EXPECT_EQ(r[0].hdr.nlmsg_type, GENL_ID_CTRL);
    EXPECT_EQ(r[0].hdr.nlmsg_seq, 3u);
    EXPECT_EQ(r[0].hdr.nlmsg_pid, 4242u);
    EXPECT_EQ(r[0].cmd, CTRL_CMD_NEWFAMILY);
    auto a = attrs(r[0]);
    EXPECT_EQ(get<uint16_t>(a[CTRL_ATTR_FAMILY_ID]), kFamilyId);
    EXPECT_STREQ(reinterpret_cast<const char*>(a[CTRL_ATTR_FAMILY_NAME].data()), "IPVS");
    EXPECT_EQ(get<uint32_t>(a[CTRL_ATTR_VERSION]), uint32_t{IPVS_GENL_VERSION});
    EXPECT_EQ(get<uint32_t>(a[CTRL_ATTR_MAXATTR]), uint32_t{IPVS_CMD_ATTR_MAX});
    EXPECT_EQ(a.count(CTRL_ATTR_MCAST_GROUPS), 0u);  // IPVS has no multicast groups
    const auto ops = attrs(a[CTRL_ATTR_OPS]);
    EXPECT_EQ(ops.size(), 16u);
    std::map<uint32_t, uint32_t> flags;
    for (const auto& [idx, op] : ops) {
        auto o = attrs(op);
        flags[get<uint32_t>(o[CTRL_ATTR_OP_ID])] = get<uint32_t>(o[CTRL_ATTR_OP_FLAGS]);
    }
    EXPECT_EQ(flags[IPVS_CMD_GET_SERVICE] & (GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP),
              uint32_t{GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP});
    EXPECT_EQ(flags[IPVS_CMD_GET_DEST] & (GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP),
              uint32_t{GENL_CMD_CAP_DUMP});
    EXPECT_EQ(r[1].hdr.nlmsg_type, NLMSG_ERROR);
    EXPECT_EQ(r[1].error, 0);
    EXPECT_EQ(r[1].hdr.nlmsg_flags, NLM_F_CAPPED);
}

TEST_F(EmulatorTest, GetFamilyWithoutDaemonIsEnoent) {
    daemon_.up = false;
    EXPECT_EQ(error_of(getfamily("IPVS")), -ENOENT);
}

TEST_F(EmulatorTest, RouteRelaysOtherFamiliesOnly) {
    EXPECT_EQ(route(getfamily("IPVS")), Route::Emulate);
    EXPECT_EQ(route(getfamily("nl80211")), Route::Relay);
    EXPECT_EQ(route(Req(IPVS_CMD_GET_INFO).bytes()), Route::Emulate);
    EXPECT_EQ(route(Req(1, NLM_F_REQUEST, 1, 0x20).bytes()), Route::Relay);
    Req dump(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, GENL_ID_CTRL);
    EXPECT_EQ(route(dump.bytes()), Route::Relay);
    EXPECT_EQ(route({}), Route::Emulate);
    // Handled anyway (a caller that ignores route()): the kernel's answer for an unknown name.
    EXPECT_EQ(error_of(getfamily("nl80211")), -ENOENT);
}

TEST_F(EmulatorTest, GetInfoAndConfig) {
    auto r = send(Req(IPVS_CMD_GET_INFO).bytes());
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].cmd, IPVS_CMD_SET_INFO);
    auto a = attrs(r[0]);
    EXPECT_EQ(get<uint32_t>(a[IPVS_INFO_ATTR_VERSION]), 0x010201u);
    EXPECT_EQ(get<uint32_t>(a[IPVS_INFO_ATTR_CONN_TAB_SIZE]), 1u << 20);

    EXPECT_EQ(error_of(Req(IPVS_CMD_SET_CONFIG).u32(IPVS_CMD_ATTR_TIMEOUT_UDP, 42).bytes()), 0);
    EXPECT_EQ(daemon_.requests.back().timeouts.tcp, 0u);  // absent: unchanged
    r = send(Req(IPVS_CMD_GET_CONFIG, NLM_F_REQUEST).bytes());
    ASSERT_EQ(r.size(), 1u);  // no ack asked for
    a = attrs(r[0]);
    EXPECT_EQ(get<uint32_t>(a[IPVS_CMD_ATTR_TIMEOUT_TCP]), 900u);
    EXPECT_EQ(get<uint32_t>(a[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]), 120u);
    EXPECT_EQ(get<uint32_t>(a[IPVS_CMD_ATTR_TIMEOUT_UDP]), 42u);
    EXPECT_EQ(error_of(Req(IPVS_CMD_SET_CONFIG).u32(IPVS_CMD_ATTR_TIMEOUT_TCP, 0x7fffffff).bytes()),
              -EINVAL);
}

TEST_F(EmulatorTest, NewServiceTranslatesByteOrderFlagsAndNetmask) {
    ASSERT_EQ(
        error_of(Req(IPVS_CMD_NEW_SERVICE)
                     .service(IPPROTO_UDP, 0x0a000001, 53, "sh",
                              IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_HASHED, 600,
                              0xffffff00)
                     .bytes()),
        0);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.op, ctl::Op::AddService);
    EXPECT_EQ(r.service.key, (cfg::ServiceKey{cfg::Proto::Udp, 0x0a000001, 53}));
    EXPECT_EQ(r.service.scheduler, "sh");
    EXPECT_EQ(r.service.flags, cfg::kSvcPersistent | cfg::kSvcSched1);  // hashed is the kernel's
    EXPECT_EQ(r.service.timeout, 600u);
    EXPECT_EQ(r.service.netmask, 0xffffff00u);
}

TEST_F(EmulatorTest, ServiceErrorsAreTheKernels) {
    add_service(IPPROTO_TCP, 0x0a000001, 80);
    const auto svc = Req(IPVS_CMD_NEW_SERVICE).service(IPPROTO_TCP, 0x0a000001, 80).bytes();
    EXPECT_EQ(error_of(svc), -EEXIST);
    // An existing service with an unknown scheduler: the kernel's lookup comes first.
    EXPECT_EQ(
        error_of(Req(IPVS_CMD_NEW_SERVICE).service(IPPROTO_TCP, 0x0a000001, 80, "nope").bytes()),
        -EEXIST);
    EXPECT_EQ(
        error_of(Req(IPVS_CMD_NEW_SERVICE).service(IPPROTO_TCP, 0x0a000001, 81, "nope").bytes()),
        -ENOENT);
    EXPECT_EQ(
        error_of(Req(IPVS_CMD_SET_SERVICE).service(IPPROTO_TCP, 0x0a000001, 81, "nope").bytes()),
        -ESRCH);
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_SERVICE).service(IPPROTO_TCP, 0x0a000002, 80).bytes()),
              -ESRCH);
    EXPECT_EQ(error_of(Req(IPVS_CMD_ZERO).service(IPPROTO_TCP, 0x0a000002, 80).bytes()), -ESRCH);
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_SERVICE).service(IPPROTO_ICMP, 0x0a000001, 80).bytes()),
              -EOPNOTSUPP);
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_SERVICE).service(IPPROTO_TCP, 0x0a000001, 80).bytes()), 0);
    EXPECT_EQ(error_of(Req(IPVS_CMD_FLUSH).bytes()), 0);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::Clear);
}

TEST_F(EmulatorTest, FwmarkServicesGoInAndComeBackAsTheKernelsDo) {
    // ipvsadm -A -f 7 -s rr -p 300: the service nest carries AF and FWMARK, no protocol,
    // address or port.
    const auto fwm_svc = [](uint8_t cmd, bool full) {
        Req r(cmd);
        nlattr* n = r.begin(IPVS_CMD_ATTR_SERVICE);
        r.u16(IPVS_SVC_ATTR_AF, AF_INET).u32(IPVS_SVC_ATTR_FWMARK, 7);
        if (full) {
            r.str(IPVS_SVC_ATTR_SCHED_NAME, "rr");
            const ip_vs_flags f{IP_VS_SVC_F_PERSISTENT, ~0u};
            r.raw(IPVS_SVC_ATTR_FLAGS, &f, sizeof(f));
            r.u32(IPVS_SVC_ATTR_TIMEOUT, 300).u32(IPVS_SVC_ATTR_NETMASK, 0xffffffff);
        }
        r.end(n);
        return r;
    };
    ASSERT_EQ(error_of(fwm_svc(IPVS_CMD_NEW_SERVICE, true).bytes()), 0);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.op, ctl::Op::AddService);
    cfg::ServiceKey want;
    want.fwmark = 7;
    EXPECT_EQ(r.service.key, want);
    EXPECT_EQ(r.service.key.addr, 0u);
    EXPECT_EQ(r.service.key.port, 0);
    EXPECT_EQ(r.service.flags, uint32_t{cfg::kSvcPersistent});
    EXPECT_EQ(error_of(fwm_svc(IPVS_CMD_NEW_SERVICE, true).bytes()), -EEXIST);

    // The dump names it by its mark alone, as ip_vs_genl_fill_service does.
    const auto d =
        send(Req(IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 3).bytes());
    ASSERT_EQ(d.size(), 2u);
    auto svc = attrs(attrs(d[0])[IPVS_CMD_ATTR_SERVICE]);
    EXPECT_EQ(get<uint16_t>(svc[IPVS_SVC_ATTR_AF]), AF_INET);
    EXPECT_EQ(get<uint32_t>(svc[IPVS_SVC_ATTR_FWMARK]), 7u);
    EXPECT_EQ(svc.count(IPVS_SVC_ATTR_PROTOCOL), 0u);
    EXPECT_EQ(svc.count(IPVS_SVC_ATTR_ADDR), 0u);
    EXPECT_EQ(svc.count(IPVS_SVC_ATTR_PORT), 0u);
    EXPECT_EQ(get<uint32_t>(svc[IPVS_SVC_ATTR_TIMEOUT]), 300u);

    // Real servers and deletion by the mark.
    Req add_dest(IPVS_CMD_NEW_DEST);
    {
        nlattr* n = add_dest.begin(IPVS_CMD_ATTR_SERVICE);
        add_dest.u16(IPVS_SVC_ATTR_AF, AF_INET).u32(IPVS_SVC_ATTR_FWMARK, 7);
        add_dest.end(n);
        const uint8_t a[16] = {172, 16, 0, 11};
        n = add_dest.begin(IPVS_CMD_ATTR_DEST);
        add_dest.raw(IPVS_DEST_ATTR_ADDR, a, sizeof(a)).u16(IPVS_DEST_ATTR_PORT, 0);
        add_dest.u32(IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ).u32(IPVS_DEST_ATTR_WEIGHT, 1);
        add_dest.u32(IPVS_DEST_ATTR_U_THRESH, 0).u32(IPVS_DEST_ATTR_L_THRESH, 0);
        add_dest.end(n);
    }
    ASSERT_EQ(error_of(add_dest.bytes()), 0);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::AddDest);
    EXPECT_EQ(daemon_.requests.back().service.key, want);
    EXPECT_EQ(daemon_.requests.back().dest.addr, 0xac10000bu);
    EXPECT_EQ(daemon_.requests.back().dest.port, 0);
    EXPECT_EQ(error_of(fwm_svc(IPVS_CMD_DEL_SERVICE, false).bytes()), 0);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::DelService);
    EXPECT_EQ(daemon_.requests.back().service.key, want);
    EXPECT_EQ(error_of(fwm_svc(IPVS_CMD_DEL_SERVICE, false).bytes()), -ESRCH);
}

TEST_F(EmulatorTest, EditWithPartialMaskKeepsOtherFlags) {
    ASSERT_EQ(
        error_of(Req(IPVS_CMD_NEW_SERVICE)
                     .service(IPPROTO_TCP, 1, 80, "sh", IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2)
                     .bytes()),
        0);
    ASSERT_EQ(error_of(Req(IPVS_CMD_SET_SERVICE)
                           .service(IPPROTO_TCP, 1, 80, "sh", 0, 0, 0xffffffff, IP_VS_SVC_F_SCHED1)
                           .bytes()),
              0);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::EditService);
    EXPECT_EQ(daemon_.requests.back().service.flags, uint32_t{cfg::kSvcSched2});
}

TEST_F(EmulatorTest, DestCommandsAndTheirErrors) {
    add_service(IPPROTO_TCP, 0x0a000001, 80);
    const auto add = [](uint32_t fwd, uint32_t w = 1, uint32_t u = 0, uint32_t l = 0,
                        uint32_t svc = 0x0a000001) {
        return Req(IPVS_CMD_NEW_DEST)
            .service(IPPROTO_TCP, svc, 80)
            .dest(0xac10000b, 80, fwd, w, u, l)
            .bytes();
    };
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_DROUTE, 3, 100, 50)), 0);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.op, ctl::Op::AddDest);
    EXPECT_EQ(r.dest.addr, 0xac10000bu);
    EXPECT_EQ(r.dest.port, 80);
    EXPECT_EQ(r.dest.fwd, cfg::Fwd::Route);
    EXPECT_EQ(r.dest.weight, 3);
    EXPECT_EQ(r.dest.u_threshold, 100u);
    EXPECT_EQ(r.dest.l_threshold, 50u);
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_MASQ)), -EEXIST);
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_MASQ, 1, 0, 0, 0x0a000009)), -ESRCH);
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_MASQ, 0xffffffffu)), -ERANGE);  // weight -1
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_MASQ, 0xffffffffu, 0, 0, 0x0a000009)), -ESRCH);
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_MASQ, 1, 10, 20)), -ERANGE);  // lower above upper
    EXPECT_EQ(error_of(add(IP_VS_CONN_F_LOCALNODE)), -EOPNOTSUPP);
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_DEST)
                           .service(IPPROTO_TCP, 0x0a000001, 80)
                           .dest(0xac10000c, 80)
                           .bytes()),
              -ENOENT);
    EXPECT_EQ(error_of(Req(IPVS_CMD_SET_DEST)
                           .service(IPPROTO_TCP, 0x0a000001, 80)
                           .dest(0xac10000b, 80, IP_VS_CONN_F_TUNNEL, 5)
                           .bytes()),
              0);
    EXPECT_EQ(daemon_.requests.back().dest.fwd, cfg::Fwd::Tunnel);
    // A destination without its port: EINVAL, but only once the service is known to exist.
    Req bad(IPVS_CMD_DEL_DEST);
    bad.service(IPPROTO_TCP, 0x0a000001, 80);
    nlattr* n = bad.begin(IPVS_CMD_ATTR_DEST);
    bad.u32(IPVS_DEST_ATTR_WEIGHT, 1);
    bad.end(n);
    EXPECT_EQ(error_of(bad.bytes()), -EINVAL);
}

// ipvsadm -A -t [2001:db8::100]:80 -p 60 -M 64 and -a -r [2001:db8:1::11]:80 -m: AF_INET6 with
// a 16-byte address and the netmask as a prefix length, in and out; only a tunnel crosses
// families (the kernel's EINVAL).
TEST_F(EmulatorTest, Ipv6ServicesAndDestsGoInAndComeBackAsTheKernelsDo) {
    const cfg::Ip6 vip = *cfg::parse_ip6("2001:db8::100");
    const cfg::Ip6 rip = *cfg::parse_ip6("2001:db8:1::11");
    ASSERT_EQ(error_of(Req(IPVS_CMD_NEW_SERVICE)
                           .service6(IPPROTO_TCP, vip, 80, "rr", IP_VS_SVC_F_PERSISTENT, 60, 64)
                           .bytes()),
              0);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(r.service.key.addr6, vip);
    EXPECT_EQ(r.service.key.addr, 0u);
    EXPECT_EQ(r.service.key.port, 80);
    EXPECT_EQ(r.service.prefix6, 64);
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_SERVICE).service6(IPPROTO_TCP, vip, 81, "rr", 0, 0, 0).bytes()),
              -EINVAL);
    EXPECT_EQ(
        error_of(Req(IPVS_CMD_NEW_SERVICE).service6(IPPROTO_TCP, vip, 81, "rr", 0, 0, 129).bytes()),
        -EINVAL);
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_DEST).service6(IPPROTO_TCP, vip, 80).dest6(rip, 80).bytes()),
              0);
    EXPECT_EQ(daemon_.requests.back().dest.af, cfg::Family::Inet6);
    EXPECT_EQ(daemon_.requests.back().dest.addr6, rip);
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_DEST).service6(IPPROTO_TCP, vip, 80).dest6(rip, 80).bytes()),
              -EEXIST);
    // An IPv4 server of an IPv6 service: EINVAL unless it tunnels.
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_DEST)
                           .service6(IPPROTO_TCP, vip, 80)
                           .dest(0xac10000b, 80, IP_VS_CONN_F_MASQ)
                           .bytes()),
              -EINVAL);
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_DEST)
                           .service6(IPPROTO_TCP, vip, 80)
                           .dest(0xac10000b, 80, IP_VS_CONN_F_TUNNEL)
                           .bytes()),
              0);

    // The dump: the service in its family, the netmask its prefix length, each dest in its own.
    const auto d = send(Req(IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 9).bytes());
    ASSERT_EQ(d.size(), 2u);
    auto svc = attrs(attrs(d[0])[IPVS_CMD_ATTR_SERVICE]);
    EXPECT_EQ(get<uint16_t>(svc[IPVS_SVC_ATTR_AF]), AF_INET6);
    ASSERT_EQ(svc[IPVS_SVC_ATTR_ADDR].size(), 16u);
    EXPECT_EQ(0, std::memcmp(svc[IPVS_SVC_ATTR_ADDR].data(), vip.b.data(), 16));
    EXPECT_EQ(get<uint32_t>(svc[IPVS_SVC_ATTR_NETMASK]), 64u);
    const auto dd = send(Req(IPVS_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 10)
                             .service6(IPPROTO_TCP, vip, 80)
                             .bytes());
    ASSERT_EQ(dd.size(), 3u);  // two dests and NLMSG_DONE
    std::map<uint16_t, int> families;
    for (size_t i = 0; i < 2; ++i) {
        auto dest = attrs(attrs(dd[i])[IPVS_CMD_ATTR_DEST]);
        const uint16_t af = get<uint16_t>(dest[IPVS_DEST_ATTR_ADDR_FAMILY]);
        ++families[af];
        if (af == AF_INET6) {
            EXPECT_EQ(0, std::memcmp(dest[IPVS_DEST_ATTR_ADDR].data(), rip.b.data(), 16));
        } else {
            EXPECT_EQ(ntohl(get<uint32_t>(dest[IPVS_DEST_ATTR_ADDR])), 0xac10000bu);
        }
    }
    EXPECT_EQ(families[AF_INET6], 1);
    EXPECT_EQ(families[AF_INET], 1);
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_DEST).service6(IPPROTO_TCP, vip, 80).dest6(rip, 80).bytes()),
              0);
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_SERVICE).service6(IPPROTO_TCP, vip, 80).bytes()), 0);
}

TEST_F(EmulatorTest, Ipv6ConnectionsInProcFormat) {
    ctl::ConnInfo c;
    c.proto = 6;
    c.state = "ESTABLISHED";
    c.expires_ms = 899000;
    c.af = cfg::Family::Inet6;
    c.caddr6 = *cfg::parse_ip6("2001:db8:9::1");
    c.cport = 40000;
    c.vaddr6 = *cfg::parse_ip6("2001:db8::100");
    c.vport = 80;
    c.daddr6 = *cfg::parse_ip6("2001:db8:1::11");
    c.dport = 80;
    // ip_vs_conn_seq_show: %pI6 (full, uncompressed) for each address.
    EXPECT_EQ(format_conn_proc({c}),
              "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
              "TCP 2001:0db8:0009:0000:0000:0000:0000:0001 9C40 "
              "2001:0db8:0000:0000:0000:0000:0000:0100 0050 "
              "2001:0db8:0001:0000:0000:0000:0000:0011 0050 ESTABLISHED     899\n");
}

TEST_F(EmulatorTest, MixedFamilyTunnelConnectionInProcFormat) {
    // ip_vs_conn_seq_show formats the destination by its own family (cp->daf): an IPv6
    // connection to an IPv4 tunnel server shows it as %08X.
    ctl::ConnInfo c;
    c.proto = 6;
    c.state = "SYN_RECV";
    c.expires_ms = 59000;
    c.af = cfg::Family::Inet6;
    c.caddr6 = *cfg::parse_ip6("2001:db8:9::1");
    c.cport = 40000;
    c.vaddr6 = *cfg::parse_ip6("2001:db8::100");
    c.vport = 80;
    c.daddr = 0xac10000b;  // 172.16.0.11
    c.dport = 80;
    EXPECT_EQ(format_conn_proc({c}),
              "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
              "TCP 2001:0db8:0009:0000:0000:0000:0000:0001 9C40 "
              "2001:0db8:0000:0000:0000:0000:0000:0100 0050 AC10000B 0050 SYN_RECV         59\n");
}

TEST_F(EmulatorTest, Ipv4ConnectionToAnIpv6TunnelServerInProcFormat) {
    // cp->daf AF_INET6 on an IPv4 connection: the destination as %pI6 (full, uncompressed)
    // between the IPv4 row's %08X fields.
    ctl::ConnInfo c;
    c.proto = 17;
    c.state = "UDP";
    c.expires_ms = 299000;
    c.caddr = 0x0a000002;
    c.cport = 40000;
    c.vaddr = 0x0a000064;
    c.vport = 53;
    c.daddr6 = *cfg::parse_ip6("2001:db8:2::11");
    c.dport = 53;
    EXPECT_EQ(format_conn_proc({c}),
              "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
              "UDP 0A000002 9C40 0A000064 0035 2001:0db8:0002:0000:0000:0000:0000:0011 0035 "
              "UDP             299\n");
}

TEST_F(EmulatorTest, ServiceDumpIsMultipartEndingWithDone) {
    add_service(IPPROTO_TCP, 0x0a000001, 80);
    add_service(IPPROTO_UDP, 0x0a000002, 53, "sh");
    daemon_.find({cfg::Proto::Tcp, 0x0a000001, 80})->stats.conns = (1ull << 32) + 5;
    const auto r =
        send(Req(IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 9).bytes());
    ASSERT_EQ(r.size(), 3u);  // two services and NLMSG_DONE, no ack
    for (const auto& m : r) {
        EXPECT_EQ(m.hdr.nlmsg_seq, 9u);
        EXPECT_EQ(m.hdr.nlmsg_pid, 4242u);
        EXPECT_TRUE(m.hdr.nlmsg_flags & NLM_F_MULTI);
    }
    EXPECT_EQ(r[2].hdr.nlmsg_type, NLMSG_DONE);
    EXPECT_EQ(r[0].cmd, IPVS_CMD_NEW_SERVICE);
    auto svc = attrs(attrs(r[0])[IPVS_CMD_ATTR_SERVICE]);
    EXPECT_EQ(get<uint16_t>(svc[IPVS_SVC_ATTR_AF]), AF_INET);
    EXPECT_EQ(get<uint16_t>(svc[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_TCP);
    EXPECT_EQ(svc[IPVS_SVC_ATTR_ADDR].size(), 16u);
    EXPECT_EQ(ntohl(get<uint32_t>(svc[IPVS_SVC_ATTR_ADDR])), 0x0a000001u);
    EXPECT_EQ(ntohs(get<uint16_t>(svc[IPVS_SVC_ATTR_PORT])), 80);
    EXPECT_EQ(get<ip_vs_flags>(svc[IPVS_SVC_ATTR_FLAGS]).flags, uint32_t{IP_VS_SVC_F_HASHED});
    EXPECT_EQ(get<uint32_t>(svc[IPVS_SVC_ATTR_NETMASK]), 0xffffffffu);
    auto st = attrs(svc[IPVS_SVC_ATTR_STATS]);
    auto st64 = attrs(svc[IPVS_SVC_ATTR_STATS64]);
    EXPECT_EQ(st[IPVS_STATS_ATTR_CONNS].size(), 4u);
    EXPECT_EQ(get<uint32_t>(st[IPVS_STATS_ATTR_CONNS]), 5u);  // truncated like the kernel's
    EXPECT_EQ(get<uint64_t>(st64[IPVS_STATS_ATTR_CONNS]), (1ull << 32) + 5);
    EXPECT_EQ(st.size(), 10u);
    EXPECT_EQ(st64.size(), 10u);
}

// ipvsadm --sctp-service: IPPROTO_SCTP services are created, dumped and deleted like TCP's.
TEST_F(EmulatorTest, SctpServicesAreTranslated) {
    ASSERT_EQ(
        error_of(Req(IPVS_CMD_NEW_SERVICE).service(IPPROTO_SCTP, 0x0a000064, 5000, "rr").bytes()),
        0);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.op, ctl::Op::AddService);
    EXPECT_EQ(r.service.key, (cfg::ServiceKey{cfg::Proto::Sctp, 0x0a000064, 5000}));
    const auto dump =
        send(Req(IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 3).bytes());
    ASSERT_EQ(dump.size(), 2u);  // the service and NLMSG_DONE
    auto svc = attrs(attrs(dump[0])[IPVS_CMD_ATTR_SERVICE]);
    EXPECT_EQ(get<uint16_t>(svc[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_SCTP);
    EXPECT_EQ(ntohs(get<uint16_t>(svc[IPVS_SVC_ATTR_PORT])), 5000);
    // Same address and port, another protocol: another service.
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_SERVICE).service(IPPROTO_TCP, 0x0a000064, 5000).bytes()),
              -ESRCH);
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_SERVICE).service(IPPROTO_SCTP, 0x0a000064, 5000).bytes()),
              0);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::DelService);
}

TEST_F(EmulatorTest, LargeDumpIsSplitIntoBoundedDatagrams) {
    for (uint32_t i = 0; i < 500; ++i) {
        add_service(IPPROTO_TCP, 0x0a000000 + i, 80);
    }
    const auto dgrams =
        emu_.handle(Req(IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP).bytes(), 1);
    EXPECT_GT(dgrams.size(), 1u);
    for (const auto& d : dgrams) {
        EXPECT_LE(d.size(), kMaxDumpDatagram);
    }
    const auto r = parse(dgrams);
    ASSERT_EQ(r.size(), 501u);
    EXPECT_EQ(r.back().hdr.nlmsg_type, NLMSG_DONE);
}

TEST_F(EmulatorTest, TunnelTypesPortsAndFlags) {
    add_service(IPPROTO_TCP, 0x0a000001, 80);
    // ipvs_nl_fill_dest_attr (libipvs 1.31) adds the three tunnel attributes to every server.
    const auto add = [](uint32_t addr, uint32_t fwd, uint8_t type, uint16_t port, uint16_t flags) {
        Req r(IPVS_CMD_NEW_DEST);
        r.service(IPPROTO_TCP, 0x0a000001, 80);
        nlattr* n = r.begin(IPVS_CMD_ATTR_DEST);
        r.u16(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
        uint8_t a[16] = {};
        const uint32_t be = htonl(addr);
        std::memcpy(a, &be, 4);
        r.raw(IPVS_DEST_ATTR_ADDR, a, sizeof(a));
        r.u16(IPVS_DEST_ATTR_PORT, htons(80));
        r.u32(IPVS_DEST_ATTR_FWD_METHOD, fwd);
        r.u32(IPVS_DEST_ATTR_WEIGHT, 1);
        r.u32(IPVS_DEST_ATTR_U_THRESH, 0);
        r.u32(IPVS_DEST_ATTR_L_THRESH, 0);
        r.u8(IPVS_DEST_ATTR_TUN_TYPE, type);
        r.u16(IPVS_DEST_ATTR_TUN_PORT, htons(port));
        r.u16(IPVS_DEST_ATTR_TUN_FLAGS, flags);
        r.end(n);
        return r.bytes();
    };
    ASSERT_EQ(error_of(add(0xac10000b, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
                           IP_VS_TUNNEL_ENCAP_FLAG_CSUM)),
              0);
    const cfg::RealServer& gue = daemon_.requests.back().dest;
    EXPECT_EQ(gue.tun_type, cfg::TunType::Gue);
    EXPECT_EQ(gue.tun_port, 6080);
    EXPECT_EQ(gue.tun_csum, cfg::TunCsum::Csum);
    ASSERT_EQ(error_of(add(0xac10000c, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0,
                           IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM)),
              0);
    EXPECT_EQ(daemon_.requests.back().dest.tun_type, cfg::TunType::Gre);
    // ip_vs_add_dest: a GUE server needs its port.
    EXPECT_EQ(error_of(add(0xac10000d, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GUE, 0, 0)),
              -EINVAL);
    // Types and flags past the kernel's: refused rather than stored.
    EXPECT_EQ(error_of(add(0xac10000d, IP_VS_CONN_F_TUNNEL, 3, 0, 0)), -EINVAL);
    EXPECT_EQ(error_of(add(0xac10000d, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GUE, 1, 3)),
              -EINVAL);
    // A masquerading server's tunnel attributes mean nothing, as in the kernel.
    ASSERT_EQ(error_of(add(0xac10000e, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL_TYPE_GUE, 6080,
                           IP_VS_TUNNEL_ENCAP_FLAG_CSUM)),
              0);
    EXPECT_EQ(daemon_.requests.back().dest.tun_type, cfg::TunType::Ipip);
    EXPECT_EQ(daemon_.requests.back().dest.tun_port, 0);
    // The dump carries them back as ip_vs_genl_fill_dest does (port in network order).
    auto r = send(Req(IPVS_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP)
                      .service(IPPROTO_TCP, 0x0a000001, 80)
                      .bytes());
    bool seen = false;
    for (const auto& m : r) {
        if (m.hdr.nlmsg_type == NLMSG_DONE) {
            continue;
        }
        auto d = attrs(attrs(m)[IPVS_CMD_ATTR_DEST]);
        if (ntohl(get<uint32_t>(d[IPVS_DEST_ATTR_ADDR])) == 0xac10000bu) {
            seen = true;
            EXPECT_EQ(get<uint8_t>(d[IPVS_DEST_ATTR_TUN_TYPE]), IP_VS_CONN_F_TUNNEL_TYPE_GUE);
            EXPECT_EQ(ntohs(get<uint16_t>(d[IPVS_DEST_ATTR_TUN_PORT])), 6080);
            EXPECT_EQ(get<uint16_t>(d[IPVS_DEST_ATTR_TUN_FLAGS]), IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
        }
    }
    EXPECT_TRUE(seen);
}

TEST_F(EmulatorTest, DestDumpAndMissingServiceGivesEmptyDump) {
    add_service(IPPROTO_TCP, 0x0a000001, 80);
    ASSERT_EQ(error_of(Req(IPVS_CMD_NEW_DEST)
                           .service(IPPROTO_TCP, 0x0a000001, 80)
                           .dest(0xac10000b, 8080, IP_VS_CONN_F_MASQ, 2)
                           .bytes()),
              0);
    daemon_.find({cfg::Proto::Tcp, 0x0a000001, 80})->dests[0].active = 7;
    auto r = send(Req(IPVS_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP)
                      .service(IPPROTO_TCP, 0x0a000001, 80)
                      .bytes());
    ASSERT_EQ(r.size(), 2u);
    auto d = attrs(attrs(r[0])[IPVS_CMD_ATTR_DEST]);
    EXPECT_EQ(ntohl(get<uint32_t>(d[IPVS_DEST_ATTR_ADDR])), 0xac10000bu);
    EXPECT_EQ(ntohs(get<uint16_t>(d[IPVS_DEST_ATTR_PORT])), 8080);
    EXPECT_EQ(get<uint32_t>(d[IPVS_DEST_ATTR_FWD_METHOD]), uint32_t{IP_VS_CONN_F_MASQ});
    EXPECT_EQ(get<uint32_t>(d[IPVS_DEST_ATTR_WEIGHT]), 2u);
    EXPECT_EQ(get<uint32_t>(d[IPVS_DEST_ATTR_ACTIVE_CONNS]), 7u);
    EXPECT_EQ(get<uint16_t>(d[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
    r = send(Req(IPVS_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP)
                 .service(IPPROTO_TCP, 0x0a000009, 80)
                 .bytes());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].hdr.nlmsg_type, NLMSG_DONE);
    // Without NLM_F_DUMP there is no such operation.
    EXPECT_EQ(error_of(Req(IPVS_CMD_GET_DEST).service(IPPROTO_TCP, 0x0a000001, 80).bytes()),
              -EOPNOTSUPP);
}

TEST_F(EmulatorTest, GetServiceDoit) {
    add_service(IPPROTO_TCP, 0x0a000001, 80);
    auto r = send(Req(IPVS_CMD_GET_SERVICE).service(IPPROTO_TCP, 0x0a000001, 80).bytes());
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].cmd, IPVS_CMD_NEW_SERVICE);
    EXPECT_EQ(r[0].hdr.nlmsg_flags, 0);
    EXPECT_EQ(error_of(Req(IPVS_CMD_GET_SERVICE).service(IPPROTO_TCP, 0x0a000001, 81).bytes()),
              -ESRCH);
    EXPECT_EQ(error_of(Req(IPVS_CMD_GET_SERVICE).bytes()), -EINVAL);
}

TEST_F(EmulatorTest, AttributeValidationGivesTheKernelsErrors) {
    // A u32 of two bytes at the top level: the policy check's ERANGE.
    EXPECT_EQ(error_of(Req(IPVS_CMD_SET_CONFIG).u16(IPVS_CMD_ATTR_TIMEOUT_TCP, 1).bytes()),
              -ERANGE);
    // A nest of two bytes.
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_SERVICE).u16(IPVS_CMD_ATTR_SERVICE, 1).bytes()), -ERANGE);
    // Inside the service nest every failure is EINVAL: a short AF, an address over 16 bytes, a
    // scheduler name without its NUL or too long, a missing port.
    auto svc_with = [](auto&& fill) {
        Req r(IPVS_CMD_NEW_SERVICE);
        nlattr* n = r.begin(IPVS_CMD_ATTR_SERVICE);
        fill(r);
        r.end(n);
        return r.bytes();
    };
    EXPECT_EQ(error_of(svc_with([](Req& r) { r.u8(IPVS_SVC_ATTR_AF, AF_INET); })), -EINVAL);
    const uint8_t addr[20] = {};
    EXPECT_EQ(error_of(svc_with([&](Req& r) {
                  r.u16(IPVS_SVC_ATTR_AF, AF_INET).u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
                  r.raw(IPVS_SVC_ATTR_ADDR, addr, sizeof(addr)).u16(IPVS_SVC_ATTR_PORT, 80);
              })),
              -EINVAL);
    EXPECT_EQ(error_of(svc_with([&](Req& r) {
                  r.u16(IPVS_SVC_ATTR_AF, AF_INET).u32(IPVS_SVC_ATTR_FWMARK, 1);
                  r.raw(IPVS_SVC_ATTR_SCHED_NAME, "rr", 2);
              })),
              -EINVAL);
    EXPECT_EQ(error_of(svc_with([&](Req& r) {
                  r.u16(IPVS_SVC_ATTR_AF, AF_INET).u32(IPVS_SVC_ATTR_FWMARK, 1);
                  r.str(IPVS_SVC_ATTR_SCHED_NAME, "a-very-long-scheduler");
              })),
              -EINVAL);
    EXPECT_EQ(error_of(svc_with([&](Req& r) {
                  r.u16(IPVS_SVC_ATTR_AF, AF_INET).u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
                  r.raw(IPVS_SVC_ATTR_ADDR, addr, 4);
              })),
              -EINVAL);
    EXPECT_EQ(error_of(svc_with(
                  [&](Req& r) { r.u16(IPVS_SVC_ATTR_AF, AF_BRIDGE).u32(IPVS_SVC_ATTR_FWMARK, 1); })),
              -EAFNOSUPPORT);
    // Short header, unknown command, dump of a command without one.
    Req shortmsg(IPVS_CMD_GET_INFO);
    shortmsg.nlh()->nlmsg_len = NLMSG_HDRLEN + 2;
    EXPECT_EQ(error_of(shortmsg.bytes()), -EINVAL);
    EXPECT_EQ(error_of(Req(IPVS_CMD_SET_INFO).bytes()), -EOPNOTSUPP);
    EXPECT_EQ(error_of(Req(200).bytes()), -EOPNOTSUPP);
    EXPECT_EQ(error_of(Req(IPVS_CMD_GET_INFO, NLM_F_REQUEST | NLM_F_DUMP).bytes()), -EOPNOTSUPP);
    EXPECT_TRUE(daemon_.requests.empty());  // none of these reached the daemon
}

TEST_F(EmulatorTest, MalformedDatagramsAreIgnoredLikeTheKernel) {
    auto req = Req(IPVS_CMD_FLUSH).bytes();
    req.resize(req.size() - 1);  // nlmsg_len now exceeds the datagram
    EXPECT_TRUE(emu_.handle(req, 1).empty());
    EXPECT_TRUE(emu_.handle(std::vector<uint8_t>(10, 0xff), 1).empty());
    // A message that is not a request is only acknowledged when asked.
    EXPECT_TRUE(emu_.handle(Req(IPVS_CMD_FLUSH, 0).bytes(), 1).empty());
    EXPECT_TRUE(daemon_.requests.empty());
}

TEST_F(EmulatorTest, ErrorAcksCarryTheRequestUnlessCapped) {
    const auto req = Req(IPVS_CMD_DEL_SERVICE).service(IPPROTO_TCP, 9, 80).bytes();
    auto r = send(req);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].error, -ESRCH);
    EXPECT_EQ(r[0].hdr.nlmsg_flags, 0);
    ASSERT_EQ(r[0].payload.size(), sizeof(int) + req.size());
    EXPECT_EQ(std::memcmp(r[0].payload.data() + sizeof(int), req.data(), req.size()), 0);
    r = send(req, true);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].hdr.nlmsg_flags, NLM_F_CAPPED);
    EXPECT_EQ(r[0].payload.size(), sizeof(nlmsgerr));
}

TEST_F(EmulatorTest, SeveralMessagesInOneDatagram) {
    auto d = Req(IPVS_CMD_NEW_SERVICE, NLM_F_REQUEST | NLM_F_ACK, 1).service(6, 1, 80).bytes();
    const auto b =
        Req(IPVS_CMD_NEW_SERVICE, NLM_F_REQUEST | NLM_F_ACK, 2).service(6, 1, 80).bytes();
    d.insert(d.end(), b.begin(), b.end());
    const auto r = send(d);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].hdr.nlmsg_seq, 1u);
    EXPECT_EQ(r[0].error, 0);
    EXPECT_EQ(r[1].hdr.nlmsg_seq, 2u);
    EXPECT_EQ(r[1].error, -EEXIST);
}

/// IPVS_CMD_ATTR_DAEMON as libipvs's ipvs_start_daemon/ipvs_stop_daemon write it.
struct DaemonAttrs {
    int state = IP_VS_STATE_MASTER;
    const char* ifn = "eth0";  ///< nullptr: left out
    int syncid = 7;            ///< -1: left out
    int maxlen = -1;           ///< -1: left out (as every optional field below)
    int64_t group = -1;        ///< host order; sent in network order as libipvs does
    int port = -1;             ///< host order, sent so
    int ttl = -1;
    bool group6 = false;
};

std::vector<uint8_t> daemon_req(uint8_t cmd, const DaemonAttrs& a) {
    Req r(cmd);
    nlattr* n = r.begin(IPVS_CMD_ATTR_DAEMON);
    if (a.state >= 0) {
        r.u32(IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(a.state));
    }
    if (a.ifn != nullptr) {
        r.str(IPVS_DAEMON_ATTR_MCAST_IFN, a.ifn);
    }
    if (a.syncid >= 0) {
        r.u32(IPVS_DAEMON_ATTR_SYNC_ID, static_cast<uint32_t>(a.syncid));
    }
    if (a.maxlen >= 0) {
        r.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, static_cast<uint16_t>(a.maxlen));
    }
    if (a.group >= 0) {
        r.u32(IPVS_DAEMON_ATTR_MCAST_GROUP, htonl(static_cast<uint32_t>(a.group)));
    }
    if (a.group6) {
        const uint8_t ff02_1[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        r.raw(IPVS_DAEMON_ATTR_MCAST_GROUP6, ff02_1, sizeof(ff02_1));
    }
    if (a.port >= 0) {
        r.u16(IPVS_DAEMON_ATTR_MCAST_PORT, static_cast<uint16_t>(a.port));
    }
    if (a.ttl >= 0) {
        r.u8(IPVS_DAEMON_ATTR_MCAST_TTL, static_cast<uint8_t>(a.ttl));
    }
    r.end(n);
    return r.bytes();
}

TEST_F(EmulatorTest, NewDaemonCarriesEveryAttribute) {
    DaemonAttrs a;
    a.syncid = 200;
    a.maxlen = 1400;
    a.group = 0xef010203;  // 239.1.2.3
    a.port = 8849;
    a.ttl = 4;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), 0);
    ASSERT_EQ(daemon_.requests.size(), 1u);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.op, ctl::Op::StartDaemon);
    EXPECT_EQ(r.daemon.role, ctl::SyncRole::Master);
    EXPECT_EQ(r.daemon.mcast_ifn, "eth0");
    EXPECT_EQ(r.daemon.syncid, 200);
    EXPECT_EQ(r.daemon.sync_maxlen, 1400);
    EXPECT_EQ(r.daemon.mcast_group, 0xef010203u);
    EXPECT_EQ(r.daemon.mcast_port, 8849);  // host order in, host order out
    EXPECT_EQ(r.daemon.mcast_ttl, 4);
}

TEST_F(EmulatorTest, NewDaemonOptionalAttributesDefaultToZero) {
    // ipvsadm --start-daemon backup --mcast-interface lo: state, interface and sync ID only.
    DaemonAttrs a;
    a.state = IP_VS_STATE_BACKUP;
    a.ifn = "lo";
    a.syncid = 0;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), 0);
    const ctl::Request& r = daemon_.requests.back();
    EXPECT_EQ(r.op, ctl::Op::StartDaemon);
    EXPECT_EQ(r.daemon.role, ctl::SyncRole::Backup);
    EXPECT_EQ(r.daemon.mcast_ifn, "lo");
    EXPECT_EQ(r.daemon.syncid, 0);
    EXPECT_EQ(r.daemon.sync_maxlen, 0);
    EXPECT_EQ(r.daemon.mcast_group, 0u);
    EXPECT_EQ(r.daemon.mcast_port, 0);
    EXPECT_EQ(r.daemon.mcast_ttl, 0);
}

TEST_F(EmulatorTest, NewDaemonErrorsAreTheKernels) {
    // Required attributes (ip_vs_genl_new_daemon), checked before the daemon is asked.
    DaemonAttrs a;
    a.state = -1;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EINVAL);
    a = DaemonAttrs{};
    a.ifn = nullptr;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EINVAL);
    a = DaemonAttrs{};
    a.syncid = -1;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EINVAL);
    EXPECT_EQ(error_of(Req(IPVS_CMD_NEW_DAEMON).bytes()), -EINVAL);  // no daemon nest at all
    // A state that is neither master nor backup.
    for (int state : {0, 3, 4}) {
        a = DaemonAttrs{};
        a.state = state;
        EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EINVAL) << state;
    }
    // A group that is not multicast; an IPv6 group, which dirigo does not sync.
    for (int64_t g : {int64_t{0x0a000001}, int64_t{0xdfffffff}, int64_t{0xf0000001}}) {
        a = DaemonAttrs{};
        a.group = g;
        EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EINVAL) << g;
    }
    a = DaemonAttrs{};
    a.group6 = true;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EOPNOTSUPP);
    // An interface name longer than IP_VS_IFNAME_MAXLEN - 1 fails the attribute policy, which
    // ip_vs_genl_new_daemon reports as EINVAL whatever the policy said.
    a = DaemonAttrs{};
    a.ifn = "a-very-long-interface";
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EINVAL);
    EXPECT_TRUE(daemon_.requests.empty());  // none of these reached the daemon

    // The daemon's refusals, as start_sync_thread's errno.
    a = DaemonAttrs{};
    a.ifn = "nosuchif0";
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -ENODEV);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::StartDaemon);
    a = DaemonAttrs{};
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), 0);
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), -EEXIST);  // master runs already
    a.state = IP_VS_STATE_BACKUP;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), 0);  // the other role may start
}

TEST_F(EmulatorTest, DelDaemon) {
    DaemonAttrs stop;
    stop.ifn = nullptr;  // ipvs_stop_daemon sends the state alone
    stop.syncid = -1;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_DEL_DAEMON, stop)), -ESRCH);  // none runs
    ASSERT_EQ(daemon_.requests.size(), 1u);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::StopDaemon);
    EXPECT_EQ(daemon_.requests.back().daemon.role, ctl::SyncRole::Master);

    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, DaemonAttrs{})), 0);
    stop.state = IP_VS_STATE_BACKUP;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_DEL_DAEMON, stop)), -ESRCH);  // the master runs
    EXPECT_EQ(daemon_.requests.back().daemon.role, ctl::SyncRole::Backup);
    stop.state = IP_VS_STATE_MASTER;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_DEL_DAEMON, stop)), 0);
    EXPECT_TRUE(daemon_.daemons.empty());

    // No state, or a state other than master and backup, never reaches the daemon.
    const size_t asked = daemon_.requests.size();
    EXPECT_EQ(error_of(Req(IPVS_CMD_DEL_DAEMON).bytes()), -EINVAL);
    stop.state = -1;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_DEL_DAEMON, stop)), -EINVAL);
    stop.state = 3;
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_DEL_DAEMON, stop)), -EINVAL);
    EXPECT_EQ(daemon_.requests.size(), asked);
}

TEST_F(EmulatorTest, GetDaemonDumpsMasterFirst) {
    // Nothing runs: the dump is just its end.
    auto r = send(Req(IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP).bytes());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].hdr.nlmsg_type, NLMSG_DONE);
    EXPECT_EQ(daemon_.requests.back().op, ctl::Op::ListDaemons);

    // The backup started first; the dump still lists the master first.
    ctl::DaemonView backup;
    backup.cfg = {ctl::SyncRole::Backup, "eth1", 0, 1472, 0xe0000051, 8848, 1};
    ctl::DaemonView master;
    master.cfg = {ctl::SyncRole::Master, "eth0", 7, 65507, 0xef010203, 65535, 255};
    daemon_.daemons = {backup, master};
    r = send(Req(IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP, 9).bytes());
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[2].hdr.nlmsg_type, NLMSG_DONE);
    const struct {
        uint32_t state;
        const char* ifn;
        uint32_t syncid;
        uint16_t maxlen;
        uint16_t port;
        uint8_t ttl;
        uint32_t group;
    } want[] = {{IP_VS_STATE_MASTER, "eth0", 7, 65507, 65535, 255, 0xef010203},
                {IP_VS_STATE_BACKUP, "eth1", 0, 1472, 8848, 1, 0xe0000051}};
    for (size_t i = 0; i < 2; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(r[i].hdr.nlmsg_type, kFamilyId);
        EXPECT_EQ(r[i].hdr.nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
        EXPECT_EQ(r[i].hdr.nlmsg_seq, 9u);
        EXPECT_EQ(r[i].cmd, IPVS_CMD_NEW_DAEMON);
        auto top = attrs(r[i]);
        ASSERT_EQ(top.count(IPVS_CMD_ATTR_DAEMON), 1u);
        auto d = attrs(top[IPVS_CMD_ATTR_DAEMON]);
        EXPECT_EQ(get<uint32_t>(d[IPVS_DAEMON_ATTR_STATE]), want[i].state);
        EXPECT_STREQ(reinterpret_cast<const char*>(d[IPVS_DAEMON_ATTR_MCAST_IFN].data()),
                     want[i].ifn);
        EXPECT_EQ(get<uint32_t>(d[IPVS_DAEMON_ATTR_SYNC_ID]), want[i].syncid);
        EXPECT_EQ(get<uint16_t>(d[IPVS_DAEMON_ATTR_SYNC_MAXLEN]), want[i].maxlen);
        // Port in host order, as ip_vs_genl_fill_daemon writes it and libipvs reads it.
        EXPECT_EQ(get<uint16_t>(d[IPVS_DAEMON_ATTR_MCAST_PORT]), want[i].port);
        EXPECT_EQ(get<uint8_t>(d[IPVS_DAEMON_ATTR_MCAST_TTL]), want[i].ttl);
        // Group in network order (a struct in_addr).
        EXPECT_EQ(ntohl(get<uint32_t>(d[IPVS_DAEMON_ATTR_MCAST_GROUP])), want[i].group);
        EXPECT_EQ(d.count(IPVS_DAEMON_ATTR_MCAST_GROUP6), 0u);
    }
}

TEST_F(EmulatorTest, SyncDaemonsRoundTripThroughTheEmulator) {
    // What NEW_DAEMON stores, GET_DAEMON gives back, and DEL_DAEMON removes.
    DaemonAttrs a;
    a.state = IP_VS_STATE_BACKUP;
    a.ifn = "lo";
    a.syncid = 9;
    a.maxlen = 1000;
    a.group = 0xe0000052;
    a.port = 9000;
    a.ttl = 2;
    ASSERT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, a)), 0);
    auto r = send(Req(IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP).bytes());
    ASSERT_EQ(r.size(), 2u);
    auto top = attrs(r[0]);
    auto d = attrs(top[IPVS_CMD_ATTR_DAEMON]);
    EXPECT_EQ(get<uint32_t>(d[IPVS_DAEMON_ATTR_STATE]), uint32_t{IP_VS_STATE_BACKUP});
    EXPECT_STREQ(reinterpret_cast<const char*>(d[IPVS_DAEMON_ATTR_MCAST_IFN].data()), "lo");
    EXPECT_EQ(get<uint32_t>(d[IPVS_DAEMON_ATTR_SYNC_ID]), 9u);
    EXPECT_EQ(get<uint16_t>(d[IPVS_DAEMON_ATTR_SYNC_MAXLEN]), 1000);
    EXPECT_EQ(get<uint16_t>(d[IPVS_DAEMON_ATTR_MCAST_PORT]), 9000);
    EXPECT_EQ(get<uint8_t>(d[IPVS_DAEMON_ATTR_MCAST_TTL]), 2);
    EXPECT_EQ(get<uint32_t>(d[IPVS_DAEMON_ATTR_MCAST_GROUP]), htonl(0xe0000052));
    DaemonAttrs stop;
    stop.state = IP_VS_STATE_BACKUP;
    stop.ifn = nullptr;
    stop.syncid = -1;
    ASSERT_EQ(error_of(daemon_req(IPVS_CMD_DEL_DAEMON, stop)), 0);
    r = send(Req(IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP).bytes());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].hdr.nlmsg_type, NLMSG_DONE);
}

TEST_F(EmulatorTest, GetDaemonWithoutDaemonIsEio) {
    daemon_.up = false;
    EXPECT_EQ(error_of(Req(IPVS_CMD_GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP).bytes()), -EIO);
    EXPECT_EQ(error_of(daemon_req(IPVS_CMD_NEW_DAEMON, DaemonAttrs{})), -EIO);
}

TEST_F(EmulatorTest, DaemonDownGivesEio) {
    daemon_.up = false;
    EXPECT_EQ(error_of(Req(IPVS_CMD_FLUSH).bytes()), -EIO);
    EXPECT_FALSE(emu_.conn_proc_text().is_ok());
}

TEST(ConnProc, FormatsAsTheKernel) {
    ctl::ConnInfo c;
    c.proto = IPPROTO_TCP;
    c.state = "ESTABLISHED";
    c.expires_ms = 899'999;
    c.caddr = 0x0a000002;
    c.cport = 40000;
    c.vaddr = 0x0a000064;
    c.vport = 80;
    c.daddr = 0xac10000b;
    c.dport = 8080;
    ctl::ConnInfo t = c;
    t.proto = IPPROTO_UDP;
    t.state = "bad state with spaces";
    ctl::ConnInfo s = c;
    s.proto = IPPROTO_SCTP;
    s.state = "S-ACK-SENT";
    EXPECT_EQ(format_conn_proc({c, t, s}),
              "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
              "TCP 0A000002 9C40 0A000064 0050 AC10000B 1F90 ESTABLISHED     899\n"
              "UDP 0A000002 9C40 0A000064 0050 AC10000B 1F90 bad_state_with_     899\n"
              "SCTP 0A000002 9C40 0A000064 0050 AC10000B 1F90 S-ACK-SENT      899\n");
}

}  // namespace
}  // namespace dirigo::ipvs
