// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Persistence templates (`ipvsadm -p TIMEOUT -M NETMASK`), shared by every worker.
///
/// A template binds a client (its address masked by the service's netmask) to a real server for
/// one service. It lives while any connection made through it lives, and `timeout` seconds after
/// the last one ended or the last one was made, like IPVS's templates. A client's connections may
/// be owned by different workers (ownership hashes the client's port too), so the table is
/// shared: a fixed array of cache-line entries, each guarded by its own tiny lock word that is
/// taken only when a *new* connection of a persistent service is scheduled, or one ends; packets of
/// established connections never touch it. Lookups scan a window of kWindow entries from the key's
/// hash; a key is never duplicated except when two workers create the same client's first template
/// in the same instant (then one of the two connections may land elsewhere; both templates stay
/// consistent afterwards).
/// Control sweeps dead templates (no connection, past their expiry) in bounded slices and
/// decrements the server's persistent count (`--persistent-conn`).
///
/// IPv6 services' templates live in the same table: their client is the address masked to the
/// service's prefix length (`-M 64`), kept whole in the entry. A service has one family, so the
/// service slot in the key keeps the families apart; an IPv6 key carries the masked address
/// folded to 32 bits (a pre-filter only: a match compares the whole address under the lock).

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include <rte_spinlock.h>

#include "dataplane/hash.hpp"

namespace dirigo::dp {

inline constexpr uint32_t kNoTemplate = 0xffffffffu;

/// A template's client: the masked IPv4 address (network order), or for an IPv6 service the
/// masked IPv6 address (`v6`, network order) and its fold in `v4`.
struct PersistClient {
    uint32_t v4 = 0;
    const uint8_t* v6 = nullptr;  ///< 16 bytes, or nullptr for an IPv4 client
};

class PersistTable {
public:
    static constexpr uint32_t kWindow = 8;

    /// `capacity` is rounded up to a power of two. Thread: startup.
    explicit PersistTable(uint32_t capacity);

    struct Binding {
        uint32_t index = kNoTemplate;  ///< template, for release()
        uint32_t dest_slot = 0;
        /// The server the template had before this call: kNoTemplate for a new template, another
        /// slot when it was re-bound, `dest_slot` when it was reused as it was.
        uint32_t prev_slot = kNoTemplate;
        bool full = false;             ///< no free entry in the key's window
    };

    /// Finds the live template of (`svc_slot`, `client`) whose server `valid(slot)` accepts, or
    /// creates one with the server `pick()` returns (a slot, or kNoTemplate for none). Takes one
    /// reference. `now` and `timeout` are TSC values. Returns index kNoTemplate if the window is
    /// full of live templates or pick() found no server.
    /// Thread: any worker. Cost: kWindow relaxed loads plus one entry lock.
    template <class Valid, class Pick>
    Binding acquire(uint32_t svc_slot, uint32_t client, uint64_t now, uint64_t timeout,
                    Valid&& valid, Pick&& pick) noexcept {
        return acquire(svc_slot, PersistClient{client, nullptr}, now, timeout, valid, pick);
    }
    /// The same for a client of either family.
    template <class Valid, class Pick>
    Binding acquire(uint32_t svc_slot, const PersistClient& client, uint64_t now, uint64_t timeout,
                    Valid&& valid, Pick&& pick) noexcept {
        const uint64_t key = make_key(svc_slot, client.v4);
        const uint32_t base = slot_of(key);
        for (uint32_t i = 0; i < kWindow; ++i) {
            Entry& e = entries_[(base + i) & mask_];
            if (e.key.load(std::memory_order_relaxed) != key) {
                continue;
            }
            Lock l(e);
            if (e.key.load(std::memory_order_relaxed) != key) {
                break;  // reclaimed meanwhile: create below
            }
            if (!same_client(e, client)) {
                continue;  // another IPv6 client with the same fold
            }
            const bool alive = e.refs > 0 || e.expire > now;
            if (alive && valid(e.dest_slot)) {
                ++e.refs;
                e.expire = now + timeout;
                return {(base + i) & mask_, e.dest_slot, e.dest_slot, false};
            }
            const uint32_t d = pick();
            if (d == kNoTemplate) {
                return {};
            }
            const uint32_t prev = e.dest_slot;
            e.dest_slot = d;
            ++e.refs;
            e.timeout = timeout;
            e.expire = now + timeout;
            return {(base + i) & mask_, d, prev, false};
        }
        for (uint32_t i = 0; i < kWindow; ++i) {
            Entry& e = entries_[(base + i) & mask_];
            if (e.key.load(std::memory_order_relaxed) != 0) {
                continue;
            }
            Lock l(e);
            if (e.key.load(std::memory_order_relaxed) != 0) {
                continue;
            }
            const uint32_t d = pick();
            if (d == kNoTemplate) {
                return {};
            }
            e.dest_slot = d;
            e.refs = 1;
            e.timeout = timeout;
            e.expire = now + timeout;
            e.svc_slot = svc_slot;
            set_client(e, client);
            // Published under the entry lock; the relaxed scan above only pre-filters.
            e.key.store(key, std::memory_order_relaxed);
            return {(base + i) & mask_, d, kNoTemplate, false};
        }
        Binding full;
        full.full = true;
        return full;
    }

    /// Drops one reference; the template then lives its timeout more. Thread: any worker.
    void release(uint32_t index, uint64_t now) noexcept {
        Entry& e = entries_[index];
        Lock l(e);
        if (e.refs > 0 && --e.refs == 0) {
            e.expire = now + e.timeout;
        }
    }

    /// A template a sync master sent: binds (`svc_slot`, `client`) to `dest_slot` and makes it
    /// live at least until `now + timeout`, creating it without references when it is not
    /// there. Returns the binding (prev_slot as acquire() sets it; full when the key's window
    /// has no free entry). Thread: any worker. Cost: kWindow relaxed loads plus one entry lock.
    Binding install(uint32_t svc_slot, uint32_t client, uint32_t dest_slot, uint64_t now,
                    uint64_t timeout) noexcept {
        return install(svc_slot, PersistClient{client, nullptr}, dest_slot, now, timeout);
    }
    /// The same for a client of either family.
    Binding install(uint32_t svc_slot, const PersistClient& client, uint32_t dest_slot,
                    uint64_t now, uint64_t timeout) noexcept {
        const uint64_t key = make_key(svc_slot, client.v4);
        const uint32_t base = slot_of(key);
        for (int pass = 0; pass < 2; ++pass) {
            // Pass 0 looks for the key, pass 1 for a free entry.
            const uint64_t want = pass == 0 ? key : 0;
            for (uint32_t i = 0; i < kWindow; ++i) {
                Entry& e = entries_[(base + i) & mask_];
                if (e.key.load(std::memory_order_relaxed) != want) {
                    continue;
                }
                Lock l(e);
                if (e.key.load(std::memory_order_relaxed) != want ||
                    (pass == 0 && !same_client(e, client))) {
                    continue;
                }
                const uint32_t prev = pass == 0 ? e.dest_slot : kNoTemplate;
                if (pass == 1) {
                    e.refs = 0;
                    e.svc_slot = svc_slot;
                    set_client(e, client);
                    e.expire = 0;
                }
                e.dest_slot = dest_slot;
                e.timeout = timeout;
                if (e.expire < now + timeout) {
                    e.expire = now + timeout;
                }
                e.key.store(key, std::memory_order_relaxed);
                return {(base + i) & mask_, dest_slot, prev, false};
            }
        }
        Binding full;
        full.full = true;
        return full;
    }

    /// Visits up to `budget` entries from a rotating cursor and clears dead ones, calling
    /// on_dead(dest_slot) for each. Thread: control.
    template <class F>
    void sweep(uint64_t now, uint32_t budget, F&& on_dead) {
        for (uint32_t n = 0; n < budget; ++n) {
            Entry& e = entries_[cursor_];
            cursor_ = (cursor_ + 1) & mask_;
            if (e.key.load(std::memory_order_relaxed) == 0) {
                continue;
            }
            Lock l(e);
            if (e.key.load(std::memory_order_relaxed) != 0 && e.refs == 0 && e.expire <= now) {
                e.key.store(0, std::memory_order_relaxed);
                on_dead(e.dest_slot);
            }
        }
    }

    /// Calls f(svc_slot, client, dest_slot, refs, expire) for every template; `client.v6` points
    /// to a copy of an IPv6 template's address, valid during the call. Thread: control.
    template <class F>
    void for_each(F&& f) {
        for (uint32_t i = 0; i <= mask_; ++i) {
            Entry& e = entries_[i];
            if (e.key.load(std::memory_order_relaxed) == 0) {
                continue;
            }
            Lock l(e);
            if (e.key.load(std::memory_order_relaxed) != 0) {
                uint8_t a6[16];
                std::memcpy(a6, e.client6, sizeof(a6));
                const PersistClient c{e.client, e.is6 != 0 ? a6 : nullptr};
                f(e.svc_slot, c, e.dest_slot, e.refs, e.expire);
            }
        }
    }

    uint32_t capacity() const { return mask_ + 1; }

private:
    struct alignas(64) Entry {
        rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
        uint8_t is6 = 0;               ///< an IPv6 service's template: client6 holds the client
        std::atomic<uint64_t> key{0};  ///< (svc_slot + 1) << 32 | client; 0 = free
        uint32_t svc_slot = 0;
        uint32_t client = 0;           ///< masked client address (IPv6: its fold), network order
        uint32_t dest_slot = 0;
        int32_t refs = 0;
        uint64_t expire = 0;           ///< TSC
        uint64_t timeout = 0;          ///< TSC ticks
        uint8_t client6[16] = {};      ///< masked IPv6 client address, network order
    };
    static_assert(sizeof(Entry) == 64, "a template is one cache line");
    /// Under the entry's lock.
    static bool same_client(const Entry& e, const PersistClient& c) {
        return c.v6 == nullptr ? e.is6 == 0
                               : e.is6 != 0 && std::memcmp(e.client6, c.v6, 16) == 0;
    }
    static void set_client(Entry& e, const PersistClient& c) {
        e.client = c.v4;
        e.is6 = c.v6 != nullptr ? 1 : 0;
        if (c.v6 != nullptr) {
            std::memcpy(e.client6, c.v6, 16);
        } else {
            std::memset(e.client6, 0, 16);
        }
    }
    /// The entry lock: held for a few instructions by one thread at a time.
    class Lock {
    public:
        // rte_spinlock_lock acquires and rte_spinlock_unlock releases: the entry's fields are
        // seen as the previous holder left them.
        explicit Lock(Entry& e) : e_(e) { rte_spinlock_lock(&e_.lock); }
        ~Lock() { rte_spinlock_unlock(&e_.lock); }
        Lock(const Lock&) = delete;
        Lock& operator=(const Lock&) = delete;

    private:
        Entry& e_;
    };
    static uint64_t make_key(uint32_t svc_slot, uint32_t client) {
        return (static_cast<uint64_t>(svc_slot) + 1) << 32 | client;
    }
    uint32_t slot_of(uint64_t key) const {
        return fib_slot(key, mask_);
    }
    std::unique_ptr<Entry[]> entries_;
    uint32_t mask_ = 0;
    uint32_t cursor_ = 0;
};

}  // namespace dirigo::dp
