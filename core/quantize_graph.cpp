#include "core/quantize_graph.hpp"

#include <string>
#include <utility>

#include "core/bits.hpp"
#include "core/error.hpp"

namespace qreg {
namespace {

QuantizerConfig layer_config(const GraphQuantConfig& cfg, OpType op) {
  return {cfg.bits, cfg.granularity, cfg.scheme, weight_channel_axis(op)};
}

// Re-throws a quantizer error with the parameter it is about in front, keeping its kind
// (UsageError -> exit 2, Error -> exit 1).
template <typename F>
auto naming_param(const Graph& graph, int param, F f) {
  const std::string prefix = "quantize_graph: parameter '" + graph.params[static_cast<std::size_t>(param)].name + "': ";
  try {
    return f();
  } catch (const UsageError& e) {
    throw UsageError(prefix + e.what());
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  }
}

void check_values(const Graph& graph, const ParamSet& values) {
  if (values.size() != graph.params.size())
    throw Error("quantize_graph: parameter set has " + std::to_string(values.size()) + " tensors but graph '" +
                graph.name + "' has " + std::to_string(graph.params.size()) + " parameters");
}

}  // namespace

int weight_channel_axis(OpType op) {
  switch (op) {
    case OpType::Gemm:
    case OpType::Conv:
      return kGemmChannelAxis;
    case OpType::MatMul:
      return kMatMulChannelAxis;
    default:
      throw Error(std::string("quantizer: op ") + op_name(op) + " has no quantizable weight");
  }
}

std::vector<std::pair<int, int>> quantized_layers(const Graph& graph) {
  // Every quantizable weight must be the first parameter of a Gemm/MatMul/Conv node: then the
  // listing below, Graph::quantized_nodes(), is exactly the set of weights, and the two agree.
  for (std::size_t p = 0; p < graph.params.size(); ++p) {
    const Parameter& param = graph.params[p];
    if (!param.quantizable()) continue;
    if (param.node < 0 || param.node >= static_cast<int>(graph.nodes.size()))
      throw Error("quantize_graph: parameter '" + param.name + "' has no owning node");
    const Node& node = graph.nodes[static_cast<std::size_t>(param.node)];
    if (!is_layer_op(node.op))
      throw Error("quantize_graph: weight '" + param.name + "' belongs to " + op_name(node.op) + " node '" + node.name +
                  "', which is not quantized (only Gemm, MatMul, Conv)");
    if (node.params.empty() || node.params[0] != static_cast<int>(p))
      throw Error("quantize_graph: weight '" + param.name + "' is not the first parameter of node '" + node.name +
                  "' (a node has one weight, listed first)");
  }
  std::vector<std::pair<int, int>> layers;
  for (const int n : graph.quantized_nodes())
    layers.emplace_back(n, graph.nodes[static_cast<std::size_t>(n)].params[0]);
  return layers;
}

std::vector<std::vector<float>> layer_steps(const Graph& graph, const ParamSet& values, const GraphQuantConfig& cfg) {
  check_bits(cfg.bits, /*allow_float=*/true);
  check_values(graph, values);
  std::vector<std::vector<float>> steps;
  for (const auto& [node, param] : quantized_layers(graph)) {
    const Tensor& w = values[static_cast<std::size_t>(param)];
    const OpType op = graph.nodes[static_cast<std::size_t>(node)].op;
    if (cfg.bits == kFloatBits) {
      const auto groups = cfg.granularity == Granularity::Tensor || w.rank() == 0 ? 1 : w.dim(weight_channel_axis(op));
      steps.emplace_back(static_cast<std::size_t>(groups), 0.0f);
    } else {
      steps.push_back(naming_param(graph, param, [&] { return compute_quant_params(w, layer_config(cfg, op)).step; }));
    }
  }
  return steps;
}

QuantizedGraphParams quantize_graph(const Graph& graph, const ParamSet& values, const GraphQuantConfig& cfg) {
  check_bits(cfg.bits, /*allow_float=*/true);
  check_values(graph, values);
  QuantizedGraphParams out;
  out.values = values;
  if (cfg.bits == kFloatBits) out.steps = layer_steps(graph, values, cfg);
  for (const auto& [node, param] : quantized_layers(graph)) {
    out.layers.push_back(node);
    out.weights.push_back(param);
    if (cfg.bits == kFloatBits) continue;
    auto& w = out.values[static_cast<std::size_t>(param)];
    const QuantizerConfig qc = layer_config(cfg, graph.nodes[static_cast<std::size_t>(node)].op);
    const QuantParams qp = naming_param(graph, param, [&] { return compute_quant_params(w, qc); });
    w = fake_quantize(w, qp);
    out.steps.push_back(qp.step);
  }
  return out;
}

}  // namespace qreg
