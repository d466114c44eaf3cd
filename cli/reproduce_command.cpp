// `qreg reproduce`: the whole study in-process. It calls the commands' run functions (cli/runs.hpp)
// in order (noise, train, theory, simulate, validate), writes every result file under --out,
// derives a verdict per claim C1–C5 from those files (cli/claims.hpp) and draws the figures
// (qreg plot) into --out/figures. --quick is one seed of a
// small MLP sweep; the full study trains MLP and CNN with three seeds on all of Fashion-MNIST.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli/claims.hpp"
#include "cli/commands.hpp"
#include "cli/runs.hpp"
#include "core/data_spec.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "plots/render.hpp"
#include "validate/compare.hpp"

namespace qreg::cli {

namespace fs = std::filesystem;

struct ReproduceOptions {
  bool quick = false;
  std::string out = "runs/reproduce";
  std::uint64_t seed = 1;  // seeds are seed, seed+1, seed+2 (full) or seed (quick)
  int threads = 0;
  std::string backend = "cpu";
  // Overrides of the preset sizes (0 / empty: the preset). For tests and experiments.
  std::string models, widths, bits, data, val_data, data_dir;
  std::int64_t train_size = -1, val_size = -1, samples = 0, max_draws = 0, noise_size = 0;
  int epochs = 0, seeds = 0;
  // How the quantized runs train (qreg train --mode) and the learning rate of every run.
  std::string mode = "qat";
  double lr = 0.05;
};

namespace {

struct Plan {
  std::vector<std::string> models;
  std::string seeds;
  std::int64_t train_size, val_size, samples, max_draws, noise_size;
  int epochs;
  double target_rse;
};

Plan make_plan(const ReproduceOptions& o) {
  Plan p;
  p.models = o.quick ? std::vector<std::string>{"mlp"} : std::vector<std::string>{"mlp", "cnn"};
  if (!o.models.empty()) {
    p.models.clear();
    std::stringstream ss(o.models);
    for (std::string m; std::getline(ss, m, ',');) {
      if (m != "mlp" && m != "cnn") throw UsageError("reproduce: --models: '" + m + "' is not mlp or cnn");
      p.models.push_back(m);
    }
  }
  const int n_seeds = o.seeds > 0 ? o.seeds : (o.quick ? 1 : 3);
  for (int i = 0; i < n_seeds; ++i) p.seeds += (i ? "," : "") + std::to_string(o.seed + std::uint64_t(i));
  p.train_size = o.train_size >= 0 ? o.train_size : (o.quick ? 10000 : 0);
  p.val_size = o.val_size >= 0 ? o.val_size : (o.quick ? 2000 : 0);
  p.epochs = o.epochs > 0 ? o.epochs : (o.quick ? 3 : 10);
  p.samples = o.samples > 0 ? o.samples : kDefaultCalibrationSamples;
  p.max_draws = o.max_draws > 0 ? o.max_draws : (o.quick ? 512 : 4096);
  p.noise_size = o.noise_size > 0 ? o.noise_size : 1000000;
  p.target_rse = o.quick ? 0.02 : 0.01;
  return p;
}

nlohmann::json read_json(const fs::path& p) { return validate::read_json_file(p.string()); }

constexpr int kSteps = 6;

class Steps {
 public:
  explicit Steps(std::ostream& err) : err_(err), start_(std::chrono::steady_clock::now()) {}
  void begin(int i, const std::string& what) {
    err_ << "reproduce: [" << i << "/" << kSteps << "] " << what << " (" << elapsed() << " s)\n" << std::flush;
  }
  long elapsed() const {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  std::ostream& err_;
  std::chrono::steady_clock::time_point start_;
};

CommonOptions common_for(const ReproduceOptions& o, const fs::path& out, const char* format = "json") {
  CommonOptions c;
  c.format = format;
  c.out = out.string();
  c.threads = o.threads;
  c.seed = o.seed;
  c.backend = o.backend;
  return c;
}

}  // namespace

int run_reproduce(const ReproduceOptions& opt, Output& io) {
  check_backend(common_for(opt, {}), "reproduce");
  const Plan plan = make_plan(opt);
  const std::string bits = opt.bits.empty() ? "32,8,4,2" : opt.bits;
  if (("," + bits + ",").find(",32,") == std::string::npos && ("," + bits + ",").find(",fp32,") == std::string::npos)
    throw UsageError("reproduce: --bits must include 32 (theory and simulation use the FP32 model)");
  // The data specs are read only at steps 2 and 3: check their form and files before any work.
  const std::string train_data = opt.data.empty() ? TrainOptions{}.data : opt.data;
  const std::string calib_data = opt.val_data.empty() ? TrainOptions{}.val_data : opt.val_data;
  DataOptions data_dir;
  data_dir.data_dir = opt.data_dir;
  check_data_spec(train_data, data_dir);
  check_data_spec(calib_data, data_dir);
  const fs::path dir(opt.out);
  if (fs::exists(dir) && !fs::is_directory(dir)) throw Error("reproduce: --out " + opt.out + " is not a folder");
  plots::check_gnuplot({});  // the figures come last: a missing gnuplot must not end a finished study
  fs::create_directories(dir);
  std::ostringstream sink;  // the sub-commands' console tables: the files hold the results
  Output sub{sink, io.err, false};
  Steps steps(io.err);

  steps.begin(1, "noise: quantization error vs the Δ²/12 model -> noise.json");
  NoiseOptions noise;
  noise.common = common_for(opt, dir / "noise.json");
  noise.size = plan.noise_size;
  run_noise(noise, sub);

  std::vector<nlohmann::json> summaries;
  for (const auto& model : plan.models) {
    steps.begin(2, "train: " + model + ", bits " + bits + " (" + opt.mode + "), seeds " + plan.seeds + ", " +
                       std::to_string(plan.epochs) + " epochs -> train/" + model);
    TrainOptions t;
    t.model = model;
    if (!opt.widths.empty()) t.widths = opt.widths;
    if (!opt.data.empty()) t.data = opt.data;
    if (!opt.val_data.empty()) t.val_data = opt.val_data;
    t.data_dir = opt.data_dir;
    t.train_size = plan.train_size;
    t.val_size = plan.val_size;
    t.bits = bits;
    t.seeds = plan.seeds;
    t.epochs = plan.epochs;
    t.mode = opt.mode;
    t.lr = opt.lr;
    t.out_dir = (dir / "train" / model).string();
    t.resume = true;  // a rerun into the same --out continues interrupted runs and skips finished ones
    t.common = common_for(opt, {}, "table");
    run_train(t, sub);
    summaries.push_back(read_json(dir / "train" / model / "summary.json"));
  }

  // Theory and simulation on the first model's FP32 network of the first seed.
  const std::string model0 = plan.models.front();
  const fs::path onnx = dir / "train" / model0 / (model0 + "_fp32_s" + std::to_string(opt.seed)) / "model.onnx";
  DataArgs calib;
  calib.data = calib_data;
  calib.data_dir = opt.data_dir;
  calib.samples = plan.samples;
  steps.begin(3, "theory: first-order prediction on " + onnx.string() + " -> theory.json");
  TheoryOptions th;
  th.common = common_for(opt, dir / "theory.json");
  th.model.model = onnx.string();
  th.data = calib;
  run_theory(th, sub);

  steps.begin(4, "simulate: Monte Carlo to RSE " + std::to_string(plan.target_rse).substr(0, 4) + " (at most " +
                     std::to_string(plan.max_draws) + " draws) -> simulate.json");
  SimulateOptions sim;
  sim.common = common_for(opt, dir / "simulate.json");
  sim.model.model = onnx.string();
  sim.data = calib;
  sim.target_rse = plan.target_rse;
  sim.max_draws = plan.max_draws;
  run_simulate(sim, sub);

  steps.begin(5, "validate: theory vs simulate -> validation.json, validation.txt; claims -> claims.json");
  ValidateOptions val;
  val.predicted = (dir / "theory.json").string();
  val.measured = (dir / "simulate.json").string();
  val.common = common_for(opt, dir / "validation.txt", "table");
  run_validate(val, sub);
  val.common = common_for(opt, dir / "validation.json");
  run_validate(val, sub);  // exit 1 on disagreement is a result (claim C2), not a failure of the study

  Report claims;
  claims.context.command = "reproduce";
  claims.context.seed = opt.seed;
  claims.context.threads = ThreadScope(opt.threads).threads();
  auto list =
      nlohmann::json::array({claim_c1(read_json(dir / "noise.json")), claim_c2(read_json(dir / "validation.json")),
                             claim_c3(summaries), claim_c4(summaries), claim_c5(summaries)});
  claims.document = {{"quick", opt.quick},
                     {"models", plan.models},
                     {"seeds", plan.seeds},
                     {"epochs", plan.epochs},
                     {"train_size", plan.train_size},
                     {"mode", opt.mode},
                     {"lr", opt.lr},
                     {"claims", list}};
  claims.table.columns = {"claim", "verdict", "evidence"};
  for (const auto& c : list)
    claims.table.add_row({c["id"].get<std::string>(), c["verdict"].get<std::string>(), c["reason"].get<std::string>()});
  if (opt.mode != "qat")
    claims.notes.push_back("# the quantized runs trained with --mode " + opt.mode +
                           " (C3-C5 are about these runs, not about plain qat)");
  const int n_seeds = static_cast<int>(std::count(plan.seeds.begin(), plan.seeds.end(), ',')) + 1;
  if (n_seeds < 2)
    claims.notes.push_back(
        "# one seed: C3-C5 need several seeds to separate the effect from seed noise "
        "(inconclusive here); run without --quick for 3 seeds");
  claims.notes.push_back("# results in " + opt.out + ": noise.json, train/<model>/, theory.json, simulate.json, " +
                         "validation.json/.txt, claims.json, figures/ (redraw: qreg plot --in " + opt.out +
                         " --out DIR)");
  write_report_file(claims, Format::Json, (dir / "claims.json").string());

  steps.begin(6, "figures: qreg plot of the files above -> figures/*.png (+ the .gp scripts that redraw them)");
  PlotOptions plot;
  plot.in = dir.string();
  plot.out = (dir / "figures").string();
  Output quiet{sink, sink, false};
  run_plot(plot, quiet);
  claims.notes.push_back("# finished in " + std::to_string(steps.elapsed()) + " s");
  write_report(claims, Format::Table, io.out);
  return 0;
}

void add_reproduce_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<ReproduceOptions>();
  auto* cmd = app.add_subcommand("reproduce", "The whole paper-style study (main job)");
  cmd->add_flag("--quick", opt->quick, "One seed, MLP, 10k samples, 3 epochs: a few minutes on 2 cores");
  cmd->add_option("--out", opt->out, "Output folder")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "First seed (training, theory probes, simulation)")->capture_default_str();
  cmd->add_option("--threads", opt->threads, "Worker threads (0 = all)")->capture_default_str();
  cmd->add_option("--backend", opt->backend, "Compute backend: cpu (see `qreg backends`)")->capture_default_str();
  cmd->add_option("--models", opt->models, "Override: built-in models to train, e.g. mlp,cnn");
  cmd->add_option("--widths", opt->widths, "Override: layer widths of the built-in mlp");
  cmd->add_option("--bits", opt->bits, "Override: training bit widths (default 32,8,4,2; claims need these)");
  cmd->add_option("--seeds", opt->seeds, "Override: number of seeds")->check(CLI::PositiveNumber);
  cmd->add_option("--epochs", opt->epochs, "Override: epochs per run")->check(CLI::PositiveNumber);
  cmd->add_option("--train-size", opt->train_size, "Override: training samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--val-size", opt->val_size, "Override: validation samples (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--samples", opt->samples, "Override: theory/simulate samples")->check(CLI::PositiveNumber);
  cmd->add_option("--max-draws", opt->max_draws, "Override: cap on Monte Carlo draws")->check(CLI::PositiveNumber);
  cmd->add_option("--noise-size", opt->noise_size, "Override: weights in the noise study")->check(CLI::PositiveNumber);
  cmd->add_option("--mode", opt->mode,
                  "How the quantized runs train, as qreg train --mode: qat (fixed max-calibrated step, the "
                  "default), lsq (learned step), noise or gaussian (noise injection instead of quantization)")
      ->check(CLI::IsMember({"qat", "lsq", "noise", "gaussian"}))
      ->capture_default_str();
  cmd->add_option("--lr", opt->lr, "Learning rate of every run (SGD with momentum 0.9, constant)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--data", opt->data, "Override: training data spec (default fashion-mnist:train)");
  cmd->add_option("--val-data", opt->val_data, "Override: validation/calibration data (default fashion-mnist:test)");
  cmd->add_option("--data-dir", opt->data_dir, "Fashion-MNIST folder");
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_reproduce(*opt, io); }; });
}

}  // namespace qreg::cli
