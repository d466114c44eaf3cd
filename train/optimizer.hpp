// Optimizers over a ParamSet: SGD with momentum (PyTorch semantics, L2 weight decay added to the
// gradient) and AdamW (decoupled weight decay). Only trainable parameters move (batch-norm
// running statistics are left alone). Extra tensors (LSQ's learned steps) are optimized alongside,
// without weight decay. The state is plain tensors so checkpoints can store it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/graph.hpp"

namespace qreg {

enum class OptimizerKind { Sgd, AdamW };
/// "sgd" | "adamw"; UsageError otherwise.
OptimizerKind parse_optimizer(std::string_view text);
const char* optimizer_name(OptimizerKind kind);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double lr = 0.05;                               // base learning rate (the schedule scales it)
  double momentum = 0.9;                          // SGD momentum μ
  double weight_decay = 0.0;                      // SGD: g += wd·w; AdamW: w −= lr·wd·w
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // AdamW
};

class Optimizer {
 public:
  /// State buffers are shaped like `graph.values`, then like `extra`; throws UsageError for a
  /// negative lr/decay or momentum/betas outside [0, 1).
  Optimizer(const OptimizerConfig& cfg, const Graph& graph, const std::vector<Shape>& extra = {});

  /// One update of `params` with `grads` (indexed like graph.params) at learning rate `lr`.
  ///   SGD:   g = ∇ + wd·w;  v = μ·v + g;  w −= lr·v
  ///   AdamW: w −= lr·wd·w;  m = β1·m + (1−β1)·∇;  v = β2·v + (1−β2)·∇²;
  ///          w −= lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
  /// Returns whether every updated value is finite (the trainer's divergence check, fused into
  /// the update's single pass). Elements are updated in parallel chunks: each element's update is
  /// independent of the others, so results do not depend on the thread count.
  bool step(ParamSet& params, const ParamSet& grads, double lr);
  /// The same update for `params` and the `extra` tensors (shaped as in the constructor, wd = 0).
  bool step(ParamSet& params, const ParamSet& grads, std::vector<Tensor>& extra, const std::vector<Tensor>& extra_grads,
            double lr);

  /// SGD: one velocity per parameter, then per extra tensor. AdamW: first moments (parameters,
  /// extras) then second moments (parameters, extras).
  std::vector<Tensor>& state() { return state_; }
  const std::vector<Tensor>& state() const { return state_; }
  /// Updates taken so far (AdamW's t).
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }

 private:
  OptimizerConfig cfg_;
  std::vector<bool> trainable_;  // per graph parameter
  std::size_t extra_ = 0;        // number of extra tensors
  std::vector<Tensor> state_;
  std::int64_t steps_ = 0;
};

}  // namespace qreg
