// SPDX-License-Identifier: BSD-3-Clause
#include "schedulers/mh.hpp"

#include <bit>
#include <numeric>
#include <string>

#include "config/model.hpp"
#include "schedulers/shared.hpp"

namespace dirigo::sched {

namespace {

bool is_prime(uint32_t n) {
    if (n < 2) {
        return false;
    }
    for (uint32_t d = 2; uint64_t{d} * d <= n; ++d) {
        if (n % d == 0) {
            return false;
        }
    }
    return true;
}

struct Setup {
    uint32_t perm = 0;
    uint32_t skip = 1;
    int32_t turns = 0;
};

}  // namespace

uint32_t mh_tab_bits(uint32_t size) {
    return static_cast<uint32_t>(std::bit_width(size)) / 2;
}

Result<MaglevHashing::Table> MaglevHashing::build(detail::BuildCtx& ctx) {
    const uint32_t size = ctx.shared.opts.mh_table_size;
    const auto& bs = ctx.backends;
    if (!is_prime(size) || size <= bs.size()) {
        return Status(Errc::Invalid, "mh table size " + std::to_string(size) +
                                         " is not a prime above the number of servers (" +
                                         std::to_string(bs.size()) + ")");
    }

    // IPVS's last_weight: a new server takes its weight, an edit keeps the latest non-zero one.
    CtlMemory& m = ctx.shared.ctl;
    std::unordered_map<uint64_t, int32_t> last;
    std::vector<int32_t> lw(bs.size());
    for (size_t i = 0; i < bs.size(); ++i) {
        const uint64_t key = detail::dest_key(bs[i]);
        const auto it = m.last_weight.find(key);
        lw[i] = (it == m.last_weight.end() || bs[i].weight != 0) ? bs[i].weight : it->second;
        last[key] = lw[i];
    }
    m.last_weight = std::move(last);

    Table t;
    t.mod = detail::FastMod(size);
    t.fallback = (ctx.flags & cfg::kSvcSched1) != 0;
    t.port = (ctx.flags & cfg::kSvcSched2) != 0;
    t.lookup.assign(size, kNoBackend);

    int32_t g = 0;
    int32_t maxw = 0;
    for (const int32_t w : lw) {
        if (w > 0) {
            g = g > 0 ? std::gcd(g, w) : w;
            maxw = std::max(maxw, w);
        }
    }
    if (g < 1) {
        return t;  // no server with a weight: empty table, as ip_vs_mh_reset
    }
    // ip_vs_mh_shift_weight: keep (max weight / gcd) within the table's bit budget.
    const int shift =
        std::bit_width(static_cast<uint32_t>(maxw / g)) - static_cast<int>(mh_tab_bits(size));
    const int rshift = shift > 0 ? shift : 0;

    // ip_vs_mh_permutate.
    std::vector<Setup> ds(bs.size());
    for (size_t i = 0; i < bs.size(); ++i) {
        const uint32_t v = uint32_t{bs[i].port} + bs[i].addr;
        ds[i].perm = detail::hsiphash_u32(v, kKey1, kKey1) % size;
        ds[i].skip = detail::hsiphash_u32(v, kKey2, kKey2) % (size - 1) + 1;
        const int32_t turns = (lw[i] / g) >> rshift;
        ds[i].turns = turns != 0 ? turns : (lw[i] != 0 ? 1 : 0);
    }

    // ip_vs_mh_populate: servers take turns in list order, `turns` slots each, each slot the
    // next free one of the server's permutation.
    std::vector<bool> used(size, false);
    uint32_t filled = 0;
    while (filled < size) {
        for (size_t i = 0; i < bs.size() && filled < size; ++i) {
            Setup& s = ds[i];
            for (int32_t k = 0; k < s.turns && filled < size; ++k) {
                while (used[s.perm]) {
                    s.perm += s.skip;
                    if (s.perm >= size) {
                        s.perm -= size;
                    }
                }
                used[s.perm] = true;
                t.lookup[s.perm] = static_cast<BackendIdx>(i);
                ++filled;
            }
        }
    }
    t.empty = false;
    return t;
}

BackendIdx MaglevHashing::fallback(const Table& t, detail::Dests ds, uint32_t v,
                                   uint32_t ihash) noexcept {
    // IPVS would walk the whole table before giving up; know first whether anything is up.
    bool any = false;
    for (uint32_t i = 0; i < ds.n && !any; ++i) {
        any = detail::available(ds[i]);
    }
    if (!any) {
        return kNoBackend;
    }
    const uint32_t size = t.mod.d;
    for (uint32_t offset = 0; offset < size; ++offset) {
        uint32_t roffset = offset + ihash;
        if (roffset >= size) {
            roffset -= size;
        }
        const BackendIdx b = t.lookup[t.mod(detail::hsiphash_u32(v + roffset, kKey1, kKey1))];
        if (b == kNoBackend) {
            break;
        }
        if (detail::available(ds[b])) {
            return b;
        }
    }
    return kNoBackend;
}

}  // namespace dirigo::sched
