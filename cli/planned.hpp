// Subcommands that are specified (DESIGN.md) but not built yet: they show their --help and fail
// with a clear "not implemented yet" (exit 1) naming the issue that builds them.
#pragma once

#include "cli/command.hpp"

namespace qreg::cli {

void add_planned_command(CLI::App& app, Action& action, const std::string& name, const std::string& description,
                         const std::string& issue);

}  // namespace qreg::cli
