#include "train/run_folder.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "core/error.hpp"
#include "core/onnx_export.hpp"
#include "train/checkpoint.hpp"

namespace qreg {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

RunOutcome outcome(const std::string& name, const TrainState& s) {
  RunOutcome o;
  o.name = name;
  o.status = s.status;
  o.epochs = s.epoch;
  o.note = s.note;
  for (const EpochMetrics& m : s.metrics) o.best_val_accuracy = std::max(o.best_val_accuracy, m.val_accuracy);
  if (!s.metrics.empty()) {
    o.final_val_accuracy = s.metrics.back().val_accuracy;
    o.final_gap = s.metrics.back().gap();
  }
  return o;
}

void print_progress(std::ostream& os, const std::string& name, const TrainState& s, int epochs) {
  const EpochMetrics& m = s.metrics.back();
  char line[256];
  std::snprintf(line, sizeof line,
                "%s epoch %d/%d  lr %.4g  train loss %.4f acc %.4f  val loss %.4f acc %.4f  gap %+.4f  %.1f s\n",
                name.c_str(), m.epoch, epochs, m.lr, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy,
                m.gap(), m.seconds);
  os << line << std::flush;
}

void save_all(const RunRequest& req, const Checkpoint& ckpt, const std::vector<int>& layer_bits) {
  json run = req.info;
  run["config"] = ckpt.config;
  run["layer_bits"] = layer_bits;  // bits of every quantized layer (32: float)
  run["status"] = run_status_name(ckpt.state.status);
  run["epochs_done"] = ckpt.state.epoch;
  run["note"] = ckpt.state.note;
  write_metrics_files(req.dir, req.context, run, ckpt.state.metrics);
  save_checkpoint(req.dir / "checkpoint.bin", ckpt);
}

void add_prediction(const NoisePredictor& predict, TrainState& s) {
  std::vector<LayerProbe>& layers = s.metrics.back().layers;
  const std::vector<double> predicted = predict(s.params, layers);
  if (predicted.empty()) return;
  QREG_ASSERT(predicted.size() == layers.size(), "train: the noise predictor returned the wrong number of layers");
  for (std::size_t l = 0; l < layers.size(); ++l) layers[l].predicted_noise_var = predicted[l];
}

}  // namespace

RunOutcome run_in_folder(const RunRequest& req, const Graph& graph, const Dataset& train_data, const Dataset& val_data,
                         std::ostream& progress) {
  const std::string name = req.dir.filename().string();
  const fs::path ckpt_path = req.dir / "checkpoint.bin";
  Checkpoint ckpt{to_json(req.config), {}};
  const std::vector<int> layer_bits = WeightBuilder(graph, req.config.weights).layer_bits();  // checks overrides
  if (fs::exists(ckpt_path)) {
    if (!req.resume)
      throw UsageError(req.dir.string() +
                       ": holds a training checkpoint; pass --resume to continue, or use another --out");
    Checkpoint saved = load_checkpoint(ckpt_path);
    if (saved.config != ckpt.config)
      throw Error(ckpt_path.string() + ": checkpoint was written with another configuration: " + saved.config.dump());
    ckpt.state = std::move(saved.state);
    if (ckpt.state.status != RunStatus::Running) {
      RunOutcome o = outcome(name, ckpt.state);
      o.skipped = true;
      return o;
    }
    if (ckpt.state.params.size() != graph.values.size())
      throw Error(ckpt_path.string() + ": checkpoint parameters do not match the model");
  } else {
    fs::create_directories(req.dir);
    ckpt.state = initial_state(graph, req.config);
  }
  int this_call = 0;
  train(graph, train_data, val_data, req.config, ckpt.state, [&](const TrainState& s) {
    if (req.predict_noise) add_prediction(req.predict_noise, ckpt.state);
    // The model file comes before the checkpoint that marks the run completed, so a run that a
    // resume skips always has its model.onnx.
    if (s.status == RunStatus::Completed)
      export_onnx(graph, deployed_weights(graph, s.params, req.config.weights, s.lsq_steps),
                  (req.dir / "model.onnx").string());
    save_all(req, ckpt, layer_bits);
    print_progress(progress, name, s, req.config.epochs);
    return req.max_epochs <= 0 || ++this_call < req.max_epochs;
  });
  if (ckpt.state.status == RunStatus::Diverged) {
    progress << name << " diverged: " << ckpt.state.note << "\n";
    save_all(req, ckpt, layer_bits);  // status diverged, metrics of the completed epochs; a resume skips it
  }
  return outcome(name, ckpt.state);
}

}  // namespace qreg
