#include "theory/ks_test.hpp"

#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace qreg {

// Boost 1.74 (the Debian version here) has no Kolmogorov–Smirnov distribution
// (boost/math/distributions/kolmogorov_smirnov.hpp arrived in 1.75), so the limiting Kolmogorov
// distribution is summed directly, with the two classical series each used where it converges
// in a few terms (both are exact expansions of the same function):
//   λ ≥ 1:  Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²)                 (alternating, e^{−2λ²} ≤ 0.14)
//   λ < 1:  1 − Q(λ) = (√(2π)/λ) Σ_{k≥1} exp(−(2k−1)²π²/(8λ²))       (Jacobi theta form)
double kolmogorov_sf(double lambda) {
  if (!(lambda > 0.0)) return 1.0;
  if (lambda >= 1.0) {
    double sum = 0.0, sign = 1.0;
    for (int k = 1; k <= 100; ++k) {
      const double term = std::exp(-2.0 * k * k * lambda * lambda);
      sum += sign * term;
      if (term < 1e-17) break;
      sign = -sign;
    }
    return std::clamp(2.0 * sum, 0.0, 1.0);
  }
  const double pi2_8 = std::numbers::pi * std::numbers::pi / (8.0 * lambda * lambda);
  double sum = 0.0;
  for (int k = 1; k <= 100; ++k) {
    const double term = std::exp(-(2.0 * k - 1.0) * (2.0 * k - 1.0) * pi2_8);
    sum += term;
    if (term <= 1e-17 * sum) break;
  }
  return std::clamp(1.0 - std::sqrt(2.0 * std::numbers::pi) / lambda * sum, 0.0, 1.0);
}

KsResult ks_test_uniform(std::vector<double>& sample, double lo, double hi) {
  if (sample.empty()) throw Error("ks_test_uniform: empty sample");
  if (!(lo < hi)) throw Error("ks_test_uniform: empty interval");
  tbb::parallel_sort(sample.begin(), sample.end());  // a sorted sequence is unique: thread-independent
  const auto n = static_cast<double>(sample.size());
  double d = 0.0;
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const double f = std::clamp((sample[i] - lo) / (hi - lo), 0.0, 1.0);
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  // Stephens (1970): the asymptotic law is accurate for n ≳ 5 with this effective argument.
  const double rn = std::sqrt(n);
  return {d, kolmogorov_sf((rn + 0.12 + 0.11 / rn) * d), static_cast<std::int64_t>(sample.size())};
}

}  // namespace qreg
