#include "train/probe.hpp"

#include <algorithm>

#include "core/bits.hpp"
#include "core/executor.hpp"

namespace qreg {

std::vector<LayerProbe> probe_layer_noise(const Graph& graph, const ParamSet& shadow, const GraphQuantConfig& cfg,
                                          const Tensor& probe) {
  const QuantizedGraphParams q = quantize_graph(graph, shadow, cfg);
  std::vector<LayerProbe> out(q.layers.size());
  Executor ex(graph);
  ex.forward(probe, shadow);
  std::vector<Tensor> float_outputs;
  for (int node : q.layers) float_outputs.push_back(ex.value(graph.nodes[static_cast<std::size_t>(node)].output));
  if (cfg.bits != kFloatBits) ex.forward(probe, q.values);
  for (std::size_t l = 0; l < q.layers.size(); ++l) {
    const Node& node = graph.nodes[static_cast<std::size_t>(q.layers[l])];
    LayerProbe& p = out[l];
    p.index = static_cast<int>(l);
    p.name = node.name;
    p.op = op_name(node.op);
    p.step = q.steps[l];
    const auto param = static_cast<std::size_t>(q.weights[l]);
    const Tensor& w = shadow[param];
    const auto [lo, hi] = std::minmax_element(w.data(), w.data() + w.size());
    p.weight_min = *lo;
    p.weight_max = *hi;
    if (cfg.bits == kFloatBits) continue;
    // Sums in double, in element order: the same result for any thread count.
    double wsum = 0.0;
    for (std::int64_t i = 0; i < w.size(); ++i) {
      const double d = static_cast<double>(q.values[param][i]) - w[i];
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
