// Error types and invariant checks shared by every module.
// Exceptions at public boundaries; main() maps them to exit codes (0 ok, 1 runtime, 2 usage).
#pragma once

#include <stdexcept>
#include <string>

namespace qreg {

/// A runtime failure: bad input file, unsupported model, numerical breakdown. Exit status 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A usage error: bad option value, out-of-range bits, inconsistent arguments. Exit status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const std::string& what);

}  // namespace qreg

/// Internal invariant; a failure is a bug in qreg, not bad input.
#define QREG_ASSERT(cond, what)                                               \
  do {                                                                        \
    if (!(cond)) ::qreg::assertion_failed(#cond, __FILE__, __LINE__, (what)); \
  } while (0)
