// Backend registry: lists the compiled-in backends, says which are usable and why not, and makes
// one by name (asking for an absent one names those that exist).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace qreg {

struct BackendInfo {
  std::string name;
  bool compiled = false;  // built into this binary
  bool usable = false;    // a device is present and a driver answers
  std::string detail;     // device count, or the reason it is not usable
};

std::vector<BackendInfo> list_backends();
/// The entry of `name`; UsageError naming the known backends when there is none.
BackendInfo find_backend(const std::string& name);
/// Throws UsageError for an unknown name, Error for a known but unusable backend.
std::unique_ptr<Backend> make_backend(const std::string& name);

}  // namespace qreg
