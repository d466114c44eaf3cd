// The simulator against a closed form on a linear network x → fc1 (W1 [h, in], b1) → fc2
// (W2 [o, h], b2), no activation. With independent zero-mean weight noise E1, E2 of per-row
// variances σ1_i², σ2_j² (σ² = Δ²/12 per tensor; Δ_c²/12 per output channel):
//   Δy1 = x E1ᵀ                         → Var(Δy1_{n,i}) = σ1_i² ‖x_n‖²
//   Δy2 = Δy1 W2ᵀ + y1 E2ᵀ + Δy1 E2ᵀ     (cross terms have zero mean: each holds one zero-mean E
//                                          factor independent of the rest)
//   Var(Δy2_{n,j}) = Σ_i W2_{ji}² σ1_i² ‖x_n‖² + σ2_j² ‖y1_n‖² + σ2_j² Σ_i σ1_i² ‖x_n‖²
// and noise_var is the mean of these over samples n and elements i (j). Isolated: layer 1 as
// above, layer 2 = mean σ2_j² ‖y1_n‖². The mean of Δy is exactly 0 here, so E[v_d] is exactly
// the variance, for uniform and Gaussian noise alike (only the variance enters).
// `round` (q(W') − W', W' = W + U): by Schuchman's theorem the error of a uniformly shifted
// weight is exactly U(−Δ/2, Δ/2) and zero-mean; it is correlated with W' (not with W), which
// changes the layer-2 terms by relative O(Δ²/w²) ≈ 1e-4 at 8 bits, far below the 1% SE here.
// Tolerance: |sim − closed form| ≤ 5·SE (SE from the simulator itself; 5σ makes a false alarm
// ~6e-7 per comparison). The test fails if round were q(W') − W (2× the variance) or σ were Δ/√12
// applied per element of the wrong channel.
#include <gtest/gtest.h>

#include <cmath>

#include "core/quantize_graph.hpp"
#include "sim/simulator.hpp"
#include "sim_test_util.hpp"

namespace {

using qreg::Granularity;
using qreg::sim::NoiseKind;
using qreg::sim::NoiseMode;

constexpr std::int64_t kIn = 16, kHidden = 8, kOut = 4, kSamples = 64;
constexpr double kSigmas = 5.0;

struct Expected {
  double layer1, layer2;
};

// Closed form in double from the weights, the data and the per-row noise variances.
Expected closed_form(const qreg::Graph& g, const qreg::Dataset& d, int bits, Granularity gran, bool isolated) {
  const auto steps = qreg::layer_steps(g, g.values, {bits, gran, qreg::Scheme::Symmetric});
  auto var = [&](int layer, std::int64_t row) {
    const auto& s = steps[static_cast<std::size_t>(layer)];
    const double step = s.size() == 1 ? s[0] : s[static_cast<std::size_t>(row)];
    return step * step / 12.0;
  };
  const qreg::Tensor &w1 = g.values[0], &b1 = g.values[1], &w2 = g.values[2];
  double l1 = 0, l2 = 0;
  for (std::int64_t n = 0; n < kSamples; ++n) {
    double xx = 0, yy = 0, sum_var1 = 0;
    for (std::int64_t k = 0; k < kIn; ++k) xx += std::pow(d.inputs[n * kIn + k], 2);
    for (std::int64_t i = 0; i < kHidden; ++i) {
      double y = b1[i];
      for (std::int64_t k = 0; k < kIn; ++k) y += static_cast<double>(w1[i * kIn + k]) * d.inputs[n * kIn + k];
      yy += y * y;
      sum_var1 += var(0, i);
      l1 += var(0, i) * xx;
    }
    for (std::int64_t j = 0; j < kOut; ++j) {
      double through = 0;
      for (std::int64_t i = 0; i < kHidden; ++i) through += std::pow(w2[j * kHidden + i], 2) * var(0, i) * xx;
      l2 += var(1, j) * yy + (isolated ? 0.0 : through + var(1, j) * sum_var1 * xx);
    }
  }
  return {l1 / (kSamples * kHidden), l2 / (kSamples * kOut)};
}

void expect_matches(NoiseKind kind, NoiseMode mode, Granularity gran, int bits) {
  const qreg::Graph g = qreg::test::linear_net(kIn, kHidden, kOut, 7);
  const qreg::Dataset d = qreg::test::random_data(kSamples, {kIn}, kOut, 8);
  qreg::sim::SimOptions opt;
  opt.bits = {bits};
  opt.noise = kind;
  opt.mode = mode;
  opt.granularity = gran;
  opt.draws = 400;
  opt.batch = 24;  // several chunks per draw, the last one short
  const auto r = qreg::sim::simulate(g, g.values, d, opt);
  const Expected e = closed_form(g, d, bits, gran, mode == NoiseMode::Isolated);
  const double expected[2] = {e.layer1, e.layer2};
  ASSERT_EQ(r.results.size(), 1u);
  ASSERT_EQ(r.results[0].layers.size(), 2u);
  for (int l = 0; l < 2; ++l) {
    const auto& est = r.results[0].layers[static_cast<std::size_t>(l)].noise;
    EXPECT_NEAR(est.mean, expected[l], kSigmas * est.std_error)
        << "layer " << l << " rse " << est.rse() << " ratio " << est.mean / expected[l];
    EXPECT_LT(est.rse(), 0.05);  // the check above must be sharp enough to mean something
    EXPECT_LT(est.ci_low, est.mean);
    EXPECT_GT(est.ci_high, est.mean);
  }
}

TEST(LinearClosedForm, UniformJointPerTensor) {
  expect_matches(NoiseKind::Uniform, NoiseMode::Joint, Granularity::Tensor, 4);
}
TEST(LinearClosedForm, UniformJointPerChannel) {
  expect_matches(NoiseKind::Uniform, NoiseMode::Joint, Granularity::Channel, 3);
}
TEST(LinearClosedForm, GaussianIsolated) {
  expect_matches(NoiseKind::Gaussian, NoiseMode::Isolated, Granularity::Tensor, 4);
}
TEST(LinearClosedForm, RoundAt8BitsFollowsStepSquaredOver12) {
  expect_matches(NoiseKind::Round, NoiseMode::Joint, Granularity::Tensor, 8);
}
TEST(LinearClosedForm, RoundIsolatedPerChannelAt8Bits) {
  expect_matches(NoiseKind::Round, NoiseMode::Isolated, Granularity::Channel, 8);
}

// The SQNR and step fields follow their definitions.
TEST(LinearClosedForm, StepAndSqnrFields) {
  const qreg::Graph g = qreg::test::linear_net(kIn, kHidden, kOut, 7);
  const qreg::Dataset d = qreg::test::random_data(kSamples, {kIn}, kOut, 8);
  qreg::sim::SimOptions opt;
  opt.bits = {8, 4};
  opt.draws = 8;
  const auto r = qreg::sim::simulate(g, g.values, d, opt);
  const auto steps = qreg::layer_steps(g, g.values, {8, Granularity::Tensor, qreg::Scheme::Symmetric});
  const auto& l0 = r.results[0].layers[0];
  EXPECT_FLOAT_EQ(l0.step, steps[0][0]);
  EXPECT_DOUBLE_EQ(l0.weight_noise_var, static_cast<double>(steps[0][0]) * steps[0][0] / 12.0);
  EXPECT_DOUBLE_EQ(l0.sqnr_db, 10 * std::log10(l0.signal_power / l0.noise.mean));
  EXPECT_EQ(l0.name, "fc1");
  EXPECT_TRUE(r.results[0].loss_increase.has_value());
  EXPECT_TRUE(std::isfinite(r.clean_loss));
}

}  // namespace
