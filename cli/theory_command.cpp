// `qreg theory`: predicted per-layer noise variance, SQNR and loss increase for a list of bit
// widths, without sampling weight noise. The bit-independent work (calibration statistics,
// first-order sensitivities, loss curvature) runs once; each bit width then costs a few sums.
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/model_data.hpp"
#include "cli/runs.hpp"
#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "theory/calibration.hpp"
#include "theory/first_order.hpp"
#include "theory/kinks.hpp"
#include "theory/lin_baseline.hpp"
#include "theory/loss_increase.hpp"
#include "theory/mean_field.hpp"
#include "theory/sqnr.hpp"

namespace qreg::cli {

namespace {

using namespace qreg::theory;

std::vector<LayerNoise> noise_for(const Graph& g, int bits, Granularity gran) {
  if (bits != kFloatBits) return weight_noise(g, g.values, bits, gran);
  std::vector<LayerNoise> zero;
  for (const auto& l : quant_layers(g))
    zero.push_back(
        {std::vector<double>(std::size_t(l.channels), 0.0), std::vector<double>(std::size_t(l.channels), 0.0)});
  return zero;
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
Cell cell_or_empty(double v) { return std::isfinite(v) ? Cell(v) : Cell(); }

struct Precomputed {
  CalibrationStats stats;
  FirstOrderSensitivity first_order;
  LossSensitivity loss;
  const Tensor* x = nullptr;                          // calibration set
  const std::vector<std::int32_t>* labels = nullptr;  // empty: no ReLU-kink term
};

std::vector<LayerPrediction> predict(const TheoryOptions& opt, const Graph& g, const Precomputed& pre,
                                     const std::vector<LayerNoise>& noise, Mode mode) {
  if (opt.method == "first-order") return predict_first_order(pre.first_order, noise, mode);
  if (opt.method == "mean-field") return predict_mean_field(g, g.values, pre.stats, noise, mode);
  return predict_lin(g, pre.stats, noise, mode);
}

void add_bits_result(const TheoryOptions& opt, const Graph& g, const Precomputed& pre, int bits, Report& report) {
  const Granularity gran = parse_granularity(opt.granularity);
  const auto noise = noise_for(g, bits, gran);
  const Mode mode = parse_mode(opt.mode);
  const auto preds = predict(opt, g, pre, noise, mode);
  // Loss increase = curvature term + ReLU-kink term; the kink term needs the joint noise at each layer.
  auto loss = predict_loss_increase(pre.loss, noise);
  const double curvature = loss.total;
  std::optional<double> kinks;
  if (!pre.labels->empty()) {
    kinks = 0.0;
    if (bits != kFloatBits) {  // fp32 has no noise, so no kink term: the pass is skipped
      const auto k = predict_kink_loss(g, g.values, *pre.x, *pre.labels, noise,
                                       mode == Mode::Joint ? preds : predict(opt, g, pre, noise, Mode::Joint));
      for (std::size_t L = 0; L < loss.per_layer.size(); ++L) loss.per_layer[L] += k.per_layer[L];
      loss.total += k.total;
      kinks = k.total;
    }
  }
  const auto layers = quant_layers(g);
  auto jl = nlohmann::json::array();
  for (std::size_t L = 0; L < layers.size(); ++L) {
    const auto& p = preds[L];
    const double sqnr = sqnr_db(pre.stats.signal[L], p.noise_var);
    auto shares = nlohmann::json::array();
    for (double c : p.contribution) shares.push_back(p.noise_var > 0 ? c / p.noise_var : 0.0);
    nlohmann::json stderr_json = p.stderr ? nlohmann::json(*p.stderr) : nlohmann::json(nullptr);
    jl.push_back({{"index", L},
                  {"name", layers[L].name},
                  {"op", op_name(layers[L].op)},
                  {"step", noise[L].rms_step()},
                  {"weight_noise_var", noise[L].mean_var()},
                  {"noise_var", p.noise_var},
                  {"stderr", stderr_json},
                  {"sqnr_db", number_or_null(sqnr)},
                  {"signal", pre.stats.signal[L]},
                  {"loss_increase", loss.per_layer[L]},
                  {"sources", shares}});
    if (std::isfinite(opt.target_sqnr))
      jl.back()["bits_for_target_sqnr"] =
          bits == kFloatBits ? nlohmann::json(nullptr)
                             : nlohmann::json(bits_for_sqnr(pre.stats.signal[L], p.noise_var, bits, opt.target_sqnr));
    std::vector<Cell> row = {bits_label(bits),
                             std::int64_t(L),
                             layers[L].name,
                             std::string(op_name(layers[L].op)),
                             noise[L].rms_step(),
                             p.noise_var,
                             p.stderr ? Cell(*p.stderr) : Cell(),
                             cell_or_empty(sqnr),
                             loss.per_layer[L]};
    if (std::isfinite(opt.target_sqnr)) {
      const auto& need = jl.back()["bits_for_target_sqnr"];
      row.push_back(need.is_null() ? Cell() : Cell(need.get<std::int64_t>()));
    }
    report.table.add_row(std::move(row));
  }
  report.document["results"].push_back(
      {{"bits", bits},
       {"loss_increase", loss.total},
       {"loss_increase_curvature", curvature},
       {"loss_increase_kinks", kinks ? nlohmann::json(*kinks) : nlohmann::json(nullptr)},
       {"layers", jl}});
}

}  // namespace

int run_theory(const TheoryOptions& opt, Output& io) {
  check_backend(opt.common, "theory");
  const auto bits = parse_bits_list(opt.bits);
  parse_granularity(opt.granularity);
  parse_mode(opt.mode);
  if (opt.method != "first-order" && opt.method != "mean-field" && opt.method != "lin")
    throw UsageError("--method: '" + opt.method + "' is not first-order, mean-field or lin");
  if (opt.probes < 2) throw UsageError("--probes must be at least 2");
  ThreadScope threads(opt.common.threads);
  const Graph graph = load_model(opt.model);
  if (graph.quantized_nodes().empty()) throw Error(opt.model.model + ": no quantizable layer (Gemm/MatMul/Conv)");
  const Dataset data = load_model_data(opt.data, graph);  // labels: only for the loss's ReLU-kink term
  const Tensor& x = data.inputs;

  Precomputed pre;
  pre.stats = calibration_stats(graph, graph.values, x);
  if (opt.method == "first-order") {
    FirstOrderOptions fo;
    fo.probes = opt.probes;
    fo.seed = opt.common.seed;
    pre.first_order = first_order_sensitivity(graph, graph.values, x, fo);
  }
  pre.loss = loss_sensitivity(graph, graph.values, x);
  pre.x = &x;
  pre.labels = &data.labels;
  if (data.labels.empty())
    io.err << "theory: note: " << data.name
           << " has no labels, so the predicted loss increase is the curvature term alone (the ReLU-kink term "
              "needs the loss gradient; docs/theory.md)\n";

  Report report;
  report.context.command = "theory";
  report.context.threads = threads.threads();
  report.context.seed = opt.common.seed;
  report.document = {{"command", "theory"},
                     {"model", opt.model.model},
                     {"model_seed", opt.model.model_seed},
                     {"data", data.name},
                     {"granularity", opt.granularity},
                     {"samples", data.size()},
                     {"seed", opt.common.seed},
                     {"method", opt.method},
                     {"mode", opt.mode},
                     {"probes", opt.probes},
                     {"results", nlohmann::json::array()}};
  report.table.columns = {"bits", "layer", "name", "op", "step", "noise_var", "stderr", "sqnr_db", "loss_increase"};
  if (std::isfinite(opt.target_sqnr)) report.table.columns.push_back("bits_for_target");
  for (int b : bits) add_bits_result(opt, graph, pre, b, report);
  report.notes.push_back("noise_var: mean over samples and output elements of Var[y(W+δ) − y(W)], method " +
                         opt.method + ", " + opt.mode + "; loss_increase: layer alone (Gauss–Newton)");
  emit_report(report, opt.common, io);
  return 0;
}

void add_theory_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<TheoryOptions>();
  auto* cmd = app.add_subcommand("theory", "Predicted per-layer noise variance and loss increase");
  add_model_options(*cmd, opt->model);
  opt->data.samples = kDefaultCalibrationSamples;
  add_data_options(*cmd, opt->data);
  cmd->add_option("--bits", opt->bits, "Bit widths, e.g. 8,4,2 (32/fp32 = not quantized)")->capture_default_str();
  cmd->add_option("--method", opt->method, "Predictor")
      ->check(CLI::IsMember({"first-order", "mean-field", "lin"}))
      ->capture_default_str();
  cmd->add_option("--granularity", opt->granularity, "Quantizer step per tensor or per output channel")
      ->check(CLI::IsMember({"tensor", "channel"}))
      ->capture_default_str();
  cmd->add_option("--mode", opt->mode, "joint: all layers noisy; isolated: only the reported layer")
      ->check(CLI::IsMember({"joint", "isolated"}))
      ->capture_default_str();
  cmd->add_option("--probes", opt->probes, "Hutchinson probes per large layer (first-order)")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  cmd->add_option("--target-sqnr", opt->target_sqnr,
                  "Also report, per layer, the fewest bits (every layer at that width) whose predicted SQNR "
                  "reaches DB decibels (closed form: noise ∝ Δ², Δ ∝ 1/(2^(b−1)−1))")
      ->check(CLI::Range(-100.0, 200.0));
  add_seed_option(*cmd, opt->common);
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  add_threads_option(*cmd, opt->common);
  add_backend_option(*cmd, opt->common);
  cmd->footer(
      "The loss increase is the curvature (Gauss-Newton) term plus the ReLU-kink term, which needs labels; "
      "without labels only the curvature term is reported. JSON gives both terms (docs/theory.md).");
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_theory(*opt, io); }; });
}

}  // namespace qreg::cli
