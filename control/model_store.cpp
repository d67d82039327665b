// SPDX-License-Identifier: BSD-3-Clause
#include "control/model_store.hpp"

#include <algorithm>
#include <set>

#include "config/addr.hpp"
#include "config/validate.hpp"

namespace dirigo::ctl {

ModelStore::ModelStore(const sched::DestCounters* counters, uint32_t max_services,
                       uint32_t max_dests)
    : counters_(counters), max_services_(max_services), max_dests_(max_dests) {
    // Hand out low slots first.
    for (uint32_t i = max_dests; i-- > 0;) {
        free_dest_slots_.push_back(i);
    }
    for (uint32_t i = max_services; i-- > 0;) {
        free_svc_slots_.push_back(i);
    }
}

ServiceState* ModelStore::find(std::vector<ServiceState>& list, const cfg::ServiceKey& k) {
    for (ServiceState& s : list) {
        if (s.svc.key == k) {
            return &s;
        }
    }
    return nullptr;
}

const ServiceState* ModelStore::find(const std::vector<ServiceState>& list,
                                     const cfg::ServiceKey& k) {
    for (const ServiceState& s : list) {
        if (s.svc.key == k) {
            return &s;
        }
    }
    return nullptr;
}

Status ModelStore::apply(const Request& r) {
    Result<Change> c = prepare(r);
    if (!c) {
        return c.status();
    }
    commit(std::move(*c));
    return {};
}

Result<ModelStore::Change> ModelStore::prepare(const Request& r) const {
    Draft d;
    d.services = services_;
    d.marks = marks_;
    d.timeouts = timeouts_;
    for (const ServiceState& s : d.services) {
        d.dests += s.svc.servers.size();
    }
    if (r.op == Op::Batch) {
        for (size_t i = 0; i < r.batch.size(); ++i) {
            if (r.batch[i].op == Op::Batch) {
                return Status(Errc::Invalid, "nested batch");
            }
            if (Status s = apply_one(d, r.batch[i]); !s) {
                return Status(s.code(), s.message() + " (rule " + std::to_string(i + 1) + " of " +
                                            std::to_string(r.batch.size()) +
                                            "; nothing was applied)");
            }
        }
    } else if (Status s = apply_one(d, r); !s) {
        return s;
    }
    if (Status s = allocate(d); !s) {
        return s;
    }
    return d;
}

Status ModelStore::apply_one(Draft& d, const Request& r) const {
    const cfg::ServiceKey& key = r.service.key;
    switch (r.op) {
    case Op::AddService:
    case Op::EditService: {
        auto kind = sched::parse_sched(r.service.scheduler);
        if (!kind) {
            return Status(Errc::NoScheduler, "Scheduler not found: \"" + r.service.scheduler +
                                                 "\" (valid: " + sched::sched_names() + ")");
        }
        ServiceState* cur = find(d.services, key);
        if (r.op == Op::AddService && cur != nullptr) {
            return Status(Errc::ServiceExists, "Service already exists");
        }
        if (r.op == Op::EditService && cur == nullptr) {
            return Status(Errc::NoService, "Service not defined");
        }
        cfg::Service next = r.service;
        if (cur != nullptr) {
            next.servers = cur->svc.servers;
        } else {
            next.servers.clear();
        }
        if (Status s = cfg::validate_service(next); !s) {
            return s;
        }
        if (cur == nullptr) {
            if (d.services.size() >= max_services_) {
                return Status(Errc::Resource, "too many services (limit " +
                                                  std::to_string(max_services_) + ")");
            }
            ServiceState st;
            st.svc = std::move(next);
            st.kind = *kind;
            d.services.push_back(std::move(st));
        } else {
            if (cur->kind != *kind) {
                cur->shared.reset();
            }
            cur->kind = *kind;
            cur->svc = std::move(next);
        }
        return {};
    }
    case Op::DelService: {
        auto it = std::find_if(d.services.begin(), d.services.end(),
                               [&](const ServiceState& s) { return s.svc.key == key; });
        if (it == d.services.end()) {
            return Status(Errc::NoService, "Service not defined");
        }
        d.dests -= it->svc.servers.size();
        d.services.erase(it);
        return {};
    }
    case Op::Clear:
        // As ipvsadm -C: services only. Mark rules are not IPVS's (iptables keeps its marks too).
        d.services.clear();
        d.dests = 0;
        return {};
    case Op::AddMark: {
        if (Status s = cfg::validate_mark(r.mark); !s) {
            return s;
        }
        for (const cfg::MarkRule& m : d.marks) {
            if (m.same_match(r.mark)) {
                return Status(Errc::ServiceExists, "Mark rule already exists");
            }
        }
        if (d.marks.size() >= cfg::kMaxMarkRules) {
            return Status(Errc::Resource,
                          "too many mark rules (limit " + std::to_string(cfg::kMaxMarkRules) + ")");
        }
        d.marks.push_back(r.mark);
        return {};
    }
    case Op::DelMark: {
        auto it = std::find_if(d.marks.begin(), d.marks.end(), [&](const cfg::MarkRule& m) {
            return m.same_match(r.mark) && (r.mark.mark == 0 || m.mark == r.mark.mark);
        });
        if (it == d.marks.end()) {
            return Status(Errc::NoService, "No such mark rule");
        }
        d.marks.erase(it);
        return {};
    }
    case Op::AddDest:
    case Op::EditDest:
    case Op::DelDest: {
        ServiceState* cur = find(d.services, key);
        if (cur == nullptr) {
            return Status(Errc::NoService, "Service not defined");
        }
        cfg::RealServer rs = r.dest;
        if (rs.port == 0) {
            rs.port = key.port;
        }
        auto& servers = cur->svc.servers;
        auto it = std::find_if(servers.begin(), servers.end(), [&](const cfg::RealServer& x) {
            return x.same_identity(rs);
        });
        const size_t pos = static_cast<size_t>(it - servers.begin());
        // Only the server given can make the service invalid (the search above rules out a
        // duplicate): checking it alone keeps a -R of N servers linear, where re-validating the
        // whole service on every line cost O(N^2) (8,000 servers: 5.4 s).
        if (r.op != Op::DelDest) {
            if (Status s = cfg::check_server(cur->svc, rs); !s) {
                return s;
            }
        }
        if (r.op == Op::AddDest) {
            if (it != servers.end()) {
                return Status(Errc::DestExists, "Destination already exists");
            }
            // The limit as we go, so that a batch far over it stops at the first server too many.
            if (d.dests >= max_dests_) {
                return Status(Errc::Resource,
                              "too many real servers (limit " + std::to_string(max_dests_) + ")");
            }
            // At the head, as IPVS's list_add_rcu(&dest->n_list, &svc->destinations): the list
            // is newest-first, which sets rr/wrr order and every scheduler's ties.
            servers.insert(servers.begin(), rs);
            cur->dest_slots.insert(cur->dest_slots.begin(), kNoSlot);
            ++d.dests;
        } else if (it == servers.end()) {
            return Status(Errc::NoDest, "No such destination");
        } else if (r.op == Op::EditDest) {
            *it = rs;
        } else {
            servers.erase(it);
            cur->dest_slots.erase(cur->dest_slots.begin() + static_cast<ptrdiff_t>(pos));
            --d.dests;
        }
        return {};
    }
    case Op::SetTimeouts:
        if (r.timeouts.tcp != 0) {
            d.timeouts.tcp = r.timeouts.tcp;
        }
        if (r.timeouts.tcp_fin != 0) {
            d.timeouts.tcp_fin = r.timeouts.tcp_fin;
        }
        if (r.timeouts.udp != 0) {
            d.timeouts.udp = r.timeouts.udp;
        }
        return {};
    default:
        return Status(Errc::Invalid, "not a rule change");
    }
}

Status ModelStore::allocate(Draft& d) const {
    // The allocators are copied into the draft: until commit() every list stays as it was.
    d.free_dest = free_dest_slots_;
    d.retired = retired_dest_slots_;
    d.free_svc = free_svc_slots_;
    std::vector<uint32_t>& free_dest = d.free_dest;
    std::vector<uint32_t>& retired = d.retired;
    std::vector<uint32_t>& free_svc = d.free_svc;
    std::set<uint32_t> kept_dest;
    std::set<uint32_t> kept_svc;
    for (const ServiceState& s : d.services) {
        kept_svc.insert(s.slot);
        kept_dest.insert(s.dest_slots.begin(), s.dest_slots.end());
    }
    for (const ServiceState& s : services_) {
        if (!kept_svc.contains(s.slot)) {
            free_svc.push_back(s.slot);
        }
        for (uint32_t slot : s.dest_slots) {
            // A removed server's slot may still be counted by live connections: retire it.
            if (!kept_dest.contains(slot)) {
                retired.push_back(slot);
            }
        }
    }
    std::vector<uint32_t> removed(retired.begin() + static_cast<ptrdiff_t>(retired_dest_slots_.size()),
                                  retired.end());
    std::sort(removed.begin(), removed.end());
    std::vector<uint32_t> fresh_dest;
    std::vector<uint32_t> fresh_svc;
    for (ServiceState& s : d.services) {
        if (s.slot == kNoSlot) {
            if (free_svc.empty()) {
                return Status(Errc::Resource,
                              "too many services (limit " + std::to_string(max_services_) + ")");
            }
            s.slot = free_svc.back();
            free_svc.pop_back();
            fresh_svc.push_back(s.slot);
        }
        for (uint32_t& slot : s.dest_slots) {
            if (slot != kNoSlot) {
                continue;
            }
            if (free_dest.empty()) {
                // Recycle retired slots that no connection refers to any more.
                for (auto it = retired.begin(); it != retired.end();) {
                    const sched::DestCounters& c = counters_[*it];
                    if (c.active.load() == 0 && c.inactive.load() == 0 &&
                        c.persistent.load() == 0) {
                        free_dest.push_back(*it);
                        it = retired.erase(it);
                    } else {
                        ++it;
                    }
                }
            }
            if (free_dest.empty()) {
                return Status(Errc::Resource,
                              "too many real servers (limit " + std::to_string(max_dests_) + ")");
            }
            slot = free_dest.back();
            free_dest.pop_back();
            fresh_dest.push_back(slot);
        }
    }
    for (ServiceState& s : d.services) {
        if (!s.shared) {
            s.shared = sched::make_shared_state(s.kind);
        }
    }
    d.fresh_dest = std::move(fresh_dest);
    d.fresh_svc = std::move(fresh_svc);
    d.removed_dest = std::move(removed);
    return {};
}

void ModelStore::commit(Change&& c) {
    free_dest_slots_ = std::move(c.free_dest);
    retired_dest_slots_ = std::move(c.retired);
    free_svc_slots_ = std::move(c.free_svc);
    fresh_dest_slots_ = std::move(c.fresh_dest);
    fresh_svc_slots_ = std::move(c.fresh_svc);
    removed_dest_slots_ = std::move(c.removed_dest);
    services_ = std::move(c.services);
    marks_ = std::move(c.marks);
    timeouts_ = c.timeouts;
}

}  // namespace dirigo::ctl
