// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/lblcr.hpp"

namespace dirigo::sched {

namespace {

/// ip_vs_dest_set_min: the weighted least-connection member. Members that left the list count
/// as unavailable.
BackendIdx set_min(const LocEntry& e, const LocalityView& v, detail::Dests ds) noexcept {
    BackendIdx least = kNoBackend;
    int64_t loh = 0;
    int64_t lw = 0;
    for (uint32_t i = 0; i < e.n; ++i) {
        const BackendIdx b = v.index(e.m[i]);
        if (b == kNoBackend || detail::overload_flag(ds[b])) {
            continue;
        }
        const detail::DestRef& d = ds[b];
        if (least == kNoBackend) {
            if (d.weight > 0) {
                least = b;
                loh = detail::conn_overhead(d);
                lw = d.weight;
            }
            continue;
        }
        const int64_t doh = detail::conn_overhead(d);
        if (loh * d.weight > doh * lw) {
            least = b;
            loh = doh;
            lw = d.weight;
        }
    }
    return least;
}

/// ip_vs_dest_set_max: position in e.m of the weighted most-connection member, or -1.
int set_max(const LocEntry& e, const LocalityView& v, detail::Dests ds) noexcept {
    int most = -1;
    int64_t moh = 0;
    int64_t mw = 0;
    for (uint32_t i = 0; i < e.n; ++i) {
        const BackendIdx b = v.index(e.m[i]);
        if (b == kNoBackend || ds[b].weight <= 0) {
            continue;
        }
        const int64_t doh = detail::conn_overhead(ds[b]);
        if (most < 0 || moh * ds[b].weight < doh * mw) {
            most = static_cast<int>(i);
            moh = doh;
            mw = ds[b].weight;
        }
    }
    return most;
}

/// Drops members that are no longer in the list.
void purge_absent(LocEntry& e, const LocalityView& v) noexcept {
    for (uint32_t i = e.n; i > 0; --i) {
        if (v.index(e.m[i - 1]) == kNoBackend) {
            e.erase(i - 1);
        }
    }
}

}  // namespace

Result<LocalityLeastConnectionReplicated::Table> LocalityLeastConnectionReplicated::build(
    detail::BuildCtx& ctx) {
    return Table{make_locality_view(ctx)};
}

BackendIdx LocalityLeastConnectionReplicated::pick(const Table& t, detail::Dests ds,
                                                   const SchedInput& in) noexcept {
    const LocalityView& v = t.view;
    const uint64_t now = in.now_ms;
    LocEntry e;
    if (!v.table->find(in.daddr, v.epoch, now, v.expire_ms, e)) {
        // No (live) entry: wlc, and a new one-member set.
        const BackendIdx b = detail::pick_wlc(ds);
        if (b == kNoBackend) {
            return kNoBackend;
        }
        e.n = 1;
        e.m[0] = ds[b].id;
        e.lastmod = now;
        v.table->store(in.daddr, v.epoch, now, v.expire_ms, e);
        return b;
    }
    v.table->touch(e, now);
    BackendIdx b = set_min(e, v, ds);
    bool dirty = false;
    // More than one member and unchanged for the expiration time: drop the most loaded.
    if (e.n > 1 && now > e.lastmod && now - e.lastmod > v.expire_ms) {
        const int m = set_max(e, v, ds);
        if (m >= 0) {
            e.erase(static_cast<uint32_t>(m));
            e.lastmod = now;
            dirty = true;
        }
    }
    if (b == kNoBackend || locality_overloaded(ds[b], ds)) {
        b = detail::pick_wlc(ds);
        // ip_vs_dest_set_insert(check = true): a member already in the set is not re-added.
        if (b != kNoBackend && e.find(ds[b].id) < 0) {
            purge_absent(e, v);
            e.push_front(ds[b].id);
            e.lastmod = now;
            dirty = true;
        }
    }
    if (dirty) {
        purge_absent(e, v);
        v.table->store(in.daddr, v.epoch, now, v.expire_ms, e);
    }
    return b;
}

}  // namespace dirigo::sched
