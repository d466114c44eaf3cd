// One training run in its own folder: checkpoint.bin after every epoch, metrics.csv and
// metrics.json (with the run context), and model.onnx (the deployed weights) when the run
// completes; a progress line per epoch. Resuming continues from the last checkpoint and
// loses at most the epoch that was in progress.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iosfwd>
#include <string>

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

struct RunRequest {
  std::filesystem::path dir;  // the run folder (created; its parent must exist)
  TrainConfig config;
  RunContext context;   // opens every metrics file
  nlohmann::json info;  // model, data, ... stored in metrics.json under "run"
  bool resume = false;  // continue from dir/checkpoint.bin; skip a finished run
  int max_epochs = 0;   // stop after this many epochs in this call (0: none); simulates an interruption
};

/// Runs (or resumes) one training run. Throws UsageError when the folder already holds a
/// checkpoint and resume is off, Error when a checkpoint's config differs from `config`.
/// A diverged run is a result (status Diverged), not an exception.
RunOutcome run_in_folder(const RunRequest& req, const Graph& graph, const Dataset& train_data, const Dataset& val_data,
                         std::ostream& progress);

}  // namespace qreg
