#include "backends/registry.hpp"

#include "core/error.hpp"
#include "core/gemm.hpp"
#if QREG_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace qreg {

std::vector<BackendInfo> list_backends() {
  std::vector<BackendInfo> out;
  out.push_back({"cpu", true, true, gemm_library() + " + oneTBB"});
#if QREG_HAVE_CUDA
  std::string reason;
  const int n = cuda::device_count(&reason);
  out.push_back({"cuda", true, n > 0, n > 0 ? std::to_string(n) + " device(s)" : reason});
#else
  out.push_back({"cuda", false, false, "not compiled in (configure with QREG_WITH_CUDA=ON and nvcc)"});
#endif
  return out;
}

BackendInfo find_backend(const std::string& name) {
  std::string names;
  for (BackendInfo& b : list_backends()) {
    if (b.name == name) return b;
    names += (names.empty() ? "" : ", ") + b.name;
  }
  throw UsageError("backend '" + name + "' does not exist (available: " + names + ")");
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "cpu") return make_cpu_backend();
  if (name == "cuda") {
#if QREG_HAVE_CUDA
    return cuda::make_backend();
#else
    throw Error("backend 'cuda' is not compiled into this qreg (rebuild with QREG_WITH_CUDA=ON)");
#endif
  }
  find_backend(name);  // throws: no such backend
  throw UsageError("backend '" + name + "' does not exist");
}

}  // namespace qreg
