// `qreg noise`: the quantization error of a synthetic tensor against the additive U(−Δ/2, Δ/2)
// model (DESIGN.md C1), for a list of bit widths: measured variance vs Δ²/12, SQNR and its gain
// per bit (6.02 dB in the model), correlation with the weights, a KS test, clipping.
#include <cmath>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/runs.hpp"
#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/quantizer.hpp"
#include "core/synthetic.hpp"
#include "theory/noise_stats.hpp"

namespace qreg::cli {

namespace {

constexpr std::int64_t kMaxSize = 100'000'000;  // ~1.6 GB of working memory

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

Cell cell(double v) { return std::isnan(v) ? Cell{} : Cell{v}; }

Shape noise_shape(const NoiseOptions& opt, Granularity granularity) {
  if (opt.size < 2 || opt.size > kMaxSize)
    throw UsageError("noise: --size " + std::to_string(opt.size) + " outside [2, " + std::to_string(kMaxSize) + "]");
  if (granularity == Granularity::Tensor) return {opt.size};
  if (opt.channels < 1 || opt.size % opt.channels != 0 || opt.size / opt.channels < 2)
    throw UsageError("noise: --channels " + std::to_string(opt.channels) + " must divide --size " +
                     std::to_string(opt.size) + " into channels of at least 2 weights");
  return {opt.channels, opt.size / opt.channels};
}

nlohmann::json criterion_json(const ModelCriterion& c) {
  return {{"ratio_sigmas", c.ratio_sigmas}, {"ratio_tol", c.ratio_tol}, {"corr_sigmas", c.corr_sigmas},
          {"corr_tol", c.corr_tol},         {"ks_alpha", c.ks_alpha},   {"ks_tol", c.ks_tol}};
}

// SQNR gain per bit between two rows, measured and as the model predicts it: in the model the
// noise power is Δ²/12, so the gain is 20·log10(Δ_prev/Δ) per bit (6.02 dB for a halved step;
// more at low widths, where the narrow-range Δ = max|w|/(2^(b−1)−1) shrinks faster than 2×).
struct Gain {
  double measured, model;
};

nlohmann::json result_json(int bits, const NoiseStats& s, std::optional<Gain> gain) {
  return {{"bits", bits},
          {"step", s.step},
          {"noise_mean", s.noise_mean},
          {"noise_var", s.noise_var},
          {"noise_var_stderr", s.noise_var_stderr},
          {"weight_noise_var", s.weight_noise_var},
          {"var_ratio", s.var_ratio},
          {"var_ratio_stderr", s.var_ratio_stderr},
          {"sqnr_db", number_or_null(s.sqnr_db)},
          {"db_per_bit", gain ? number_or_null(gain->measured) : nlohmann::json(nullptr)},
          {"model_db_per_bit", gain ? number_or_null(gain->model) : nlohmann::json(nullptr)},
          {"corr", number_or_null(s.corr)},
          {"ks_statistic", s.ks_statistic},
          {"ks_p_value", s.ks_p_value},
          {"clipped_share", s.clipped_share},
          {"ratio_ok", s.ratio_ok},
          {"corr_ok", s.corr_ok},
          {"ks_ok", s.ks_ok},
          {"model_holds", s.model_holds}};
}

}  // namespace

int run_noise(const NoiseOptions& opt, Output& io) {
  check_backend(opt.common, "noise");
  const Distribution dist = parse_distribution(opt.dist);
  const Granularity granularity = parse_granularity(opt.granularity);
  const Scheme scheme = parse_scheme(opt.scheme);
  const std::vector<int> bits_list = parse_bits_list(opt.bits, /*allow_float=*/false);
  const Shape shape = noise_shape(opt, granularity);
  parse_format(opt.common.format);  // fail before the work, not after

  ThreadScope threads(opt.common.threads);
  Report report;
  report.context.command = "noise";
  report.context.threads = threads.threads();
  report.context.seed = opt.common.seed;
  const ModelCriterion criterion;
  report.document = {{"dist", distribution_name(dist)},
                     {"size", opt.size},
                     {"shape", shape},
                     {"granularity", granularity_name(granularity)},
                     {"scheme", scheme_name(scheme)},
                     {"criterion", criterion_json(criterion)}};
  report.table.columns = {"bits",   "step",         "noise_var", "model_var", "ratio", "ratio_se", "sqnr_db",
                          "dB/bit", "model_dB/bit", "corr",      "ks_D",      "ks_p",  "clipped",  "model_holds"};
  report.table.precision = 4;

  const Tensor w = synthetic_tensor(dist, shape, opt.common.seed);
  auto results = nlohmann::json::array();
  std::optional<std::pair<int, NoiseStats>> previous;
  for (const int bits : bits_list) {
    const QuantizerConfig cfg{bits, granularity, scheme, kGemmChannelAxis};
    const NoiseStats s = noise_stats(w, cfg, criterion);
    std::optional<Gain> gain;
    if (previous) {
      const double dbits = bits - previous->first;
      gain = Gain{(s.sqnr_db - previous->second.sqnr_db) / dbits,
                  20.0 * std::log10(previous->second.step / s.step) / dbits};
    }
    previous = {bits, s};
    results.push_back(result_json(bits, s, gain));
    report.table.add_row({std::int64_t{bits}, s.step, s.noise_var, s.weight_noise_var, s.var_ratio, s.var_ratio_stderr,
                          cell(s.sqnr_db), gain ? cell(gain->measured) : Cell{}, gain ? cell(gain->model) : Cell{},
                          cell(s.corr), s.ks_statistic, s.ks_p_value, s.clipped_share,
                          std::string(s.model_holds ? "yes" : "no")});
  }
  report.document["results"] = results;
  report.notes = {"# model: δ = q(w) − w ~ U(−Δ/2, Δ/2) independent of w, model_var = Δ²/12; ratio = measured/model",
                  "# holds unless |ratio−1| > max(5·se, 0.05), |corr| > max(5/√n, 0.1), or KS p < 1e-3 with D > 0.02"};
  emit_report(report, opt.common, io);
  return 0;
}

void add_noise_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<NoiseOptions>();
  auto* cmd = app.add_subcommand("noise",
                                 "Quantization error of a synthetic tensor against the additive "
                                 "U(-Δ/2, Δ/2) model");
  cmd->add_option("--dist", opt->dist, "Weight distribution: normal | uniform | laplace")->capture_default_str();
  cmd->add_option("--bits", opt->bits, "Bit widths, each in [2, 16]")->capture_default_str();
  cmd->add_option("--size", opt->size, "Number of weights")->capture_default_str();
  cmd->add_option("--granularity", opt->granularity, "One step per tensor or per channel: tensor | channel")
      ->capture_default_str();
  cmd->add_option("--channels", opt->channels, "Channels (rows) of the tensor with --granularity channel")
      ->capture_default_str();
  cmd->add_option("--scheme", opt->scheme, "Quantizer: symmetric | asymmetric")->capture_default_str();
  add_seed_option(*cmd, opt->common);
  add_threads_option(*cmd, opt->common);
  add_backend_option(*cmd, opt->common);
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_noise(*opt, io); }; });
}

}  // namespace qreg::cli
