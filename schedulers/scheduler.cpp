// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/scheduler.hpp"

#include <string>
#include <utility>

#include "schedulers/dispatch.hpp"
#include "schedulers/shared.hpp"

namespace dirigo::sched {

namespace {

template <detail::Policy P>
Status build_as(detail::BuildCtx& ctx, Scheduler::Impl& im) {
    Result<typename P::Table> t = P::build(ctx);
    if (!t) {
        return t.status();
    }
    im.table.template emplace<typename P::Table>(std::move(*t));
    return Status::ok();
}

Status build_table(SchedKind kind, detail::BuildCtx& ctx, Scheduler::Impl& im) {
    switch (kind) {
        case SchedKind::Rr:
            return build_as<RoundRobin>(ctx, im);
        case SchedKind::Wrr:
            return build_as<WeightedRoundRobin>(ctx, im);
        case SchedKind::Lc:
            return build_as<LeastConnection>(ctx, im);
        case SchedKind::Wlc:
            return build_as<WeightedLeastConnection>(ctx, im);
        case SchedKind::Sh:
            return build_as<SourceHashing>(ctx, im);
        case SchedKind::Dh:
            return build_as<DestinationHashing>(ctx, im);
        case SchedKind::Lblc:
            return build_as<LocalityLeastConnection>(ctx, im);
        case SchedKind::Lblcr:
            return build_as<LocalityLeastConnectionReplicated>(ctx, im);
        case SchedKind::Sed:
            return build_as<ShortestExpectedDelay>(ctx, im);
        case SchedKind::Nq:
            return build_as<NeverQueue>(ctx, im);
        case SchedKind::Fo:
            return build_as<FailOver>(ctx, im);
        case SchedKind::Ovf:
            return build_as<Overflow>(ctx, im);
        case SchedKind::Mh:
            return build_as<MaglevHashing>(ctx, im);
    }
    return Status(Errc::Internal, "unknown scheduler kind");
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
