#include "train/optimizer.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <array>
#include <atomic>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/named_enum.hpp"

namespace qreg {

namespace {
constexpr EnumName<OptimizerKind> kOptimizers[] = {{OptimizerKind::Sgd, "sgd"}, {OptimizerKind::AdamW, "adamw"}};

constexpr std::int64_t kChunk = std::int64_t{1} << 14;  // elements per parallel task
constexpr std::int64_t kLanes = 16;

/// Runs update(i) for i in [0, len) in parallel chunks and returns whether every value it
/// returned is finite. w − w is 0 for a finite w and NaN otherwise; the per-lane sums vectorise
/// and stay NaN once a NaN entered.
template <class Update>
bool update_all(std::int64_t len, Update update) {
  std::atomic<bool> finite{true};
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, len, kChunk), [&](const tbb::blocked_range<std::int64_t>& r) {
    std::array<float, kLanes> bad{};
    std::int64_t i = r.begin();
    for (; i + kLanes <= r.end(); i += kLanes)
      for (std::int64_t k = 0; k < kLanes; ++k) {
        const float w = update(i + k);
        bad[static_cast<std::size_t>(k)] += w - w;
      }
    for (; i < r.end(); ++i) {
      const float w = update(i);
      bad[0] += w - w;
    }
    for (const float b : bad)
      if (!(b == 0.0f)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

}  // namespace

OptimizerKind parse_optimizer(std::string_view text) { return parse_enum(text, kOptimizers, "optimizer"); }
const char* optimizer_name(OptimizerKind kind) { return enum_name(kind, kOptimizers); }

Optimizer::Optimizer(const OptimizerConfig& cfg, const Graph& graph, const std::vector<Shape>& extra)
    : cfg_(cfg), extra_(extra.size()) {
  auto unit = [](double v) { return v >= 0.0 && v < 1.0; };
  if (!(cfg.lr >= 0.0) || !(cfg.weight_decay >= 0.0))
    throw UsageError("optimizer: learning rate and weight decay must be >= 0");
  if (!unit(cfg.momentum) || !unit(cfg.beta1) || !unit(cfg.beta2) || !(cfg.eps > 0.0))
    throw UsageError("optimizer: momentum and betas must lie in [0, 1), eps > 0");
  for (const Parameter& p : graph.params) trainable_.push_back(p.trainable());
  const int copies = cfg.kind == OptimizerKind::Sgd ? 1 : 2;
  for (int c = 0; c < copies; ++c) {
    for (const Tensor& v : graph.values) state_.emplace_back(v.shape(), 0.0f);
    for (const Shape& s : extra) state_.emplace_back(s, 0.0f);
  }
}

bool Optimizer::step(ParamSet& params, const ParamSet& grads, double lr) {
  std::vector<Tensor> none;
  return step(params, grads, none, none, lr);
}

bool Optimizer::step(ParamSet& params, const ParamSet& grads, std::vector<Tensor>& extra,
                     const std::vector<Tensor>& extra_grads, double lr) {
  QREG_ASSERT(params.size() == trainable_.size() && grads.size() == trainable_.size(),
              "optimizer: params and grads must match the graph");
  QREG_ASSERT(extra.size() == extra_ && extra_grads.size() == extra_, "optimizer: extra tensors do not match");
  ++steps_;
  const std::size_t np = trainable_.size(), n = np + extra_;
  // Tensor k: graph parameter k (k < np, decayed) or extra tensor k − np (not decayed).
  auto w_of = [&](std::size_t k) { return k < np ? params[k].data() : extra[k - np].data(); };
  auto g_of = [&](std::size_t k) { return k < np ? grads[k].data() : extra_grads[k - np].data(); };
  auto size_of = [&](std::size_t k) { return k < np ? params[k].size() : extra[k - np].size(); };
  auto skip = [&](std::size_t k) { return k < np && !trainable_[k]; };
  // Arithmetic is float per element as in PyTorch, with the bias corrections computed once in
  // double.
  bool finite = true;
  const auto flr = static_cast<float>(lr), decay = static_cast<float>(cfg_.weight_decay);
  if (cfg_.kind == OptimizerKind::Sgd) {
    const auto mu = static_cast<float>(cfg_.momentum);
    for (std::size_t p = 0; p < n; ++p) {
      if (skip(p)) continue;
      float* w = w_of(p);
      const float* g = g_of(p);
      float* v = state_[p].data();
      const float wd = p < np ? decay : 0.0f;
      finite &= update_all(size_of(p), [=](std::int64_t i) {
        v[i] = mu * v[i] + (g[i] + wd * w[i]);
        return w[i] -= flr * v[i];
      });
    }
    return finite;
  }
  const double t = static_cast<double>(steps_);
  const auto c1 = static_cast<float>(1.0 / (1.0 - std::pow(cfg_.beta1, t)));
  const auto c2 = static_cast<float>(1.0 / (1.0 - std::pow(cfg_.beta2, t)));
  const auto b1 = static_cast<float>(cfg_.beta1), b2 = static_cast<float>(cfg_.beta2);
  const auto eps = static_cast<float>(cfg_.eps);
  for (std::size_t p = 0; p < n; ++p) {
    if (skip(p)) continue;
    float* w = w_of(p);
    const float* g = g_of(p);
    float* m = state_[p].data();
    float* v = state_[n + p].data();
    const float wd = p < np ? decay : 0.0f;
    finite &= update_all(size_of(p), [=](std::int64_t i) {
      w[i] -= flr * wd * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      return w[i] -= flr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
    });
  }
  return finite;
}

}  // namespace qreg
