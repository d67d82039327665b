// SPDX-License-Identifier: BSD-3-Clause
#include "control/sync_daemon.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "conntrack/tcp_state.hpp"
#include "dataplane/log.hpp"
#include "dataplane/ownership.hpp"
#include "schedulers/scheduler.hpp"

namespace dirigo::ctl {

namespace {

constexpr uint32_t kUdpIpHeaders = 20 + 8;

Status sock_error(const char* what) {
    return Status(Errc::Io, std::string("sync daemon: ") + what + ": " + std::strerror(errno));
}

uint32_t fwd_flags(cfg::Fwd f) {
    switch (f) {
        case cfg::Fwd::Masq:
            return sync::kFwdMasq;
        case cfg::Fwd::Route:
            return sync::kFwdDroute | sync::kFlagNoOutput;
        case cfg::Fwd::Tunnel:
            return sync::kFwdTunnel | sync::kFlagNoOutput;
    }
    return sync::kFwdMasq;
}

}  // namespace

sync::ConnRecord to_wire(const dp::SyncRecord& r) noexcept {
    sync::ConnRecord c;
    c.protocol = r.client.proto;
    c.flags = fwd_flags(static_cast<cfg::Fwd>(r.fwd));
    if (r.inactive != 0) {
        c.flags |= sync::kFlagInactive;
    }
    if (r.kind == dp::SyncKind::Template) {
        c.flags |= sync::kFlagTemplate;
    }
    const auto st = static_cast<ct::TcpState>(r.state);
    // IPVS numbers TCP states as Dirigo does, SCTP's from 0 where Dirigo's start at kSctpFirst;
    // UDP has one state, 0 (and so has a template).
    if (r.client.proto == IPPROTO_TCP && static_cast<size_t>(st) < ct::kNumTcpStates) {
        c.state = r.state;
    } else if (r.client.proto == IPPROTO_SCTP && static_cast<size_t>(st) >= ct::kSctpFirst) {
        c.state = static_cast<uint16_t>(r.state - ct::kSctpFirst);
    } else {
        c.state = 0;
    }
    c.cport = r.client.sport;
    c.vport = r.client.dport;
    c.dport = r.rport;
    c.timeout = r.timeout_s;
    c.set_v4(r.client.saddr, r.client.daddr, r.raddr);
    if (r.client.proto == 0 && r.kind == dp::SyncKind::Template) {
        // A fwmark service's template, as IPVS sends one: protocol 0, the mark as the virtual
        // address and in the fwmark field.
        c.fwmark = ntohl(r.client.daddr);
    }
    return c;
}

namespace {

/// IPVS's state number of a Dirigo state for `proto`: TCP's are the same numbers, SCTP's start
/// at 0 where Dirigo's start at kSctpFirst; UDP (and a template) has one state, 0.
uint16_t wire_state(uint8_t proto, uint8_t state) {
    if (proto == IPPROTO_TCP && state < ct::kNumTcpStates) {
        return state;
    }
    if (proto == IPPROTO_SCTP && state >= ct::kSctpFirst && state < ct::kNumStates) {
        return static_cast<uint16_t>(state - ct::kSctpFirst);
    }
    return 0;
}

}  // namespace

sync::ConnRecord to_wire6(const dp::SyncRecord6& r) noexcept {
    sync::ConnRecord c;
    c.v6 = true;
    c.protocol = r.proto;
    c.flags = fwd_flags(static_cast<cfg::Fwd>(r.fwd));
    if (r.inactive != 0) {
        c.flags |= sync::kFlagInactive;
    }
    const bool tmpl = r.kind == dp::SyncKind::Template;
    if (tmpl) {
        c.flags |= sync::kFlagTemplate;
    }
    c.state = tmpl ? 0 : wire_state(r.proto, r.state);
    c.cport = r.cport;
    c.vport = r.vport;
    c.dport = r.rport;
    c.timeout = r.timeout_s;
    std::memcpy(c.caddr.data(), r.caddr, 16);
    std::memcpy(c.vaddr.data(), r.vaddr, 16);
    // An IPv4 server is already in the kernel's layout (its 4 bytes, then zeros).
    std::memcpy(c.daddr.data(), r.raddr, 16);
    if (tmpl && r.proto == 0) {
        // An IPv6 fwmark service's template, as IPVS sends one: protocol 0, the mark as the
        // virtual address (the first 4 bytes) and in the fwmark field.
        uint32_t mark_be;
        std::memcpy(&mark_be, r.vaddr, 4);
        c.fwmark = ntohl(mark_be);
    }
    return c;
}

bool from_wire6(const sync::ConnRecord& c, dp::SyncRecord6& out) noexcept {
    if (!c.v6) {
        return false;
    }
    const bool tmpl = (c.flags & sync::kFlagTemplate) != 0;
    const bool fwm_template = tmpl && c.protocol == 0 && c.fwmark != 0;
    if (c.protocol != IPPROTO_TCP && c.protocol != IPPROTO_UDP && c.protocol != IPPROTO_SCTP &&
        !fwm_template) {
        return false;
    }
    const uint32_t fwd = c.flags & sync::kFwdMask;
    if (fwd != sync::kFwdMasq && fwd != sync::kFwdDroute && fwd != sync::kFwdTunnel) {
        return false;
    }
    out = dp::SyncRecord6{};
    std::memcpy(out.caddr, c.caddr.data(), 16);
    std::memcpy(out.vaddr, c.vaddr.data(), 16);
    std::memcpy(out.raddr, c.daddr.data(), 16);
    if (fwm_template) {
        // The service is the mark's, whatever the address field says (as the IPv4 path).
        const uint32_t mark_be = htonl(c.fwmark);
        std::memset(out.vaddr, 0, 16);
        std::memcpy(out.vaddr, &mark_be, 4);
    }
    out.cport = c.cport;
    out.vport = c.vport;
    out.rport = c.dport;
    out.proto = c.protocol;
    if (tmpl) {
        out.kind = dp::SyncKind::Template;
        out.state = static_cast<uint8_t>(ct::TcpState::None);
    } else {
        // decode() checked the state against the protocol's count.
        out.state = c.protocol == IPPROTO_TCP    ? static_cast<uint8_t>(c.state)
                    : c.protocol == IPPROTO_SCTP ? static_cast<uint8_t>(ct::kSctpFirst + c.state)
                                                 : static_cast<uint8_t>(ct::TcpState::Udp);
    }
    out.fwd = static_cast<uint8_t>(fwd == sync::kFwdMasq     ? cfg::Fwd::Masq
                                   : fwd == sync::kFwdDroute ? cfg::Fwd::Route
                                                             : cfg::Fwd::Tunnel);
    out.timeout_s = c.timeout;
    out.inactive = (c.flags & sync::kFlagInactive) != 0 ? 1 : 0;
    return true;
}

SyncDaemon::SyncDaemon(dp::Dataplane& dp) : dp_(dp) {
    flush_tsc_ = dp_.tsc_hz() / 1000 * kFlushMs;
    batches_.resize(dp_.n_workers());
    for (auto& b : batches_) {
        b.reserve(dp::kSyncRingSize);
    }
    batches6_.resize(dp_.n_workers());
    for (auto& b : batches6_) {
        b.reserve(dp::kSyncRing6Size);
    }
}

SyncDaemon::~SyncDaemon() {
    if (master_ != nullptr) {
        (void)stop(SyncRole::Master);
    }
    if (backup_ != nullptr) {
        (void)stop(SyncRole::Backup);
    }
}

Status SyncDaemon::start(const DaemonCfg& in) {
    const bool is_master = in.role == SyncRole::Master;
    if (is_master ? master_ != nullptr : backup_ != nullptr) {
        return Status(Errc::DaemonRunning, "Daemon has already run");
    }
    DaemonCfg c = in;
    const unsigned ifindex = c.mcast_ifn.empty() ? 0 : if_nametoindex(c.mcast_ifn.c_str());
    if (ifindex == 0) {
        return Status(Errc::NoDevice, "Unknown mcast interface: " + c.mcast_ifn);
    }
    // start_sync_thread's defaults and limits.
    if (c.mcast_group == 0) {
        c.mcast_group = sync::kDefaultGroup;
    }
    if ((c.mcast_group >> 28) != 0xe) {
        return Status(Errc::Invalid, "the sync group must be a multicast address");
    }
    if (c.mcast_port == 0) {
        c.mcast_port = sync::kDefaultPort;
    }
    if (c.mcast_ttl == 0) {
        c.mcast_ttl = 1;
    }
    if (c.sync_maxlen == 0) {
        c.sync_maxlen = static_cast<uint16_t>(1500 - kUdpIpHeaders);
    } else if (c.sync_maxlen > 65535 - kUdpIpHeaders) {
        c.sync_maxlen = static_cast<uint16_t>(65535 - kUdpIpHeaders);
    }

    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sock_error("socket");
    }
    auto fail = [fd](const char* what) {
        Status st = sock_error(what);
        close(fd);
        return st;
    };
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c.mcast_ifn.c_str(),
                   static_cast<socklen_t>(c.mcast_ifn.size())) != 0) {
        return fail("SO_BINDTODEVICE");
    }
    sockaddr_in group{};
    group.sin_family = AF_INET;
    group.sin_addr.s_addr = htonl(c.mcast_group);
    group.sin_port = htons(c.mcast_port);
    if (is_master) {
        ip_mreqn mreq{};
        mreq.imr_ifindex = static_cast<int>(ifindex);
        const int ttl = c.mcast_ttl;
        const int loop = 0;
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) != 0) {
            return fail("IP_MULTICAST_IF");
        }
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) != 0) {
            return fail("IP_MULTICAST_TTL");
        }
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) != 0) {
            return fail("IP_MULTICAST_LOOP");
        }
        if (connect(fd, reinterpret_cast<const sockaddr*>(&group), sizeof(group)) != 0) {
            return fail("connect");
        }
        auto m = std::make_unique<Master>();
        m->cfg = c;
        m->fd = fd;
        m->builder = std::make_unique<sync::MessageBuilder>(c.syncid, c.sync_maxlen);
        master_ = std::move(m);
        DIRIGO_LOG(NOTICE, "sync daemon: master started on %s, syncid %u, group %u.%u.%u.%u:%u",
                   c.mcast_ifn.c_str(), c.syncid, c.mcast_group >> 24, (c.mcast_group >> 16) & 255,
                   (c.mcast_group >> 8) & 255, c.mcast_group & 255, c.mcast_port);
        // Workers queue records from the next snapshot on (control republishes).
        dp::SyncParams p = dp_.sync();
        p.master = true;
        dp_.set_sync(p);
        return {};
    }
    const int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        return fail("SO_REUSEADDR");
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&group), sizeof(group)) != 0) {
        return fail("bind");
    }
    ip_mreqn join{};
    join.imr_multiaddr.s_addr = htonl(c.mcast_group);
    join.imr_ifindex = static_cast<int>(ifindex);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof(join)) != 0) {
        return fail("IP_ADD_MEMBERSHIP");
    }
    auto b = std::make_unique<Backup>();
    b->cfg = c;
    b->fd = fd;
    b->buf.resize(65536);
    backup_ = std::move(b);
    DIRIGO_LOG(NOTICE, "sync daemon: backup started on %s, syncid %u, group %u.%u.%u.%u:%u",
               c.mcast_ifn.c_str(), c.syncid, c.mcast_group >> 24, (c.mcast_group >> 16) & 255,
               (c.mcast_group >> 8) & 255, c.mcast_group & 255, c.mcast_port);
    return {};
}

Status SyncDaemon::stop(SyncRole role) {
    if (role == SyncRole::Master) {
        if (master_ == nullptr) {
            return Status(Errc::NoDaemon, "No daemon is running");
        }
        if (!master_->builder->empty()) {
            send_message();  // as the kernel's master thread sends what it holds when stopped
        }
        close(master_->fd);
        master_.reset();
        dp::SyncParams p = dp_.sync();
        p.master = false;
        dp_.set_sync(p);
        DIRIGO_LOG(NOTICE, "sync daemon: master stopped");
        return {};
    }
    if (backup_ == nullptr) {
        return Status(Errc::NoDaemon, "No daemon is running");
    }
    close(backup_->fd);
    backup_.reset();
    DIRIGO_LOG(NOTICE, "sync daemon: backup stopped");
    return {};
}

std::vector<DaemonView> SyncDaemon::views() const {
    std::vector<DaemonView> out;
    if (master_ != nullptr) {
        DaemonView v;
        v.cfg = master_->cfg;
        v.messages = master_->messages;
        v.conns = master_->conns;
        v.dropped = master_->dropped;
        for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
            v.dropped += dp_.worker(w).stats().sync_lost.load(std::memory_order_relaxed);
        }
        out.push_back(std::move(v));
    }
    if (backup_ != nullptr) {
        DaemonView v;
        v.cfg = backup_->cfg;
        v.messages = backup_->counters.messages;
        v.conns = backup_->counters.conns;
        const BackupCounters& c = backup_->counters;
        v.dropped = c.malformed + c.foreign + c.unsupported + c.ring_full;
        out.push_back(std::move(v));
    }
    return out;
}

uint32_t SyncDaemon::poll() {
    uint32_t moved = 0;
    if (master_ != nullptr) {
        poll_master(moved);
    }
    if (backup_ != nullptr) {
        poll_backup(moved);
    }
    return moved;
}

void SyncDaemon::poll_master(uint32_t& moved) {
    Master& m = *master_;
    const auto add_record = [this, &m](const sync::ConnRecord& c) {
        if (m.builder->empty()) {
            m.first_tsc = rte_rdtsc();
        }
        if (!m.builder->add(c)) {
            send_message();
            m.first_tsc = rte_rdtsc();
            if (!m.builder->add(c)) {
                ++m.dropped;  // larger than sync_maxlen allows: cannot happen (kMinMaxlen)
            }
        }
    };
    dp::SyncRecord recs[64];
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        uint32_t taken = 0;
        while (taken < kMaxRecordsPerRound) {
            // Single consumer: control is the only reader of a worker's out ring.
            const unsigned n = rte_ring_sc_dequeue_burst_elem(dp_.sync_out(w), recs,
                                                              sizeof(dp::SyncRecord), 64, nullptr);
            if (n == 0) {
                break;
            }
            taken += n;
            for (unsigned i = 0; i < n; ++i) {
                add_record(to_wire(recs[i]));
            }
        }
        moved += taken;
        // The worker's IPv6 connections, from their own ring, into the same messages.
        dp::SyncRecord6 recs6[32];
        taken = 0;
        while (taken < kMaxRecordsPerRound) {
            const unsigned n = rte_ring_sc_dequeue_burst_elem(dp_.sync6_out(w), recs6,
                                                              sizeof(dp::SyncRecord6), 32, nullptr);
            if (n == 0) {
                break;
            }
            taken += n;
            for (unsigned i = 0; i < n; ++i) {
                add_record(to_wire6(recs6[i]));
            }
        }
        moved += taken;
    }
    if (!m.builder->empty() && rte_rdtsc() - m.first_tsc >= flush_tsc_) {
        send_message();
        ++moved;
    }
}

void SyncDaemon::send_message() {
    Master& m = *master_;
    const std::span<const uint8_t> msg = m.builder->finish();
    const uint32_t n = m.builder->count();
    if (send(m.fd, msg.data(), msg.size(), MSG_DONTWAIT) == static_cast<ssize_t>(msg.size())) {
        ++m.messages;
        m.conns += n;
    } else {
        m.dropped += n;  // the socket's buffer is full or the interface is down
    }
    m.builder->reset();
}

void SyncDaemon::poll_backup(uint32_t& moved) {
    Backup& b = *backup_;
    for (uint32_t i = 0; i < kMaxMessagesPerRound; ++i) {
        const ssize_t len = recv(b.fd, b.buf.data(), b.buf.size(), MSG_DONTWAIT);
        if (len < 0) {
            break;  // EAGAIN: nothing more this round (other errors: tried again next round)
        }
        ++moved;
        const auto err = sync::decode(
            std::span<const uint8_t>(b.buf.data(), static_cast<size_t>(len)), b.cfg.syncid,
            [this, &b](const sync::ConnRecord& c) {
                // Dirigo holds IPv4 TCP, UDP and SCTP connections (of address or fwmark
                // services: the backup's own mark rules find the latter's service) and fwmark
                // services' templates (protocol 0, the mark as the virtual address).
                if (c.v6) {
                    // IPv6 connections go to the workers' IPv6 tables, IPv6 templates to the
                    // shared persistence table (through a worker too).
                    dp::SyncRecord6 r6;
                    if (from_wire6(c, r6)) {
                        route6(r6);
                    } else {
                        ++b.counters.unsupported;
                    }
                    return;
                }
                const bool fwm_template =
                    c.protocol == 0 && (c.flags & sync::kFlagTemplate) != 0 && c.fwmark != 0;
                if (c.protocol != IPPROTO_TCP && c.protocol != IPPROTO_UDP &&
                    c.protocol != IPPROTO_SCTP && !fwm_template) {
                    ++b.counters.unsupported;
                    return;
                }
                const uint32_t fwd = c.flags & sync::kFwdMask;
                if (fwd != sync::kFwdMasq && fwd != sync::kFwdDroute &&
                    fwd != sync::kFwdTunnel) {
                    ++b.counters.unsupported;
                    return;
                }
                dp::SyncRecord r;
                r.client.saddr = c.caddr4();
                r.client.daddr = c.vaddr4();
                r.client.sport = c.cport;
                r.client.dport = c.vport;
                r.client.proto = c.protocol;
                if (fwm_template) {
                    r.client.daddr = htonl(c.fwmark);
                }
                r.raddr = c.daddr4();
                r.rport = c.dport;
                r.fwd = static_cast<uint8_t>(fwd == sync::kFwdMasq     ? cfg::Fwd::Masq
                                             : fwd == sync::kFwdDroute ? cfg::Fwd::Route
                                                                       : cfg::Fwd::Tunnel);
                r.timeout_s = c.timeout;
                r.inactive = (c.flags & sync::kFlagInactive) != 0 ? 1 : 0;
                if ((c.flags & sync::kFlagTemplate) != 0) {
                    r.kind = dp::SyncKind::Template;
                    r.state = static_cast<uint8_t>(ct::TcpState::None);
                } else {
                    r.kind = dp::SyncKind::Conn;
                    // decode() checked the state against the protocol's count.
                    r.state = c.protocol == IPPROTO_TCP ? static_cast<uint8_t>(c.state)
                              : c.protocol == IPPROTO_SCTP
                                  ? static_cast<uint8_t>(ct::kSctpFirst + c.state)
                                  : static_cast<uint8_t>(ct::TcpState::Udp);
                }
                route(r);
            });
        if (err == sync::DecodeError::ForeignSyncid) {
            ++b.counters.foreign;
        } else if (err != sync::DecodeError::None) {
            ++b.counters.malformed;
        } else {
            ++b.counters.messages;
        }
        flush_batches();
    }
}

void SyncDaemon::route(const dp::SyncRecord& rec) {
    // The worker that owns the client's flow installs it: the same choice its packets get.
    const uint32_t w = dp_.owners().owner(rec.client.saddr, rec.client.sport);
    std::vector<dp::SyncRecord>& b = batches_[w];
    if (b.size() == b.capacity()) {
        flush_batches();
    }
    b.push_back(rec);
}

uint32_t sync_owner6(const dp::FlowOwners& owners, const dp::SyncRecord6& r) noexcept {
    return owners.owner(rte_cpu_to_be_32(sched::fold6(r.caddr)), r.cport);
}

void SyncDaemon::route6(const dp::SyncRecord6& rec) {
    // The owner of the client's flow, as the workers hand IPv6 packets over (Worker::owner6).
    const uint32_t w = sync_owner6(dp_.owners(), rec);
    std::vector<dp::SyncRecord6>& b = batches6_[w];
    if (b.size() == b.capacity()) {
        flush_batches();
    }
    b.push_back(rec);
}

void SyncDaemon::flush_batches() {
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        std::vector<dp::SyncRecord>& b = batches_[w];
        if (b.empty()) {
            continue;
        }
        // Single producer (control), single consumer (the worker).
        const unsigned n = rte_ring_sp_enqueue_burst_elem(
            dp_.sync_in(w), b.data(), sizeof(dp::SyncRecord), static_cast<unsigned>(b.size()),
            nullptr);
        backup_->counters.conns += n;
        backup_->counters.ring_full += b.size() - n;
        b.clear();
    }
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        std::vector<dp::SyncRecord6>& b = batches6_[w];
        if (b.empty()) {
            continue;
        }
        const unsigned n =
            rte_ring_sp_enqueue_burst_elem(dp_.sync6_in(w), b.data(), sizeof(dp::SyncRecord6),
                                           static_cast<unsigned>(b.size()), nullptr);
        backup_->counters.conns += n;
        backup_->counters.ring_full += b.size() - n;
        b.clear();
    }
}

}  // namespace dirigo::ctl
