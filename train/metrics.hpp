// Per-epoch training metrics and the run's metrics files (metrics.csv, metrics.json), both
// written atomically and opening with the run context.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

#include "core/report.hpp"
#include "train/probe.hpp"

namespace qreg {

struct EpochMetrics {
  int epoch = 0;                                  // 1-based: metrics after `epoch` epochs
  double lr = 0.0;                                // learning rate of the epoch's last step
  double train_loss = 0.0, train_accuracy = 0.0;  // deployed weights, whole training set, after the epoch
  double batch_loss = 0.0;  // mean of the epoch's minibatch losses (forward weights, as optimized)
  double val_loss = 0.0, val_accuracy = 0.0;
  double seconds = 0.0;  // wall time of the epoch (training + measurement); not part of determinism
  std::vector<LayerProbe> layers;

  double gap() const { return val_loss - train_loss; }  // generalization gap (loss, nats)
  double accuracy_gap() const { return train_accuracy - val_accuracy; }
};

nlohmann::json to_json(const EpochMetrics& m);
EpochMetrics epoch_metrics_from_json(const nlohmann::json& j);

/// The per-epoch table: epoch, lr, losses, accuracies, gaps, seconds, then per layer l:
/// l<l>_bits, l<l>_step (Δ, or mean Δ over channels), l<l>_weight_noise_var, l<l>_noise_var,
/// l<l>_predicted_noise_var (empty: theory's hook), l<l>_weight_min, l<l>_weight_max.
Table metrics_table(const std::vector<EpochMetrics>& epochs);

/// Writes dir/metrics.csv and dir/metrics.json ({"run": run, "epochs": [...]} after the context).
void write_metrics_files(const std::filesystem::path& dir, const RunContext& context, const nlohmann::json& run,
                         const std::vector<EpochMetrics>& epochs);

}  // namespace qreg
