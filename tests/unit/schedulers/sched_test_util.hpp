// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// Helpers for the scheduler tests: a set of real servers with their counters, named A, B, C...
// by address so that names survive list changes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "schedulers/scheduler.hpp"

namespace dirigo::sched::test {

inline constexpr uint32_t kBase = 0x0a000000;  // 10.0.0.0; server 'A' + i is 10.0.0.i

class Servers {
public:
    static constexpr size_t kCap = 1024;

    explicit Servers(const std::vector<int32_t>& weights)
        : counters_(std::make_unique<DestCounters[]>(kCap)) {
        for (size_t i = 0; i < weights.size(); ++i) {
            add(static_cast<uint32_t>(i), weights[i]);
        }
    }

    /// Appends server number `id` (address kBase + id, counters slot id).
    void add(uint32_t id, int32_t weight) {
        BackendSpec b;
        b.addr = kBase + id;
        b.port = 80;
        b.weight = weight;
        b.counters = &counters_[id];
        specs.push_back(b);
    }

    /// Inserts server number `id` at the head of the list, as IPVS's `ipvsadm -a` does
    /// (list_add_rcu on svc->destinations) and as control's model does.
    void add_front(uint32_t id, int32_t weight) {
        add(id, weight);
        std::rotate(specs.begin(), specs.end() - 1, specs.end());
    }

    /// Removes server number `id` from the list.
    void remove(uint32_t id) {
        std::erase_if(specs, [&](const BackendSpec& b) { return b.addr == kBase + id; });
    }

    DestCounters& ctr(uint32_t id) { return counters_[id]; }

    /// Connection counts of server number `id`.
    void conns(uint32_t id, int32_t active, int32_t inactive) {
        counters_[id].active.store(active);
        counters_[id].inactive.store(inactive);
    }

    void overload(uint32_t id, bool on) { counters_[id].overloaded.store(on ? 1 : 0); }

    std::unique_ptr<Scheduler> build(SchedKind k, uint32_t flags = 0,
                                     std::shared_ptr<SchedShared> sh = nullptr) const {
        auto r = Scheduler::build(k, flags, specs, std::move(sh));
        EXPECT_TRUE(r.is_ok()) << r.status().message();
        return r.is_ok() ? std::move(*r) : nullptr;
    }

    /// Server number of a pick ('A' + number as a char), '-' for kNoBackend.
    static char name(const Scheduler& s, BackendIdx b) {
        if (b == kNoBackend) {
            return '-';
        }
        return static_cast<char>('A' + (s.backends()[b].addr - kBase));
    }

    /// Letters of `n` picks with a default input.
    static std::string seq(const Scheduler& s, int n, SchedInput in = {}) {
        std::string out;
        for (int i = 0; i < n; ++i) {
            out += name(s, s.pick(in));
        }
        return out;
    }

    std::vector<BackendSpec> specs;

private:
    std::unique_ptr<DestCounters[]> counters_;
};

inline SchedInput from(uint32_t saddr, uint16_t sport = 1000, uint8_t proto = 6) {
    SchedInput in;
    in.saddr = saddr;
    in.sport = sport;
    in.daddr = 0xc0a80001;
    in.dport = 80;
    in.proto = proto;
    return in;
}

inline SchedInput to(uint32_t daddr, uint64_t now_ms = 0) {
    SchedInput in;
    in.saddr = 0x01020304;
    in.sport = 1000;
    in.daddr = daddr;
    in.dport = 80;
    in.proto = 6;
    in.now_ms = now_ms;
    return in;
}

}  // namespace dirigo::sched::test
