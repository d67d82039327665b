// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Scheduling: picking a real server for a new flow.
///
/// Control builds one Scheduler per service per snapshot from the service's real servers
/// (BackendSpec). Workers call Scheduler::pick() once per *new* flow; established flows never reach a
/// scheduler. A pick never allocates, never locks and makes no virtual call: the policy is a closed
/// set dispatched by a switch on SchedKind.
///
/// State that must be global across workers lives outside the immutable snapshot, so that it
/// survives rule updates and is the same for every worker:
///  - DestCounters: per real server connection counts (one cache line each, atomics), written on
///    connection state changes only, read by lc/wlc/sed/nq/lblc/... picks.
///  - SchedShared: per service mutable state (the rr/wrr ticket, lblc/lblcr tables), allocated by
///    control and kept alive across snapshots while the service keeps its scheduler.
/// No DPDK types: this module builds and tests without EAL.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/status.hpp"

namespace dirigo::sched {

/// Index of a real server within its service's backend list.
using BackendIdx = uint16_t;
inline constexpr BackendIdx kNoBackend = 0xffff;

/// Connection counters of one real server, shared by all workers (one cache line each, so two
/// servers never share a line). Updated once per connection state change, never per packet.
struct alignas(64) DestCounters {
    std::atomic<int32_t> active{0};      ///< ESTABLISHED TCP connections
    std::atomic<int32_t> inactive{0};    ///< every other live connection (incl. UDP)
    std::atomic<int32_t> persistent{0};  ///< persistence templates pointing at this server
    std::atomic<uint32_t> overloaded{0}; ///< 1 while over the upper threshold (-x) until below -y
};
static_assert(sizeof(DestCounters) == 64);

/// What a policy may know about one real server.
struct BackendSpec {
    uint32_t addr = 0;  ///< host order
    uint16_t port = 0;
    int32_t weight = 1;
    uint32_t u_threshold = 0;  ///< 0: none
    uint32_t l_threshold = 0;
    DestCounters* counters = nullptr;  ///< never null in a built Scheduler; outlives it
};

/// The new flow being scheduled: hashes and addresses already parsed by the worker.
struct SchedInput {
    uint32_t saddr = 0;  ///< client address, host order
    uint32_t daddr = 0;  ///< virtual address, host order
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t proto = 0;
    uint64_t now_ms = 0;  ///< monotonic milliseconds, for lblc/lblcr expiry
};

/// The closed set of policies. dispatch is a switch over this enum.
enum class SchedKind : uint8_t { Rr, Wrr, Lc, Wlc, Sh, Dh, Lblc, Lblcr, Sed, Nq, Fo, Ovf, Mh };

/// "rr" -> SchedKind; nullopt for unknown names.
std::optional<SchedKind> parse_sched(std::string_view name);
std::string_view sched_name(SchedKind k);
/// "rr wrr lc ..." for error messages.
std::string sched_names();

/// Mutable per-service state shared by all workers; see the header comment.
struct SchedShared;
/// A fresh shared state for a service using `kind`. Control thread.
std::shared_ptr<SchedShared> make_shared_state(SchedKind kind);

/// One service's scheduler in one snapshot. Built by control (may allocate); picked by workers.
class Scheduler {
public:
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Builds the policy's table for `backends`. `shared` must come from make_shared_state(kind).
    /// `flags` are cfg::ServiceFlag bits (sh-fallback, sh-port, ...).
    /// Thread: control. Cost: O(backends) to O(table size) for sh/dh/mh.
    static Result<std::unique_ptr<Scheduler>> build(SchedKind kind, uint32_t flags,
                                                    std::span<const BackendSpec> backends,
                                                    std::shared_ptr<SchedShared> shared);

    /// Picks a backend for a new flow, or kNoBackend when none is available.
    /// Thread: worker (any number at once). Cost: O(1) for rr/wrr/sh/dh/mh, O(backends) for the
    /// counting policies; no allocation, no lock.
    BackendIdx pick(const SchedInput& in) const noexcept;

    SchedKind kind() const { return kind_; }
    std::span<const BackendSpec> backends() const { return backends_; }

    struct Impl;

private:
    Scheduler() = default;
    SchedKind kind_ = SchedKind::Rr;
    uint32_t flags_ = 0;
    std::vector<BackendSpec> backends_;
    std::shared_ptr<SchedShared> shared_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dirigo::sched
