// `qreg eval`: accuracy and mean cross-entropy of a model and of its post-training-quantized
// copies (weights of Gemm/MatMul/Conv fake-quantized; biases and batch norm left in float).
#include <ostream>

#include "cli/commands.hpp"
#include "cli/model_data.hpp"
#include "core/bits.hpp"
#include "core/evaluate.hpp"
#include "core/parallel.hpp"
#include "core/quantize_graph.hpp"
#include "core/quantizer.hpp"

namespace qreg::cli {

struct EvalOptions {
  ModelOptions model;
  DataArgs data;
  std::string bits = "32,8,4,2";
  std::string granularity = "tensor";
  std::string scheme = "symmetric";
  std::int64_t batch = 256;
  CommonOptions common;
};

namespace {

nlohmann::json layer_steps_json(const Graph& graph, const QuantizedGraphParams& q) {
  auto layers = nlohmann::json::array();
  for (std::size_t l = 0; l < q.layers.size(); ++l) {
    const Node& node = graph.nodes[static_cast<std::size_t>(q.layers[l])];
    layers.push_back({{"index", l},
                      {"name", node.name},
                      {"op", op_name(node.op)},
                      {"step", q.steps[l].size() == 1 ? nlohmann::json(q.steps[l][0]) : nlohmann::json(q.steps[l])}});
  }
  return layers;
}

}  // namespace

int run_eval(const EvalOptions& opt, Output& io) {
  check_backend(opt.common, "eval");
  const auto bits_list = parse_bits_list(opt.bits);
  GraphQuantConfig cfg;
  cfg.granularity = parse_granularity(opt.granularity);
  cfg.scheme = parse_scheme(opt.scheme);
  const ThreadScope threads(opt.common.threads);
  const Graph graph = load_model(opt.model);
  const Dataset data = load_model_data(opt.data, graph);

  Report report;
  report.context.command = "eval";
  report.context.threads = threads.threads();
  report.document = {{"model", opt.model.model},
                     {"data", data.name},
                     {"samples", data.size()},
                     {"granularity", opt.granularity},
                     {"scheme", opt.scheme}};
  report.table.columns = {"bits", "accuracy", "loss", "d_accuracy", "d_loss"};
  auto results = nlohmann::json::array();
  const EvalResult fp32 = evaluate(graph, graph.values, data, opt.batch);
  for (int bits : bits_list) {
    cfg.bits = bits;
    const QuantizedGraphParams q = quantize_graph(graph, graph.values, cfg);
    const EvalResult r = bits == kFloatBits ? fp32 : evaluate(graph, q.values, data, opt.batch);
    report.table.add_row({bits_label(bits), r.accuracy, r.loss, r.accuracy - fp32.accuracy, r.loss - fp32.loss});
    results.push_back({{"bits", bits},
                       {"accuracy", r.accuracy},
                       {"loss", r.loss},
                       {"layers", bits == kFloatBits ? nlohmann::json::array() : layer_steps_json(graph, q)}});
  }
  report.document["results"] = results;
  report.notes.push_back("model " + opt.model.model + " on " + data.name + " (" + std::to_string(data.size()) +
                         " samples); d_* are differences from fp32");
  emit_report(report, opt.common, io);
  return 0;
}

void add_eval_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Accuracy and loss of a model and its post-training-quantized copies");
  add_model_options(*cmd, opt->model);
  add_data_options(*cmd, opt->data);
  cmd->add_option("--bits", opt->bits, "Bit widths, 2..16; 32 or fp32 = not quantized")->capture_default_str();
  cmd->add_option("--granularity", opt->granularity, "Step per tensor or per output channel")
      ->check(CLI::IsMember({"tensor", "channel"}))
      ->capture_default_str();
  cmd->add_option("--scheme", opt->scheme, "Quantizer")
      ->check(CLI::IsMember({"symmetric", "asymmetric"}))
      ->capture_default_str();
  cmd->add_option("--batch", opt->batch, "Samples per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  add_threads_option(*cmd, opt->common);
  add_backend_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_eval(*opt, io); }; });
}

}  // namespace qreg::cli
