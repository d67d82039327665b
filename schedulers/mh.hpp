// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// mh: Maglev hashing (ip_vs_mh.c). Each server gets a permutation of the lookup table from two
/// hashes of its address and port (offset, skip); the table is filled by taking turns in list
/// order, a server taking `turns` = (last_weight / gcd) >> rshift slots per turn, where rshift
/// keeps the largest turn within IPVS's bit budget. A weight-0 server keeps the slots of its
/// last non-zero weight (IPVS's last_weight) but is unavailable, so quiescing a server moves no
/// other flow. A flow goes to slot hsiphash(saddr + port) % size, port as for sh (mh-port,
/// kSvcSched2). An unavailable server means kNoBackend unless mh-fallback (kSvcSched1): then
/// IPVS's rehash walk finds another. The hashes are IPVS's own (hsiphash with its fixed keys),
/// so with the same table size and list order the table is the kernel's.

#include <string_view>
#include <vector>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

struct MaglevHashing {
    static constexpr SchedKind kKind = SchedKind::Mh;
    static constexpr std::string_view kName = "mh";

    /// generate_hash_secret() in ip_vs_mh.c.
    static constexpr uint64_t kKey1 = 2654435761ull;
    static constexpr uint64_t kKey2 = 2654446892ull;

    struct Table {
        std::vector<BackendIdx> lookup;  ///< table size entries; all kNoBackend when empty
        detail::FastMod mod;
        bool fallback = false;
        bool port = false;
        bool empty = true;
    };

    /// Thread: control. Cost: O(size * log size) expected.
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: one hsiphash and one table line; with mh-fallback and an
    /// unavailable server, one more of each per probe.
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput& in) noexcept {
        if (t.empty) {
            return kNoBackend;
        }
        const uint32_t v = (t.port ? detail::hash_port(in) : 0u) + in.saddr;
        const uint32_t ihash = t.mod(detail::hsiphash_u32(v, kKey1, kKey1));
        const BackendIdx b = t.lookup[ihash];
        if (b == kNoBackend) {
            return kNoBackend;
        }
        if (detail::available(ds[b])) {
            return b;
        }
        return t.fallback ? fallback(t, ds, v, ihash) : kNoBackend;
    }

    /// IPVS's ip_vs_mh_get_fallback walk. Thread: worker.
    static BackendIdx fallback(const Table& t, detail::Dests ds, uint32_t v,
                               uint32_t ihash) noexcept;
};

static_assert(detail::Policy<MaglevHashing>);

/// IPVS's bit budget for a table of `size` slots (IP_VS_MH_TAB_BITS, CONFIG index / 2).
uint32_t mh_tab_bits(uint32_t size);

}  // namespace dirigo::sched
