// SPDX-License-Identifier: BSD-3-Clause
// libdirigo-ipvs.so: LD_PRELOAD this into ipvsadm or keepalived and their IPVS generic-netlink
// traffic goes to Dirigo (docs/ipvs-netlink.md).
//
// socket(AF_NETLINK, SOCK_RAW|SOCK_DGRAM, NETLINK_GENERIC) returns one end of an AF_UNIX datagram
// socketpair; the library keeps the other end. A datagram the application sends is handed to the
// Emulator, whose replies are written into the other end before send returns, so recv, poll,
// select and epoll see them as they would see the kernel's. Replies that do not fit in the
// socket buffer wait in a queue that every recv on the socket tops up. recvmsg/recvfrom report the
// kernel (a sockaddr_nl with pid 0) as the sender. The first datagram for another family turns the
// socket into a real NETLINK_GENERIC socket (same descriptor number, same options, same port id
// when free) and from then on the library is out of the way. Other protocols (rtnetlink,
// netfilter, ...) are never touched. /proc/net/ip_vs_conn, which ipvsadm -Lc reads, is served from
// Dirigo's connection list.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "ipvs/emulator.hpp"
#include "proto/client.hpp"

namespace {

using namespace dirigo;

// ---- The real functions (the next definition after this library's). ----

template <class F>
F next_fn(const char* name) {
    void* p = dlsym(RTLD_NEXT, name);
    if (p == nullptr) {
        std::fprintf(stderr, "libdirigo-ipvs: %s not found in the C library\n", name);
        std::abort();
    }
    return reinterpret_cast<F>(p);
}

#define DIRIGO_REAL(name)                                              \
    static const auto real_##name = next_fn<decltype(&::name)>(#name); \
    (void)0

constexpr const char* kDefaultSocket = "/run/dirigo/dirigo.sock";
constexpr const char* kConnProc = "/proc/net/ip_vs_conn";
/// Replies queued on one socket beyond what its buffer holds; past it new replies are dropped and
/// the next recv fails with ENOBUFS, as a netlink socket whose receive buffer overflowed.
constexpr size_t kMaxPendingBytes = 64u << 20;

std::string socket_path() {
    const char* env = std::getenv("DIRIGO_SOCKET");
    return env != nullptr && env[0] != '\0' ? env : kDefaultSocket;
}

/// Prints a transport failure once per process: ipvsadm then reports only an errno.
void report_once(const Status& s) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
        std::fprintf(stderr, "libdirigo-ipvs: %s\n", s.message().c_str());
    }
}

Result<ctl::Reply> call_daemon(const ctl::Request& r) {
    Result<ctl::Reply> rep = ctl::call(socket_path(), r);
    if (!rep) {
        report_once(rep.status());
    }
    return rep;
}

/// A socket option the application set, replayed on the real socket when the socket is relayed.
struct SavedOpt {
    int level;
    int name;
    std::vector<uint8_t> value;
};

/// One emulated NETLINK_GENERIC socket.
struct Sock {
    std::mutex mu;
    int peer = -1;  ///< the library's end of the socketpair
    dev_t dev = 0;  ///< identity of the application's end, to notice a descriptor reused behind
    ino_t ino = 0;  ///< our back (closed by a path we do not wrap)
    bool bound = false;
    uint32_t portid = 0;
    uint32_t groups = 0;
    bool cap_ack = false;
    bool overrun = false;
    std::deque<std::vector<uint8_t>> pending;
    size_t pending_bytes = 0;
    std::vector<SavedOpt> opts;
};

class Registry {
public:
    std::shared_ptr<Sock> find(int fd) {
        if (count_.load(std::memory_order_acquire) == 0 || fd < 0) {
            return nullptr;  // the common case for every other descriptor: no lock
        }
        std::shared_ptr<Sock> s;
        {
            std::lock_guard<std::mutex> g(mu_);
            const auto it = socks_.find(fd);
            if (it == socks_.end()) {
                return nullptr;
            }
            s = it->second;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
            forget(fd);  // closed and reused without our close(): not ours any more
            return nullptr;
        }
        return s;
    }
    void add(int fd, std::shared_ptr<Sock> s) {
        std::lock_guard<std::mutex> g(mu_);
        socks_[fd] = std::move(s);
        count_.store(socks_.size(), std::memory_order_release);
    }
    /// Drops `fd`'s state and closes the library's end.
    void forget(int fd) {
        std::shared_ptr<Sock> s;
        {
            std::lock_guard<std::mutex> g(mu_);
            const auto it = socks_.find(fd);
            if (it == socks_.end()) {
                return;
            }
            s = std::move(it->second);
            socks_.erase(it);
            ports_.erase(s->portid);
            count_.store(socks_.size(), std::memory_order_release);
        }
        DIRIGO_REAL(close);
        std::lock_guard<std::mutex> g(s->mu);
        if (s->peer >= 0) {
            real_close(s->peer);
            s->peer = -1;
        }
    }
    /// Claims `portid` (0: pick one as the kernel's autobind does). Returns false when in use.
    bool claim(Sock& s, uint32_t portid) {
        std::lock_guard<std::mutex> g(mu_);
        if (portid == 0) {
            portid = static_cast<uint32_t>(::getpid());
            while (ports_.count(portid) != 0) {
                portid = rover_--;
            }
        } else if (ports_.count(portid) != 0) {
            return false;
        }
        ports_.insert(portid);
        s.portid = portid;
        s.bound = true;
        return true;
    }

private:
    std::mutex mu_;
    std::unordered_map<int, std::shared_ptr<Sock>> socks_;
    std::unordered_set<uint32_t> ports_;
    uint32_t rover_ = static_cast<uint32_t>(-4096);  // the kernel's autobind starts here too
    std::atomic<size_t> count_{0};
};

Registry& registry() {
    // Never destroyed: wrapped calls may come from other libraries' exit handlers.
    static Registry* r = new Registry;
    return *r;
}

/// Writes queued replies into the socket until it is full. Caller holds s.mu.
void pump(Sock& s) {
    DIRIGO_REAL(send);
    while (!s.pending.empty() && s.peer >= 0) {
        const std::vector<uint8_t>& d = s.pending.front();
        const ssize_t n = real_send(s.peer, d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            break;
        }
        // Sent, or refused for good (e.g. larger than the socket can ever take): next one.
        s.pending_bytes -= d.size();
        s.pending.pop_front();
    }
}

void fill_kernel_addr(void* addr, socklen_t* len) {
    if (addr == nullptr || len == nullptr) {
        return;
    }
    sockaddr_nl nl{};
    nl.nl_family = AF_NETLINK;
    std::memcpy(addr, &nl, std::min<size_t>(*len, sizeof(nl)));
    *len = sizeof(nl);
}

/// Turns the emulated socket `fd` into a real NETLINK_GENERIC socket on the same descriptor.
/// Replies the emulator still had queued are dropped. Returns 0 or -1 with errno.
int make_real(int fd, Sock& s) {
    DIRIGO_REAL(socket);
    DIRIGO_REAL(bind);
    DIRIGO_REAL(setsockopt);
    DIRIGO_REAL(close);
    const int k = real_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (k < 0) {
        return -1;
    }
    for (const SavedOpt& o : s.opts) {
        (void)real_setsockopt(k, o.level, o.name, o.value.data(),
                              static_cast<socklen_t>(o.value.size()));
    }
    if (s.bound) {
        sockaddr_nl a{};
        a.nl_family = AF_NETLINK;
        a.nl_pid = s.portid;
        a.nl_groups = s.groups;
        if (real_bind(k, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            a.nl_pid = 0;  // taken by a real socket: let the kernel pick
            (void)real_bind(k, reinterpret_cast<sockaddr*>(&a), sizeof(a));
        }
    }
    const int fl = ::fcntl(fd, F_GETFL);
    const int fdfl = ::fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & O_NONBLOCK) != 0) {
        (void)::fcntl(k, F_SETFL, fl);
    }
    const int rc = ::dup3(k, fd, fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
    const int saved = errno;
    real_close(k);
    if (rc < 0) {
        errno = saved;
        return -1;
    }
    return 0;
}

/// One datagram from the application on emulated socket `fd`. Returns its size, or -1.
ssize_t emulate_send(int fd, const std::shared_ptr<Sock>& s, const msghdr* msg, int flags) {
    std::vector<uint8_t> data;
    for (size_t i = 0; i < msg->msg_iovlen; ++i) {
        const auto* b = static_cast<const uint8_t*>(msg->msg_iov[i].iov_base);
        data.insert(data.end(), b, b + msg->msg_iov[i].iov_len);
    }
    bool to_kernel = true;
    if (msg->msg_name != nullptr && msg->msg_namelen >= sizeof(sockaddr_nl)) {
        sockaddr_nl dst{};
        std::memcpy(&dst, msg->msg_name, sizeof(dst));
        to_kernel = dst.nl_pid == 0 && dst.nl_groups == 0;
    }
    if (!to_kernel || ipvs::route(data) == ipvs::Route::Relay) {
        {
            std::lock_guard<std::mutex> g(s->mu);
            if (make_real(fd, *s) != 0) {
                return -1;
            }
        }
        registry().forget(fd);
        DIRIGO_REAL(sendmsg);
        return real_sendmsg(fd, msg, flags);
    }
    if (!s->bound) {
        registry().claim(*s, 0);  // netlink autobinds on the first send
    }
    bool cap_ack = false;
    uint32_t portid = 0;
    {
        std::lock_guard<std::mutex> g(s->mu);
        cap_ack = s->cap_ack;
        portid = s->portid;
    }
    // The daemon is asked without holding the socket's lock: the client's own socket calls come
    // through these wrappers too.
    ipvs::Emulator emu(call_daemon);
    std::vector<std::vector<uint8_t>> replies = emu.handle(data, portid, cap_ack);
    std::lock_guard<std::mutex> g(s->mu);
    for (auto& r : replies) {
        if (s->pending_bytes + r.size() > kMaxPendingBytes) {
            s->overrun = true;
            break;
        }
        s->pending_bytes += r.size();
        s->pending.push_back(std::move(r));
    }
    pump(*s);
    return static_cast<ssize_t>(data.size());
}

ssize_t emulate_recv(int fd, const std::shared_ptr<Sock>& s, msghdr* msg, int flags) {
    {
        std::lock_guard<std::mutex> g(s->mu);
        if (s->overrun) {
            s->overrun = false;
            errno = ENOBUFS;
            return -1;
        }
        pump(*s);
    }
    DIRIGO_REAL(recvmsg);
    void* name = msg->msg_name;
    const socklen_t namelen = msg->msg_namelen;
    msg->msg_name = nullptr;
    msg->msg_namelen = 0;
    const ssize_t n = real_recvmsg(fd, msg, flags);
    const int saved = errno;
    msg->msg_name = name;
    msg->msg_namelen = namelen;
    if (n >= 0) {
        fill_kernel_addr(msg->msg_name, &msg->msg_namelen);
        if ((flags & MSG_PEEK) == 0) {
            std::lock_guard<std::mutex> g(s->mu);
            pump(*s);
        }
    }
    errno = saved;
    return n;
}

/// A memfd holding /proc/net/ip_vs_conn as Dirigo sees it, or -1 with errno.
int conn_proc_fd(int flags) {
    ipvs::Emulator emu(call_daemon);
    Result<std::string> text = emu.conn_proc_text();
    if (!text) {
        errno = ENOENT;  // as when the ip_vs module is not loaded
        return -1;
    }
    const int fd = ::memfd_create("ip_vs_conn", (flags & O_CLOEXEC) != 0 ? MFD_CLOEXEC : 0);
    if (fd < 0) {
        return -1;
    }
    size_t done = 0;
    while (done < text->size()) {
        const ssize_t n = ::write(fd, text->data() + done, text->size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int saved = errno;
            ::close(fd);
            errno = saved;
            return -1;
        }
        done += static_cast<size_t>(n);
    }
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

bool is_conn_proc(const char* path, int oflag) {
    return path != nullptr && std::strcmp(path, kConnProc) == 0 && (oflag & O_ACCMODE) == O_RDONLY;
}

bool read_only_mode(const char* mode) {
    return mode != nullptr && mode[0] == 'r' && std::strchr(mode, '+') == nullptr;
}

template <class F>
auto guarded(F&& f, decltype(f()) on_oom) noexcept -> decltype(f()) {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return on_oom;
    } catch (...) {
        errno = EIO;
        return on_oom;
    }
}

}  // namespace

// ---- The wrapped C library functions. ----

extern "C" {

__attribute__((visibility("default"))) int socket(int domain, int type, int protocol) noexcept {
    DIRIGO_REAL(socket);
    const int base = type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (domain != AF_NETLINK || protocol != NETLINK_GENERIC ||
        (base != SOCK_RAW && base != SOCK_DGRAM) || std::getenv("DIRIGO_IPVS_DISABLE") != nullptr) {
        return real_socket(domain, type, protocol);
    }
    return guarded(
        [&]() -> int {
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_DGRAM | (type & (SOCK_CLOEXEC | SOCK_NONBLOCK)), 0,
                             sv) != 0) {
                return -1;
            }
            // The library's end never blocks the application; pump() queues what does not fit.
            (void)::fcntl(sv[1], F_SETFL, ::fcntl(sv[1], F_GETFL) | O_NONBLOCK);
            (void)::fcntl(sv[1], F_SETFD, FD_CLOEXEC);
            const int big = 4 << 20;
            (void)::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
            auto s = std::make_shared<Sock>();
            s->peer = sv[1];
            struct stat st {};
            (void)::fstat(sv[0], &st);
            s->dev = st.st_dev;
            s->ino = st.st_ino;
            registry().add(sv[0], std::move(s));
            return sv[0];
        },
        -1);
}

__attribute__((visibility("default"))) int bind(int fd, const sockaddr* addr,
                                                socklen_t len) noexcept {
    DIRIGO_REAL(bind);
    const auto s = registry().find(fd);
    if (!s) {
        return real_bind(fd, addr, len);
    }
    if (addr == nullptr || len < sizeof(sockaddr_nl)) {
        errno = EINVAL;
        return -1;
    }
    sockaddr_nl a{};
    std::memcpy(&a, addr, sizeof(a));
    if (a.nl_family != AF_NETLINK) {
        errno = EINVAL;
        return -1;
    }
    if (s->bound) {
        if (a.nl_pid != 0 && a.nl_pid != s->portid) {
            errno = EINVAL;
            return -1;
        }
    } else if (!registry().claim(*s, a.nl_pid)) {
        errno = EADDRINUSE;
        return -1;
    }
    std::lock_guard<std::mutex> g(s->mu);
    // Multicast groups are remembered for a relayed socket; IPVS has none to deliver.
    s->groups = a.nl_groups;
    return 0;
}

__attribute__((visibility("default"))) int getsockname(int fd, sockaddr* addr,
                                                       socklen_t* len) noexcept {
    DIRIGO_REAL(getsockname);
    const auto s = registry().find(fd);
    if (!s) {
        return real_getsockname(fd, addr, len);
    }
    if (addr == nullptr || len == nullptr) {
        errno = EFAULT;
        return -1;
    }
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    std::lock_guard<std::mutex> g(s->mu);
    a.nl_pid = s->bound ? s->portid : 0;
    a.nl_groups = s->groups;
    std::memcpy(addr, &a, std::min<size_t>(*len, sizeof(a)));
    *len = sizeof(a);
    return 0;
}

__attribute__((visibility("default"))) int getpeername(int fd, sockaddr* addr,
                                                       socklen_t* len) noexcept {
    DIRIGO_REAL(getpeername);
    if (!registry().find(fd)) {
        return real_getpeername(fd, addr, len);
    }
    if (addr == nullptr || len == nullptr) {
        errno = EFAULT;
        return -1;
    }
    fill_kernel_addr(addr, len);
    return 0;
}

__attribute__((visibility("default"))) int setsockopt(int fd, int level, int name,
                                                      const void* value, socklen_t len) noexcept {
    DIRIGO_REAL(setsockopt);
    const auto s = registry().find(fd);
    if (!s) {
        return real_setsockopt(fd, level, name, value, len);
    }
    return guarded(
        [&]() -> int {
            if (len > 0 && value == nullptr) {
                errno = EFAULT;
                return -1;
            }
            std::lock_guard<std::mutex> g(s->mu);
            const auto* b = static_cast<const uint8_t*>(value);
            s->opts.push_back({level, name, std::vector<uint8_t>(b, b + len)});
            if (level == SOL_NETLINK) {
                if (name == NETLINK_CAP_ACK && len >= sizeof(int)) {
                    int v = 0;
                    std::memcpy(&v, value, sizeof(v));
                    s->cap_ack = v != 0;
                }
                return 0;  // memberships, ext-ack, strict checking: nothing to do for IPVS
            }
            if (level == SOL_SOCKET && (name == SO_PASSCRED || name == SO_TIMESTAMP ||
                                        name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE)) {
                return 0;  // kept for a relayed socket; meaningless on the emulated one
            }
            // Buffer sizes, timeouts and the like apply to the application's end as they are.
            return real_setsockopt(fd, level, name, value, len);
        },
        -1);
}

__attribute__((visibility("default"))) int getsockopt(int fd, int level, int name, void* value,
                                                      socklen_t* len) noexcept {
    DIRIGO_REAL(getsockopt);
    const auto s = registry().find(fd);
    if (!s) {
        return real_getsockopt(fd, level, name, value, len);
    }
    int v = -1;
    if (level == SOL_SOCKET && name == SO_TYPE) {
        v = SOCK_RAW;
    } else if (level == SOL_SOCKET && name == SO_DOMAIN) {
        v = AF_NETLINK;
    } else if (level == SOL_SOCKET && name == SO_PROTOCOL) {
        v = NETLINK_GENERIC;
    } else if (level == SOL_NETLINK) {
        std::lock_guard<std::mutex> g(s->mu);
        v = name == NETLINK_CAP_ACK ? (s->cap_ack ? 1 : 0) : 0;
    } else {
        return real_getsockopt(fd, level, name, value, len);
    }
    if (value == nullptr || len == nullptr || *len < sizeof(int)) {
        errno = EINVAL;
        return -1;
    }
    std::memcpy(value, &v, sizeof(v));
    *len = sizeof(v);
    return 0;
}

__attribute__((visibility("default"))) ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
    DIRIGO_REAL(sendmsg);
    const auto s = registry().find(fd);
    if (!s) {
        return real_sendmsg(fd, msg, flags);
    }
    if (msg == nullptr) {
        errno = EFAULT;
        return -1;
    }
    return guarded([&]() -> ssize_t { return emulate_send(fd, s, msg, flags); }, -1);
}

__attribute__((visibility("default"))) ssize_t sendto(int fd, const void* buf, size_t len,
                                                      int flags, const sockaddr* to,
                                                      socklen_t tolen) {
    DIRIGO_REAL(sendto);
    const auto s = registry().find(fd);
    if (!s) {
        return real_sendto(fd, buf, len, flags, to, tolen);
    }
    iovec iov{const_cast<void*>(buf), len};
    msghdr m{};
    m.msg_name = const_cast<sockaddr*>(to);
    m.msg_namelen = to != nullptr ? tolen : 0;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return guarded([&]() -> ssize_t { return emulate_send(fd, s, &m, flags); }, -1);
}

__attribute__((visibility("default"))) ssize_t send(int fd, const void* buf, size_t len,
                                                    int flags) {
    DIRIGO_REAL(send);
    const auto s = registry().find(fd);
    if (!s) {
        return real_send(fd, buf, len, flags);
    }
    iovec iov{const_cast<void*>(buf), len};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return guarded([&]() -> ssize_t { return emulate_send(fd, s, &m, flags); }, -1);
}

__attribute__((visibility("default"))) ssize_t recvmsg(int fd, msghdr* msg, int flags) {
    DIRIGO_REAL(recvmsg);
    const auto s = registry().find(fd);
    if (!s) {
        return real_recvmsg(fd, msg, flags);
    }
    if (msg == nullptr) {
        errno = EFAULT;
        return -1;
    }
    return emulate_recv(fd, s, msg, flags);
}

__attribute__((visibility("default"))) ssize_t recvfrom(int fd, void* buf, size_t len, int flags,
                                                        sockaddr* from, socklen_t* fromlen) {
    DIRIGO_REAL(recvfrom);
    const auto s = registry().find(fd);
    if (!s) {
        return real_recvfrom(fd, buf, len, flags, from, fromlen);
    }
    iovec iov{buf, len};
    msghdr m{};
    m.msg_name = from;
    m.msg_namelen = fromlen != nullptr ? *fromlen : 0;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    const ssize_t n = emulate_recv(fd, s, &m, flags);
    if (n >= 0 && from != nullptr && fromlen != nullptr) {
        *fromlen = m.msg_namelen;
    }
    return n;
}

__attribute__((visibility("default"))) ssize_t recv(int fd, void* buf, size_t len, int flags) {
    DIRIGO_REAL(recv);
    const auto s = registry().find(fd);
    if (!s) {
        return real_recv(fd, buf, len, flags);
    }
    iovec iov{buf, len};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return emulate_recv(fd, s, &m, flags);
}

__attribute__((visibility("default"))) int close(int fd) {
    DIRIGO_REAL(close);
    if (registry().find(fd)) {
        registry().forget(fd);
    }
    return real_close(fd);
}

__attribute__((visibility("default"))) FILE* fopen(const char* path, const char* mode) {
    DIRIGO_REAL(fopen);
    if (path == nullptr || std::strcmp(path, kConnProc) != 0 || !read_only_mode(mode)) {
        return real_fopen(path, mode);
    }
    const int fd = guarded([&]() -> int { return conn_proc_fd(0); }, -1);
    if (fd < 0) {
        return nullptr;
    }
    FILE* f = ::fdopen(fd, mode);
    if (f == nullptr) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
    }
    return f;
}

__attribute__((visibility("default"))) FILE* fopen64(const char* path, const char* mode) {
    DIRIGO_REAL(fopen64);
    if (path == nullptr || std::strcmp(path, kConnProc) != 0 || !read_only_mode(mode)) {
        return real_fopen64(path, mode);
    }
    return fopen(path, mode);
}

__attribute__((visibility("default"))) int open(const char* path, int oflag, ...) {
    DIRIGO_REAL(open);
    mode_t mode = 0;
    if ((oflag & (O_CREAT | O_TMPFILE)) != 0) {
        va_list ap;
        va_start(ap, oflag);
        mode = static_cast<mode_t>(va_arg(ap, int));
        va_end(ap);
    }
    if (is_conn_proc(path, oflag)) {
        return guarded([&]() -> int { return conn_proc_fd(oflag); }, -1);
    }
    return real_open(path, oflag, mode);
}

__attribute__((visibility("default"))) int open64(const char* path, int oflag, ...) {
    DIRIGO_REAL(open64);
    mode_t mode = 0;
    if ((oflag & (O_CREAT | O_TMPFILE)) != 0) {
        va_list ap;
        va_start(ap, oflag);
        mode = static_cast<mode_t>(va_arg(ap, int));
        va_end(ap);
    }
    if (is_conn_proc(path, oflag)) {
        return guarded([&]() -> int { return conn_proc_fd(oflag); }, -1);
    }
    return real_open64(path, oflag, mode);
}

__attribute__((visibility("default"))) int openat(int dirfd, const char* path, int oflag, ...) {
    DIRIGO_REAL(openat);
    mode_t mode = 0;
    if ((oflag & (O_CREAT | O_TMPFILE)) != 0) {
        va_list ap;
        va_start(ap, oflag);
        mode = static_cast<mode_t>(va_arg(ap, int));
        va_end(ap);
    }
    if (is_conn_proc(path, oflag)) {
        return guarded([&]() -> int { return conn_proc_fd(oflag); }, -1);
    }
    return real_openat(dirfd, path, oflag, mode);
}

}  // extern "C"
