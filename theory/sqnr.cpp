// SQNR and the bits-needed inverse (derivation in sqnr.hpp). The ceiling is taken with a relative
// slack of 1e-9 so that a target equal to the noise at b bits maps back to b despite rounding.
#include "theory/sqnr.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/bits.hpp"
#include "core/error.hpp"

namespace qreg::theory {
namespace {

double levels(int bits) { return std::ldexp(1.0, bits - 1) - 1.0; }

}  // namespace

double sqnr_db(double signal, double noise_var) {
  if (noise_var <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise_var);
}

double scale_noise(double noise_var, int from_bits, int to_bits) {
  check_bits(from_bits);
  check_bits(to_bits);
  const double r = levels(from_bits) / levels(to_bits);
  return noise_var * r * r;
}

int bits_for_noise(double noise_var, int at_bits, double target_noise) {
  check_bits(at_bits);
  if (!(target_noise > 0)) throw UsageError("bits_for_noise: the target noise variance must be positive");
  if (noise_var <= 0) return kMinBits;
  const double needed_levels = levels(at_bits) * std::sqrt(noise_var / target_noise);
  const double b = 1.0 + std::log2(1.0 + needed_levels);
  const int bits = static_cast<int>(std::ceil(b - 1e-9 * b));
  return std::clamp(bits, kMinBits, kMaxBits);
}

int bits_for_sqnr(double signal, double noise_var, int at_bits, double target_db) {
  return bits_for_noise(noise_var, at_bits, signal * std::pow(10.0, -target_db / 10.0));
}

}  // namespace qreg::theory
