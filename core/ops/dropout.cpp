// Inverted dropout: in a training forward every element is kept with probability 1 − p and
// scaled by 1/(1 − p) (so E[y] = x and inference is the identity), else zeroed; dx = dy · mask.
// The mask is counter-based: element i of graph node k takes word i mod 4 of Philox block
// (k·2^40 + ⌊i/4⌋) of stream (rng_seed, rng_stream), which the trainer derives from (seed, epoch,
// step). It depends on nothing else, so it is the same for any thread count and after a resume.
// An element is dropped when u < p for u = u01_open(word) ∈ (0, 1) (24-bit resolution).
#include "core/ops/ops.hpp"
#include "core/rng.hpp"

namespace qreg::ops {
namespace {

constexpr std::int64_t kChunk = 1 << 14;  // elements per parallel chunk; a multiple of 4 (one Philox block)

}  // namespace

void dropout_forward(const Tensor& x, float ratio, bool training, std::uint64_t node, Tensor& y, NodeState& st) {
  if (!training || ratio <= 0.0f) {
    st.dropout_mul.clear();
    std::copy(x.data(), x.data() + x.size(), y.data());
    return;
  }
  st.dropout_mul.resize(static_cast<std::size_t>(x.size()));
  const float scale = 1.0f / (1.0f - ratio);
  const std::uint64_t base = node << 40;
  for_chunks(x.size(), kChunk, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; i += 4) {
      const auto block = philox_block(st.rng_seed, st.rng_stream, base + static_cast<std::uint64_t>(i / 4));
      for (std::int64_t j = i; j < std::min(e, i + 4); ++j) {
        const float mul = u01_open(block.v[j - i]) < ratio ? 0.0f : scale;
        st.dropout_mul[static_cast<std::size_t>(j)] = mul;
        y[j] = x[j] * mul;
      }
    }
  });
}

void dropout_backward(const Tensor& dy, Tensor& dx, const NodeState& st) {
  if (st.dropout_mul.empty()) return accumulate(dy, dx);
  for_chunks(dy.size(), kChunk, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) dx[i] += dy[i] * st.dropout_mul[static_cast<std::size_t>(i)];
  });
}

}  // namespace qreg::ops
