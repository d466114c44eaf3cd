#include "train/optimizer.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/named_enum.hpp"

namespace qreg {

namespace {
constexpr EnumName<OptimizerKind> kOptimizers[] = {{OptimizerKind::Sgd, "sgd"}, {OptimizerKind::AdamW, "adamw"}};
}  // namespace

OptimizerKind parse_optimizer(std::string_view text) { return parse_enum(text, kOptimizers, "optimizer"); }
const char* optimizer_name(OptimizerKind kind) { return enum_name(kind, kOptimizers); }

Optimizer::Optimizer(const OptimizerConfig& cfg, const Graph& graph) : cfg_(cfg) {
  auto unit = [](double v) { return v >= 0.0 && v < 1.0; };
  if (!(cfg.lr >= 0.0) || !(cfg.weight_decay >= 0.0))
    throw UsageError("optimizer: learning rate and weight decay must be >= 0");
  if (!unit(cfg.momentum) || !unit(cfg.beta1) || !unit(cfg.beta2) || !(cfg.eps > 0.0))
    throw UsageError("optimizer: momentum and betas must lie in [0, 1), eps > 0");
  for (const Parameter& p : graph.params) trainable_.push_back(p.trainable());
  const int copies = cfg.kind == OptimizerKind::Sgd ? 1 : 2;
  for (int c = 0; c < copies; ++c)
    for (const Tensor& v : graph.values) state_.emplace_back(v.shape(), 0.0f);
}

void Optimizer::step(ParamSet& params, const ParamSet& grads, double lr) {
  QREG_ASSERT(params.size() == trainable_.size() && grads.size() == trainable_.size(),
              "optimizer: params and grads must match the graph");
  ++steps_;
  const std::size_t n = trainable_.size();
  // Element updates are independent, so a serial loop is as deterministic as any; arithmetic is
  // float per element as in PyTorch, with the bias corrections computed once in double.
  const auto flr = static_cast<float>(lr), wd = static_cast<float>(cfg_.weight_decay);
  if (cfg_.kind == OptimizerKind::Sgd) {
    const auto mu = static_cast<float>(cfg_.momentum);
    for (std::size_t p = 0; p < n; ++p) {
      if (!trainable_[p]) continue;
      float* w = params[p].data();
      const float* g = grads[p].data();
      float* v = state_[p].data();
      for (std::int64_t i = 0; i < params[p].size(); ++i) {
        v[i] = mu * v[i] + (g[i] + wd * w[i]);
        w[i] -= flr * v[i];
      }
    }
    return;
  }
  const double t = static_cast<double>(steps_);
  const auto c1 = static_cast<float>(1.0 / (1.0 - std::pow(cfg_.beta1, t)));
  const auto c2 = static_cast<float>(1.0 / (1.0 - std::pow(cfg_.beta2, t)));
  const auto b1 = static_cast<float>(cfg_.beta1), b2 = static_cast<float>(cfg_.beta2);
  const auto eps = static_cast<float>(cfg_.eps);
  for (std::size_t p = 0; p < n; ++p) {
    if (!trainable_[p]) continue;
    float* w = params[p].data();
    const float* g = grads[p].data();
    float* m = state_[p].data();
    float* v = state_[n + p].data();
    for (std::int64_t i = 0; i < params[p].size(); ++i) {
      w[i] -= flr * wd * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      w[i] -= flr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
    }
  }
}

}  // namespace qreg
