// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/http_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dirigo::metrics {
namespace {

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Error";
    }
}

HttpResponse error(int status, std::string text) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(text) + "\n";
    return r;
}

/// RFC 9110's token characters (a method is a token).
bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// Where the request head ends (just past the blank line), or npos. A bare LF ends lines too, as
/// RFC 9112 allows a recipient to accept.
size_t head_end(std::string_view in) {
    const size_t crlf = in.find("\r\n\r\n");
    const size_t lf = in.find("\n\n");
    if (crlf == std::string_view::npos && lf == std::string_view::npos) {
        return std::string_view::npos;
    }
    if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf)) {
        return crlf + 4;
    }
    return lf + 2;
}

}  // namespace

HttpResponse answer(std::string_view head, const std::function<std::string()>& render,
                    std::string_view content_type) {
    size_t eol = head.find('\n');
    std::string_view line = head.substr(0, eol);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
        line.find(' ', sp2 + 1) != std::string_view::npos) {
        return error(400, "malformed request line (expected: METHOD /path HTTP/1.1)");
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (method.empty() || !std::all_of(method.begin(), method.end(), is_tchar)) {
        return error(400, "malformed method");
    }
    for (const char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return error(400, "control character in the request target");
        }
    }
    if (version.substr(0, 5) != "HTTP/" || version.size() != 8 || version[6] != '.') {
        return error(400, "malformed HTTP version");
    }
    if (version != "HTTP/1.0" && version != "HTTP/1.1") {
        return error(505, "only HTTP/1.0 and HTTP/1.1 are served");
    }
    // Every header line must be "name: value".
    while (eol != std::string_view::npos && eol + 1 < head.size()) {
        const size_t next = head.find('\n', eol + 1);
        std::string_view h = head.substr(
            eol + 1, next == std::string_view::npos ? std::string_view::npos : next - eol - 1);
        if (!h.empty() && h.back() == '\r') {
            h.remove_suffix(1);
        }
        if (!h.empty()) {
            const size_t colon = h.find(':');
            if (colon == 0 || colon == std::string_view::npos ||
                !std::all_of(h.begin(), h.begin() + static_cast<ptrdiff_t>(colon), is_tchar)) {
                return error(400, "malformed header line");
            }
        }
        eol = next;
    }
    const bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) {
        HttpResponse r = error(405, "only GET and HEAD are served");
        r.allow = "GET, HEAD";
        return r;
    }
    if (target.empty() || target.front() != '/') {
        return error(400, "the request target must be a path such as /metrics");
    }
    const std::string_view path = target.substr(0, target.find('?'));
    HttpResponse r;
    r.head_only = head_only;
    if (path == "/metrics") {
        r.content_type = std::string(content_type);
        r.body = render();
    } else if (path == "/") {
        r.body = "Dirigo: Prometheus metrics are at /metrics\n";
    } else {
        r = error(404, "not found: the metrics are at /metrics");
        r.head_only = head_only;
    }
    return r;
}

std::string frame(const HttpResponse& r) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
    out += reason_phrase(r.status);
    out += "\r\nContent-Type: " + r.content_type;
    out += "\r\nContent-Length: " + std::to_string(r.body.size());
    if (!r.allow.empty()) {
        out += "\r\nAllow: " + r.allow;
    }
    out += "\r\nConnection: close\r\n\r\n";
    if (!r.head_only) {
        out += r.body;
    }
    return out;
}

HttpServer::HttpServer(std::function<std::string()> render, std::string content_type)
    : render_(std::move(render)), content_type_(std::move(content_type)) {}

HttpServer::~HttpServer() {
    close();
}

Status HttpServer::open(cfg::Ip4 addr, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    sa.sin_port = htons(port);
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
    const std::string where = std::string(text) + ":" + std::to_string(port);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        return Status(Errc::Io, std::string("metrics: socket: ") + std::strerror(errno));
    }
    const int one = 1;
    // A restarted daemon may bind again while the old connections sit in TIME_WAIT.
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        const int e = errno;
        close();
        return Status(Errc::Io, "metrics.listen: bind " + where + ": " + std::strerror(e));
    }
    if (::listen(listen_fd_, 16) != 0) {
        const int e = errno;
        close();
        return Status(Errc::Io, "metrics.listen: listen " + where + ": " + std::strerror(e));
    }
    socklen_t len = sizeof(sa);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    return {};
}

void HttpServer::close() {
    for (Client& c : clients_) {
        close_client(c);
    }
    clients_.clear();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
}

void HttpServer::poll() {
    if (listen_fd_ < 0) {
        return;
    }
    std::vector<pollfd> fds;
    fds.reserve(clients_.size() + 1);
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients_) {
        const bool writing = c.answered && c.sent < c.out.size();
        fds.push_back({c.fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0});
    }
    // Never waits: the control loop's own poll() is where the thread sleeps.
    if (::poll(fds.data(), fds.size(), 0) > 0) {
        for (size_t i = 1; i < fds.size(); ++i) {
            Client& c = clients_[i - 1];
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                read_client(c);
            }
            if (c.fd >= 0 && (fds[i].revents & POLLOUT)) {
                write_client(c);
            }
        }
        // Accept after the clients: the new ones are not in `fds`.
        if (fds[0].revents & POLLIN) {
            accept_clients();
        }
    }
    const Clock::time_point now = Clock::now();
    for (Client& c : clients_) {
        if (c.fd >= 0 && now - c.since > timeout_) {
            if (!c.answered) {
                // Best effort: one send of the 408; then the client is gone either way.
                const std::string bytes = frame(error(408, "request not received in time"));
                (void)::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            close_client(c);
        }
    }
    std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
}

void HttpServer::accept_clients() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (clients_.size() >= kMaxHttpClients) {
            const std::string bytes = frame(error(503, "too many clients; try again"));
            (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            continue;
        }
        Client c;
        c.fd = fd;
        c.since = Clock::now();
        clients_.push_back(std::move(c));
    }
}

void HttpServer::read_client(Client& c) {
    char buf[4096];
    // Bounded: a client that sends without pause cannot keep the control thread here.
    for (int reads = 0; reads < 64; ++reads) {
        const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (c.answered) {
                continue;  // draining what follows the head (a body, a pipelined request)
            }
            c.in.append(buf, static_cast<size_t>(n));
            if (c.in.size() > kMaxHttpRequest) {
                break;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        // End of stream or an error. An answered client has read its answer (or never will); one
        // that hung up before finishing its request is owed nothing.
        close_client(c);
        return;
    }
    if (c.answered) {
        return;
    }
    const size_t end = head_end(c.in);
    if (end != std::string::npos && end <= kMaxHttpRequest) {
        respond(c, answer(std::string_view(c.in).substr(0, end), render_, content_type_));
    } else if (c.in.size() > kMaxHttpRequest) {
        respond(c, error(431,
                         "request head larger than " + std::to_string(kMaxHttpRequest) + " bytes"));
    }
}

void HttpServer::respond(Client& c, const HttpResponse& r) {
    c.out = frame(r);
    c.sent = 0;
    c.answered = true;
    c.in.clear();
    c.in.shrink_to_fit();
    write_client(c);
}

void HttpServer::write_client(Client& c) {
    while (c.sent < c.out.size()) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) {
            c.sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        close_client(c);
        return;
    }
    // All written: end our side and let the client close its own. Until it does (or the timeout
    // passes), what it still sends is read and discarded: closing with unread bytes would make
    // the kernel answer with a reset, which can destroy the response before the client reads it.
    c.out.clear();
    c.out.shrink_to_fit();
    c.sent = 0;
    ::shutdown(c.fd, SHUT_WR);
}

void HttpServer::close_client(Client& c) {
    if (c.fd >= 0) {
        ::close(c.fd);
        c.fd = -1;
    }
}

}  // namespace dirigo::metrics
