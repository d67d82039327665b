// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// dirigoadm from arguments to exit code: parse the command line, send the request(s), format the
/// reply. Everything that touches the outside world (the socket, stdin, name services) comes in
/// through RunEnv, and output goes to strings, so the whole program is testable with a fake
/// daemon (tests/unit/cli/run_test.cpp); main.cpp only wires the real ones in.
///
/// Exit codes, as ipvsadm's:
///   0    success
///   1    a listing failed (e.g. "No such service" for -L -t)
///   2    bad arguments, or the daemon cannot be reached ("Can't initialize ipvs" in ipvsadm)
///   255  the daemon refused a change (ipvsadm returns -1), or an unknown option / no command

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "config/status.hpp"
#include "cli/args.hpp"
#include "cli/format.hpp"
#include "proto/protocol.hpp"

namespace dirigo::ctl::cli {

/// The outside world as dirigoadm sees it.
struct RunEnv {
    std::string program = "dirigoadm";  ///< for "Try `dirigoadm -h'" and the usage text
    std::string socket = std::string(kDefaultSocket);  ///< DIRIGO_SOCKET or kDefaultSocket
    const Resolver* resolver = nullptr;                ///< forward lookups; nullptr: numeric only
    const Namer* namer = nullptr;                      ///< reverse lookups; nullptr: always numeric
    /// Sends one request to the daemon at `socket` (ctl::call in the real program).
    std::function<Result<Reply>(const std::string& socket, const Request&)> call;
    /// Reads all of standard input (for -R).
    std::function<std::string()> read_stdin;
};

/// Runs one dirigoadm invocation: `args` excludes argv[0]. Output for stdout is appended to
/// `out`, messages for stderr to `err`. Returns the exit code.
/// Thread: any (one invocation at a time per RunEnv). Cost: one or two daemon round trips.
int run(std::span<const std::string> args, const RunEnv& env, std::string& out, std::string& err);

}  // namespace dirigo::ctl::cli
