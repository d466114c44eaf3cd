// The small compute-backend interface that CPU and CUDA both implement. Buffers are host memory;
// a device backend copies in and out (device-resident work lives behind higher-level calls).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace qreg {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  /// C[m, n] = A[m, k] · B[k, n] (+ C when accumulate), all row-major float.
  virtual void gemm(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
                    bool accumulate) = 0;
  /// y = step · clamp(round(x / step), -qmax, qmax), elementwise (round half away from zero).
  virtual void fake_quantize(std::span<const float> x, float step, std::int32_t qmax, std::span<float> y) = 0;
};

/// The CPU backend (core/gemm.hpp: OpenBLAS or Eigen); always available.
std::unique_ptr<Backend> make_cpu_backend();

}  // namespace qreg
