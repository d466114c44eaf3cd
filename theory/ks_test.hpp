// One-sample Kolmogorov–Smirnov test against a uniform distribution, used to check the additive
// noise model's claim that the scaled quantization error (q(w) − w)/Δ is U(−½, ½).
#pragma once

#include <cstdint>
#include <vector>

namespace qreg {

/// Kolmogorov distribution's survival function Q(λ) = P(K > λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}.
double kolmogorov_sf(double lambda);

struct KsResult {
  double statistic = 0.0;  // D = sup |F_n(x) − F(x)|
  double p_value = 1.0;    // Q((√n + 0.12 + 0.11/√n)·D), Stephens' small-sample correction
  std::int64_t n = 0;
};

/// KS test of `sample` against U(lo, hi). Sorts `sample` in place. Throws Error when the
/// sample is empty or lo >= hi.
KsResult ks_test_uniform(std::vector<double>& sample, double lo, double hi);

}  // namespace qreg
