// Runs the qreg command line in-process and captures its exit status, stdout and stderr.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "cli/app.hpp"

struct CliRun {
  int rc;
  std::string out, err;
};

inline CliRun run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  qreg::cli::Output io{out, err, false};
  const int rc = qreg::cli::run_cli(args, io);
  return {rc, out.str(), err.str()};
}
