// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// The daemon's log. Every message of the daemon (daemon/, control/, host/, metrics/ and the
/// control-thread parts of dataplane/) goes through DPDK's log, `rte_log`, with Dirigo's own log
/// type `dirigo` and a syslog level: DIRIGO_LOG(ERR, ...) for a failure, WARNING for something the
/// operator must act on while the daemon goes on, NOTICE for the lifecycle (started, reloaded,
/// stopping), INFO and DEBUG for the rest. DPDK's messages (EAL, PMDs) take the same road.
///
/// Where a message goes is this module's stream, installed as DPDK's log stream
/// (`rte_openlog_stream`) before anything is logged (docs/operations.md, "Logs"):
/// - stderr, always, so a message printed before EAL starts (a bad argument or config) reaches
///   whoever ran the daemon, as text;
/// - when stderr is the systemd journal (JOURNAL_STREAM names it, as systemd documents), each
///   line carries its priority as a `<N>` prefix (SyslogLevelPrefix) and nothing goes to syslog,
///   so the journal holds each line once, with its level;
/// - otherwise, once log_open(true) was called (the daemon, not `--check`), syslog(3) too, at the
///   message's priority; EAL's `--syslog FACILITY` picks the facility (default daemon).
///
/// Nothing on a worker's per-packet path logs (STYLE.md, hot-path rules: no logging, no syscalls).

#include <cstdint>

#include <rte_log.h>

#include "config/config.hpp"

namespace dirigo::dp {

/// Dirigo's DPDK log type, "dirigo", registered on the first call at level INFO (or what an
/// earlier `--log-level dirigo:LEVEL` picked). Thread: any. O(1) after the first call.
int log_type() noexcept;

/// Installs the stream described above as DPDK's log stream; `syslog` also sends each message to
/// syslog (unless stderr is the journal). Call at the start of main, before any message and
/// before other threads exist; calling it again only changes `syslog`. Thread: main.
void log_open(bool syslog) noexcept;

/// DPDK's level (RTE_LOG_EMERG 1 .. RTE_LOG_DEBUG 8) of a configured level (syslog's 0 .. 7).
/// Thread: any. O(1).
constexpr uint32_t rte_level(cfg::LogLevel level) noexcept {
    return static_cast<uint32_t>(level) + 1;
}

/// The configured level's name as `log.level` spells it ("warning"). Thread: any. O(1).
const char* level_name(cfg::LogLevel level) noexcept;

/// Sets the level of Dirigo's messages (log type `dirigo`): messages above it are dropped by
/// rte_log before formatting. Thread: main/control. O(1).
void log_set_level(cfg::LogLevel level) noexcept;

}  // namespace dirigo::dp

/// One line of the daemon's log at DPDK level `level` (ERR, WARNING, NOTICE, INFO, DEBUG), as
/// "dirigo: <text>\n". A macro for the literal concatenation and the printf format check.
#define DIRIGO_LOG(level, fmt, ...)                    \
    rte_log(RTE_LOG_##level, ::dirigo::dp::log_type(), \
            "dirigo: " fmt "\n" __VA_OPT__(, ) __VA_ARGS__)
