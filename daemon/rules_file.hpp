// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The rules file (control.rules; docs/operations.md, "Restarts and reloads"): the running rules
/// in `dirigoadm -S` format plus a `--set` line for the timeouts, as `ipvsadm.service` keeps
/// them with ipvsadm-save. Read at start (dirigoadm -R's parser); written after rule changes and
/// at stop, atomically (a temporary file in the same directory, fsync, rename).
///
/// RulesSaver keeps the write off the control thread: the control loop renders the text (a
/// listing's worth of work) once the rules have been still for kQuietMs (or kMaxDelayMs after
/// the first unsaved change) and hands it to a writer thread, so a slow disk never delays a
/// client. Thread: tick() and stop() on control; the writer thread only writes files.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "config/status.hpp"
#include "control/model_store.hpp"
#include "proto/protocol.hpp"

namespace dirigo::daemon {

/// The rules as `dirigoadm -S -n` prints them, the mark rules as `--list-marks` prints them, then
/// `--set TCP TCPFIN UDP`.
std::string render_rules(const ctl::ModelStore& model);

/// The file's commands as one Batch. A missing file is an empty batch; a bad line is an error
/// that names the file and the line.
Result<ctl::Request> read_rules(const std::string& path);

/// Writes `text` to `path` atomically; creates the parent directory (one level) if missing.
Status write_atomic(const std::string& path, const std::string& text);

class RulesSaver {
public:
    static constexpr uint64_t kQuietMs = 200;
    static constexpr uint64_t kMaxDelayMs = 2000;

    RulesSaver(std::string path, uint64_t saved_generation);
    ~RulesSaver();
    RulesSaver(const RulesSaver&) = delete;
    RulesSaver& operator=(const RulesSaver&) = delete;

    /// Called every control round with the rules' generation and a millisecond clock.
    void tick(const ctl::ModelStore& model, uint64_t generation, uint64_t now_ms);
    /// Saves the rules now (if changed since the last save), then stops the writer thread.
    void stop(const ctl::ModelStore& model, uint64_t generation);

private:
    void writer();

    std::string path_;
    uint64_t saved_gen_;
    uint64_t seen_gen_;
    uint64_t first_change_ms_ = 0;
    uint64_t last_change_ms_ = 0;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string pending_;     ///< guarded by mu_
    bool has_pending_ = false;  ///< guarded by mu_
    bool stopping_ = false;   ///< guarded by mu_
    std::thread thread_;
};

}  // namespace dirigo::daemon
