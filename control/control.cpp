// SPDX-License-Identifier: BSD-3-Clause
#include "control/control.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "control/snapshot_builder.hpp"
#include "dataplane/log.hpp"

namespace dirigo::ctl {

Control::Control(dp::Dataplane& dp, const cfg::Config& cfg)
    : dp_(dp),
      cfg_(cfg),
      model_(dp.dest_counters(), dp::kMaxServices, dp::kMaxDests),
      slow_(dp, cfg.dataplane.arp_timeout),
      counters_(dp),
      views_(dp, model_, counters_, slow_),
      server_(cfg.control, dp, [this](const Request& req) { return submit(req); }),
      sync_(dp),
      defense_modes_(initial_modes(cfg.defense)) {}

Control::~Control() {
    close_socket();
}

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
    for (const cfg::MarkRule& m : cfg_.marks) {
        Request add_mark;
        add_mark.op = Op::AddMark;
        add_mark.mark = m;
        batch.batch.push_back(add_mark);
    }
    Reply r = handle(batch);
    if (r.code != Errc::Ok) {
        return Status(r.code, "services in the config: " + r.message);
    }
    return {};
}

Status Control::open_socket() {
    return server_.open();
}

void Control::close_socket() {
    server_.close();
    slow_.clear();
}

std::shared_ptr<WorkerJob> Control::start_job(std::vector<std::unique_ptr<dp::Command>> cmds) {
    auto job = std::make_shared<WorkerJob>(dp_, std::move(cmds));
    job->poll();
    if (!job->done()) {
        jobs_.push_back(job);
    }
    return job;
}

void Control::poll_jobs() {
    // A job whose client left stays here until its workers are done with its commands.
    std::erase_if(
        jobs_, [](const std::shared_ptr<WorkerJob>& j) { return j->poll() && j.use_count() == 1; });
}

HeldReply Control::change(const Request& req) {
    HeldReply held;
    Reply& rep = held.reply;
    // One transaction: a failure anywhere drops the prepared change and nothing was touched.
    Result<ModelStore::Change> next = model_.prepare(req);
    if (!next) {
        rep.code = next.status().code();
        rep.message = next.status().message();
        return held;
    }
    auto snap = build_snapshot(*next, dp_);
    if (!snap) {
        rep.code = snap.status().code();
        rep.message = snap.status().message();
        return held;
    }
    // Slots handed out by this change start from zero in every view.
    counters_.reset(next->fresh_dest, next->fresh_svc);
    model_.commit(std::move(*next));
    dp_.publish(std::move(*snap));
    ++generation_;
    held.token = dp_.last_token();
    // IPVS's expire_nodest_conn: connections of removed servers end now, on their own workers;
    // the reply waits for them as for the token.
    if (cfg_.dataplane.expire_nodest_conn && !model_.removed_dest_slots().empty()) {
        std::vector<std::unique_ptr<dp::Command>> cmds;
        for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
            auto c = std::make_unique<dp::Command>();
            c->kind = dp::CommandKind::ExpireDests;
            c->slots = model_.removed_dest_slots();
            cmds.push_back(std::move(c));
        }
        held.job = start_job(std::move(cmds));
    }
    return held;
}

Reply Control::zero(const Request& req) {
    Reply rep;
    bool found = !req.has_key;
    for (const ServiceState& s : model_.services()) {
        if (req.has_key && !(s.svc.key == req.service.key)) {
            continue;
        }
        found = true;
        counters_.zero(s);
    }
    if (!found) {
        rep.code = Errc::NoService;
        rep.message = "Service not defined";
    }
    return rep;
}

Reply Control::daemon(const Request& req) {
    Reply rep;
    const bool master = req.daemon.role == SyncRole::Master;
    const Status st = req.op == Op::StartDaemon ? sync_.start(req.daemon)
                                                : sync_.stop(req.daemon.role);
    if (!st) {
        rep.code = st.code();
        rep.message = st.message();
        return rep;
    }
    if (master) {
        // Workers start or stop queueing records with the snapshot that carries the flag.
        republish();
    }
    return rep;
}

HeldReply Control::submit(const Request& req) {
    if (!is_known(req.op)) {
        HeldReply held;
        held.reply.code = Errc::Invalid;
        held.reply.message = "unknown operation";
        return held;
    }
    if (is_mutation(req.op)) {
        return change(req);
    }
    // The read-only operations: one handler each.
    HeldReply held;
    Reply& rep = held.reply;
    switch (req.op) {
        case Op::Ping:
            rep.info.version = DIRIGO_VERSION;
            rep.info.conn_table_size = dp_.conn_table_size();
            rep.info.workers = dp_.n_workers();
            break;
        case Op::Version:
            rep.info.version = DIRIGO_VERSION;
            break;
        case Op::GetTimeouts:
            rep.timeouts = model_.timeouts();
            break;
        case Op::Zero:
            rep = zero(req);
            break;
        case Op::List:
            views_.services(req, rep);
            break;
        case Op::ListConns:
            held.job = start_job(views_.conn_commands());
            held.finish = [this](const WorkerJob& job, Reply& r) { views_.conns(job, r); };
            break;
        case Op::ListPorts:
            views_.ports(rep);
            break;
        case Op::ListWorkers:
            views_.workers(rep);
            break;
        case Op::ListNeighbours:
            views_.neighbours(rep);
            break;
        case Op::ListRoutes:
            views_.routes(rep);
            break;
        case Op::ListMarks:
            rep.marks = model_.marks();
            break;
        case Op::StartDaemon:
        case Op::StopDaemon:
            rep = daemon(req);
            break;
        case Op::ListDaemons:
            rep.daemons = sync_.views();
            break;
        default:
            rep.code = Errc::Invalid;
            rep.message = "not a query: " + std::string(op_name(req.op));
            break;
    }
    return held;
}

Reply Control::handle(const Request& req) {
    HeldReply held = submit(req);
    // Tests and start-up only: the socket never waits here.
    while (held.job != nullptr && !held.job->poll() && !held.job->timed_out()) {
        rte_pause();
    }
    return Server::complete(held);
}

void Control::run(const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed)) {
        poll(1);
    }
}

void Control::republish() {
    Request none;
    none.op = Op::Batch;  // an empty change: the same rules, built again with the new topology
    Result<ModelStore::Change> next = model_.prepare(none);
    if (!next) {
        return;
    }
    auto snap = build_snapshot(*next, dp_);
    if (!snap) {
        DIRIGO_LOG(ERR, "cannot publish the new topology: %s", snap.status().message().c_str());
        return;
    }
    model_.commit(std::move(*next));
    dp_.publish(std::move(*snap));
}

void Control::update_defense_level(bool force) {
    const uint64_t now = rte_rdtsc();
    if (now < next_defense_ && !force) {
        return;
    }
    // IPVS evaluates once a second; a table fills faster than that under a flood (1,024 entries in
    // half a second on the test rig), so Dirigo looks ten times a second. One relaxed load per
    // worker; a snapshot only when the level changed.
    next_defense_ = now + rte_get_tsc_hz() * kDefensePeriodMs / 1000;
    uint32_t free_entries = UINT32_MAX;
    const uint64_t cap = dp_.conn_table_size();
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        const uint64_t used = dp_.worker(w).stats().live_conns.load(std::memory_order_relaxed);
        const uint64_t f = used >= cap ? 0 : cap - used;
        free_entries = std::min<uint32_t>(free_entries, static_cast<uint32_t>(f));
    }
    const DefenseModes before = defense_modes_;
    const dp::DefenseParams next = update_defense(cfg_.defense, defense_modes_, free_entries);
    const dp::DefenseParams& prev = dp_.defense();
    const bool publish = !(next == prev);
    // Said when a strategy turns on or off (not for each new automatic drop_packet rate, which
    // may move ten times a second while the table fills).
    const bool switched = !(before == defense_modes_) || next.drop_entry != prev.drop_entry ||
                          next.secure_tcp != prev.secure_tcp || next.syn_proxy != prev.syn_proxy ||
                          (next.drop_rate != 0) != (prev.drop_rate != 0);
    if (switched) {
        DIRIGO_LOG(NOTICE,
                   "flood defence: drop_entry %u, drop_packet %u (rate %u), secure_tcp %u, "
                   "syn_proxy %u; %u free entries in the fullest table (amemthresh %u)",
                   defense_modes_.drop_entry, defense_modes_.drop_packet, next.drop_rate,
                   defense_modes_.secure_tcp, defense_modes_.syn_proxy, free_entries,
                   cfg_.defense.amemthresh);
    }
    if (publish) {
        dp_.set_defense(next);
        republish();
    }
}

void Control::poll(int timeout_ms) {
    poll_jobs();
    // While the exception path carries traffic the round does not wait for the socket.
    server_.poll(host_busy_ || sync_busy_ ? 0 : timeout_ms);
    slow_.poll();
    if (host_ != nullptr) {
        bool changed = false;
        host_busy_ = host_->poll(slow_, changed) != 0;
        if (changed) {
            republish();
        }
    }
    sync_busy_ = sync_.running() && sync_.poll() != 0;
    update_defense_level();
    dp_.reclaim();
    counters_.estimate(model_.services());
    // Dead persistence templates go in slices: 1024 entries a round, about a millisecond apart.
    dp_.persist().sweep(rte_rdtsc(), 1024, [this](uint32_t dest_slot) {
        // Pairs with the workers' increment when the template was bound.
        dp_.dest_counters()[dest_slot].persistent.fetch_sub(1, std::memory_order_relaxed);
    });
    for (const auto& hook : round_hooks_) {
        hook();
    }
}

}  // namespace dirigo::ctl
