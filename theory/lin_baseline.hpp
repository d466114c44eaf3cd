// The Lin et al. (2016, "Fixed point quantization of deep convolutional networks") baseline:
// quantizers' noise-to-signal ratios add along the path to a layer.
#pragma once

#include <vector>

#include "core/graph.hpp"
#include "theory/calibration.hpp"
#include "theory/layers.hpp"

namespace qreg::theory {

/// NSR_k = (Σ_c σ_{k,c}² S_kk,c) / E[y_k²]: the noise that layer k's own weight quantizer puts on
/// its output, over that output's signal power (both means over samples and elements).
/// Prediction at L: noise_var = E[y_L²] · Σ_{k upstream of L} NSR_k (joint) or E[y_L²]·NSR_L
/// (isolated, = the exact self term); contribution[k] = E[y_L²]·NSR_k.
std::vector<LayerPrediction> predict_lin(const Graph& graph, const CalibrationStats& stats,
                                         const std::vector<LayerNoise>& noise, Mode mode);

}  // namespace qreg::theory
