// Monte Carlo throughput: achieved GFLOP/s of the simulator's noisy forward passes next to the
// engine's sgemm rate (core/gemm.hpp) measured in the same binary (DESIGN.md target: ≥ 60%).
// Each simulate line is compared with the sgemm on the same thread count: one thread compares
// kernels, two threads what a user of this 2-core machine gets.
// FLOPs counted: 2·N·in·out per Gemm, 2·N·P·O·C·kh·kw per Conv, per noisy forward (draws × bits
// forwards); noise generation, the clean pass and the statistics are overhead inside the time.
// A second counter, "all GFLOP/s", counts every GEMM FLOP the run executes: the draws' and the
// clean pass's forward and loss-gradient backward (about three forwards). The first is the
// conservative rate of useful work, the second the usual meaning of achieved GFLOP/s; both are
// printed against the sgemm rate.
// BM_SimulateMarginal times 64 minus 16 draws: the draws' steady rate without the clean pass.
// The conv forwards do not go through sgemm (core/ops/conv_direct.cpp, compiled for the build's
// target), so each line is also printed against BM_EigenGemm, the same product through Eigen
// compiled for the build's target, when that is the faster GEMM (AVX-512 here, while
// OPENBLAS_CORETYPE=Haswell pins OpenBLAS to AVX2): the draws' FLOPs over the faster GEMM is the
// most conservative of the ratios.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "core/gemm.hpp"
#include "core/models.hpp"
#include "core/ops/ops.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "sim/simulator.hpp"

namespace {

std::map<std::string, double> g_rates;      // benchmark name -> GFLOP/s (last run)
std::map<std::string, double> g_all_rates;  // benchmark name -> all GFLOP/s (clean pass counted)

/// FLOPs of one forward pass over n samples (with_backward: plus the loss gradient's backward,
/// as the clean pass runs it: dW costs a forward's FLOPs per layer, and dX as much again for every
/// layer but one reading the network input, whose dX the executor skips).
double forward_flops(const qreg::Graph& g, std::int64_t n, bool with_backward = false) {
  double f = 0;
  for (const int i : g.quantized_nodes()) {
    const qreg::Node& node = g.nodes[static_cast<std::size_t>(i)];
    const qreg::Tensor& w = g.values[static_cast<std::size_t>(node.params[0])];
    const auto out = qreg::numel(g.value_shapes[static_cast<std::size_t>(node.output)]);
    const auto fan_in = w.size() / w.dim(node.op == qreg::OpType::MatMul ? 1 : 0);  // MatMul: W [in, out]
    const double layer = 2.0 * static_cast<double>(n) * static_cast<double>(out) * static_cast<double>(fan_in);
    f += layer;
    if (with_backward) f += layer * (node.inputs[0] == 0 ? 1.0 : 2.0);
  }
  return f;
}

qreg::Dataset data_for(const qreg::Graph& g, std::int64_t n) {
  qreg::Shape s = g.input_shape;
  s.insert(s.begin(), n);
  qreg::Dataset d;
  d.name = "bench";
  d.inputs = qreg::Tensor(s);
  qreg::RandomStream rs(1, 0);
  for (float& v : d.inputs.values()) v = rs.uniform();
  for (std::int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(i % 10));
  d.num_classes = 10;
  return d;
}

// [512, 784] · [784, 256], the MLP's first layer, C = A·Bᵀ through product(a, b, c, r0, r1) on
// rows [r0, r1): on one thread a single call, the library's best case (the engine itself splits
// this product into 128-row blocks, repacking the weights for each); on two threads split as the
// engine splits it (ops::gemm_rows: 4 blocks of 128 rows, one call each, in parallel).
template <class Product>
void gemm_reference(benchmark::State& state, Product product) {
  const int threads = static_cast<int>(state.range(0));
  qreg::ThreadScope scope(threads);
  const Eigen::Index m = 512, k = 784, n = 256;
  qreg::MatrixRM a = qreg::MatrixRM::Random(m, k), b = qreg::MatrixRM::Random(n, k), c(m, n);
  for (auto _ : state) {
    qreg::ops::for_chunks(m, threads == 1 ? m : qreg::ops::gemm_rows(m),
                          [&](std::int64_t r0, std::int64_t r1) { product(a, b, c, r0, r1); });
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 2.0 * m * n * k * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
}

// The engine's sgemm (core/gemm.hpp).
void BM_Sgemm(benchmark::State& state) {
  gemm_reference(
      state, [](const qreg::MatrixRM& a, const qreg::MatrixRM& b, qreg::MatrixRM& c, std::int64_t r0, std::int64_t r1) {
        qreg::sgemm(qreg::Trans::no, qreg::Trans::yes, r1 - r0, b.rows(), a.cols(), a.data() + r0 * a.cols(), a.cols(),
                    b.data(), b.cols(), c.data() + r0 * c.cols(), c.cols());
      });
  state.SetLabel(qreg::gemm_library());
}

// The same product through Eigen's own GEMM, compiled for this build's target (-march=native:
// AVX-512 where the CPU has it). The engine's sgemm runs OpenBLAS's kernels, which
// OPENBLAS_CORETYPE may pin to an older instruction set (Haswell, AVX2, on the development host)
// while the direct conv kernel (core/ops/conv_direct.cpp) is compiled for the build's target:
// the faster of the two is the stricter reference.
void BM_EigenGemm(benchmark::State& state) {
  gemm_reference(
      state, [](const qreg::MatrixRM& a, const qreg::MatrixRM& b, qreg::MatrixRM& c, std::int64_t r0, std::int64_t r1) {
        c.middleRows(r0, r1 - r0).noalias() = a.middleRows(r0, r1 - r0) * b.transpose();
      });
  state.SetLabel("Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                 std::to_string(EIGEN_MINOR_VERSION) + ", " + Eigen::SimdInstructionSetsInUse());
}

constexpr std::int64_t kSamples = 512;

/// A simulate benchmark's model (range(0): 0 MLP, 1 CNN) and its calibration set, on range(1)
/// threads for the scope of the object.
struct SimCase {
  qreg::ThreadScope scope;
  qreg::Graph g;
  qreg::Dataset d;
  explicit SimCase(const benchmark::State& state)
      : scope(static_cast<int>(state.range(1))),
        g(state.range(0) == 1 ? qreg::make_cnn(1) : qreg::make_mlp({784, 256, 256, 10}, 1)),
        d(data_for(g, kSamples)) {}
  double simulate(std::int64_t draws, std::int64_t batch = 64) const {
    qreg::sim::SimOptions opt;
    opt.bits = {8};
    opt.draws = draws;
    opt.batch = batch;
    return qreg::sim::simulate(g, g.values, d, opt).max_rse;
  }
};

void BM_Simulate(benchmark::State& state) {
  const SimCase sc(state);
  const std::int64_t draws = state.range(2);
  for (auto _ : state) benchmark::DoNotOptimize(sc.simulate(draws, state.range(3)));
  const double runs = static_cast<double>(state.iterations());
  const double flops = forward_flops(sc.g, kSamples) * static_cast<double>(draws) * runs;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  // Every GEMM FLOP the run executes: the draws' plus the clean pass's forward and backward.
  const double clean = forward_flops(sc.g, kSamples, /*with_backward=*/true) * runs;
  state.counters["all GFLOP/s"] = benchmark::Counter((flops + clean) * 1e-9, benchmark::Counter::kIsRate);
}

// The steady rate of the draws alone: each iteration simulates 16 and 64 draws and times the
// difference, so the one-off clean pass (forward and loss-gradient backward) cancels. Reported
// time is that difference; GFLOP/s = the 48 extra draws' FLOPs over it.
void BM_SimulateMarginal(benchmark::State& state) {
  const SimCase sc(state);
  double seconds = 0;
  for (auto _ : state) {
    double t[2];
    for (int i = 0; i < 2; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(sc.simulate(i == 0 ? 16 : 64));
      t[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    state.SetIterationTime(t[1] - t[0]);
    seconds += t[1] - t[0];
  }
  const double flops = forward_flops(sc.g, kSamples) * 48.0 * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = flops * 1e-9 / seconds;
}

BENCHMARK(BM_Sgemm)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenGemm)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
// Args: model (0 MLP, 1 CNN), threads, draws, samples per forward (the default --batch is 64;
// 512 was the default before: its activations leave the caches). The one-off clean pass (forward
// and the loss gradient's backward, about three forwards' work) is inside the time but not in the
// GFLOP/s counter's FLOPs (it is in "all GFLOP/s"), so few draws understate the steady rate;
// 16 draws are the --target-rse first round, 64 the default --draws.
BENCHMARK(BM_Simulate)
    ->ArgNames({"cnn", "threads", "draws", "batch"})
    ->Args({0, 1, 16, 64})
    ->Args({0, 1, 64, 64})
    ->Args({0, 1, 64, 512})
    ->Args({1, 1, 4, 64})
    ->Args({1, 1, 16, 64})
    ->Args({1, 1, 64, 64})
    ->Args({1, 1, 64, 32})
    ->Args({1, 1, 64, 512})
    ->Args({0, 2, 64, 64})
    ->Args({1, 2, 64, 64})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SimulateMarginal)
    ->ArgNames({"cnn", "threads"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// Keeps every run's GFLOP/s so main can print the ratios.
class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      const auto it = r.counters.find("GFLOP/s");
      const bool use = r.run_type == Run::RT_Iteration || r.aggregate_name == "median";
      if (it != r.counters.end() && use) g_rates[r.run_name.str()] = it->second.value;
      const auto all = r.counters.find("all GFLOP/s");
      if (all != r.counters.end() && use) g_all_rates[r.run_name.str()] = all->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  // Each simulate line against the sgemm on its own thread count, measured in this run.
  for (const auto& [name, rate] : g_rates) {
    if (name.rfind("BM_Simulate", 0) != 0) continue;
    const auto at = name.find("threads:");
    const std::string threads = at == std::string::npos ? "1" : name.substr(at + 8, name.find('/', at) - at - 8);
    const auto sgemm = g_rates.find("BM_Sgemm/threads:" + threads + "/real_time");
    if (sgemm == g_rates.end()) continue;
    // The marginal line leaves out the one-off clean pass: it is the draws' steady rate, not what
    // a run of K draws achieves (that is the BM_Simulate line).
    const bool marginal = name.rfind("BM_SimulateMarginal", 0) == 0;
    const double base = sgemm->second;
    std::printf("%-44s %6.1f GFLOP/s = %5.1f%% of sgemm (%.1f GFLOP/s, %s thread%s)%s\n", name.c_str(), rate,
                100.0 * rate / base, base, threads.c_str(), threads == "1" ? "" : "s",
                marginal ? " [draws only: excludes the one-off clean pass]" : " [draws' FLOPs]");
    // Against the faster of the two GEMMs of this binary on the same thread count.
    const auto eigen = g_rates.find("BM_EigenGemm/threads:" + threads + "/real_time");
    if (eigen != g_rates.end() && eigen->second > base)
      std::printf("%-44s %6.1f GFLOP/s = %5.1f%% of Eigen's GEMM (%.1f GFLOP/s, the faster GEMM here)\n", "", rate,
                  100.0 * rate / eigen->second, eigen->second);
    // The same run with every executed GEMM FLOP counted (the clean pass's forward and backward too).
    if (const auto all = g_all_rates.find(name); all != g_all_rates.end())
      std::printf("%-44s %6.1f GFLOP/s = %5.1f%% of sgemm [all executed FLOPs]\n", "", all->second,
                  100.0 * all->second / base);
  }
  return 0;
}
