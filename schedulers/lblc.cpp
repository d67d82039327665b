// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/lblc.hpp"

#include "schedulers/shared.hpp"

namespace dirigo::sched {

namespace {

constexpr size_t kMaxIds = 65534;

}  // namespace

LocalityView make_locality_view(detail::BuildCtx& ctx) {
    CtlMemory& m = ctx.shared.ctl;
    size_t fresh = 0;
    for (const BackendSpec& b : ctx.backends) {
        fresh += m.id_of.count(detail::dest_key(b)) == 0 ? 1 : 0;
    }
    if (m.id_keys.size() + fresh > kMaxIds) {
        // Out of ids: start over with this list; older entries become unreadable.
        m.id_keys.clear();
        m.id_of.clear();
        ++m.epoch;
    }
    for (size_t i = 0; i < ctx.backends.size(); ++i) {
        const uint64_t key = detail::dest_key(ctx.backends[i]);
        auto it = m.id_of.find(key);
        if (it == m.id_of.end()) {
            it = m.id_of.emplace(key, static_cast<uint16_t>(m.id_keys.size())).first;
            m.id_keys.push_back(key);
        }
        ctx.dests[i].id = it->second;
    }
    LocalityView v;
    v.table = ctx.shared.locality.get();
    v.epoch = m.epoch;
    v.expire_ms = ctx.shared.opts.locality_expire_ms;
    v.idx_of.assign(m.id_keys.size(), kNoBackend);
    for (size_t i = 0; i < ctx.dests.size(); ++i) {
        v.idx_of[ctx.dests[i].id] = static_cast<BackendIdx>(i);
    }
    return v;
}

Result<LocalityLeastConnection::Table> LocalityLeastConnection::build(detail::BuildCtx& ctx) {
    return Table{make_locality_view(ctx)};
}

BackendIdx LocalityLeastConnection::pick(const Table& t, detail::Dests ds,
                                         const SchedInput& in) noexcept {
    const LocalityView& v = t.view;
    const uint64_t now = in.now_ms;
    LocEntry e;
    if (v.table->find(in.daddr, v.epoch, now, v.expire_ms, e)) {
        v.table->touch(e, now);
        const BackendIdx b = e.n > 0 ? v.index(e.m[0]) : kNoBackend;
        if (b != kNoBackend && detail::available(ds[b]) && !locality_overloaded(ds[b], ds)) {
            return b;
        }
    }
    const BackendIdx b = detail::pick_wlc(ds);
    if (b == kNoBackend) {
        return kNoBackend;
    }
    // ip_vs_lblc_new: an entry that already names this server is left alone.
    if (!(e.found && e.n > 0 && e.m[0] == ds[b].id)) {
        e.n = 1;
        e.m[0] = ds[b].id;
        e.lastmod = now;
        v.table->store(in.daddr, v.epoch, now, v.expire_ms, e);
    }
    return b;
}

}  // namespace dirigo::sched
