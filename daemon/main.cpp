// SPDX-License-Identifier: BSD-3-Clause
// dirigo: the daemon. Reads a libconfig file, starts EAL, the ports and the workers, then serves
// the control socket on the main lcore until SIGINT or SIGTERM. Its messages go through DPDK's
// log (dataplane/log.hpp); only --help, --version and --check's "ok" are printed directly.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if DIRIGO_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "config/loader.hpp"
#include "control/control.hpp"
#include "control/reload.hpp"
#include "daemon/rules_file.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/log.hpp"
#include "host/host.hpp"
#include "metrics/operations.hpp"
#include "schedulers/scheduler.hpp"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_signal(int) { g_stop.store(true); }
// Only a flag: the control loop reloads (reload_config) between two rounds.
void on_hup(int) { g_reload.store(true); }

/// Tells systemd (Type=notify) where the daemon stands; nothing without NOTIFY_SOCKET or
/// libsystemd.
void notify(const char* state) {
#if DIRIGO_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) {
        out += (out.empty() ? "" : ", ") + s;
    }
    return out;
}

/// A reload's new `log.level`, said at the more verbose of the two levels so that the line is
/// written whichever way the level moves.
void apply_log_level(dirigo::cfg::LogLevel from, dirigo::cfg::LogLevel to) {
    if (from == to) {
        return;
    }
    if (to > from) {
        dirigo::dp::log_set_level(to);
    }
    DIRIGO_LOG(NOTICE, "log level %s (was %s)", dirigo::dp::level_name(to),
               dirigo::dp::level_name(from));
    if (to < from) {
        dirigo::dp::log_set_level(to);
    }
}

/// SIGHUP: reads the config again and applies its services and timeouts as one change
/// (control/reload.hpp has the semantics), and its log level. A file that does not load, or a
/// change the rules reject, changes nothing.
void reload_config(dirigo::ctl::Control& control, const std::string& path,
                   const dirigo::cfg::LoadOptions& opts) {
    auto next = dirigo::cfg::load_file(path, opts);
    if (!next) {
        DIRIGO_LOG(ERR, "reload of %s rejected, nothing changed: %s", path.c_str(),
                   next.status().message().c_str());
        return;
    }
    const std::vector<std::string> restart = dirigo::ctl::restart_needed(control.config(), *next);
    if (!restart.empty()) {
        DIRIGO_LOG(WARNING, "reload: the changes to %s need a restart and were not applied",
                   join(restart).c_str());
    }
    const dirigo::cfg::LogLevel level = control.config().log.level;
    const dirigo::ctl::Request batch = dirigo::ctl::reload_batch(
        control.config(), *next, control.model().services(), control.model().marks());
    if (batch.batch.empty()) {
        control.set_config_rules(*next);
        apply_log_level(level, next->log.level);
        DIRIGO_LOG(NOTICE, "reloaded %s: services and timeouts unchanged", path.c_str());
        return;
    }
    const dirigo::ctl::Reply r = control.handle(batch);
    if (r.code != dirigo::Errc::Ok) {
        DIRIGO_LOG(ERR, "reload of %s rejected, nothing changed: %s", path.c_str(),
                   r.message.c_str());
        return;
    }
    control.set_config_rules(*next);
    apply_log_level(level, next->log.level);
    DIRIGO_LOG(NOTICE, "reloaded %s: %zu rule change(s) applied as one transaction", path.c_str(),
               batch.batch.size());
}

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
    // Before any message: stderr only until we know this is the daemon (not --check).
    dirigo::dp::log_open(false);
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
            DIRIGO_LOG(ERR, "unexpected argument \"%s\"", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (config_path.empty()) {
        usage(stderr);
        return 2;
    }
    // The daemon's messages also go to syslog from here on, a bad config's included.
    dirigo::dp::log_open(!check_only);
    dirigo::cfg::LoadOptions opts;
    opts.check_scheduler = check_scheduler;
    auto cfg = dirigo::cfg::load_file(config_path, opts);
    if (!cfg) {
        DIRIGO_LOG(ERR, "%s", cfg.status().message().c_str());
        return 1;
    }
    if (check_only) {
        std::printf("%s: ok\n", config_path.c_str());
        return 0;
    }
    // Before EAL: an `eal = [ "--log-level=dirigo:debug" ]` parsed by rte_eal_init overrides it.
    dirigo::dp::log_set_level(cfg->log.level);

    std::vector<std::string> eal_args{"dirigo"};
    eal_args.insert(eal_args.end(), cfg->eal.begin(), cfg->eal.end());
    std::vector<char*> eal_argv;
    for (std::string& s : eal_args) {
        eal_argv.push_back(s.data());
    }
    eal_argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal_args.size()), eal_argv.data()) < 0) {
        DIRIGO_LOG(ERR, "EAL initialisation failed (eal = [...] in %s): %s", config_path.c_str(),
                   rte_strerror(rte_errno));
        return 1;
    }
    int rc = 0;
    {
        const uint32_t n_workers = rte_lcore_count() - 1;
        auto dp = dirigo::dp::Dataplane::create(*cfg, n_workers);
        if (!dp) {
            DIRIGO_LOG(ERR, "%s", dp.status().message().c_str());
            rte_eal_cleanup();
            return 1;
        }
        // Host integration: the ports' kernel interfaces, and the kernel's addresses and routes
        // as the topology, before the first snapshot is built.
        std::unique_ptr<dirigo::host::Host> host;
        if (cfg->host.kernel_interfaces) {
            auto h = dirigo::host::Host::create(**dp, *cfg);
            if (!h) {
                DIRIGO_LOG(ERR, "%s", h.status().message().c_str());
                dp->reset();
                rte_eal_cleanup();
                return 1;
            }
            host = std::move(*h);
        }
        // Handlers first: a signal during start-up must still stop cleanly and remove the socket.
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::signal(SIGHUP, on_hup);
        std::signal(SIGPIPE, SIG_IGN);
        dirigo::ctl::Control control(**dp, *cfg);
        control.attach_host(host.get());
        dirigo::Status s = control.load_initial();
        // The rules file, after the config's services: the services it holds replace the
        // config's of the same key (control/reload.hpp). A bad file stops the start: saving over
        // it would lose the operator's rules.
        const std::string& rules_path = cfg->control.rules;
        if (s && !rules_path.empty()) {
            auto file = dirigo::daemon::read_rules(rules_path);
            if (!file) {
                s = dirigo::Status(file.status().code(),
                                   file.status().message() + " (fix or remove it)");
            } else if (!file->batch.empty()) {
                const dirigo::ctl::Reply r = control.handle(dirigo::ctl::restore_batch(
                    *file, control.model().services(), control.model().marks()));
                if (r.code != dirigo::Errc::Ok) {
                    s = dirigo::Status(r.code, "rules file " + rules_path + ": " + r.message +
                                                   " (fix or remove it)");
                } else {
                    DIRIGO_LOG(NOTICE, "restored %zu rule(s) from %s", file->batch.size(),
                               rules_path.c_str());
                }
            }
        }
        std::unique_ptr<dirigo::daemon::RulesSaver> saver;
        if (s && !rules_path.empty()) {
            saver = std::make_unique<dirigo::daemon::RulesSaver>(rules_path, control.generation());
        }
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
        control.add_round_hook([&control, &saver, &config_path, &opts] {
            if (g_reload.exchange(false)) {
                notify("RELOADING=1");
                reload_config(control, config_path, opts);
                notify("READY=1");
            }
            if (saver) {
                saver->tick(control.model(), control.generation(), now_ms());
            }
        });
        if (!s) {
            DIRIGO_LOG(ERR, "%s", s.message().c_str());
            rc = 1;
        } else {
            DIRIGO_LOG(
                NOTICE, "started, version %s: %u worker(s), %zu service(s), control socket %s",
                DIRIGO_VERSION, n_workers, cfg->services.size(), cfg->control.socket.c_str());
            // The socket is open and the workers run: systemd may start what comes after us.
            notify("READY=1\nSTATUS=forwarding");
            control.run(g_stop);
            notify("STOPPING=1");
            DIRIGO_LOG(NOTICE, "stopping");
        }
        if (saver) {
            saver->stop(control.model(), control.generation());
        }
        (*dp)->stop();
        // After the workers: a capture still attached has callbacks on their RX/TX bursts.
        ops.close();
        control.close_socket();
        control.attach_host(nullptr);
        host.reset();  // the interfaces go, with the buffers their queues held
        const uint32_t leaked = (*dp)->shutdown();
        if (leaked != 0) {
            DIRIGO_LOG(ERR, "%u mbufs still in use at exit", leaked);
            rc = rc == 0 ? 3 : rc;
        } else {
            DIRIGO_LOG(INFO, "ports stopped, all mbufs returned");
        }
    }
    rte_eal_cleanup();
    return rc;
}
