// The weights a training step's forward pass uses, built from the float shadow weights:
//   qat:      q(w) (fake-quantized; the backward pass then gives ∂L/∂q(w), which the optimizer
//             applies to the shadow w unchanged: the straight-through estimator ∂q(w)/∂w := 1)
//   noise:    w + δ, δ ~ U(−Δ/2, Δ/2) at the QAT step Δ of the current shadow weights
//   gaussian: w + δ, δ ~ N(0, Δ²/12) (the same variance)
//   lsq:      q(w) = s·clamp(round(w/s), −Qp, Qp) with a learned step s (train/lsq.hpp)
// Bits 32 means float training: the shadow weights are used as they are. Biases and batch-norm
// tensors are never touched. Fresh δ every step from RandomStream(seed, noise_stream(epoch, step)).
// Bits can differ per quantized layer (LayerBits overrides); a layer at 32 bits stays float.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/graph.hpp"
#include "core/quantizer.hpp"

namespace qreg {

/// std::round (half away from zero, signed zeros included) in a form GCC vectorizes without
/// -ffast-math (trunc and branches do not): nearbyint rounds ties to even, x − r is exact, and a
/// tie (|x − r| = ½) moves to x + ½·sign(x). Bitwise std::round (tests/train/test_weight_modes.cpp,
/// RoundHalfAwayIsStdRound). The weight builder and LSQ's backward share it.
inline float round_half_away(float x) {
  const float r = std::nearbyint(x), d = x - r;
  const float tie = std::abs(d) == 0.5f ? 1.0f : 0.0f;
  return r + tie * (d + std::copysign(0.5f, x));
}

enum class TrainMode { Qat, Noise, Gaussian, Lsq };
/// "qat" | "noise" | "gaussian" | "lsq"; UsageError otherwise.
TrainMode parse_train_mode(std::string_view text);
const char* train_mode_name(TrainMode mode);

/// (quantized layer index, bits) pairs, sorted by layer, that override a run's bits.
using LayerBits = std::vector<std::pair<int, int>>;
/// Parses "0:8,2:4": comma-separated LAYER:BITS with LAYER the 0-based quantized-layer index
/// (graph order) and BITS in 2..16, or 32/fp32 (that layer stays float). Empty text: none.
/// UsageError naming the bad item (syntax, bits, a layer given twice).
LayerBits parse_layer_bits(std::string_view text);
/// "l0b8_l2b4" (empty for none), as it appears in run folder names.
std::string layer_bits_label(const LayerBits& bits);

struct WeightModeConfig {
  TrainMode mode = TrainMode::Qat;
  int bits = 8;  // [2, 16], or 32 = float training
  Granularity granularity = Granularity::Tensor;
  LayerBits layer_bits = {};  // per-layer overrides of `bits`

  /// Bits of each of `layers` quantized layers; UsageError for an override beyond the last layer.
  std::vector<int> resolve(std::size_t layers) const;
};

/// Random stream of the per-epoch shuffle. Tagged (2^32 + epoch) so it never meets the model
/// initialisation streams 0..P−1 of core/models.hpp under the same seed.
std::uint64_t shuffle_stream(int epoch);
/// Random stream of the weight noise of step `step` in epoch `epoch`: 2^63 + epoch·2^32 + step.
std::uint64_t noise_stream(int epoch, std::int64_t step);

/// Per quantized layer (graph order): Δ per group (1 per tensor or 1 per output channel);
/// a single 0 for a float (32-bit) layer.
using LayerSteps = std::vector<std::vector<float>>;

/// One quantized layer as the weight kernels see it: the weight splits row-major into
/// [outer, groups, inner] (groups = 1 per tensor, the output channels per channel).
struct QuantLayer {
  int node = -1, param = -1;
  int bits = 32;          // 32: float layer
  std::int32_t qmax = 0;  // 2^(bits−1)−1 (narrow range: codes in [−qmax, qmax]); 0 for float
  std::int64_t outer = 1, groups = 1, inner = 1;
};
/// The quantized layers of `graph` under `cfg` (UsageError for bad bits or layer overrides).
std::vector<QuantLayer> quant_layers(const Graph& graph, const WeightModeConfig& cfg);

/// Builds a step's forward weights into buffers it keeps (nothing is allocated after the first
/// call): per layer one pass for max|w| and one that writes q(w) (or w + δ), in parallel for
/// large tensors, with results independent of the thread count. Non-weight tensors are copied.
class WeightBuilder {
 public:
  /// UsageError for bad bits or a layer override beyond the graph's quantized layers.
  WeightBuilder(const Graph& graph, const WeightModeConfig& cfg);

  /// Forward weights of step (epoch, step); `shadow` itself when every layer is float.
  /// `lsq_steps` (lsq only): the learned steps, one tensor [groups] per quantized layer.
  /// Error when a shadow weight is NaN/Inf.
  const ParamSet& forward(const ParamSet& shadow, const std::vector<Tensor>& lsq_steps, std::uint64_t seed, int epoch,
                          std::int64_t step);
  /// q(w) deterministically: max-calibrated Δ (qat, noise, gaussian) or the learned steps (lsq).
  const ParamSet& quantized(const ParamSet& shadow, const std::vector<Tensor>& lsq_steps);
  /// The deployed weights: quantized() for qat and lsq, `shadow` for the noise modes and FP32.
  const ParamSet& deployed(const ParamSet& shadow, const std::vector<Tensor>& lsq_steps);

  /// Δ per group of every layer as used by the last call above.
  const LayerSteps& steps() const { return steps_; }
  const std::vector<QuantLayer>& layers() const { return layers_; }
  std::vector<int> layer_bits() const;
  bool all_float() const { return all_float_; }

 private:
  // noise: add the mode's δ from RandomStream(seed, stream); else q(w) (max-calibrated or LSQ).
  const ParamSet& build(const ParamSet& shadow, const std::vector<Tensor>* lsq_steps, bool noise, std::uint64_t seed,
                        std::uint64_t stream);
  WeightModeConfig cfg_;
  std::vector<QuantLayer> layers_;
  std::vector<char> is_weight_;  // per parameter: written by a layer kernel
  bool all_float_ = true;
  ParamSet out_;
  LayerSteps steps_;
  std::vector<float> partial_;  // per chunk and group: max|w| (scratch, reused)
};

/// Convenience (tests): a fresh WeightBuilder's forward(), copied into `out`; returns `shadow`
/// itself when every layer is float, else `out`. `steps` (optional) receives each layer's Δ.
const ParamSet& forward_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg,
                                std::uint64_t seed, int epoch, std::int64_t step, ParamSet& out,
                                LayerSteps* steps = nullptr);

/// The weights of the trained model (see WeightBuilder::deployed), as a copy.
ParamSet deployed_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg,
                          const std::vector<Tensor>& lsq_steps = {});

/// True when every element of `t` is finite.
bool all_finite(const Tensor& t);

}  // namespace qreg
