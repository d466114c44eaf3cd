// Mean of iid Monte Carlo draws with its standard error and a Student-t confidence interval.
#pragma once

#include <span>

namespace qreg::sim {

struct MeanEstimate {
  double mean = 0;
  double std_error = 0;            // s/√D with the unbiased sample standard deviation s
  double ci_low = 0, ci_high = 0;  // mean ∓ t_{(1+confidence)/2, D−1}·std_error
  /// std_error/|mean| (0 when both are 0, +inf when only the mean is 0).
  double rse() const;
};

/// Two-pass mean and variance over `draws` (in the given order, so the result is reproducible).
/// confidence ∈ (0, 1). Throws UsageError for fewer than 2 draws or a bad confidence.
MeanEstimate estimate_mean(std::span<const double> draws, double confidence = 0.95);

}  // namespace qreg::sim
