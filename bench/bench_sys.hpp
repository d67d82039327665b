// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// What the benchmarks read from the system: resident memory (/proc/self/statm), available memory
/// (/proc/meminfo), the EAL argument vector they start with, and EAL's clean-up.
/// Thread: any. Cost: a file read per call (never on a timed path).

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>

namespace dirigo::bench {

/// Resident set size of this process in bytes, or 0 if /proc is unreadable.
inline uint64_t resident_bytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) {
        return 0;
    }
    unsigned long size = 0;
    unsigned long resident = 0;
    const int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    if (n != 2) {
        return 0;
    }
    return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

/// MemAvailable from /proc/meminfo in bytes, or 0 if unknown.
inline uint64_t available_bytes() {
    FILE* f = std::fopen("/proc/meminfo", "r");
    if (f == nullptr) {
        return 0;
    }
    char line[256];
    uint64_t kib = 0;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
        unsigned long long v = 0;
        if (std::sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
            kib = v;
            break;
        }
    }
    std::fclose(f);
    return kib * 1024;
}

/// Owns an argv for rte_eal_init (EAL keeps pointers into it, so it lives as long as EAL).
class EalArgs {
public:
    /// `prog -l lcores --no-huge --no-pci -m mem_mb --file-prefix=prefix_PID --no-telemetry`;
    /// `mem_mb` 0 means hugepages: neither --no-huge nor -m (EAL takes pages as it needs them).
    EalArgs(const std::string& prog, const std::string& lcores, uint32_t mem_mb,
            const std::string& prefix) {
        // "0-1" is a list of lcores (-l); "0@0,1@1,2@0" maps lcores onto CPUs (--lcores).
        args_ = {prog, lcores.find('@') != std::string::npos ? "--lcores" : "-l", lcores};
        if (mem_mb != 0) {
            args_.insert(args_.end(), {"--no-huge", "-m", std::to_string(mem_mb)});
        }
        args_.insert(args_.end(),
                     {"--no-pci", "--file-prefix=" + prefix + "_" + std::to_string(getpid()),
                      "--no-telemetry", "--log-level=*:warning"});
        for (auto& a : args_) {
            argv_.push_back(a.data());
        }
        argv_.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(argv_.size()) - 1; }
    char** argv() { return argv_.data(); }
    /// The arguments after the program name, space-separated (for reports).
    std::string joined() const {
        std::string s;
        for (size_t i = 1; i < args_.size(); ++i) {
            s += (i > 1 ? " " : "") + args_[i];
        }
        return s;
    }

private:
    std::vector<std::string> args_;
    std::vector<char*> argv_;
};

/// rte_eal_cleanup(), then removes the runtime directory EAL leaves behind
/// (/var/run/dpdk/PREFIX_PID), as the test harness does for its own processes.
inline void eal_cleanup() {
    const std::string runtime = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(runtime, ec);
}

}  // namespace dirigo::bench
