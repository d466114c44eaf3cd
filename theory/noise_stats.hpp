// How well the additive noise model of DESIGN.md (C1: q(w) = w + δ, δ ~ U(−Δ/2, Δ/2) independent
// of w, variance Δ²/12) describes the actual quantization error δ = q(w) − w of a tensor.
// Per channel, every element is compared with its own channel's Δ.
#pragma once

#include <cstdint>

#include "core/quantizer.hpp"
#include "core/tensor.hpp"

namespace qreg {

/// When the model "holds": each check fails only when its deviation is both statistically
/// significant and larger than a practical tolerance (docs/quantizer.md explains the choice).
struct ModelCriterion {
  double ratio_sigmas = 5.0;  // |var_ratio − 1| > ratio_sigmas · var_ratio_stderr ...
  double ratio_tol = 0.05;    // ... and > ratio_tol (relative) fails
  double corr_sigmas = 5.0;   // |corr| > corr_sigmas / √n (its standard error under independence) ...
  double corr_tol = 0.1;      // ... and > corr_tol fails (w explains > 1% of the noise power)
  double ks_alpha = 1e-3;     // KS p < ks_alpha ...
  double ks_tol = 0.02;       // ... and D > ks_tol fails
};

struct NoiseStats {
  std::int64_t count = 0;         // number of weights n
  double step = 0.0;              // Δ; per channel the RMS over elements, √(mean Δ_c²)
  double noise_mean = 0.0;        // mean of δ (weight units)
  double noise_var = 0.0;         // sample variance of δ (weight units²)
  double noise_var_stderr = 0.0;  // its standard error, from the sample fourth moment
  double weight_noise_var = 0.0;  // model: Δ²/12 (per channel: mean over elements of Δ_c²/12)
  double var_ratio = 0.0;         // Var(δ/Δ_c) / (1/12); = noise_var / weight_noise_var per tensor
  double var_ratio_stderr = 0.0;  // its standard error
  double corr = 0.0;              // Pearson corr(w, δ); NaN when w or δ is constant
  double ks_statistic = 0.0;      // KS D of δ/Δ_c against U(−½, ½)
  double ks_p_value = 1.0;        // its asymptotic p-value
  double clipped_share = 0.0;     // share of weights whose code the clamp changed
  double sqnr_db = 0.0;           // 10·log10(Σw² / Σδ²); +inf when δ ≡ 0
  bool ratio_ok = false, corr_ok = false, ks_ok = false;
  bool model_holds = false;  // ratio_ok && corr_ok && ks_ok
};

/// Statistics of δ = fake_quantize(weights, params) − weights. Throws Error for fewer than 2
/// weights, non-finite weights or parameters that do not fit the tensor.
NoiseStats noise_stats(const Tensor& weights, const QuantParams& params, const ModelCriterion& criterion = {});
/// Same, with max-calibrated parameters from `cfg` (compute_quant_params).
NoiseStats noise_stats(const Tensor& weights, const QuantizerConfig& cfg, const ModelCriterion& criterion = {});

}  // namespace qreg
