// SPDX-License-Identifier: BSD-3-Clause
#include "cli/system_names.hpp"

#include <array>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace dirigo::ctl::cli {

namespace {

/// Frees a getaddrinfo() list on every return path.
struct AddrInfoList {
    addrinfo* head = nullptr;
    ~AddrInfoList() {
        if (head != nullptr) {
            ::freeaddrinfo(head);
        }
    }
};

}  // namespace

std::optional<cfg::Ip4> SystemResolver::host(std::string_view name) const {
    const std::string n(name);
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    AddrInfoList res;
    if (::getaddrinfo(n.c_str(), nullptr, &hints, &res.head) != 0 || res.head == nullptr) {
        return std::nullopt;
    }
    // Like ipvsadm's host_to_addr: the first address wins.
    const auto* sin = reinterpret_cast<const sockaddr_in*>(res.head->ai_addr);
    return ntohl(sin->sin_addr.s_addr);
}

std::optional<uint16_t> SystemResolver::service(std::string_view name, cfg::Proto proto) const {
    // The services database by name only, as ipvsadm's getservbyname(): getaddrinfo() would read
    // "99999" as a number and wrap it to 34463 (and "-1" to 65535).
    const std::string n(name);
    servent entry{};
    servent* found = nullptr;
    std::array<char, 4096> buf{};
    if (::getservbyname_r(n.c_str(), proto == cfg::Proto::Udp ? "udp" : "tcp", &entry, buf.data(),
                          buf.size(), &found) != 0 ||
        found == nullptr) {
        return std::nullopt;
    }
    return ntohs(static_cast<uint16_t>(found->s_port));
}

std::optional<std::string> SystemNamer::host(cfg::Ip4 addr) const {
    if (auto it = hosts_.find(addr); it != hosts_.end()) {
        return it->second;
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    char buf[NI_MAXHOST];
    std::optional<std::string> name;
    if (::getnameinfo(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin), buf, sizeof(buf),
                      nullptr, 0, NI_NAMEREQD) == 0) {
        name = buf;
    }
    hosts_.emplace(addr, name);
    return name;
}

std::optional<std::string> SystemNamer::service(uint16_t port, cfg::Proto proto) const {
    const auto key = std::make_pair(port, proto);
    if (auto it = services_.find(key); it != services_.end()) {
        return it->second;
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    char buf[NI_MAXSERV];
    std::optional<std::string> name;
    const int flags = proto == cfg::Proto::Udp ? NI_DGRAM : 0;
    if (::getnameinfo(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin), nullptr, 0, buf,
                      sizeof(buf), flags) == 0 &&
        std::strcmp(buf, std::to_string(port).c_str()) != 0) {
        name = buf;
    }
    services_.emplace(key, name);
    return name;
}

}  // namespace dirigo::ctl::cli
