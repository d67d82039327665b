// SPDX-License-Identifier: BSD-3-Clause
// dirigoadm: ipvsadm's command line for the dirigo load balancer. All the logic lives in
// cli/ (run.hpp); this file only connects it to argv, the environment, stdin, stdout,
// stderr, the system's name services and the control socket.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/run.hpp"
#include "cli/system_names.hpp"
#include "proto/client.hpp"

int main(int argc, char** argv) {
    using namespace dirigo::ctl;
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);

    const cli::SystemResolver resolver;
    const cli::SystemNamer namer;
    cli::RunEnv env;
    env.program = "dirigoadm";
    if (const char* s = std::getenv("DIRIGO_SOCKET"); s != nullptr && *s != '\0') {
        env.socket = s;
    }
    env.resolver = &resolver;
    env.namer = &namer;
    env.call = [](const std::string& socket, const Request& req) { return call(socket, req); };
    env.read_stdin = [] {
        return std::string(std::istreambuf_iterator<char>(std::cin),
                           std::istreambuf_iterator<char>());
    };

    std::string out;
    std::string err;
    const int code = cli::run(args, env, out, err);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    std::fwrite(err.data(), 1, err.size(), stderr);
    return code;
}
