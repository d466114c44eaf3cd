// The CUDA backend beside the CPU backend, with cuBLAS on device-resident buffers as the GPU's ceiling.
// Backend::gemm and Backend::fake_quantize take host buffers (core/backend.hpp), so every CUDA call
// allocates, copies its operands to the device and its result back: BM_BackendGemm/cuda is what a
// caller of that interface gets, BM_CublasResident what the same cuBLAS call does without the copies.
// Shapes: the MLP's first layer at the training batch (128×784·784×256), the same layer at the
// simulator's batch of 512 samples, and square 1024³ and 4096³.
// Run (on a machine with a GPU): build/bin/bench_cuda --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true. Without a usable device every CUDA case reports an error
//   and the CPU cases still run.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/rng.hpp"
#include "cuda/cuda_backend.hpp"

namespace {

struct Shape {
  std::int64_t m, n, k;
};
constexpr Shape kShapes[] = {{128, 256, 784}, {512, 256, 784}, {1024, 1024, 1024}, {4096, 4096, 4096}};

std::vector<float> random_vector(std::size_t n, std::uint64_t stream) {
  qreg::RandomStream rng(7, stream);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

void set_shape_label(benchmark::State& state, const Shape& s) {
  state.SetLabel(std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k));
}

void add_flops(benchmark::State& state, const Shape& s) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k) * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

/// The backend named by the benchmark's first argument (0 cpu, 1 cuda); null after reporting an error.
std::unique_ptr<qreg::Backend> backend_or_skip(benchmark::State& state) {
  if (state.range(0) == 0) return qreg::make_cpu_backend();
  std::string reason;
  if (qreg::cuda::device_count(&reason) == 0) {
    state.SkipWithError(("no usable CUDA device: " + reason).c_str());
    return nullptr;
  }
  return qreg::cuda::make_backend();
}

void BM_BackendGemm(benchmark::State& state) {
  const Shape s = kShapes[state.range(1)];
  set_shape_label(state, s);
  auto backend = backend_or_skip(state);
  if (!backend) return;
  const auto a = random_vector(static_cast<std::size_t>(s.m * s.k), 1);
  const auto b = random_vector(static_cast<std::size_t>(s.k * s.n), 2);
  std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
  for (auto _ : state) {
    backend->gemm(s.m, s.n, s.k, a.data(), b.data(), c.data(), false);
    benchmark::DoNotOptimize(c.data());
  }
  add_flops(state, s);
}

/// cublasSgemm on buffers already on the device, timed with CUDA events (manual time).
void BM_CublasResident(benchmark::State& state) {
  const Shape s = kShapes[state.range(0)];
  set_shape_label(state, s);
  std::string reason;
  if (qreg::cuda::device_count(&reason) == 0) {
    state.SkipWithError(("no usable CUDA device: " + reason).c_str());
    return;
  }
  const auto a = random_vector(static_cast<std::size_t>(s.m * s.k), 1);
  const auto b = random_vector(static_cast<std::size_t>(s.k * s.n), 2);
  float *da = nullptr, *db = nullptr, *dc = nullptr;
  cudaMalloc(&da, a.size() * sizeof(float));
  cudaMalloc(&db, b.size() * sizeof(float));
  cudaMalloc(&dc, static_cast<std::size_t>(s.m * s.n) * sizeof(float));
  cudaMemcpy(da, a.data(), a.size() * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(db, b.data(), b.size() * sizeof(float), cudaMemcpyHostToDevice);
  cublasHandle_t handle = nullptr;
  cublasCreate(&handle);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  const float alpha = 1.0f, beta = 0.0f;
  const auto n = static_cast<int>(s.n), m = static_cast<int>(s.m), k = static_cast<int>(s.k);
  // Row-major C = A·B as column-major Cᵀ = Bᵀ·Aᵀ, exactly as the backend calls it.
  cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, db, n, da, k, &beta, dc, n);  // warm-up
  for (auto _ : state) {
    cudaEventRecord(start);
    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, db, n, da, k, &beta, dc, n);
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(static_cast<double>(ms) * 1e-3);
  }
  if (cudaGetLastError() != cudaSuccess) state.SkipWithError("a CUDA call failed");
  add_flops(state, s);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cublasDestroy(handle);
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
}

void BM_BackendFakeQuantize(benchmark::State& state) {
  auto backend = backend_or_skip(state);
  if (!backend) return;
  const std::size_t n = std::size_t{1} << 24;
  const auto x = random_vector(n, 3);
  std::vector<float> y(n);
  for (auto _ : state) {
    backend->fake_quantize(x, 0.01f, 127, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["Gfloat/s"] = benchmark::Counter(
      static_cast<double>(n) * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void gemm_args(benchmark::internal::Benchmark* b) {
  // 4096³ on the CPU takes seconds per call and says nothing the 1024³ case does not.
  for (int backend : {0, 1})
    for (int shape = 0; shape < static_cast<int>(std::size(kShapes)) - (backend == 0); ++shape)
      b->Args({backend, shape});
  b->ArgNames({"cuda", "shape"});
}

}  // namespace

BENCHMARK(BM_BackendGemm)->Apply(gemm_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CublasResident)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_BackendFakeQuantize)->Arg(0)->Arg(1)->ArgName("cuda")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
