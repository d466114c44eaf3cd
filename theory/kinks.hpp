// The ReLU-kink term of the loss increase, which the Gauss–Newton predictor (loss_increase.hpp)
// leaves out. Noise e at a pre-activation z that feeds a ReLU moves the activation by
// ReLU(z + e) − ReLU(z); beyond its linear part 1[z > 0]·e that has mean
//   κ(|z|, s) = E[(z + e)⁺] − z⁺ = s·φ(|z|/s) − |z|·Φ(−|z|/s)        for e ~ N(0, s²),
// which is ≥ 0, of order s when |z| ≲ s and negligible when |z| ≫ s. Weighted by the loss gradient
// g = ∂L/∂a at the activation (either sign; labels are needed), it adds
//   ΔL_kink = mean over samples of Σ_units g · κ(|z|, s_L)
// to the expected loss increase: a term of the same order σ² as the curvature term, concentrated
// on the units whose pre-activation lies within a few noise standard deviations of zero. s_L² is the
// predicted noise variance at layer L's output (the mean over its elements: per-unit variances
// are not predicted). Only ReLUs fed directly by a quantized layer are counted.
// A ReLU read only by a max-pool is taken with it: each window outputs max(0, z_1 + e_1, …), whose
// mean change is, to second order, Σ over the competitors of the window's maximum of κ(gap, s_pair):
// against the floor 0 (gap |z|, s_pair = s) and, when the maximum is a unit, against each other unit
// (gap z_top − z_j, s_pair = √2·s: the two units' noise taken as independent), all weighted by the
// pool output's gradient. Accuracy against Monte Carlo: docs/theory.md, "Loss increase".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/graph.hpp"
#include "theory/layers.hpp"
#include "theory/loss_increase.hpp"

namespace qreg::theory {

/// κ(t, s) = s·φ(t/s) − t·Φ(−t/s) for t = |z| ≥ 0 and s ≥ 0 (0 when s = 0).
double relu_kink_mean(double t, double s);

/// Per quantized layer L, a histogram of t = |z| over the pre-activations of the ReLU(s) that L's
/// output feeds, each unit weighted by its loss gradient g (∂ mean loss / ∂ activation). Bin b
/// covers t in [2^(b/64 − 40), 2^((b+1)/64 − 40)) (1.1% wide; the first bin also holds everything
/// smaller, the last everything larger) with centre c_b, and holds Σ g and Σ g·(t − c_b), so that
/// Σ g·κ(t) is evaluated to first order within each bin: κ(c_b)·Σg + κ'(c_b)·Σ g(t − c_b), with
/// κ'(t) = −Φ(−t/s). Empty for a layer whose output feeds no ReLU.
struct KinkSensitivity {
  static constexpr int kBinsPerOctave = 64, kMinExponent = -40, kBins = 64 * kBinsPerOctave;
  struct Bins {
    std::vector<double> g, g_offset;  // Σ g and Σ g·(t − c_b) per bin
  };
  std::vector<Bins> histogram;  // units against the ReLU's floor: noise variance s²
  std::vector<Bins> pairs;      // two units of one max-pool window: their noise difference
  std::int64_t samples = 0;
  /// The bin of |z| = t and the centre of bin b.
  static int bin(double t);
  static double centre(int b);
};

/// One forward and one backward (seeded with the cross-entropy gradient at the logits) per batch.
/// Throws Error when x and labels do not match or the graph has no logits to take a loss of.
KinkSensitivity kink_sensitivity(const Graph& graph, const ParamSet& params, const Tensor& x,
                                 const std::vector<std::int32_t>& labels, std::int64_t batch = 250);

/// ΔL_kink from the histograms and a joint per-layer noise prediction: `total` with s_L² =
/// joint[L].noise_var, `per_layer[k]` (only layer k noisy) with s_L² = joint[L].contribution[k].
/// Unlike the curvature term the total is not the sum of the per-layer terms (κ is not linear in s²).
LossIncrease predict_kink_loss(const KinkSensitivity& sens, const std::vector<LayerPrediction>& joint);

}  // namespace qreg::theory
