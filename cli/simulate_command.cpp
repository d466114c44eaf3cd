// `qreg simulate`: Monte Carlo per-layer noise variance with standard errors and confidence
// intervals, the loss increase and the SQNR (sim/simulator.hpp), as the JSON schema of DESIGN.md
// shared with `qreg theory` (plus ci_low/ci_high/rse per layer and the loss's standard error).
#include <cmath>
#include <memory>
#include <ostream>

#include "cli/commands.hpp"
#include "cli/model_data.hpp"
#include "cli/runs.hpp"
#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/graph.hpp"
#include "core/parallel.hpp"
#include "sim/simulator.hpp"

namespace qreg::cli {

namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
Cell cell(double v) { return std::isfinite(v) ? Cell{v} : Cell{}; }

nlohmann::json layer_json(const sim::LayerResult& l) {
  nlohmann::json j = {{"index", l.index},
                      {"name", l.name},
                      {"op", op_name(l.op)},
                      {"step", l.step},
                      {"weight_noise_var", l.weight_noise_var},
                      {"noise_var", l.noise.mean},
                      {"stderr", l.noise.std_error},
                      {"ci_low", l.noise.ci_low},
                      {"ci_high", l.noise.ci_high},
                      {"rse", num(l.noise.rse())},
                      {"signal_power", l.signal_power},
                      {"sqnr_db", num(l.sqnr_db)}};
  if (l.loss_increase) {
    j["loss_increase"] = l.loss_increase->mean;
    j["loss_increase_stderr"] = l.loss_increase->std_error;
  }
  return j;
}

nlohmann::json bits_json(const sim::BitsResult& b) {
  nlohmann::json j = {{"bits", b.bits}, {"loss_increase", nullptr}, {"loss_increase_stderr", nullptr}};
  if (b.loss_increase) {
    j["loss_increase"] = b.loss_increase->mean;
    j["loss_increase_stderr"] = b.loss_increase->std_error;
    j["loss_increase_ci_low"] = b.loss_increase->ci_low;
    j["loss_increase_ci_high"] = b.loss_increase->ci_high;
  }
  auto layers = nlohmann::json::array();
  for (const auto& l : b.layers) layers.push_back(layer_json(l));
  j["layers"] = layers;
  return j;
}

void fill_table(Table& t, const sim::SimResult& r) {
  t.columns = {"bits",   "layer",   "name", "op",      "step",          "noise_var", "stderr",
               "ci_low", "ci_high", "rse",  "sqnr_db", "loss_increase", "loss_se"};
  t.precision = 4;
  for (const auto& b : r.results) {
    for (const auto& l : b.layers) {
      const bool li = l.loss_increase.has_value();
      t.add_row({std::int64_t{b.bits}, std::int64_t{l.index}, l.name, std::string(op_name(l.op)), l.step, l.noise.mean,
                 l.noise.std_error, l.noise.ci_low, l.noise.ci_high, cell(l.noise.rse()), cell(l.sqnr_db),
                 li ? Cell{l.loss_increase->mean} : Cell{}, li ? Cell{l.loss_increase->std_error} : Cell{}});
    }
    if (b.loss_increase)
      t.add_row({std::int64_t{b.bits}, Cell{}, std::string("(network)"), Cell{}, Cell{}, Cell{}, Cell{}, Cell{}, Cell{},
                 Cell{}, Cell{}, b.loss_increase->mean, b.loss_increase->std_error});
  }
}

sim::SimOptions sim_options(const SimulateOptions& opt, Output& io) {
  sim::SimOptions s;
  s.bits = parse_bits_list(opt.bits, /*allow_float=*/false);
  s.noise = sim::parse_noise_kind(opt.noise);
  s.mode = sim::parse_noise_mode(opt.mode);
  s.granularity = parse_granularity(opt.granularity);
  s.seed = opt.common.seed;
  s.draws = opt.draws;
  s.target_rse = opt.target_rse;
  s.max_draws = opt.max_draws;
  s.min_draws = std::min<std::int64_t>(16, opt.max_draws);
  s.batch = opt.batch;
  s.confidence = opt.confidence;
  if (opt.target_rse > 0 && io.interactive) {
    s.progress = [&io, target = opt.target_rse](std::int64_t draws, double rse) {
      io.err << "\rsimulate: " << draws << " draws, largest RSE " << rse << " (target " << target << ")   "
             << std::flush;
    };
  }
  return s;
}

}  // namespace

int run_simulate(const SimulateOptions& opt, Output& io) {
  check_backend(opt.common, "simulate");
  const sim::SimOptions sopt = sim_options(opt, io);
  parse_format(opt.common.format);  // fail before the work, not after
  if (opt.confidence <= 0 || opt.confidence >= 1) throw UsageError("simulate: --confidence must lie in (0, 1)");
  ThreadScope threads(opt.common.threads);
  const Graph graph = load_model(opt.model);
  const Dataset data = load_model_data(opt.data, graph);
  const sim::SimResult r = sim::simulate(graph, graph.values, data, sopt);
  if (sopt.progress) io.err << '\n';
  if (!r.converged)
    io.err << "simulate: warning: stopped at --max-draws " << r.draws << " with largest RSE " << r.max_rse
           << " above --target-rse " << opt.target_rse << '\n';

  Report report;
  report.context.command = "simulate";
  report.context.threads = threads.threads();
  report.context.seed = opt.common.seed;
  auto results = nlohmann::json::array();
  for (const auto& b : r.results) results.push_back(bits_json(b));
  report.document = {{"model", opt.model.model},
                     {"model_seed", opt.model.model_seed},
                     {"data", data.name},
                     {"granularity", granularity_name(sopt.granularity)},
                     {"samples", r.samples},
                     {"method", "monte-carlo"},
                     {"noise", sim::noise_kind_name(sopt.noise)},
                     {"mode", sim::noise_mode_name(sopt.mode)},
                     {"draws", r.draws},
                     {"target_rse", opt.target_rse > 0 ? nlohmann::json(opt.target_rse) : nlohmann::json(nullptr)},
                     {"converged", r.converged},
                     {"max_rse", num(r.max_rse)},
                     {"confidence", opt.confidence},
                     {"clean_loss", num(r.clean_loss)},
                     {"results", results}};
  fill_table(report.table, r);
  report.notes = {"# noise_var: mean over draws of the per-draw mean squared output change; ci at " +
                      std::to_string(static_cast<int>(std::lround(opt.confidence * 100))) +
                      "% (Student t); rse = stderr/noise_var",
                  "# " + std::to_string(r.draws) + " draws, " + sim::noise_kind_name(sopt.noise) + " noise, " +
                      sim::noise_mode_name(sopt.mode) + " mode, clean loss " + std::to_string(r.clean_loss)};
  emit_report(report, opt.common, io);
  return 0;
}

void add_simulate_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<SimulateOptions>();
  auto* cmd = app.add_subcommand("simulate", "Monte Carlo per-layer noise variance with standard errors");
  add_model_options(*cmd, opt->model);
  opt->data.samples = kDefaultCalibrationSamples;
  add_data_options(*cmd, opt->data);
  cmd->add_option("--bits", opt->bits, "Bit widths, each in [2, 16]")->capture_default_str();
  auto* draws = cmd->add_option("--draws", opt->draws, "Noise draws")->capture_default_str();
  cmd->add_option("--target-rse", opt->target_rse, "Draw until every layer's relative standard error is below R")
      ->excludes(draws);
  cmd->add_option("--max-draws", opt->max_draws, "Cap on draws with --target-rse")->capture_default_str();
  cmd->add_option("--noise", opt->noise, "uniform | gaussian | round")->capture_default_str();
  cmd->add_option("--mode", opt->mode, "joint | isolated")->capture_default_str();
  cmd->add_option("--granularity", opt->granularity, "tensor | channel")->capture_default_str();
  cmd->add_option("--batch", opt->batch,
                  "Samples per forward pass (small batches keep activations in cache; results depend on it only "
                  "in the last bits)")
      ->capture_default_str();
  cmd->add_option("--confidence", opt->confidence, "Confidence level of the intervals")->capture_default_str();
  add_seed_option(*cmd, opt->common);
  add_threads_option(*cmd, opt->common);
  add_backend_option(*cmd, opt->common);
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_simulate(*opt, io); }; });
}

}  // namespace qreg::cli
