// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// What a restart's rules file and a SIGHUP reload do to the running rules, as one Batch request
/// each (docs/operations.md, "Restarts and reloads"). Pure functions of the rules: no EAL.
///
///  - restore_batch: the rules file, applied after the config's services at start. A service the
///    file defines replaces the config's service of the same key whole (the file is newer);
///    services only in the config stay; `--set` in the file sets the timeouts.
///  - reload_batch: a reloaded config against the config the daemon last applied. A service the
///    new config defines is made equal to its definition (added, or edited in place: its
///    scheduler and flags, then its real servers removed, edited or added one by one, so that
///    untouched servers keep their connections); a service the old config defined and the new one
///    does not is removed; every other service (added with dirigoadm or the rules file) stays.
///    The timeouts are set only when the new config's differ from the old config's.
///  - restart_needed: the sections a reload cannot change (eal, ports, routes, host, control,
///    metrics, dataplane), by name.
/// Thread: control (or tests).

#include <string>
#include <vector>

#include "config/config.hpp"
#include "control/model_store.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl {

/// `file` is a Batch (dirigoadm -R's parse of the rules file); returns it with a DelService
/// before each AddService whose key `running` already has, and a DelMark before each AddMark
/// whose match `running_marks` already has (the config's rules, which the file lists too).
Request restore_batch(const Request& file, const std::vector<ServiceState>& running,
                      const std::vector<cfg::MarkRule>& running_marks = {});

/// The change that takes `running` from `old_cfg`'s services and timeouts to `next`'s. An empty
/// batch when nothing differs.
/// Mark rules: when the config's list changed, the old config's rules are deleted and the new
/// one's appended in order (rules added with dirigoadm stay, ahead of them).
Request reload_batch(const cfg::Config& old_cfg, const cfg::Config& next,
                     const std::vector<ServiceState>& running,
                     const std::vector<cfg::MarkRule>& running_marks = {});

/// Names of the sections that differ between `a` and `b` and need a restart; empty: none.
std::vector<std::string> restart_needed(const cfg::Config& a, const cfg::Config& b);

}  // namespace dirigo::ctl
