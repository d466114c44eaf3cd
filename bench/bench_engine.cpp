// Engine throughput: forward and forward+backward (training step without the optimizer) of the
// MLP 784-256-256-10 and the CNN at batch 128, in samples/s, beside the engine's sgemm rates (and Eigen's)
// (1024³ and the MLP's first layer 128×784×256) in GFLOP/s measured in the same binary.
// Run: build-bench/bin/bench_engine --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Threads: QREG_BENCH_THREADS (default 2) caps TBB's workers through ThreadScope.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "core/executor.hpp"
#include "core/gemm.hpp"
#include "core/models.hpp"
#include "core/ops/ops.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"

namespace {

constexpr std::int64_t kBatch = 128;

int bench_threads() {
  const char* env = std::getenv("QREG_BENCH_THREADS");
  return env ? std::atoi(env) : 2;
}

qreg::Tensor random_input(const qreg::Shape& per_sample) {
  qreg::Shape s{kBatch};
  s.insert(s.end(), per_sample.begin(), per_sample.end());
  qreg::Tensor x(s);
  qreg::RandomStream rs(1, 0);
  for (auto& v : x.values()) v = rs.uniform();
  return x;
}

void run_model(benchmark::State& state, const qreg::Graph& g, bool backward) {
  qreg::ThreadScope threads(bench_threads());
  qreg::Executor ex(g);
  const qreg::Tensor x = random_input(g.input_shape);
  std::vector<std::int32_t> labels(kBatch);
  for (std::int64_t i = 0; i < kBatch; ++i) labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % 10);
  qreg::ParamSet grads;
  qreg::Tensor dlogits;
  for (auto _ : state) {
    const qreg::Tensor& logits = ex.forward(x, g.values, backward);
    if (backward) {
      benchmark::DoNotOptimize(qreg::cross_entropy(logits, labels, &dlogits));
      ex.backward({{g.output, dlogits}}, g.values, grads, false);
    }
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch), benchmark::Counter::kIsRate);
  state.counters["threads"] = threads.threads();
}

void BM_MlpForward(benchmark::State& s) { run_model(s, qreg::make_mlp({784, 256, 256, 10}, 1), false); }
void BM_MlpTrainStep(benchmark::State& s) { run_model(s, qreg::make_mlp({784, 256, 256, 10}, 1), true); }
void BM_CnnForward(benchmark::State& s) { run_model(s, qreg::make_cnn(1), false); }
void BM_CnnTrainStep(benchmark::State& s) { run_model(s, qreg::make_cnn(1), true); }

/// Single-threaded C[m, n] = A[m, k]·B[k, n], row-major like the engine: the engine's sgemm
/// (range(3) = 0; OpenBLAS or Eigen, see core/gemm.hpp) or Eigen's product (range(3) = 1).
void BM_Sgemm(benchmark::State& state) {
  const auto m = state.range(0), k = state.range(1), n = state.range(2);
  const bool eigen = state.range(3) == 1;
  qreg::MatrixRM a = qreg::MatrixRM::Random(m, k), b = qreg::MatrixRM::Random(k, n), c(m, n);
  for (auto _ : state) {
    if (eigen)
      c.noalias() = a * b;
    else
      qreg::sgemm(qreg::Trans::no, qreg::Trans::no, m, n, k, a.data(), k, b.data(), n, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetLabel(eigen ? "Eigen" : qreg::gemm_library());
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * m * n * k * 1e-9, benchmark::Counter::kIsRate);
}

}  // namespace

// One conv forward over 64 samples on one thread, output stored, through each of the engine's two
// paths (arg path: 0 im2col + sgemm, 1 the direct kernel of core/ops/conv_direct.cpp, which
// conv_forward takes for unit strides and one group). Shapes (arg shape), all 3×3 pad 1:
// 0: the CNN's first conv 1→16 on 28×28; 1: its second, 16→32 on 14×14; 2: 32→64 on 14×14
// (inner dimension 288); 3: 64→64 on 28×28; 4: 4→16 on 28×28 (inner dimension 36); 5: 8→32 on
// 28×28 (72).
/// One of BM_ConvForward's shapes (range(0)) at 64 samples, 3×3 pad 1, inputs in [-0.5, 0.5).
struct ConvShapeCase {
  struct Shape {
    std::int64_t C, H, O;
  };
  static constexpr Shape kShapes[] = {{1, 28, 16}, {16, 14, 32}, {32, 14, 64}, {64, 28, 64}, {4, 28, 16}, {8, 28, 32}};
  static constexpr std::int64_t n = 64;
  Shape sh;
  qreg::Tensor x, w, b, y;
  qreg::WindowGeom g;
  explicit ConvShapeCase(const benchmark::State& state)
      : sh(kShapes[state.range(0)]),
        x({n, sh.C, sh.H, sh.H}),
        w({sh.O, sh.C, 3, 3}),
        b({sh.O}),
        y({n, sh.O, sh.H, sh.H}),
        g{sh.C, sh.H, sh.H, sh.O, sh.H, sh.H, 3, 3, 1, 1, 1, 1, 1, 1, 1} {
    qreg::RandomStream rs(1, 0);
    for (auto* t : {&x, &w, &b, &y})
      for (auto& v : t->values()) v = rs.uniform() - 0.5f;
  }
  void report(benchmark::State& state) const {
    const double flops = 2.0 * static_cast<double>(n * sh.O * sh.H * sh.H * sh.C * 9);
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  }
};

void BM_ConvForward(benchmark::State& state) {
  qreg::ThreadScope threads(1);
  ConvShapeCase c(state);
  const bool direct = state.range(1) == 1;
  for (auto _ : state) {
    if (direct)
      qreg::ops::direct_conv_forward(c.x, c.w, &c.b, &c.y, c.g, c.n, nullptr);
    else
      qreg::ops::im2col_conv_forward(c.x, c.w, &c.b, &c.y, c.g);
    benchmark::DoNotOptimize(c.y.data());
  }
  c.report(state);
}

// The weight and bias gradients alone (conv_backward without dx) of the same shapes, y standing
// in for dy: im2col + chunk GEMMs (direct:0) against the direct kernel (direct:1,
// core/ops/conv_direct.cpp direct_conv_weight_grad; conv_backward's choice for 3×3 kernels with
// AVX-512). One thread.
void BM_ConvWeightGrad(benchmark::State& state) {
  qreg::ThreadScope threads(1);
  ConvShapeCase c(state);
  qreg::Tensor dw(c.w.shape()), db(c.b.shape());
  qreg::ops::NodeState st;
  st.geom = c.g;
  const bool direct = state.range(1) == 1;
  for (auto _ : state) {
    if (direct)
      qreg::ops::conv_backward(c.x, c.w, c.y, nullptr, &dw, &db, st);
    else
      qreg::ops::im2col_conv_backward(c.x, c.w, c.y, nullptr, &dw, &db, st);
    benchmark::DoNotOptimize(dw.data());
  }
  if (direct && !qreg::ops::direct_weight_grad(c.g))
    state.SetLabel("no direct path in this build: conv_backward's own");
  c.report(state);
}

BENCHMARK(BM_MlpForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CnnForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CnnTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ConvForward)
    ->ArgNames({"shape", "direct"})
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ConvWeightGrad)
    ->ArgNames({"shape", "direct"})
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Sgemm)
    ->Args({1024, 1024, 1024, 0})
    ->Args({128, 784, 256, 0})
    ->Args({1024, 1024, 1024, 1})
    ->Args({128, 784, 256, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
