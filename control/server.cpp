// SPDX-License-Identifier: BSD-3-Clause
#include "control/server.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace dirigo::ctl {

Server::Server(const cfg::ControlCfg& cfg, const dp::Dataplane& dp, Submit submit)
    : cfg_(cfg), dp_(dp), submit_(std::move(submit)) {}

Server::~Server() {
    close();
}

bool Server::ready(const HeldReply& h) const {
    if (!dp_.passed(h.token)) {
        return false;
    }
    return h.job == nullptr || h.job->done() || h.job->timed_out();
}

Reply Server::complete(HeldReply& h) {
    if (h.job != nullptr && !h.job->done()) {
        Reply r;
        r.code = Errc::Internal;
        r.message =
            "a worker did not answer within " + std::to_string(kWorkerJobTimeoutMs / 1000) + " s";
        return r;
    }
    if (h.job != nullptr && h.finish) {
        h.finish(*h.job, h.reply);
    }
    return std::move(h.reply);
}

Status Server::open() {
    const std::string& path = cfg_.socket;
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return Status(Errc::Invalid, "control socket path too long: " + path);
    }
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent, ec);
        if (ec) {
            return Status(Errc::Io, "cannot create " + parent.string() + ": " + ec.message());
        }
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (std::filesystem::exists(path, ec)) {
        // A live daemon answers; a stale file from a crash does not and is replaced.
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool alive =
            probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        if (probe >= 0) {
            ::close(probe);
        }
        if (alive) {
            return Status(Errc::Io, "another dirigo is serving " + path);
        }
        ::unlink(path.c_str());
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        return Status(Errc::Io, std::string("socket: ") + std::strerror(errno));
    }
    const group* g = nullptr;
    if (!cfg_.group.empty()) {
        g = ::getgrnam(cfg_.group.c_str());
        if (g == nullptr) {
            return Status(Errc::Invalid, "control.group: no group named " + cfg_.group);
        }
    }
    // The file is born with its final mode: bind() creates it through the umask, so there is no
    // chmod by path afterwards (which a swapped path would redirect). Until the group is set it
    // has only the owner's bits, so the daemon's own group never gets in.
    const mode_t mode = static_cast<mode_t>(cfg_.mode) & 0777;
    const mode_t first = g == nullptr ? mode : (mode & 0700);
    const mode_t old_mask = ::umask(static_cast<mode_t>(~first & 0777));
    const int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::umask(old_mask);
    if (rc != 0) {
        return Status(Errc::Io, "bind " + path + ": " + std::strerror(errno));
    }
    if (g != nullptr) {
        // lchown never follows a symbolic link; the group's bits are added only once it is set.
        if (::lchown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
            return Status(Errc::Io, "chown " + path + ": " + std::strerror(errno));
        }
        if (mode != first && ::fchmodat(AT_FDCWD, path.c_str(), mode, 0) != 0) {
            return Status(Errc::Io, "chmod " + path + ": " + std::strerror(errno));
        }
    }
    if (::listen(listen_fd_, 16) != 0) {
        return Status(Errc::Io, "listen " + path + ": " + std::strerror(errno));
    }
    return {};
}

void Server::close() {
    for (Client& c : clients_) {
        ::close(c.fd);
    }
    clients_.clear();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        ::unlink(cfg_.socket.c_str());
    }
}

void Server::poll(int timeout_ms) {
    std::vector<pollfd> fds;
    fds.reserve(clients_.size() + 1);
    if (listen_fd_ >= 0) {
        fds.push_back({listen_fd_, POLLIN, 0});
    }
    for (const Client& c : clients_) {
        // A backlogged client is only written to (POLLHUP and POLLERR still come).
        const short in = backlogged(c) || c.close_after_write ? 0 : POLLIN;
        fds.push_back({c.fd, static_cast<short>(in | (c.out.empty() ? 0 : POLLOUT)), 0});
    }
    // The slow path wants attention even when no client talks: never sleep long.
    const int n = fds.empty() ? 0 : ::poll(fds.data(), fds.size(), timeout_ms);
    if (n > 0) {
        size_t i = 0;
        if (listen_fd_ >= 0) {
            if (fds[0].revents & POLLIN) {
                accept_clients();
            }
            i = 1;
        }
        for (size_t k = 0; i < fds.size(); ++i, ++k) {
            Client& c = clients_[k];
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                read_client(c);
            }
            if (c.fd >= 0 && !c.out.empty()) {
                write_client(c);
            }
        }
        std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
    }
    const Clock::time_point now = Clock::now();
    for (Client& c : clients_) {
        if (c.fd < 0) {
            continue;
        }
        // Requests left buffered while the client was backlogged, now that it has read.
        if (!backlogged(c) && !c.close_after_write && c.in.size() >= kHeaderSize) {
            handle_frames(c);
        }
        if (!c.held.empty()) {
            release_held(c);
        }
        if (!c.out.empty()) {
            write_client(c);
        } else if (c.close_after_write && c.held.empty()) {
            close_client(c);
        } else if (owed_nothing(c) && now - c.last_active > idle_timeout_) {
            close_client(c);
        }
    }
    std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
}

void Server::accept_clients() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (clients_.size() >= kMaxClients) {
            // Make room by closing the longest idle client that is owed nothing; if every client
            // is waiting for a reply, the newcomer is the one turned away.
            Client* idlest = nullptr;
            for (Client& c : clients_) {
                if (c.fd >= 0 && owed_nothing(c) && c.in.empty() &&
                    (idlest == nullptr || c.last_active < idlest->last_active)) {
                    idlest = &c;
                }
            }
            if (idlest == nullptr) {
                ::close(fd);
                continue;
            }
            close_client(*idlest);
            std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
        }
        Client c;
        c.fd = fd;
        c.last_active = Clock::now();
        clients_.push_back(std::move(c));
    }
}

bool Server::backlogged(const Client& c) {
    return c.out.size() >= kMaxClientOutBytes || c.held.size() >= kMaxClientHeld;
}

size_t Server::out_bytes() const {
    size_t n = 0;
    for (const Client& c : clients_) {
        n += c.out.size();
    }
    return n;
}

void Server::close_client(Client& c) {
    ::close(c.fd);
    c.fd = -1;
}

void Server::read_client(Client& c) {
    uint8_t buf[65536];
    bool eof = false;
    // At most one whole frame beyond what is handled: a client that is not served is not read.
    while (!backlogged(c) && c.in.size() <= kHeaderSize + kMaxPayload) {
        const ssize_t n = ::read(c.fd, buf, sizeof(buf));
        if (n > 0) {
            c.in.insert(c.in.end(), buf, buf + n);
            c.last_active = Clock::now();
            continue;
        }
        if (n == 0) {
            // The client finished sending: answer what it sent, then close.
            eof = true;
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            close_client(c);
            return;
        }
        break;
    }
    handle_frames(c);
    if (eof) {
        c.close_after_write = true;
    }
    if (!c.out.empty()) {
        write_client(c);
    } else if (c.close_after_write && c.held.empty()) {
        close_client(c);
    }
}

void Server::handle_frames(Client& c) {
    size_t used = 0;
    while (!c.close_after_write && !backlogged(c) && c.in.size() - used >= kHeaderSize) {
        const uint8_t* at = c.in.data() + used;
        auto h = decode_header(std::span<const uint8_t>(at, kHeaderSize));
        if (!h || h->type != MsgType::Request) {
            HeldReply bad;
            bad.reply.code = Errc::Protocol;
            bad.reply.message = h ? "expected a request frame" : h.status().message();
            c.held.push_back(std::move(bad));
            c.close_after_write = true;
            break;
        }
        if (c.in.size() - used < kHeaderSize + h->length) {
            break;
        }
        auto req = decode_request(std::span<const uint8_t>(at + kHeaderSize, h->length));
        used += kHeaderSize + h->length;
        if (!req) {
            HeldReply bad;
            bad.reply.code = Errc::Protocol;
            bad.reply.message = req.status().message();
            c.held.push_back(std::move(bad));
            c.close_after_write = true;
        } else {
            // Never blocks: what the reply waits for is in the HeldReply.
            c.held.push_back(submit_(*req));
        }
        release_held(c);
    }
    // One erase for all the frames handled, not one per frame.
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(used));
}

void Server::release_held(Client& c) {
    while (!c.held.empty() && ready(c.held.front())) {
        const std::vector<uint8_t> bytes = encode_reply(complete(c.held.front()));
        c.out.insert(c.out.end(), bytes.begin(), bytes.end());
        c.held.pop_front();
    }
}

void Server::write_client(Client& c) {
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            c.out.erase(c.out.begin(), c.out.begin() + n);
            c.last_active = Clock::now();
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ::close(c.fd);
        c.fd = -1;
        return;
    }
    if (c.close_after_write && c.held.empty()) {
        ::close(c.fd);
        c.fd = -1;
    }
}

}  // namespace dirigo::ctl
