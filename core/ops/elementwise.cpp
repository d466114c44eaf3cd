// Elementwise ops on flat buffers (Eigen array expressions, vectorised, single pass), in parallel
// fixed chunks: a CNN's activations at batch 128 are megabytes; an MLP's stay one chunk.
#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

using ConstArray = Eigen::Map<const Eigen::ArrayXf>;
using Array = Eigen::Map<Eigen::ArrayXf>;

constexpr std::int64_t kChunk = std::int64_t{1} << 16;  // floats per task (256 KiB)

ConstArray flat(const Tensor& t, std::int64_t i0, std::int64_t i1) { return {t.data() + i0, i1 - i0}; }
Array flat(Tensor& t, std::int64_t i0, std::int64_t i1) { return {t.data() + i0, i1 - i0}; }

/// f(i0, i1) over [0, t.size()) in fixed chunks, in parallel.
template <class F>
void chunked(const Tensor& t, F&& f) {
  for_chunks(t.size(), kChunk, f);
}

}  // namespace

void relu_forward(const Tensor& x, Tensor& y) {
  chunked(x, [&](std::int64_t i0, std::int64_t i1) { flat(y, i0, i1) = flat(x, i0, i1).max(0.0f); });
}

void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  chunked(y, [&](std::int64_t i0, std::int64_t i1) {
    flat(dx, i0, i1) += (flat(y, i0, i1) > 0.0f).select(flat(dy, i0, i1), 0.0f);
  });
}

void add_forward(const Tensor& a, const Tensor& b, Tensor& y) {
  chunked(a, [&](std::int64_t i0, std::int64_t i1) { flat(y, i0, i1) = flat(a, i0, i1) + flat(b, i0, i1); });
}

void zero(Tensor& t) {
  chunked(t, [&](std::int64_t i0, std::int64_t i1) { flat(t, i0, i1).setZero(); });
}

void accumulate(const Tensor& dy, Tensor& dx) {
  chunked(dy, [&](std::int64_t i0, std::int64_t i1) { flat(dx, i0, i1) += flat(dy, i0, i1); });
}

}  // namespace qreg::ops
