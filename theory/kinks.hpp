// The ReLU-kink term of the loss increase, which the curvature (Gauss–Newton) predictor in
// loss_increase.hpp leaves out. Noise e at a pre-activation z that feeds a ReLU moves the
// activation by ReLU(z + e) − ReLU(z); beyond its linear part 1[z > 0]·e that has mean
//   κ(|z|, s) = E[(z + e)⁺] − z⁺ = s·φ(|z|/s) − |z|·Φ(−|z|/s)        for e ~ N(0, s²),
// which is ≥ 0, of order s when |z| ≲ s and negligible when |z| ≫ s. Weighted by the loss gradient
// g = ∂L/∂a at the activation (either sign; labels are needed), it adds
//   ΔL_kink = mean over samples of Σ_units g · κ(|z|, s_u)
// to the expected loss increase: a term of the same order σ² as the curvature term, concentrated
// on the units whose pre-activation lies within a few noise standard deviations of zero.
// s_u² = the unit's own-layer noise variance, exact (σ_c² ‖a‖² over the unit's input row or conv
// patch), + the predicted noise variance that upstream layers add at its layer (their mean over
// the layer's elements: per-unit upstream variances are not predicted).
// A ReLU read only by a max-pool after a conv is taken with it: each window outputs
// max(0, z_1 + e_1, …), whose mean change is, to second order, Σ over the competitors of the
// window's maximum of κ(gap, s_pair), weighted by the pool output's gradient: the floor 0 against
// the top unit, or against every unit when all z ≤ 0 (s_pair = s_u); the top unit against each other
// unit j (gap z_top − z_j; s_pair² = σ_c² ‖patch_top − patch_j‖², exact for the own layer; the
// upstream noise of neighbouring positions is taken as common to both, so it cancels. Measured, that
// is much closer than taking it as independent, which overshot the Monte Carlo by 30–70%).
// Only ReLUs fed directly by a quantized layer are counted. docs/theory.md, "Loss increase".
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.hpp"
#include "theory/layers.hpp"
#include "theory/loss_increase.hpp"

namespace qreg::theory {

/// κ(t, s) = s·φ(t/s) − t·Φ(−t/s) for t = |z| ≥ 0 and s ≥ 0 (0 when s = 0).
double relu_kink_mean(double t, double s);

/// ΔL_kink for weight noise `noise` (one LayerNoise per layer) and the joint per-layer prediction
/// `joint` for that noise (its contributions give the upstream variances): `total` with every
/// layer noisy, `per_layer[k]` with only layer k noisy. Unlike the curvature term the total is not
/// the sum of the per-layer terms (κ is not linear in s²). One forward and one backward (seeded with
/// the cross-entropy gradient) per batch of x. Throws Error when x and labels do not match.
LossIncrease predict_kink_loss(const Graph& graph, const ParamSet& params, const Tensor& x,
                               const std::vector<std::int32_t>& labels, const std::vector<LayerNoise>& noise,
                               const std::vector<LayerPrediction>& joint, std::int64_t batch = 250);

}  // namespace qreg::theory
