// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/http_server.hpp"

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace dirigo::metrics {
namespace {

constexpr cfg::Ip4 kLoopback = 0x7f000001;

class HttpServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(server_.open(kLoopback, 0).is_ok());
        ASSERT_NE(server_.port(), 0);
    }

    int connect_client() {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(kLoopback);
        sa.sin_port = htons(server_.port());
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        return fd;
    }

    /// Runs server rounds until the client's side sees end of stream; returns all it read.
    /// Bounded: about 5 s of rounds.
    std::string read_all(int fd) {
        std::string got;
        for (int i = 0; i < 5000; ++i) {
            server_.poll();
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 1) <= 0) {
                continue;
            }
            char buf[65536];
            const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) {
                return got;
            }
            got.append(buf, static_cast<size_t>(n));
        }
        ADD_FAILURE() << "the server never closed the connection";
        return got;
    }

    std::string exchange(const std::string& request) {
        const int fd = connect_client();
        EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(request.size()));
        std::string reply = read_all(fd);
        ::close(fd);
        return reply;
    }

    int renders_ = 0;
    std::string body_ = "node_ipvs_connections_total 3\n";
    HttpServer server_{[this] {
                           ++renders_;
                           return body_;
                       },
                       "text/plain; version=0.0.4; charset=utf-8"};
};

bool starts_with(const std::string& s, const std::string& p) {
    return s.compare(0, p.size(), p) == 0;
}

TEST_F(HttpServerTest, GetMetrics) {
    const std::string r = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos);
    EXPECT_NE(r.find("Content-Length: " + std::to_string(body_.size()) + "\r\n"),
              std::string::npos);
    EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), body_);
    EXPECT_EQ(renders_, 1);
}

TEST_F(HttpServerTest, QueryStringIgnoredAndHttp10WithBareLf) {
    const std::string r = exchange("GET /metrics?x=1 HTTP/1.0\n\n");
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), body_);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
    const std::string r = exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_NE(r.find("Content-Length: " + std::to_string(body_.size()) + "\r\n"),
              std::string::npos);
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "");
}

TEST_F(HttpServerTest, BigBodyIsWrittenWhole) {
    body_.assign(3 << 20, 'x');  // more than the socket buffers: written over several rounds
    const std::string r = exchange("GET /metrics HTTP/1.1\r\n\r\n");
    ASSERT_NE(r.find("\r\n\r\n"), std::string::npos);
    EXPECT_EQ(r.size() - (r.find("\r\n\r\n") + 4), body_.size());
}

struct Bad {
    std::string request;
    std::string status;
};

TEST_F(HttpServerTest, BadRequestsGetClearErrors) {
    const Bad cases[] = {
        {"garbage\r\n\r\n", "400 Bad Request"},
        {"GET  /metrics HTTP/1.1\r\n\r\n", "400 Bad Request"},
        {"GET /metrics HTTP/1.1 extra\r\n\r\n", "400 Bad Request"},
        {"G(T /metrics HTTP/1.1\r\n\r\n", "400 Bad Request"},
        {"GET metrics HTTP/1.1\r\n\r\n", "400 Bad Request"},
        {"GET /metrics FTP/1.1\r\n\r\n", "400 Bad Request"},
        {"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", "400 Bad Request"},
        {"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", "400 Bad Request"},
        {std::string("GET /met\x01rics HTTP/1.1\r\n\r\n"), "400 Bad Request"},
        {"GET /metrics HTTP/2.0\r\n\r\n", "505 HTTP Version Not Supported"},
        {"GET /other HTTP/1.1\r\n\r\n", "404 Not Found"},
        {"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", "405 Method Not Allowed"},
        {"DELETE / HTTP/1.1\r\n\r\n", "405 Method Not Allowed"},
        {"GET /metrics HTTP/1.1\r\n" + std::string(kMaxHttpRequest, 'a') + "\r\n\r\n",
         "431 Request Header Fields Too Large"},
        {std::string(kMaxHttpRequest + 100, 'x'), "431 Request Header Fields Too Large"},
    };
    for (const Bad& c : cases) {
        const std::string r = exchange(c.request);
        EXPECT_TRUE(starts_with(r, "HTTP/1.1 " + c.status + "\r\n"))
            << "request: " << c.request.substr(0, 60) << "\nreply: " << r.substr(0, 200);
        // A one-line explanation, not an empty body.
        EXPECT_GT(r.size(), r.find("\r\n\r\n") + 5) << r;
    }
    EXPECT_EQ(renders_, 0);
    EXPECT_NE(exchange("PUT / HTTP/1.1\r\n\r\n").find("Allow: GET, HEAD\r\n"), std::string::npos);
    // Each client closed after reading its answer; the server notices on its next rounds.
    for (int i = 0; i < 1000 && server_.clients() != 0; ++i) {
        server_.poll();
    }
    EXPECT_EQ(server_.clients(), 0u);
}

TEST_F(HttpServerTest, RootPointsAtMetrics) {
    const std::string r = exchange("GET / HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_NE(r.find("/metrics"), std::string::npos);
    EXPECT_EQ(renders_, 0);
}

TEST_F(HttpServerTest, SilentClientTimesOutWith408) {
    server_.set_timeout(std::chrono::milliseconds(50));
    const int fd = connect_client();
    const std::string r = read_all(fd);
    ::close(fd);
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 408 Request Timeout\r\n")) << r;
    EXPECT_EQ(server_.clients(), 0u);
}

TEST_F(HttpServerTest, SlowRequestInPiecesIsServed) {
    const int fd = connect_client();
    for (const std::string piece : {"GET /met", "rics HTTP/1.1\r\n", "Host: x\r\n", "\r\n"}) {
        ASSERT_EQ(::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(piece.size()));
        server_.poll();
        server_.poll();
    }
    const std::string r = read_all(fd);
    ::close(fd);
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 200 OK\r\n")) << r;
}

TEST_F(HttpServerTest, ClientsAreBounded) {
    std::vector<int> fds;
    for (size_t i = 0; i < kMaxHttpClients; ++i) {
        fds.push_back(connect_client());
    }
    // Bounded rounds until the server has accepted them all.
    for (int i = 0; i < 1000 && server_.clients() < kMaxHttpClients; ++i) {
        server_.poll();
    }
    EXPECT_EQ(server_.clients(), kMaxHttpClients);
    const int extra = connect_client();
    const std::string r = read_all(extra);
    EXPECT_TRUE(starts_with(r, "HTTP/1.1 503 Service Unavailable\r\n")) << r;
    EXPECT_EQ(server_.clients(), kMaxHttpClients);
    ::close(extra);
    // The ones already in are still served.
    const std::string req = "GET /metrics HTTP/1.1\r\n\r\n";
    ASSERT_EQ(::send(fds[0], req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
    EXPECT_TRUE(starts_with(read_all(fds[0]), "HTTP/1.1 200 OK\r\n"));
    for (int fd : fds) {
        ::close(fd);
    }
}

TEST_F(HttpServerTest, ClientThatLeavesMidRequestIsForgotten) {
    const int fd = connect_client();
    const std::string piece = "GET /metr";
    ASSERT_EQ(::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(piece.size()));
    for (int i = 0; i < 1000 && server_.clients() == 0; ++i) {
        server_.poll();
    }
    ::close(fd);
    for (int i = 0; i < 1000 && server_.clients() != 0; ++i) {
        server_.poll();
    }
    EXPECT_EQ(server_.clients(), 0u);
    EXPECT_EQ(renders_, 0);
}

TEST(HttpServer, BindFailureIsReported) {
    HttpServer a([] { return std::string(); }, "text/plain");
    ASSERT_TRUE(a.open(kLoopback, 0).is_ok());
    HttpServer b([] { return std::string(); }, "text/plain");
    const Status st = b.open(kLoopback, a.port());
    EXPECT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("metrics.listen: bind 127.0.0.1:"), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("Address already in use"), std::string::npos) << st.message();
}

TEST(HttpAnswer, PureDecisions) {
    int renders = 0;
    const auto render = [&] {
        ++renders;
        return std::string("x 1\n");
    };
    EXPECT_EQ(answer("GET /metrics HTTP/1.1\r\n\r\n", render, "t").status, 200);
    EXPECT_EQ(answer("GET /metrics HTTP/1.1\r\n\r\n", render, "t").content_type, "t");
    EXPECT_EQ(answer("", render, "t").status, 400);
    EXPECT_EQ(answer("\r\n\r\n", render, "t").status, 400);
    EXPECT_EQ(answer("GET /metrics HTTP/1.\r\n\r\n", render, "t").status, 400);
    EXPECT_EQ(answer("GET /metrics HTTP/0.9\r\n\r\n", render, "t").status, 505);
    EXPECT_EQ(renders, 2);
}

}  // namespace
}  // namespace dirigo::metrics
