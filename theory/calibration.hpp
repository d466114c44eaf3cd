// Statistics of the clean network on the calibration set that the cheap predictors (mean-field,
// lin, SQNR) need: per-unit second moments and ReLU pass rates of every value, max-pool argmax
// frequencies, each layer's signal power E[y²] and its own-noise ("self") sensitivity.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.hpp"
#include "theory/layers.hpp"

namespace qreg::theory {

struct CalibrationStats {
  std::int64_t samples = 0;
  std::vector<std::vector<double>> mean_sq;   // [value][unit]: E_x[v_u²], unit = per-sample element
  std::vector<std::vector<double>> frac_pos;  // [value][unit]: P_x(v_u > 0)
  /// [node][out unit · kh·kw + slot]: how often window slot (ky·kw + kx) is the max (MaxPool only).
  std::vector<std::vector<double>> argmax_freq;
  std::vector<double> signal;             // [layer]: E[y_L²], mean over samples and elements
  std::vector<std::vector<double>> self;  // [layer][channel]: S_LL,c = mean over samples and elements
                                          // of Σ_{w ∈ row c} (∂y/∂w)²  (noise_var = Σ_c σ_c² S_LL,c)
};

/// One inference forward pass over x [N, input_shape...] in batches. Throws Error on a mismatch.
CalibrationStats calibration_stats(const Graph& graph, const ParamSet& params, const Tensor& x,
                                   std::int64_t batch = 250);

/// Isolated noise of layer L: Σ_c σ_c² S_LL,c (exact for every method).
double self_noise(const CalibrationStats& stats, const std::vector<LayerNoise>& noise, std::size_t layer);

}  // namespace qreg::theory
