// Lin et al. 2016 model their fixed-point network by SQNRs: each quantizer adds noise with a given
// signal-to-noise ratio γ, and at the output 1/γ_out = Σ 1/γ_k. That assumes every quantizer's
// relative noise passes through the later layers unchanged (the later layers scale signal and noise
// alike) and that the sources are independent. We use it for weight quantizers with the NSR defined
// at the quantizer's own layer output, so the isolated prediction is exact and the joint one tests
// only the "ratios add" assumption. It fails where later layers amplify noise differently from
// signal (ReLU passes a signal's mean but only part of a zero-mean noise; batch norm removes the
// mean of the signal but not of the noise).
#include "theory/lin_baseline.hpp"

#include "core/error.hpp"

namespace qreg::theory {

std::vector<LayerPrediction> predict_lin(const Graph& graph, const CalibrationStats& stats,
                                         const std::vector<LayerNoise>& noise, Mode mode) {
  const auto layers = quant_layers(graph);
  const auto up = upstream_layers(graph, layers);
  const std::size_t K = layers.size();
  if (noise.size() != K || stats.signal.size() != K) throw UsageError("predict_lin: noise or stats do not match graph");
  std::vector<double> nsr(K, 0.0);
  for (std::size_t k = 0; k < K; ++k) nsr[k] = stats.signal[k] > 0 ? self_noise(stats, noise, k) / stats.signal[k] : 0;
  std::vector<LayerPrediction> out(K);
  for (std::size_t L = 0; L < K; ++L) {
    out[L].contribution.assign(K, 0.0);
    for (std::size_t k = 0; k <= L; ++k) {
      if (!up[k][L] || (mode == Mode::Isolated && k != L)) continue;
      out[L].contribution[k] = k == L ? self_noise(stats, noise, L) : nsr[k] * stats.signal[L];
      out[L].noise_var += out[L].contribution[k];
    }
  }
  return out;
}

}  // namespace qreg::theory
