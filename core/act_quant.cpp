#include "core/act_quant.hpp"

#include <functional>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace qreg {
namespace {

std::size_t idx(int id) { return static_cast<std::size_t>(id); }

// Copies `in`, appending after every node i with anchor(i) a node built by make(graph, anchor
// node, index of the new node); consumers of the anchor's output (and the graph output) are
// rewired to the new node's output. Parameter owners are renumbered for the shifted nodes.
Graph insert_after(const Graph& in, const std::function<bool(std::size_t)>& anchor,
                   const std::function<Node(Graph&, const Node&, int)>& make) {
  Graph g = in;
  g.nodes.clear();
  std::vector<int> remap(idx(in.num_values()));
  std::iota(remap.begin(), remap.end(), 0);
  std::vector<int> new_index(in.nodes.size());
  for (std::size_t i = 0; i < in.nodes.size(); ++i) {
    Node n = in.nodes[i];
    for (int& v : n.inputs) v = remap[idx(v)];
    new_index[i] = static_cast<int>(g.nodes.size());
    g.nodes.push_back(n);
    if (!anchor(i)) continue;
    Node extra = make(g, n, static_cast<int>(g.nodes.size()));
    extra.inputs = {n.output};
    remap[idx(n.output)] = extra.output;
    g.nodes.push_back(std::move(extra));
  }
  for (std::size_t p = 0; p < in.params.size(); ++p)
    if (in.params[p].node >= 0) g.params[p].node = new_index[idx(in.params[p].node)];
  g.output = remap[idx(in.output)];
  g.finalize();
  return g;
}

bool has_op(const Graph& g, OpType op) {
  for (const Node& n : g.nodes)
    if (n.op == op) return true;
  return false;
}

}  // namespace

Graph with_activation_quant(const Graph& graph, int bits) {
  if (bits < 2 || bits > 16)
    throw UsageError("with_activation_quant: bits " + std::to_string(bits) + " not in [2, 16]");
  if (has_op(graph, OpType::ActQuant))
    throw UsageError("with_activation_quant: graph '" + graph.name + "' already quantizes its activations");
  auto is_relu = [&](std::size_t i) { return graph.nodes[i].op == OpType::Relu; };
  return insert_after(graph, is_relu, [&](Graph& g, const Node& relu, int index) {
    Node q;
    q.name = relu.name + ".act_quant";
    q.op = OpType::ActQuant;
    q.attrs.ints["bits"] = {bits};
    q.attrs.floats["momentum"] = kActQuantMomentum;
    q.params = {g.add_param(relu.name + ".act_max", ParamRole::ActMax, index, Tensor({1}, 0.0f))};
    q.output = g.add_value(g.value_names[idx(relu.output)] + "_q", g.value_shapes[idx(relu.output)]);
    return q;
  });
}

Graph with_dropout(const Graph& graph, float ratio) {
  if (!(ratio >= 0.0f && ratio < 1.0f))
    throw UsageError("with_dropout: ratio " + std::to_string(ratio) + " not in [0, 1)");
  if (ratio == 0.0f) return graph;
  if (has_op(graph, OpType::Dropout)) throw UsageError("with_dropout: graph '" + graph.name + "' already has dropout");
  // The anchor of a Relu is its ActQuant when it has one (dropout of the quantized activation,
  // so the quantizer's statistics are the same in training and inference), else the Relu.
  std::vector<char> relu_value(idx(graph.num_values()), 0);
  for (const Node& n : graph.nodes)
    if (n.op == OpType::Relu) relu_value[idx(n.output)] = 1;
  std::vector<char> quantized(relu_value.size(), 0);
  for (const Node& n : graph.nodes)
    if (n.op == OpType::ActQuant && relu_value[idx(n.inputs.at(0))]) quantized[idx(n.inputs[0])] = 1;
  auto anchor = [&](std::size_t i) {
    const Node& n = graph.nodes[i];
    const bool after_relu = (n.op == OpType::Relu && !quantized[idx(n.output)]) ||
                            (n.op == OpType::ActQuant && relu_value[idx(n.inputs.at(0))]);
    return after_relu && n.output != graph.output;
  };
  return insert_after(graph, anchor, [&](Graph& g, const Node& at, int) {
    Node d;
    d.name = at.name + ".dropout";
    d.op = OpType::Dropout;
    d.attrs.floats["ratio"] = ratio;
    d.output = g.add_value(g.value_names[idx(at.output)] + "_drop", g.value_shapes[idx(at.output)]);
    return d;
  });
}

int activation_bits(const Graph& graph) {
  int bits = 32;
  for (const Node& n : graph.nodes) {
    if (n.op != OpType::ActQuant) continue;
    const int b = static_cast<int>(n.attrs.get_ints("bits", {0}).at(0));
    if (bits != 32 && b != bits) throw Error("graph '" + graph.name + "': activation quantizers with different bits");
    bits = b;
  }
  return bits;
}

float dropout_ratio(const Graph& graph) {
  float ratio = 0.0f;
  bool seen = false;
  for (const Node& n : graph.nodes) {
    if (n.op != OpType::Dropout) continue;
    const float r = n.attrs.get_float("ratio", 0.5f);
    if (seen && r != ratio) throw Error("graph '" + graph.name + "': dropout nodes with different ratios");
    ratio = r;
    seen = true;
  }
  return ratio;
}

}  // namespace qreg
