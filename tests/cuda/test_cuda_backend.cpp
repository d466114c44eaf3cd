// CUDA backend against its CPU twin on random inputs (the CPU result is the reference).
// fake_quantize: both sides compute step·clamp(round(x·(1/step)), ±qmax) with the same float
// operations (round-to-nearest multiply, round half away from zero), so they must agree bitwise.
// gemm: sums of k products in different orders; the bound is relative to Σ|a||b|, which bounds
// each output's rounding error by k·eps_f·Σ|a_i||b_i| (a deterministic worst case, here k·2^-24).
// Skips cleanly when no CUDA device is usable (as on machines without a GPU).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "cuda/cuda_backend.hpp"

namespace {

std::vector<float> random_vector(std::size_t n, std::uint64_t stream, float scale) {
  qreg::RandomStream rng(42, stream);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * static_cast<float>(rng.normal());
  return v;
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason;
    if (qreg::cuda::device_count(&reason) == 0) GTEST_SKIP() << "no usable CUDA device: " << reason;
    gpu_ = qreg::cuda::make_backend();
    cpu_ = qreg::make_cpu_backend();
  }
  std::unique_ptr<qreg::Backend> gpu_, cpu_;
};

TEST_F(CudaBackendTest, FakeQuantizeMatchesCpuBitwise) {
  const auto x = random_vector(100'003, 1, 0.7f);
  for (int bits : {2, 4, 8, 16}) {
    const std::int32_t qmax = (1 << (bits - 1)) - 1;
    const float step = 2.5f / static_cast<float>(qmax);
    std::vector<float> y_cpu(x.size()), y_gpu(x.size());
    cpu_->fake_quantize(x, step, qmax, y_cpu);
    gpu_->fake_quantize(x, step, qmax, y_gpu);
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y_cpu[i], y_gpu[i]) << "bits " << bits << " i " << i;
  }
}

TEST_F(CudaBackendTest, GemmMatchesCpuWithinRoundingBound) {
  const std::int64_t m = 130, n = 77, k = 513;
  const auto a = random_vector(m * k, 2, 1.0f), b = random_vector(k * n, 3, 1.0f);
  std::vector<float> c_cpu(m * n), c_gpu(m * n);
  cpu_->gemm(m, n, k, a.data(), b.data(), c_cpu.data(), false);
  gpu_->gemm(m, n, k, a.data(), b.data(), c_gpu.data(), false);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double abs_sum = 0;
      for (std::int64_t p = 0; p < k; ++p) abs_sum += std::abs(a[i * k + p] * b[p * n + j]);
      const double bound = static_cast<double>(k) * std::ldexp(1.0, -24) * abs_sum;
      ASSERT_NEAR(c_cpu[i * n + j], c_gpu[i * n + j], bound) << i << "," << j;
    }
}

}  // namespace
