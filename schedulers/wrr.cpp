// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/wrr.hpp"

#include <algorithm>
#include <numeric>
#include <span>
#include <unordered_set>

#include "schedulers/shared.hpp"

namespace dirigo::sched {

namespace {

/// IPVS's cw for the last pick, from a cursor value written under the previous plan.
int32_t decode_cw(const CtlMemory& m, uint64_t cur) {
    if (m.wrr_direct) {
        return static_cast<int32_t>((cur >> 32) & 0x7fffffffu);
    }
    if (cur & WeightedRoundRobin::kFresh) {
        return m.wrr_cw_set;  // no pick since control set it
    }
    const uint64_t pos = cur & 0xffffffffu;
    if (pos == 0 || m.wrr_round_start.empty()) {
        return m.wrr_mw;
    }
    // The pass holding the entry last picked (index pos - 1).
    const auto it = std::upper_bound(m.wrr_round_start.begin(), m.wrr_round_start.end(),
                                     static_cast<uint32_t>(pos - 1));
    const size_t r = static_cast<size_t>(it - m.wrr_round_start.begin()) - 1;
    return m.wrr_round_cw[r];
}

/// IPVS's mark->mw and mark->di for a set of weights, built up one server at a time.
struct Marks {
    int32_t g = 0;     ///< gcd of the positive weights so far (0: none)
    int32_t maxw = 0;  ///< largest weight so far

    void add(int32_t w) {
        if (w > 0) {
            g = g > 0 ? std::gcd(g, w) : w;
        }
        maxw = std::max(maxw, w);
    }
    int32_t di() const { return g > 0 ? g : 1; }
    int32_t mw() const { return maxw - (di() - 1); }

    /// What ip_vs_wrr_dest_changed does to cw for a list with these weights.
    int32_t dest_changed(int32_t cw) const {
        if (cw > mw() || cw == 0) {
            return mw();
        }
        return di() > 1 ? (cw / di()) * di() + 1 : cw;
    }
};

/// IPVS's cw after the change from the previous build to `bs`, replayed the way the kernel sees
/// it: `ipvsadm -a` puts each new server at the list head and calls dest_changed, so a list
/// control hands over in one build (a config file, an -R batch) has had one dest_changed per
/// server, oldest (tail) first. Servers that stay, with their new weights, count as one
/// del_dest/upd_dest step first. A fresh state starts as ip_vs_wrr_init_svc leaves an empty
/// service: cw 0.
int32_t replay_cw(std::span<const BackendSpec> bs, const CtlMemory& m, int32_t cw) {
    std::unordered_set<uint64_t> before;
    if (m.built) {
        before.insert(m.keys.begin(), m.keys.end());
    }
    Marks marks;
    for (const BackendSpec& b : bs) {
        if (before.contains(detail::dest_key(b))) {
            marks.add(b.weight);
        }
    }
    if (m.built) {
        cw = marks.dest_changed(cw);
    }
    for (size_t i = bs.size(); i-- > 0;) {
        if (!before.contains(detail::dest_key(bs[i]))) {
            marks.add(bs[i].weight);
            cw = marks.dest_changed(cw);
        }
    }
    return cw;
}

}  // namespace

Result<WeightedRoundRobin::Table> WeightedRoundRobin::build(detail::BuildCtx& ctx) {
    SchedShared& sh = ctx.shared;
    const auto& bs = ctx.backends;
    Marks all;
    for (const BackendSpec& b : bs) {
        all.add(b.weight);
    }
    Table t;
    t.cursor = &sh.cursor;
    t.di = all.di();
    t.mw = all.mw();
    uint64_t period = 0;
    for (const BackendSpec& b : bs) {
        if (b.weight > 0) {
            period += static_cast<uint64_t>(b.weight / t.di);
        }
    }
    std::vector<uint32_t> round_start;
    std::vector<int32_t> round_cw;
    if (t.mw > 0) {
        if (period <= sh.opts.wrr_max_table) {
            t.seq.reserve(period);
            for (int32_t cw = t.mw; cw > 0; cw -= t.di) {
                round_start.push_back(static_cast<uint32_t>(t.seq.size()));
                round_cw.push_back(cw);
                for (uint32_t j = 0; j < bs.size(); ++j) {
                    if (bs[j].weight >= cw) {
                        t.seq.push_back(static_cast<BackendIdx>(j));
                    }
                }
            }
        } else {
            t.direct = true;
        }
    }

    CtlMemory& m = sh.ctl;
    const bool first = !m.built;
    if (first || !(ctx.same_servers && ctx.same_weights)) {
        // Relaxed: control's read; see rr.cpp.
        const int32_t before = first ? 0 : decode_cw(m, sh.cursor.load(std::memory_order_relaxed));
        // The walk restarts at the list head (mark->cl = head) with IPVS's cw.
        const int32_t cw = replay_cw(bs, m, before);
        uint64_t next = kFresh;
        if (t.direct) {
            next = pack(cw, 0);
        } else {
            // Restart at the list head within pass cw: the first entry of that pass.
            for (size_t r = 0; r < round_cw.size(); ++r) {
                if (round_cw[r] <= cw) {
                    next |= round_start[r];
                    break;
                }
            }
        }
        sh.cursor.store(next, std::memory_order_relaxed);
        m.wrr_cw_set = cw;
    }
    m.wrr_direct = t.direct;
    m.wrr_mw = t.mw;
    m.wrr_round_start = std::move(round_start);
    m.wrr_round_cw = std::move(round_cw);
    return t;
}

bool WeightedRoundRobin::any_available(detail::Dests ds) noexcept {
    for (uint32_t i = 0; i < ds.n; ++i) {
        if (detail::available(ds[i])) {
            return true;
        }
    }
    return false;
}

BackendIdx WeightedRoundRobin::pick_direct(const Table& t, detail::Dests ds) noexcept {
    const uint32_t n = ds.n;
    // Enough passes to cover a whole period from any starting point.
    const uint32_t passes = static_cast<uint32_t>(t.mw / t.di) + 2;
    // Relaxed load and CAS: see rr.hpp.
    uint64_t cur = t.cursor->load(std::memory_order_relaxed);
    for (;;) {
        int32_t cw = static_cast<int32_t>((cur >> 32) & 0x7fffffffu);
        uint32_t pos = static_cast<uint32_t>(cur);
        if (cw <= 0 || cw > t.mw) {
            // A value from another plan (e.g. the previous snapshot's table mode): new pass.
            cw = t.mw;
            pos = 0;
        }
        uint32_t found = kNoBackend;
        for (uint32_t p = 0; p < passes && found == kNoBackend; ++p) {
            for (uint32_t j = pos; j < n; ++j) {
                if (ds[j].weight >= cw && !detail::overload_flag(ds[j])) {
                    found = j;
                    break;
                }
            }
            if (found != kNoBackend) {
                break;
            }
            if (p == 0 && !any_available(ds)) {
                return kNoBackend;
            }
            pos = 0;
            cw -= t.di;
            if (cw <= 0) {
                cw = t.mw;
            }
        }
        if (found == kNoBackend) {
            return kNoBackend;
        }
        if (t.cursor->compare_exchange_weak(cur, pack(cw, found + 1), std::memory_order_relaxed)) {
            return static_cast<BackendIdx>(found);
        }
    }
}

}  // namespace dirigo::sched
