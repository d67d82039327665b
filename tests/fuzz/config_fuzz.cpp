// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: the config loader (config/loader.hpp, load_string), libconfig's parser and then
// every check of the loader. The input is the text of a dirigo.conf. A config that loads must
// have a port (the loader's own rule) and only services that validate_service accepts, as the
// control plane will check them again on every change; one that fails must say why.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.hpp"
#include "config/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 65536) {
        return 0;  // far beyond any real config
    }
    const std::string text(reinterpret_cast<const char*>(data), size);
    // @include reads other files (relative to the current directory, or /dev/zero): the target
    // stays in memory.
    if (text.find("@include") != std::string::npos) {
        return 0;
    }
    const auto cfg = dirigo::cfg::load_string(text, "fuzz.conf");
    if (!cfg.is_ok()) {
        DIRIGO_FUZZ_CHECK(!cfg.status().message().empty(), "a refused config says why");
        return 0;
    }
    DIRIGO_FUZZ_CHECK(!cfg->ports.empty(), "a loaded config has a port");
    for (const auto& s : cfg->services) {
        DIRIGO_FUZZ_CHECK(dirigo::cfg::validate_service(s).is_ok(), "loaded services validate");
    }
    return 0;
}
