// Synthetic weight tensors with iid entries drawn from the Philox streams of core/rng.hpp.
// Element i belongs to chunk i / kSyntheticChunk, which reads its own stream (seed, chunk), so
// the tensor depends only on (distribution, shape, seed, scale), never on the thread count.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/tensor.hpp"

namespace qreg {

enum class Distribution {
  Normal,   // N(0, scale²)
  Uniform,  // U(−scale, scale)
  Laplace,  // Laplace(0, scale): density exp(−|w|/scale) / (2·scale), variance 2·scale²
};

/// "normal" | "uniform" | "laplace"; throws UsageError otherwise.
Distribution parse_distribution(std::string_view text);
const char* distribution_name(Distribution dist);

/// Elements per random stream; fixed so that results do not depend on scheduling.
inline constexpr std::int64_t kSyntheticChunk = 4096;

/// A tensor of `shape` with iid entries of `dist`, generated in parallel (TBB) from streams
/// (seed, chunk index), chunk = element index / kSyntheticChunk. Throws UsageError when
/// scale is not positive and finite.
Tensor synthetic_tensor(Distribution dist, const Shape& shape, std::uint64_t seed, double scale = 1.0);

}  // namespace qreg
