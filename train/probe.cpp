#include "train/probe.hpp"

#include <algorithm>

#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"

namespace qreg {

std::vector<LayerProbe> probe_layer_noise(const Graph& graph, const ParamSet& shadow, const ParamSet& quantized,
                                          const std::vector<std::vector<float>>& steps, const std::vector<int>& bits,
                                          const Tensor& probe) {
  const auto layers = quantized_layers(graph);
  QREG_ASSERT(steps.size() == layers.size() && bits.size() == layers.size(), "probe_layer_noise: one entry per layer");
  const bool all_float = std::all_of(bits.begin(), bits.end(), [](int b) { return b == kFloatBits; });
  std::vector<LayerProbe> out(layers.size());
  Executor ex(graph);
  ex.forward(probe, shadow);
  std::vector<Tensor> float_outputs;
  for (const auto& [node, param] : layers)
    float_outputs.push_back(ex.value(graph.nodes[static_cast<std::size_t>(node)].output));
  if (!all_float) ex.forward(probe, quantized);
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const Node& node = graph.nodes[static_cast<std::size_t>(layers[l].first)];
    LayerProbe& p = out[l];
    p.index = static_cast<int>(l);
    p.name = node.name;
    p.op = op_name(node.op);
    p.bits = bits[l];
    p.step = steps[l];
    const auto param = static_cast<std::size_t>(layers[l].second);
    const Tensor& w = shadow[param];
    const auto [lo, hi] = std::minmax_element(w.data(), w.data() + w.size());
    p.weight_min = *lo;
    p.weight_max = *hi;
    if (all_float) continue;
    // Sums in double, in element order: the same result for any thread count.
    double wsum = 0.0;
    for (std::int64_t i = 0; i < w.size(); ++i) {
      const double d = static_cast<double>(quantized[param][i]) - w[i];
      wsum += d * d;
    }
    p.weight_noise_var = wsum / static_cast<double>(w.size());
    const Tensor& yq = ex.value(node.output);
    const Tensor& yf = float_outputs[l];
    double ysum = 0.0;
    for (std::int64_t i = 0; i < yq.size(); ++i) {
      const double d = static_cast<double>(yq[i]) - yf[i];
      ysum += d * d;
    }
    p.noise_var = ysum / static_cast<double>(yq.size());
  }
  return out;
}

}  // namespace qreg
