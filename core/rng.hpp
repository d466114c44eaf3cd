// Counter-based random streams (Random123 Philox4x32-10), the same on host and device.
// A stream is named by (seed, stream index): parallel tasks derive their stream from the run's
// seed and their task index, never from thread ids, so results do not depend on scheduling.
#pragma once

#include <Random123/philox.h>

#include <array>
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define QREG_HD __host__ __device__
#else
#define QREG_HD
#endif

namespace qreg {

/// The 128-bit block `block` of stream (seed, stream): key = seed, counter = (stream, block).
QREG_HD inline r123::Philox4x32::ctr_type philox_block(std::uint64_t seed, std::uint64_t stream, std::uint64_t block) {
  r123::Philox4x32 gen;
  r123::Philox4x32::key_type key = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  r123::Philox4x32::ctr_type ctr = {{static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32),
                                     static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32)}};
  return gen(ctr, key);
}

/// Uniform float in the open interval (0, 1) from 24 random bits.
QREG_HD inline float u01_open(std::uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

/// Uniform double in (0, 1) from 53 random bits.
QREG_HD inline double u01_open_double(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  return (static_cast<double>(bits) + 0.5) * (1.0 / 9007199254740992.0);
}

/// Sequential reader over one stream: draws 32-bit words block by block, in counter order.
class RandomStream {
 public:
  RandomStream(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {}

  std::uint32_t next_u32() {
    if (pos_ == 4) {
      buf_ = philox_block(seed_, stream_, block_++);
      pos_ = 0;
    }
    return buf_.v[pos_++];
  }
  /// U(0, 1), open interval.
  float uniform() { return u01_open(next_u32()); }
  /// U(lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  double uniform_double() {
    const std::uint32_t hi = next_u32();
    return u01_open_double(hi, next_u32());
  }
  /// Standard normal by Box-Muller in double (one of the pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_double(), u2 = uniform_double();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(6.283185307179586 * u2);
    has_spare_ = true;
    return r * std::cos(6.283185307179586 * u2);
  }
  /// Laplace(0, b) by inversion.
  double laplace(double b) {
    const double u = uniform_double() - 0.5;
    return -b * (u < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::abs(u));
  }
  /// Rademacher ±1.
  float rademacher() { return (next_u32() & 1u) ? 1.0f : -1.0f; }

 private:
  std::uint64_t seed_, stream_, block_ = 0;
  r123::Philox4x32::ctr_type buf_{};
  int pos_ = 4;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace qreg
