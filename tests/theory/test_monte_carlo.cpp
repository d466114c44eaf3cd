// First-order and loss-increase predictions against an independent Monte Carlo written here with
// plain loops over the executor's forward pass (theory_test_util.hpp; not the sim module), and the
// Hutchinson estimator against the exact per-element computation.
//
// Tolerances. The Monte Carlo estimate has a standard error SE from its per-draw spread; the
// first-order prediction additionally drops O(σ⁴) terms (cross-layer bilinear noise, ReLU and
// max-pool kinks crossed by the noise). The issue asks for 5% at 8 bits and 10% at 4 bits per
// layer. The tests first assert that 5·SE stays below 3% (8 bits) and 6% (4 bits) of the value,
// so that the tolerance covers 5 MC standard errors plus a linearisation error of 2% (8 bits,
// where σ/|w| ~ 1/255 makes the dropped terms ~1e-4 relative) or 4% (4 bits: Δ = max|w|/7, kinks
// matter). The predictions use exact per-element backward passes (exact_max large), so the only
// gap is linearisation: the Hutchinson estimator is checked separately (within 5 of its own SEs).
// Loss increase: antithetic pairs ½(L(W+δ)+L(W−δ)) − L(W) cancel the odd terms (the first-order
// term ∇L·δ, whose spread is ~1/σ times the mean), leaving δᵀHδ/2 plus O(σ⁴); tolerance 5·SE + 2%.
#include <gtest/gtest.h>

#include <cmath>

#include "core/models.hpp"
#include "tests/theory/theory_test_util.hpp"
#include "theory/first_order.hpp"
#include "theory/loss_increase.hpp"

namespace qreg::theory {
namespace {

struct Case {
  const char* what;
  int bits;
  Granularity gran;
  double tol;     // relative tolerance on |pred − mc| / mc
  double se_cap;  // 5·SE must stay below this share of the MC value
};

void check_against_mc(const Graph& g, const Tensor& x, const Case& c, int draws) {
  const auto noise = weight_noise(g, g.values, c.bits, c.gran);
  FirstOrderOptions opt;
  opt.exact_max = 1 << 20;  // exact everywhere: these graphs are tiny
  const auto pred = predict_first_order(first_order_sensitivity(g, g.values, x, opt), noise, Mode::Joint);
  const auto mc = test::mc_noise(g, x, noise, draws);
  for (std::size_t L = 0; L < pred.size(); ++L) {
    SCOPED_TRACE(std::string(c.what) + " layer " + std::to_string(L));
    ASSERT_LT(5 * mc.se[L], c.se_cap * mc.var[L]) << "Monte Carlo too noisy for the tolerance";
    EXPECT_NEAR(pred[L].noise_var, mc.var[L], c.tol * mc.var[L]);
  }
}

Tensor inputs(Shape shape, std::uint64_t stream) { return test::uniform_tensor(std::move(shape), stream, 0.0f, 1.0f); }

TEST(TheoryMonteCarlo, FirstOrderMlp) {
  const Graph g = make_mlp({12, 24, 16, 5}, 7);
  const Tensor x = inputs({24, 12}, 1);
  check_against_mc(g, x, {"mlp 8 bits", 8, Granularity::Tensor, 0.05, 0.04}, 3000);
  check_against_mc(g, x, {"mlp 4 bits channel", 4, Granularity::Channel, 0.10, 0.07}, 3000);
}

TEST(TheoryMonteCarlo, FirstOrderCnn) {
  const Graph g = make_residual_cnn(11);  // conv, batch norm, ReLU, residual add, max and average pool
  const Tensor x = inputs({16, 2, 6, 6}, 2);
  check_against_mc(g, x, {"cnn 8 bits", 8, Granularity::Tensor, 0.05, 0.04}, 6000);
  check_against_mc(g, x, {"cnn 4 bits channel", 4, Granularity::Channel, 0.10, 0.07}, 6000);
}

TEST(TheoryMonteCarlo, LossIncreaseAt8Bits) {
  const Graph g = test::linear2(12, 24, 5);
  const Tensor x = inputs({32, 12}, 3);
  std::vector<std::int32_t> labels;
  for (int n = 0; n < 32; ++n) labels.push_back(n % 5);
  const auto noise = weight_noise(g, g.values, 8, Granularity::Tensor);
  const double pred = predict_loss_increase(loss_sensitivity(g, g.values, x), noise).total;
  const auto [mean, se] = test::mc_loss(g, x, labels, noise, 3000, 99);
  ASSERT_GT(pred, 0.0);
  ASSERT_LT(5 * se, 0.2 * pred) << "Monte Carlo too noisy";
  EXPECT_NEAR(pred, mean, 5 * se + 0.02 * pred);
}

TEST(TheoryMonteCarlo, HutchinsonWithinFiveStandardErrorsOfExact) {
  const Graph g = make_residual_cnn(5);
  const Tensor x = inputs({16, 2, 6, 6}, 4);
  const auto noise = weight_noise(g, g.values, 8, Granularity::Tensor);
  FirstOrderOptions exact_opt, probe_opt;
  exact_opt.exact_max = 1 << 20;
  probe_opt.exact_max = 0;
  probe_opt.probes = 24;
  const auto exact = predict_first_order(first_order_sensitivity(g, g.values, x, exact_opt), noise, Mode::Joint);
  const auto probed = predict_first_order(first_order_sensitivity(g, g.values, x, probe_opt), noise, Mode::Joint);
  int checked = 0;
  for (std::size_t L = 1; L < exact.size(); ++L) {  // layer 0 has no upstream source: exact in both
    ASSERT_TRUE(probed[L].stderr.has_value());
    ASSERT_GT(*probed[L].stderr, 0.0);
    EXPECT_NEAR(probed[L].noise_var, exact[L].noise_var, 5 * *probed[L].stderr) << "layer " << L;
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

}  // namespace
}  // namespace qreg::theory
