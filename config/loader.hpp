// SPDX-License-Identifier: BSD-3-Clause
#pragma once

/// Reads a libconfig file into a validated Config. Every error names the file, the line and the
/// key ("dirigo.conf:7: ports.[1].addresses.[0]: bad prefix \"10.0.0/24\"").
/// Thread: any (startup). Cost: proportional to the file.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/status.hpp"

namespace dirigo::cfg {

/// What the loader cannot know by itself. The config module has no list of schedulers: the daemon
/// passes a check backed by the scheduler registry.
struct LoadOptions {
    /// Returns why a scheduler name is unusable (e.g. `unknown scheduler "rrr"`), or nullopt if it
    /// is fine. Empty: any non-empty name is accepted.
    std::function<std::optional<std::string>(std::string_view)> check_scheduler;
};

/// Loads and validates `path`. Errors: Errc::Io when the file cannot be read, otherwise
/// Errc::Invalid (or ServiceExists/DestExists for duplicates) with "FILE:LINE: KEY.PATH: what".
/// Thread: any (startup or reload). Cost: proportional to the file.
Result<Config> load_file(const std::string& path, const LoadOptions& opts = {});
/// Loads and validates libconfig text; `name` stands for the file name in messages.
/// Thread: any. Cost: proportional to the text.
Result<Config> load_string(const std::string& text, const std::string& name = "<string>",
                           const LoadOptions& opts = {});

}  // namespace dirigo::cfg
