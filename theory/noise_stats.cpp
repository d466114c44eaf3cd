#include "theory/noise_stats.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "theory/ks_test.hpp"

namespace qreg {
namespace {

// Sums are taken per fixed chunk of elements and the chunk sums added in chunk order, so every
// statistic is bitwise the same whatever the thread count (DESIGN.md, Performance targets).
constexpr std::int64_t kChunk = 1 << 14;

template <typename Acc, typename F>
Acc chunked_sum(std::int64_t n, F add) {
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<Acc> part(static_cast<std::size_t>(chunks));
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    Acc& acc = part[static_cast<std::size_t>(c)];
    for (std::int64_t i = c * kChunk, end = std::min(n, (c + 1) * kChunk); i < end; ++i) add(acc, i);
  });
  Acc total;
  for (const Acc& p : part) total += p;
  return total;
}

struct FirstPass {  // raw sums
  double w = 0, e = 0, u = 0, w2 = 0, e2 = 0, step2 = 0, clipped = 0;
  FirstPass& operator+=(const FirstPass& o) {
    w += o.w, e += o.e, u += o.u, w2 += o.w2, e2 += o.e2, step2 += o.step2, clipped += o.clipped;
    return *this;
  }
};

struct SecondPass {  // central sums (two passes: no cancellation in Σx² − n·x̄²)
  double ww = 0, ee = 0, we = 0, e4 = 0, uu = 0, u4 = 0;
  SecondPass& operator+=(const SecondPass& o) {
    ww += o.ww, ee += o.ee, we += o.we, e4 += o.e4, uu += o.uu, u4 += o.u4;
    return *this;
  }
};

// Standard error of the unbiased sample variance s² from the central sums: Var(s²) =
// (μ4 − σ⁴(n−3)/(n−1))/n, with μ4 and σ² replaced by their sample values.
double variance_stderr(double m2_sum, double m4_sum, double n) {
  const double s2 = m2_sum / (n - 1.0), m4 = m4_sum / n;
  return std::sqrt(std::max(0.0, (m4 - s2 * s2 * (n - 3.0) / (n - 1.0)) / n));
}

// A check fails only when its deviation is both significant (beyond `sigmas` standard errors)
// and material (beyond `tol`): with millions of weights any real distribution differs
// detectably from the ideal, and with a few hundred, sampling noise alone exceeds a fixed tol.
bool within(double deviation, double stderr_, double sigmas, double tol) {
  if (std::isnan(deviation)) return false;
  return std::abs(deviation) <= std::max(sigmas * stderr_, tol);
}

void judge(NoiseStats& s, const ModelCriterion& c) {
  const double n = static_cast<double>(s.count);
  s.ratio_ok = within(s.var_ratio - 1.0, s.var_ratio_stderr, c.ratio_sigmas, c.ratio_tol);
  s.corr_ok = within(s.corr, 1.0 / std::sqrt(n), c.corr_sigmas, c.corr_tol);
  s.ks_ok = s.ks_p_value >= c.ks_alpha || s.ks_statistic <= c.ks_tol;
  s.model_holds = s.ratio_ok && s.corr_ok && s.ks_ok;
}

}  // namespace

NoiseStats noise_stats(const Tensor& weights, const QuantParams& params, const ModelCriterion& criterion) {
  if (weights.size() < 2)
    throw Error("noise_stats: tensor " + to_string(weights.shape()) + " has fewer than 2 weights");
  const Tensor q = fake_quantize(weights, params);  // checks fit and finiteness
  const GroupLayout g = group_layout(weights.shape(), params);
  const std::int64_t count = weights.size();
  const double n = static_cast<double>(count);
  const float* w = weights.data();
  const float* qv = q.data();
  std::vector<double> scaled(static_cast<std::size_t>(count));  // u = δ/Δ_c, for the KS test

  const auto first = chunked_sum<FirstPass>(count, [&](FirstPass& a, std::int64_t i) {
    const auto k = static_cast<std::size_t>(g.group_of(i));
    const double step = params.step[k];
    const double e = static_cast<double>(qv[i]) - static_cast<double>(w[i]);  // exact in double
    const double u = e / step;
    scaled[static_cast<std::size_t>(i)] = u;
    // The clamp acted where the unclamped code lies outside the code range.
    const float code = std::round(w[i] * (1.0f / params.step[k])) + params.zero_point[k];
    a.clipped += (code < static_cast<float>(params.code_min) || code > static_cast<float>(params.code_max)) ? 1 : 0;
    a.w += w[i], a.e += e, a.u += u, a.w2 += double(w[i]) * w[i], a.e2 += e * e, a.step2 += step * step;
  });
  const double w_mean = first.w / n, e_mean = first.e / n, u_mean = first.u / n;
  const auto second = chunked_sum<SecondPass>(count, [&](SecondPass& a, std::int64_t i) {
    const double dw = w[i] - w_mean, de = (double(qv[i]) - double(w[i])) - e_mean;
    const double du = scaled[static_cast<std::size_t>(i)] - u_mean;
    a.ww += dw * dw, a.ee += de * de, a.we += dw * de, a.e4 += de * de * de * de;
    a.uu += du * du, a.u4 += du * du * du * du;
  });

  NoiseStats s;
  s.count = count;
  s.step = std::sqrt(first.step2 / n);
  s.noise_mean = e_mean;
  s.noise_var = second.ee / (n - 1.0);
  s.noise_var_stderr = variance_stderr(second.ee, second.e4, n);
  s.weight_noise_var = first.step2 / n / 12.0;
  // The ratio is taken on the scaled error u = δ/Δ_c, whose model variance is 1/12 in every
  // channel; per tensor it equals noise_var / weight_noise_var exactly.
  s.var_ratio = 12.0 * second.uu / (n - 1.0);
  s.var_ratio_stderr = 12.0 * variance_stderr(second.uu, second.u4, n);
  s.corr = (second.ww > 0 && second.ee > 0) ? second.we / std::sqrt(second.ww * second.ee)
                                            : std::numeric_limits<double>::quiet_NaN();
  const KsResult ks = ks_test_uniform(scaled, -0.5, 0.5);
  s.ks_statistic = ks.statistic;
  s.ks_p_value = ks.p_value;
  s.clipped_share = first.clipped / n;
  s.sqnr_db = first.e2 > 0
                  ? 10.0 * std::log10(first.w2 / first.e2)
                  : (first.w2 > 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN());
  judge(s, criterion);
  return s;
}

NoiseStats noise_stats(const Tensor& weights, const QuantizerConfig& cfg, const ModelCriterion& criterion) {
  return noise_stats(weights, compute_quant_params(weights, cfg), criterion);
}

}  // namespace qreg
