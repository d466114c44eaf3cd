// Seeded synthetic teacher-student data: inputs x ~ N(0, 1), labels = argmax of a fixed random
// teacher MLP  logits = W2 relu(W1 x + b1) + b2. Bitwise reproducible from the seed.
#pragma once

#include <cstdint>

#include "core/dataset.hpp"
#include "core/tensor.hpp"

namespace qreg {

struct SyntheticSpec {
  std::int64_t n = 1000;       // number of samples
  Shape sample_shape = {784};  // one sample's shape: {F} or {C, H, W}
  int classes = 10;            // teacher outputs, labels in [0, classes)
  int hidden = 64;             // teacher hidden width
  std::uint64_t seed = 0;
};

/// Random streams of the generator (RandomStream(seed, stream)): the teacher's weights come from
/// fixed streams, sample i from its own stream, so the first k samples do not depend on n.
inline constexpr std::uint64_t kTeacherLayer1Stream = 0;  // W1 [hidden, F], b1 [hidden]
inline constexpr std::uint64_t kTeacherLayer2Stream = 1;  // W2 [classes, hidden], b2 [classes]
inline constexpr std::uint64_t kSampleStreamBase = 16;    // sample i uses stream 16 + i

/// Inputs [n, sample_shape...] float32 and their teacher labels; name "synthetic:...".
/// Throws UsageError on n < 1, classes < 2, hidden < 1, a non-positive sample dimension, or
/// more than 2^31 input values or 2^28 teacher weights.
Dataset make_synthetic(const SyntheticSpec& spec);

}  // namespace qreg
