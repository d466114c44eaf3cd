// `qreg info`: the nodes of an ONNX model as the engine imports them: op, per-sample output shape,
// parameter count and, for Gemm/MatMul/Conv, the layer index among the quantized nodes (the
// index every theory/simulate result uses).
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "core/onnx_import.hpp"

namespace qreg::cli {
namespace {

struct InfoOptions {
  std::string model;
  CommonOptions common;
};

// Trainable parameter elements of a node (batch-norm running statistics excluded, as in
// Graph::num_parameters) and the quantizable (weight) elements among them.
std::pair<std::int64_t, std::int64_t> node_parameters(const Graph& g, const Node& node) {
  std::int64_t trainable = 0, weights = 0;
  for (const int p : node.params) {
    const auto i = static_cast<std::size_t>(p);
    if (g.params[i].trainable()) trainable += g.values[i].size();
    if (g.params[i].quantizable()) weights += g.values[i].size();
  }
  return {trainable, weights};
}

}  // namespace

int run_info(const InfoOptions& opt, Output& io) {
  const Graph g = import_onnx(opt.model);
  std::map<int, int> layer_of;  // node index -> quantized layer index
  for (const int n : g.quantized_nodes()) layer_of.emplace(n, static_cast<int>(layer_of.size()));

  Report report;
  report.context.command = "info";
  report.context.threads = 1;  // import and bookkeeping only, on the calling thread
  report.table.columns = {"index", "name", "op", "output_shape", "parameters", "layer"};
  auto nodes = nlohmann::json::array();
  std::int64_t quantizable = 0;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    const Shape& shape = g.value_shapes[static_cast<std::size_t>(node.output)];
    const auto [count, weights] = node_parameters(g, node);
    const auto it = layer_of.find(static_cast<int>(i));
    const bool quantized = it != layer_of.end();
    if (quantized) quantizable += weights;
    report.table.add_row({static_cast<std::int64_t>(i), node.name, std::string(op_name(node.op)), to_string(shape),
                          count, quantized ? Cell{std::int64_t{it->second}} : Cell{}});
    nodes.push_back({{"index", i},
                     {"name", node.name},
                     {"op", op_name(node.op)},
                     {"output_shape", shape},
                     {"parameters", count},
                     {"quantized", quantized},
                     {"layer", quantized ? nlohmann::json(it->second) : nlohmann::json(nullptr)}});
  }
  report.document["model"] = opt.model;
  report.document["input_shape"] = g.input_shape;
  report.document["output_shape"] = g.value_shapes[static_cast<std::size_t>(g.output)];
  report.document["nodes"] = nodes;
  report.document["total_parameters"] = g.num_parameters();
  report.document["quantized_layers"] = layer_of.size();
  report.document["quantizable_parameters"] = quantizable;
  report.notes.push_back("shapes are per sample (batch omitted); input " + to_string(g.input_shape));
  report.notes.push_back(std::to_string(g.nodes.size()) + " nodes, " + std::to_string(g.num_parameters()) +
                         " trainable parameters, " + std::to_string(layer_of.size()) + " quantized layers (" +
                         std::to_string(quantizable) + " weights)");
  emit_report(report, opt.common, io);
  return 0;
}

void add_info_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "Layers, shapes and parameter counts of an ONNX model");
  cmd->add_option("--model", opt->model, "ONNX model file (see docs/onnx.md for the supported ops)")->required();
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_info(*opt, io); }; });
}

}  // namespace qreg::cli
