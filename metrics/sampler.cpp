// SPDX-License-Identifier: BSD-3-Clause
#include "metrics/sampler.hpp"

#include <atomic>
#include <utility>

#include "dataplane/stats.hpp"

namespace dirigo::metrics {

Sample sample(ctl::Control& control, const dp::Dataplane& dp) {
    Sample s;
    s.version = DIRIGO_VERSION;
    s.conn_table_size = dp.conn_table_size();
    ctl::Request req;
    req.op = ctl::Op::List;
    s.services = control.handle(req).services;
    req.op = ctl::Op::ListPorts;
    ctl::Reply ports = control.handle(req);
    s.ports = std::move(ports.ports);
    s.drops = std::move(ports.drops);
    req.op = ctl::Op::ListWorkers;
    s.workers = control.handle(req).workers;
    // The director's totals: every service slot on every worker, without the baselines that -Z
    // and slot reuse move, so they only ever grow. Relaxed loads pair with the workers'
    // single-writer relaxed stores (dp::bump).
    for (uint32_t w = 0; w < dp.n_workers(); ++w) {
        const dp::TrafficStats* t = dp.worker(w).stats().svc.get();
        for (uint32_t slot = 0; slot < dp::kMaxServices; ++slot) {
            s.totals.conns += t[slot].conns.load(std::memory_order_relaxed);
            s.totals.inpkts += t[slot].inpkts.load(std::memory_order_relaxed);
            s.totals.outpkts += t[slot].outpkts.load(std::memory_order_relaxed);
            s.totals.inbytes += t[slot].inbytes.load(std::memory_order_relaxed);
            s.totals.outbytes += t[slot].outbytes.load(std::memory_order_relaxed);
        }
    }
    // The exception path (docs/host-integration.md): packets up to and down from the ports'
    // kernel interfaces, summed over the ports, and its drops (also in dirigo_drops_total).
    uint64_t up = 0;
    uint64_t down = 0;
    for (const ctl::PortView& p : s.ports) {
        up += p.to_kernel;
        down += p.from_kernel;
    }
    s.exception_path.counters.push_back({"to_kernel_packets", up});
    s.exception_path.counters.push_back({"from_kernel_packets", down});
    for (const ctl::DropView& d : s.drops) {
        if (d.reason.starts_with("host_")) {
            s.exception_path.counters.push_back({d.reason.substr(5) + "_drops", d.count});
        }
    }
    // Connection sync: the workers' records, then what the daemons did.
    uint64_t w_sums[7] = {};
    for (uint32_t w = 0; w < dp.n_workers(); ++w) {
        const dp::WorkerStats& st = dp.worker(w).stats();
        const std::atomic<uint64_t>* c[7] = {&st.sync_queued,    &st.sync_lost,
                                             &st.sync_installed, &st.sync_updated,
                                             &st.sync_templates, &st.sync_no_service,
                                             &st.sync_table_full};
        for (int i = 0; i < 7; ++i) {
            w_sums[i] += c[i]->load(std::memory_order_relaxed);
        }
    }
    const char* w_names[7] = {"queued_records",    "lost_records",     "installed_conns",
                              "updated_conns",     "installed_templates", "no_service_records",
                              "table_full_records"};
    for (int i = 0; i < 7; ++i) {
        s.sync.push_back({w_names[i], w_sums[i]});
    }
    uint64_t d[6] = {};
    for (const ctl::DaemonView& v : control.sync().views()) {
        const int o = v.cfg.role == ctl::SyncRole::Master ? 0 : 3;
        d[o] = v.messages;
        d[o + 1] = v.conns;
        d[o + 2] = v.dropped;
    }
    const char* d_names[6] = {"sent_messages",     "sent_conns",     "master_dropped",
                              "received_messages", "received_conns", "backup_dropped"};
    for (int i = 0; i < 6; ++i) {
        s.sync.push_back({d_names[i], d[i]});
    }
    return s;
}

}  // namespace dirigo::metrics
