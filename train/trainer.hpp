// The training loop over the engine: seeded shuffling, minibatch SGD/AdamW on float shadow
// weights with the forward pass at the mode's weights (FP32, QAT with the straight-through
// estimator, LSQ, uniform or Gaussian weight noise), per-epoch evaluation and noise probing.
// Deterministic: the same config and seed give bitwise the same state for any thread count.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/graph.hpp"
#include "train/metrics.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"
#include "train/weight_modes.hpp"

namespace qreg {

struct TrainConfig {
  WeightModeConfig weights;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int epochs = 10;
  std::int64_t batch = 128;       // the last batch of an epoch may be smaller
  std::uint64_t seed = 1;         // shuffle and noise streams (the model's init seed is separate)
  std::int64_t probe_size = 256;  // first samples of the validation set used to probe layer noise
  std::int64_t eval_batch = 256;  // chunk size of evaluate()
  int act_bits = 32;              // activation quantization after every Relu; 32 = off (train/regularizers.hpp)
  double dropout = 0.0;           // dropout after every hidden Relu; 0 = off. The graph must carry both ops
};
/// Everything that determines the result (a resumed run must match it exactly).
nlohmann::json to_json(const TrainConfig& cfg);

enum class RunStatus { Running, Completed, Diverged };
const char* run_status_name(RunStatus status);
RunStatus parse_run_status(const std::string& text);  // Error on an unknown name

/// Where a run stands after a whole number of epochs (what a checkpoint holds).
struct TrainState {
  int epoch = 0;  // completed epochs; the next epoch's RNG streams derive from this
  RunStatus status = RunStatus::Running;
  ParamSet params;                      // float shadow parameters (and batch-norm running statistics)
  std::vector<Tensor> lsq_steps;        // lsq: learned step per quantized layer [groups]; else empty
  std::vector<Tensor> optimizer_state;  // see Optimizer::state() (extras: the lsq steps)
  std::int64_t optimizer_steps = 0;
  std::vector<EpochMetrics> metrics;  // one per completed epoch
  std::string note;                   // e.g. where a run diverged
};

/// The state before training: the graph's default parameters and a zero optimizer state.
TrainState initial_state(const Graph& graph, const TrainConfig& cfg);

/// Trains from `state` until cfg.epochs epochs are done, the loss or a weight turns NaN/Inf
/// (status Diverged; the epoch in progress is dropped), or `on_epoch` returns false. `on_epoch` is
/// called after every completed epoch with the new state. Throws Error when the data do not fit
/// the graph (shape, labels) and UsageError for a bad config (batch, epochs, bits).
void train(const Graph& graph, const Dataset& train_data, const Dataset& val_data, const TrainConfig& cfg,
           TrainState& state, const std::function<bool(const TrainState&)>& on_epoch = {});

}  // namespace qreg
