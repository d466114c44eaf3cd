// The qreg command line as a library: parse arguments, dispatch to a command, map errors to exit
// codes (0 ok, 1 runtime error, 2 usage). main() is a thin wrapper so tests can run it in-process.
#pragma once

#include <string>
#include <vector>

#include "cli/command.hpp"

namespace qreg::cli {

/// args excludes the program name. Never throws; errors become one line on io.err.
int run_cli(const std::vector<std::string>& args, Output& io);

}  // namespace qreg::cli
