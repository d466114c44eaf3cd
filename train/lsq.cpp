#include "train/lsq.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "core/bits.hpp"
#include "core/error.hpp"

namespace qreg {

std::vector<Tensor> lsq_initial_steps(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg) {
  std::vector<Tensor> out;
  for (const QuantLayer& q : quant_layers(graph, cfg)) {
    if (q.bits == kFloatBits) {
      out.emplace_back(Shape{1}, 0.0f);
      continue;
    }
    // mean|w| per group in double, element order: [outer, groups, inner] row-major.
    std::vector<double> sum(static_cast<std::size_t>(q.groups), 0.0);
    const float* w = shadow[static_cast<std::size_t>(q.param)].data();
    for (std::int64_t o = 0; o < q.outer; ++o)
      for (std::int64_t g = 0; g < q.groups; ++g)
        for (std::int64_t i = 0; i < q.inner; ++i)
          sum[static_cast<std::size_t>(g)] += std::abs(w[(o * q.groups + g) * q.inner + i]);
    for (double v : sum)
      if (!std::isfinite(v))
        throw Error("lsq: weight '" + graph.params[static_cast<std::size_t>(q.param)].name +
                    "' holds NaN/Inf: no initial step");
    Tensor s(Shape{q.groups});
    const double n = static_cast<double>(q.outer * q.inner);
    for (std::int64_t g = 0; g < q.groups; ++g)
      s[g] = std::max(static_cast<float>(2.0 * sum[static_cast<std::size_t>(g)] / n / std::sqrt(double(q.qmax))),
                      kLsqMinStep);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

constexpr std::int64_t kChunk = 1 << 14;

/// Σ_i gw_i·∂ŵ_i/∂s over a run of n weights sharing one step (inv = 1/s), zeroing the gradient of
/// clipped weights. Sixteen float lanes over blocks of 256 terms, the block sums added in double in
/// order: the loop vectorizes (no integer division, no branch) and the sum depends on n only.
/// A block's rounding error is below ~16·2⁻²⁴ of Σ|terms|, far inside SGD's own noise.
double step_grad_run(const float* __restrict w, float* __restrict gw, std::int64_t n, float inv, float qp) {
  constexpr std::int64_t kLanes = 16, kBlock = 256;
  const auto term = [&](std::int64_t i) {
    const float x = w[i] * inv;  // w/s exactly as the forward pass computes it
    const bool inside = x > -qp && x < qp;
    const float ds = inside ? round_half_away(x) - x : std::copysign(qp, x);
    const float t = gw[i] * ds;
    gw[i] = inside ? gw[i] : 0.0f;  // clipped: no gradient to w
    return t;
  };
  double total = 0;
  std::int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float acc[kLanes] = {};
    for (std::int64_t j = i; j < i + kBlock; j += kLanes)
      for (std::int64_t k = 0; k < kLanes; ++k) acc[k] += term(j + k);
    float block = 0;
    for (const float v : acc) block += v;
    total += block;
  }
  for (; i < n; ++i) total += term(i);
  return total;
}

// One layer: zeroes clipped weight gradients; returns Σ ∂L/∂ŵ·∂ŵ/∂s per group in `dsum`. The
// weights [outer, groups, inner] are cut at fixed chunk boundaries; within a chunk each run of
// one group's weights is summed by step_grad_run, and the per-chunk sums are added in chunk
// order (any thread count gives the same result).
void layer_backward(const QuantLayer& q, const float* w, const float* s, float* gw, double* dsum) {
  const std::int64_t n = q.outer * q.groups * q.inner, nc = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<std::size_t>(nc * q.groups), 0.0);
  const float qp = static_cast<float>(q.qmax);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nc, 1), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t c = r.begin(); c < r.end(); ++c) {
      double* acc = part.data() + c * q.groups;
      std::int64_t i = c * kChunk;
      const std::int64_t end = std::min(n, (c + 1) * kChunk);
      std::int64_t g = (i / q.inner) % q.groups, j = i % q.inner;  // group and offset of weight i
      while (i < end) {
        const std::int64_t len = std::min(q.inner - j, end - i);
        acc[g] += step_grad_run(w + i, gw + i, len, 1.0f / s[g], qp);
        i += len;
        j = 0;
        g = g + 1 == q.groups ? 0 : g + 1;
      }
    }
  });
  for (std::int64_t g = 0; g < q.groups; ++g) {
    dsum[g] = 0.0;
    for (std::int64_t c = 0; c < nc; ++c) dsum[g] += part[static_cast<std::size_t>(c * q.groups + g)];
  }
}

}  // namespace

void lsq_backward(const std::vector<QuantLayer>& layers, const ParamSet& shadow, const std::vector<Tensor>& steps,
                  ParamSet& grads, std::vector<Tensor>& step_grads) {
  QREG_ASSERT(steps.size() == layers.size(), "lsq_backward: one step tensor per quantized layer");
  if (step_grads.size() != steps.size()) step_grads.assign(steps.size(), Tensor());
  std::vector<double> dsum;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const QuantLayer& q = layers[l];
    if (step_grads[l].shape() != steps[l].shape()) step_grads[l] = Tensor(steps[l].shape());
    std::fill_n(step_grads[l].data(), step_grads[l].size(), 0.0f);
    if (q.bits == kFloatBits) continue;
    const auto p = static_cast<std::size_t>(q.param);
    QREG_ASSERT(steps[l].size() == q.groups && grads[p].size() == shadow[p].size(), "lsq_backward: shapes");
    dsum.assign(static_cast<std::size_t>(q.groups), 0.0);
    layer_backward(q, shadow[p].data(), steps[l].data(), grads[p].data(), dsum.data());
    // g = 1/√(N·Qp) with N the weights per step: the paper's gradient scale.
    const double g = 1.0 / std::sqrt(static_cast<double>(q.outer * q.inner) * q.qmax);
    for (std::int64_t k = 0; k < q.groups; ++k) step_grads[l][k] = static_cast<float>(g * dsum[k]);
  }
}

void lsq_clamp_steps(const std::vector<QuantLayer>& layers, std::vector<Tensor>& steps) {
  for (std::size_t l = 0; l < layers.size(); ++l)
    if (layers[l].bits != kFloatBits)
      for (float& s : steps[l].values()) s = std::max(s, kLsqMinStep);
}

}  // namespace qreg
