// SPDX-License-Identifier: BSD-3-Clause
#include "cli/run.hpp"

#include <optional>
#include <utility>

namespace dirigo::ctl::cli {

namespace {

constexpr int kExitListFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRefused = 255;

/// One exchange with the daemon; prints what went wrong and yields the exit code on failure.
class Session {
public:
    Session(const RunEnv& env, std::string socket, std::string& err)
        : env_(env), socket_(std::move(socket)), err_(err) {}

    /// Sends `req`. On a transport failure or a refusal, prints the message and returns nullopt
    /// with exit_code() set: `refused_code` for a refusal, kExitUsage when the daemon cannot be
    /// reached (as ipvsadm exits 2 when it cannot talk to the kernel).
    std::optional<Reply> send(const Request& req, int refused_code) {
        if (!env_.call) {
            return fail(kExitUsage,
                        "cannot connect to dirigo at " + socket_ + ": no transport configured");
        }
        Result<Reply> rep = env_.call(socket_, req);
        if (!rep) {
            return fail(kExitUsage, rep.status().message());
        }
        if (rep->code != Errc::Ok) {
            return fail(refused_code, error_message(req.op, rep->code, rep->message));
        }
        return std::move(rep.value());
    }

    int exit_code() const { return exit_code_; }

    /// Prints `msg` and remembers `code` as the exit code.
    void report(int code, const std::string& msg) {
        err_ += msg + "\n";
        exit_code_ = code;
    }

private:
    std::optional<Reply> fail(int code, const std::string& msg) {
        report(code, msg);
        return std::nullopt;
    }

    const RunEnv& env_;
    std::string socket_;
    std::string& err_;
    int exit_code_ = 0;
};

int list(const Invocation& inv, Session& s, const Namer& namer, std::string& out) {
    const FormatOpts& fmt = inv.fmt;
    switch (inv.list) {
        case ListWhat::All: {
            Request ping;
            ping.op = Op::Ping;
            const auto info = s.send(ping, kExitListFailed);
            if (!info) {
                return s.exit_code();
            }
            const auto rep = s.send(inv.request, kExitListFailed);
            if (!rep) {
                return s.exit_code();
            }
            out += format_list(info->info, rep->services, fmt, namer);
            return 0;
        }
        case ListWhat::Service: {
            const auto rep = s.send(inv.request, kExitListFailed);
            if (!rep) {
                return s.exit_code();
            }
            const ServiceInfo* found = nullptr;
            for (const ServiceInfo& si : rep->services) {
                if (si.service.key == inv.request.service.key) {
                    found = &si;
                }
            }
            if (found == nullptr) {
                // A daemon that answers Ok without the service: report it as ipvsadm would.
                s.report(kExitListFailed, error_message(Op::List, Errc::NoService, ""));
                return s.exit_code();
            }
            out += format_title(fmt);
            out += format_service(*found, fmt, namer);
            return 0;
        }
        case ListWhat::Conns: {
            const auto rep = s.send(inv.request, kExitListFailed);
            if (!rep) {
                return s.exit_code();
            }
            out += format_conns(rep->conns, fmt, namer);
            return 0;
        }
        case ListWhat::Timeouts: {
            const auto rep = s.send(inv.request, kExitListFailed);
            if (!rep) {
                return s.exit_code();
            }
            out += format_timeouts(rep->timeouts);
            return 0;
        }
        case ListWhat::Daemon: {
            const auto rep = s.send(inv.request, kExitListFailed);
            if (!rep) {
                return s.exit_code();
            }
            out += format_daemons(rep->daemons);
            return 0;
        }
    }
    return 0;
}

/// dirigo's own views (--list-ports, ...): one request, then `format` turns the reply into text.
template <class Format>
int view(const Request& req, Session& s, std::string& out, Format&& format) {
    const auto rep = s.send(req, kExitListFailed);
    if (!rep) {
        return s.exit_code();
    }
    out += format(*rep);
    return 0;
}

}  // namespace

int run(std::span<const std::string> args, const RunEnv& env, std::string& out, std::string& err) {
    ParseEnv penv;
    penv.socket = env.socket;
    penv.resolver = env.resolver;
    Outcome<Invocation> parsed = parse_args(args, penv);
    if (!parsed.ok()) {
        const ArgError& e = parsed.error();
        if (!e.message.empty()) {
            err += e.message + "\n";
        }
        if (e.try_help) {
            err += "Try `" + env.program + " -h' or '" + env.program +
                   " --help' for more information.\n";
        }
        return e.exit_code;
    }
    const Invocation& inv = parsed.value();
    const NumericNamer numeric;
    const Namer& namer = env.namer != nullptr ? *env.namer : numeric;
    Session session(env, inv.socket, err);

    switch (inv.cmd) {
        case Command::Help:
            out += usage_text(env.program);
            return 0;
        case Command::Version: {
            // As ipvsadm names the IPVS it talks to, the line names the daemon's version.
            const auto rep = session.send(inv.request, kExitListFailed);
            if (!rep) {
                return session.exit_code();
            }
            out += version_text(rep->info.version);
            return 0;
        }
        case Command::List:
            return list(inv, session, namer, out);
        case Command::Save: {
            const auto rep = session.send(inv.request, kExitListFailed);
            if (!rep) {
                return session.exit_code();
            }
            out += format_save(rep->services, inv.fmt, namer);
            return 0;
        }
        case Command::Restore: {
            const std::string text = env.read_stdin ? env.read_stdin() : std::string();
            Outcome<Request> batch = parse_restore(text, env.resolver);
            if (!batch.ok()) {
                err += batch.error().message + "\n";
                return batch.error().exit_code;
            }
            if (batch.value().batch.empty()) {
                return 0;  // nothing to apply
            }
            return session.send(batch.value(), kExitRefused) ? 0 : session.exit_code();
        }
        case Command::ListPorts:
            return view(inv.request, session, out,
                        [&](const Reply& r) { return format_ports(r.ports, r.drops, inv.fmt); });
        case Command::ListWorkers:
            return view(inv.request, session, out,
                        [&](const Reply& r) { return format_workers(r.workers, inv.fmt); });
        case Command::ListNeighbours:
            return view(inv.request, session, out, [&](const Reply& r) {
                return format_neighbours(r.neighbours, inv.fmt, namer);
            });
        case Command::ListRoutes:
            return view(inv.request, session, out,
                        [&](const Reply& r) { return format_routes(r.routes, inv.fmt, namer); });
        case Command::ListMarks:
            return view(inv.request, session, out,
                        [&](const Reply& r) { return format_marks(r.marks); });
        case Command::AddMark:
        case Command::DelMark:
        case Command::AddService:
        case Command::EditService:
        case Command::DelService:
        case Command::Clear:
        case Command::AddServer:
        case Command::EditServer:
        case Command::DelServer:
        case Command::SetTimeouts:
        case Command::Zero:
        case Command::StartDaemon:
        case Command::StopDaemon:
            return session.send(inv.request, kExitRefused) ? 0 : session.exit_code();
    }
    return 0;
}

}  // namespace dirigo::ctl::cli
