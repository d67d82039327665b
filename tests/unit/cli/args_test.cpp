// SPDX-License-Identifier: BSD-3-Clause
// dirigoadm's command line: every ipvsadm command and option, the requests they build, and the
// errors (messages and exit codes) for bad input, as ipvsadm gives them.

#include "cli/args.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "config/addr.hpp"
#include "cli/format.hpp"
#include "cli/system_names.hpp"
#include "schedulers/names.hpp"

namespace dirigo::ctl::cli {
namespace {

constexpr cfg::Ip4 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return (cfg::Ip4{a} << 24) | (cfg::Ip4{b} << 16) | (cfg::Ip4{c} << 8) | d;
}

/// Names known to the tests, so that nothing depends on the host's /etc/hosts or DNS.
class FakeResolver final : public Resolver {
public:
    std::optional<cfg::Ip4> host(std::string_view name) const override {
        static const std::map<std::string, cfg::Ip4, std::less<>> hosts = {
            {"www.example.com", ip(10, 0, 0, 9)},
            {"web1", ip(172, 16, 0, 11)},
            {"mask24", ip(255, 255, 255, 0)},
            // What the system resolver's inet_aton() makes of these; dirigoadm must not ask.
            {"10.1", ip(10, 0, 0, 1)},
            {"010.0.0.1", ip(8, 0, 0, 1)},
        };
        const auto it = hosts.find(name);
        return it == hosts.end() ? std::nullopt : std::optional(it->second);
    }
    std::optional<uint16_t> service(std::string_view name, cfg::Proto proto) const override {
        if (name == "http" && proto == cfg::Proto::Tcp) {
            return 80;
        }
        if (name == "domain") {
            return 53;
        }
        return std::nullopt;
    }
};

const FakeResolver kResolver;

Outcome<Invocation> parse(std::initializer_list<const char*> words,
                          const Resolver* resolver = &kResolver) {
    std::vector<std::string> args(words.begin(), words.end());
    ParseEnv env;
    env.socket = "/env/socket";
    env.resolver = resolver;
    return parse_args(args, env);
}

Invocation ok(std::initializer_list<const char*> words) {
    auto r = parse(words);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : Invocation{};
}

/// Expects an error with exactly `message` and `exit_code`.
void fails(std::initializer_list<const char*> words, const std::string& message,
           int exit_code = 2) {
    auto r = parse(words);
    ASSERT_FALSE(r.ok()) << "parsed: " << message;
    EXPECT_EQ(r.error().message, message);
    EXPECT_EQ(r.error().exit_code, exit_code);
}

/// Expects an error whose message contains `needle`.
void fails_with(std::initializer_list<const char*> words, const std::string& needle,
                int exit_code = 2) {
    auto r = parse(words);
    ASSERT_FALSE(r.ok()) << "parsed, wanted: " << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().exit_code, exit_code);
}

const cfg::ServiceKey kVip80{cfg::Proto::Tcp, ip(10, 0, 0, 1), 80};

// ---- commands ----

TEST(Args, NoArgumentsListsEverything) {
    auto r = parse({});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().cmd, Command::List);
    EXPECT_EQ(r.value().list, ListWhat::All);
    EXPECT_EQ(r.value().request.op, Op::List);
    EXPECT_FALSE(r.value().fmt.numeric);
    EXPECT_EQ(r.value().socket, "/env/socket");
}

TEST(Args, ListSpellings) {
    for (auto words : {std::initializer_list<const char*>{"-L"}, {"-l"}, {"--list"}}) {
        const Invocation inv = ok(words);
        EXPECT_EQ(inv.cmd, Command::List);
        EXPECT_EQ(inv.list, ListWhat::All);
        EXPECT_EQ(inv.request.op, Op::List);
        EXPECT_FALSE(inv.request.has_key);
    }
    EXPECT_TRUE(ok({"-Ln"}).fmt.numeric);
    EXPECT_TRUE(ok({"-L", "-n"}).fmt.numeric);
    EXPECT_TRUE(ok({"-l", "--numeric"}).fmt.numeric);
}

TEST(Args, ListOneService) {
    const Invocation inv = ok({"-Ln", "-t", "10.0.0.1:80"});
    EXPECT_EQ(inv.list, ListWhat::Service);
    EXPECT_EQ(inv.request.op, Op::List);
    EXPECT_TRUE(inv.request.has_key);
    EXPECT_EQ(inv.request.service.key, kVip80);
}

TEST(Args, ListConnectionsTimeoutsDaemon) {
    const Invocation c = ok({"-Lnc"});
    EXPECT_EQ(c.list, ListWhat::Conns);
    EXPECT_EQ(c.request.op, Op::ListConns);
    EXPECT_TRUE(c.fmt.numeric);
    EXPECT_EQ(ok({"-L", "--connection"}).list, ListWhat::Conns);
    const Invocation t = ok({"-L", "--timeout"});
    EXPECT_EQ(t.list, ListWhat::Timeouts);
    EXPECT_EQ(t.request.op, Op::GetTimeouts);
    const Invocation d = ok({"-L", "--daemon"});
    EXPECT_EQ(d.list, ListWhat::Daemon);
    EXPECT_EQ(d.request.op, Op::ListDaemons);
}

TEST(Args, ListFormatOptions) {
    const Invocation inv = ok({"-L", "-n", "--stats", "--rate", "--thresholds", "--persistent-conn",
                               "--exact", "--nosort", "--sort"});
    EXPECT_TRUE(inv.fmt.numeric);
    EXPECT_TRUE(inv.fmt.stats);
    EXPECT_TRUE(inv.fmt.rate);
    EXPECT_TRUE(inv.fmt.thresholds);
    EXPECT_TRUE(inv.fmt.persistent_conn);
    EXPECT_TRUE(inv.fmt.exact);
    EXPECT_TRUE(inv.fmt.nosort);
    EXPECT_TRUE(ok({"-L", "-X"}).fmt.exact);
    EXPECT_EQ(ok({"-L", "--sort"}).fmt, FormatOpts{});
}

TEST(Args, AddServiceDefaults) {
    const Invocation inv = ok({"-A", "-t", "10.0.0.1:80"});
    EXPECT_EQ(inv.cmd, Command::AddService);
    const Request& r = inv.request;
    EXPECT_EQ(r.op, Op::AddService);
    EXPECT_EQ(r.service.key, kVip80);
    EXPECT_EQ(r.service.scheduler, "wlc");  // ipvsadm's default
    EXPECT_EQ(r.service.flags, 0u);
    EXPECT_EQ(r.service.timeout, 0u);
    EXPECT_EQ(r.service.netmask, 0xffffffffu);
    EXPECT_TRUE(r.service.servers.empty());
}

TEST(Args, AddServiceEverything) {
    const Invocation inv =
        ok({"--add-service", "--udp-service", "10.0.0.2:53", "--scheduler", "sh", "--persistent",
            "600", "--netmask", "255.255.255.0", "--sched-flags", "sh-fallback,sh-port"});
    const cfg::Service& s = inv.request.service;
    EXPECT_EQ(s.key, (cfg::ServiceKey{cfg::Proto::Udp, ip(10, 0, 0, 2), 53}));
    EXPECT_EQ(s.scheduler, "sh");
    EXPECT_EQ(s.flags, cfg::kSvcPersistent | cfg::kSvcSched1 | cfg::kSvcSched2);
    EXPECT_EQ(s.timeout, 600u);
    EXPECT_EQ(s.netmask, ip(255, 255, 255, 0));
}

TEST(Args, EditService) {
    const Invocation inv = ok({"-E", "-t", "10.0.0.1:80", "-s", "rr"});
    EXPECT_EQ(inv.cmd, Command::EditService);
    EXPECT_EQ(inv.request.op, Op::EditService);
    EXPECT_EQ(inv.request.service.scheduler, "rr");
    // Like ipvsadm, an edit sends every field: what is not given takes its default.
    EXPECT_EQ(ok({"-E", "-t", "10.0.0.1:80"}).request.service.scheduler, "wlc");
}

TEST(Args, PersistentTimeoutForms) {
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-p"}).request.service.timeout, 300u);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-p", "-s", "rr"}).request.service.timeout, 300u);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-p", "60"}).request.service.timeout, 60u);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-p60"}).request.service.timeout, 60u);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "--persistent=60"}).request.service.timeout, 60u);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-p", "2678400"}).request.service.timeout, 2678400u);
    fails({"-A", "-t", "10.0.0.1:80", "-p", "0"}, "invalid timeout value `0' specified");
    fails({"-A", "-t", "10.0.0.1:80", "-p", "2678401"},
          "invalid timeout value `2678401' specified");
    fails({"-A", "-t", "10.0.0.1:80", "-p", "abc"}, "invalid timeout value `abc' specified");
}

TEST(Args, ZeroPortNeedsPersistence) {
    fails({"-A", "-t", "10.0.0.1"}, "Zero port specified for non-persistent service");
    fails({"-E", "-t", "10.0.0.1:0"}, "Zero port specified for non-persistent service");
    const Invocation inv = ok({"-A", "-t", "10.0.0.1", "-p"});
    EXPECT_EQ(inv.request.service.key.port, 0);
}

TEST(Args, OnePacketSchedulingIsUdpOnly) {
    EXPECT_EQ(ok({"-A", "-u", "10.0.0.1:53", "-o"}).request.service.flags, cfg::kSvcOnePacket);
    EXPECT_EQ(ok({"-A", "-u", "10.0.0.1:53", "--ops"}).request.service.flags, cfg::kSvcOnePacket);
    fails({"-A", "-t", "10.0.0.1:80", "-o"},
          "One-Packet Scheduling is only for UDP virtual services");
}

TEST(Args, SchedulerIsValidated) {
    for (const char* s : {"rr", "wrr", "lc", "wlc", "sh", "dh"}) {
        EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-s", s}).request.service.scheduler, s);
    }
    auto r = parse({"-A", "-t", "10.0.0.1:80", "-s", "bogus"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().exit_code, 2);
    EXPECT_EQ(r.error().message,
              "unknown scheduler `bogus'; valid schedulers are: " + sched::sched_names());
    EXPECT_NE(r.error().message.find("wlc"), std::string::npos);
}

TEST(Args, SchedulerFlags) {
    EXPECT_EQ(
        ok({"-A", "-t", "10.0.0.1:80", "-s", "rr", "-b", "flag-1,flag-3"}).request.service.flags,
        cfg::kSvcSched1 | cfg::kSvcSched3);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-b", "sh-port", "-s", "sh"}).request.service.flags,
              cfg::kSvcSched2);  // -b before -s still sees the scheduler
    fails({"-A", "-t", "10.0.0.1:80", "-s", "rr", "-b", "sh-port"},
          "incompatible scheduler flag `sh-port'");
    fails({"-A", "-t", "10.0.0.1:80", "-b", "sh-fallback"},
          "incompatible scheduler flag `sh-fallback'");  // the default scheduler is wlc
    fails({"-A", "-t", "10.0.0.1:80", "-b", "bogus"}, "invalid scheduler flag `bogus'");
}

TEST(Args, DeleteServiceAndClear) {
    const Invocation d = ok({"-D", "-t", "10.0.0.1:80"});
    EXPECT_EQ(d.request.op, Op::DelService);
    EXPECT_EQ(d.request.service.key, kVip80);
    EXPECT_EQ(ok({"-C"}).request.op, Op::Clear);
    EXPECT_EQ(ok({"--clear"}).request.op, Op::Clear);
}

TEST(Args, AddServer) {
    const Invocation inv = ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11:80", "-m", "-w", "1"});
    EXPECT_EQ(inv.cmd, Command::AddServer);
    const Request& r = inv.request;
    EXPECT_EQ(r.op, Op::AddDest);
    EXPECT_EQ(r.service.key, kVip80);
    EXPECT_EQ(r.dest.addr, ip(172, 16, 0, 11));
    EXPECT_EQ(r.dest.port, 80);
    EXPECT_EQ(r.dest.fwd, cfg::Fwd::Masq);
    EXPECT_EQ(r.dest.weight, 1);
    EXPECT_EQ(r.dest.u_threshold, 0u);
    EXPECT_EQ(r.dest.l_threshold, 0u);
}

TEST(Args, AddServerDefaults) {
    // No port: the service's. No method: direct routing, as ipvsadm. Weight 1.
    const Request r = ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11"}).request;
    EXPECT_EQ(r.dest.port, 80);
    EXPECT_EQ(r.dest.fwd, cfg::Fwd::Route);
    EXPECT_EQ(r.dest.weight, 1);
}

TEST(Args, ForwardingMethods) {
    const auto fwd = [](const char* flag) {
        return ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", flag}).request.dest.fwd;
    };
    EXPECT_EQ(fwd("-m"), cfg::Fwd::Masq);
    EXPECT_EQ(fwd("--masquerading"), cfg::Fwd::Masq);
    EXPECT_EQ(fwd("-g"), cfg::Fwd::Route);
    EXPECT_EQ(fwd("--gatewaying"), cfg::Fwd::Route);
    EXPECT_EQ(fwd("-i"), cfg::Fwd::Tunnel);
    EXPECT_EQ(fwd("--ipip"), cfg::Fwd::Tunnel);
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-m", "-g"},
          "multiple 'forwarding-method' options specified");
}

TEST(Args, PortMappingOnlyWithMasquerading) {
    EXPECT_EQ(ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11:8080", "-m"}).request.dest.port,
              8080);
    EXPECT_EQ(ok({"-e", "-t", "10.0.0.1:80", "-r", "172.16.0.11:8080", "-m"}).request.dest.port,
              8080);
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11:8080", "-g"},
          "cannot map service port 80 to real server port 8080 with direct routing (-g, the "
          "default): port mapping needs masquerading (-m)");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11:8080"},
          "cannot map service port 80 to real server port 8080 with direct routing (-g, the "
          "default): port mapping needs masquerading (-m)");
    fails({"-e", "-t", "10.0.0.1:80", "-r", "172.16.0.11:8080", "-i"},
          "cannot map service port 80 to real server port 8080 with tunnelling (-i): port "
          "mapping needs masquerading (-m)");
    // The same port is fine with every method.
    EXPECT_EQ(ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11:80", "-i"}).request.dest.port, 80);
    // A port-zero (all ports) persistent service: the real server takes the service's port 0.
    EXPECT_EQ(ok({"-a", "-t", "10.0.0.1:0", "-r", "172.16.0.11:80", "-g"}).request.dest.port, 0);
}

TEST(Args, EditAndDeleteServer) {
    const Request e =
        ok({"-e", "-t", "10.0.0.1:80", "-r", "172.16.0.11:80", "-w", "0", "-x", "100", "-y", "50"})
            .request;
    EXPECT_EQ(e.op, Op::EditDest);
    EXPECT_EQ(e.dest.weight, 0);
    EXPECT_EQ(e.dest.u_threshold, 100u);
    EXPECT_EQ(e.dest.l_threshold, 50u);
    const Request d = ok({"-d", "-t", "10.0.0.1:80", "-r", "172.16.0.11:8080"}).request;
    EXPECT_EQ(d.op, Op::DelDest);
    EXPECT_EQ(d.dest.addr, ip(172, 16, 0, 11));
    EXPECT_EQ(d.dest.port, 8080);  // deletes name the real server exactly
    EXPECT_EQ(ok({"-d", "-t", "10.0.0.1:80", "-r", "172.16.0.11"}).request.dest.port, 80);
    fails({"-d", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "3"},
          "Illegal 'weight' option with the 'delete-server' command");
}

TEST(Args, WeightAndThresholdRanges) {
    EXPECT_EQ(
        ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "65535"}).request.dest.weight,
        65535);
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "65536"},
          "illegal weight specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "-1"}, "illegal weight specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "1x"}, "illegal weight specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-x", "2147483648"},
          "illegal u_threshold specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-y", "z"},
          "illegal l_threshold specified");
    EXPECT_EQ(ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-x", "2147483647"})
                  .request.dest.u_threshold,
              2147483647u);
}

TEST(Args, SetTimeouts) {
    const Invocation inv = ok({"--set", "900", "120", "300"});
    EXPECT_EQ(inv.cmd, Command::SetTimeouts);
    EXPECT_EQ(inv.request.op, Op::SetTimeouts);
    EXPECT_EQ(inv.request.timeouts.tcp, 900u);
    EXPECT_EQ(inv.request.timeouts.tcp_fin, 120u);
    EXPECT_EQ(inv.request.timeouts.udp, 300u);
    EXPECT_EQ(ok({"--set", "0", "0", "10"}).request.timeouts.tcp, 0u);  // 0: leave unchanged
    fails({"--set", "900", "120"}, "--set option requires 3 timeout values");
    fails({"--set"}, "--set option requires 3 timeout values");
    fails({"--set", "900", "120", "300", "5"}, "unexpected argument 5");
    fails({"--set", "x", "120", "300"}, "invalid timeout value `x' specified");
    fails({"--set", "1", "2", "2678401"}, "invalid timeout value `2678401' specified");
}

TEST(Args, Zero) {
    const Invocation all = ok({"-Z"});
    EXPECT_EQ(all.request.op, Op::Zero);
    EXPECT_FALSE(all.request.has_key);
    const Invocation one = ok({"--zero", "-t", "10.0.0.1:80"});
    EXPECT_TRUE(one.request.has_key);
    EXPECT_EQ(one.request.service.key, kVip80);
}

TEST(Args, SaveRestoreHelpVersion) {
    const Invocation s = ok({"-S"});
    EXPECT_EQ(s.cmd, Command::Save);
    EXPECT_EQ(s.request.op, Op::List);
    EXPECT_FALSE(s.fmt.numeric);
    EXPECT_TRUE(ok({"-Sn"}).fmt.numeric);
    EXPECT_TRUE(ok({"--save", "-n"}).fmt.numeric);
    EXPECT_EQ(ok({"-R"}).cmd, Command::Restore);
    EXPECT_EQ(ok({"--restore"}).cmd, Command::Restore);
    fails({"-R", "-n"}, "Illegal 'numeric' option with the 'restore' command");
    fails({"-S", "--stats"}, "Illegal 'stats' option with the 'save' command");
    EXPECT_EQ(ok({"-h"}).cmd, Command::Help);
    EXPECT_EQ(ok({"--help"}).cmd, Command::Help);
    EXPECT_EQ(ok({"-h", "--bogus-ignored-after-help"}).cmd, Command::Help);
    EXPECT_EQ(ok({"-v"}).cmd, Command::Version);
    EXPECT_EQ(ok({"--version"}).cmd, Command::Version);
    EXPECT_EQ(ok({"--version"}).request.op, Op::Version);
    EXPECT_EQ(ok({"--version"}).socket, "/env/socket");
}

// ---- option syntax ----

TEST(Args, ShortOptionBundlesAndAttachedArguments) {
    EXPECT_EQ(ok({"-At", "10.0.0.1:80"}).request.service.key, kVip80);
    EXPECT_EQ(ok({"-A", "-t10.0.0.1:80"}).request.service.key, kVip80);
    EXPECT_EQ(ok({"-A", "--tcp-service=10.0.0.1:80"}).request.service.key, kVip80);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-srr"}).request.service.scheduler, "rr");
    const Invocation inv = ok({"-Lnc"});
    EXPECT_EQ(inv.list, ListWhat::Conns);
    EXPECT_TRUE(inv.fmt.numeric);
    fails({"-Lnt"}, "-t: missing argument", 255);
}

TEST(Args, DoubleDashEndsOptions) {
    fails({"-L", "--", "-n"}, "unexpected argument -n");
}

TEST(Args, CommandMayComeAfterOptions) {
    EXPECT_EQ(ok({"-t", "10.0.0.1:80", "-A", "-s", "rr"}).request.op, Op::AddService);
    // -r resolved after all options: the port comes from -t even when -r is first.
    EXPECT_EQ(ok({"-a", "-r", "172.16.0.11", "-t", "10.0.0.1:80"}).request.dest.port, 80);
}

TEST(Args, SocketOption) {
    EXPECT_EQ(ok({"-L"}).socket, "/env/socket");
    EXPECT_FALSE(ok({"-L"}).socket_given);
    const Invocation a = ok({"-L", "--socket", "/tmp/a.sock"});
    EXPECT_EQ(a.socket, "/tmp/a.sock");
    EXPECT_TRUE(a.socket_given);
    EXPECT_EQ(ok({"--socket=/tmp/b.sock", "-C"}).socket, "/tmp/b.sock");
    fails({"-L", "--socket", "/a", "--socket", "/b"}, "multiple 'socket' options specified");
}

// ---- addresses and names ----

TEST(Args, ServiceAddresses) {
    EXPECT_EQ(ok({"-A", "-u", "10.0.0.1:53"}).request.service.key.proto, cfg::Proto::Udp);
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:65535"}).request.service.key.port, 65535);
    // Names for hosts and ports, resolved for input whether or not -n is given.
    EXPECT_EQ(ok({"-A", "-t", "www.example.com:http"}).request.service.key,
              (cfg::ServiceKey{cfg::Proto::Tcp, ip(10, 0, 0, 9), 80}));
    EXPECT_EQ(ok({"-A", "-u", "10.0.0.1:domain"}).request.service.key.port, 53);
    EXPECT_EQ(ok({"-a", "-t", "10.0.0.1:80", "-r", "web1:http", "-m"}).request.dest.addr,
              ip(172, 16, 0, 11));
    EXPECT_EQ(ok({"-A", "-t", "10.0.0.1:80", "-p", "-M", "mask24"}).request.service.netmask,
              ip(255, 255, 255, 0));
}

TEST(Args, BadServiceAddresses) {
    const std::string msg = "illegal virtual server address[:port] specified";
    for (const char* bad : {"80", "", "10.0.0.256:80", "10.0.0.1:65536", "10.0.0.1:",
                            "10.0.0.1:notaport", "bogus.invalid:80", "10.0.0:80", "10.0.0.1:80x"}) {
        SCOPED_TRACE(bad);
        fails({"-A", "-t", bad}, msg);
    }
    // inet_aton's shorthand and octal forms are refused, not resolved.
    fails({"-A", "-t", "10.1:80"}, msg);
    fails({"-A", "-t", "010.0.0.1:80"}, msg);
    // The port name is looked up for the service's protocol: "http" is TCP only here.
    fails({"-A", "-u", "10.0.0.1:http"}, msg);
    // Without a resolver only numbers parse.
    auto r = parse({"-A", "-t", "www.example.com:80"}, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, msg);
    NumericResolver numeric;
    EXPECT_FALSE(parse({"-A", "-t", "10.0.0.1:http"}, &numeric).ok());
}

TEST(Args, BadRealServerAndNetmask) {
    fails({"-a", "-t", "10.0.0.1:80", "-r", "nohost"},
          "illegal real server address[:port] specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "1.2.3.4:99999"},
          "illegal real server address[:port] specified");
    fails({"-A", "-t", "10.0.0.1:80", "-p", "-M", "255.255.255.256"},
          "illegal virtual server persistent mask specified");
}

// Ports and numbers exactly as ipvsadm takes them, through the real parser and the system
// resolver (getaddrinfo() would wrap "99999" to 34463 if the parser let a number reach it).
TEST(Args, NumbersOutOfRangeAreRefusedWithTheSystemResolver) {
    const SystemResolver system;
    const auto fails_sys = [&](std::initializer_list<const char*> words, const std::string& msg) {
        auto r = parse(words, &system);
        ASSERT_FALSE(r.ok()) << "parsed, wanted: " << msg;
        EXPECT_EQ(r.error().message, msg);
        EXPECT_EQ(r.error().exit_code, 2);
    };
    const std::string vs = "illegal virtual server address[:port] specified";
    const std::string rs = "illegal real server address[:port] specified";
    for (const char* bad : {"10.0.0.100:99999", "10.0.0.100:65536", "10.0.0.100:70000",
                            "10.0.0.100:18446744073709551616", "10.0.0.100:-1"}) {
        SCOPED_TRACE(bad);
        fails_sys({"-A", "-t", bad, "-s", "rr"}, vs);
        fails_sys({"-A", "-u", bad, "-s", "rr"}, vs);
        fails_sys({"-a", "-t", "10.0.0.100:80", "-r", bad, "-m"}, rs);
    }
    fails_sys({"-a", "-t", "10.0.0.100:80", "-r", "10.0.0.2:70000", "-m"}, rs);
    fails_sys({"-a", "-t", "10.0.0.100:80", "-r", "10.0.0.2:65536", "-m"}, rs);
    fails_sys({"-A", "-t", "10.0.0.100:0", "-s", "rr"},
              "Zero port specified for non-persistent service");
    fails_sys({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "65536"},
              "illegal weight specified");
    fails_sys({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-w", "99999999999999999999"},
              "illegal weight specified");
    fails_sys({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-x", "4294967296"},
              "illegal u_threshold specified");
    fails_sys({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "-y", "2147483648"},
              "illegal l_threshold specified");
    fails_sys({"-A", "-t", "10.0.0.1:80", "-p", "2678401"},
              "invalid timeout value `2678401' specified");
    fails_sys({"-A", "-t", "10.0.0.1:80", "-p", "0"}, "invalid timeout value `0' specified");
    fails_sys({"--set", "4294967296", "0", "0"}, "invalid timeout value `4294967296' specified");

    // In range they parse, with the real resolver too; a persistent service may have port 0.
    auto top = parse({"-A", "-t", "10.0.0.100:65535", "-s", "rr"}, &system);
    ASSERT_TRUE(top.ok());
    EXPECT_EQ(top.value().request.service.key.port, 65535);
    auto zero = parse({"-A", "-t", "10.0.0.100:0", "-s", "rr", "-p"}, &system);
    ASSERT_TRUE(zero.ok()) << zero.error().message;
    EXPECT_EQ(zero.value().request.service.key.port, 0);
    auto lead = parse({"-A", "-t", "10.0.0.100:080", "-s", "rr"}, &system);
    ASSERT_TRUE(lead.ok());
    EXPECT_EQ(lead.value().request.service.key.port, 80);  // strtol's reading, as ipvsadm's
    // Names still go to the system resolver.
    if (system.service("http", cfg::Proto::Tcp)) {
        auto named = parse({"-A", "-t", "10.0.0.100:http", "-s", "rr"}, &system);
        ASSERT_TRUE(named.ok());
        EXPECT_EQ(named.value().request.service.key.port, 80);
    }
    // The resolver itself never turns digits into a port.
    EXPECT_FALSE(system.service("99999", cfg::Proto::Tcp));
    EXPECT_FALSE(system.service("80", cfg::Proto::Tcp));
    EXPECT_FALSE(system.service("-1", cfg::Proto::Tcp));  // strtoul() would make it 65535

    // -R lines go through the same parser.
    auto restore = parse_restore("-A -t 10.0.0.100:99999 -s rr\n", &system);
    ASSERT_FALSE(restore.ok());
    EXPECT_EQ(restore.error().message, "line 1: " + vs);
    EXPECT_EQ(restore.error().exit_code, 2);
}

cfg::Ip6 ip6(const char* s) {
    return *cfg::parse_ip6(s);
}

TEST(Args, Ipv6ServicesAsIpvsadm) {
    // ipvsadm's parse_service: "[v6]:port" (brackets when a port follows).
    Invocation a = ok({"-A", "-t", "[2001:db8::100]:80", "-s", "rr"});
    EXPECT_EQ(a.request.op, Op::AddService);
    EXPECT_EQ(a.request.service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(a.request.service.key.addr6, ip6("2001:db8::100"));
    EXPECT_EQ(a.request.service.key.addr, 0u);
    EXPECT_EQ(a.request.service.key.port, 80);
    EXPECT_EQ(a.request.service.prefix6, 128);
    Invocation u = ok({"-A", "-u", "[2001:db8::100]:53", "-p", "60", "-M", "64"});
    EXPECT_EQ(u.request.service.key.proto, cfg::Proto::Udp);
    EXPECT_EQ(u.request.service.prefix6, 64);
    EXPECT_EQ(u.request.service.netmask, 0xffffffffu);
    Invocation sc = ok({"-A", "--sctp-service", "[2001:db8::100]:3868"});
    EXPECT_EQ(sc.request.service.key.proto, cfg::Proto::Sctp);
    EXPECT_EQ(sc.request.service.key.af, cfg::Family::Inet6);
    // A bare IPv6 VIP has no port: ipvsadm's zero-port rule applies.
    fails({"-A", "-t", "2001:db8::100"}, "Zero port specified for non-persistent service");
    EXPECT_EQ(ok({"-A", "-t", "2001:db8::100", "-p"}).request.service.key.port, 0);
    fails({"-A", "-t", "[2001:db8::100]"}, "illegal virtual server address[:port] specified");
    fails({"-A", "-t", "[2001:db8::100]:"}, "illegal virtual server address[:port] specified");
    fails({"-A", "-t", "[2001:db8::100]:99999"}, "illegal virtual server address[:port] specified");
    fails({"-A", "-t", "[2001:db8::zz]:80"}, "illegal virtual server address[:port] specified");
    // -M for IPv6 is a prefix length 1..128, as ipvsadm reads it.
    fails({"-A", "-t", "[2001:db8::100]:80", "-p", "-M", "0"}, "illegal ipv6 netmask specified");
    fails({"-A", "-t", "[2001:db8::100]:80", "-p", "-M", "129"}, "illegal ipv6 netmask specified");
    fails({"-A", "-t", "[2001:db8::100]:80", "-p", "-M", "ffff:ffff::"},
          "illegal ipv6 netmask specified");
}

TEST(Args, Ipv6RealServersAsIpvsadm) {
    Invocation a = ok({"-a", "-t", "[2001:db8::100]:80", "-r", "[2001:db8:1::11]:8080", "-m"});
    EXPECT_EQ(a.request.op, Op::AddDest);
    EXPECT_EQ(a.request.dest.af, cfg::Family::Inet6);
    EXPECT_EQ(a.request.dest.addr6, ip6("2001:db8:1::11"));
    EXPECT_EQ(a.request.dest.port, 8080);
    // No port: the service's, as ipvsadm copies vport to dport.
    Invocation b = ok({"-a", "-t", "[2001:db8::100]:80", "-r", "2001:db8:1::11"});
    EXPECT_EQ(b.request.dest.addr6, ip6("2001:db8:1::11"));
    EXPECT_EQ(b.request.dest.port, 80);
    EXPECT_EQ(b.request.dest.fwd, cfg::Fwd::Route);
    // Only a tunnel crosses families (ipvsadm 1.31's words).
    fails({"-a", "-t", "[2001:db8::100]:80", "-r", "10.0.0.11:80", "-m"},
          "Different address family is allowed only for tunneling servers");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "[2001:db8:1::11]:80", "-g"},
          "Different address family is allowed only for tunneling servers");
    Invocation t = ok({"-a", "-t", "10.0.0.1:80", "-r", "2001:db8:1::11", "-i"});
    EXPECT_EQ(t.request.dest.af, cfg::Family::Inet6);
    EXPECT_EQ(t.request.dest.port, 80);
    // A delete names the server by family and address.
    Invocation d = ok({"-d", "-t", "[2001:db8::100]:80", "-r", "[2001:db8:1::11]:80"});
    EXPECT_EQ(d.request.op, Op::DelDest);
    EXPECT_EQ(d.request.dest.af, cfg::Family::Inet6);
    fails({"-a", "-t", "[2001:db8::100]:80", "-r", "[2001:db8:1::11]"},
          "illegal real server address[:port] specified");
}

TEST(Args, Ipv6FwmarkServicesNeedDashSixAfterDashF) {
    Invocation a = ok({"-A", "-f", "1", "-6", "-s", "rr", "-p", "60", "-M", "48"});
    EXPECT_EQ(a.request.service.key.fwmark, 1u);
    EXPECT_EQ(a.request.service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(a.request.service.prefix6, 48);
    fails({"-A", "-6", "-f", "1"}, "-6 used before -f");
    fails({"-A", "-t", "10.0.0.1:80", "-6"}, "-6 used before -f");
    Invocation d = ok({"-a", "-f", "1", "-6", "-r", "2001:db8:1::11", "-g"});
    EXPECT_EQ(d.request.service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(d.request.dest.port, 0);
}

TEST(Args, FwmarkServicesAsIpvsadm) {
    // -A -f 1 -s rr -p 300: the key is the mark alone; no zero-port complaint (ipvsadm checks
    // that only for address services), and -o is allowed (not only UDP for a mark).
    Invocation a = ok({"-A", "-f", "1", "-s", "rr", "-p", "300"});
    EXPECT_EQ(a.request.op, Op::AddService);
    EXPECT_EQ(a.request.service.key.fwmark, 1u);
    EXPECT_EQ(a.request.service.key.addr, 0u);
    EXPECT_EQ(a.request.service.key.port, 0);
    EXPECT_EQ(a.request.service.timeout, 300u);
    EXPECT_EQ(ok({"-A", "--fwmark-service", "4294967295"}).request.service.key.fwmark, 4294967295u);
    EXPECT_EQ(ok({"-A", "-f", "2", "-o"}).request.op, Op::AddService);
    EXPECT_EQ(ok({"-E", "-f", "1", "-s", "wrr"}).request.op, Op::EditService);
    EXPECT_EQ(ok({"-D", "-f", "1"}).request.service.key.fwmark, 1u);
    // -a -f 1 -r 172.16.0.11 -m: no port given, the service's (0): the packet's port is kept.
    Invocation rs = ok({"-a", "-f", "1", "-r", "172.16.0.11", "-m"});
    EXPECT_EQ(rs.request.op, Op::AddDest);
    EXPECT_EQ(rs.request.service.key.fwmark, 1u);
    EXPECT_EQ(rs.request.dest.addr, ip(172, 16, 0, 11));
    EXPECT_EQ(rs.request.dest.port, 0);
    EXPECT_EQ(ok({"-a", "-f", "1", "-r", "172.16.0.11:0", "-m", "-w", "1"}).request.dest.port, 0);
    EXPECT_EQ(ok({"-a", "-f", "1", "-r", "172.16.0.12", "-g"}).request.dest.fwd, cfg::Fwd::Route);
    EXPECT_EQ(ok({"-d", "-f", "1", "-r", "172.16.0.11"}).request.op, Op::DelDest);
    Invocation l = ok({"-Ln", "-f", "1"});
    EXPECT_EQ(l.request.op, Op::List);
    EXPECT_TRUE(l.request.has_key);
    EXPECT_EQ(l.request.service.key.fwmark, 1u);
    // ipvsadm's parse_fwmark and its one message.
    fails({"-A", "-f", "0"}, "invalid fwmark value `0' specified");
    fails({"-A", "-f", "abc"}, "invalid fwmark value `abc' specified");
    fails({"-A", "-f", "4294967296"}, "invalid fwmark value `4294967296' specified");
    fails({"-A", "-f", "1", "-t", "10.0.0.1:80"}, "multiple 'service-address' options specified");
}

// An IPv6 rule is bracketed as an IPv6 service: [ADDR[/LEN]][:PORTS].
TEST(Args, Ipv6MarkRules) {
    Invocation a = ok({"--add-mark", "-t", "[2001:db8::100]:80,443", "--mark", "1"});
    EXPECT_EQ(a.request.mark.af, cfg::Family::Inet6);
    EXPECT_EQ(a.request.mark.dst6, (cfg::Prefix6{*cfg::parse_ip6("2001:db8::100"), 128}));
    EXPECT_EQ(a.request.mark.proto, 6);
    EXPECT_EQ(a.request.mark.ports, (std::vector<cfg::PortRange>{{80, 80}, {443, 443}}));
    Invocation n = ok({"--add-mark", "--tcp-udp", "[2001:db8:1::/64]", "--mark", "2"});
    EXPECT_EQ(n.request.mark.dst6, (cfg::Prefix6{*cfg::parse_ip6("2001:db8:1::"), 64}));
    EXPECT_TRUE(n.request.mark.ports.empty());
    fails({"--add-mark", "-t", "[2001:db8::1/64]:80", "--mark", "1"},
          "host bits are set in mark rule address 2001:db8::1/64 (did you mean 2001:db8::/64?)");
    fails({"--add-mark", "-t", "[2001:db8::1:80", "--mark", "1"},
          "illegal mark rule address[/len][:ports] specified");
    fails({"--add-mark", "-t", "[2001:db8::1]80", "--mark", "1"},
          "illegal mark rule address[/len][:ports] specified");
}

TEST(Args, MarkRules) {
    Invocation a = ok({"--add-mark", "-t", "10.0.0.100:80,443", "--mark", "1"});
    EXPECT_EQ(a.cmd, Command::AddMark);
    EXPECT_EQ(a.request.op, Op::AddMark);
    EXPECT_EQ(a.request.mark.dst, (cfg::Prefix{ip(10, 0, 0, 100), 32}));
    EXPECT_EQ(a.request.mark.proto, 6);
    EXPECT_EQ(a.request.mark.ports, (std::vector<cfg::PortRange>{{80, 80}, {443, 443}}));
    EXPECT_EQ(a.request.mark.mark, 1u);
    Invocation u = ok({"--add-mark", "-u", "10.0.0.0/24:8000-8100", "--mark", "7"});
    EXPECT_EQ(u.request.mark.dst, (cfg::Prefix{ip(10, 0, 0, 0), 24}));
    EXPECT_EQ(u.request.mark.proto, 17);
    EXPECT_EQ(u.request.mark.ports, (std::vector<cfg::PortRange>{{8000, 8100}}));
    Invocation both = ok({"--add-mark", "--tcp-udp", "10.0.0.100", "--mark", "2"});
    EXPECT_EQ(both.request.mark.proto, cfg::kMarkAnyProto);
    EXPECT_TRUE(both.request.mark.ports.empty());
    Invocation d = ok({"--del-mark", "-t", "10.0.0.100:80,443"});
    EXPECT_EQ(d.request.op, Op::DelMark);
    EXPECT_EQ(d.request.mark.mark, 0u);  // any mark
    EXPECT_EQ(ok({"--list-marks"}).request.op, Op::ListMarks);
    fails({"--add-mark", "-t", "10.0.0.100:80"},
          "You need to supply the 'mark' option for the 'add-mark' command");
    fails({"--add-mark", "--mark", "1"},
          "You need to supply the 'service-address' option for the 'add-mark' command");
    fails({"--add-mark", "-t", "10.0.0.100:80", "--mark", "0"}, "invalid mark value `0' specified");
    fails({"--add-mark", "-t", "10.0.0.100:90-80", "--mark", "1"},
          "illegal mark rule address[/len][:ports] specified");
    fails({"--add-mark", "-t", "10.0.0.1/24", "--mark", "1"},
          "host bits are set in mark rule address 10.0.0.1/24 (did you mean 10.0.0.0/24?)");
    fails({"--add-mark", "-t", "10.0.0.100:80", "--mark", "1", "-s", "rr"},
          "Illegal 'scheduler' option with the 'add-mark' command");
    fails({"-A", "--tcp-udp", "10.0.0.1:80"},
          "--tcp-udp is for mark rules (--add-mark, --del-mark)");
    // SCTP by name (--tcp-udp leaves it out, as its name says).
    const auto sctp = ok({"--add-mark", "--sctp-service", "10.0.0.100:5000", "--mark", "7"});
    EXPECT_EQ(sctp.request.mark.proto, static_cast<uint8_t>(cfg::Proto::Sctp));
    EXPECT_EQ(sctp.request.mark.mark, 7u);
    EXPECT_EQ(format_marks({sctp.request.mark}),
              "--add-mark --sctp-service 10.0.0.100:5000 --mark 7\n");
    // In restore input, so that --list-marks output restores.
    auto r = parse_restore("--add-mark -t 10.0.0.100:80,443 --mark 1\n-A -f 1 -s rr -p 300\n",
                           &kResolver);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r.value().batch.size(), 2u);
    EXPECT_EQ(r.value().batch[0].op, Op::AddMark);
    EXPECT_EQ(r.value().batch[1].service.key.fwmark, 1u);
}

TEST(Args, UnsupportedIpvsadmFeatures) {
    fails_with({"-A", "-t", "10.0.0.1:80", "--pe", "sip"}, "persistence engine");
}

TEST(Args, SctpServiceEverywhereTcpAndUdpAre) {
    // ipvsadm's --sctp-service (no short form) names an SCTP service for every command.
    const cfg::ServiceKey k{cfg::Proto::Sctp, ip(10, 0, 0, 100), 5000};
    const Invocation add = ok({"-A", "--sctp-service", "10.0.0.100:5000", "-s", "rr"});
    EXPECT_EQ(add.request.op, Op::AddService);
    EXPECT_EQ(add.request.service.key, k);
    EXPECT_EQ(add.request.service.scheduler, "rr");
    EXPECT_EQ(ok({"-E", "--sctp-service", "10.0.0.100:5000", "-s", "wlc"}).request.op,
              Op::EditService);
    const Request d = ok({"-D", "--sctp-service", "10.0.0.100:5000"}).request;
    EXPECT_EQ(d.op, Op::DelService);
    EXPECT_EQ(d.service.key, k);
    const Request a =
        ok({"-a", "--sctp-service", "10.0.0.100:5000", "-r", "172.16.0.11:5001", "-m", "-w", "2"})
            .request;
    EXPECT_EQ(a.op, Op::AddDest);
    EXPECT_EQ(a.service.key, k);
    EXPECT_EQ(a.dest.port, 5001);
    EXPECT_EQ(a.dest.weight, 2);
    EXPECT_EQ(
        ok({"-e", "--sctp-service", "10.0.0.100:5000", "-r", "172.16.0.11:5001", "-m", "-w", "0"})
            .request.op,
        Op::EditDest);
    // A real server without a port takes the service's, as for TCP.
    EXPECT_EQ(
        ok({"-d", "--sctp-service", "10.0.0.100:5000", "-r", "172.16.0.11"}).request.dest.port,
        5000);
    const Invocation list = ok({"-L", "-n", "--sctp-service", "10.0.0.100:5000"});
    EXPECT_EQ(list.list, ListWhat::Service);
    EXPECT_EQ(list.request.service.key, k);
    const Invocation zero = ok({"-Z", "--sctp-service", "10.0.0.100:5000"});
    EXPECT_TRUE(zero.request.has_key);
    EXPECT_EQ(zero.request.service.key, k);
    // One service address per command, whatever its protocol; SCTP has ipvsadm's other checks.
    fails({"-A", "--sctp-service", "10.0.0.100:5000", "-t", "10.0.0.1:80"},
          "multiple 'service-address' options specified");
    fails({"-A", "--sctp-service", "10.0.0.100"}, "Zero port specified for non-persistent service");
    fails({"-A", "--sctp-service", "10.0.0.100:5000", "-o"},
          "One-Packet Scheduling is only for UDP virtual services");
    fails({"-A", "--sctp-service", "10.0.0.100:x"},
          "illegal virtual server address[:port] specified");
}

TEST(Args, TunnelTypeIpipAsIpvsadmSavesIt) {
    // ipvsadm 1.31's -S writes "--tun-type ipip" for tunnel servers; it must restore.
    const Request r = ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31:80", "-i", "-w", "1",
                          "--tun-type", "ipip"})
                          .request;
    EXPECT_EQ(r.dest.fwd, cfg::Fwd::Tunnel);
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31:80", "-m", "--tun-type", "ipip"},
          "Tunnel options conflict with forward method");
    fails({"-A", "-t", "10.0.0.1:80", "--tun-type", "ipip"},
          "Illegal 'tun-type' option with the 'add-service' command");
    EXPECT_TRUE(ok({"-Ln", "--tun-info"}).fmt.tun_info);
    fails({"-A", "-t", "10.0.0.1:80", "--tun-info"},
          "Illegal 'tun-info' option with the 'add-service' command");
}

TEST(Args, GueAndGreTunnels) {
    Request r = ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gue",
                    "--tun-port", "6080", "--tun-csum"})
                    .request;
    EXPECT_EQ(r.op, Op::AddDest);
    EXPECT_EQ(r.dest.fwd, cfg::Fwd::Tunnel);
    EXPECT_EQ(r.dest.tun_type, cfg::TunType::Gue);
    EXPECT_EQ(r.dest.tun_port, 6080);
    EXPECT_EQ(r.dest.tun_csum, cfg::TunCsum::Csum);
    r = ok({"-e", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type=gue",
            "--tun-port=5555", "--tun-remcsum"})
            .request;
    EXPECT_EQ(r.op, Op::EditDest);
    EXPECT_EQ(r.dest.tun_port, 5555);
    EXPECT_EQ(r.dest.tun_csum, cfg::TunCsum::RemCsum);
    r = ok({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gre",
            "--tun-nocsum"})
            .request;
    EXPECT_EQ(r.dest.tun_type, cfg::TunType::Gre);
    EXPECT_EQ(r.dest.tun_port, 0);
    EXPECT_EQ(r.dest.tun_csum, cfg::TunCsum::None);
    // -i alone is IP-in-IP with no options, also on an edit (ipvsadm resets them).
    r = ok({"-e", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i"}).request;
    EXPECT_EQ(r.dest.tun_type, cfg::TunType::Ipip);
    EXPECT_EQ(r.dest.tun_csum, cfg::TunCsum::None);
}

TEST(Args, TunnelOptionsFollowIpvsadmsTable) {
    // Each message is ipvsadm 1.31's for the same command line (exit code 2).
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "vxlan"}, "illegal tunnel type specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gue", "--tun-port", "0"}, "illegal tunnel port specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gue", "--tun-port", "65536"}, "illegal tunnel port specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gue"},
          "You need to supply the 'tun-port' option for the 'gue' tunnel type");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-csum", "--tun-nocsum"},
          "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gre", "--tun-port", "6080"},
          "Illegal 'tun-port' option with the 'gre' tunnel type");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gre", "--tun-remcsum"},
          "Illegal 'tun-remcsum' option with the 'gre' tunnel type");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-port", "6080"}, "Illegal 'tun-port' option with the 'ipip' tunnel type");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-csum"}, "Illegal 'tun-csum' option with the 'ipip' tunnel type");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-i", "--tun-type", "gue", "--tun-type", "gre"}, "multiple 'tun-type' options specified");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "-m", "--tun-csum"},
          "Tunnel options conflict with forward method");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "--tun-type", "gre"},
          "Tunnel options conflict with forward method");
    fails({"-A", "-t", "10.0.0.1:80", "--tun-port", "6080"},
          "Illegal 'tun-port' option with the 'add-service' command");
    fails({"-d", "-t", "10.0.0.1:80", "-r", "172.16.0.31", "--tun-nocsum"},
          "Illegal 'tun-nocsum' option with the 'delete-server' command");
}

// ---- connection sync daemons ----

TEST(Args, StartDaemonTakesEveryOption) {
    const Invocation inv = ok({"--start-daemon", "master", "--mcast-interface", "eth0", "--syncid",
                               "7", "--mcast-group", "239.1.2.3", "--mcast-port", "8849",
                               "--mcast-ttl", "4", "--sync-maxlen", "1400"});
    EXPECT_EQ(inv.cmd, Command::StartDaemon);
    EXPECT_EQ(inv.request.op, Op::StartDaemon);
    const DaemonCfg& c = inv.request.daemon;
    EXPECT_EQ(c.role, SyncRole::Master);
    EXPECT_EQ(c.mcast_ifn, "eth0");
    EXPECT_EQ(c.syncid, 7);
    EXPECT_EQ(c.mcast_group, ip(239, 1, 2, 3));
    EXPECT_EQ(c.mcast_port, 8849);
    EXPECT_EQ(c.mcast_ttl, 4);
    EXPECT_EQ(c.sync_maxlen, 1400);
    // The option=value spelling, as keepalived's scripts and the example in ipvsadm(8) use it.
    const DaemonCfg& b =
        ok({"--start-daemon=backup", "--mcast-interface=eth1", "--syncid=255"}).request.daemon;
    EXPECT_EQ(b.role, SyncRole::Backup);
    EXPECT_EQ(b.mcast_ifn, "eth1");
    EXPECT_EQ(b.syncid, 255);
}

TEST(Args, StartDaemonDefaultsAreZero) {
    // Zero means "the daemon's default" (224.0.0.81, 8848, ttl 1, the MTU's maxlen).
    const Invocation inv = ok({"--start-daemon", "backup"});
    EXPECT_EQ(inv.request.op, Op::StartDaemon);
    const DaemonCfg& c = inv.request.daemon;
    EXPECT_EQ(c.role, SyncRole::Backup);
    EXPECT_EQ(c.mcast_ifn, "");
    EXPECT_EQ(c.syncid, 0);
    EXPECT_EQ(c.mcast_group, 0u);
    EXPECT_EQ(c.mcast_port, 0);
    EXPECT_EQ(c.mcast_ttl, 0);
    EXPECT_EQ(c.sync_maxlen, 0);
}

TEST(Args, StartDaemonInterfaceIsCutAsIpvsadmDoes) {
    // IP_VS_IFNAME_MAXLEN is 16 with the NUL: at most 15 characters reach the daemon.
    EXPECT_EQ(ok({"--start-daemon", "master", "--mcast-interface", "a-very-long-interface"})
                  .request.daemon.mcast_ifn,
              "a-very-long-int");
    EXPECT_EQ(ok({"--start-daemon", "master", "--mcast-interface", "exactly15chars_"})
                  .request.daemon.mcast_ifn,
              "exactly15chars_");
}

TEST(Args, StartDaemonLimits) {
    const auto daemon = [](std::initializer_list<const char*> extra) {
        std::vector<std::string> args = {"--start-daemon", "master"};
        args.insert(args.end(), extra.begin(), extra.end());
        ParseEnv env;
        env.resolver = &kResolver;
        auto r = parse_args(args, env);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return r.ok() ? r.value().request.daemon : DaemonCfg{};
    };
    EXPECT_EQ(daemon({"--syncid", "0"}).syncid, 0);
    EXPECT_EQ(daemon({"--mcast-port", "1"}).mcast_port, 1);
    EXPECT_EQ(daemon({"--mcast-port", "65535"}).mcast_port, 65535);
    EXPECT_EQ(daemon({"--mcast-ttl", "1"}).mcast_ttl, 1);
    EXPECT_EQ(daemon({"--mcast-ttl", "255"}).mcast_ttl, 255);
    EXPECT_EQ(daemon({"--sync-maxlen", "1"}).sync_maxlen, 1);
    EXPECT_EQ(daemon({"--sync-maxlen", "65507"}).sync_maxlen, 65507);  // 65535 - IP - UDP
    EXPECT_EQ(daemon({"--mcast-group", "224.0.0.0"}).mcast_group, ip(224, 0, 0, 0));
    EXPECT_EQ(daemon({"--mcast-group", "239.255.255.255"}).mcast_group, ip(239, 255, 255, 255));
}

TEST(Args, StartDaemonErrorsAreIpvsadms) {
    fails({"--start-daemon", "primary"}, "illegal start-daemon parameter specified");
    fails({"--start-daemon", "Master"}, "illegal start-daemon parameter specified");
    fails({"--start-daemon", ""}, "illegal start-daemon parameter specified");
    fails({"--stop-daemon", "slave"}, "illegal start_daemon specified");  // sic, as ipvsadm
    fails({"--start-daemon"}, "--start-daemon: missing argument", 255);
    fails({"--stop-daemon"}, "--stop-daemon: missing argument", 255);
    for (const char* v : {"256", "-1", "x", "", "1000"}) {
        fails({"--start-daemon", "master", "--syncid", v}, "illegal syncid specified");
    }
    for (const char* v : {"0", "65536", "http", "-1"}) {
        fails({"--start-daemon", "master", "--mcast-port", v}, "illegal mcast-port specified");
    }
    for (const char* v : {"0", "256", "x"}) {
        fails({"--start-daemon", "master", "--mcast-ttl", v}, "illegal mcast-ttl specified");
    }
    for (const char* v : {"0", "65508", "65535", "x"}) {
        fails({"--start-daemon", "master", "--sync-maxlen", v}, "illegal sync-maxlen specified");
    }
    // Not multicast, not an address, or a name (ipvsadm uses inet_pton, never the resolver).
    for (const char* v : {"10.0.0.1", "223.255.255.255", "240.0.0.1", "255.255.255.255", "224.0.0",
                          "www.example.com", ""}) {
        fails({"--start-daemon", "master", "--mcast-group", v},
              std::string("invalid IPv4 mcast-group `") + v + "'");
    }
    // IPv6 groups are valid for ipvsadm but dirigo syncs over IPv4 only.
    fails_with({"--start-daemon", "master", "--mcast-group", "ff02::1"}, "IPv6");
    fails_with({"--start-daemon", "master", "--mcast-group", "ff02::1"}, "not supported");
}

TEST(Args, StopDaemon) {
    Invocation inv = ok({"--stop-daemon", "master"});
    EXPECT_EQ(inv.cmd, Command::StopDaemon);
    EXPECT_EQ(inv.request.op, Op::StopDaemon);
    EXPECT_EQ(inv.request.daemon.role, SyncRole::Master);
    inv = ok({"--stop-daemon", "backup"});
    EXPECT_EQ(inv.request.daemon.role, SyncRole::Backup);
    // Only the role is sent: the --syncid ipvsadm accepts here is dropped.
    inv = ok({"--stop-daemon", "backup", "--syncid", "9"});
    EXPECT_EQ(inv.request.op, Op::StopDaemon);
    EXPECT_EQ(inv.request.daemon.role, SyncRole::Backup);
    EXPECT_EQ(inv.request.daemon.mcast_ifn, "");
    EXPECT_EQ(inv.request.daemon.syncid, 0);
}

TEST(Args, DaemonCommandsAndTheCommandTable) {
    fails({"--start-daemon", "master", "-t", "10.0.0.1:80"},
          "Illegal 'service-address' option with the 'start-daemon' command");
    fails({"--start-daemon", "master", "-n"},
          "Illegal 'numeric' option with the 'start-daemon' command");
    fails({"--stop-daemon", "master", "-t", "10.0.0.1:80"},
          "Illegal 'service-address' option with the 'stop-daemon' command");
    fails({"--stop-daemon", "backup", "-w", "1"},
          "Illegal 'weight' option with the 'stop-daemon' command");
    fails({"--start-daemon", "master", "--stop-daemon", "master"}, "multiple commands specified");
    fails({"--start-daemon", "master", "--start-daemon", "backup"}, "multiple commands specified");
    fails({"-L", "--start-daemon", "master"}, "multiple commands specified");
    fails({"--start-daemon", "master", "-C"}, "multiple commands specified");
    // Daemons are not rules: a restore file (one batch of rule changes) cannot start one.
    auto restore = parse_restore("-A -t 10.0.0.1:80 -s rr\n--start-daemon master\n", &kResolver);
    ASSERT_FALSE(restore.ok());
    EXPECT_EQ(restore.error().exit_code, 2);
    EXPECT_EQ(restore.error().message.rfind("line 2: ", 0), 0u) << restore.error().message;
    EXPECT_NE(restore.error().message.find("only commands that change rules"), std::string::npos);
    // The role is checked where it is read, before the rest of the line.
    fails({"--start-daemon", "both", "-t", "10.0.0.1:80"},
          "illegal start-daemon parameter specified");
}

TEST(Args, SyncOptionsFollowIpvsadmsCommandTable) {
    // ipvsadm 1.31 (checked against Debian's binary): --start-daemon takes all six, -L and
    // --stop-daemon only --syncid, every other command none.
    fails({"-A", "-t", "10.0.0.1:80", "-s", "rr", "--syncid", "3"},
          "Illegal 'syncid' option with the 'add-service' command");
    fails({"-A", "-t", "10.0.0.1:80", "--mcast-interface", "eth0"},
          "Illegal 'mcast-interface' option with the 'add-service' command");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.11", "--sync-maxlen", "5"},
          "Illegal 'sync-maxlen' option with the 'add-server' command");
    fails({"-S", "--syncid", "3"}, "Illegal 'syncid' option with the 'save' command");
    fails({"-C", "--syncid", "3"}, "Illegal 'syncid' option with the 'flush' command");
    fails({"-L", "--mcast-group", "224.0.0.82"},
          "Illegal 'mcast-group' option with the 'list' command");
    fails({"-L", "--mcast-interface", "lo"},
          "Illegal 'mcast-interface' option with the 'list' command");
    fails({"--stop-daemon", "master", "--mcast-port", "9"},
          "Illegal 'mcast-port' option with the 'stop-daemon' command");
    fails({"--stop-daemon", "master", "--mcast-interface", "lo"},
          "Illegal 'mcast-interface' option with the 'stop-daemon' command");
    const Invocation list = ok({"-L", "--daemon", "--syncid", "3"});
    EXPECT_EQ(list.request.op, Op::ListDaemons);
    EXPECT_EQ(ok({"-L", "-c", "--syncid", "2"}).request.op, Op::ListConns);
    EXPECT_EQ(ok({"--stop-daemon", "master", "--syncid", "9"}).request.op, Op::StopDaemon);
    // Values are checked while the line is read, before the table.
    fails({"-C", "--syncid", "300"}, "illegal syncid specified");
    fails({"-C", "--mcast-port", "0"}, "illegal mcast-port specified");
    fails({"--start-daemon", "master", "--syncid", "1", "--syncid", "2"},
          "multiple 'syncid' options specified");
}

// ---- ipvsadm's command/option table and conflicts ----

TEST(Args, RequiredOptions) {
    fails({"-A", "-s", "rr"},
          "You need to supply the 'service-address' option for the 'add-service' command");
    fails({"-a", "-t", "10.0.0.1:80"},
          "You need to supply the 'real-server' option for the 'add-server' command");
    fails({"-d", "-r", "172.16.0.11"},
          "You need to supply the 'service-address' option for the 'delete-server' command");
    fails({"-D"},
          "You need to supply the 'service-address' option for the 'delete-service' command");
}

TEST(Args, IllegalOptions) {
    fails({"-A", "-t", "10.0.0.1:80", "-w", "3"},
          "Illegal 'weight' option with the 'add-service' command");
    fails({"-A", "-t", "10.0.0.1:80", "-n"},
          "Illegal 'numeric' option with the 'add-service' command");
    fails({"-C", "-n"}, "Illegal 'numeric' option with the 'flush' command");
    fails({"-a", "-t", "10.0.0.1:80", "-r", "1.2.3.4", "-s", "rr"},
          "Illegal 'scheduler' option with the 'add-server' command");
    fails({"-L", "-s", "rr"}, "Illegal 'scheduler' option with the 'list' command");
    fails({"--set", "1", "2", "3", "-n"}, "Illegal 'numeric' option with the 'set' command");
    fails({"-Z", "-n"}, "Illegal 'numeric' option with the 'zero' command");
    fails({"-D", "-t", "10.0.0.1:80", "-p"},
          "Illegal 'persistent' option with the 'delete-service' command");
}

TEST(Args, ConflictingCommandsAndOptions) {
    fails({"-A", "-D", "-t", "10.0.0.1:80"}, "multiple commands specified");
    fails({"-L", "-S"}, "multiple commands specified");
    fails({"-L", "-h"}, "multiple commands specified");
    fails({"-A", "-t", "10.0.0.1:80", "-t", "10.0.0.2:80"},
          "multiple 'service-address' options specified");
    fails({"-A", "-t", "10.0.0.1:80", "-u", "10.0.0.2:80"},
          "multiple 'service-address' options specified");
    fails({"-L", "-n", "-n"}, "multiple 'numeric' options specified");
    fails({"-L", "-c", "-t", "10.0.0.1:80"},
          "The option 'service-address' conflicts with the 'connection' option in the 'list' "
          "command");
    fails({"-L", "--timeout", "--daemon"},
          "The option 'daemon' conflicts with the 'timeout' option in the 'list' command");
    fails({"-L", "-c", "--stats"}, "options conflicts in the list command");
    fails({"-L", "--timeout", "--rate"}, "options conflicts in the list command");
    fails({"-L", "--daemon", "--persistent-conn"}, "options conflicts in the list command");
    EXPECT_TRUE(parse({"-L", "-c", "--persistent-conn"}).ok());
}

TEST(Args, UnknownOptionsAndMissingCommand) {
    auto r = parse({"-L", "--bogus"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().exit_code, 255);
    EXPECT_EQ(r.error().message, "--bogus: unknown option");
    EXPECT_TRUE(r.error().try_help);
    fails({"-Q"}, "-Q: unknown option", 255);
    fails({"-LQ"}, "-Q: unknown option", 255);
    fails({"-A", "-t"}, "-t: missing argument", 255);
    fails({"-A", "--tcp-service"}, "--tcp-service: missing argument", 255);
    fails({"-C", "--clear=yes"}, "--clear: option does not take an argument", 255);
    r = parse({"-n"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().exit_code, 255);
    EXPECT_TRUE(r.error().try_help);
    EXPECT_EQ(r.error().message, "");
    fails({"-L", "foo"}, "unexpected argument foo");
    fails({"-C", "now"}, "unexpected argument now");
}

// ---- dirigo's views ----

TEST(Args, Views) {
    struct Case {
        const char* option;
        Command cmd;
        Op op;
    };
    const Case cases[] = {
        {"--list-ports", Command::ListPorts, Op::ListPorts},
        {"--list-workers", Command::ListWorkers, Op::ListWorkers},
        {"--list-neighbours", Command::ListNeighbours, Op::ListNeighbours},
        {"--list-neighbors", Command::ListNeighbours, Op::ListNeighbours},
        {"--list-routes", Command::ListRoutes, Op::ListRoutes},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.option);
        Invocation inv = ok({c.option});
        EXPECT_EQ(inv.cmd, c.cmd);
        EXPECT_EQ(inv.request.op, c.op);
        EXPECT_EQ(inv.fmt, FormatOpts{});
        EXPECT_EQ(inv.socket, "/env/socket");
        inv = ok({c.option, "-n", "--socket", "/tmp/b.sock", "--nosort"});
        EXPECT_EQ(inv.cmd, c.cmd);
        EXPECT_TRUE(inv.fmt.numeric);
        EXPECT_TRUE(inv.fmt.nosort);
        EXPECT_EQ(inv.socket, "/tmp/b.sock");
        EXPECT_TRUE(inv.socket_given);
        EXPECT_TRUE(ok({"--numeric", c.option}).fmt.numeric);  // the command may come last
        fails({c.option, "-L"}, "multiple commands specified");
        fails({"-C", c.option}, "multiple commands specified");
        fails({c.option, "now"}, "unexpected argument now");
        fails({c.option, "=x"}, "unexpected argument =x");
    }
    // --exact scales counters, so it goes with the views that have them.
    EXPECT_TRUE(ok({"--list-ports", "--exact"}).fmt.exact);
    EXPECT_TRUE(ok({"--list-workers", "-nX"}).fmt.exact);
    fails({"--list-neighbours", "--exact"},
          "Illegal 'exact' option with the 'list-neighbours' command");
    fails({"--list-routes", "-X"}, "Illegal 'exact' option with the 'list-routes' command");
}

TEST(Args, ViewsTakeOnlyListingOptions) {
    fails({"--list-ports", "-t", "10.0.0.1:80"},
          "Illegal 'service-address' option with the 'list-ports' command");
    fails({"--list-ports", "--stats"}, "Illegal 'stats' option with the 'list-ports' command");
    fails({"--list-workers", "--rate"}, "Illegal 'rate' option with the 'list-workers' command");
    fails({"--list-workers", "-c"}, "Illegal 'connection' option with the 'list-workers' command");
    fails({"--list-routes", "--timeout"},
          "Illegal 'timeout' option with the 'list-routes' command");
    fails({"--list-neighbors", "-w", "1"},
          "Illegal 'weight' option with the 'list-neighbours' command");
    fails({"--list-ports=yes"}, "--list-ports: option does not take an argument", 255);
    // Long options only: no letter is taken from ipvsadm's alphabet, and no abbreviations.
    fails({"-P"}, "-P: unknown option", 255);
    fails({"--list-port"}, "--list-port: unknown option", 255);
    fails({"-Ln", "--list-ports"}, "multiple commands specified");
}

// ---- restore input ----

TEST(Restore, SplitWords) {
    EXPECT_EQ(split_words("  -A  -t 10.0.0.1:80\t-s rr \r"),
              (std::vector<std::string>{"-A", "-t", "10.0.0.1:80", "-s", "rr"}));
    EXPECT_EQ(split_words("-a 'x y' \"z\"w"), (std::vector<std::string>{"-a", "x y", "zw"}));
    EXPECT_TRUE(split_words("   ").empty());
}

TEST(Restore, ManyLinesMakeOneBatch) {
    const std::string text =
        "# saved by ipvsadm-save\n"
        "\n"
        "-A -t 10.0.0.1:80 -s rr\n"
        "-a -t 10.0.0.1:80 -r 172.16.0.11:80 -m -w 1\n"
        "   # indented comment\n"
        "-a -t 10.0.0.1:80 -r 172.16.0.12:8080 -m -w 2\n"
        "-A -u 10.0.0.2:53 -s sh -b sh-port -p 120 -M 255.255.255.0\n"
        "-a -u 10.0.0.2:53 -r 172.16.0.21 -g\n"
        "--set 900 120 300\n"
        "-e -t 10.0.0.1:80 -r 172.16.0.11:80 -m -w 5\n"
        "-d -t 10.0.0.1:80 -r 172.16.0.12:8080\n"
        "-D -u 10.0.0.2:53\n"
        "-A --sctp-service 10.0.0.3:5000 -s rr\n"
        "-C";  // no final newline
    auto r = parse_restore(text, &kResolver);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Request& b = r.value();
    EXPECT_EQ(b.op, Op::Batch);
    ASSERT_EQ(b.batch.size(), 11u);
    EXPECT_EQ(b.batch[0].op, Op::AddService);
    EXPECT_EQ(b.batch[0].service.scheduler, "rr");
    EXPECT_EQ(b.batch[1].op, Op::AddDest);
    EXPECT_EQ(b.batch[1].dest.fwd, cfg::Fwd::Masq);
    EXPECT_EQ(b.batch[2].dest.port, 8080);
    EXPECT_EQ(b.batch[2].dest.weight, 2);
    EXPECT_EQ(b.batch[3].service.flags, cfg::kSvcPersistent | cfg::kSvcSched2);
    EXPECT_EQ(b.batch[3].service.netmask, ip(255, 255, 255, 0));
    EXPECT_EQ(b.batch[4].dest.port, 53);
    EXPECT_EQ(b.batch[4].dest.fwd, cfg::Fwd::Route);
    EXPECT_EQ(b.batch[5].op, Op::SetTimeouts);
    EXPECT_EQ(b.batch[6].op, Op::EditDest);
    EXPECT_EQ(b.batch[7].op, Op::DelDest);
    EXPECT_EQ(b.batch[8].op, Op::DelService);
    EXPECT_EQ(b.batch[9].op, Op::AddService);
    EXPECT_EQ(b.batch[9].service.key, (cfg::ServiceKey{cfg::Proto::Sctp, ip(10, 0, 0, 3), 5000}));
    EXPECT_EQ(b.batch[10].op, Op::Clear);
}

// What -S writes for IPv6 services (ipvsadm 1.31's form) comes back through -R unchanged.
TEST(Restore, Ipv6SaveRestores) {
    const std::string text =
        "-A -t [2001:db8::100]:80 -s rr -p 300 -M 64\n"
        "-a -t [2001:db8::100]:80 -r 10.0.0.11:80 -i -w 1 --tun-type ipip\n"
        "-a -t [2001:db8::100]:80 -r [2001:db8:1::11]:8080 -m -w 2\n"
        "-A -f 7 -6 -s rr\n"
        "-a -f 7 -6 -r [2001:db8:1::21]:0 -g -w 1\n";
    auto r = parse_restore(text, &kResolver);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Request& b = r.value();
    ASSERT_EQ(b.batch.size(), 5u);
    EXPECT_EQ(b.batch[0].service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(b.batch[0].service.prefix6, 64);
    EXPECT_EQ(b.batch[1].dest.af, cfg::Family::Inet);
    EXPECT_EQ(b.batch[1].dest.fwd, cfg::Fwd::Tunnel);
    EXPECT_EQ(b.batch[2].dest.af, cfg::Family::Inet6);
    EXPECT_EQ(b.batch[2].dest.addr6, ip6("2001:db8:1::11"));
    EXPECT_EQ(b.batch[2].dest.port, 8080);
    EXPECT_EQ(b.batch[3].service.key.fwmark, 7u);
    EXPECT_EQ(b.batch[3].service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(b.batch[4].service.key.af, cfg::Family::Inet6);
    EXPECT_EQ(b.batch[4].dest.addr6, ip6("2001:db8:1::21"));
    auto bad = parse_restore("-A -t [2001:db8::100]:80 -s rr\n"
                             "-a -t [2001:db8::100]:80 -r 10.0.0.11:80 -m\n",
                             &kResolver);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message,
              "line 2: Different address family is allowed only for tunneling servers");
}

TEST(Restore, EmptyInputIsAnEmptyBatch) {
    auto r = parse_restore("\n# nothing\n\n", &kResolver);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value().batch.empty());
}

TEST(Restore, ErrorsNameTheLine) {
    const auto err = [](const std::string& text) {
        auto r = parse_restore(text, &kResolver);
        EXPECT_FALSE(r.ok());
        return r.ok() ? ArgError{} : r.error();
    };
    ArgError e = err("-A -t 10.0.0.1:80\n\n-a -t 10.0.0.1:80 -r 172.16.0.11 -w 70000\n");
    EXPECT_EQ(e.message, "line 3: illegal weight specified");
    EXPECT_EQ(e.exit_code, 2);
    e = err("-A -t 10.0.0.1:80\n-a --bogus\n");
    EXPECT_EQ(e.message, "line 2: --bogus: unknown option");
    EXPECT_EQ(e.exit_code, 255);
    EXPECT_FALSE(e.try_help);
    e = err("-t 10.0.0.1:80\n");
    EXPECT_EQ(e.message, "line 1: no command given");
    e = err("-L -n\n");
    EXPECT_NE(e.message.find("line 1: only commands that change rules"), std::string::npos);
    e = err("-A -t 10.0.0.1:80\n-Z\n");
    EXPECT_EQ(e.message,
              "line 2: -Z is not allowed in restore input (counters are not rules); run "
              "dirigoadm -Z on its own");
    e = err("--list-ports\n");
    EXPECT_NE(e.message.find("line 1: only commands that change rules"), std::string::npos);
    e = err("-R\n");
    EXPECT_NE(e.message.find("line 1: only commands"), std::string::npos);
    e = err("-C --socket /x\n");
    EXPECT_EQ(e.message, "line 1: --socket is not allowed in restore input");
    e = err("-A -t 10.0.0.1:80 -s nope\n");
    EXPECT_NE(e.message.find("line 1: unknown scheduler `nope'"), std::string::npos);
}

}  // namespace
}  // namespace dirigo::ctl::cli
