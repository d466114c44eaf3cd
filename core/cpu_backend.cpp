#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/tensor.hpp"

namespace qreg {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  void gemm(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
            bool accumulate) override {
    sgemm(Trans::no, Trans::no, m, n, k, a, k, b, n, c, n, accumulate);
  }

  void fake_quantize(std::span<const float> x, float step, std::int32_t qmax, std::span<float> y) override {
    QREG_ASSERT(x.size() == y.size(), "fake_quantize: input and output sizes differ");
    const float inv = 1.0f / step, lim = static_cast<float>(qmax);
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = step * std::clamp(std::round(x[i] * inv), -lim, lim);
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace qreg
