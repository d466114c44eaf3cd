// Signal-to-quantization-noise ratio per layer and its inverse, the bits a target needs.
// With every layer at b bits, each step is Δ_k(b) = max|w_k| / (2^(b−1)−1) and every predicted
// noise variance (first-order, mean-field, lin; joint or isolated) is linear in the σ_k² = Δ_k²/12,
// so noise(b) = noise(b0) · ((2^(b0−1)−1) / (2^(b−1)−1))², a closed form in b.
#pragma once

namespace qreg::theory {

/// 10·log10(signal / noise_var) in dB (signal = E[y²]); +inf for zero noise.
double sqnr_db(double signal, double noise_var);

/// Predicted noise at `to_bits` from a prediction at `from_bits` (both in [2, 16]).
double scale_noise(double noise_var, int from_bits, int to_bits);

/// Smallest b in [2, 16] whose noise (scaled from `noise_var` at `at_bits`) is ≤ target_noise:
/// b = ⌈1 + log2(1 + (2^(b0−1)−1)·√(noise/target))⌉, clamped to [2, 16] (16 may miss the target).
/// Throws UsageError for a non-positive target.
int bits_for_noise(double noise_var, int at_bits, double target_noise);

/// Same for a target SQNR in dB: target_noise = signal · 10^(−dB/10).
int bits_for_sqnr(double signal, double noise_var, int at_bits, double target_db);

}  // namespace qreg::theory
