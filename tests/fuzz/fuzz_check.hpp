// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// What the fuzz targets share: a property check that aborts (so libFuzzer saves the input, and a
/// replay run fails) with a message saying which property broke. Every target is one
/// LLVMFuzzerTestOneInput in its own file; replay_main.cpp gives each a plain main for the gcc
/// suites. Thread: any. Cost: none unless it fires.

#include <cstdio>
#include <cstdlib>

/// Aborts with `what` when `cond` is false. Active in every build type (not an assert).
#define DIRIGO_FUZZ_CHECK(cond, what)                                                        \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "fuzz: %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
            std::abort();                                                                    \
        }                                                                                    \
    } while (false)

/// True when AddressSanitizer instruments this file (gcc and clang spell it differently).
#if defined(__SANITIZE_ADDRESS__)
#define DIRIGO_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIRIGO_FUZZ_ASAN 1
#endif
#endif
#ifndef DIRIGO_FUZZ_ASAN
#define DIRIGO_FUZZ_ASAN 0
#endif
