// LSQ (learned step size, arXiv 1902.08153) for weights: the step gradient, the clipping rule,
// the initial step, and that LSQ training learns and moves its steps.
// The model is one Gemm layer (make_mlp {6, 3}) so the loss can be recomputed in double here:
// L(s) = mean_n CE(softmax(x_n·ŵ(s)ᵀ + b)), ŵ(s) = s·clamp(round(w/s), −Qp, Qp).
// Where no code changes within ±h, L is differentiable in s with dL/ds = Σ_i ∂L/∂ŵ_i·code_i (ŵ is
// linear in s at fixed codes), so a central difference in double measures exactly that.
// LSQ's gradient is not this derivative: it uses ∂ŵ/∂s = round(w/s) − w/s inside the range (the
// straight-through surrogate of round) and ±Qp outside. Hence two checks:
//  - every weight clipped (s below min|w|/Qp): the two agree, g·FD = LSQ's ∂L/∂s;
//  - mixed (per channel, some weights clipped): LSQ = g·(FD − Σ_inside ∂L/∂ŵ_i·w_i/s), the STE term
//    computed independently; clipped weights get no gradient, the others their ∂L/∂ŵ unchanged.
// h = 1e-6·s keeps every code (asserted), so the difference's truncation error is O(h²) and its
// rounding error ~1e-16/1e-6 relative; ∂L/∂ŵ comes from the float executor (relative ~1e-6), so
// the tolerance is 1e-4 relative to Σ|terms|.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/quantize_graph.hpp"
#include "core/rng.hpp"
#include "core/teacher_student.hpp"
#include "train/lsq.hpp"
#include "train/trainer.hpp"

namespace {

using namespace qreg;

struct OneLayer {
  Graph g = make_mlp({6, 3}, 4);
  Dataset d = make_synthetic({8, {6}, 3, 4, 9});
  int wp = quantized_layers(g)[0].second;  // weight [3, 6]
  int bp = wp == 0 ? 1 : 0;                // bias [3]

  // Codes of row `r` of the weight at steps `s` (one per row for per channel).
  double code(float w, double s, int qp) const { return std::clamp(std::round(w / s), double(-qp), double(qp)); }
  double loss(const std::vector<double>& s, int qp) const {
    const Tensor& w = g.values[static_cast<std::size_t>(wp)];
    const Tensor& b = g.values[static_cast<std::size_t>(bp)];
    double total = 0.0;
    for (std::int64_t n = 0; n < d.size(); ++n) {
      double z[3], zmax = -1e300;
      for (int c = 0; c < 3; ++c) {
        const double sc = s[s.size() == 1 ? 0 : static_cast<std::size_t>(c)];
        z[c] = b[c];
        for (int k = 0; k < 6; ++k) z[c] += d.inputs[n * 6 + k] * sc * code(w[c * 6 + k], sc, qp);
        zmax = std::max(zmax, z[c]);
      }
      double sum = 0.0;
      for (double v : z) sum += std::exp(v - zmax);
      total += zmax + std::log(sum) - z[d.labels[static_cast<std::size_t>(n)]];
    }
    return total / static_cast<double>(d.size());
  }
  // ∂L/∂ŵ from the executor at the weights quantized with `steps`.
  ParamSet grads_at(const std::vector<Tensor>& steps, const WeightModeConfig& cfg) const {
    WeightBuilder wb(g, cfg);
    const ParamSet& w = wb.forward(g.values, steps, 0, 0, 0);
    Executor ex(g);
    Tensor dlogits;
    cross_entropy(ex.forward(d.inputs, w, true), d.labels, &dlogits);
    ParamSet grads;
    ex.backward({{g.output, dlogits}}, w, grads, false);
    return grads;
  }
};

TEST(Lsq, StepGradientIsTheCentralDifferenceWhenEveryWeightIsClipped) {
  const OneLayer m;
  const WeightModeConfig cfg{TrainMode::Lsq, 2, Granularity::Tensor};  // Qp = 1
  const Tensor& w = m.g.values[static_cast<std::size_t>(m.wp)];
  float min_abs = 1e30f;
  for (float v : w.values()) min_abs = std::min(min_abs, std::abs(v));
  const double s = 0.5 * min_abs;  // |w/s| ≥ 2 > Qp for every weight
  std::vector<Tensor> steps{Tensor(Shape{1}, static_cast<float>(s))};
  ParamSet grads = m.grads_at(steps, cfg);
  std::vector<Tensor> step_grads;
  const auto layers = quant_layers(m.g, cfg);
  lsq_backward(layers, m.g.values, steps, grads, step_grads);

  const double h = 1e-6 * s;
  const double fd = (m.loss({s + h}, 1) - m.loss({s - h}, 1)) / (2 * h);
  const double g = 1.0 / std::sqrt(18.0 * 1);  // N = 18 weights, Qp = 1
  EXPECT_NEAR(step_grads[0][0], g * fd, 1e-4 * std::abs(g * fd)) << "fd " << fd;
  for (float v : grads[static_cast<std::size_t>(m.wp)].values()) EXPECT_EQ(v, 0.0f);  // all clipped
}

TEST(Lsq, StepGradientIsTheDerivativePlusTheSteTermPerChannel) {
  const OneLayer m;
  const WeightModeConfig cfg{TrainMode::Lsq, 3, Granularity::Channel};  // Qp = 3
  const Tensor& w = m.g.values[static_cast<std::size_t>(m.wp)];
  std::vector<double> s(3);
  for (int c = 0; c < 3; ++c) {
    float mx = 0;
    for (int k = 0; k < 6; ++k) mx = std::max(mx, std::abs(w[c * 6 + k]));
    s[static_cast<std::size_t>(c)] = mx / 4.0;  // the largest weights of each row clip (|w/s| up to 4 > 3)
  }
  std::vector<Tensor> steps{Tensor(Shape{3}, std::vector<float>{float(s[0]), float(s[1]), float(s[2])})};
  for (int c = 0; c < 3; ++c) s[static_cast<std::size_t>(c)] = steps[0][c];  // the float steps exactly
  const ParamSet g_hat = m.grads_at(steps, cfg);
  ParamSet grads = g_hat;
  std::vector<Tensor> step_grads;
  lsq_backward(quant_layers(m.g, cfg), m.g.values, steps, grads, step_grads);

  int clipped = 0;
  for (int c = 0; c < 3; ++c) {
    const double sc = s[static_cast<std::size_t>(c)], h = 1e-6 * sc;
    std::vector<double> lo = s, hi = s;
    lo[static_cast<std::size_t>(c)] -= h;
    hi[static_cast<std::size_t>(c)] += h;
    double ste = 0.0, scale = 0.0;
    for (int k = 0; k < 6; ++k) {
      const int i = c * 6 + k;
      ASSERT_EQ(m.code(w[i], sc - h, 3), m.code(w[i], sc + h, 3)) << "a code changes within ±h";
      const double gi = g_hat[static_cast<std::size_t>(m.wp)][i], x = w[i] / sc;
      scale += std::abs(gi) * (std::abs(x) + 3);
      if (std::abs(x) < 3) {
        ste += gi * x;
        EXPECT_EQ(grads[static_cast<std::size_t>(m.wp)][i], g_hat[static_cast<std::size_t>(m.wp)][i]);
      } else {
        ++clipped;
        EXPECT_EQ(grads[static_cast<std::size_t>(m.wp)][i], 0.0f);
      }
    }
    const double fd = (m.loss(hi, 3) - m.loss(lo, 3)) / (2 * h);
    const double g = 1.0 / std::sqrt(6.0 * 3);  // N = 6 weights per channel, Qp = 3
    EXPECT_NEAR(step_grads[0][c], g * (fd - ste), 1e-4 * g * scale) << "channel " << c;
  }
  EXPECT_GE(clipped, 3);  // both kinds of weight are exercised
  EXPECT_LE(clipped, 12);
}

// The step gradient against the definition summed in double, on a layer large enough for the
// vectorised blocks (256 weights), their tails, and the fixed chunks of 16,384 weights, whose
// boundaries fall inside a channel: W [40, 700] (28,000 weights) per tensor and per channel, with
// random ∂L/∂ŵ and steps that clip a share of the weights. The float blocks' rounding error is
// below ~1e-6 of Σ|terms|; the tolerance is 1e-5 of it. Weight gradients: zero exactly where
// clipped, unchanged elsewhere.
TEST(Lsq, StepGradientMatchesTheDefinitionOnALargeLayer) {
  const Graph g = make_mlp({700, 40}, 3);
  const int wp = quantized_layers(g)[0].second;
  const Tensor& w = g.values[static_cast<std::size_t>(wp)];
  ASSERT_EQ(w.size(), 28000);
  RandomStream rs(5, 0);
  Tensor dw(w.shape());
  for (float& v : dw.values()) v = rs.uniform() - 0.5f;
  for (const Granularity gran : {Granularity::Tensor, Granularity::Channel}) {
    const WeightModeConfig cfg{TrainMode::Lsq, 2, gran};  // Qp = 1: many weights clip
    const auto layers = quant_layers(g, cfg);
    const std::int64_t groups = gran == Granularity::Tensor ? 1 : 40, per = 28000 / groups;
    std::vector<Tensor> steps{Tensor(Shape{groups})};
    for (std::int64_t c = 0; c < groups; ++c) steps[0][c] = 0.02f + 0.001f * static_cast<float>(c);
    ParamSet grads = g.values;
    grads[static_cast<std::size_t>(wp)] = dw;
    std::vector<Tensor> step_grads;
    lsq_backward(layers, g.values, steps, grads, step_grads);
    int clipped = 0;
    for (std::int64_t c = 0; c < groups; ++c) {
      const float inv = 1.0f / steps[0][c];
      double sum = 0, scale = 0;
      for (std::int64_t i = c * per; i < (c + 1) * per; ++i) {
        const float x = w[i] * inv;
        const bool inside = std::abs(x) < 1.0f;
        const double ds = inside ? std::round(x) - double(x) : (x < 0 ? -1.0 : 1.0);
        sum += double(dw[i]) * ds;
        scale += std::abs(double(dw[i]) * ds);
        EXPECT_EQ(grads[static_cast<std::size_t>(wp)][i], inside ? dw[i] : 0.0f) << i;
        clipped += !inside;
      }
      const double gs = 1.0 / std::sqrt(static_cast<double>(per));  // N weights per step, Qp = 1
      EXPECT_NEAR(step_grads[0][c], gs * sum, 1e-5 * gs * scale) << "group " << c;
    }
    EXPECT_GT(clipped, 1000);
    EXPECT_LT(clipped, 27000);
  }
}

TEST(Lsq, InitialStepIsTwiceMeanAbsOverRootQp) {
  const Graph g = make_mlp({16, 8, 4}, 2);
  const WeightModeConfig cfg{TrainMode::Lsq, 4, Granularity::Tensor, {{1, 32}}};
  const auto steps = lsq_initial_steps(g, g.values, cfg);
  ASSERT_EQ(steps.size(), 2u);
  const Tensor& w = g.values[static_cast<std::size_t>(quantized_layers(g)[0].second)];
  double sum = 0.0;
  for (float v : w.values()) sum += std::abs(v);
  EXPECT_FLOAT_EQ(steps[0][0], static_cast<float>(2.0 * sum / static_cast<double>(w.size()) / std::sqrt(7.0)));
  EXPECT_EQ(steps[1][0], 0.0f);  // a float layer has no step
  ParamSet bad = g.values;
  bad[static_cast<std::size_t>(quantized_layers(g)[0].second)][3] = std::nanf("");
  EXPECT_THROW(lsq_initial_steps(g, bad, cfg), Error);  // an input error, not a diverged run
}

TEST(Lsq, TrainingLearnsMovesStepsAndDeploysThem) {
  const Graph g = make_mlp({16, 32, 4}, 1);
  const Dataset tr = make_synthetic({256, {16}, 4, 16, 3}), va = make_synthetic({64, {16}, 4, 16, 3});
  TrainConfig cfg;
  cfg.weights = {TrainMode::Lsq, 4, Granularity::Channel};
  cfg.optimizer = {OptimizerKind::Sgd, 0.1, 0.9, 1e-4};
  cfg.epochs = 6;
  cfg.batch = 32;
  cfg.probe_size = 16;
  TrainState s = initial_state(g, cfg);
  const std::vector<Tensor> init = s.lsq_steps;
  train(g, tr, va, cfg, s);
  ASSERT_EQ(s.status, RunStatus::Completed);
  EXPECT_LT(s.metrics.back().train_loss, 0.7 * s.metrics.front().train_loss);
  EXPECT_LT(s.metrics.back().train_loss, std::log(4.0));
  ASSERT_EQ(s.lsq_steps.size(), 2u);
  double moved = 0.0;
  for (std::size_t l = 0; l < 2; ++l)
    for (std::int64_t k = 0; k < s.lsq_steps[l].size(); ++k) {
      moved = std::max(moved, std::abs(double(s.lsq_steps[l][k]) / init[l][k] - 1.0));
      EXPECT_EQ(s.metrics.back().layers[l].step[static_cast<std::size_t>(k)], s.lsq_steps[l][k]);  // reported Δ
    }
  EXPECT_GT(moved, 1e-3);
  // Deployed weights: s·clamp(round(w/s), −7, 7) with the learned s.
  const ParamSet dep = deployed_weights(g, s.params, cfg.weights, s.lsq_steps);
  const auto layer = quantized_layers(g)[1];
  const Tensor &w = s.params[static_cast<std::size_t>(layer.second)], &q = dep[static_cast<std::size_t>(layer.second)];
  const std::int64_t in = w.dim(1);
  for (std::int64_t i = 0; i < w.size(); ++i) {
    const float st = s.lsq_steps[1][i / in];
    EXPECT_EQ(q[i], st * std::clamp(std::round(w[i] * (1.0f / st)), -7.0f, 7.0f)) << i;
  }
}

}  // namespace
