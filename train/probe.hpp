// Per-epoch measurement of the propagated quantization noise on a fixed probe batch: for every
// quantized layer, the mean over probe samples and output elements of (y_q − y_f)², where y_q is
// the layer's output (pre-activation) with every weight quantized (joint, deterministic rounding)
// and y_f the output of the float shadow network. Also the layer's step Δ and weight range.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/quantize_graph.hpp"

namespace qreg {

struct LayerProbe {
  int index = 0;  // quantized layer index, graph order, 0-based
  std::string name, op;
  int bits = 32;                               // the layer's bit width (32: float)
  std::vector<float> step;                     // Δ per group (1 per tensor or per output channel); 0 for bits 32
  double weight_noise_var = 0.0;               // measured Var(q(w) − w) over the layer's weights (mean square)
  double noise_var = 0.0;                      // measured mean (y_q − y_f)² at the layer output
  std::optional<double> predicted_noise_var;   // theory's first-order value (the caller's predictor; run_folder.hpp)
  float weight_min = 0.0f, weight_max = 0.0f;  // range of the shadow weights
};

/// Measures every quantized layer of `graph` on `probe` [N, input...] (inference mode): `shadow`
/// the float weights, `quantized` the same set with the quantized weights, `steps` and `bits` per
/// layer (train/weight_modes.hpp's WeightBuilder gives all three). All layers at 32 bits: noise 0.
/// Deterministic for any thread count.
std::vector<LayerProbe> probe_layer_noise(const Graph& graph, const ParamSet& shadow, const ParamSet& quantized,
                                          const std::vector<std::vector<float>>& steps, const std::vector<int>& bits,
                                          const Tensor& probe);

}  // namespace qreg
