// `qreg train`: a sweep of training runs (bits × seeds), one folder per run under --out, with
// per-epoch metrics, checkpoints and resume (train/run_folder.hpp), and a summary table at the end.
#include <filesystem>
#include <ostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/model_data.hpp"
#include "cli/noise_predictor.hpp"
#include "cli/runs.hpp"
#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "core/quantize_graph.hpp"
#include "train/regularizers.hpp"
#include "train/run_folder.hpp"

namespace qreg::cli {

namespace {

std::vector<std::int64_t> parse_int_list(const std::string& text, const char* option) {
  std::vector<std::int64_t> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, end - pos);
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0)
      throw UsageError(std::string(option) + ": '" + item + "' is not a non-negative integer");
    out.push_back(v);
    pos = end + 1;
  }
  return out;
}

std::string model_stem(const std::string& model) {
  return model == "mlp" || model == "cnn" ? model : std::filesystem::path(model).stem().string();
}

Graph build_base_model(const TrainOptions& opt, std::uint64_t seed) {
  if (opt.model == "mlp") return make_mlp(parse_int_list(opt.widths, "--widths"), seed);
  return load_model({opt.model, seed});
}

/// The model with --act-bits / --dropout nodes (train/regularizers.hpp).
Graph build_model(const TrainOptions& opt, std::uint64_t seed) {
  return training_graph(build_base_model(opt, seed), opt.act_bits, opt.dropout);
}

/// "_a<bits>" and "_d<ratio>" when activation quantization / dropout are on.
std::string activation_suffix(const TrainOptions& opt) {
  std::ostringstream os;
  if (opt.act_bits != kFloatBits) os << "_a" << opt.act_bits;
  if (opt.dropout > 0.0) os << "_d" << opt.dropout;
  return os.str();
}

TrainConfig run_config(const TrainOptions& opt, int bits, std::uint64_t seed) {
  TrainConfig c;
  // fp32 runs do not depend on the mode: they share one folder and one config.
  c.weights = {bits == kFloatBits ? TrainMode::Qat : parse_train_mode(opt.mode), bits,
               parse_granularity(opt.granularity)};
  if (bits != kFloatBits) c.weights.layer_bits = parse_layer_bits(opt.layer_bits);  // fp32 stays the baseline
  c.optimizer.kind = parse_optimizer(opt.optimizer);
  c.optimizer.lr = opt.lr;
  c.optimizer.momentum = opt.momentum;
  c.optimizer.weight_decay = opt.weight_decay;
  c.schedule.kind = parse_schedule(opt.schedule);
  c.epochs = opt.epochs;
  c.batch = opt.batch;
  c.seed = seed;
  c.probe_size = opt.probe_size;
  c.act_bits = opt.act_bits;
  c.dropout = opt.dropout;
  return c;
}

std::string run_name(const TrainOptions& opt, int bits, std::uint64_t seed) {
  std::string name = model_stem(opt.model) + "_";
  if (bits != kFloatBits && opt.mode != "qat") name += opt.mode + "_";
  name += bits == kFloatBits ? "fp32" : "b" + std::to_string(bits);
  const std::string layers = bits == kFloatBits ? "" : layer_bits_label(parse_layer_bits(opt.layer_bits));
  return name + (layers.empty() ? "" : "_" + layers) + activation_suffix(opt) + "_s" + std::to_string(seed);
}

}  // namespace

int run_train(const TrainOptions& opt, Output& io) {
  check_backend(opt.common, "train");
  const auto bits_list = parse_bits_list(opt.bits);
  const auto seeds = parse_int_list(opt.seeds, "--seeds");
  run_config(opt, 8, 0);  // validates the names and --layer-bits before any data is loaded
  parse_train_mode(opt.mode);
  const ThreadScope threads(opt.common.threads);
  const Graph probe_graph = build_model(opt, 1);
  run_config(opt, 8, 0).weights.resolve(quantized_layers(probe_graph).size());  // --layer-bits fits the model
  const Dataset train_data = load_model_data({opt.data, opt.data_dir, "", opt.train_size}, probe_graph);
  const Dataset val_data = load_model_data({opt.val_data, opt.data_dir, "", opt.val_size}, probe_graph);
  std::filesystem::create_directories(opt.out_dir);

  Report summary;
  summary.context.command = "train";
  summary.context.threads = threads.threads();
  summary.table.columns = {
      "run", "mode", "bits", "seed", "status", "epochs", "final_val_accuracy", "best_val_accuracy", "final_gap"};
  auto runs = nlohmann::json::array();
  for (std::int64_t seed : seeds) {
    for (int bits : bits_list) {
      const auto useed = static_cast<std::uint64_t>(seed);
      const Graph graph = build_model(opt, useed);  // built-in models: initialised from the run's seed
      RunRequest req;                               // after the graph: its noise predictor refers to it
      req.dir = std::filesystem::path(opt.out_dir) / run_name(opt, bits, useed);
      req.config = run_config(opt, bits, useed);
      req.resume = opt.resume;
      req.context = {"train", "cpu", threads.threads(), useed};
      req.info = {{"model", opt.model},        {"data", train_data.name},        {"train_samples", train_data.size()},
                  {"val_data", val_data.name}, {"val_samples", val_data.size()}, {"act_bits", opt.act_bits},
                  {"dropout", opt.dropout}};
      if (opt.predict) req.predict_noise = first_order_noise_predictor(graph, val_data, opt.probe_size);
      const RunOutcome o = run_in_folder(req, graph, train_data, val_data, io.err);
      const char* mode = train_mode_name(req.config.weights.mode);
      const std::string label = bits == kFloatBits ? "fp32" : mode;
      summary.table.add_row({o.name, label, bits_label(bits), seed, std::string(run_status_name(o.status)),
                             std::int64_t{o.epochs}, o.final_val_accuracy, o.best_val_accuracy, o.final_gap});
      runs.push_back({{"run", o.name},
                      {"mode", label},
                      {"bits", bits},
                      {"layer_bits", req.config.weights.layer_bits},
                      {"seed", seed},
                      {"act_bits", opt.act_bits},
                      {"dropout", opt.dropout},
                      {"status", run_status_name(o.status)},
                      {"epochs", o.epochs},
                      {"skipped", o.skipped},
                      {"final_val_accuracy", o.final_val_accuracy},
                      {"best_val_accuracy", o.best_val_accuracy},
                      {"final_gap", o.final_gap},
                      {"note", o.note}});
    }
  }
  summary.document = {
      {"model", opt.model}, {"out", opt.out_dir}, {"act_bits", opt.act_bits}, {"dropout", opt.dropout}, {"runs", runs}};
  summary.notes.push_back("gap = val_loss - train_loss after the last epoch; per-epoch metrics in " + opt.out_dir +
                          "/<run>/metrics.csv");
  write_report_file(summary, Format::Csv, (std::filesystem::path(opt.out_dir) / "summary.csv").string());
  write_report_file(summary, Format::Json, (std::filesystem::path(opt.out_dir) / "summary.json").string());
  CommonOptions console = opt.common;
  console.out.clear();
  emit_report(summary, console, io);
  return 0;
}

void add_train_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand("train", "QAT / noise-injection training sweeps with per-epoch noise measurement");
  cmd->add_option("--model", opt->model, "Model: mlp, cnn, or an ONNX file (trained from its weights)")->required();
  cmd->add_option("--widths", opt->widths, "Layer widths of the built-in mlp")->capture_default_str();
  cmd->add_option("--data", opt->data, "Training data spec (see docs/datasets.md)")->capture_default_str();
  cmd->add_option("--val-data", opt->val_data, "Validation data spec")->capture_default_str();
  cmd->add_option("--data-dir", opt->data_dir,
                  "Fashion-MNIST folder (default $QREG_DATA_DIR or " + std::string(kDefaultDataDir) + ")");
  cmd->add_option("--train-size", opt->train_size, "Use the first N training samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--val-size", opt->val_size, "Use the first N validation samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--bits", opt->bits, "Bit widths, 2..16; 32 or fp32 = float training")->capture_default_str();
  cmd->add_option("--seeds", opt->seeds, "Seeds (init of built-in models, shuffling, noise)")->capture_default_str();
  cmd->add_option("--layer-bits", opt->layer_bits,
                  "Per-layer bits overriding --bits in the quantized runs: LAYER:BITS,... with LAYER the "
                  "0-based index of a quantized layer (Gemm/MatMul/Conv, graph order) and BITS 2..16 or 32 "
                  "(layer kept float), e.g. 0:8,2:8; the fp32 run stays the float baseline");
  cmd->add_option("--mode", opt->mode,
                  "qat (STE), lsq (learned step size), noise (U(-Δ/2, Δ/2)), gaussian (N(0, Δ²/12))")
      ->check(CLI::IsMember({"qat", "lsq", "noise", "gaussian"}))
      ->capture_default_str();
  cmd->add_option("--granularity", opt->granularity, "Step per tensor or per output channel")
      ->check(CLI::IsMember({"tensor", "channel"}))
      ->capture_default_str();
  cmd->add_option("--act-bits", opt->act_bits,
                  "Quantize activations after every Relu to 2..16 bits (unsigned, per tensor, running max); 32 = off")
      ->capture_default_str();
  cmd->add_option("--dropout", opt->dropout, "Dropout ratio after every hidden Relu, 0 <= P < 1; 0 = off")
      ->capture_default_str();
  cmd->add_option("--epochs", opt->epochs, "Epochs per run")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", opt->lr, "Base learning rate")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--momentum", opt->momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  cmd->add_option("--optimizer", opt->optimizer, "sgd or adamw")
      ->check(CLI::IsMember({"sgd", "adamw"}))
      ->capture_default_str();
  cmd->add_option("--weight-decay", opt->weight_decay, "L2 (sgd) / decoupled (adamw) weight decay")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--schedule", opt->schedule, "constant, step (x0.1 every epochs/3) or cosine")
      ->check(CLI::IsMember({"constant", "step", "cosine"}))
      ->capture_default_str();
  cmd->add_option("--batch", opt->batch, "Minibatch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--probe-size", opt->probe_size, "Validation samples of the per-epoch noise probe")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--out", opt->out_dir, "Sweep folder: one sub-folder per run, summary.csv/json")->required();
  cmd->add_flag("!--no-predict", opt->predict,
                "Skip theory's per-epoch first-order prediction of each layer's probe noise "
                "(metrics column l<k>_predicted_noise_var)");
  cmd->add_flag("--resume", opt->resume, "Continue interrupted runs from their checkpoints; skip finished ones");
  add_format_option(*cmd, opt->common);
  add_threads_option(*cmd, opt->common);
  add_backend_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_train(*opt, io); }; });
}

}  // namespace qreg::cli
