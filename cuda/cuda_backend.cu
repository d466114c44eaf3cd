#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <span>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_check.cuh"
#include "cuda/fake_quantize.cuh"

namespace qreg::cuda {
namespace {

/// A device buffer of floats, freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    if (n_) QREG_CUDA_CHECK(cudaMalloc(&ptr_, n_ * sizeof(float)));
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* get() { return static_cast<float*>(ptr_); }
  void upload(const float* host) {
    QREG_CUDA_CHECK(cudaMemcpy(ptr_, host, n_ * sizeof(float), cudaMemcpyHostToDevice));
  }
  void download(float* host) const {
    QREG_CUDA_CHECK(cudaMemcpy(host, ptr_, n_ * sizeof(float), cudaMemcpyDeviceToHost));
  }

 private:
  void* ptr_ = nullptr;
  std::size_t n_;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend() { QREG_CUBLAS_CHECK(cublasCreate(&handle_)); }
  ~CudaBackend() override { cublasDestroy(handle_); }
  std::string name() const override { return "cuda"; }

  // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ, so cuBLAS is called with the operands swapped.
  void gemm(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
            bool accumulate) override {
    DeviceBuffer da(static_cast<std::size_t>(m * k)), db(static_cast<std::size_t>(k * n)),
        dc(static_cast<std::size_t>(m * n));
    da.upload(a);
    db.upload(b);
    if (accumulate) dc.upload(c);
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    QREG_CUBLAS_CHECK(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                  static_cast<int>(k), &alpha, db.get(), static_cast<int>(n), da.get(),
                                  static_cast<int>(k), &beta, dc.get(), static_cast<int>(n)));
    dc.download(c);
  }

  void fake_quantize(std::span<const float> x, float step, std::int32_t qmax, std::span<float> y) override {
    DeviceBuffer dx(x.size()), dy(y.size());
    dx.upload(x.data());
    fake_quantize_device(dx.get(), step, qmax, dy.get(), static_cast<std::int64_t>(x.size()));
    dy.download(y.data());
  }

 private:
  cublasHandle_t handle_ = nullptr;
};

}  // namespace

int device_count(std::string* reason) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (reason) *reason = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  if (n == 0 && reason) *reason = "no CUDA device found";
  return n;
}

std::unique_ptr<Backend> make_backend() {
  std::string reason;
  if (device_count(&reason) == 0) throw Error("cuda backend: not usable: " + reason);
  return std::make_unique<CudaBackend>();
}

}  // namespace qreg::cuda
