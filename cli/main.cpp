// qreg executable: a thin front end over the qreg_cli library.
#include <unistd.h>

#include <iostream>

#include "cli/app.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  qreg::cli::Output io{std::cout, std::cerr, ::isatty(STDERR_FILENO) != 0};
  const int rc = qreg::cli::run_cli({argv + 1, argv + argc}, io);
  std::cout.flush();
  return rc;
}
