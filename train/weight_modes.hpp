// The weights a training step's forward pass uses, built from the float shadow weights:
//   qat:      q(w) (fake-quantized; the backward pass then gives ∂L/∂q(w), which the optimizer
//             applies to the shadow w unchanged: the straight-through estimator ∂q(w)/∂w := 1)
//   noise:    w + δ, δ ~ U(−Δ/2, Δ/2) at the QAT step Δ of the current shadow weights
//   gaussian: w + δ, δ ~ N(0, Δ²/12) (the same variance)
// Bits 32 means float training: the shadow weights are used as they are. Biases and batch-norm
// tensors are never touched. Fresh δ every step from RandomStream(seed, noise_stream(epoch, step)).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/graph.hpp"
#include "core/quantizer.hpp"

namespace qreg {

enum class TrainMode { Qat, Noise, Gaussian };
/// "qat" | "noise" | "gaussian"; UsageError otherwise.
TrainMode parse_train_mode(std::string_view text);
const char* train_mode_name(TrainMode mode);

struct WeightModeConfig {
  TrainMode mode = TrainMode::Qat;
  int bits = 8;  // [2, 16], or 32 = float training
  Granularity granularity = Granularity::Tensor;
};

/// Random stream of the per-epoch shuffle. Tagged (2^32 + epoch) so it never meets the model
/// initialisation streams 0..P−1 of core/models.hpp under the same seed.
std::uint64_t shuffle_stream(int epoch);
/// Random stream of the weight noise of step `step` in epoch `epoch`: 2^63 + epoch·2^32 + step.
std::uint64_t noise_stream(int epoch, std::int64_t step);

/// Per quantized layer (graph order): Δ per group (1 per tensor or 1 per output channel) of the
/// shadow weights; zeros for bits 32.
using LayerSteps = std::vector<std::vector<float>>;

/// Fills `out` with the forward weights of step (epoch, step) and returns a reference to the set
/// to use: `shadow` itself for bits 32, else `out`. `steps` (optional) receives each layer's Δ.
/// Throws Error when a shadow weight is NaN/Inf (the caller reports divergence first).
const ParamSet& forward_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg,
                                std::uint64_t seed, int epoch, std::int64_t step, ParamSet& out,
                                LayerSteps* steps = nullptr);

/// The weights of the trained model: q(shadow) for QAT, the shadow weights otherwise (noise
/// injection is a training-time regularizer; the float model is the one deployed).
ParamSet deployed_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg);

/// True when every element of every tensor is finite.
bool all_finite(const ParamSet& params);

}  // namespace qreg
