// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The real name services behind dirigoadm's Resolver and Namer: the system resolver
/// (getaddrinfo/getnameinfo: /etc/hosts, DNS, /etc/services as nsswitch.conf says). Kept apart
/// from the pure parsing and formatting code so that tests never depend on the host's name
/// configuration. IPv4 only, like the rest of dirigo.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cli/args.hpp"
#include "cli/format.hpp"

namespace dirigo::ctl::cli {

/// Forward lookups for -t/-u/-r/-M arguments given as names.
/// Thread: one thread at a time. Cost: one resolver query per call (may block on DNS).
class SystemResolver final : public Resolver {
public:
    /// getaddrinfo(AF_INET); the first address, as ipvsadm's host_to_addr.
    std::optional<cfg::Ip4> host(std::string_view name) const override;
    /// getservbyname_r of the service name for the protocol: names only, never digits (a number
    /// is the parser's business; getaddrinfo() would wrap "99999" to 34463).
    std::optional<uint16_t> service(std::string_view name, cfg::Proto proto) const override;
};

/// Reverse lookups for listings without -n, cached so that a listing asks about each address
/// and port once. Thread: one thread at a time. Cost: one resolver query per new address.
class SystemNamer final : public Namer {
public:
    /// getnameinfo(NI_NAMEREQD): the host name, or nullopt when there is none.
    std::optional<std::string> host(cfg::Ip4 addr) const override;
    /// The service name from the services database, or nullopt when there is none.
    std::optional<std::string> service(uint16_t port, cfg::Proto proto) const override;

private:
    mutable std::map<cfg::Ip4, std::optional<std::string>> hosts_;
    mutable std::map<std::pair<uint16_t, cfg::Proto>, std::optional<std::string>> services_;
};

}  // namespace dirigo::ctl::cli
