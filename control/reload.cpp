// SPDX-License-Identifier: BSD-3-Clause
#include "control/reload.hpp"

#include <algorithm>

namespace dirigo::ctl {

namespace {

const cfg::Service* find_cfg(const std::vector<cfg::Service>& list, const cfg::ServiceKey& k) {
    auto it = std::find_if(list.begin(), list.end(),
                           [&k](const cfg::Service& s) { return s.key == k; });
    return it == list.end() ? nullptr : &*it;
}

const cfg::RealServer* find_dest(const std::vector<cfg::RealServer>& list,
                                 const cfg::RealServer& d) {
    auto it = std::find_if(list.begin(), list.end(), [&d](const cfg::RealServer& x) {
        return x.same_identity(d);
    });
    return it == list.end() ? nullptr : &*it;
}

Request op_for(Op op, const cfg::Service& svc) {
    Request r;
    r.op = op;
    r.service = svc;
    r.service.servers.clear();
    return r;
}

Request dest_op(Op op, const cfg::ServiceKey& key, const cfg::RealServer& d) {
    Request r;
    r.op = op;
    r.service.key = key;
    r.dest = d;
    return r;
}

/// The service's own attributes, without its servers.
bool same_attrs(const cfg::Service& a, const cfg::Service& b) {
    return a.scheduler == b.scheduler && a.flags == b.flags && a.timeout == b.timeout &&
           a.netmask == b.netmask && a.prefix6 == b.prefix6;
}

void add_whole(std::vector<Request>& out, const cfg::Service& s) {
    out.push_back(op_for(Op::AddService, s));
    for (const cfg::RealServer& d : s.servers) {
        out.push_back(dest_op(Op::AddDest, s.key, d));
    }
}

}  // namespace

Request restore_batch(const Request& file, const std::vector<ServiceState>& running,
                      const std::vector<cfg::MarkRule>& running_marks) {
    Request out;
    out.op = Op::Batch;
    for (const Request& r : file.batch) {
        if (r.op == Op::AddMark &&
            std::any_of(running_marks.begin(), running_marks.end(),
                        [&r](const cfg::MarkRule& m) { return m.same_match(r.mark); })) {
            Request del;
            del.op = Op::DelMark;
            del.mark = r.mark;
            del.mark.mark = 0;
            out.batch.push_back(del);
        }
        if (r.op == Op::AddService && ModelStore::find(running, r.service.key) != nullptr) {
            Request del;
            del.op = Op::DelService;
            del.service.key = r.service.key;
            out.batch.push_back(del);
        }
        out.batch.push_back(r);
    }
    return out;
}

Request reload_batch(const cfg::Config& old_cfg, const cfg::Config& next,
                     const std::vector<ServiceState>& running,
                     const std::vector<cfg::MarkRule>& running_marks) {
    Request out;
    out.op = Op::Batch;
    std::vector<Request>& b = out.batch;
    if (!(old_cfg.timeouts == next.timeouts)) {
        Request t;
        t.op = Op::SetTimeouts;
        t.timeouts = next.timeouts;
        b.push_back(t);
    }
    // Removed from the config: removed from the rules (if dirigoadm has not already).
    for (const cfg::Service& s : old_cfg.services) {
        if (find_cfg(next.services, s.key) == nullptr &&
            ModelStore::find(running, s.key) != nullptr) {
            b.push_back(op_for(Op::DelService, s));
        }
    }
    for (cfg::Service want : next.services) {
        for (cfg::RealServer& d : want.servers) {
            if (d.port == 0) {
                d.port = want.key.port;  // as ModelStore stores it
            }
        }
        const ServiceState* cur = ModelStore::find(running, want.key);
        if (cur == nullptr) {
            add_whole(b, want);
            continue;
        }
        const cfg::Service& have = cur->svc;
        if (!same_attrs(have, want)) {
            b.push_back(op_for(Op::EditService, want));
        }
        for (const cfg::RealServer& d : have.servers) {
            if (find_dest(want.servers, d) == nullptr) {
                b.push_back(dest_op(Op::DelDest, want.key, d));
            }
        }
        for (const cfg::RealServer& d : want.servers) {
            const cfg::RealServer* h = find_dest(have.servers, d);
            if (h == nullptr) {
                b.push_back(dest_op(Op::AddDest, want.key, d));
            } else if (!(*h == d)) {
                b.push_back(dest_op(Op::EditDest, want.key, d));
            }
        }
    }
    if (old_cfg.marks != next.marks) {
        // Every running rule with the match of an old or a new config rule goes, then the new
        // config's rules are appended in their order.
        for (const cfg::MarkRule& m : running_marks) {
            const auto same = [&m](const cfg::MarkRule& x) { return x.same_match(m); };
            if (std::any_of(old_cfg.marks.begin(), old_cfg.marks.end(), same) ||
                std::any_of(next.marks.begin(), next.marks.end(), same)) {
                Request del;
                del.op = Op::DelMark;
                del.mark = m;
                b.push_back(del);
            }
        }
        for (const cfg::MarkRule& m : next.marks) {
            Request add;
            add.op = Op::AddMark;
            add.mark = m;
            b.push_back(add);
        }
    }
    return out;
}

std::vector<std::string> restart_needed(const cfg::Config& a, const cfg::Config& b) {
    std::vector<std::string> out;
    if (a.eal != b.eal) {
        out.emplace_back("eal");
    }
    if (!(a.control == b.control)) {
        out.emplace_back("control");
    }
    if (!(a.metrics == b.metrics)) {
        out.emplace_back("metrics");
    }
    if (a.ports != b.ports) {
        out.emplace_back("ports");
    }
    if (a.routes != b.routes) {
        out.emplace_back("routes");
    }
    if (!(a.dataplane == b.dataplane)) {
        out.emplace_back("dataplane");
    }
    if (!(a.host == b.host)) {
        out.emplace_back("host");
    }
    return out;
}

}  // namespace dirigo::ctl
