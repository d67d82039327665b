// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Traffic counters as ipvsadm shows them: totals summed over the workers' per-slot stats, minus
/// a baseline taken when a slot is (re)used or zeroed (-Z), and IPVS's rate estimator (every 2 s,
/// an EWMA with weight 1/4 in 2^10 fixed point). Thread: control only.

#include <cstdint>
#include <span>
#include <vector>

#include "control/model_store.hpp"
#include "dataplane/dataplane.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

class Counters {
public:
    /// Baselines and rates for every service and real-server slot of `dp`.
    explicit Counters(dp::Dataplane& dp);

    /// Starts the slots of a committed change from zero in every view. O(slots given).
    void reset(std::span<const uint32_t> dest_slots, std::span<const uint32_t> svc_slots);
    /// -Z: zeroes `s` and its real servers. O(servers x workers).
    void zero(const ServiceState& s);
    /// Counters of a real-server slot since its baseline. O(workers).
    Stats dest(uint32_t slot) const;
    /// Counters of a service slot since its baseline. O(workers).
    Stats service(uint32_t slot) const;
    /// Rate estimates per second of a real-server slot.
    Rates dest_rates(uint32_t slot) const;
    /// Rate estimates per second of a service slot.
    Rates service_rates(uint32_t slot) const;
    /// One estimator step for `services` when 2 s have passed since the last one; otherwise
    /// nothing. Called every control round. O(services + servers) every 2 s.
    void estimate(const std::vector<ServiceState>& services);

private:
    struct RateState {
        Stats last;
        Rates avg;  ///< scaled by 2^10 (fixed point), as IPVS's estimator keeps them
    };
    Stats dest_totals(uint32_t slot) const;
    Stats service_totals(uint32_t slot) const;

    dp::Dataplane& dp_;
    std::vector<Stats> dest_base_;  ///< per slot: totals at the last zero/reuse
    std::vector<Stats> svc_base_;
    std::vector<RateState> dest_rate_;
    std::vector<RateState> svc_rate_;
    uint64_t next_estimate_ = 0;
};

}  // namespace dirigo::ctl
