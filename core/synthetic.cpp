#include "core/synthetic.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/named_enum.hpp"
#include "core/rng.hpp"

namespace qreg {

namespace {
constexpr EnumName<Distribution> kDistributions[] = {
    {Distribution::Normal, "normal"}, {Distribution::Uniform, "uniform"}, {Distribution::Laplace, "laplace"}};
}  // namespace

Distribution parse_distribution(std::string_view text) { return parse_enum(text, kDistributions, "dist"); }
const char* distribution_name(Distribution dist) { return enum_name(dist, kDistributions); }

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
