#include "train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/evaluate.hpp"
#include "core/executor.hpp"
#include "core/rng.hpp"
#include "train/lsq.hpp"
#include "train/regularizers.hpp"

namespace qreg {
using nlohmann::json;

namespace {

json config_json(const TrainConfig& c) {
  const OptimizerConfig& o = c.optimizer;
  return {{"mode", train_mode_name(c.weights.mode)},
          {"bits", c.weights.bits},
          {"granularity", granularity_name(c.weights.granularity)},
          {"optimizer",
           {{"name", optimizer_name(o.kind)},
            {"lr", o.lr},
            {"momentum", o.momentum},
            {"weight_decay", o.weight_decay},
            {"beta1", o.beta1},
            {"beta2", o.beta2},
            {"eps", o.eps}}},
          {"schedule",
           {{"name", schedule_name(c.schedule.kind)},
            {"step_epochs", c.schedule.step_epochs},
            {"gamma", c.schedule.gamma},
            {"min_lr", c.schedule.min_lr}}},
          {"epochs", c.epochs},
          {"batch", c.batch},
          {"seed", c.seed},
          {"probe_size", c.probe_size},
          {"eval_batch", c.eval_batch}};
}
std::vector<Shape> shapes_of(const std::vector<Tensor>& tensors) {
  std::vector<Shape> out;
  for (const Tensor& t : tensors) out.push_back(t.shape());
  return out;
}

}  // namespace

json to_json(const TrainConfig& c) {
  json j = config_json(c);
  // Keys added after the first release are written only when set, so older checkpoints still resume.
  if (!c.weights.layer_bits.empty()) j["layer_bits"] = c.weights.layer_bits;  // [[layer, bits], ...]
  if (c.act_bits != kFloatBits) j["act_bits"] = c.act_bits;
  if (c.dropout > 0.0) j["dropout"] = c.dropout;
  return j;
}

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::Completed:
      return "completed";
    case RunStatus::Diverged:
      return "diverged";
    default:
      return "running";
  }
}

RunStatus parse_run_status(const std::string& text) {
  for (RunStatus s : {RunStatus::Running, RunStatus::Completed, RunStatus::Diverged})
    if (text == run_status_name(s)) return s;
  throw Error("run status '" + text + "' is not one of running, completed, diverged");
}

TrainState initial_state(const Graph& graph, const TrainConfig& cfg) {
  TrainState s;
  s.params = graph.values;
  if (cfg.weights.mode == TrainMode::Lsq) s.lsq_steps = lsq_initial_steps(graph, graph.values, cfg.weights);
  Optimizer opt(cfg.optimizer, graph, shapes_of(s.lsq_steps));
  s.optimizer_state = opt.state();
  return s;
}

namespace {

std::int64_t per_sample(const Dataset& d) { return d.size() ? d.inputs.size() / d.size() : 0; }

void check_data(const Graph& graph, const Dataset& d, const char* what) {
  if (d.size() == 0 || d.labels.size() != static_cast<std::size_t>(d.size()))
    throw Error(std::string("train: ") + what + " data '" + d.name + "' is empty or has no labels");
  Shape want{d.size()};
  want.insert(want.end(), graph.input_shape.begin(), graph.input_shape.end());
  if (d.inputs.shape() != want)
    throw Error(std::string("train: ") + what + " data '" + d.name + "' has shape " + to_string(d.inputs.shape()) +
                ", the model needs " + to_string(want));
}

// Fisher-Yates with RandomStream(seed, shuffle_stream(epoch)); index j = ⌊u32·(i+1)/2^32⌋ (the
// bias of this multiply-shift is below (i+1)/2^32, irrelevant next to sampling noise).
std::vector<std::int64_t> shuffled(std::int64_t n, std::uint64_t seed, int epoch) {
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  RandomStream rng(seed, shuffle_stream(epoch));
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(
        (static_cast<std::uint64_t>(rng.next_u32()) * static_cast<std::uint64_t>(i + 1)) >> 32);
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  }
  return perm;
}

void gather(const Dataset& d, const std::int64_t* rows, std::int64_t count, Tensor& x, std::vector<std::int32_t>& y) {
  Shape shape = d.inputs.shape();
  shape[0] = count;
  if (x.shape() != shape) x = Tensor(shape);
  const std::int64_t f = per_sample(d);
  y.resize(static_cast<std::size_t>(count));
  for (std::int64_t r = 0; r < count; ++r) {
    std::copy_n(d.inputs.data() + rows[r] * f, f, x.data() + r * f);
    y[static_cast<std::size_t>(r)] = d.labels[static_cast<std::size_t>(rows[r])];
  }
}

Tensor probe_batch(const Dataset& val, std::int64_t size) {
  const std::int64_t n = std::min(size, val.size());
  Shape shape = val.inputs.shape();
  shape[0] = n;
  Tensor x(shape);
  std::copy_n(val.inputs.data(), n * per_sample(val), x.data());
  return x;
}

void check_config(const TrainConfig& cfg) {
  check_bits(cfg.weights.bits, true);
  if (cfg.epochs < 1 || cfg.batch < 1 || cfg.probe_size < 1 || cfg.eval_batch < 1)
    throw UsageError("train: epochs, batch, probe size and eval batch must be positive");
}

}  // namespace

void train(const Graph& graph, const Dataset& train_data, const Dataset& val_data, const TrainConfig& cfg,
           TrainState& state, const std::function<bool(const TrainState&)>& on_epoch) {
  check_config(cfg);
  check_training_graph(graph, cfg.act_bits, cfg.dropout);  // the graph carries --act-bits / --dropout
  check_data(graph, train_data, "training");
  check_data(graph, val_data, "validation");
  WeightBuilder wb(graph, cfg.weights);  // UsageError for a bad layer override
  const bool lsq = cfg.weights.mode == TrainMode::Lsq;
  QREG_ASSERT(state.lsq_steps.size() == (lsq ? wb.layers().size() : 0), "train: LSQ steps do not fit the config");
  Optimizer opt(cfg.optimizer, graph, shapes_of(state.lsq_steps));
  QREG_ASSERT(opt.state().size() == state.optimizer_state.size(), "train: optimizer state does not fit the config");
  opt.state() = state.optimizer_state;
  opt.set_steps(state.optimizer_steps);
  const Tensor probe = probe_batch(val_data, cfg.probe_size);
  const std::int64_t n = train_data.size();
  const std::int64_t steps = (n + cfg.batch - 1) / cfg.batch;
  Executor ex(graph);
  ParamSet grads;
  std::vector<Tensor> step_grads;  // lsq: ∂L/∂s
  Tensor x, dlogits;
  std::vector<std::int32_t> y;
  while (state.status == RunStatus::Running && state.epoch < cfg.epochs) {
    const auto t0 = std::chrono::steady_clock::now();
    const int e = state.epoch;
    const auto perm = shuffled(n, cfg.seed, e);
    EpochMetrics m;
    double loss_sum = 0.0;
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t begin = s * cfg.batch, count = std::min(cfg.batch, n - begin);
      gather(train_data, perm.data() + begin, count, x, y);
      m.lr = learning_rate(cfg.schedule, cfg.optimizer.lr, e, cfg.epochs, s, steps);
      const ParamSet& w = wb.forward(state.params, state.lsq_steps, cfg.seed, e, s);
      ex.set_dropout_stream(cfg.seed, dropout_stream(e, s));
      const double loss = cross_entropy(ex.forward(x, w, true), y, &dlogits);
      if (!std::isfinite(loss)) {
        state.status = RunStatus::Diverged;
        state.note =
            "loss " + std::to_string(loss) + " at epoch " + std::to_string(e + 1) + " step " + std::to_string(s);
        return;
      }
      loss_sum += loss * static_cast<double>(count);
      ex.backward({{graph.output, dlogits}}, w, grads, false);
      if (lsq) lsq_backward(wb.layers(), state.params, state.lsq_steps, grads, step_grads);
      ex.update_running_stats(state.params);  // running statistics (BN, activation max) live in the shadow set
      // STE: ∂L/∂q(w) applied to the shadow w. The optimizer reports whether what it updated is
      // finite (an LSQ step of ±inf counts, before the clamp); the running statistics it leaves
      // alone are checked here (a batch variance can overflow while the loss stays finite).
      bool finite = opt.step(state.params, grads, state.lsq_steps, step_grads, m.lr);
      if (lsq) lsq_clamp_steps(wb.layers(), state.lsq_steps);
      for (std::size_t p = 0; p < state.params.size() && finite; ++p)
        if (!graph.params[p].trainable()) finite = all_finite(state.params[p]);
      if (!finite) {
        state.status = RunStatus::Diverged;
        state.note = "non-finite weights at epoch " + std::to_string(e + 1) + " step " + std::to_string(s);
        return;
      }
    }
    const ParamSet& deployed = wb.deployed(state.params, state.lsq_steps);
    const EvalResult tr = evaluate(graph, deployed, train_data, cfg.eval_batch);
    const EvalResult va = evaluate(graph, deployed, val_data, cfg.eval_batch);
    m.epoch = e + 1;
    m.batch_loss = loss_sum / static_cast<double>(n);
    m.train_loss = tr.loss;
    m.train_accuracy = tr.accuracy;
    m.val_loss = va.loss;
    m.val_accuracy = va.accuracy;
    const ParamSet& quantized = wb.quantized(state.params, state.lsq_steps);  // after the evaluations: same buffer
    m.layers = probe_layer_noise(graph, state.params, quantized, wb.steps(), wb.layer_bits(), probe);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.metrics.push_back(std::move(m));
    state.epoch = e + 1;
    state.optimizer_state = opt.state();
    state.optimizer_steps = opt.steps();
    if (!std::isfinite(tr.loss) || !std::isfinite(va.loss)) {
      state.status = RunStatus::Diverged;
      state.note = "non-finite evaluation loss after epoch " + std::to_string(e + 1);
    } else if (state.epoch == cfg.epochs) {
      state.status = RunStatus::Completed;
    }
    if (on_epoch && !on_epoch(state)) return;
  }
}

}  // namespace qreg
