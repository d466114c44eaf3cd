// Version, commit and build options of this qreg binary (one generated .cpp holds them).
#pragma once

#include <string>

namespace qreg {

struct BuildInfo {
  std::string version;     // semantic version, e.g. "0.1.0"
  std::string commit;      // short git hash at build time, "-dirty" when tracked files were modified
  std::string build_type;  // CMAKE_BUILD_TYPE
  std::string compiler;    // compiler id and version
  std::string arch_flags;  // -march=native or -march=x86-64-v3
  std::string sanitize;    // QREG_SANITIZE, empty when off
  bool cuda_compiled;      // QREG_HAVE_CUDA
};

const BuildInfo& build_info();

}  // namespace qreg
