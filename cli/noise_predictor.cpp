#include "cli/noise_predictor.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "theory/first_order.hpp"
#include "theory/layers.hpp"

namespace qreg::cli {

namespace {

// The probe's steps (1 per tensor or 1 per output channel) as theory's per-channel noise.
std::vector<theory::LayerNoise> noise_from_steps(const std::vector<theory::QuantLayer>& layers,
                                                 const std::vector<LayerProbe>& probes) {
  std::vector<theory::LayerNoise> noise(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::vector<float>& step = probes[l].step;
    const auto channels = static_cast<std::size_t>(layers[l].channels);
    QREG_ASSERT(step.size() == 1 || step.size() == channels, "train: probe steps do not match the layer's channels");
    for (std::size_t c = 0; c < channels; ++c) {
      const double d = step[step.size() == 1 ? 0 : c];
      noise[l].step.push_back(d);
      noise[l].var.push_back(d * d / 12.0);
    }
  }
  return noise;
}

}  // namespace

NoisePredictor first_order_noise_predictor(const Graph& graph, const Dataset& val, std::int64_t probe_size,
                                           int probes) {
  // First order linearises through the activation quantizer's straight-through gradient, but
  // the probe measures its staircase, which absorbs or amplifies small perturbations: no
  // prediction for graphs with activation quantization.
  if (std::any_of(graph.nodes.begin(), graph.nodes.end(), [](const Node& n) { return n.op == OpType::ActQuant; }))
    return [](const ParamSet&, const std::vector<LayerProbe>&) { return std::vector<double>{}; };
  const Tensor x = theory::batch_slice(val.inputs, 0, std::min(probe_size, val.size()));
  return [&graph, x, probes](const ParamSet& shadow, const std::vector<LayerProbe>& measured) {
    const bool is_float = std::all_of(measured.begin(), measured.end(), [](const LayerProbe& p) {
      return std::all_of(p.step.begin(), p.step.end(), [](float d) { return d == 0.0f; });
    });
    if (is_float) return std::vector<double>{};
    const std::vector<theory::QuantLayer> layers = theory::quant_layers(graph);
    QREG_ASSERT(layers.size() == measured.size(), "train: probe and theory disagree on the quantized layers");
    theory::FirstOrderOptions opt;
    opt.probes = probes;
    const auto sens = theory::first_order_sensitivity(graph, shadow, x, opt);
    const auto pred = theory::predict_first_order(sens, noise_from_steps(layers, measured), theory::Mode::Joint);
    std::vector<double> out;
    for (const theory::LayerPrediction& p : pred) out.push_back(p.noise_var);
    return out;
  };
}

}  // namespace qreg::cli
