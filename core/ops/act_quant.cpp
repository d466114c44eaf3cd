// Unsigned per-tensor activation fake-quantizer (the ActQuant node that core/act_quant.hpp puts
// after every Relu):
//   s = max / (2^B − 1),   y = s · clamp(rint(x / s), 0, 2^B − 1).
// The arithmetic is float and in exactly this order (divide by s, round half to even, clamp,
// multiply by s) because that is what the exported ONNX pattern Div(M, q) → Div(x, s) → Round →
// Clip(0, q) → Mul(s) computes (docs/onnx.md), so a runtime reproduces our outputs bitwise.
// max is the running max in inference. In a training forward it is first moved towards the
// batch's max, m' = momentum·m + (1 − momentum)·max(x), as PyTorch's moving-average observer does
// before its FakeQuantize; the first batch (m = 0: never calibrated) sets m' = max(x). m' is kept
// in the node state; Executor::update_running_stats writes it back, as for batch-norm statistics.
// Backward is the straight-through estimator on the quantizer's range: dx += dy where
// 0 ≤ x ≤ max, zero outside (the clamped region does not move with x).
#include <algorithm>

#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

using ConstArray = Eigen::Map<const Eigen::ArrayXf>;
using Array = Eigen::Map<Eigen::ArrayXf>;

/// Smallest running max a training forward stores: an all-zero layer (every batch max 0) still
/// gets a positive step, so the exported Div by s never divides by zero.
constexpr float kMinRunningMax = 1e-12f;

constexpr std::int64_t kChunk = 1 << 14;  // elements per parallel chunk (fixed: thread-independent)

}  // namespace

void act_quant_forward(const Tensor& x, const Tensor& running_max, int bits, float momentum, bool training, Tensor& y,
                       NodeState& st) {
  float m = running_max[0];
  if (training) {
    // max(x) is exact whatever the order, so one pass over the tensor is thread-independent.
    const float batch_max = x.size() > 0 ? ConstArray(x.data(), x.size()).maxCoeff() : 0.0f;
    m = m > 0.0f ? momentum * m + (1.0f - momentum) * batch_max : batch_max;
    m = std::max(m, kMinRunningMax);
  }
  st.act_max = m;
  if (!(m > 0.0f)) {  // never calibrated: an empty range, y = 0 (the limit of the formula as max → 0)
    Array(y.data(), y.size()).setZero();
    return;
  }
  const auto qmax = static_cast<float>((1 << bits) - 1);
  const float s = m / qmax;
  for_chunks(x.size(), kChunk, [&](std::int64_t b, std::int64_t e) {
    const ConstArray xs(x.data() + b, e - b);
    Array(y.data() + b, e - b) = (xs / s).rint().max(0.0f).min(qmax) * s;
  });
}

void act_quant_backward(const Tensor& x, const Tensor& dy, Tensor& dx, const NodeState& st) {
  const float m = st.act_max;
  for_chunks(x.size(), kChunk, [&](std::int64_t b, std::int64_t e) {
    const ConstArray xs(x.data() + b, e - b), g(dy.data() + b, e - b);
    Array(dx.data() + b, e - b) += (xs >= 0.0f && xs <= m).select(g, 0.0f);
  });
}

}  // namespace qreg::ops
