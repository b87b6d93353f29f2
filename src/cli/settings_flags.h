// Makes each declared setting a flag of a CLI11 command, with its
// environment variable and help, parsed by the same code as the YAML file
// (config::Settings::Assign), so the three sources take the same values and
// refuse the same mistakes with the same words.
#pragma once

#include <CLI/CLI.hpp>

#include "config/settings.h"

namespace cairn::cli {

// REQUIRES: `settings` outlives the parse.
void AddSettingFlags(CLI::App* command, const config::Settings& settings);

}  // namespace cairn::cli
