// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// A very small HTTP/1.0 and HTTP/1.1 responder for the metrics endpoint, run by the control
/// thread: every socket is non-blocking and poll() waits 0 ms, so a client can never stall the
/// control loop. It answers `GET /metrics` (and HEAD) with whatever the handler renders, `GET /`
/// with a pointer to /metrics, and anything else with a clear 4xx/5xx status and a one-line
/// text body; then it closes the connection (`Connection: close`: one request per connection,
/// which Prometheus handles). What a client can cost is bounded: at most kMaxHttpClients at once
/// (a newcomer past that gets 503), a request head of at most kMaxHttpRequest bytes (else 431),
/// and kHttpClientTimeout from accept to the last byte written (else the client is dropped; a
/// client that has not finished its request gets 408 first). Thread: control only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "config/status.hpp"

namespace dirigo::metrics {

inline constexpr size_t kMaxHttpClients = 16;
inline constexpr size_t kMaxHttpRequest = 8192;
inline constexpr std::chrono::milliseconds kHttpClientTimeout{10000};

/// The answer to a complete request head, before framing. Exposed for tests.
struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    bool head_only = false;  ///< HEAD: headers (with the body's length) only
    std::string allow;       ///< 405: the Allow header
};

/// Parses one request head (request line and headers, up to the blank line) and decides the
/// answer; `render` is called only for a valid GET/HEAD of /metrics. Thread: any. O(head size).
HttpResponse answer(std::string_view head, const std::function<std::string()>& render,
                    std::string_view content_type);

/// The bytes of `r` on the wire, with Content-Length and Connection: close.
std::string frame(const HttpResponse& r);

class HttpServer {
public:
    /// `render` builds the /metrics body; `content_type` is its Content-Type.
    HttpServer(std::function<std::string()> render, std::string content_type);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds and listens on `addr`:`port` (host order; port 0 picks a free one, see port()).
    Status open(cfg::Ip4 addr, uint16_t port);
    /// One round: accept, read, answer, write, expire; never waits. Thread: control.
    void poll();
    /// Closes every client and the listening socket.
    void close();

    /// The port actually bound (tests bind port 0).
    uint16_t port() const { return port_; }
    /// Connected clients (tests).
    size_t clients() const { return clients_.size(); }
    /// Replaces kHttpClientTimeout (tests).
    void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

private:
    using Clock = std::chrono::steady_clock;
    struct Client {
        int fd = -1;
        std::string in;
        std::string out;
        size_t sent = 0;
        bool answered = false;  ///< `out` holds the whole response; close once written
        Clock::time_point since;
    };
    void accept_clients();
    void read_client(Client& c);
    void respond(Client& c, const HttpResponse& r);
    void write_client(Client& c);
    void close_client(Client& c);

    std::function<std::string()> render_;
    std::string content_type_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::vector<Client> clients_;
    std::chrono::milliseconds timeout_ = kHttpClientTimeout;
};

}  // namespace dirigo::metrics
