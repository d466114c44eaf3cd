// The executor: walks the nodes in graph order for forward and in reverse for backward,
// dispatching once per node to the batched kernels in core/ops/ (no per-element dispatch).
// Value gradients accumulate (dx += ...), so a value that feeds several nodes (a residual
// branch) receives the sum of the vector-Jacobian products of all its consumers.
#include "core/executor.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/ops/ops.hpp"

namespace qreg {
namespace {

std::size_t idx(int id) { return static_cast<std::size_t>(id); }

bool is_dense(OpType op) { return op == OpType::Gemm || op == OpType::MatMul; }

bool contains(const std::vector<int>& ids, int v) { return std::find(ids.begin(), ids.end(), v) != ids.end(); }

}  // namespace

Executor::Executor(const Graph& graph) : graph_(graph) {
  if (graph.output < 0 || graph.num_values() == 0) throw Error("executor: graph '" + graph.name + "' is not finalized");
  values_.resize(idx(graph.num_values()));
  grads_.resize(values_.size());
  reached_.assign(values_.size(), 0);
  state_.resize(graph.nodes.size());
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const Shape& in = graph.value_shapes[idx(node.inputs.at(0))];
    const Shape& out = graph.value_shapes[idx(node.output)];
    if (node.op == OpType::Conv) {
      const Shape& w = graph.values[idx(node.params.at(0))].shape();
      state_[i].geom = window_geom(node, in, out, w[2], w[3]);
    } else if (node.op == OpType::MaxPool || node.op == OpType::AveragePool) {
      const auto k = node.attrs.get_ints("kernel_shape", {1, 1});
      state_[i].geom = window_geom(node, in, out, k.at(0), k.at(1));
    }
  }
  // readers[v]: the nodes that read value v (the fusion below needs a single max-pool reader).
  std::vector<std::vector<std::size_t>> readers(values_.size());
  for (std::size_t i = 0; i < graph.nodes.size(); ++i)
    for (const int v : graph.nodes[i].inputs) readers[idx(v)].push_back(i);
  relu_into_pool_.assign(graph.nodes.size(), 0);
  pool_relu_input_.assign(graph.nodes.size(), -1);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& r = readers[idx(graph.nodes[i].output)];
    if (graph.nodes[i].op == OpType::Relu && graph.nodes[i].output != graph.output && r.size() == 1 &&
        graph.nodes[r[0]].op == OpType::MaxPool) {
      relu_into_pool_[i] = 1;
      pool_relu_input_[r[0]] = graph.nodes[i].inputs[0];
    }
  }
  conv_chain_.assign(graph.nodes.size(), {-1, -1});
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& r = readers[idx(graph.nodes[i].output)];
    if (graph.nodes[i].op == OpType::Conv && graph.nodes[i].output != graph.output && r.size() == 1 &&
        relu_into_pool_[r[0]])
      conv_chain_[i] = {static_cast<int>(r[0]), static_cast<int>(readers[idx(graph.nodes[r[0]].output)][0])};
  }
}

Executor::~Executor() = default;

void Executor::check_input(const Tensor& x, const ParamSet& params) const {
  if (x.rank() != static_cast<int>(graph_.input_shape.size()) + 1 ||
      !std::equal(graph_.input_shape.begin(), graph_.input_shape.end(), x.shape().begin() + 1))
    throw Error("executor: input " + to_string(x.shape()) + " does not match graph '" + graph_.name + "' input [N, " +
                to_string(graph_.input_shape).substr(1));
  if (params.size() != graph_.params.size())
    throw Error("executor: " + std::to_string(params.size()) + " parameter tensors for " +
                std::to_string(graph_.params.size()) + " parameters");
  for (std::size_t p = 0; p < params.size(); ++p)
    if (params[p].shape() != graph_.values[p].shape())
      throw Error("executor: parameter '" + graph_.params[p].name + "' has shape " + to_string(params[p].shape()) +
                  ", expected " + to_string(graph_.values[p].shape()));
}

const Tensor& Executor::forward(const Tensor& x, const ParamSet& params, bool training) {
  ForwardOptions opt;
  opt.training = training;
  return forward(x, params, opt);
}

const Tensor& Executor::forward(const Tensor& x, const ParamSet& params, const ForwardOptions& opt) {
  check_input(x, params);
  for (const auto* ids : {&opt.keep, &opt.observe})
    for (const int v : *ids)
      if (v < 0 || v >= graph_.num_values())
        throw UsageError("executor: kept or observed value id " + std::to_string(v) + " out of range");
  if (!opt.observe.empty() && (opt.training || !opt.observer))
    throw UsageError("executor: observed values need an inference pass with an observer");
  batch_ = x.dim(0);
  training_ = opt.training;
  plan_forward(opt);
  ops::ensure_shape(values_[0], x.shape());
  std::copy(x.data(), x.data() + x.size(), values_[0].data());
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    const int out = graph_.nodes[i].output;
    if (steps_[i] == Step::stream)
      stream_conv(i, params, opt, contains(opt.observe, out));
    else if (steps_[i] == Step::run)
      forward_node(i, params);
    // A value written whole (by its node or by a streamed conv before it) is observed whole.
    if (steps_[i] != Step::stream && (skipped_.empty() || !skipped_[idx(out)]) && contains(opt.observe, out))
      opt.observer(out, 0, batch_, values_[idx(out)].data());
  }
  return values_[idx(graph_.output)];
}

// Full pass: every node runs. Restricted inference pass: a ReLU nobody keeps fuses into its
// max-pool reader, and a conv nobody keeps whose only reader is such a ReLU streams into that pool.
void Executor::plan_forward(const ForwardOptions& opt) {
  steps_.assign(graph_.nodes.size(), Step::run);
  skipped_.clear();
  if (opt.training || (opt.keep.empty() && opt.observe.empty())) return;
  const auto kept = [&](int v) { return v == graph_.output || contains(opt.keep, v); };
  skipped_.assign(values_.size(), 0);
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    const int out = graph_.nodes[i].output;
    if (relu_into_pool_[i] && !kept(out) && !contains(opt.observe, out))
      steps_[i] = Step::fused, skipped_[idx(out)] = 1;
  }
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    const auto [relu, pool] = conv_chain_[i];
    const int out = graph_.nodes[i].output;
    if (relu < 0 || kept(out) || steps_[idx(relu)] != Step::fused) continue;
    steps_[i] = Step::stream;
    skipped_[idx(out)] = 1;
    steps_[idx(pool)] = Step::fused;  // written by the conv's per-sample sink
  }
}

void Executor::stream_conv(std::size_t i, const ParamSet& params, const ForwardOptions& opt, bool observed) {
  const Node& conv = graph_.nodes[i];
  const Node& pool = graph_.nodes[idx(conv_chain_[i].second)];
  Tensor& pooled = values_[idx(pool.output)];
  ops::ensure_shape(pooled, ops::batched(batch_, graph_.value_shapes[idx(pool.output)]));
  const WindowGeom& pg = state_[idx(conv_chain_[i].second)].geom;
  const std::int64_t per_sample = numel(graph_.value_shapes[idx(pool.output)]);
  const ops::SampleSink sink = [&](std::int64_t s, const float* ys) {
    if (observed) opt.observer(conv.output, s, s + 1, ys);
    ops::maxpool_sample(pg, ys, pooled.data() + s * per_sample, /*relu=*/true);
  };
  const Tensor* bias = conv.params.size() > 1 ? &params[idx(conv.params[1])] : nullptr;
  ops::conv_forward(values_[idx(conv.inputs[0])], params[idx(conv.params[0])], bias, nullptr, state_[i], &sink);
}

void Executor::forward_node(std::size_t i, const ParamSet& params) {
  const Node& node = graph_.nodes[i];
  const Tensor& x = values_[idx(node.inputs[0])];
  Tensor& y = values_[idx(node.output)];
  ops::ensure_shape(y, ops::batched(batch_, graph_.value_shapes[idx(node.output)]));
  auto param = [&](std::size_t k) -> const Tensor& { return params[idx(node.params[k])]; };
  const Tensor* bias = node.params.size() > 1 ? &param(1) : nullptr;
  switch (node.op) {
    case OpType::Gemm:
    case OpType::MatMul:
      return ops::dense_forward(node.op == OpType::Gemm, x, param(0), bias, y);
    case OpType::Conv:
      return ops::conv_forward(x, param(0), bias, &y, state_[i]);
    case OpType::Relu:
      return ops::relu_forward(x, y);
    case OpType::MaxPool: {
      const int in = node.inputs[0];
      if (skipped_.empty() || !skipped_[idx(in)]) return ops::maxpool_forward(x, y, state_[i]);
      // The input is a fused ReLU's output, not written: pool the ReLU's input and clamp.
      return ops::maxpool_forward(values_[idx(pool_relu_input_[i])], y, state_[i], /*relu=*/true);
    }
    case OpType::AveragePool:
      return ops::avgpool_forward(x, y, state_[i].geom);
    case OpType::GlobalAveragePool:
      return ops::global_avgpool_forward(x, y);
    case OpType::Flatten:
    case OpType::Reshape:
      std::copy(x.data(), x.data() + x.size(), y.data());
      return;
    case OpType::Add:
      return ops::add_forward(x, values_[idx(node.inputs[1])], y);
    case OpType::BatchNormalization:
      return ops::batchnorm_forward(x, param(0), param(1), param(2), param(3), node.attrs.get_float("epsilon", 1e-5f),
                                    training_, y, state_[i]);
    case OpType::Softmax:
      return ops::softmax_forward(x, y);
    case OpType::ActQuant:
      return ops::act_quant_forward(x, param(0), static_cast<int>(node.attrs.get_ints("bits", {8}).at(0)),
                                    node.attrs.get_float("momentum", 0.9f), training_, y, state_[i]);
    case OpType::Dropout:
      return ops::dropout_forward(x, node.attrs.get_float("ratio", 0.5f), training_, i, y, state_[i]);
  }
}

const Tensor& Executor::value(int id) const {
  if (id < 0 || id >= graph_.num_values())
    throw UsageError("executor: value id " + std::to_string(id) + " out of range");
  if (!skipped_.empty() && skipped_[idx(id)])
    throw UsageError("executor: the last (restricted) forward did not keep value '" + graph_.value_names[idx(id)] +
                     "'");
  return values_[idx(id)];
}

const Tensor& Executor::grad(int id) const {
  if (id < 0 || id >= graph_.num_values())
    throw UsageError("executor: value id " + std::to_string(id) + " out of range");
  if (!written_.empty() && !written_[idx(id)])
    throw UsageError("executor: the last (restricted) backward did not compute the gradient of value '" +
                     graph_.value_names[idx(id)] + "'");
  return grads_[idx(id)];
}

void Executor::backward(const std::vector<std::pair<int, Tensor>>& seeds, const ParamSet& params, ParamSet& param_grads,
                        bool input_grad) {
  BackwardOptions opt;
  opt.input_grad = input_grad;
  backward(seeds, params, param_grads, opt);
}

void Executor::backward(const std::vector<std::pair<int, Tensor>>& seeds, const ParamSet& params, ParamSet& param_grads,
                        const BackwardOptions& opt) {
  if (batch_ == 0) throw UsageError("executor: backward before forward");
  if (!skipped_.empty())
    throw UsageError("executor: backward after a restricted forward (ForwardOptions::keep); run a full forward first");
  if (params.size() != graph_.params.size()) throw UsageError("executor: backward with a different parameter set");
  for (const auto& [id, seed] : seeds)
    if (id < 0 || id >= graph_.num_values() || seed.shape() != values_[idx(id)].shape())
      throw UsageError("executor: seed for value " + std::to_string(id) + " has the wrong id or shape");
  const bool all = opt.wanted.empty();
  // needed[v]: v is or depends (forward) on a wanted value, so its gradient flows into one; a node
  // runs when one of its inputs is needed.
  std::vector<char> needed(values_.size(), all ? 1 : 0);
  for (int w : opt.wanted) {
    if (w < 0 || w >= graph_.num_values())
      throw UsageError("executor: wanted value id " + std::to_string(w) + " out of range");
    needed[idx(w)] = 1;
  }
  if (!all)
    for (const Node& node : graph_.nodes)
      for (int in : node.inputs)
        needed[idx(node.output)] = static_cast<char>(needed[idx(node.output)] || needed[idx(in)]);
  // Nodes to run (reached by a seed, on the way to a wanted value) and the gradients they write.
  std::fill(reached_.begin(), reached_.end(), 0);
  written_.assign(values_.size(), all ? 1 : 0);
  for (const auto& seed : seeds) reached_[idx(seed.first)] = written_[idx(seed.first)] = 1;
  run_.assign(graph_.nodes.size(), 0);
  for (std::size_t i = graph_.nodes.size(); i-- > 0;) {
    const Node& node = graph_.nodes[i];
    const bool useful = std::any_of(node.inputs.begin(), node.inputs.end(), [&](int in) { return needed[idx(in)]; });
    if (!reached_[idx(node.output)] || !useful) continue;
    run_[i] = 1;
    for (int in : node.inputs) reached_[idx(in)] = written_[idx(in)] = 1;
  }
  for (std::size_t v = 0; v < values_.size(); ++v) {
    if (!written_[v]) continue;
    ops::ensure_shape(grads_[v], values_[v].shape());
    ops::zero(grads_[v]);
    // Readable only where complete: an input of a running node that is not needed (say a residual
    // skip input whose other consumers did not run) holds a partial sum.
    if (!needed[v]) written_[v] = 0;
  }
  for (const auto& [id, seed] : seeds) {
    ops::accumulate(seed, grads_[idx(id)]);
    written_[idx(id)] = 1;  // the seed itself is complete
  }
  if (opt.param_grads) {
    param_grads.resize(params.size());
    for (std::size_t p = 0; p < params.size(); ++p) {
      ops::ensure_shape(param_grads[p], params[p].shape());
      ops::zero(param_grads[p]);
    }
  }
  for (std::size_t i = graph_.nodes.size(); i-- > 0;)
    if (run_[i]) backward_node(i, params, param_grads, opt);
}

void Executor::backward_node(std::size_t i, const ParamSet& params, ParamSet& param_grads, const BackwardOptions& opt) {
  const Node& node = graph_.nodes[i];
  const bool input_grad = opt.input_grad;
  const Tensor& x = values_[idx(node.inputs[0])];
  const Tensor& y = values_[idx(node.output)];
  const Tensor& dy = grads_[idx(node.output)];
  Tensor* dx = (node.inputs[0] != 0 || input_grad) ? &grads_[idx(node.inputs[0])] : nullptr;
  auto param = [&](std::size_t k) -> const Tensor& { return params[idx(node.params[k])]; };
  auto pgrad = [&](std::size_t k) -> Tensor& { return param_grads[idx(node.params[k])]; };
  const bool has_params = is_dense(node.op) || node.op == OpType::Conv || node.op == OpType::BatchNormalization;
  if (!dx && (!has_params || !opt.param_grads)) return;
  // Without parameter gradients the dense and conv kernels compute dx alone (the same dx).
  Tensor* dw = opt.param_grads && has_params ? &pgrad(0) : nullptr;
  Tensor* dbias = dw && node.params.size() > 1 ? &pgrad(1) : nullptr;
  switch (node.op) {
    case OpType::Gemm:
    case OpType::MatMul:
      return ops::dense_backward(node.op == OpType::Gemm, x, param(0), dy, dx, dw, dbias);
    case OpType::Conv:
      return ops::conv_backward(x, param(0), dy, dx, dw, dbias, state_[i]);
    case OpType::Relu:
      return ops::relu_backward(y, dy, *dx);
    case OpType::MaxPool:
      return ops::maxpool_backward(x, dy, *dx, state_[i]);
    case OpType::AveragePool:
      return ops::avgpool_backward(dy, *dx, state_[i].geom);
    case OpType::GlobalAveragePool:
      return ops::global_avgpool_backward(dy, *dx);
    case OpType::Flatten:
    case OpType::Reshape:
      return ops::accumulate(dy, *dx);
    case OpType::Add:
      ops::accumulate(dy, *dx);
      if (node.inputs[1] != 0 || input_grad) ops::accumulate(dy, grads_[idx(node.inputs[1])]);
      return;
    case OpType::BatchNormalization:
      if (!opt.param_grads) {  // scale and bias gradients nobody reads
        ops::ensure_shape(scratch_scale_, param(0).shape());
        ops::ensure_shape(scratch_bias_, param(0).shape());
        return ops::batchnorm_backward(x, param(0), dy, dx, scratch_scale_, scratch_bias_, state_[i]);
      }
      return ops::batchnorm_backward(x, param(0), dy, dx, pgrad(0), pgrad(1), state_[i]);
    case OpType::Softmax:
      return ops::softmax_backward(y, dy, *dx);
    case OpType::ActQuant:
      return ops::act_quant_backward(x, dy, *dx, state_[i]);
    case OpType::Dropout:
      return ops::dropout_backward(dy, *dx, state_[i]);
  }
}

void Executor::update_running_stats(ParamSet& params) const {
  if (!training_) return;
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& node = graph_.nodes[i];
    if (node.op == OpType::ActQuant) params.at(idx(node.params[0]))[0] = state_[i].act_max;
    if (node.op != OpType::BatchNormalization) continue;
    const float momentum = node.attrs.get_float("momentum", 0.9f);
    Tensor& mean = params.at(idx(node.params[2]));
    Tensor& var = params.at(idx(node.params[3]));
    for (std::int64_t c = 0; c < mean.size(); ++c) {
      const auto k = static_cast<std::size_t>(c);
      mean[c] = momentum * mean[c] + (1.0f - momentum) * state_[i].mean[k];
      var[c] = momentum * var[c] + (1.0f - momentum) * state_[i].batch_var[k];
    }
  }
}

void Executor::set_dropout_stream(std::uint64_t seed, std::uint64_t stream) {
  for (ops::NodeState& st : state_) {
    st.rng_seed = seed;
    st.rng_stream = stream;
  }
}

}  // namespace qreg
