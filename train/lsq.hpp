// Learned step size quantization (LSQ, Esser et al. 2020, arXiv 1902.08153) for weights. Each
// quantized layer (or output channel with per-channel granularity) has a learnable step s:
//   forward   ŵ = s·clamp(round(w/s), −Qp, Qp),  Qp = 2^(b−1)−1 (narrow range, Qn = Qp)
//   ∂ŵ/∂w  = 1 inside −Qp < w/s < Qp, 0 outside (straight-through with LSQ's clipping rule)
//   ∂ŵ/∂s  = round(w/s) − w/s inside, −Qp / +Qp below / above the range
//   ∂L/∂s  = g·Σ_i ∂L/∂ŵ_i·∂ŵ_i/∂s,  g = 1/√(N·Qp), N the weights sharing the step
// Initial s = 2·mean|w|/√Qp (the paper's). The steps are extra optimizer parameters (no decay).
#pragma once

#include <vector>

#include "core/graph.hpp"
#include "train/weight_modes.hpp"

namespace qreg {

/// Smallest learned step: keeps 1/s finite whatever the optimizer does.
inline constexpr float kLsqMinStep = 1.1754943508222875e-38f;  // FLT_MIN

/// LSQ's initial steps of `shadow`: one tensor [groups] per quantized layer (graph order);
/// [1] = 0 for a float (32-bit) layer, which has no step. Throws Error when a weight is NaN/Inf.
std::vector<Tensor> lsq_initial_steps(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg);

/// Turns `grads` (∂L/∂ŵ from the backward pass at ŵ) into LSQ's: weight gradients are zeroed
/// where w/s lies outside (−Qp, Qp), and `step_grads` (resized like `steps`) receives ∂L/∂s per
/// group (0 for float layers). Deterministic for any thread count.
/// `layers` as quant_layers() or WeightBuilder::layers() give them.
void lsq_backward(const std::vector<QuantLayer>& layers, const ParamSet& shadow, const std::vector<Tensor>& steps,
                  ParamSet& grads, std::vector<Tensor>& step_grads);

/// Raises every step of a quantized layer to at least kLsqMinStep (after an optimizer update).
void lsq_clamp_steps(const std::vector<QuantLayer>& layers, std::vector<Tensor>& steps);

}  // namespace qreg
