// SPDX-License-Identifier: BSD-3-Clause
// dirigoadm end to end against a fake daemon: which requests each command sends, in which order,
// to which socket, what it prints, and the exit codes ipvsadm scripts rely on. The last tests go
// through the real ctl::call() and a Unix socket.

#include "control/cli/run.hpp"

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
    EXPECT_EQ(r.out, "");

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
    r = run_with(d, {"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, version_text());
    EXPECT_TRUE(d.seen.empty());
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
