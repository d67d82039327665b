// SPDX-License-Identifier: BSD-3-Clause
#include "control/counters.hpp"

#include <rte_cycles.h>

namespace dirigo::ctl {
namespace {

constexpr uint64_t kEstimatorPeriodSec = 2;

Stats operator-(const Stats& a, const Stats& b) {
    return {a.conns - b.conns, a.inpkts - b.inpkts, a.outpkts - b.outpkts, a.inbytes - b.inbytes,
            a.outbytes - b.outbytes};
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

Rates unscale(const Rates& r) {
    auto u = [](uint64_t v) { return (v + 0x1ff) >> 10; };
    return {u(r.cps), u(r.inpps), u(r.outpps), u(r.inbps), u(r.outbps)};
}

}  // namespace

Counters::Counters(dp::Dataplane& dp)
    : dp_(dp),
      dest_base_(dp::kMaxDests),
      svc_base_(dp::kMaxServices),
      dest_rate_(dp::kMaxDests),
      svc_rate_(dp::kMaxServices) {}

void Counters::reset(std::span<const uint32_t> dest_slots, std::span<const uint32_t> svc_slots) {
    for (uint32_t slot : dest_slots) {
        dest_base_[slot] = dest_totals(slot);
        dest_rate_[slot] = RateState{dest_base_[slot], {}};
    }
    for (uint32_t slot : svc_slots) {
        svc_base_[slot] = service_totals(slot);
        svc_rate_[slot] = RateState{svc_base_[slot], {}};
    }
}

void Counters::zero(const ServiceState& s) {
    const uint32_t svc[] = {s.slot};
    reset(s.dest_slots, svc);
}

Stats Counters::dest(uint32_t slot) const {
    return dest_totals(slot) - dest_base_[slot];
}

Stats Counters::service(uint32_t slot) const {
    return service_totals(slot) - svc_base_[slot];
}

Rates Counters::dest_rates(uint32_t slot) const {
    return unscale(dest_rate_[slot].avg);
}

Rates Counters::service_rates(uint32_t slot) const {
    return unscale(svc_rate_[slot].avg);
}

Stats Counters::dest_totals(uint32_t slot) const {
    Stats s;
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        add(s, read(dp_.worker(w).stats().dest[slot]));
    }
    return s;
}

Stats Counters::service_totals(uint32_t slot) const {
    Stats s;
    for (uint32_t w = 0; w < dp_.n_workers(); ++w) {
        add(s, read(dp_.worker(w).stats().svc[slot]));
    }
    return s;
}

void Counters::estimate(const std::vector<ServiceState>& services) {
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
    for (const ServiceState& s : services) {
        step(svc_rate_[s.slot], service_totals(s.slot));
        for (uint32_t slot : s.dest_slots) {
            step(dest_rate_[slot], dest_totals(slot));
        }
    }
}

}  // namespace dirigo::ctl
