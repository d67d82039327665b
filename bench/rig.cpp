// SPDX-License-Identifier: BSD-3-Clause
#include "bench/rig.hpp"

#include <unistd.h>

#include <cstring>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "config/config.hpp"

namespace dirigo::bench {

std::unique_ptr<Rig> Rig::create(uint32_t table_size, double preempt_us, std::string& err,
                                 uint32_t workers, bool ip6) {
    static int seq = 0;
    ++seq;
    if (workers == 0 || workers > kMaxRigWorkers || rte_lcore_count() < workers + 1) {
        err = std::to_string(workers) + " workers: needs 1 to " + std::to_string(kMaxRigWorkers) +
              " and that many lcores besides the main one (" + std::to_string(rte_lcore_count()) +
              " lcores)";
        return nullptr;
    }
    std::unique_ptr<Rig> r(new Rig());
    r->workers_ = workers;
    r->ip6_ = ip6;
    for (uint32_t w = 0; w < workers; ++w) {
        r->clock_[w] = std::make_unique<LoopClock>();
        r->clock_[w]->limit =
            static_cast<uint64_t>(preempt_us * 1e-6 * static_cast<double>(rte_get_tsc_hz()));
    }
    cfg::Config cfg;
    cfg.host.kernel_interfaces = false;  // in-process: no net_tap interfaces
    cfg.dataplane.conn_table_size = table_size;
    cfg.dataplane.mbufs = 8191;
    const char* names[2] = {"ext", "int"};
    for (int i = 0; i < 2; ++i) {
        // 60 bytes in the mbuf: a 64-byte frame on the wire (IPv6: 74, the smallest IPv6 TCP
        // frame). copy=1: RX writes the frame into each mbuf and TX reads it, as a NIC's DMA
        // would touch them.
        const std::string dev = "net_null_b" + std::to_string(seq) + names[i];
        const std::string args = ip6 ? "copy=1,size=74" : "copy=1,size=60";
        static_assert(kTcpFrameMin6 == 74);
        if (int rc = rte_vdev_init(dev.c_str(), args.c_str()); rc != 0) {
            err = "rte_vdev_init " + dev + " failed (" + std::to_string(rc) + ")";
            return nullptr;
        }
        r->vdev_[i] = dev;
        uint16_t pid = 0;
        if (rte_eth_dev_get_port_by_name(dev.c_str(), &pid) != 0) {
            err = "no port for " + dev;
            return nullptr;
        }
        r->port_[i] = pid;
        cfg::PortCfg pc;
        pc.name = names[i];
        pc.device = dev;
        cfg.ports.push_back(pc);
    }
    cfg.ports[kExt].addresses = {{kExtAddr, 24}, {kVip, 32}};
    cfg.ports[kInt].addresses = {{kIntAddr, 24}};
    cfg.routes.push_back({{0, 0}, kGateway});
    if (ip6) {
        auto p6 = [](const Addr6& a, uint8_t len) {
            cfg::Prefix6 p;
            std::memcpy(p.addr.b.data(), a.data(), 16);
            p.len = len;
            return p;
        };
        cfg.ports[kExt].addresses6 = {p6(kExtAddr6, 64)};
        cfg.ports[kInt].addresses6 = {p6(kIntAddr6, 64)};
        cfg.routes6.push_back({cfg::Prefix6{}, p6(kGateway6, 128).addr});
    }
    auto d = dp::Dataplane::create(cfg, workers);
    if (!d) {
        err = "Dataplane::create: " + d.status().message();
        return nullptr;
    }
    r->dp_ = std::move(*d);
    r->ctl_ = std::make_unique<ctl::Control>(*r->dp_, cfg);
    if (Status s = r->ctl_->load_initial(); !s) {
        err = "load_initial: " + s.message();
        return nullptr;
    }
    for (int i = 0; i < 2; ++i) {
        r->mac_[i] = r->dp_->topology()->ports[r->port_[i]].mac;
        for (uint32_t w = 0; w < workers; ++w) {
            r->src_[i][w] = std::make_unique<FrameSource>(*r->clock_[w]);
            if (!r->src_[i][w]->attach(r->port_[i], static_cast<uint16_t>(w))) {
                err =
                    "rte_eth_add_rx_callback failed (DPDK built without RX/TX callbacks, or "
                    "fewer RX queues than workers?)";
                return nullptr;
            }
        }
    }
    return r;
}

Rig::~Rig() {
    (void)close();
}

unsigned Rig::worker_lcore() const {
    return rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
}

bool Rig::add_service(const std::string& sched, std::string& err) {
    ctl::Request batch;
    batch.op = ctl::Op::Batch;
    ctl::Request svc;
    svc.op = ctl::Op::AddService;
    svc.service.key = {cfg::Proto::Tcp, kVip, kPort};
    if (ip6_) {
        svc.service.key.addr = 0;
        svc.service.key.af = cfg::Family::Inet6;
        std::memcpy(svc.service.key.addr6.b.data(), kVip6.data(), 16);
    }
    svc.service.scheduler = sched;
    batch.batch.push_back(svc);
    for (uint32_t i = 0; i < kRealServers; ++i) {
        ctl::Request d;
        d.op = ctl::Op::AddDest;
        d.service.key = svc.service.key;
        d.dest = {kRsBase + i, kPort, cfg::Fwd::Masq, 1, 0, 0};
        if (ip6_) {
            d.dest.addr = 0;
            d.dest.af = cfg::Family::Inet6;
            const Addr6 a = rs_addr6(i);
            std::memcpy(d.dest.addr6.b.data(), a.data(), 16);
        }
        batch.batch.push_back(d);
    }
    const ctl::Reply rep = ctl_->handle(batch);
    if (rep.code != Errc::Ok) {
        err = "add service (" + sched + "): " + rep.message;
        return false;
    }
    return true;
}

bool Rig::resolve(std::string& err) {
    std::vector<FrameBytes> asks;
    if (ip6_) {
        src_[kExt][0]->script({neighbour_solicitation(kGwMac, kGateway6, kExtAddr6)});
        for (uint32_t i = 0; i < kRealServers; ++i) {
            asks.push_back(neighbour_solicitation(rs_mac(i), rs_addr6(i), kIntAddr6));
        }
    } else {
        src_[kExt][0]->script(
            {arp_request(kGwMac, rte_cpu_to_be_32(kGateway), rte_cpu_to_be_32(kExtAddr))});
        for (uint32_t i = 0; i < kRealServers; ++i) {
            asks.push_back(
                arp_request(rs_mac(i), rte_cpu_to_be_32(kRsBase + i), rte_cpu_to_be_32(kIntAddr)));
        }
    }
    src_[kInt][0]->script(std::move(asks));
    dp_->worker(0).poll_once();
    ctl_->slow_path().poll();
    for (uint32_t w = 0; w < workers_; ++w) {
        src_[kExt][w]->off();
        src_[kInt][w]->off();
    }
    dp_->worker(0).poll_once();
    rte_ether_addr mac;
    bool ok = true;
    if (ip6_) {
        ok = dp_->neigh6().lookup(kGateway6.data(), &mac);
        for (uint32_t i = 0; i < kRealServers; ++i) {
            ok = ok && dp_->neigh6().lookup(rs_addr6(i).data(), &mac);
        }
    } else {
        ok = dp_->neigh().lookup(rte_cpu_to_be_32(kGateway), &mac);
        for (uint32_t i = 0; i < kRealServers; ++i) {
            ok = ok && dp_->neigh().lookup(rte_cpu_to_be_32(kRsBase + i), &mac);
        }
    }
    if (!ok) {
        err = "neighbours not resolved";
    }
    return ok;
}

bool Rig::set_sync_master(bool on, std::string& err) {
    dp::SyncParams p = dp_->sync();
    p.master = on;
    dp_->set_sync(p);
    ctl::Request none;
    none.op = ctl::Op::SetTimeouts;
    none.timeouts = {0, 0, 0};  // a zero field leaves that timeout unchanged: only republishes
    const ctl::Reply rep = ctl_->handle(none);
    if (rep.code != Errc::Ok) {
        err = "republish (sync master " + std::string(on ? "on" : "off") + "): " + rep.message;
        return false;
    }
    if (dp_->current().sync.master != on) {
        err = "the published snapshot does not carry the sync master flag";
        return false;
    }
    return true;
}

bool Rig::launch(std::string& err) {
    if (Status s = dp_->launch(); !s) {
        err = "launch: " + s.message();
        return false;
    }
    launched_ = true;
    return true;
}

void Rig::stop() {
    if (launched_) {
        dp_->stop();
        launched_ = false;
    }
}

bool Rig::run_until_done(double timeout_s, std::string& err) {
    if (!launch(err)) {
        return false;
    }
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(timeout_s * static_cast<double>(hz));
    bool ok = false;
    while (rte_rdtsc() < end) {
        bool done = true;
        for (uint32_t w = 0; w < workers_; ++w) {
            done = done && src_[kExt][w]->done() && src_[kInt][w]->done();
        }
        if (done) {
            // Relaxed loads of each worker's loop counter: two more loops and every packet it
            // received has been sent (the TX flush ends each loop).
            for (uint32_t w = 0; w < workers_; ++w) {
                const dp::WorkerStats& st = dp_->worker(w).stats();
                const uint64_t mark = st.loops.load(std::memory_order_relaxed);
                while (st.loops.load(std::memory_order_relaxed) < mark + 2 && rte_rdtsc() < end) {
                    usleep(100);
                }
            }
            ok = true;
            break;
        }
        usleep(1000);
    }
    stop();
    if (!ok) {
        err = "traffic did not finish in time";
    }
    return ok;
}

uint32_t Rig::close() {
    if (closed_ || !dp_) {
        return leaked_;
    }
    closed_ = true;
    stop();
    for (auto& port : src_) {
        for (auto& s : port) {
            if (s) {
                s->detach();
            }
        }
    }
    ctl_.reset();
    leaked_ = dp_->shutdown();
    dp_.reset();
    for (const std::string& v : vdev_) {
        if (!v.empty()) {
            (void)rte_vdev_uninit(v.c_str());
        }
    }
    return leaked_;
}

}  // namespace dirigo::bench
