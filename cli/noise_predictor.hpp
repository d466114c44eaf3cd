// Theory's first-order prediction of each quantized layer's propagated noise for `qreg train`'s
// per-epoch metrics: the cli joins train and theory, which may not include each other.
#pragma once

#include <cstdint>

#include "core/dataset.hpp"
#include "core/graph.hpp"
#include "train/run_folder.hpp"

namespace qreg::cli {

/// A predictor for the probe that train measures (the first `probe_size` samples of `val`): joint
/// first-order variance Σ_k σ_k² ‖∂y_L/∂W_k‖² with σ² = Δ²/12 from the steps the probe reports
/// (per tensor or per channel), linearised at the shadow weights in inference mode, as the probe
/// measures. Hutchinson probes (`probes`, seeded) where a layer's output is large, so the values
/// are deterministic. Returns no prediction for float runs (all steps 0) and for graphs with
/// activation quantization (the linearisation does not see its staircase). σ² = Δ²/12 leaves out
/// clipping, which LSQ's learned steps can add (its measured weight_noise_var shows it).
NoisePredictor first_order_noise_predictor(const Graph& graph, const Dataset& val, std::int64_t probe_size,
                                           int probes = 8);

}  // namespace qreg::cli
