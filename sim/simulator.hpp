// The Monte Carlo simulator: per quantized layer and bit width, the noise variance that sampled
// weight noise causes at the layer's output (pre-activation), with its standard error and a
// confidence interval, the loss increase, and the SQNR. See docs/sim.md for the estimators.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/graph.hpp"
#include "core/quantizer.hpp"
#include "sim/estimate.hpp"
#include "sim/noise.hpp"

namespace qreg::sim {

struct SimOptions {
  std::vector<int> bits{8};  // each in [2, 16]
  NoiseKind noise = NoiseKind::Uniform;
  NoiseMode mode = NoiseMode::Joint;
  Granularity granularity = Granularity::Tensor;
  std::uint64_t seed = 1;
  std::int64_t draws = 64;        // draws when target_rse == 0 (at least 2)
  double target_rse = 0;          // > 0: draw in rounds until every layer's noise_var RSE < target
  std::int64_t min_draws = 16;    // first round with target_rse
  std::int64_t max_draws = 4096;  // cap with target_rse
  std::int64_t batch = 64;        // calibration samples per forward pass (64: fastest measured, docs/sim.md)
  double confidence = 0.95;       // of ci_low/ci_high
  /// Where a layer's input carries no noise in a measurement and its patches are few (a first
  /// conv), Σ(Δy)² is δᵀGδ with G the clean inputs' patch Gram matrix, exactly (docs/sim.md);
  /// false streams every layer's outputs (kept for the tests that compare the two).
  bool gram = true;
  /// Called after each round of draws (target_rse) with the draws so far and the largest RSE.
  std::function<void(std::int64_t draws, double max_rse)> progress;
};

struct LayerResult {
  int index = 0;  // 0-based in graph order of the quantized nodes
  int node = -1;
  std::string name;
  OpType op = OpType::Gemm;
  double step = 0;                            // √(12·weight_noise_var): Δ per tensor, the RMS of Δ_c per channel
  double weight_noise_var = 0;                // mean over output channels of Δ_c²/12
  double signal_power = 0;                    // mean over samples and output elements of y² (clean network)
  MeanEstimate noise;                         // noise_var: mean over draws of v_d (simulator.cpp)
  double sqnr_db = 0;                         // 10·log10(signal_power / noise.mean)
  std::optional<MeanEstimate> loss_increase;  // isolated mode: with only this layer noisy
};

struct BitsResult {
  int bits = 8;
  std::optional<MeanEstimate> loss_increase;  // E[L(W+δ)] − L(W); isolated: Σ over layers; none unlabelled
  std::vector<LayerResult> layers;
};

struct SimResult {
  std::int64_t draws = 0;
  std::int64_t samples = 0;
  double clean_loss = 0;            // L(W), NaN when the data has no labels
  double max_rse = 0;               // largest noise_var RSE over bits and layers
  bool converged = true;            // target_rse reached (always true without a target)
  std::vector<BitsResult> results;  // in the order of opt.bits
};

/// Runs the simulation of `params` (indexed like graph.params) on the calibration set `data`
/// (inputs [N, input_shape...]; labels optional). Draws run in parallel (TBB), each from its own
/// stream (seed, draw); results are bitwise identical for any thread count. Throws UsageError for
/// bad options, Error for a graph without quantized layers or data that does not fit it.
SimResult simulate(const Graph& graph, const ParamSet& params, const Dataset& data, const SimOptions& opt);

}  // namespace qreg::sim
