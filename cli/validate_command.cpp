// `qreg validate`: predicted vs measured per bit width and layer (validate/compare.hpp), or a new
// result against a saved baseline; exit 0 when every comparison agrees, 1 otherwise.
#include <cmath>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/runs.hpp"
#include "core/error.hpp"
#include "validate/compare.hpp"

namespace qreg::cli {

namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
Cell cell(double v) { return std::isfinite(v) ? Cell{v} : Cell{}; }

nlohmann::json comparison_json(const validate::Comparison& c) {
  return {{"bits", c.bits},           {"layer", c.layer < 0 ? nlohmann::json(nullptr) : nlohmann::json(c.layer)},
          {"name", c.name},           {"quantity", c.quantity},
          {"predicted", c.predicted}, {"predicted_stderr", c.predicted_stderr},
          {"measured", c.measured},   {"measured_stderr", c.measured_stderr},
          {"ci_low", num(c.ci_low)},  {"ci_high", num(c.ci_high)},
          {"ratio", num(c.ratio)},    {"z", num(c.z)},
          {"allowed", c.allowed},     {"verdict", c.agree ? "agree" : "disagree"}};
}

std::string method_of(const nlohmann::json& doc) {
  for (const char* key : {"method", "command"})
    if (doc.contains(key) && doc[key].is_string()) return doc[key].get<std::string>();
  return "?";
}

}  // namespace

int run_validate(const ValidateOptions& opt, Output& io) {
  if (opt.measured.empty()) throw UsageError("validate: --measured is required");
  if (opt.predicted.empty() == opt.baseline.empty())
    throw UsageError("validate: give exactly one of --predicted and --baseline");
  if (!(opt.tolerance >= 0) || !(opt.sigmas >= 0)) throw UsageError("validate: --tolerance and --sigmas must be >= 0");
  parse_format(opt.common.format);
  const std::string reference = opt.predicted.empty() ? opt.baseline : opt.predicted;
  const nlohmann::json ref_doc = validate::read_json_file(reference);
  const nlohmann::json meas_doc = validate::read_json_file(opt.measured);
  const validate::Tolerance tol{opt.tolerance, opt.sigmas, !opt.no_loss};
  const validate::Validation v = validate::compare_results(ref_doc, meas_doc, tol, reference, opt.measured);

  Report report;
  report.context.command = "validate";
  report.context.threads = 1;
  auto comparisons = nlohmann::json::array();
  for (const auto& c : v.comparisons) comparisons.push_back(comparison_json(c));
  const int total = static_cast<int>(v.comparisons.size());
  report.document = {{"kind", opt.predicted.empty() ? "baseline" : "prediction"},
                     {"predicted", reference},
                     {"measured", opt.measured},
                     {"predicted_method", method_of(ref_doc)},
                     {"measured_method", method_of(meas_doc)},
                     {"model", meas_doc.value("model", nlohmann::json(nullptr))},
                     {"granularity", meas_doc.value("granularity", nlohmann::json(nullptr))},
                     {"tolerance", opt.tolerance},
                     {"sigmas", opt.sigmas},
                     {"warnings", v.warnings},
                     {"comparisons", comparisons},
                     {"agreed", v.agreed},
                     {"total", total},
                     {"pass", v.pass}};
  Table& t = report.table;
  t.columns = {"bits",   "layer",   "name",  "quantity", "predicted", "measured", "meas_se",
               "ci_low", "ci_high", "ratio", "z",        "allowed",   "verdict"};
  t.precision = 4;
  for (const auto& c : v.comparisons)
    t.add_row({std::int64_t{c.bits}, c.layer < 0 ? Cell{} : Cell{std::int64_t{c.layer}}, c.name, c.quantity,
               c.predicted, c.measured, c.measured_stderr, cell(c.ci_low), cell(c.ci_high), cell(c.ratio), cell(c.z),
               c.allowed, std::string(c.agree ? "agree" : "DISAGREE")});
  std::ostringstream summary;
  summary << "# " << method_of(ref_doc) << " vs " << method_of(meas_doc) << ": " << v.agreed << "/" << total
          << " agree within " << opt.tolerance * 100 << "% + " << opt.sigmas << " SE: " << (v.pass ? "PASS" : "FAIL");
  report.notes.push_back(summary.str());
  for (const auto& w : v.warnings) report.notes.push_back("# warning: " + w);
  emit_report(report, opt.common, io);
  if (opt.common.format != "table") io.err << summary.str().substr(2) << '\n';
  return v.pass ? 0 : 1;
}

void add_validate_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<ValidateOptions>();
  auto* cmd = app.add_subcommand("validate", "Compare predicted and measured noise; exit 0 when they agree");
  cmd->add_option("--predicted", opt->predicted, "Prediction (qreg theory --format json)");
  cmd->add_option("--measured", opt->measured, "Measurement (qreg simulate --format json)")->required();
  cmd->add_option("--baseline", opt->baseline, "A saved result to compare --measured against (regression check)");
  cmd->add_option("--tolerance", opt->tolerance, "Accepted model error, relative to the measurement")
      ->capture_default_str();
  cmd->add_option("--sigmas", opt->sigmas, "Accepted statistical error, in combined standard errors")
      ->capture_default_str();
  cmd->add_flag("--no-loss", opt->no_loss, "Do not compare the loss increase");
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_validate(*opt, io); }; });
}

}  // namespace qreg::cli
