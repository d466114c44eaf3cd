#include "sim/estimate.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace qreg::sim {

double MeanEstimate::rse() const {
  if (std_error == 0) return 0;
  return mean == 0 ? std::numeric_limits<double>::infinity() : std_error / std::abs(mean);
}

MeanEstimate estimate_mean(std::span<const double> draws, double confidence) {
  const auto n = static_cast<double>(draws.size());
  if (draws.size() < 2) throw UsageError("estimate_mean: need at least 2 draws, got " + std::to_string(draws.size()));
  if (!(confidence > 0 && confidence < 1))
    throw UsageError("estimate_mean: confidence " + std::to_string(confidence) + " outside (0, 1)");
  double sum = 0;
  for (const double x : draws) sum += x;
  MeanEstimate e;
  e.mean = sum / n;
  double ss = 0;  // second pass: no cancellation when the spread is small next to the mean
  for (const double x : draws) ss += (x - e.mean) * (x - e.mean);
  e.std_error = std::sqrt(ss / (n - 1) / n);
  const boost::math::students_t dist(n - 1);
  const double t = boost::math::quantile(dist, 0.5 + confidence / 2);
  e.ci_low = e.mean - t * e.std_error;
  e.ci_high = e.mean + t * e.std_error;
  return e;
}

}  // namespace qreg::sim
