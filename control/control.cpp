// SPDX-License-Identifier: BSD-3-Clause
#include "control/control.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>

#include "config/addr.hpp"
#include "control/snapshot_builder.hpp"

namespace dirigo::ctl {
namespace {

constexpr size_t kMaxClients = 64;
constexpr uint64_t kEstimatorPeriodSec = 2;
constexpr uint64_t kMaxListedConns = 300000;

Stats operator-(const Stats& a, const Stats& b) {
    return {a.conns - b.conns, a.inpkts - b.inpkts, a.outpkts - b.outpkts,
            a.inbytes - b.inbytes, a.outbytes - b.outbytes};
}

Stats read(const dp::TrafficStats& t) {
    // Relaxed loads pair with the workers' single-writer relaxed stores (dp::bump).
    return {t.conns.load(std::memory_order_relaxed), t.inpkts.load(std::memory_order_relaxed),
            t.outpkts.load(std::memory_order_relaxed), t.inbytes.load(std::memory_order_relaxed),
            t.outbytes.load(std::memory_order_relaxed)};
}

void add(Stats& a, const Stats& b) {
    a.conns += b.conns;
    a.inpkts += b.inpkts;
    a.outpkts += b.outpkts;
    a.inbytes += b.inbytes;
    a.outbytes += b.outbytes;
}

}  // namespace

Control::Control(dp::Dataplane& dp, const cfg::Config& cfg)
    : dp_(dp),
      cfg_(cfg),
      model_(dp.dest_counters(), dp::kMaxServices, dp::kMaxDests),
      slow_(dp, cfg.dataplane.arp_timeout),
      dest_base_(dp::kMaxDests),
      svc_base_(dp::kMaxServices),
      dest_rate_(dp::kMaxDests),
      svc_rate_(dp::kMaxServices) {}

Control::~Control() { close_socket(); }

Status Control::load_initial() {
    Request batch;
    batch.op = Op::Batch;
    Request t;
    t.op = Op::SetTimeouts;
    t.timeouts = cfg_.timeouts;
    batch.batch.push_back(t);
    for (const cfg::Service& s : cfg_.services) {
        Request add_svc;
        add_svc.op = Op::AddService;
        add_svc.service = s;
        add_svc.service.servers.clear();
        batch.batch.push_back(add_svc);
        for (const cfg::RealServer& rs : s.servers) {
            Request add_rs;
            add_rs.op = Op::AddDest;
            add_rs.service.key = s.key;
            add_rs.dest = rs;
            batch.batch.push_back(add_rs);
        }
    }
    Reply r = handle(batch);
    if (r.code != Errc::Ok) {
        return Status(r.code, "services in the config: " + r.message);
    }
    return {};
}

Status Control::publish() {
    auto snap = build_snapshot(model_, dp_);
    if (!snap) {
        return snap.status();
    }
    // Slots handed out by this change start from zero in every view.
    for (uint32_t slot : model_.fresh_dest_slots()) {
        dest_base_[slot] = dest_totals(slot);
        dest_rate_[slot] = RateState{dest_base_[slot], {}};
    }
    for (uint32_t slot : model_.fresh_service_slots()) {
        svc_base_[slot] = service_totals(slot);
        svc_rate_[slot] = RateState{svc_base_[slot], {}};
    }
    dp_.publish(std::move(*snap));
    // IPVS's expire_nodest_conn: connections of removed servers end now, on their own workers.
    if (cfg_.dataplane.expire_nodest_conn && !model_.removed_dest_slots().empty()) {
        std::vector<std::unique_ptr<dp::Command>> cmds;
        for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
            auto c = std::make_unique<dp::Command>();
            c->kind = dp::CommandKind::ExpireDests;
            c->slots = model_.removed_dest_slots();
            cmds.push_back(std::move(c));
        }
        (void)run_on_workers(cmds);
    }
    return {};
}

bool Control::run_on_workers(std::vector<std::unique_ptr<dp::Command>>& cmds) {
    // Abandoned commands are freed once their worker is done with them.
    std::erase_if(abandoned_, [](const std::unique_ptr<dp::Command>& c) {
        return c->done.load(std::memory_order_acquire);
    });
    bool ok = true;
    for (uint32_t w = 0; w < cmds.size(); ++w) {
        if (!dp_.run_command(w, *cmds[w], 5000)) {
            abandoned_.push_back(std::move(cmds[w]));
            ok = false;
        }
    }
    return ok;
}

void Control::list_conns(Reply& rep) {
    std::vector<std::unique_ptr<dp::Command>> cmds;
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        auto c = std::make_unique<dp::Command>();
        c->kind = dp::CommandKind::ListConns;
        // Room for every live entry plus the ones created while the worker walks its table.
        const uint64_t live = dp_.worker(w).stats().live_conns.load(std::memory_order_relaxed);
        // A reply must fit one frame (about 400k entries in 16 MiB): the list is capped.
        c->conns.resize(std::min<uint64_t>({live + 1024, uint64_t{dp_.conn_table_size()},
                                            kMaxListedConns / dp_.n_workers()}));
        cmds.push_back(std::move(c));
    }
    if (!run_on_workers(cmds)) {
        rep.code = Errc::Internal;
        rep.message = "a worker did not answer within 5 s";
        return;
    }
    const uint64_t per_ms = dp_.tsc_hz() / 1000;
    for (const auto& c : cmds) {
        for (uint32_t i = 0; i < c->count; ++i) {
            const ct::Conn& k = c->conns[i];
            ConnInfo ci;
            ci.proto = k.client.proto == IPPROTO_UDP ? cfg::Proto::Udp : cfg::Proto::Tcp;
            ci.state = std::string(ct::state_name(k.state));
            ci.expires_ms = k.expire > c->now
                                ? static_cast<uint32_t>((k.expire - c->now) / per_ms)
                                : 0;
            ci.caddr = rte_be_to_cpu_32(k.client.saddr);
            ci.cport = rte_be_to_cpu_16(k.client.sport);
            ci.vaddr = rte_be_to_cpu_32(k.client.daddr);
            ci.vport = rte_be_to_cpu_16(k.client.dport);
            ci.daddr = rte_be_to_cpu_32(k.raddr);
            ci.dport = rte_be_to_cpu_16(k.rport);
            rep.conns.push_back(std::move(ci));
        }
    }
    // Persistence templates, as IPVS lists them: state NONE, client port 0.
    const uint64_t now = rte_rdtsc();
    dp_.persist().for_each([&](uint32_t svc_slot, uint32_t client, uint32_t dest_slot, int32_t,
                               uint64_t expire) {
        for (const ServiceState& s : model_.services()) {
            if (s.slot != svc_slot) {
                continue;
            }
            ConnInfo ci;
            ci.proto = s.svc.key.proto;
            ci.state = "NONE";
            ci.expires_ms = expire > now ? static_cast<uint32_t>((expire - now) / per_ms) : 0;
            ci.caddr = rte_be_to_cpu_32(client);
            ci.vaddr = s.svc.key.addr;
            ci.vport = s.svc.key.port;
            for (size_t i = 0; i < s.dest_slots.size(); ++i) {
                if (s.dest_slots[i] == dest_slot) {
                    ci.daddr = s.svc.servers[i].addr;
                    ci.dport = s.svc.servers[i].port;
                }
            }
            rep.conns.push_back(std::move(ci));
        }
    });
}

Reply Control::handle(const Request& req) {
    Reply rep;
    if (is_mutation(req.op)) {
        const ModelStore before = model_;
        if (Status s = model_.apply(req); !s) {
            rep.code = s.code();
            rep.message = s.message();
            return rep;
        }
        if (Status s = publish(); !s) {
            model_ = before;  // the change is refused whole; workers never saw it
            rep.code = s.code();
            rep.message = s.message();
        }
        return rep;
    }
    switch (req.op) {
    case Op::Ping:
        rep.info.version = DIRIGO_VERSION;
        rep.info.conn_table_size = dp_.conn_table_size();
        rep.info.workers = dp_.n_workers();
        break;
    case Op::GetTimeouts:
        rep.timeouts = model_.timeouts();
        break;
    case Op::Zero: {
        bool found = !req.has_key;
        for (const ServiceState& s : model_.services()) {
            if (req.has_key && !(s.svc.key == req.service.key)) {
                continue;
            }
            found = true;
            svc_base_[s.slot] = service_totals(s.slot);
            svc_rate_[s.slot] = RateState{svc_base_[s.slot], {}};
            for (uint32_t slot : s.dest_slots) {
                dest_base_[slot] = dest_totals(slot);
                dest_rate_[slot] = RateState{dest_base_[slot], {}};
            }
        }
        if (!found) {
            rep.code = Errc::NoService;
            rep.message = "Service not defined";
        }
        break;
    }
    case Op::List:
        fill_list(req, rep);
        break;
    case Op::ListConns:
        list_conns(rep);
        break;
    case Op::ListPorts:
        list_ports(rep);
        break;
    case Op::ListWorkers:
        list_workers(rep);
        break;
    case Op::ListNeighbours:
        list_neighbours(rep);
        break;
    case Op::ListRoutes:
        list_routes(rep);
        break;
    default:
        rep.code = Errc::Invalid;
        rep.message = "unknown operation";
        break;
    }
    return rep;
}

Stats Control::dest_totals(uint32_t slot) const {
    Stats s;
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        add(s, read(dp_.worker(w).stats().dest[slot]));
    }
    return s;
}

Stats Control::service_totals(uint32_t slot) const {
    Stats s;
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        add(s, read(dp_.worker(w).stats().svc[slot]));
    }
    return s;
}

namespace {
Rates unscale(const Rates& r) {
    auto u = [](uint64_t v) { return (v + 0x1ff) >> 10; };
    return {u(r.cps), u(r.inpps), u(r.outpps), u(r.inbps), u(r.outbps)};
}
}  // namespace

void Control::fill_list(const Request& req, Reply& rep) {
    for (const ServiceState& s : model_.services()) {
        if (req.has_key && !(s.svc.key == req.service.key)) {
            continue;
        }
        ServiceInfo si;
        si.service = s.svc;
        si.service.servers.clear();
        si.stats = service_totals(s.slot) - svc_base_[s.slot];
        si.rates = unscale(svc_rate_[s.slot].avg);
        for (size_t i = 0; i < s.svc.servers.size(); ++i) {
            const uint32_t slot = s.dest_slots[i];
            const sched::DestCounters& c = dp_.dest_counters()[slot];
            DestInfo di;
            di.server = s.svc.servers[i];
            // Relaxed loads of counters the workers change with atomic RMWs.
            di.active = static_cast<uint32_t>(std::max(0, c.active.load(std::memory_order_relaxed)));
            di.inactive =
                static_cast<uint32_t>(std::max(0, c.inactive.load(std::memory_order_relaxed)));
            di.persistent =
                static_cast<uint32_t>(std::max(0, c.persistent.load(std::memory_order_relaxed)));
            di.stats = dest_totals(slot) - dest_base_[slot];
            di.rates = unscale(dest_rate_[slot].avg);
            si.dests.push_back(di);
        }
        rep.services.push_back(std::move(si));
    }
    if (req.has_key && rep.services.empty()) {
        rep.code = Errc::NoService;
        rep.message = "Service not defined";
    }
}

namespace {
std::string mac_text(const rte_ether_addr& a) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    const uint8_t* b = a.addr_bytes;
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                  b[5]);
    return buf;
}
}  // namespace

void Control::list_ports(Reply& rep) {
    const dp::Topology& topo = *dp_.topology();
    for (const dp::PortInfo& p : topo.ports) {
        if (p.name.empty()) {
            continue;
        }
        PortView v;
        v.name = p.name;
        v.port_id = p.port_id;
        char dev[RTE_ETH_NAME_MAX_LEN] = {};
        if (rte_eth_dev_get_name_by_port(p.port_id, dev) == 0) {
            v.device = dev;
        }
        v.mac = mac_text(p.mac);
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(p.port_id, &link) == 0) {
            v.link_up = link.link_status == RTE_ETH_LINK_UP;
            v.speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
        }
        v.mtu = p.mtu;
        v.rx_queues = dp_.rx_queues(p.port_id);
        v.tx_queues = static_cast<uint16_t>(dp_.n_workers());
        for (const dp::LocalAddr& a : p.addrs) {
            const uint32_t mask = rte_be_to_cpu_32(a.mask);
            v.addresses.push_back(
                {rte_be_to_cpu_32(a.addr), static_cast<uint8_t>(__builtin_popcount(mask))});
        }
        for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
            const dp::PortStats& ps = dp_.worker(w).stats().ports[p.port_id];
            v.rx_packets += ps.rx.load(std::memory_order_relaxed);
            v.tx_packets += ps.tx.load(std::memory_order_relaxed);
            v.rx_bytes += ps.rx_bytes.load(std::memory_order_relaxed);
        }
        rte_eth_stats st{};
        if (rte_eth_stats_get(p.port_id, &st) == 0) {
            v.rx_missed = st.imissed;
            v.rx_errors = st.ierrors;
            v.tx_errors = st.oerrors;
            v.tx_bytes = st.obytes;
        }
        rep.ports.push_back(std::move(v));
    }
    std::vector<uint64_t> drops(static_cast<size_t>(dp::Drop::Count), 0);
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        const auto& d = dp_.worker(w).stats().drops;
        for (size_t i = 0; i < d.size(); ++i) {
            drops[i] += d[i].load(std::memory_order_relaxed);
        }
    }
    const dp::SlowPathStats& sp = slow_.stats();
    drops[static_cast<size_t>(dp::Drop::NeighUnresolved)] += sp.unresolved_drops;
    drops[static_cast<size_t>(dp::Drop::NeighQueueFull)] += sp.queue_drops;
    drops[static_cast<size_t>(dp::Drop::NoMbuf)] += sp.no_mbuf;
    drops[static_cast<size_t>(dp::Drop::SlowPathFull)] += sp.inject_full;
    for (size_t i = 1; i < drops.size(); ++i) {
        rep.drops.push_back({dp::kDropNames[i], drops[i]});
    }
}

void Control::list_workers(Reply& rep) {
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        const dp::WorkerStats& st = dp_.worker(w).stats();
        WorkerView v;
        v.id = w;
        v.lcore = dp_.worker_lcore(w);
        for (const dp::PortStats& ps : st.ports) {
            v.rx_packets += ps.rx.load(std::memory_order_relaxed);
            v.tx_packets += ps.tx.load(std::memory_order_relaxed);
        }
        for (const auto& d : st.drops) {
            v.drops += d.load(std::memory_order_relaxed);
        }
        v.loops = st.loops.load(std::memory_order_relaxed);
        v.busy_loops = st.busy_loops.load(std::memory_order_relaxed);
        v.connections = st.live_conns.load(std::memory_order_relaxed);
        v.created = st.conns_created.load(std::memory_order_relaxed);
        v.handed_off = st.handed_off.load(std::memory_order_relaxed);
        v.taken_over = st.taken_over.load(std::memory_order_relaxed);
        rep.workers.push_back(v);
    }
}

void Control::list_neighbours(Reply& rep) {
    const dp::Topology& topo = *dp_.topology();
    dp_.neigh().for_each([&](uint32_t ip, uint16_t port, const rte_ether_addr& mac, bool valid) {
        NeighbourView v;
        v.addr = rte_be_to_cpu_32(ip);
        v.resolved = valid;
        v.mac = valid ? mac_text(mac) : "";
        v.port = port < topo.ports.size() ? topo.ports[port].name : "";
        rep.neighbours.push_back(std::move(v));
    });
    std::sort(rep.neighbours.begin(), rep.neighbours.end(),
              [](const NeighbourView& a, const NeighbourView& b) { return a.addr < b.addr; });
}

void Control::list_routes(Reply& rep) {
    const dp::Topology& topo = *dp_.topology();
    for (const auto& [prefix, nh] : topo.routes) {
        RouteView v;
        v.prefix = prefix;
        v.gateway = rte_be_to_cpu_32(nh.gateway);
        v.port = topo.ports[nh.port].name;
        rep.routes.push_back(std::move(v));
    }
}

void Control::run_estimator() {
    const uint64_t now = rte_rdtsc();
    if (now < next_estimate_) {
        return;
    }
    const bool first = next_estimate_ == 0;
    next_estimate_ = now + kEstimatorPeriodSec * dp_.tsc_hz();
    if (first) {
        return;
    }
    // IPVS's estimator: every 2 s, rate = delta / 2 s in fixed point (x1024), then an EWMA with
    // weight 1/4.
    auto step = [](RateState& r, const Stats& now_totals) {
        const Stats d = now_totals - r.last;
        auto upd = [](uint64_t& avg, uint64_t delta) {
            const int64_t rate = static_cast<int64_t>((delta << 10) / kEstimatorPeriodSec);
            avg = static_cast<uint64_t>(static_cast<int64_t>(avg) +
                                        ((rate - static_cast<int64_t>(avg)) >> 2));
        };
        upd(r.avg.cps, d.conns);
        upd(r.avg.inpps, d.inpkts);
        upd(r.avg.outpps, d.outpkts);
        upd(r.avg.inbps, d.inbytes);
        upd(r.avg.outbps, d.outbytes);
        r.last = now_totals;
    };
    for (const ServiceState& s : model_.services()) {
        step(svc_rate_[s.slot], service_totals(s.slot));
        for (uint32_t slot : s.dest_slots) {
            step(dest_rate_[slot], dest_totals(slot));
        }
    }
}

Status Control::open_socket() {
    const std::string& path = cfg_.control.socket;
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
    // Create the file with no access at all, then open it up to the configured mode.
    const mode_t old_mask = ::umask(0777);
    const int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::umask(old_mask);
    if (rc != 0) {
        return Status(Errc::Io, "bind " + path + ": " + std::strerror(errno));
    }
    if (!cfg_.control.group.empty()) {
        const group* g = ::getgrnam(cfg_.control.group.c_str());
        if (g == nullptr) {
            return Status(Errc::Invalid, "control.group: no group named " + cfg_.control.group);
        }
        if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
            return Status(Errc::Io, "chown " + path + ": " + std::strerror(errno));
        }
    }
    if (::chmod(path.c_str(), static_cast<mode_t>(cfg_.control.mode)) != 0) {
        return Status(Errc::Io, "chmod " + path + ": " + std::strerror(errno));
    }
    if (::listen(listen_fd_, 16) != 0) {
        return Status(Errc::Io, "listen " + path + ": " + std::strerror(errno));
    }
    return {};
}

void Control::close_socket() {
    for (Client& c : clients_) {
        ::close(c.fd);
    }
    clients_.clear();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        ::unlink(cfg_.control.socket.c_str());
    }
    slow_.clear();
}

void Control::run(const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed)) {
        poll(1);
    }
}

void Control::poll(int timeout_ms) {
    std::vector<pollfd> fds;
    fds.reserve(clients_.size() + 1);
    if (listen_fd_ >= 0) {
        fds.push_back({listen_fd_, POLLIN, 0});
    }
    for (const Client& c : clients_) {
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
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
    for (Client& c : clients_) {
        if (c.fd >= 0 && !c.held.empty()) {
            release_held(c);
            if (!c.out.empty()) {
                write_client(c);
            }
        }
    }
    std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
    slow_.poll();
    dp_.reclaim();
    run_estimator();
    // Dead persistence templates go in slices: 1024 entries a round, about a millisecond apart.
    dp_.persist().sweep(rte_rdtsc(), 1024, [this](uint32_t dest_slot) {
        // Pairs with the workers' increment when the template was bound.
        dp_.dest_counters()[dest_slot].persistent.fetch_sub(1, std::memory_order_relaxed);
    });
}

void Control::accept_clients() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (clients_.size() >= kMaxClients) {
            ::close(fd);
            continue;
        }
        clients_.push_back(Client{fd, {}, {}, {}, false});
    }
}

void Control::read_client(Client& c) {
    uint8_t buf[65536];
    bool eof = false;
    for (;;) {
        const ssize_t n = ::read(c.fd, buf, sizeof(buf));
        if (n > 0) {
            c.in.insert(c.in.end(), buf, buf + n);
            if (c.in.size() > kHeaderSize + kMaxPayload) {
                break;
            }
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
            ::close(c.fd);
            c.fd = -1;
            return;
        }
        break;
    }
    // Handle every complete frame, in order.
    while (!c.close_after_write && c.in.size() >= kHeaderSize) {
        auto h = decode_header(std::span<const uint8_t>(c.in.data(), kHeaderSize));
        Reply rep;
        if (!h || h->type != MsgType::Request) {
            rep.code = Errc::Protocol;
            rep.message = h ? "expected a request frame" : h.status().message();
            c.held.push_back({0, encode_reply(rep)});
            c.close_after_write = true;
            break;
        }
        if (c.in.size() < kHeaderSize + h->length) {
            break;
        }
        auto req = decode_request(std::span<const uint8_t>(c.in.data() + kHeaderSize, h->length));
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(kHeaderSize + h->length));
        if (!req) {
            rep.code = Errc::Protocol;
            rep.message = req.status().message();
            c.close_after_write = true;
        } else {
            rep = handle(*req);
        }
        // A change is reported once the workers have seen it; other replies keep their order.
        const uint64_t token =
            req && is_mutation(req->op) && rep.code == Errc::Ok ? dp_.last_token() : 0;
        c.held.push_back({token, encode_reply(rep)});
    }
    release_held(c);
    if (eof) {
        c.close_after_write = true;
    }
    if (!c.out.empty()) {
        write_client(c);
    } else if (c.close_after_write && c.held.empty()) {
        ::close(c.fd);
        c.fd = -1;
    }
}

void Control::release_held(Client& c) {
    while (!c.held.empty() && dp_.passed(c.held.front().token)) {
        c.out.insert(c.out.end(), c.held.front().bytes.begin(), c.held.front().bytes.end());
        c.held.pop_front();
    }
}

void Control::write_client(Client& c) {
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            c.out.erase(c.out.begin(), c.out.begin() + n);
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
