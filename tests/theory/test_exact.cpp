// Exact checks of the analytical predictors, with expected values derived by hand.
//
// (a) Two-layer LINEAR network h = W1 x + b1 (layer 0), y = W2 h + b2 (layer 1), weight noise
//     δ1, δ2 independent, zero mean, Var δ1_{mi} = σ1_m², Var δ2_{jm} = σ2_j² (per row; per tensor all
//     equal). Then  Δh_m = Σ_i δ1_{mi} x_i, so Var(Δh_m) = σ1_m² ‖x‖² (exact), and
//       Δy_j = Σ_m δ2_{jm} h_m + Σ_m W2_{jm} Δh_m + Σ_m δ2_{jm} Δh_m,
//     three uncorrelated zero-mean terms, so
//       Var(Δy_j) = σ2_j² ‖h‖² + ‖x‖² Σ_m W2_{jm}² σ1_m² + σ2_j² ‖x‖² Σ_m σ1_m².
//     The first two terms are the first-order prediction (the third is O(σ⁴), the bilinear cross
//     term that the linearisation drops by design). Averaged over samples n and outputs:
//       layer 0: mean_m σ1_m² · mean_n ‖x_n‖²
//       layer 1 joint: mean_j σ2_j² · mean_n ‖h_n‖² + mean_n ‖x_n‖² · mean_j Σ_m W2_{jm}² σ1_m²
//       layer 1 isolated: mean_j σ2_j² · mean_n ‖h_n‖².
//     Mean-field gives the same numbers here (the noise of different h_m comes from different rows of
//     W1, so it is independent). The test computes these sums in double with plain loops and
//     expects the predictors to match to float precision (relative 1e-5: inputs are float, sums in
//     double).
// (c) Halving every step divides every prediction (all methods, loss increase) by exactly 4 up to
//     rounding (relative 1e-12): the predictions are linear in σ² = Δ²/12.
// (e) bits_for_noise inverts scale_noise: the noise predicted at b maps back to b, and the bits
//     returned for any target meet it while one bit fewer does not.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/models.hpp"
#include "tests/theory/theory_test_util.hpp"
#include "theory/calibration.hpp"
#include "theory/first_order.hpp"
#include "theory/lin_baseline.hpp"
#include "theory/loss_increase.hpp"
#include "theory/mean_field.hpp"
#include "theory/sqnr.hpp"

namespace qreg::theory {
namespace {

constexpr double kFloatRel = 1e-5;

struct LinearCase {
  std::int64_t d = 7, m = 5, o = 3, n = 9;
};

void expect_rel(double got, double want, double rel) {
  EXPECT_NEAR(got, want, rel * std::abs(want)) << got << " vs " << want;
}

void check_linear(Granularity gran) {
  const LinearCase c;
  const Graph g = test::linear2(c.d, c.m, c.o);
  const Tensor x = test::uniform_tensor({c.n, c.d}, 5, -1.0f, 1.0f);
  const auto noise = weight_noise(g, g.values, 6, gran);
  const Tensor& W1 = g.values[0];
  const Tensor& b1 = g.values[1];
  const Tensor& W2 = g.values[2];
  // Hand sums in double.
  double xx = 0, hh = 0;
  for (std::int64_t n = 0; n < c.n; ++n)
    for (std::int64_t m = 0; m < c.m; ++m) {
      double h = b1[m];
      for (std::int64_t i = 0; i < c.d; ++i) h += double(W1[m * c.d + i]) * x[n * c.d + i];
      hh += h * h / double(c.n);
    }
  for (std::int64_t i = 0; i < x.size(); ++i) xx += double(x[i]) * x[i] / double(c.n);
  double w2s1 = 0;
  for (std::int64_t j = 0; j < c.o; ++j)
    for (std::int64_t m = 0; m < c.m; ++m)
      w2s1 += double(W2[j * c.m + m]) * W2[j * c.m + m] * noise[0].var[std::size_t(m)] / double(c.o);
  const double layer0 = noise[0].mean_var() * xx;
  const double own1 = noise[1].mean_var() * hh;
  const double joint1 = own1 + xx * w2s1;

  FirstOrderOptions opt;
  const auto sens = first_order_sensitivity(g, g.values, x, opt);
  const auto joint = predict_first_order(sens, noise, Mode::Joint);
  const auto iso = predict_first_order(sens, noise, Mode::Isolated);
  expect_rel(joint[0].noise_var, layer0, kFloatRel);
  expect_rel(joint[1].noise_var, joint1, kFloatRel);
  expect_rel(joint[1].contribution[1], own1, kFloatRel);
  expect_rel(iso[1].noise_var, own1, kFloatRel);
  EXPECT_FALSE(joint[1].stderr.has_value());  // logits-sized output: exact, no estimator error

  const auto stats = calibration_stats(g, g.values, x);
  const auto mf = predict_mean_field(g, g.values, stats, noise, Mode::Joint);
  expect_rel(mf[0].noise_var, layer0, kFloatRel);
  expect_rel(mf[1].noise_var, joint1, kFloatRel);
}

TEST(TheoryExact, TwoLayerLinearPerTensor) { check_linear(Granularity::Tensor); }
TEST(TheoryExact, TwoLayerLinearPerChannel) { check_linear(Granularity::Channel); }

TEST(TheoryExact, StepIsMaxAbsOverLevels) {
  const Graph g = test::linear2(4, 3, 2);
  const auto tensor = weight_noise(g, g.values, 4, Granularity::Tensor);
  const auto channel = weight_noise(g, g.values, 4, Granularity::Channel);
  double mx = 0, row0 = 0;
  for (std::int64_t i = 0; i < g.values[0].size(); ++i) mx = std::max(mx, double(std::abs(g.values[0][i])));
  for (std::int64_t i = 0; i < 4; ++i) row0 = std::max(row0, double(std::abs(g.values[0][i])));
  EXPECT_DOUBLE_EQ(tensor[0].step[2], mx / 7.0);
  EXPECT_DOUBLE_EQ(channel[0].step[0], row0 / 7.0);
  EXPECT_DOUBLE_EQ(channel[0].var[0], row0 * row0 / 49.0 / 12.0);
  EXPECT_THROW(weight_noise(g, g.values, 1, Granularity::Tensor), UsageError);
}

std::vector<LayerNoise> halved(std::vector<LayerNoise> noise) {
  for (auto& l : noise) {
    for (double& s : l.step) s /= 2;
    for (double& v : l.var) v /= 4;  // σ² = Δ²/12
  }
  return noise;
}

TEST(TheoryExact, HalvingStepQuartersEveryPrediction) {
  const Graph g = make_residual_cnn(3);
  const Tensor x = test::uniform_tensor({6, 2, 6, 6}, 8, -1.0f, 1.0f);
  const auto noise = weight_noise(g, g.values, 5, Granularity::Channel);
  const auto half = halved(noise);
  const auto stats = calibration_stats(g, g.values, x);
  FirstOrderOptions opt;
  opt.probes = 4;
  const auto sens = first_order_sensitivity(g, g.values, x, opt);
  for (Mode mode : {Mode::Joint, Mode::Isolated}) {
    const std::vector<std::pair<std::vector<LayerPrediction>, std::vector<LayerPrediction>>> methods = {
        {predict_first_order(sens, noise, mode), predict_first_order(sens, half, mode)},
        {predict_mean_field(g, g.values, stats, noise, mode), predict_mean_field(g, g.values, stats, half, mode)},
        {predict_lin(g, stats, noise, mode), predict_lin(g, stats, half, mode)}};
    for (const auto& [full, quarter] : methods)
      for (std::size_t L = 0; L < full.size(); ++L) {
        ASSERT_GT(full[L].noise_var, 0.0);
        expect_rel(quarter[L].noise_var * 4, full[L].noise_var, 1e-12);
      }
  }
  const auto ls = loss_sensitivity(g, g.values, x);
  const double full_loss = predict_loss_increase(ls, noise).total;
  ASSERT_GT(full_loss, 0.0);
  expect_rel(predict_loss_increase(ls, half).total * 4, full_loss, 1e-12);
}

TEST(TheoryExact, BitsNeededRoundTrips) {
  const double noise8 = 3.7e-4;
  for (int b = 2; b <= 16; ++b) {
    const double at_b = scale_noise(noise8, 8, b);
    EXPECT_EQ(bits_for_noise(noise8, 8, at_b), b);
    EXPECT_EQ(bits_for_noise(at_b, b, at_b), b);
  }
  for (double target : {1e-2, 1e-4, 3.3e-6, 1e-9}) {
    const int b = bits_for_noise(noise8, 8, target);
    if (b > 2 && b < 16) {  // inside the clamp range
      EXPECT_LE(scale_noise(noise8, 8, b), target);
      EXPECT_GT(scale_noise(noise8, 8, b - 1), target);
    }
  }
  // SQNR form: signal 1, noise at 8 bits 1e-4 (40 dB); 46 dB needs noise ≤ 10^-4.6, one more bit.
  EXPECT_EQ(bits_for_sqnr(1.0, 1e-4, 8, 40.0), 8);
  EXPECT_EQ(bits_for_sqnr(1.0, 1e-4, 8, 46.0), 9);
  EXPECT_NEAR(sqnr_db(1.0, 1e-4), 40.0, 1e-12);
  EXPECT_EQ(bits_for_noise(1.0, 8, 1e-300), 16);  // clamped
  EXPECT_THROW(bits_for_noise(1.0, 8, 0.0), UsageError);
}

}  // namespace
}  // namespace qreg::theory
