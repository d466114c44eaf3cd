// Tests of the quantization-noise statistics (theory/noise_stats.hpp) and the KS test they use.
// Reference values:
// - Kolmogorov survival function Q(λ): the critical values λ(α) with Q = α and Q(1), Q(0.5),
//   computed with mpmath at 30 digits from the alternating series (Q(0.5) exercises the other,
//   theta-function branch): λ(0.10) = 1.2238478702, λ(0.05) = 1.3580986393, λ(0.01) =
//   1.6276236115, λ(0.001) = 1.9494746035; Q(1) = 0.2699996717, Q(0.5) = 0.9639452437.
//   Tolerance 1e-9 absolute: both series are summed to 1e-17 relative; the bound leaves
//   room for the 10-digit rounding of the references.
// - KS statistic of {0.1, 0.4, 0.7} against U(0, 1), by hand: max over i of i/n − F, F − (i−1)/n
//   = max(0.233, 0.1, 0.267, 0.067, 0.3, 0.033) = 0.3.
// - Uniform weights U(−a, a) with Δ = a/qmax: derived by hand, the error is exactly uniform
//   (var_ratio → 1) but correlated with w: E[w·δ] = Δ²/24 (interior cells give −Δ²/12, the two
//   half-width end cells +qmax·Δ²/4 − Δ²/12 each, with probability 1/(4·qmax)), so
//   corr(w, δ) = (Δ²/24)/((Δ/√12)(qmax·Δ/√3)) = 1/(4·qmax).
// Monte Carlo properties (fixed seeds) use |estimate − theory| ≤ 5·SE with SE derived from the
// sample, and the uniform law's own SE √(0.8/n) of the variance ratio for a cross-check.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/synthetic.hpp"
#include "theory/ks_test.hpp"
#include "theory/noise_stats.hpp"

namespace qreg {
namespace {

constexpr std::int64_t kN = 100000;

QuantizerConfig sym(int bits, Granularity g = Granularity::Tensor) { return {bits, g, Scheme::Symmetric, 0}; }

TEST(KolmogorovSf, MatchesHighPrecisionReferences) {
  EXPECT_NEAR(kolmogorov_sf(1.2238478702), 0.10, 1e-9);
  EXPECT_NEAR(kolmogorov_sf(1.3580986393), 0.05, 1e-9);
  EXPECT_NEAR(kolmogorov_sf(1.6276236115), 0.01, 1e-9);
  EXPECT_NEAR(kolmogorov_sf(1.9494746035), 0.001, 1e-9);
  EXPECT_NEAR(kolmogorov_sf(1.0), 0.2699996717, 1e-9);
  EXPECT_NEAR(kolmogorov_sf(0.5), 0.9639452437, 1e-9);
  EXPECT_NEAR(kolmogorov_sf(1.0 - 1e-12), kolmogorov_sf(1.0), 1e-10);  // the two branches meet
  EXPECT_EQ(kolmogorov_sf(0.0), 1.0);
  EXPECT_LT(kolmogorov_sf(10.0), 1e-80);
}

TEST(KsTest, HandComputedStatistic) {
  std::vector<double> s = {0.7, 0.1, 0.4};
  const KsResult r = ks_test_uniform(s, 0.0, 1.0);
  EXPECT_NEAR(r.statistic, 0.3, 1e-15);
  EXPECT_EQ(r.n, 3);
  std::vector<double> empty;
  EXPECT_THROW(ks_test_uniform(empty, 0.0, 1.0), Error);
}

TEST(NoiseStats, EightBitNormalFollowsTheModel) {
  const Tensor w = synthetic_tensor(Distribution::Normal, {kN}, 11);
  const NoiseStats s = noise_stats(w, sym(8));
  const double se_uniform = std::sqrt(0.8 / kN);  // SE of the ratio if δ/Δ is exactly U(−½, ½)
  EXPECT_NEAR(s.var_ratio_stderr, se_uniform, 0.1 * se_uniform);
  EXPECT_LE(std::abs(s.var_ratio - 1.0), 5.0 * s.var_ratio_stderr);
  EXPECT_NEAR(s.weight_noise_var, s.step * s.step / 12.0, 1e-12 * s.weight_noise_var);
  EXPECT_NEAR(s.noise_var / s.weight_noise_var, s.var_ratio, 1e-9);  // per tensor they coincide
  EXPECT_LE(std::abs(s.corr), 5.0 / std::sqrt(double(kN)));
  EXPECT_GT(s.ks_p_value, 1e-3);
  EXPECT_EQ(s.clipped_share, 0.0);
  EXPECT_TRUE(s.model_holds);
  // SQNR = 10·log10(E[w²]/(Δ²/12)) up to the ratio's sampling error (5 SE in dB).
  double w2 = 0;
  for (float v : w.values()) w2 += double(v) * v / kN;
  EXPECT_NEAR(s.sqnr_db, 10 * std::log10(w2 / s.weight_noise_var), 10 / std::log(10.0) * 5 * s.var_ratio_stderr);
}

TEST(NoiseStats, TwoBitNormalBreaksTheModel) {
  const Tensor w = synthetic_tensor(Distribution::Normal, {kN}, 11);
  const NoiseStats s = noise_stats(w, sym(2));
  EXPECT_LT(s.ks_p_value, 1e-10);
  EXPECT_GT(s.ks_statistic, 0.05);
  EXPECT_LT(s.var_ratio, 0.8);  // most weights round to 0: δ ≈ −w, far below Δ²/12 = max|w|²/12
  EXPECT_LT(s.corr, -0.5);
  EXPECT_FALSE(s.ratio_ok);
  EXPECT_FALSE(s.model_holds);
}

TEST(NoiseStats, VarianceFallsFourfoldPerBit) {
  // In the model Var ∝ Δ², Δ = max|w|/(2^(b−1)−1): from b to b+1 the variance falls by
  // ((2^b−1)/(2^(b−1)−1))², 4.06 at 8 bits. Ratio of two estimates: relative SE √(2·0.8/n).
  const Tensor w = synthetic_tensor(Distribution::Normal, {kN}, 12);
  const double rel_se = std::sqrt(1.6 / kN);
  for (int b = 5; b < 10; ++b) {
    const NoiseStats lo = noise_stats(w, sym(b)), hi = noise_stats(w, sym(b + 1));
    const double expected = std::pow((std::pow(2.0, b) - 1) / (std::pow(2.0, b - 1) - 1), 2);
    EXPECT_NEAR(lo.noise_var / hi.noise_var / expected, 1.0, 5 * rel_se) << b;
    EXPECT_NEAR(lo.noise_var / hi.noise_var, 4.0, 0.07 * 4.0) << b;  // within 7% of 4×
  }
}

TEST(NoiseStats, VarianceScalesWithTheSquareOfTheStep) {
  // Scaling w by 2^k scales Δ by 2^k exactly in float, so every error scales exactly too.
  const Tensor w = synthetic_tensor(Distribution::Laplace, {kN}, 13);
  Tensor w8 = w;
  for (float& v : w8.values()) v *= 8.0f;
  const NoiseStats a = noise_stats(w, sym(6)), b = noise_stats(w8, sym(6));
  EXPECT_DOUBLE_EQ(b.step, 8 * a.step);
  EXPECT_NEAR(b.noise_var, 64 * a.noise_var, 1e-12 * b.noise_var);
  EXPECT_NEAR(b.var_ratio, a.var_ratio, 1e-12);
}

TEST(NoiseStats, UniformWeightsCorrelateAsDerived) {
  const Tensor w = synthetic_tensor(Distribution::Uniform, {kN}, 14);
  for (int b : {2, 3, 4, 8}) {
    const NoiseStats s = noise_stats(w, sym(b));
    const double qmax = std::pow(2.0, b - 1) - 1;
    EXPECT_NEAR(s.corr, 1.0 / (4.0 * qmax), 5.0 / std::sqrt(double(kN))) << b;
    EXPECT_LE(std::abs(s.var_ratio - 1.0), 5.0 * s.var_ratio_stderr) << b;
  }
  EXPECT_FALSE(noise_stats(w, sym(2)).corr_ok);  // 0.25 > 0.1
  EXPECT_TRUE(noise_stats(w, sym(8)).model_holds);
}

TEST(NoiseStats, PerChannelUsesEachChannelsStep) {
  // Rows with scales 1, 10, 100: per channel, each element is compared with its own Δ_c.
  Tensor w = synthetic_tensor(Distribution::Normal, {3, kN / 3}, 15);
  for (std::int64_t i = 0; i < w.size(); ++i) w[i] *= std::pow(10.0f, static_cast<float>(i / (kN / 3)));
  const QuantParams qp = compute_quant_params(w, sym(8, Granularity::Channel));
  const NoiseStats s = noise_stats(w, qp);
  double model = 0;
  for (float d : qp.step) model += double(d) * d / 12.0 / 3.0;  // equal-sized channels
  EXPECT_NEAR(s.weight_noise_var, model, 1e-9 * model);
  EXPECT_LE(std::abs(s.var_ratio - 1.0), 5.0 * s.var_ratio_stderr);
  EXPECT_TRUE(s.model_holds);
  EXPECT_GT(s.sqnr_db, noise_stats(w, sym(8)).sqnr_db);  // finer steps for the small rows
}

TEST(NoiseStats, ClippedShareCountsClampedWeights) {
  const Tensor w = synthetic_tensor(Distribution::Normal, {kN}, 16);
  QuantParams qp = compute_quant_params(w, sym(4));
  qp.step[0] *= 0.5f;  // half the max-calibrated step: weights beyond 7.5·Δ are clamped
  std::int64_t beyond = 0;
  for (float v : w.values()) beyond += std::abs(v) > 7.5f * qp.step[0];
  const NoiseStats s = noise_stats(w, qp);
  EXPECT_GT(beyond, 0);
  EXPECT_DOUBLE_EQ(s.clipped_share, double(beyond) / kN);
}

TEST(NoiseStats, IdenticalForOneAndTwoThreads) {
  const Tensor w = synthetic_tensor(Distribution::Normal, {kN}, 17);
  NoiseStats one, two;
  {
    ThreadScope scope(1);
    one = noise_stats(w, sym(4, Granularity::Tensor));
  }
  {
    ThreadScope scope(2);
    two = noise_stats(w, sym(4, Granularity::Tensor));
  }
  EXPECT_EQ(one.noise_var, two.noise_var);
  EXPECT_EQ(one.var_ratio_stderr, two.var_ratio_stderr);
  EXPECT_EQ(one.corr, two.corr);
  EXPECT_EQ(one.ks_statistic, two.ks_statistic);
  EXPECT_EQ(one.sqnr_db, two.sqnr_db);
}

TEST(NoiseStats, RejectsBadInput) {
  EXPECT_THROW(noise_stats(Tensor({1}, 1.0f), sym(8)), Error);
  EXPECT_THROW(noise_stats(Tensor({4}, 1.0f), sym(1)), UsageError);
  Tensor nan({4}, 1.0f);
  nan[2] = NAN;
  EXPECT_THROW(noise_stats(nan, sym(8)), Error);
  const NoiseStats zero = noise_stats(Tensor({8}, 0.0f), sym(8));  // no noise at all: no NaN crash
  EXPECT_EQ(zero.noise_var, 0.0);
  EXPECT_FALSE(zero.model_holds);
}

}  // namespace
}  // namespace qreg
