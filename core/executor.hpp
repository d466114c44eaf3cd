// Runs a Graph: batched forward passes with any parameter set, and backward passes
// (vector-Jacobian products) from seeds at any values to parameters, values and the input.
// One executor per thread; it owns the activation and gradient buffers of the last pass and
// reuses them while the batch size repeats. Results are bitwise identical for any thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "core/graph.hpp"

namespace qreg {

namespace ops {
struct NodeState;
}

/// What a backward pass computes (Executor::backward). The defaults are the full pass.
struct BackwardOptions {
  /// Compute dL/dx (grad(0)); false saves the first layer's input-gradient GEMM.
  bool input_grad = true;
  /// Write param_grads. false: param_grads is not touched and no weight, bias or batch-norm
  /// parameter gradient is computed (dense and conv layers do only their input-gradient GEMM).
  bool param_grads = true;
  /// Empty: every value. Otherwise only dL/d(value) of these value ids is wanted: the pass runs
  /// only the nodes whose output depends on a wanted value (it stops at the earliest one), and
  /// grad() of a value whose gradient it did not complete throws UsageError (a value that is not
  /// downstream of a wanted one may hold a partial sum). The gradients grad() returns are bitwise
  /// those of the full pass; parameter gradients are those of the full pass only for nodes that
  /// ran (the others stay zero), so combine `wanted` with param_grads = false.
  std::vector<int> wanted;
};

/// What a forward pass keeps (Executor::forward). The defaults are the full pass.
struct ForwardOptions {
  /// Batch norm uses batch statistics (train); otherwise running statistics.
  bool training = false;
  /// Empty (and nothing observed): every value stays readable. Otherwise an inference pass that
  /// needs only these value ids and the graph output afterwards: it may skip writing other values
  /// by fusing their nodes. A ReLU whose only reader is a max-pool runs as a clamp inside the pool
  /// (max and ReLU commute, so the pool's output is bitwise that of the full pass); a conv whose
  /// only reader is such a ReLU streams: each sample's output goes from per-thread scratch (in
  /// cache) to the observer and into the pool, and is never stored. value() of a value the pass did
  /// not write throws UsageError, and so does backward() (it needs every value). Ignored when
  /// training.
  std::vector<int> keep;
  /// Node outputs handed to `observer` during an inference pass (the simulator's noise statistics):
  /// observer(value, s0, s1, rows) gets samples [s0, s1) of the value, sample-major, the same
  /// floats value() would return; every sample exactly once, possibly from several threads at once
  /// (disjoint ranges). An observed value need not be kept.
  std::vector<int> observe;
  std::function<void(int value, std::int64_t s0, std::int64_t s1, const float* rows)> observer;
};

class Executor {
 public:
  /// `graph` must be finalized and outlive the executor.
  explicit Executor(const Graph& graph);
  explicit Executor(Graph&&) = delete;  // the executor keeps a reference: no temporaries
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Forward pass of x [N, input_shape...] with `params` (indexed like graph.params, same shapes).
  /// training: batch norm uses batch statistics (train); otherwise running statistics.
  /// Returns the output value [N, ...]; every value stays readable through value().
  /// Throws Error when x or params do not match the graph.
  const Tensor& forward(const Tensor& x, const ParamSet& params, bool training = false);
  const Tensor& forward(const Tensor& x) { return forward(x, graph_.values); }
  /// The same with options (ForwardOptions): an inference pass that keeps only the values a
  /// caller reads (the simulator: the quantized layers' outputs). Throws UsageError for a kept id
  /// out of range.
  const Tensor& forward(const Tensor& x, const ParamSet& params, const ForwardOptions& opt);

  /// Value `id` of the last forward, [N, value_shapes[id]...]. Throws UsageError for a value the
  /// last (restricted) forward did not write.
  const Tensor& value(int id) const;

  /// Backward through the last forward, with the same `params`. `seeds` are dL/d(value) for some
  /// values (same shape as the value; seeds at the same value add); the pass writes param_grads
  /// (resized and zeroed here, indexed like params; running statistics get zeros) and leaves
  /// dL/d(value) of every value readable through grad(); grad(0) is dL/dx.
  /// input_grad = false skips dL/dx (grad(0) stays zero), saving a GEMM in training.
  void backward(const std::vector<std::pair<int, Tensor>>& seeds, const ParamSet& params, ParamSet& param_grads,
                bool input_grad = true);
  /// The same with options (BackwardOptions): a pass without parameter gradients, restricted to the
  /// values a caller reads. Throws UsageError for a wanted id out of range.
  void backward(const std::vector<std::pair<int, Tensor>>& seeds, const ParamSet& params, ParamSet& param_grads,
                const BackwardOptions& opt);

  /// dL/d(value id) from the last backward (zero tensor for values the seeds do not reach).
  /// Throws UsageError for a value a restricted backward (BackwardOptions::wanted) did not write.
  const Tensor& grad(int id) const;

  /// After a training forward: running = momentum·running + (1 − momentum)·batch statistic for
  /// every batch-norm node (ONNX momentum attribute, default 0.9; the variance is the unbiased
  /// batch variance, as PyTorch), and the running max of every ActQuant node. No-op after an
  /// inference forward.
  void update_running_stats(ParamSet& params) const;

  /// Philox stream (seed, stream) of the dropout masks of the following training forwards
  /// (core/ops/dropout.cpp); the trainer sets one per step. No effect on graphs without Dropout.
  void set_dropout_stream(std::uint64_t seed, std::uint64_t stream);

  /// Batch size of the last forward (0 before any).
  std::int64_t batch_size() const { return batch_; }
  const Graph& graph() const { return graph_; }

 private:
  void check_input(const Tensor& x, const ParamSet& params) const;
  void plan_forward(const ForwardOptions& opt);
  void forward_node(std::size_t i, const ParamSet& params);
  /// Conv node i streamed into its ReLU → max-pool chain (Step::stream).
  void stream_conv(std::size_t i, const ParamSet& params, const ForwardOptions& opt, bool observed);
  void backward_node(std::size_t i, const ParamSet& params, ParamSet& param_grads, const BackwardOptions& opt);
  /// Input gradient only (BackwardOptions::param_grads == false) of a dense, conv or batch-norm node.

  const Graph& graph_;
  std::int64_t batch_ = 0;
  bool training_ = false;
  std::vector<Tensor> values_, grads_;
  std::vector<char> reached_;                     // per value: a seed reaches it in the last backward
  std::vector<char> written_;                     // per value: the last backward computed its whole gradient
  std::vector<char> run_;                         // per node: scratch, the backward runs it
  enum class Step : char { run, fused, stream };  // a node in the current forward (fused: done by another)
  std::vector<char> relu_into_pool_;              // per node: a ReLU whose only reader is a max-pool
  std::vector<int> pool_relu_input_;              // per node: a max-pool reading such a ReLU: the ReLU's input
  std::vector<std::pair<int, int>> conv_chain_;   // per node: a conv read only by such a ReLU: (ReLU, pool)
  std::vector<Step> steps_;                       // per node, the last forward's plan
  std::vector<char> skipped_;                     // per value: the last forward did not write it
  Tensor scratch_scale_, scratch_bias_;           // batch-norm parameter gradients nobody reads
  std::vector<ops::NodeState> state_;             // per node: what its backward needs (im2col, argmax, batch stats)
};

/// Mean softmax cross-entropy of logits [N, C] against labels in [0, C); when `grad` is given it
/// receives dL/dlogits [N, C] of the mean loss. Numerically stable (log-sum-exp). Throws Error on
/// a label out of range or a label count that differs from N.
double cross_entropy(const Tensor& logits, const std::vector<std::int32_t>& labels, Tensor* grad = nullptr);

}  // namespace qreg
