// Optimizer one-step updates against values worked out by hand, and the LR schedules.
// SGD (lr 0.1, μ 0.9, wd 0.01), w = 1, g = 0.5 twice:
//   v1 = 0.5 + 0.01·1 = 0.51,            w1 = 1 − 0.1·0.51 = 0.949
//   v2 = 0.9·0.51 + (0.5 + 0.01·0.949) = 0.96849,   w2 = 0.949 − 0.096849 = 0.852151
// AdamW (lr 0.01, wd 0.1, β 0.9/0.999, ε 1e-8), w = 1, g = 0.5 then −0.25:
//   t=1: w ← 0.999; m = 0.05, v = 2.5e-4; m̂ = 0.5, v̂ = 0.25 → w1 = 0.999 − 0.01·0.5/(0.5+1e-8) = 0.9890000002
//   t=2: w ← 0.9890000002·0.999; m = 0.02, v = 3.1225e-4; m̂ = 0.02/0.19, v̂ = 3.1225e-4/0.001999
//        → w2 = 0.98534762987 (the same arithmetic in double, python, 0.9853476298705847)
// The optimizer computes in float: tolerance 2 float ULPs near 1 (relative 2.4e-7), stated as 3e-7 absolute.
// Batch-norm running statistics are not trainable and must not move.
// Extra tensors (LSQ steps) take the same update without weight decay: SGD w = 1, g = 0.5 →
// v1 = 0.5, w1 = 0.95; AdamW → w1 = 1 − 0.01·0.5/(0.5 + 1e-8) = 0.99000000002.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/models.hpp"
#include "train/optimizer.hpp"
#include "train/schedule.hpp"

namespace {

using namespace qreg;
constexpr double kFloatTol = 3e-7;

// A graph with one trainable weight set to `w` everywhere; grads all `g`.
struct Fixture {
  Graph graph = make_mlp({2, 2}, 1);
  ParamSet params, grads;
  explicit Fixture(float w) {
    params = graph.values;
    for (Tensor& t : params) t = Tensor(t.shape(), w);
    grads = params;
  }
  void set_grad(float g) {
    for (Tensor& t : grads) t = Tensor(t.shape(), g);
  }
};

TEST(Optimizer, SgdMomentumWithWeightDecayMatchesHandValues) {
  Fixture f(1.0f);
  Optimizer opt({OptimizerKind::Sgd, 0.1, 0.9, 0.01}, f.graph);
  f.set_grad(0.5f);
  opt.step(f.params, f.grads, 0.1);
  EXPECT_NEAR(f.params[0][0], 0.949, kFloatTol);
  EXPECT_NEAR(opt.state()[0][0], 0.51, kFloatTol);
  opt.step(f.params, f.grads, 0.1);
  EXPECT_NEAR(f.params[0][0], 0.852151, kFloatTol);
  EXPECT_NEAR(f.params[1][1], 0.852151, kFloatTol);  // biases move too
}

TEST(Optimizer, AdamWMatchesHandValues) {
  Fixture f(1.0f);
  OptimizerConfig cfg{OptimizerKind::AdamW, 0.01, 0.0, 0.1};
  Optimizer opt(cfg, f.graph);
  f.set_grad(0.5f);
  opt.step(f.params, f.grads, 0.01);
  EXPECT_NEAR(f.params[0][0], 0.9890000002, kFloatTol);
  f.set_grad(-0.25f);
  opt.step(f.params, f.grads, 0.01);
  EXPECT_NEAR(f.params[0][0], 0.9853476298705847, kFloatTol);
  EXPECT_EQ(opt.steps(), 2);
  EXPECT_EQ(opt.state().size(), 2 * f.params.size());  // first and second moments
}

TEST(Optimizer, ExtraTensorsGetTheUpdateWithoutWeightDecay) {
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::AdamW}) {
    Fixture f(1.0f);
    const bool sgd = kind == OptimizerKind::Sgd;
    Optimizer opt({kind, sgd ? 0.1 : 0.01, 0.9, sgd ? 0.01 : 0.1}, f.graph, {Shape{3}});
    std::vector<Tensor> extra{Tensor(Shape{3}, 1.0f)}, extra_grads{Tensor(Shape{3}, 0.5f)};
    f.set_grad(0.5f);
    opt.step(f.params, f.grads, extra, extra_grads, sgd ? 0.1 : 0.01);
    EXPECT_NEAR(f.params[0][0], sgd ? 0.949 : 0.9890000002, kFloatTol);  // decayed as before
    EXPECT_NEAR(extra[0][2], sgd ? 0.95 : 0.99000000002, kFloatTol);     // not decayed
    EXPECT_EQ(opt.state().size(), (sgd ? 1 : 2) * (f.params.size() + 1));
  }
}

TEST(Optimizer, RunningStatisticsDoNotMove) {
  const Graph g = make_residual_cnn(1);
  ParamSet params = g.values, grads = g.values;
  for (Tensor& t : grads) t = Tensor(t.shape(), 1.0f);
  Optimizer opt({OptimizerKind::Sgd, 0.1, 0.9, 0.0}, g);
  opt.step(params, grads, 0.1);
  for (std::size_t p = 0; p < params.size(); ++p) {
    const bool moved = params[p][0] != g.values[p][0];
    EXPECT_EQ(moved, g.params[p].trainable()) << g.params[p].name;
  }
}

TEST(Optimizer, RejectsBadHyperparameters) {
  const Graph g = make_mlp({2, 2}, 1);
  EXPECT_THROW(Optimizer({OptimizerKind::Sgd, -1.0}, g), UsageError);
  EXPECT_THROW(Optimizer({OptimizerKind::Sgd, 0.1, 1.0}, g), UsageError);
  EXPECT_THROW(parse_optimizer("adam"), UsageError);
}

// Step: 0.1·0.5^⌊e/2⌋; cosine: ½(1 + cos(π t/T)) at t = 0, T/2 and the last step.
TEST(Schedule, StepAndCosineValues) {
  const ScheduleConfig step{ScheduleKind::Step, 2, 0.5};
  EXPECT_DOUBLE_EQ(learning_rate(step, 0.1, 1, 6, 5, 10), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(step, 0.1, 5, 6, 0, 10), 0.025);
  const ScheduleConfig cos{ScheduleKind::Cosine};
  EXPECT_DOUBLE_EQ(learning_rate(cos, 0.1, 0, 2, 0, 10), 0.1);
  EXPECT_NEAR(learning_rate(cos, 0.1, 1, 2, 0, 10), 0.05, 1e-15);
  EXPECT_NEAR(learning_rate(cos, 0.1, 1, 2, 9, 10), 0.05 * (1 + std::cos(M_PI * 19 / 20)), 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate({}, 0.1, 3, 4, 7, 10), 0.1);
  EXPECT_THROW(parse_schedule("linear"), UsageError);
}

}  // namespace

// The step reports non-finite results (the trainer's "diverged" check): one infinite or NaN
// gradient element anywhere in a tensor larger than a parallel chunk (2^14 elements) and not at a
// lane boundary must be seen, by SGD and AdamW alike; finite updates report true.
TEST(Optimizer, StepReportsWhetherEveryUpdatedValueIsFinite) {
  const Graph graph = make_mlp({200, 100, 3}, 1);  // W [100, 200]: 20,000 elements, two chunks
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::AdamW})
    for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), 0.25f}) {
      ParamSet params = graph.values, grads = graph.values;
      for (Tensor& t : grads) t = Tensor(t.shape(), 0.5f);
      grads[0][19'997] = bad;
      Optimizer opt({kind, 0.1, 0.9, 0.01}, graph);
      EXPECT_EQ(opt.step(params, grads, 0.1), std::isfinite(bad)) << optimizer_name(kind) << " " << bad;
      EXPECT_EQ(std::isfinite(params[0][19'997]), std::isfinite(bad));
    }
}
