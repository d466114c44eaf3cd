// One training run in its own folder: checkpoint.bin after every epoch, metrics.csv and
// metrics.json (with the run context), and model.onnx (the deployed weights) when the run
// completes; a progress line per epoch. Resuming continues from the last checkpoint and
// loses at most the epoch that was in progress.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/report.hpp"
#include "train/trainer.hpp"

namespace qreg {

struct RunOutcome {
  std::string name;  // the folder's name
  RunStatus status = RunStatus::Running;
  int epochs = 0;  // completed epochs
  double final_val_accuracy = 0.0, best_val_accuracy = 0.0;
  double final_gap = 0.0;  // val_loss − train_loss after the last completed epoch
  bool skipped = false;    // already finished before this call (resume)
  std::string note;
};

/// Theory's predicted noise variance per quantized layer (graph order) for the shadow weights
/// after an epoch and the steps Δ the probe measured (`layers`); an empty result means "no
/// prediction" (e.g. bits 32). train may not include theory (DESIGN.md layering): the caller
/// supplies the predictor. It must be deterministic so that a resumed run matches.
using NoisePredictor =
    std::function<std::vector<double>(const ParamSet& shadow, const std::vector<LayerProbe>& layers)>;

struct RunRequest {
  std::filesystem::path dir;  // the run folder (created; its parent must exist)
  TrainConfig config;
  RunContext context;            // opens every metrics file
  nlohmann::json info;           // model, data, ... stored in metrics.json under "run"
  bool resume = false;           // continue from dir/checkpoint.bin; skip a finished run
  int max_epochs = 0;            // stop after this many epochs in this call (0: none); simulates an interruption
  NoisePredictor predict_noise;  // optional: fills each epoch's LayerProbe::predicted_noise_var
};

/// Runs (or resumes) one training run. Throws UsageError when the folder already holds a
/// checkpoint and resume is off, Error when a checkpoint's config differs from `config`.
/// A diverged run is a result (status Diverged), not an exception.
RunOutcome run_in_folder(const RunRequest& req, const Graph& graph, const Dataset& train_data, const Dataset& val_data,
                         std::ostream& progress);

}  // namespace qreg
