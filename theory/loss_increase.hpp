// The loss-increase predictor: E_δ[L(W+δ)] − L(W) ≈ ½ Σ_k Σ_c σ_{k,c}² tr_c(J_kᵀ H J_k), the
// Gauss–Newton curvature of softmax cross-entropy seen by each layer's weight noise (the extra
// loss that quantization noise adds: its regularization strength). Labels are not needed: H
// depends on the predicted probabilities only.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.hpp"
#include "theory/layers.hpp"

namespace qreg::theory {

/// s[k][c]: mean over samples of Σ_{w ∈ row c of W_k} (J_kᵀ H J_k)_{ww}, H = diag(p) − p pᵀ at the
/// logits (the graph output, or the input of a final Softmax).
struct LossSensitivity {
  std::vector<std::vector<double>> s;
  std::int64_t samples = 0;
};

/// C backward passes per batch (C = number of classes). Throws Error when x does not match.
LossSensitivity loss_sensitivity(const Graph& graph, const ParamSet& params, const Tensor& x, std::int64_t batch = 250);

struct LossIncrease {
  double total = 0;               // all layers noisy (mean cross-entropy increase, nats)
  std::vector<double> per_layer;  // only layer k noisy; the total is their sum (independent noise)
};
LossIncrease predict_loss_increase(const LossSensitivity& sens, const std::vector<LayerNoise>& noise);

/// Value id of the logits: graph.output, or the input of the output node when it is a Softmax.
int logits_value(const Graph& graph);

}  // namespace qreg::theory
