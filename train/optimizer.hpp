// Optimizers over a ParamSet: SGD with momentum (PyTorch semantics, L2 weight decay added to the
// gradient) and AdamW (decoupled weight decay). Only trainable parameters move (batch-norm
// running statistics are left alone). The state is plain tensors so checkpoints can store it.
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
  /// State buffers are shaped like `graph.values`; throws UsageError for a negative lr/decay or
  /// momentum/betas outside [0, 1).
  Optimizer(const OptimizerConfig& cfg, const Graph& graph);

  /// One update of `params` with `grads` (indexed like graph.params) at learning rate `lr`.
  ///   SGD:   g = ∇ + wd·w;  v = μ·v + g;  w −= lr·v
  ///   AdamW: w −= lr·wd·w;  m = β1·m + (1−β1)·∇;  v = β2·v + (1−β2)·∇²;
  ///          w −= lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
  void step(ParamSet& params, const ParamSet& grads, double lr);

  /// SGD: one velocity per parameter. AdamW: first moments then second moments (2 per parameter).
  std::vector<Tensor>& state() { return state_; }
  const std::vector<Tensor>& state() const { return state_; }
  /// Updates taken so far (AdamW's t).
  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }

 private:
  OptimizerConfig cfg_;
  std::vector<bool> trainable_;
  std::vector<Tensor> state_;
  std::int64_t steps_ = 0;
};

}  // namespace qreg
