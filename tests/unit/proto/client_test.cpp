// SPDX-License-Identifier: BSD-3-Clause
// call() against fake daemons on a real Unix socket: absent, silent, closing early, trickling
// bytes, lying.

#include "proto/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/proto/proto_test_util.hpp"

namespace dirigo::ctl {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the shared samples

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/dirigo-proto-XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        path_ = d != nullptr ? d : "/tmp";
    }
    ~TempDir() {
        ::unlink((path_ + "/sock").c_str());
        ::rmdir(path_.c_str());
    }
    std::string sock() const { return path_ + "/sock"; }

private:
    std::string path_;
};

/// A one-connection fake daemon: accepts, then runs `serve(fd)`.
class FakeDaemon {
public:
    FakeDaemon(const std::string& path, std::function<void(int)> serve) {
        listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
        ::unlink(path.c_str());
        EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        EXPECT_EQ(::listen(listen_fd_, 4), 0);
        thread_ = std::thread([this, serve = std::move(serve)] {
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd >= 0) {
                serve(fd);
                ::close(fd);
            }
        });
    }
    ~FakeDaemon() {
        ::shutdown(listen_fd_, SHUT_RDWR);
        thread_.join();
        ::close(listen_fd_);
    }

private:
    int listen_fd_ = -1;
    std::thread thread_;
};

bool read_exact(int fd, uint8_t* buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        const ssize_t r = ::read(fd, buf + done, n - done);
        if (r <= 0) {
            return false;
        }
        done += static_cast<size_t>(r);
    }
    return true;
}

std::optional<Request> read_request(int fd) {
    uint8_t hdr[kHeaderSize];
    if (!read_exact(fd, hdr, kHeaderSize)) {
        return std::nullopt;
    }
    auto h = decode_header(hdr);
    if (!h) {
        return std::nullopt;
    }
    std::vector<uint8_t> p(h->length);
    if (!read_exact(fd, p.data(), p.size())) {
        return std::nullopt;
    }
    auto r = decode_request(p);
    if (!r) {
        return std::nullopt;
    }
    return r.value();
}

void write_all(int fd, const std::vector<uint8_t>& b) {
    size_t done = 0;
    while (done < b.size()) {
        const ssize_t n = ::write(fd, b.data() + done, b.size() - done);
        if (n <= 0) {
            return;
        }
        done += static_cast<size_t>(n);
    }
}

TEST(ProtocolCall, NoDaemon) {
    TempDir dir;
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_EQ(r.status().message().rfind("cannot connect to dirigo at " + dir.sock() + ": ", 0), 0u)
        << r.status().message();
}

TEST(ProtocolCall, PathTooLong) {
    auto r = call("/tmp/" + std::string(200, 'x'), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("cannot connect to dirigo at"), std::string::npos);
}

TEST(ProtocolCall, RoundTrip) {
    TempDir dir;
    std::atomic<bool> saw_list{false};
    FakeDaemon d(dir.sock(), [&](int fd) {
        auto req = read_request(fd);
        saw_list = req && req->op == Op::List && req->has_key;
        write_all(fd, encode_reply(rich_reply()));
    });
    Request req;
    req.op = Op::List;
    req.has_key = true;
    auto r = call(dir.sock(), req);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_same(rich_reply(), r.value());
    EXPECT_TRUE(saw_list);
}

TEST(ProtocolCall, ReplyArrivingOneByteAtATime) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        for (uint8_t b : encode_reply(rich_reply())) {
            ASSERT_EQ(::write(fd, &b, 1), 1);
            if (b % 16 == 0) {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        }
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_same(rich_reply(), r.value());
}

TEST(ProtocolCall, DaemonClosesEarly) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        const std::vector<uint8_t> frame = encode_reply(rich_reply());
        write_all(fd, std::vector<uint8_t>(frame.begin(), frame.begin() + 20));
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("closed the connection"), std::string::npos)
        << r.status().message();
}

TEST(ProtocolCall, DaemonSilentTimesOut) {
    TempDir dir;
    std::atomic<bool> done{false};
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        while (!done) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(dir.sock(), Request{}, 200);
    const auto waited = std::chrono::steady_clock::now() - t0;
    done = true;
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
    EXPECT_GE(waited, std::chrono::milliseconds(190));
    EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(ProtocolCall, DaemonNotAcceptingTimesOut) {
    TempDir dir;
    // A listener with a backlog of one that never accepts: after one queued connection, the
    // next connect() waits for room, and call() must give up at its deadline.
    const int l = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, dir.sock().c_str(), sizeof(a.sun_path) - 1);
    ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(l, 0), 0);
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        const int f = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            ::close(f);
            break;  // the backlog is full
        }
        fillers.push_back(f);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(dir.sock(), Request{}, 200);
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
    EXPECT_GE(waited, std::chrono::milliseconds(150));
    EXPECT_LT(waited, std::chrono::seconds(5));
    for (int f : fillers) {
        ::close(f);
    }
    ::close(l);
}

TEST(ProtocolCall, GarbageReply) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        write_all(fd, std::vector<uint8_t>(kHeaderSize, 0xab));
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::Io);
    EXPECT_NE(r.status().message().find("bad reply"), std::string::npos);
}

TEST(ProtocolCall, RequestFrameInsteadOfReply) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        write_all(fd, encode_request(Request{}));
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("not a reply"), std::string::npos);
}

TEST(ProtocolCall, MalformedReplyPayload) {
    TempDir dir;
    FakeDaemon d(dir.sock(), [&](int fd) {
        (void)read_request(fd);
        std::vector<uint8_t> frame = encode_reply(Reply{});
        frame.push_back(0);  // one trailing byte, counted in the header
        Header h;
        h.type = MsgType::Reply;
        h.length = static_cast<uint32_t>(frame.size() - kHeaderSize);
        encode_header(h, frame.data());
        write_all(fd, frame);
    });
    auto r = call(dir.sock(), Request{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("trailing"), std::string::npos);
}

TEST(ProtocolCall, OversizedRequestIsRefusedLocally) {
    Request r;
    r.op = Op::Batch;
    Request add;
    add.op = Op::AddService;
    add.service.scheduler.assign(kMaxString, 's');
    r.batch.assign(kMaxPayload / kMaxString + 1, add);
    auto res = call("/nonexistent/socket", r);
    ASSERT_FALSE(res.is_ok());
    EXPECT_EQ(res.status().code(), Errc::Invalid);
}

}  // namespace
}  // namespace dirigo::ctl
