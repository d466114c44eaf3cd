// The loss predictor's ReLU-kink term (theory/kinks.hpp).
// - κ(t, s) against numerical integration of E[(t + e)⁺] − t⁺ over the Gaussian density (composite
//   Simpson from the kink at e = −t, or −12 s, to 12 s, where the integrand is smooth; 24,001 points:
//   quadrature error far below the 1e-10·s tolerance).
// - Curvature + kink term against an antithetic Monte Carlo of the loss increase on a ReLU MLP
//   32-64-64-10 (256 samples, arbitrary labels) at 8 and 4 bits. Tolerance 5·SE + 5%: the MC's
//   standard error plus what the prediction leaves out (O(σ⁴) terms; the upstream part of each
//   unit's noise variance, for which it uses the layer's mean). With 2,000 draws the prediction was
//   +0.6% (SE 1.0%) at 8 bits and +0.4% (SE 0.9%) at 4 bits; the curvature term alone −58% and −34%.
//   The test asserts that the curvature term alone misses by more than the tolerance, so it fails
//   without the kink term. 1,000 draws: the weight-noise loop dominates under the sanitizers.
//   The ReLU → max-pool windows are covered end to end by the CNN case of
//   tests/cli/test_theory_vs_simulate.cpp, which fails without the kink term.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/models.hpp"
#include "tests/theory/theory_test_util.hpp"
#include "theory/first_order.hpp"
#include "theory/kinks.hpp"
#include "theory/loss_increase.hpp"

namespace qreg::theory {
namespace {

/// E[(t + e)⁺] − t⁺ = ∫_{−t}^{∞} (t + e) p(e) de − t⁺, integrated where the integrand is smooth.
double kink_by_quadrature(double t, double s) {
  const int n = 24'000;  // even
  const double a = std::max(-t, -12 * s), b = 12 * s, h = (b - a) / n;
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double e = a + i * h;
    const double f = (t + e) * std::exp(-0.5 * e * e / (s * s)) / (s * std::sqrt(2 * std::numbers::pi));
    sum += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
  }
  return sum * h / 3 - std::max(t, 0.0);
}

TEST(Kinks, KappaMatchesQuadrature) {
  const double s = 0.7;
  for (double t : {-3.0, -0.4, 0.0, 0.1, 0.7, 1.75, 3.5}) {
    const double want = kink_by_quadrature(t, s);
    EXPECT_NEAR(relu_kink_mean(std::abs(t), s), want, 1e-10 * s) << "t " << t;
  }
  EXPECT_NEAR(relu_kink_mean(0, s), s / std::sqrt(2 * std::numbers::pi), 1e-15);
  EXPECT_EQ(relu_kink_mean(0.3, 0), 0.0);
}

TEST(Kinks, CurvaturePlusKinksMatchesMonteCarloOnReluMlp) {
  const Graph g = make_mlp({32, 64, 64, 10}, 3);
  const Tensor x = test::uniform_tensor({256, 32}, 5, 0.0f, 1.0f);
  std::vector<std::int32_t> labels;
  for (int n = 0; n < 256; ++n) labels.push_back((n * 7) % 10);
  const auto curvature_sens = loss_sensitivity(g, g.values, x);
  FirstOrderOptions opt;
  opt.exact_max = 1 << 20;
  const auto first_order = first_order_sensitivity(g, g.values, x, opt);
  for (int bits : {8, 4}) {
    const auto noise = weight_noise(g, g.values, bits, Granularity::Tensor);
    const double curvature = predict_loss_increase(curvature_sens, noise).total;
    const auto joint = predict_first_order(first_order, noise, Mode::Joint);
    const double kinks = predict_kink_loss(g, g.values, x, labels, noise, joint).total;
    const auto mc = test::mc_loss(g, x, labels, noise, 1000);
    const double tol = 5 * mc.se + 0.05 * mc.mean;
    ASSERT_LT(5 * mc.se, 0.15 * mc.mean) << "Monte Carlo too noisy at " << bits << " bits";
    EXPECT_NEAR(curvature + kinks, mc.mean, tol) << bits << " bits: curvature " << curvature << " kinks " << kinks;
    EXPECT_GT(std::abs(curvature - mc.mean), tol) << bits << " bits: the curvature term alone already agrees";
  }
}

}  // namespace
}  // namespace qreg::theory
