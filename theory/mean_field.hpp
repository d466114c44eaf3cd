// The mean-field predictor: the paper-style recurrence on per-unit noise variances, layer by layer,
// treating every noise term as independent of every other (across units, positions and branches).
// Cheap (no backward pass) and wrong where correlations matter; see docs/theory.md.
#pragma once

#include <vector>

#include "core/graph.hpp"
#include "theory/calibration.hpp"
#include "theory/layers.hpp"

namespace qreg::theory {

/// Per-layer noise variance from the recurrence, for one LayerNoise per layer:
///   dense  Var(z_j) = Σ_i W_ji² Var(e_i) + σ_j² Σ_i E[a_i²]
///   conv   Var(z_{c,p}) = Σ_q W_{c,q}² Var(e_{p,q}) + σ_c² Σ_q E[patch_{p,q}²]
///   ReLU ×P(z>0); max-pool: the argmax's variance (calibration frequencies); average pools: Σ Var/n²;
///   batch norm ×scale²/(var+eps); Add: sum; Flatten/Reshape: identity.
/// contribution[k] is the recurrence with only layer k noisy; joint sums them, isolated keeps k == L.
std::vector<LayerPrediction> predict_mean_field(const Graph& graph, const ParamSet& params,
                                                const CalibrationStats& stats, const std::vector<LayerNoise>& noise,
                                                Mode mode);

}  // namespace qreg::theory
