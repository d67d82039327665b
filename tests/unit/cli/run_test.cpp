// SPDX-License-Identifier: BSD-3-Clause
// dirigoadm end to end against a fake daemon: which requests each command sends, in which order,
// to which socket, what it prints, and the exit codes ipvsadm scripts rely on. The last tests go
// through the real ctl::call() and a Unix socket.

#include "cli/run.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/client.hpp"

namespace dirigo::ctl::cli {
namespace {

constexpr cfg::Ip4 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return (cfg::Ip4{a} << 24) | (cfg::Ip4{b} << 16) | (cfg::Ip4{c} << 8) | d;
}

ServiceInfo web() {
    ServiceInfo s;
    s.service.key = {cfg::Proto::Tcp, ip(10, 0, 0, 1), 80};
    s.service.scheduler = "rr";
    DestInfo d;
    d.server.addr = ip(172, 16, 115, 103);
    d.server.port = 80;
    d.server.fwd = cfg::Fwd::Masq;
    d.inactive = 1;
    s.dests = {d};
    return s;
}

/// Records requests and answers from a script of replies (Ok and empty when the script runs out).
struct FakeDaemon {
    std::vector<std::pair<std::string, Request>> seen;
    std::deque<Result<Reply>> replies;
    std::string stdin_text;

    RunEnv env() {
        RunEnv e;
        e.socket = "/run/test.sock";
        e.call = [this](const std::string& socket, const Request& req) -> Result<Reply> {
            seen.emplace_back(socket, req);
            if (replies.empty()) {
                return Reply{};
            }
            Result<Reply> r = replies.front();
            replies.pop_front();
            return r;
        };
        e.read_stdin = [this] { return stdin_text; };
        return e;
    }
};

struct Ran {
    int code = -1;
    std::string out;
    std::string err;
};

Ran run_with(FakeDaemon& d, std::initializer_list<const char*> words) {
    std::vector<std::string> args(words.begin(), words.end());
    Ran r;
    const RunEnv e = d.env();
    r.code = run(args, e, r.out, r.err);
    return r;
}

Reply refused(Errc code, std::string msg = "") {
    Reply r;
    r.code = code;
    r.message = std::move(msg);
    return r;
}

TEST(Run, ListSendsPingThenList) {
    FakeDaemon d;
    Reply ping;
    ping.info = {"0.1.0", 4096, 2};
    Reply list;
    list.services = {web()};
    d.replies = {ping, list};
    const Ran r = run_with(d, {"-Ln"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "Dirigo Virtual Server version 0.1.0 (size=4096)\n"
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.1:80 rr\n"
              "  -> 172.16.115.103:80            Masq    1      0          1         \n");
    ASSERT_EQ(d.seen.size(), 2u);
    EXPECT_EQ(d.seen[0].first, "/run/test.sock");
    EXPECT_EQ(d.seen[0].second.op, Op::Ping);
    EXPECT_EQ(d.seen[1].second.op, Op::List);
    EXPECT_FALSE(d.seen[1].second.has_key);
}

TEST(Run, ListOneService) {
    FakeDaemon d;
    Reply list;
    list.services = {web()};
    d.replies = {list};
    const Ran r = run_with(d, {"-L", "-n", "-t", "10.0.0.1:80"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind("Prot LocalAddress:Port Scheduler Flags\n", 0), 0u);  // no banner
    ASSERT_EQ(d.seen.size(), 1u);
    EXPECT_TRUE(d.seen[0].second.has_key);

    FakeDaemon missing;
    missing.replies = {refused(Errc::NoService, "no service tcp 10.0.0.9:80")};
    const Ran m = run_with(missing, {"-Ln", "-t", "10.0.0.9:80"});
    EXPECT_EQ(m.code, 1);
    EXPECT_EQ(m.err, "No such service\n");
    EXPECT_EQ(m.out, "");

    FakeDaemon empty;  // Ok but without the service
    const Ran e = run_with(empty, {"-Ln", "-t", "10.0.0.9:80"});
    EXPECT_EQ(e.code, 1);
    EXPECT_EQ(e.err, "No such service\n");
}

TEST(Run, OtherListings) {
    FakeDaemon d;
    Reply t;
    t.timeouts = {7200, 60, 30};
    d.replies = {t};
    Ran r = run_with(d, {"-L", "--timeout"});
    EXPECT_EQ(r.out, "Timeout (tcp tcpfin udp): 7200 60 30\n");
    EXPECT_EQ(d.seen.back().second.op, Op::GetTimeouts);

    r = run_with(d, {"-Lnc"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind("IPVS connection entries\n", 0), 0u);
    EXPECT_EQ(d.seen.back().second.op, Op::ListConns);

    r = run_with(d, {"-L", "--daemon"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "");  // no sync daemon runs
    EXPECT_EQ(d.seen.back().second.op, Op::ListDaemons);

    Reply list;
    list.services = {web()};
    d.replies = {list};
    r = run_with(d, {"-Sn"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out,
              "-A -t 10.0.0.1:80 -s rr\n"
              "-a -t 10.0.0.1:80 -r 172.16.115.103:80 -m -w 1\n");
    EXPECT_EQ(d.seen.back().second.op, Op::List);
}

TEST(Run, Views) {
    FakeDaemon d;
    Reply ports;
    ports.ports = {PortView{.name = "ext",
                            .device = "net_ring0",
                            .port_id = 0,
                            .mac = "02:00:00:00:00:01",
                            .link_up = true,
                            .speed_mbps = 10000,
                            .mtu = 1500,
                            .rx_queues = 1,
                            .tx_queues = 1,
                            .addresses = {{ip(10, 0, 0, 1), 24}},
                            .rx_packets = 5,
                            .tx_packets = 4}};
    ports.drops = {{"no_route", 2}, {"bad_checksum", 0}};
    Reply workers;
    workers.workers = {WorkerView{.id = 0,
                                  .lcore = 1,
                                  .rx_packets = 5,
                                  .tx_packets = 4,
                                  .drops = 1,
                                  .loops = 4,
                                  .busy_loops = 1,
                                  .connections = 2,
                                  .created = 3,
                                  .handed_off = 0,
                                  .taken_over = 0,
                                  .sleeps = 6,
                                  .slept_us = 7}};
    Reply neighbours;
    neighbours.neighbours = {{ip(10, 0, 0, 254), "52:54:00:12:34:56", "ext", NeighState::Resolved}};
    Reply routes;
    routes.routes = {{{0, 0}, ip(10, 0, 0, 254), "ext"}, {{ip(10, 0, 0, 0), 24}, 0, "ext"}};
    d.replies = {ports, workers, neighbours, routes};

    Ran r = run_with(d, {"--list-ports", "-n"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "Port     Device           Link  Speed   MTU RxQ TxQ   RxPkts   TxPkts RxMissed"
              "    RxErr    TxErr\n"
              "  -> Id    MAC                RxBytes  TxBytes Addresses\n"
              "  -> Kernel           Link     ToKern FromKern\n"
              "ext      net_ring0        up      10G  1500   1   1        5        4        0"
              "        0        0\n"
              "  -> 0     02:00:00:00:00:01        0        0 10.0.0.1/24\n"
              "  -> -                -             0        0\n"
              "Drops by reason\n"
              "  no_route                            2\n");
    r = run_with(d, {"--list-workers", "-n"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out,
              "Worker Lcore    RxPkts    TxPkts     Drops  Busy%     Conns   Created HandedOff "
              "TakenOver    Sleeps\n"
              "     0     1         5         4         1   25.0         2         3         0 "
              "        0         6\n");
    r = run_with(d, {"--list-neighbors", "-n"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out,
              "Address          MAC               Port     State\n"
              "10.0.0.254       52:54:00:12:34:56 ext      resolved\n");
    r = run_with(d, {"--list-routes"});  // no Namer in the test env: numbers anyway
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out,
              "Destination        Gateway              Port\n"
              "0.0.0.0/0          via 10.0.0.254       ext\n"
              "10.0.0.0/24        connected            ext\n");
    ASSERT_EQ(d.seen.size(), 4u);
    EXPECT_EQ(d.seen[0].second.op, Op::ListPorts);
    EXPECT_EQ(d.seen[1].second.op, Op::ListWorkers);
    EXPECT_EQ(d.seen[2].second.op, Op::ListNeighbours);
    EXPECT_EQ(d.seen[3].second.op, Op::ListRoutes);
    for (const auto& [socket, req] : d.seen) {
        EXPECT_EQ(socket, "/run/test.sock");
    }

    run_with(d, {"--list-workers", "--socket", "/tmp/other.sock"});
    EXPECT_EQ(d.seen.back().first, "/tmp/other.sock");
}

TEST(Run, ViewFailures) {
    // A refusal prints the daemon's words and exits 1, as a failed listing does.
    FakeDaemon d;
    d.replies = {refused(Errc::Unsupported, "no route table in this build")};
    Ran r = run_with(d, {"--list-routes", "-n"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "no route table in this build\n");
    EXPECT_EQ(r.out, "");
    d.replies = {refused(Errc::Internal)};
    r = run_with(d, {"--list-ports"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "list-ports failed: Internal\n");
    d.replies = {Result<Reply>(Errc::Io, "cannot connect to dirigo at /run/test.sock: refused")};
    r = run_with(d, {"--list-workers"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "cannot connect to dirigo at /run/test.sock: refused\n");
    r = run_with(d, {"--list-workers", "--stats"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "Illegal 'stats' option with the 'list-workers' command\n");
}

TEST(Run, StartAndStopSyncDaemons) {
    FakeDaemon d;
    Ran r = run_with(d, {"--start-daemon", "master", "--mcast-interface", "eth0", "--syncid", "7",
                         "--mcast-group", "224.0.0.82", "--mcast-port", "9000", "--mcast-ttl", "2",
                         "--sync-maxlen", "1200"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(d.seen.size(), 1u);  // no Ping first: a change goes straight to the daemon
    EXPECT_EQ(d.seen[0].first, "/run/test.sock");
    const Request& start = d.seen[0].second;
    EXPECT_EQ(start.op, Op::StartDaemon);
    EXPECT_EQ(start.daemon.role, SyncRole::Master);
    EXPECT_EQ(start.daemon.mcast_ifn, "eth0");
    EXPECT_EQ(start.daemon.syncid, 7);
    EXPECT_EQ(start.daemon.mcast_group, ip(224, 0, 0, 82));
    EXPECT_EQ(start.daemon.mcast_port, 9000);
    EXPECT_EQ(start.daemon.mcast_ttl, 2);
    EXPECT_EQ(start.daemon.sync_maxlen, 1200);

    r = run_with(d, {"--stop-daemon", "backup"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(d.seen.size(), 2u);
    EXPECT_EQ(d.seen[1].second.op, Op::StopDaemon);
    EXPECT_EQ(d.seen[1].second.daemon.role, SyncRole::Backup);

    // A bad argument never reaches the daemon.
    r = run_with(d, {"--start-daemon", "master", "--syncid", "256"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "illegal syncid specified\n");
    EXPECT_EQ(d.seen.size(), 2u);
}

TEST(Run, SyncDaemonRefusalsUseIpvsadmWordsAndExit255) {
    struct Case {
        std::initializer_list<const char*> args;
        Errc code;
        const char* message;
    };
    const Case cases[] = {
        {{"--start-daemon", "master", "--mcast-interface", "eth0"},
         Errc::DaemonRunning,
         "Daemon has already run\n"},
        {{"--start-daemon", "backup", "--mcast-interface", "eth9"},
         Errc::NoDevice,
         "No such device\n"},
        {{"--stop-daemon", "master"}, Errc::NoDaemon, "No daemon is running\n"},
        {{"--stop-daemon", "backup"}, Errc::NoDaemon, "No daemon is running\n"},
        // Codes ipvsadm has no words for print the daemon's.
        {{"--start-daemon", "master"}, Errc::Invalid, "daemon says no\n"},
    };
    for (const Case& c : cases) {
        FakeDaemon d;
        d.replies = {refused(c.code, "daemon says no")};
        const Ran r = run_with(d, c.args);
        EXPECT_EQ(r.code, 255) << c.message;
        EXPECT_EQ(r.err, c.message);
        EXPECT_EQ(r.out, "");
    }
    FakeDaemon gone;
    gone.replies = {Result<Reply>(Errc::Io, "cannot connect to dirigo at /run/test.sock: refused")};
    const Ran r = run_with(gone, {"--stop-daemon", "master"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "cannot connect to dirigo at /run/test.sock: refused\n");
}

TEST(Run, ListDaemons) {
    FakeDaemon d;
    Reply rep;
    DaemonView master;
    master.cfg = {SyncRole::Master, "eth0", 7, 1472, ip(224, 0, 0, 81), 8848, 1};
    DaemonView backup;
    backup.cfg = {SyncRole::Backup, "eth1", 0, 1472, ip(224, 0, 0, 81), 8848, 1};
    rep.daemons = {master, backup};
    d.replies = {rep};
    Ran r = run_with(d, {"-L", "--daemon"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, "
              "port=8848, ttl=1)\n"
              "backup sync daemon (mcast=eth1, syncid=0, maxlen=1472, group=224.0.0.81, "
              "port=8848, ttl=1)\n");
    ASSERT_EQ(d.seen.size(), 1u);  // no banner, so no Ping
    EXPECT_EQ(d.seen[0].second.op, Op::ListDaemons);

    d.replies = {refused(Errc::Internal, "sync state unavailable")};
    r = run_with(d, {"-L", "--daemon"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "sync state unavailable\n");
    EXPECT_EQ(r.out, "");
    d.replies = {Result<Reply>(Errc::Io, "cannot connect to dirigo at /run/test.sock: refused")};
    r = run_with(d, {"-L", "--daemon"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
}

TEST(Run, ListFailureExitsOne) {
    FakeDaemon d;
    d.replies = {Reply{}, refused(Errc::Internal, "snapshot missing")};
    const Ran r = run_with(d, {"-Ln"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "snapshot missing\n");
    EXPECT_EQ(r.out, "");
}

TEST(Run, ChangesPrintNothingOnSuccess) {
    FakeDaemon d;
    const Ran r = run_with(d, {"-A", "-t", "10.0.0.1:80", "-s", "rr"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(d.seen.size(), 1u);
    EXPECT_EQ(d.seen[0].second.op, Op::AddService);
    EXPECT_EQ(d.seen[0].second.service.scheduler, "rr");
}

TEST(Run, RefusalsUseIpvsadmWordsAndExit255) {
    struct Case {
        std::initializer_list<const char*> args;
        Errc code;
        const char* message;
    };
    const Case cases[] = {
        {{"-A", "-t", "10.0.0.1:80"}, Errc::ServiceExists, "Service already exists\n"},
        {{"-E", "-t", "10.0.0.1:80"}, Errc::NoService, "No such service\n"},
        {{"-D", "-t", "10.0.0.1:80"}, Errc::NoService, "No such service\n"},
        {{"-Z", "-t", "10.0.0.1:80"}, Errc::NoService, "No such service\n"},
        {{"-a", "-t", "10.0.0.1:80", "-r", "1.2.3.4"}, Errc::NoService, "Service not defined\n"},
        {{"-a", "-t", "10.0.0.1:80", "-r", "1.2.3.4"},
         Errc::DestExists,
         "Destination already exists\n"},
        {{"-e", "-t", "10.0.0.1:80", "-r", "1.2.3.4"}, Errc::NoDest, "No such destination\n"},
        {{"-d", "-t", "10.0.0.1:80", "-r", "1.2.3.4"}, Errc::NoDest, "No such destination\n"},
        {{"-d", "-t", "10.0.0.1:80", "-r", "1.2.3.4"}, Errc::NoService, "Service not defined\n"},
        {{"--set", "1", "2", "3"}, Errc::Invalid, "daemon says no\n"},
        {{"-C"}, Errc::Internal, "daemon says no\n"},
    };
    for (const Case& c : cases) {
        FakeDaemon d;
        d.replies = {refused(c.code, "daemon says no")};
        const Ran r = run_with(d, c.args);
        EXPECT_EQ(r.code, 255) << c.message;
        EXPECT_EQ(r.err, c.message);
    }
}

TEST(Run, UnreachableDaemonExitsTwo) {
    FakeDaemon d;
    d.replies = {Result<Reply>(Errc::Io,
                               "cannot connect to dirigo at /run/test.sock: "
                               "No such file or directory")};
    const Ran r = run_with(d, {"-C"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "cannot connect to dirigo at /run/test.sock: No such file or directory\n");
}

TEST(Run, ArgumentErrors) {
    FakeDaemon d;
    Ran r = run_with(d, {"-A", "-t", "10.0.0.1:80", "-s", "nope"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown scheduler `nope'"), std::string::npos);
    r = run_with(d, {"--bogus"});
    EXPECT_EQ(r.code, 255);
    EXPECT_EQ(r.err,
              "--bogus: unknown option\n"
              "Try `dirigoadm -h' or 'dirigoadm --help' for more information.\n");
    r = run_with(d, {"-n"});
    EXPECT_EQ(r.code, 255);
    EXPECT_EQ(r.err, "Try `dirigoadm -h' or 'dirigoadm --help' for more information.\n");
    EXPECT_TRUE(d.seen.empty());  // nothing was sent
}

TEST(Run, HelpAndVersion) {
    FakeDaemon d;
    Ran r = run_with(d, {"-h"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("Usage:"), std::string::npos);
    EXPECT_TRUE(d.seen.empty());
    // --version asks the daemon for its version, as ipvsadm names the IPVS it talks to.
    Reply v;
    v.info.version = "9.8.7";
    d.replies.push_back(v);
    r = run_with(d, {"--socket", "/tmp/v.sock", "--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "dirigoadm v" DIRIGO_VERSION
                     " (ipvsadm v1.31 compatible command line and dirigo v9.8.7)\n");
    ASSERT_EQ(d.seen.size(), 1u);
    EXPECT_EQ(d.seen[0].first, "/tmp/v.sock");
    EXPECT_EQ(d.seen[0].second.op, Op::Version);
    // No daemon: ipvsadm's exit code when it cannot talk to IPVS.
    d.replies.push_back(Result<Reply>(Status(Errc::Io, "cannot connect to dirigo at x: gone")));
    r = run_with(d, {"-v"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "cannot connect to dirigo at x: gone\n");
}

TEST(Run, SocketOptionWins) {
    FakeDaemon d;
    run_with(d, {"-C", "--socket", "/tmp/other.sock"});
    ASSERT_EQ(d.seen.size(), 1u);
    EXPECT_EQ(d.seen[0].first, "/tmp/other.sock");
}

TEST(Run, RestoreSendsOneBatch) {
    FakeDaemon d;
    d.stdin_text =
        "-A -t 10.0.0.1:80 -s rr\n"
        "-a -t 10.0.0.1:80 -r 172.16.0.11:80 -m -w 1\n"
        "\n"
        "# comment\n"
        "-a -t 10.0.0.1:80 -r 172.16.0.12:80 -m -w 1\n";
    const Ran r = run_with(d, {"-R"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(d.seen.size(), 1u);
    const Request& b = d.seen[0].second;
    EXPECT_EQ(b.op, Op::Batch);
    ASSERT_EQ(b.batch.size(), 3u);
    EXPECT_EQ(b.batch[2].dest.addr, ip(172, 16, 0, 12));
}

TEST(Run, RestoreIsAllOrNothing) {
    FakeDaemon bad_line;
    bad_line.stdin_text = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 172.16.0.11 -w x\n";
    Ran r = run_with(bad_line, {"-R"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "line 2: illegal weight specified\n");
    EXPECT_TRUE(bad_line.seen.empty());  // nothing applied

    FakeDaemon refusing;
    refusing.stdin_text = "-a -t 10.0.0.1:80 -r 172.16.0.11\n";
    refusing.replies = {refused(Errc::NoService,
                                "rule 1 (add-server tcp 10.0.0.1:80): "
                                "Service not defined")};
    r = run_with(refusing, {"-R"});
    EXPECT_EQ(r.code, 255);
    EXPECT_EQ(r.err, "rule 1 (add-server tcp 10.0.0.1:80): Service not defined\n");

    FakeDaemon empty;
    empty.stdin_text = "# nothing\n";
    r = run_with(empty, {"-R"});
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(empty.seen.empty());
}

// ---- through the real socket client ----

/// Serves `replies` in order, one per connection, on a Unix socket in a temporary directory.
class SocketDaemon {
public:
    explicit SocketDaemon(std::vector<Reply> replies) : replies_(std::move(replies)) {
        char tmpl[] = "/tmp/dirigo-run-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/sock";
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path_.c_str(), sizeof(a.sun_path) - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        EXPECT_EQ(::listen(fd_, 4), 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~SocketDaemon() {
        finish();
        ::close(fd_);
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }
    /// Stops serving and returns the ops received, in order.
    const std::vector<Op>& finish() {
        if (thread_.joinable()) {
            ::shutdown(fd_, SHUT_RDWR);
            thread_.join();
        }
        return ops_;
    }

private:
    void serve() {
        for (const Reply& rep : replies_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) {
                return;
            }
            uint8_t hdr[kHeaderSize];
            if (::recv(c, hdr, sizeof(hdr), MSG_WAITALL) == static_cast<ssize_t>(sizeof(hdr))) {
                auto h = decode_header(hdr);
                std::vector<uint8_t> p(h ? h->length : 0);
                if (p.empty() ||
                    ::recv(c, p.data(), p.size(), MSG_WAITALL) == static_cast<ssize_t>(p.size())) {
                    if (auto req = decode_request(p)) {
                        ops_.push_back(req->op);
                    }
                }
                const std::vector<uint8_t> out = encode_reply(rep);
                (void)::send(c, out.data(), out.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        }
    }

    std::vector<Reply> replies_;
    std::string dir_;
    std::string path_;
    int fd_ = -1;
    std::thread thread_;
    std::vector<Op> ops_;
};

RunEnv real_env(const std::string& socket) {
    RunEnv e;
    e.socket = socket;
    e.call = [](const std::string& s, const Request& r) { return call(s, r, 5000); };
    return e;
}

TEST(RunOverSocket, ListThroughTheRealClient) {
    Reply ping;
    ping.info = {"0.1.0", 1048576, 2};
    Reply list;
    list.services = {web()};
    std::string out;
    std::string err;
    SocketDaemon daemon({ping, list});
    const std::vector<std::string> args = {"-Ln"};
    EXPECT_EQ(run(args, real_env(daemon.path()), out, err), 0);
    EXPECT_EQ(daemon.finish(), (std::vector<Op>{Op::Ping, Op::List}));
    EXPECT_EQ(err, "");
    EXPECT_EQ(out.substr(0, out.find('\n') + 1),
              "Dirigo Virtual Server version 0.1.0 (size=1048576)\n");
    EXPECT_NE(out.find("TCP  10.0.0.1:80 rr\n"), std::string::npos);
}

TEST(RunOverSocket, ViewsThroughTheRealClient) {
    Reply ports;
    ports.ports.resize(2);
    ports.ports[1].port_id = 1;
    ports.ports[1].addresses = {{ip(172, 16, 0, 1), 16}};
    ports.drops = {{"no_route", 7}};
    Reply workers;
    workers.workers.resize(3);
    workers.workers[1].id = 1;
    workers.workers[2].id = 2;
    Reply neighbours;
    neighbours.neighbours = {{ip(172, 16, 0, 11), "", "int", NeighState::Incomplete}};
    Reply routes;
    routes.routes = {{{ip(172, 16, 0, 0), 16}, 0, "int"}};
    SocketDaemon daemon({ports, workers, neighbours, routes});
    std::string out;
    std::string err;
    for (const char* view :
         {"--list-ports", "--list-workers", "--list-neighbours", "--list-routes"}) {
        const std::vector<std::string> args = {view, "-n"};
        EXPECT_EQ(run(args, real_env(daemon.path()), out, err), 0) << view;
    }
    EXPECT_EQ(daemon.finish(), (std::vector<Op>{Op::ListPorts, Op::ListWorkers, Op::ListNeighbours,
                                                Op::ListRoutes}));
    EXPECT_EQ(err, "");
    EXPECT_NE(out.find("  -> 1     -                        0        0 172.16.0.1/16\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  no_route                            7\n"), std::string::npos);
    EXPECT_NE(out.find("     2     0         0         0         0      -"), std::string::npos);
    EXPECT_NE(out.find("172.16.0.11      -                 int      incomplete\n"),
              std::string::npos);
    EXPECT_NE(out.find("172.16.0.0/16      connected            int\n"), std::string::npos);
}

TEST(RunOverSocket, NoDaemon) {
    std::string out;
    std::string err;
    const std::vector<std::string> args = {"-C"};
    EXPECT_EQ(run(args, real_env("/nonexistent-dir/dirigo.sock"), out, err), 2);
    EXPECT_EQ(err.rfind("cannot connect to dirigo at /nonexistent-dir/dirigo.sock: ", 0), 0u)
        << err;
}

}  // namespace
}  // namespace dirigo::ctl::cli
