// SPDX-License-Identifier: BSD-3-Clause
// A plain main for a fuzz target, so that builds without libFuzzer (gcc, the sanitizer build)
// replay the checked-in corpora: every argument is a file, or a directory whose regular files
// are replayed in name order, each once through LLVMFuzzerTestOneInput. A finding aborts inside
// the target (DIRIGO_FUZZ_CHECK or a sanitizer), which fails the test.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool replay(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return false;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    // An exact-size heap copy: the target sees what libFuzzer would give it, and ASan's redzone
    // sits right after the last byte.
    std::vector<uint8_t> data(bytes.begin(), bytes.end());
    std::printf("replay: %s (%zu bytes)\n", file.c_str(), data.size());
    std::fflush(stdout);
    LLVMFuzzerTestOneInput(data.data(), data.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    size_t done = 0;
    for (int i = 1; i < argc; ++i) {
        const fs::path arg(argv[i]);
        std::vector<fs::path> files;
        if (fs::is_directory(arg)) {
            for (const auto& e : fs::directory_iterator(arg)) {
                if (e.is_regular_file()) {
                    files.push_back(e.path());
                }
            }
            std::sort(files.begin(), files.end());
        } else {
            files.push_back(arg);
        }
        if (files.empty()) {
            std::fprintf(stderr, "replay: %s holds no input\n", argv[i]);
            return 1;
        }
        for (const auto& f : files) {
            if (!replay(f)) {
                return 1;
            }
            ++done;
        }
    }
    std::printf("replay: %zu inputs, no finding\n", done);
    return 0;
}
