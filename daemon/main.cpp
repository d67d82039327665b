// SPDX-License-Identifier: BSD-3-Clause
// dirigo: the daemon. Reads a libconfig file, starts EAL, the ports and the workers, then serves
// the control socket on the main lcore until SIGINT or SIGTERM.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "config/loader.hpp"
#include "control/control.hpp"
#include "dataplane/dataplane.hpp"
#include "host/host.hpp"
#include "metrics/operations.hpp"
#include "schedulers/scheduler.hpp"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

void usage(FILE* f) {
    std::fprintf(f,
                 "usage: dirigo -c FILE [--check]\n"
                 "       dirigo --version | --help\n"
                 "\n"
                 "  -c, --config FILE  libconfig file (see docs/configuration.md)\n"
                 "      --check        validate the file and exit\n");
}

std::optional<std::string> check_scheduler(std::string_view name) {
    if (dirigo::sched::parse_sched(name)) {
        return std::nullopt;
    }
    return "unknown scheduler \"" + std::string(name) +
           "\" (valid: " + dirigo::sched::sched_names() + ")";
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a == "--check") {
            check_only = true;
        } else if (a == "--version" || a == "-v") {
            std::printf("dirigo %s\n", DIRIGO_VERSION);
            return 0;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "dirigo: unexpected argument \"%s\"\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (config_path.empty()) {
        usage(stderr);
        return 2;
    }
    dirigo::cfg::LoadOptions opts;
    opts.check_scheduler = check_scheduler;
    auto cfg = dirigo::cfg::load_file(config_path, opts);
    if (!cfg) {
        std::fprintf(stderr, "dirigo: %s\n", cfg.status().message().c_str());
        return 1;
    }
    if (check_only) {
        std::printf("%s: ok\n", config_path.c_str());
        return 0;
    }

    std::vector<std::string> eal_args{"dirigo"};
    eal_args.insert(eal_args.end(), cfg->eal.begin(), cfg->eal.end());
    std::vector<char*> eal_argv;
    for (std::string& s : eal_args) {
        eal_argv.push_back(s.data());
    }
    eal_argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal_args.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "dirigo: EAL initialisation failed (eal = [...] in %s): %s\n",
                     config_path.c_str(), rte_strerror(rte_errno));
        return 1;
    }
    int rc = 0;
    {
        const uint32_t n_workers = rte_lcore_count() - 1;
        auto dp = dirigo::dp::Dataplane::create(*cfg, n_workers);
        if (!dp) {
            std::fprintf(stderr, "dirigo: %s\n", dp.status().message().c_str());
            rte_eal_cleanup();
            return 1;
        }
        // Host integration: the ports' kernel interfaces, and the kernel's addresses and routes
        // as the topology, before the first snapshot is built.
        std::unique_ptr<dirigo::host::Host> host;
        if (cfg->host.kernel_interfaces) {
            auto h = dirigo::host::Host::create(**dp, *cfg);
            if (!h) {
                std::fprintf(stderr, "dirigo: %s\n", h.status().message().c_str());
                dp->reset();
                rte_eal_cleanup();
                return 1;
            }
            host = std::move(*h);
        }
        // Handlers first: a signal during start-up must still stop cleanly and remove the socket.
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::signal(SIGPIPE, SIG_IGN);
        dirigo::ctl::Control control(**dp, *cfg);
        control.attach_host(host.get());
        dirigo::Status s = control.load_initial();
        if (s) {
            s = control.open_socket();
        }
        if (s) {
            s = (*dp)->launch();
        }
        // Metrics endpoint, telemetry commands and capture server (docs/operations.md).
        dirigo::metrics::Operations ops(control, **dp, cfg->metrics);
        if (s) {
            s = ops.open();
        }
        control.add_round_hook([&ops] { ops.round(); });
        if (!s) {
            std::fprintf(stderr, "dirigo: %s\n", s.message().c_str());
            rc = 1;
        } else {
            std::fprintf(stderr, "dirigo %s: %u worker(s), %zu service(s), control socket %s\n",
                         DIRIGO_VERSION, n_workers, cfg->services.size(),
                         cfg->control.socket.c_str());
            control.run(g_stop);
            std::fprintf(stderr, "dirigo: stopping\n");
        }
        (*dp)->stop();
        // After the workers: a capture still attached has callbacks on their RX/TX bursts.
        ops.close();
        control.close_socket();
        control.attach_host(nullptr);
        host.reset();  // the interfaces go, with the buffers their queues held
        const uint32_t leaked = (*dp)->shutdown();
        if (leaked != 0) {
            std::fprintf(stderr, "dirigo: %u mbufs still in use at exit\n", leaked);
            rc = rc == 0 ? 3 : rc;
        } else {
            std::fprintf(stderr, "dirigo: ports stopped, all mbufs returned\n");
        }
    }
    rte_eal_cleanup();
    return rc;
}
