#include "core/synthetic.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qreg {

Distribution parse_distribution(std::string_view text) {
  if (text == "normal") return Distribution::Normal;
  if (text == "uniform") return Distribution::Uniform;
  if (text == "laplace") return Distribution::Laplace;
  throw UsageError("dist: '" + std::string(text) + "' is not one of normal, uniform, laplace");
}

const char* distribution_name(Distribution dist) {
  switch (dist) {
    case Distribution::Normal:
      return "normal";
    case Distribution::Uniform:
      return "uniform";
    case Distribution::Laplace:
      return "laplace";
  }
  return "?";
}

Tensor synthetic_tensor(Distribution dist, const Shape& shape, std::uint64_t seed, double scale) {
  if (!(scale > 0.0) || !std::isfinite(scale))
    throw UsageError("synthetic_tensor: scale " + std::to_string(scale) + " is not positive");
  Tensor t(shape);
  float* out = t.data();
  const std::int64_t n = t.size();
  const std::int64_t chunks = (n + kSyntheticChunk - 1) / kSyntheticChunk;
  // One task per chunk: a chunk always reads the same stream from its start (a fresh
  // RandomStream, so even Box-Muller's cached spare is per chunk), whoever runs it.
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    RandomStream rng(seed, static_cast<std::uint64_t>(c));
    const std::int64_t end = std::min(n, (c + 1) * kSyntheticChunk);
    for (std::int64_t i = c * kSyntheticChunk; i < end; ++i) {
      double v = 0.0;
      switch (dist) {
        case Distribution::Normal:
          v = scale * rng.normal();
          break;
        case Distribution::Uniform:
          v = scale * (2.0 * rng.uniform_double() - 1.0);
          break;
        case Distribution::Laplace:
          v = rng.laplace(scale);
          break;
      }
      out[i] = static_cast<float>(v);
    }
  });
  return t;
}

}  // namespace qreg
