// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// sh: source hashing (ip_vs_sh.c). 256 buckets filled in list order, each server taking
/// `weight` consecutive buckets (at least one, even at weight 0), round and round until the
/// table is full. A flow goes to bucket hash_32(saddr + port, 8), port being the source port
/// with sh-port (kSvcSched2, TCP/UDP/SCTP only) and 0 otherwise. An unavailable server (weight 0
/// or overloaded) means kNoBackend, unless sh-fallback (kSvcSched1) is set: then IPVS's probe
/// walk from that bucket finds the next available one.

#include <array>
#include <string_view>

#include "schedulers/detail.hpp"

namespace dirigo::sched {

/// IPVS's 256-entry bucket table (CONFIG_IP_VS_SH_TAB_BITS = 8), shared by sh and dh.
inline constexpr uint32_t kHashBits = 8;
inline constexpr uint32_t kHashBuckets = 1u << kHashBits;
using BucketTable = std::array<BackendIdx, kHashBuckets>;

/// Fills buckets as ip_vs_sh_reassign does. Thread: control. Cost: O(256).
BucketTable fill_weighted_buckets(std::span<const BackendSpec> bs);

struct SourceHashing {
    static constexpr SchedKind kKind = SchedKind::Sh;
    static constexpr std::string_view kName = "sh";

    struct Table {
        BucketTable bucket{};
        bool fallback = false;
        bool port = false;
    };

    /// Thread: control. Cost: O(256).
    static Result<Table> build(detail::BuildCtx& ctx);

    /// Thread: worker. Cost: O(1); with sh-fallback and an unavailable server, up to 256 probes.
    static BackendIdx pick(const Table& t, detail::Dests ds, const SchedInput& in) noexcept {
        const uint32_t port = t.port ? detail::hash_port(in) : 0u;
        const uint32_t h = detail::hash_32(port + in.saddr, kHashBits);
        BackendIdx b = t.bucket[h];
        if (b == kNoBackend) {
            return kNoBackend;
        }
        if (detail::available(ds[b])) {
            return b;
        }
        if (!t.fallback) {
            return kNoBackend;
        }
        // ip_vs_sh_get_fallback: bucket (roffset + h) for roffset = h, h + 1, ... (mod 256).
        for (uint32_t offset = 0; offset < kHashBuckets; ++offset) {
            const uint32_t roffset = (offset + h) & (kHashBuckets - 1);
            b = t.bucket[(roffset + h) & (kHashBuckets - 1)];
            if (b == kNoBackend) {
                break;
            }
            if (detail::available(ds[b])) {
                return b;
            }
        }
        return kNoBackend;
    }
};

static_assert(detail::Policy<SourceHashing>);

}  // namespace dirigo::sched
