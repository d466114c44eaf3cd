#include "cuda/cuda_check.cuh"
#include "cuda/fake_quantize.cuh"

namespace qreg::cuda {
namespace {

// roundf rounds half away from zero, exactly as std::round on the CPU twin; the division is
// replaced by the same multiplication by 1/step that the CPU uses, so results match bitwise.
__global__ void fake_quantize_kernel(const float* x, float step, float inv_step, float lim, float* y, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = step * fminf(fmaxf(roundf(__fmul_rn(x[i], inv_step)), -lim), lim);
}

}  // namespace

void fake_quantize_device(const float* x, float step, std::int32_t qmax, float* y, std::int64_t n) {
  if (n == 0) return;
  constexpr int kBlock = 256;
  const auto blocks = static_cast<unsigned>((n + kBlock - 1) / kBlock);
  fake_quantize_kernel<<<blocks, kBlock>>>(x, step, 1.0f / step, static_cast<float>(qmax), y, n);
  QREG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace qreg::cuda
