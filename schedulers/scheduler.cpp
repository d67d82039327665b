// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/scheduler.hpp"

#include <string>
#include <utility>

#include "schedulers/dispatch.hpp"
#include "schedulers/shared.hpp"

namespace dirigo::sched {

namespace {

template <size_t I>
Status build_as(detail::BuildCtx& ctx, Scheduler::Impl& im) {
    Result<typename PolicyAt<I>::Table> t = PolicyAt<I>::build(ctx);
    if (!t) {
        return t.status();
    }
    im.table.template emplace<I>(std::move(*t));
    return Status::ok();
}

/// Builds the table of SchedKind(k) into alternative k of the variant (see dispatch.hpp).
template <size_t... I>
Status build_table(size_t k, detail::BuildCtx& ctx, Scheduler::Impl& im,
                   std::index_sequence<I...>) {
    Status st(Errc::Internal, "unknown scheduler kind");
    static_cast<void>(((k == I && (st = build_as<I>(ctx, im), true)) || ...));
    return st;
}

Status build_table(SchedKind kind, detail::BuildCtx& ctx, Scheduler::Impl& im) {
    return build_table(static_cast<size_t>(kind), ctx, im, std::make_index_sequence<kPolicies>{});
}

}  // namespace

SchedShared::SchedShared(SchedKind k, const SchedOptions& o) : kind(k), opts(o) {
    if (k == SchedKind::Lblc || k == SchedKind::Lblcr) {
        locality = std::make_unique<LocalityTable>(o.locality_slots);
    }
}

std::shared_ptr<SchedShared> make_shared_state(SchedKind kind) {
    return make_shared_state(kind, SchedOptions{});
}

std::shared_ptr<SchedShared> make_shared_state(SchedKind kind, const SchedOptions& opts) {
    // Plain new: SchedShared is over-aligned (its cursor line), which operator new honours.
    return std::shared_ptr<SchedShared>(new SchedShared(kind, opts));
}

Scheduler::~Scheduler() = default;

Result<std::unique_ptr<Scheduler>> Scheduler::build(SchedKind kind, uint32_t flags,
                                                    std::span<const BackendSpec> backends,
                                                    std::shared_ptr<SchedShared> shared) {
    if (!shared) {
        shared = make_shared_state(kind);
    }
    if (shared->kind != kind) {
        return Status(Errc::Invalid, "scheduler state made for " +
                                         std::string(sched_name(shared->kind)) + ", not " +
                                         std::string(sched_name(kind)));
    }
    if (backends.size() >= kNoBackend) {
        return Status(Errc::Resource, "too many real servers: " + std::to_string(backends.size()));
    }
    for (const BackendSpec& b : backends) {
        if (b.counters == nullptr) {
            return Status(Errc::Invalid, "real server without counters");
        }
        if (b.weight < 0) {
            return Status(Errc::Invalid, "server weight less than zero");
        }
    }

    auto impl = std::make_unique<Impl>();
    impl->dests.resize(backends.size());
    for (size_t i = 0; i < backends.size(); ++i) {
        impl->dests[i].c = backends[i].counters;
        impl->dests[i].weight = backends[i].weight;
    }

    CtlMemory& m = shared->ctl;
    bool same_servers = m.built && m.keys.size() == backends.size();
    bool same_weights = same_servers;
    for (size_t i = 0; same_servers && i < backends.size(); ++i) {
        same_servers = m.keys[i] == detail::dest_key(backends[i]);
        same_weights = same_weights && m.weights[i] == backends[i].weight;
    }
    same_weights = same_weights && same_servers;

    detail::BuildCtx ctx{backends, impl->dests, flags, *shared, same_servers, same_weights};
    Status st = build_table(kind, ctx, *impl);
    if (!st) {
        return st;
    }

    m.built = true;
    m.keys.resize(backends.size());
    m.weights.resize(backends.size());
    for (size_t i = 0; i < backends.size(); ++i) {
        m.keys[i] = detail::dest_key(backends[i]);
        m.weights[i] = backends[i].weight;
    }

    std::unique_ptr<Scheduler> s(new Scheduler());
    s->kind_ = kind;
    s->flags_ = flags;
    s->backends_.assign(backends.begin(), backends.end());
    s->shared_ = std::move(shared);
    s->impl_ = std::move(impl);
    return s;
}

BackendIdx Scheduler::pick(const SchedInput& in) const noexcept {
    return detail::dispatch_pick(kind_, *impl_, in);
}

}  // namespace dirigo::sched
