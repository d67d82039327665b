// SPDX-License-Identifier: BSD-3-Clause
#include "dataplane/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

namespace dirigo::dp {
namespace {

// Set by log_open on the main thread before any other thread exists (g_syslog is switched on
// later by the main thread, still before EAL starts its threads).
bool g_journal = false;
bool g_syslog = false;
FILE* g_stream = nullptr;
// Whether the next byte written starts a line (for the journal's "<N>" prefix). Only the write
// callback touches it, and stdio calls that under the stream's lock.
bool g_line_start = true;

/// systemd sets JOURNAL_STREAM="DEV:INODE" for a service whose stdout or stderr is the journal;
/// stderr is the journal when its device and inode match (systemd.exec(5)).
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (js == nullptr) {
        return false;
    }
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) {
        return false;
    }
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // nowhere left to report it
        }
        s.remove_prefix(static_cast<size_t>(n));
    }
}

/// fopencookie's write: one rte_log message (the stream is unbuffered, so glibc hands each
/// vfprintf over whole). rte_vlog set the calling thread's current level just before.
ssize_t write_message(void*, const char* buf, size_t size) {
    const int level = rte_log_cur_msg_loglevel();
    // syslog's priorities are DPDK's levels minus one (as DPDK's own eal_log.c converts).
    const int prio =
        level >= static_cast<int>(RTE_LOG_EMERG) && level <= static_cast<int>(RTE_LOG_DEBUG)
            ? level - 1
            : LOG_INFO;
    std::string_view text(buf, size);
    if (!g_journal) {
        write_all(STDERR_FILENO, text);
    }
    std::string prefixed;
    while (!text.empty()) {
        const size_t eol = text.find('\n');
        const std::string_view line =
            text.substr(0, eol == std::string_view::npos ? text.size() : eol);
        if (g_journal) {
            if (g_line_start) {
                prefixed += '<';
                prefixed += static_cast<char>('0' + prio);
                prefixed += '>';
            }
            prefixed += line;
            if (eol != std::string_view::npos) {
                prefixed += '\n';
            }
        } else if (g_syslog && !line.empty()) {
            syslog(prio, "%.*s", static_cast<int>(line.size()), line.data());
        }
        g_line_start = eol != std::string_view::npos;
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    }
    if (g_journal) {
        write_all(STDERR_FILENO, prefixed);
    }
    return static_cast<ssize_t>(size);
}

int register_type() noexcept {
    const int t = rte_log_register_type_and_pick_level("dirigo", RTE_LOG_INFO);
    // Only when DPDK's table of types cannot grow: EAL's type still reaches the stream.
    return t >= 0 ? t : static_cast<int>(RTE_LOGTYPE_EAL);
}

}  // namespace

int log_type() noexcept {
    static const int type = register_type();
    return type;
}

void log_open(bool syslog) noexcept {
    if (g_stream == nullptr) {
        g_journal = stderr_is_journal();
        static const cookie_io_functions_t kFuncs = {nullptr, write_message, nullptr, nullptr};
        g_stream = fopencookie(nullptr, "w", kFuncs);
        if (g_stream != nullptr) {
            setvbuf(g_stream, nullptr, _IONBF, 0);
            rte_openlog_stream(g_stream);
        }
        (void)log_type();
    }
    if (syslog && !g_syslog && !g_journal) {
        // EAL opens the log again with its --syslog facility; until then, daemon as its default.
        openlog("dirigo", LOG_NDELAY | LOG_PID, LOG_DAEMON);
    }
    g_syslog = syslog;
}

const char* level_name(cfg::LogLevel level) noexcept {
    switch (level) {
        case cfg::LogLevel::Emerg:
            return "emerg";
        case cfg::LogLevel::Alert:
            return "alert";
        case cfg::LogLevel::Crit:
            return "crit";
        case cfg::LogLevel::Err:
            return "err";
        case cfg::LogLevel::Warning:
            return "warning";
        case cfg::LogLevel::Notice:
            return "notice";
        case cfg::LogLevel::Info:
            return "info";
        case cfg::LogLevel::Debug:
            return "debug";
    }
    return "?";
}

void log_set_level(cfg::LogLevel level) noexcept {
    (void)rte_log_set_level(static_cast<uint32_t>(log_type()), rte_level(level));
}

}  // namespace dirigo::dp
