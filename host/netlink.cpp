// SPDX-License-Identifier: BSD-3-Clause
#include "host/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <libmnl/libmnl.h>

namespace dirigo::host {
namespace {

constexpr size_t kBufSize = 64 * 1024;  // MNL_SOCKET_BUFFER_SIZE is 8 KiB: dumps come in bigger reads
constexpr int kEventRcvBuf = 4 << 20;

template <size_t N>
struct Attrs {
    const nlattr* tb[N] = {};
};

/// Keeps attributes up to N-1 whose payload is at least `min` bytes; strings NUL-terminated.
template <size_t N>
int keep_attr(const nlattr* attr, void* data) {
    auto* a = static_cast<Attrs<N>*>(data);
    const uint16_t type = mnl_attr_get_type(attr);
    if (type >= N) {
        return MNL_CB_OK;
    }
    a->tb[type] = attr;
    return MNL_CB_OK;
}

bool u32_attr(const nlattr* a, uint32_t& out) {
    if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
        return false;
    }
    out = mnl_attr_get_u32(a);
    return true;
}

/// An IPv4 address attribute (4 bytes, network order) to host order.
bool ip4_attr(const nlattr* a, uint32_t& out) {
    if (a == nullptr || mnl_attr_get_payload_len(a) != 4) {
        return false;
    }
    uint32_t be;
    std::memcpy(&be, mnl_attr_get_payload(a), 4);
    out = ntohl(be);
    return true;
}

Status sys_error(const std::string& what) {
    return Status(Errc::Io, what + ": " + std::strerror(errno));
}

}  // namespace

RtNetlink::~RtNetlink() {
    if (events_ != nullptr) {
        mnl_socket_close(events_);
    }
    if (req_ != nullptr) {
        mnl_socket_close(req_);
    }
}

Status RtNetlink::open() {
    events_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (events_ == nullptr) {
        return sys_error("rtnetlink socket");
    }
    if (mnl_socket_bind(events_, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE,
                        MNL_SOCKET_AUTOPID) < 0) {
        return sys_error("rtnetlink bind");
    }
    // Room for a burst of route changes (a routing daemon's); an overflow costs a resync.
    const int fd = mnl_socket_get_fd(events_);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kEventRcvBuf, sizeof(kEventRcvBuf)) != 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kEventRcvBuf, sizeof(kEventRcvBuf));
    }
    req_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (req_ == nullptr) {
        return sys_error("rtnetlink socket");
    }
    if (mnl_socket_bind(req_, 0, MNL_SOCKET_AUTOPID) < 0) {
        return sys_error("rtnetlink bind");
    }
    req_portid_ = mnl_socket_get_portid(req_);
    events_buf_.resize(kBufSize);
    // A request never waits longer than this for the kernel (it answers at once).
    timeval tv{2, 0};
    (void)setsockopt(mnl_socket_get_fd(req_), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return {};
}

Status RtNetlink::request(nlmsghdr* nlh) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = seq_++;
    if (mnl_socket_sendto(req_, nlh, nlh->nlmsg_len) < 0) {
        return sys_error("rtnetlink send");
    }
    std::vector<char> buf(kBufSize);
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(req_, buf.data(), buf.size());
        if (n < 0) {
            return sys_error("rtnetlink receive");
        }
        // An ACK ends with MNL_CB_STOP; an error message sets errno and returns -1.
        const int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq,
                                  req_portid_, nullptr, nullptr);
        if (rc == MNL_CB_ERROR) {
            return Status(Errc::Io, std::strerror(errno));
        }
        if (rc == MNL_CB_STOP) {
            return {};
        }
    }
}

Status RtNetlink::add_address(int ifindex, uint32_t addr, uint8_t len) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    const uint32_t be = htonl(addr);
    mnl_attr_put(nlh, IFA_LOCAL, 4, &be);
    mnl_attr_put(nlh, IFA_ADDRESS, 4, &be);
    if (len < 31) {
        const uint32_t brd = htonl(addr | (len == 0 ? 0xffffffffu : 0xffffffffu >> len));
        mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
    }
    return request(nlh);
}

Status RtNetlink::replace_route(int ifindex, uint32_t dst, uint8_t len, uint32_t gw) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;  // what `ip route add` uses
    rtm->rtm_scope = gw != 0 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    const uint32_t dst_be = htonl(dst);
    mnl_attr_put(nlh, RTA_DST, 4, &dst_be);
    if (gw != 0) {
        const uint32_t gw_be = htonl(gw);
        mnl_attr_put(nlh, RTA_GATEWAY, 4, &gw_be);
    }
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(ifindex));
    return request(nlh);
}

Status RtNetlink::add_address6(int ifindex, const cfg::Ip6& addr, uint8_t len) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET6;
    ifa->ifa_prefixlen = len;
    ifa->ifa_flags = IFA_F_NODAD;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    mnl_attr_put(nlh, IFA_LOCAL, 16, addr.b.data());
    mnl_attr_put(nlh, IFA_ADDRESS, 16, addr.b.data());
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    return request(nlh);
}

Status RtNetlink::replace_route6(int ifindex, const cfg::Ip6& dst, uint8_t len,
                                 const cfg::Ip6& gw) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET6;
    rtm->rtm_dst_len = len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_DST, 16, dst.b.data());
    mnl_attr_put(nlh, RTA_GATEWAY, 16, gw.b.data());
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(ifindex));
    return request(nlh);
}

Status RtNetlink::dump(int type, KernelState& st) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = static_cast<uint16_t>(type);
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq_++;
    if (type == RTM_GETLINK) {
        auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
        ifi->ifi_family = AF_UNSPEC;
    } else if (type == RTM_GETADDR) {
        auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
        ifa->ifa_family = AF_INET;
    } else {
        auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
        rtm->rtm_family = AF_INET;
    }
    if (mnl_socket_sendto(req_, nlh, nlh->nlmsg_len) < 0) {
        return sys_error("rtnetlink dump");
    }
    struct Ctx {
        RtNetlink* self;
        KernelState* st;
    } ctx{this, &st};
    const auto cb = [](const nlmsghdr* m, void* data) -> int {
        auto* c = static_cast<Ctx*>(data);
        c->self->apply(m, *c->st);
        return MNL_CB_OK;
    };
    std::vector<char> rx(kBufSize);
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(req_, rx.data(), rx.size());
        if (n < 0) {
            return sys_error("rtnetlink dump");
        }
        const int rc = mnl_cb_run(rx.data(), static_cast<size_t>(n), nlh->nlmsg_seq, req_portid_,
                                  cb, &ctx);
        if (rc == MNL_CB_ERROR) {
            return sys_error("rtnetlink dump");
        }
        if (rc == MNL_CB_STOP) {
            return {};
        }
    }
}

Status RtNetlink::resync(KernelState& st) {
    KernelState fresh;
    for (const int type : {RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE}) {
        if (Status s = dump(type, fresh); !s) {
            return s;
        }
    }
    const bool same = fresh.links.size() == st.links.size() && fresh.addrs == st.addrs &&
                      fresh.routes == st.routes &&
                      std::equal(fresh.links.begin(), fresh.links.end(), st.links.begin(),
                                 [](const auto& a, const auto& b) {
                                     return a.first == b.first && a.second.up == b.second.up &&
                                            a.second.name == b.second.name;
                                 });
    fresh.version = same ? st.version : st.version + 1;
    st = std::move(fresh);
    return {};
}

uint32_t RtNetlink::poll(KernelState& st) {
    std::vector<char>& buf = events_buf_;
    uint32_t changed = 0;
    // Bounded: a flood of events is taken 64 reads a round.
    for (int round = 0; round < 64; ++round) {
        const ssize_t n = recv(mnl_socket_get_fd(events_), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ENOBUFS) {
                // Events were lost: what the kernel holds now is the truth.
                ++overflows_;
                const uint64_t before = st.version;
                if (resync(st) && st.version != before) {
                    ++changed;
                }
                continue;
            }
            break;  // EAGAIN: nothing more
        }
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
        int len = static_cast<int>(n);
        while (mnl_nlmsg_ok(nlh, len)) {
            if (apply(nlh, st)) {
                ++changed;
                ++st.version;
            }
            nlh = mnl_nlmsg_next(nlh, &len);
        }
        if (len != 0) {
            ++bad_;  // a truncated message: counted, the rest of the read ignored
        }
    }
    return changed;
}

bool RtNetlink::apply(const nlmsghdr* nlh, KernelState& st) {
    const size_t payload = mnl_nlmsg_get_payload_len(nlh);
    switch (nlh->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: {
        if (payload < sizeof(ifinfomsg)) {
            ++bad_;
            return false;
        }
        const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
        const int idx = ifi->ifi_index;
        if (nlh->nlmsg_type == RTM_DELLINK) {
            bool changed = st.links.erase(idx) != 0;
            changed |= std::erase_if(st.addrs, [idx](const auto& a) { return a.first.ifindex == idx; }) != 0;
            changed |= std::erase_if(st.routes, [idx](const auto& r) { return r.second.ifindex == idx; }) != 0;
            return changed;
        }
        Attrs<IFLA_MAX + 1> a;
        if (mnl_attr_parse(nlh, sizeof(ifinfomsg), keep_attr<IFLA_MAX + 1>, &a) < 0) {
            ++bad_;
            return false;
        }
        KernelState::Link link;
        if (a.tb[IFLA_IFNAME] != nullptr &&
            mnl_attr_validate(a.tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0) {
            link.name = mnl_attr_get_str(a.tb[IFLA_IFNAME]);
        }
        link.up = (ifi->ifi_flags & IFF_UP) != 0;
        auto [it, fresh] = st.links.try_emplace(idx, link);
        if (fresh) {
            return true;
        }
        const bool changed = it->second.up != link.up || it->second.name != link.name;
        it->second = link;
        return changed;
    }
    case RTM_NEWADDR:
    case RTM_DELADDR: {
        if (payload < sizeof(ifaddrmsg)) {
            ++bad_;
            return false;
        }
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (ifa->ifa_family != AF_INET) {
            return false;
        }
        Attrs<IFA_MAX + 1> a;
        if (mnl_attr_parse(nlh, sizeof(ifaddrmsg), keep_attr<IFA_MAX + 1>, &a) < 0) {
            ++bad_;
            return false;
        }
        KernelState::Addr key{static_cast<int>(ifa->ifa_index), 0, ifa->ifa_prefixlen};
        if (!ip4_attr(a.tb[IFA_LOCAL], key.addr) && !ip4_attr(a.tb[IFA_ADDRESS], key.addr)) {
            ++bad_;
            return false;
        }
        if (key.len > 32) {
            ++bad_;
            return false;
        }
        if (nlh->nlmsg_type == RTM_DELADDR) {
            return st.addrs.erase(key) != 0;
        }
        return st.addrs.try_emplace(key, true).second;
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
        if (payload < sizeof(rtmsg)) {
            ++bad_;
            return false;
        }
        const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
        if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len > 32) {
            return false;
        }
        Attrs<RTA_MAX + 1> a;
        if (mnl_attr_parse(nlh, sizeof(rtmsg), keep_attr<RTA_MAX + 1>, &a) < 0) {
            ++bad_;
            return false;
        }
        uint32_t table = rtm->rtm_table;
        (void)u32_attr(a.tb[RTA_TABLE], table);
        // The main table's unicast routes; local, broadcast and policy tables are the kernel's.
        if (table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST) {
            return false;
        }
        KernelState::RouteKey key;
        key.len = rtm->rtm_dst_len;
        if (a.tb[RTA_DST] != nullptr && !ip4_attr(a.tb[RTA_DST], key.dst)) {
            ++bad_;
            return false;
        }
        (void)u32_attr(a.tb[RTA_PRIORITY], key.metric);
        if (nlh->nlmsg_type == RTM_DELROUTE) {
            return st.routes.erase(key) != 0;
        }
        KernelState::RouteVal val;
        uint32_t oif = 0;
        // Multipath routes (no single RTA_OIF) are not followed (docs/host-integration.md).
        if (!u32_attr(a.tb[RTA_OIF], oif)) {
            return false;
        }
        val.ifindex = static_cast<int>(oif);
        if (a.tb[RTA_GATEWAY] != nullptr && !ip4_attr(a.tb[RTA_GATEWAY], val.gateway)) {
            ++bad_;
            return false;
        }
        auto [it, fresh] = st.routes.try_emplace(key, val);
        if (fresh) {
            return true;
        }
        const bool changed = !(it->second == val);
        it->second = val;
        return changed;
    }
    default:
        return false;
    }
}

}  // namespace dirigo::host
