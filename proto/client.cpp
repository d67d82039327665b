// SPDX-License-Identifier: BSD-3-Clause
#include "proto/client.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace dirigo::ctl {

namespace {

using Clock = std::chrono::steady_clock;

/// Closes the descriptor on every return path.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::string errno_text(int err) {
    return std::strerror(err);
}

/// Waits until `fd` is ready for `events` or the deadline passes. Returns 0 when ready,
/// ETIMEDOUT on timeout, or an errno.
int wait_ready(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return ETIMEDOUT;
        }
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return 0;  // readable, writable, or an error/hangup that the next syscall reports
        }
        if (n == 0) {
            return ETIMEDOUT;
        }
        if (errno != EINTR) {
            return errno;
        }
    }
}

Status send_all(int fd, std::span<const uint8_t> data, Clock::time_point deadline,
                const std::string& where) {
    size_t done = 0;
    while (done < data.size()) {
        if (const int err = wait_ready(fd, POLLOUT, deadline); err != 0) {
            return {Errc::Io, (err == ETIMEDOUT ? "timed out sending to dirigo at "
                                                : "cannot send to dirigo at ") +
                                  where + (err == ETIMEDOUT ? "" : ": " + errno_text(err))};
        }
        // MSG_NOSIGNAL: a daemon that went away must give an error, not kill us with SIGPIPE.
        const ssize_t n =
            ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return {Errc::Io, "cannot send to dirigo at " + where + ": " + errno_text(errno)};
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

Status recv_all(int fd, std::span<uint8_t> data, Clock::time_point deadline,
                const std::string& where) {
    size_t done = 0;
    while (done < data.size()) {
        if (const int err = wait_ready(fd, POLLIN, deadline); err != 0) {
            return {Errc::Io, (err == ETIMEDOUT ? "timed out waiting for a reply from dirigo at "
                                                : "cannot read from dirigo at ") +
                                  where + (err == ETIMEDOUT ? "" : ": " + errno_text(err))};
        }
        const ssize_t n = ::recv(fd, data.data() + done, data.size() - done, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return {Errc::Io, "cannot read from dirigo at " + where + ": " + errno_text(errno)};
        }
        if (n == 0) {
            return {Errc::Io, "dirigo at " + where + " closed the connection after " +
                                  std::to_string(done) + " of " + std::to_string(data.size()) +
                                  " bytes"};
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

}  // namespace

Result<Reply> call(const std::string& socket_path, const Request& req) {
    return call(socket_path, req, kCallTimeoutMs);
}

Result<Reply> call(const std::string& socket_path, const Request& req, int timeout_ms) {
    const std::string cannot = "cannot connect to dirigo at " + socket_path + ": ";
    const std::vector<uint8_t> out = encode_request(req);
    if (out.size() - kHeaderSize > kMaxPayload) {
        return {Errc::Invalid, "request of " + std::to_string(out.size() - kHeaderSize) +
                                   " bytes exceeds the " + std::to_string(kMaxPayload) +
                                   "-byte limit"};
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
        return {Errc::Io, cannot + "invalid socket path"};
    }
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return {Errc::Io, cannot + errno_text(errno)};
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    // A Unix-socket connect blocks while the daemon's listen backlog is full; the send timeout
    // bounds that wait (Linux's unix_stream_connect uses it), so a stuck daemon cannot hang us.
    timeval tv{};
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno == EAGAIN) {
            return {Errc::Io, cannot + "timed out (the daemon is not accepting connections)"};
        }
        if (errno != EINTR && errno != EINPROGRESS) {
            return {Errc::Io, cannot + errno_text(errno)};
        }
        // An interrupted connect completes in the background: wait, then ask for its result.
        if (const int err = wait_ready(fd.get(), POLLOUT, deadline); err != 0) {
            return {Errc::Io, cannot + errno_text(err)};
        }
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            return {Errc::Io, cannot + errno_text(soerr != 0 ? soerr : errno)};
        }
    }
    if (Status s = send_all(fd.get(), out, deadline, socket_path); !s) {
        return s;
    }
    uint8_t hdr_bytes[kHeaderSize];
    if (Status s = recv_all(fd.get(), hdr_bytes, deadline, socket_path); !s) {
        return s;
    }
    Result<Header> hdr = decode_header(hdr_bytes);
    if (!hdr) {
        return {Errc::Io,
                "bad reply from dirigo at " + socket_path + ": " + hdr.status().message()};
    }
    if (hdr->type != MsgType::Reply) {
        return {Errc::Io, "bad reply from dirigo at " + socket_path + ": not a reply frame"};
    }
    std::vector<uint8_t> payload(hdr->length);
    if (Status s = recv_all(fd.get(), payload, deadline, socket_path); !s) {
        return s;
    }
    Result<Reply> rep = decode_reply(payload);
    if (!rep) {
        return {Errc::Io,
                "bad reply from dirigo at " + socket_path + ": " + rep.status().message()};
    }
    return rep;
}

}  // namespace dirigo::ctl
