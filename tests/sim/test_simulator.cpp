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
//   up to float rounding, changes nothing else, and keeps the thread-count independence: on the
//   CNN's first conv and on the residual CNN's hidden conv (isolated mode), with image data whose
//   taps are told apart;
// - bad options are usage errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

// Image data whose patch statistics tell the taps apart: half the pixels zero, the rest
// U(0, 1) plus a ramp that differs by channel, row and column. With i.i.d. pixels a patch's
// second moment is nearly the same for every pair of distinct taps, so taps taken in the wrong
// order, or patches from the wrong place, would give almost the right answer; here they do not.
qreg::Dataset structured_images(std::int64_t n, const qreg::Shape& shape, int classes, std::uint64_t seed) {
  qreg::Dataset d = qreg::test::random_data(n, shape, classes, seed, 0.0f, 1.0f);
  const std::int64_t C = shape[0], H = shape[1], W = shape[2];
  qreg::RandomStream rs(seed, 102);
  float* x = d.inputs.data();
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t w = 0; w < W; ++w, ++x)
          *x = rs.uniform(0.0f, 1.0f) < 0.5f
                   ? 0.0f
                   : *x + 0.5f * static_cast<float>(c + 1) * static_cast<float>(h) / static_cast<float>(H) -
                         0.3f * static_cast<float>(w * w) / static_cast<float>(W * W);
  return d;
}

// Runs `opt` with the Gram form and streamed: the layers in `gram` (per mode) must take the Gram
// form and agree with their streamed value up to float rounding; every other layer, and the loss,
// must be bitwise unchanged; the Gram run must not depend on the thread count.
//
// Tolerance: the Gram form is exact up to double rounding (δ and the patches are floats, exact
// in double). The streamed Δy is the difference of two float outputs, each off by ~K·6e-8 of
// |y| at worst, and |Δy| ≳ 1e-3 |y| at 8 bits; those errors are unbiased and independent
// across the ≥ 10⁵ outputs summed, so Σ(Δy)² moves by ≲ 2·(K·6e-8/1e-3)/√10⁵ ≈ 1e-7 relative
// (K ≤ 27). Tolerance 2e-6 relative; measured ≤ 1e-7. An index bug moves it by far more: taking
// the taps in reverse order changed it by 6e-4 to 15% on this data. The standard error of a few
// nearly equal draws magnifies their rounding by mean/sd: tolerance 1e-5, measured ≤ 1e-6.
void expect_gram_matches_streamed(const qreg::Graph& g, const qreg::Dataset& d, SimOptions opt,
                                  const std::vector<std::size_t>& joint_gram,
                                  const std::vector<std::size_t>& isolated_gram) {
  for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Round})
    for (const NoiseMode mode : {NoiseMode::Joint, NoiseMode::Isolated}) {
      SCOPED_TRACE(std::string(mode == NoiseMode::Joint ? "joint" : "isolated") +
                   (kind == NoiseKind::Round ? " round" : " uniform"));
      const auto& gram_layers = mode == NoiseMode::Joint ? joint_gram : isolated_gram;
      opt.noise = kind;
      opt.mode = mode;
      opt.gram = true;
      const SimResult gram = run_with_threads(1, g, d, opt);
      expect_identical(gram, run_with_threads(2, g, d, opt));
      opt.gram = false;
      const SimResult streamed = run_with_threads(1, g, d, opt);
      ASSERT_EQ(gram.results.size(), opt.bits.size());
      for (std::size_t b = 0; b < opt.bits.size(); ++b) {
        const auto &x = gram.results[b], &y = streamed.results[b];
        ASSERT_EQ(x.layers.size(), y.layers.size());
        for (std::size_t l = 0; l < x.layers.size(); ++l) {
          const double a = x.layers[l].noise.mean, s = y.layers[l].noise.mean;
          if (std::find(gram_layers.begin(), gram_layers.end(), l) == gram_layers.end()) {
            EXPECT_EQ(a, s) << "bits " << x.bits << " layer " << l << " (streamed either way)";
            continue;
          }
          EXPECT_NEAR(a, s, 2e-6 * s) << "bits " << x.bits << " layer " << l;
          EXPECT_NE(a, s) << "bits " << x.bits << " layer " << l << ": the Gram form was not used";
          EXPECT_NEAR(x.layers[l].noise.std_error, y.layers[l].noise.std_error, 1e-5 * y.layers[l].noise.std_error);
          EXPECT_EQ(x.layers[l].signal_power, y.layers[l].signal_power);
        }
        ASSERT_EQ(x.loss_increase.has_value(), y.loss_increase.has_value());
        if (x.loss_increase) {
          EXPECT_EQ(x.loss_increase->mean, y.loss_increase->mean);
        }
      }
    }
}

// The CNN's first conv (O = 16, K = 9, input = the image) takes the Gram form in both modes.
TEST(Simulator, GramFormOfTheFirstConvMatchesItsStreamedOutputs) {
  SimOptions opt;
  opt.bits = {8, 4};
  opt.draws = 4;
  expect_gram_matches_streamed(qreg::make_cnn(2), structured_images(32, {1, 28, 28}, 10, 7), opt, {0}, {0});
}

// The residual CNN: conv1 (C = 2, K = 18) reads the image; conv2 (C = 3, K = 27) reads the
// batch-normed ReLU of conv1, so it takes the Gram form only in isolated mode, where its input is
// clean. 200 samples put both under the size rule O·K² ≤ N·M/8 (M = 108).
TEST(Simulator, GramFormOfAHiddenConvMatchesItsStreamedOutputs) {
  SimOptions opt;
  opt.bits = {8, 4};
  opt.draws = 4;
  const qreg::Graph g = qreg::make_residual_cnn(5);
  qreg::Dataset d = structured_images(200, {2, 6, 6}, 4, 9);
  expect_gram_matches_streamed(g, d, opt, {0}, {0, 1});
  // Unlabelled, the isolated measurements of the two convs need no forward pass at all (the
  // Gemm's still does): the estimates must not change.
  opt.mode = NoiseMode::Isolated;
  const SimResult labelled = run_with_threads(1, g, d, opt);
  d.labels.clear();
  d.num_classes = 0;
  const SimResult unlabelled = run_with_threads(1, g, d, opt);
  for (std::size_t b = 0; b < opt.bits.size(); ++b) {
    EXPECT_FALSE(unlabelled.results[b].loss_increase.has_value());
    for (std::size_t l = 0; l < 3; ++l)
      EXPECT_EQ(unlabelled.results[b].layers[l].noise.mean, labelled.results[b].layers[l].noise.mean) << l;
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
