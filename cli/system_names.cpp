// SPDX-License-Identifier: BSD-3-Clause
#include "cli/system_names.hpp"

#include <array>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config/addr.hpp"

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
    // cfg::proto_name's views are literals: "tcp", "udp" or "sctp", NUL-terminated.
    if (::getservbyname_r(n.c_str(), cfg::proto_name(proto).data(), &entry, buf.data(), buf.size(),
                          &found) != 0 ||
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
    std::optional<std::string> name;
    if (proto == cfg::Proto::Sctp) {
        // getnameinfo() knows stream and datagram services only; ipvsadm asks the services
        // database for "sctp" by port.
        servent entry{};
        servent* found = nullptr;
        std::array<char, 4096> sbuf{};
        if (::getservbyport_r(htons(port), "sctp", &entry, sbuf.data(), sbuf.size(), &found) == 0 &&
            found != nullptr) {
            name = found->s_name;
        }
        services_.emplace(key, name);
        return name;
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    char buf[NI_MAXSERV];
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
