// Properties of the simulator that need no closed form:
// - determinism: the same seed gives bitwise the same result (every estimate, every loss) on 1
//   and 2 TBB threads, for joint/isolated, uniform/round, on an MLP and on the residual test CNN
//   (conv, batch norm, pooling); a different seed gives a different result;
// - --target-rse: the run stops with every layer's RSE below the target (or at the cap);
// - noise draws: uniform noise lies in (−Δ/2, Δ/2) and round noise q(w') − w' too (no clipping,
//   even for the largest weight), and the weights land on the grid;
// - variance ∝ Δ²: at 8 vs 7 bits (common random numbers) the ratio of noise_var is (Δ8/Δ7)² on
//   the linear network, exactly up to float rounding (tolerance 1e-4 relative);
// - the Gram form of a clean-input conv (sim/simulator.cpp) gives the streamed outputs' Σ(Δy)²
//   up to float rounding, changes nothing else, and keeps the thread-count independence;
// - bad options are usage errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "sim/simulator.hpp"
#include "sim_test_util.hpp"

namespace {

using qreg::sim::NoiseKind;
using qreg::sim::NoiseMode;
using qreg::sim::SimOptions;
using qreg::sim::SimResult;

void expect_identical(const SimResult& a, const SimResult& b) {
  ASSERT_EQ(a.results.size(), b.results.size());
  EXPECT_EQ(a.draws, b.draws);
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    const auto &x = a.results[i], &y = b.results[i];
    ASSERT_EQ(x.loss_increase.has_value(), y.loss_increase.has_value());
    if (x.loss_increase) {
      EXPECT_EQ(x.loss_increase->mean, y.loss_increase->mean);
      EXPECT_EQ(x.loss_increase->std_error, y.loss_increase->std_error);
    }
    for (std::size_t l = 0; l < x.layers.size(); ++l) {
      EXPECT_EQ(x.layers[l].noise.mean, y.layers[l].noise.mean) << "bits " << x.bits << " layer " << l;
      EXPECT_EQ(x.layers[l].noise.std_error, y.layers[l].noise.std_error);
      EXPECT_EQ(x.layers[l].signal_power, y.layers[l].signal_power);
    }
  }
}

SimResult run_with_threads(int threads, const qreg::Graph& g, const qreg::Dataset& d, const SimOptions& opt) {
  qreg::ThreadScope scope(threads);
  return qreg::sim::simulate(g, g.values, d, opt);
}

TEST(Simulator, BitwiseIdenticalOnOneAndTwoThreadsMlp) {
  const qreg::Graph g = qreg::make_mlp({20, 16, 12, 5}, 3);
  const qreg::Dataset d = qreg::test::random_data(40, {20}, 5, 4);
  for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Round, NoiseKind::Gaussian}) {
    SimOptions opt;
    opt.bits = {8, 4};
    opt.noise = kind;
    opt.mode = kind == NoiseKind::Round ? NoiseMode::Isolated : NoiseMode::Joint;
    opt.draws = 12;
    opt.batch = 16;
    expect_identical(run_with_threads(1, g, d, opt), run_with_threads(2, g, d, opt));
  }
}

TEST(Simulator, BitwiseIdenticalOnOneAndTwoThreadsResidualCnn) {
  const qreg::Graph g = qreg::make_residual_cnn(5);
  const qreg::Dataset d = qreg::test::random_data(20, {2, 6, 6}, 4, 6, 0.0f, 1.0f);
  SimOptions opt;
  opt.bits = {6};
  opt.noise = NoiseKind::Round;
  opt.draws = 8;
  const SimResult a = run_with_threads(1, g, d, opt), b = run_with_threads(2, g, d, opt);
  expect_identical(a, b);
  EXPECT_EQ(a.results[0].layers.size(), 3u);  // two convs and the final Gemm
  opt.seed = 2;
  EXPECT_NE(run_with_threads(2, g, d, opt).results[0].layers[2].noise.mean, a.results[0].layers[2].noise.mean);
}

// The CNN's first conv (O = 16, K = 9) takes the Gram form in joint and isolated mode; the other
// layers stream their outputs either way, so they, and the loss, must be bitwise unchanged. The
// conv's value differs from the streamed one by float rounding only: the streamed Δy is the
// difference of two float outputs (relative rounding ~6e-8 of |y|, and |Δy| ≥ ~1% of |y| at 8
// bits, so ≤ ~1e-5 of Δy), squared and summed in float blocks (≤ 1.2e-6): tolerance 1e-4
// relative. Bitwise equality there would mean the Gram form was not used.
TEST(Simulator, GramFormOfTheFirstConvMatchesItsStreamedOutputs) {
  const qreg::Graph g = qreg::make_cnn(2);
  const qreg::Dataset d = qreg::test::random_data(32, {1, 28, 28}, 10, 7, 0.0f, 1.0f);
  for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Round})
    for (const NoiseMode mode : {NoiseMode::Joint, NoiseMode::Isolated}) {
      SimOptions opt;
      opt.bits = {8, 4};
      opt.noise = kind;
      opt.mode = mode;
      opt.draws = 4;
      const SimResult gram = run_with_threads(1, g, d, opt);
      expect_identical(gram, run_with_threads(2, g, d, opt));
      opt.gram = false;
      const SimResult streamed = run_with_threads(1, g, d, opt);
      for (std::size_t b = 0; b < 2; ++b) {
        const auto &x = gram.results[b], &y = streamed.results[b];
        ASSERT_EQ(x.layers.size(), 4u);
        const double a0 = x.layers[0].noise.mean, s0 = y.layers[0].noise.mean;
        EXPECT_NEAR(a0, s0, 1e-4 * s0) << "bits " << x.bits;
        EXPECT_NE(a0, s0) << "bits " << x.bits << ": the Gram form was not used";
        EXPECT_NEAR(x.layers[0].noise.std_error, y.layers[0].noise.std_error, 1e-3 * y.layers[0].noise.std_error);
        for (std::size_t l = 1; l < 4; ++l) EXPECT_EQ(x.layers[l].noise.mean, y.layers[l].noise.mean) << l;
        ASSERT_EQ(x.loss_increase.has_value(), y.loss_increase.has_value());
        if (x.loss_increase) {
          EXPECT_EQ(x.loss_increase->mean, y.loss_increase->mean);
        }
      }
    }
}

TEST(Simulator, TargetRseStopsBelowTarget) {
  const qreg::Graph g = qreg::test::linear_net(16, 8, 4, 7);
  const qreg::Dataset d = qreg::test::random_data(32, {16}, 4, 8);
  SimOptions opt;
  opt.bits = {8, 4};
  opt.target_rse = 0.03;
  opt.min_draws = 8;
  std::vector<std::int64_t> rounds;
  opt.progress = [&](std::int64_t draws, double) { rounds.push_back(draws); };
  const SimResult r = qreg::sim::simulate(g, g.values, d, opt);
  EXPECT_TRUE(r.converged);
  EXPECT_GT(rounds.size(), 1u);  // 8 draws are not enough for 3%: it had to go on
  EXPECT_EQ(rounds.back(), r.draws);
  for (const auto& b : r.results)
    for (const auto& l : b.layers) EXPECT_LT(l.noise.rse(), opt.target_rse) << "bits " << b.bits;
  opt.max_draws = 10;  // a cap below what the target needs: stops there, not converged
  const SimResult capped = qreg::sim::simulate(g, g.values, d, opt);
  EXPECT_FALSE(capped.converged);
  EXPECT_EQ(capped.draws, 10);
}

TEST(Simulator, VarianceScalesWithStepSquared) {
  const qreg::Graph g = qreg::test::linear_net(16, 8, 4, 7);
  const qreg::Dataset d = qreg::test::random_data(32, {16}, 4, 8);
  SimOptions opt;
  opt.bits = {8, 7};
  opt.mode = NoiseMode::Isolated;  // isolated layers are exactly quadratic in Δ
  opt.draws = 4;
  const SimResult r = qreg::sim::simulate(g, g.values, d, opt);
  for (std::size_t l = 0; l < 2; ++l) {
    const double ratio = r.results[0].layers[l].noise.mean / r.results[1].layers[l].noise.mean;
    const double expected = std::pow(r.results[0].layers[l].step / r.results[1].layers[l].step, 2);
    EXPECT_NEAR(ratio / expected, 1.0, 1e-4) << "layer " << l;
  }
}

TEST(Simulator, NoiseDrawsStayInsideHalfAStep) {
  const qreg::Tensor w = qreg::test::uniform_tensor({8, 50}, 1, 2);
  const qreg::QuantParams q =
      qreg::compute_quant_params(w, {4, qreg::Granularity::Channel, qreg::Scheme::Symmetric, 0});
  for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Round}) {
    qreg::RandomStream rng = qreg::sim::draw_stream(1, 0);
    qreg::Tensor noisy, reference;
    qreg::sim::draw_noisy_weight(kind, w, q, rng, noisy, &reference);
    const qreg::Tensor& base = kind == NoiseKind::Round ? reference : w;
    for (std::int64_t i = 0; i < w.size(); ++i) {
      const float step = q.step[static_cast<std::size_t>(i / 50)];
      EXPECT_LE(std::abs(noisy[i] - base[i]), 0.5f * step * (1 + 1e-5f)) << i;
      if (kind == NoiseKind::Round) {
        EXPECT_LE(std::abs(reference[i] - w[i]), 0.5f * step * (1 + 1e-5f));
        const float code = noisy[i] / step;
        EXPECT_NEAR(code, std::round(code), 1e-4f);
      }
    }
  }
}

TEST(Simulator, BadOptionsAreUsageErrors) {
  const qreg::Graph g = qreg::test::linear_net(4, 3, 2, 1);
  const qreg::Dataset d = qreg::test::random_data(4, {4}, 2, 1);
  SimOptions opt;
  opt.bits = {1};
  EXPECT_THROW(qreg::sim::simulate(g, g.values, d, opt), qreg::UsageError);
  opt.bits = {8};
  opt.draws = 1;
  EXPECT_THROW(qreg::sim::simulate(g, g.values, d, opt), qreg::UsageError);
  opt.draws = 4;
  const qreg::Dataset wrong = qreg::test::random_data(4, {5}, 2, 1);
  EXPECT_THROW(qreg::sim::simulate(g, g.values, wrong, opt), qreg::Error);
  EXPECT_THROW(qreg::sim::parse_noise_kind("laplace"), qreg::UsageError);
  EXPECT_THROW(qreg::sim::parse_noise_mode("both"), qreg::UsageError);
}

}  // namespace
