// Training-step throughput, FP32 against the weight modes, in one binary: the step the trainer
// runs (train/trainer.cpp) — forward weights from the shadow set (WeightBuilder), forward,
// cross-entropy, backward, LSQ's step gradients (lsq only), running statistics, optimizer update
// (SGD momentum), finite check — for the MLP 784-256-256-10 and the CNN at batch 128, in samples/s.
// QAT overhead = 1 − samples/s(QAT) / samples/s(FP32) (DESIGN.md target ≤ 10%).
// Run: build/bench/bench_train --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Threads: QREG_BENCH_THREADS (default 2) caps TBB's workers through ThreadScope.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "core/bits.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "train/lsq.hpp"
#include "train/optimizer.hpp"
#include "train/weight_modes.hpp"

namespace {

using namespace qreg;
constexpr std::int64_t kBatch = 128;

int bench_threads() {
  const char* env = std::getenv("QREG_BENCH_THREADS");
  return env ? std::atoi(env) : 2;
}

Graph model(bool cnn) { return cnn ? make_cnn(1) : make_mlp({784, 256, 256, 10}, 1); }

void train_step(benchmark::State& state, bool cnn, WeightModeConfig wc) {
  const ThreadScope threads(bench_threads());
  const Graph g = model(cnn);
  Shape shape{kBatch};
  shape.insert(shape.end(), g.input_shape.begin(), g.input_shape.end());
  Tensor x(shape), dlogits;
  RandomStream rs(1, 0);
  for (auto& v : x.values()) v = rs.uniform();
  std::vector<std::int32_t> labels(kBatch);
  for (std::int64_t i = 0; i < kBatch; ++i) labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % 10);

  const bool lsq = wc.mode == TrainMode::Lsq;
  ParamSet params = g.values, grads;
  std::vector<Tensor> steps = lsq ? lsq_initial_steps(g, params, wc) : std::vector<Tensor>{}, step_grads;
  std::vector<Shape> extra;
  for (const Tensor& t : steps) extra.push_back(t.shape());
  Optimizer opt({OptimizerKind::Sgd, 0.01, 0.9, 0.0}, g, extra);
  WeightBuilder wb(g, wc);
  Executor ex(g);
  std::int64_t step = 0;
  for (auto _ : state) {
    const ParamSet& w = wb.forward(params, steps, 1, 0, step++);
    benchmark::DoNotOptimize(cross_entropy(ex.forward(x, w, true), labels, &dlogits));
    ex.backward({{g.output, dlogits}}, w, grads, false);
    if (lsq) lsq_backward(wb.layers(), params, steps, grads, step_grads);
    ex.update_running_stats(params);
    benchmark::DoNotOptimize(opt.step(params, grads, steps, step_grads, 0.01));
    if (lsq) lsq_clamp_steps(wb.layers(), steps);
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch), benchmark::Counter::kIsRate);
  state.counters["threads"] = threads.threads();
}

// The forward weights alone (WeightBuilder::forward): the part of the step that QAT adds.
void build_weights(benchmark::State& state, bool cnn, WeightModeConfig wc) {
  const ThreadScope threads(bench_threads());
  const Graph g = model(cnn);
  WeightBuilder wb(g, wc);
  std::int64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(wb.forward(g.values, {}, 1, 0, step++)[0].data());
  state.counters["weights/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * g.num_parameters()), benchmark::Counter::kIsRate);
}

const WeightModeConfig kFp32{TrainMode::Qat, kFloatBits, Granularity::Tensor};
const WeightModeConfig kQat8{TrainMode::Qat, 8, Granularity::Tensor};
const WeightModeConfig kQat8Channel{TrainMode::Qat, 8, Granularity::Channel};
const WeightModeConfig kNoise8{TrainMode::Noise, 8, Granularity::Tensor};
const WeightModeConfig kLsq8{TrainMode::Lsq, 8, Granularity::Tensor};

}  // namespace

#define QREG_TRAIN_BENCH(name, cnn, cfg) \
  BENCHMARK_CAPTURE(train_step, name, cnn, cfg)->Unit(benchmark::kMillisecond)->UseRealTime()

QREG_TRAIN_BENCH(mlp_fp32, false, kFp32);
QREG_TRAIN_BENCH(mlp_qat8_tensor, false, kQat8);
QREG_TRAIN_BENCH(mlp_qat8_channel, false, kQat8Channel);
QREG_TRAIN_BENCH(mlp_noise8, false, kNoise8);
QREG_TRAIN_BENCH(mlp_lsq8, false, kLsq8);
QREG_TRAIN_BENCH(cnn_fp32, true, kFp32);
QREG_TRAIN_BENCH(cnn_qat8_tensor, true, kQat8);
QREG_TRAIN_BENCH(cnn_qat8_channel, true, kQat8Channel);
QREG_TRAIN_BENCH(cnn_noise8, true, kNoise8);
QREG_TRAIN_BENCH(cnn_lsq8, true, kLsq8);

BENCHMARK_CAPTURE(build_weights, mlp_qat8_tensor, false, kQat8)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(build_weights, mlp_qat8_channel, false, kQat8Channel)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(build_weights, mlp_noise8, false, kNoise8)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
