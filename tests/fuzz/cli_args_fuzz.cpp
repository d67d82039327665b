// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: dirigoadm's command-line parser (control/cli/args.hpp, parse_args). The input is a
// command line, one argument per line (so the seeds read as what an operator types). Names
// resolve through a small fixed table, as a resolver with /etc/hosts and /etc/services would.
// A command line that parses gives a request that must encode and decode again.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.hpp"
#include "proto/protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace dirigo;
using namespace dirigo::ctl;

/// Knows "web1", "web2" and "vip", and the services "http" and "https".
class TableResolver final : public cli::Resolver {
public:
    std::optional<cfg::Ip4> host(std::string_view name) const override {
        if (name == "web1") {
            return 0xac100002u;
        }
        if (name == "web2") {
            return 0xac100003u;
        }
        if (name == "vip") {
            return 0x0a000064u;
        }
        return std::nullopt;
    }
    std::optional<uint16_t> service(std::string_view name, cfg::Proto) const override {
        if (name == "http") {
            return 80;
        }
        if (name == "https") {
            return 443;
        }
        return std::nullopt;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) {
        return 0;  // longer than any command line worth searching
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args;
    size_t start = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        const size_t end = nl == std::string_view::npos ? text.size() : nl;
        args.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    static const TableResolver resolver;
    cli::ParseEnv env;
    env.resolver = &resolver;
    auto inv = cli::parse_args(args, env);
    if (!inv.ok()) {
        // No command at all is refused as ipvsadm refuses it: only the "Try -h" hint.
        const auto& e = inv.error();
        DIRIGO_FUZZ_CHECK(!e.message.empty() || e.try_help, "a refused command line says why");
        DIRIGO_FUZZ_CHECK(e.exit_code == 2 || e.exit_code == 255, "ipvsadm's exit codes");
        return 0;
    }
    const std::vector<uint8_t> frame = encode_request(inv.value().request);
    DIRIGO_FUZZ_CHECK(frame.size() >= kHeaderSize, "an encoded request holds a header");
    const auto back = decode_request(std::span(frame).subspan(kHeaderSize));
    DIRIGO_FUZZ_CHECK(back.is_ok(), "a parsed command line encodes to a valid request");
    return 0;
}
