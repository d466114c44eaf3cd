// Runs a Graph: batched forward passes with any parameter set, and backward passes
// (vector-Jacobian products) from seeds at any values to parameters, values and the input.
// One executor per thread; it owns the activation and gradient buffers of the last pass.
#pragma once

#include <utility>
#include <vector>

#include "core/graph.hpp"

namespace qreg {

class Executor {
 public:
  explicit Executor(const Graph& graph);

  /// Forward pass of x [N, input_shape...] with `params` (indexed like graph.params).
  /// training: batch norm uses batch statistics (train); otherwise running statistics.
  /// Returns the output value [N, ...]; every value stays readable through value().
  const Tensor& forward(const Tensor& x, const ParamSet& params, bool training = false);
  const Tensor& forward(const Tensor& x) { return forward(x, graph_.values); }

  /// Value `id` of the last forward, [N, value_shapes[id]...].
  const Tensor& value(int id) const;

  /// Backward through the last forward. `seeds` are dL/d(value) for some values (same shape as
  /// the value); the pass accumulates into `param_grads` (resized and zeroed here, indexed like
  /// params) and leaves dL/d(value) of every value readable through grad(); grad(0) is dL/dx.
  void backward(const std::vector<std::pair<int, Tensor>>& seeds, const ParamSet& params, ParamSet& param_grads);

  /// dL/d(value id) from the last backward (zero tensor for values the seeds do not reach).
  const Tensor& grad(int id) const;

  const Graph& graph() const { return graph_; }

 private:
  const Graph& graph_;
  std::vector<Tensor> values_, grads_;
  std::vector<std::vector<Tensor>> saved_;  // per node: what its backward needs (masks, batch stats)
};

/// Mean softmax cross-entropy of logits [N, C] against labels; when `grad` is given it receives
/// dL/dlogits [N, C] of the mean loss. Numerically stable (log-sum-exp).
double cross_entropy(const Tensor& logits, const std::vector<std::int32_t>& labels, Tensor* grad = nullptr);

}  // namespace qreg
