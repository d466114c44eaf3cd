// Gradient checks of every engine op, of whole models and of cross_entropy, against central
// differences. The scalar is L = Σ r ⊙ y with a fixed random r, accumulated in double; the
// analytical gradient is the executor's backward seeded with r at the output.
//
// Step and tolerance. The forward runs in float, so L carries a rounding error of at most about
// eps_f·S with S = Σ|r|·|y|, and the central difference (L(θ+h) − L(θ−h)) / 2h turns it into an
// error of ~eps_f·S/h. Gemm, MatMul, Conv, pooling, Relu, Add and the reshapes are (piecewise)
// linear in any single entry, so away from kinks their central difference has no truncation
// error; Softmax, batch norm and cross-entropy are smooth with an O(h²) truncation error (~1e-6
// relative at h = 1e-3 for O(1) inputs). Hence h = 1e-3 and
//   |num − ana| ≤ kRel·|num| + kAbs·eps_f·S/h,  kRel = 1e-3, kAbs = 1
// (the measured worst single-op error is 0.15·eps_f·S/h: S overestimates the cancelling sum).
// A wrong gradient (a transposed weight, a missing batch-norm term, a dropped accumulation) is
// off by O(|ana|), far above eps_f·S/h ≈ 1e-3 here, and fails.
// Inputs avoid kinks: ReLU inputs have |x| ≥ 0.1 ≫ h, max-pool inputs are distinct multiples of
// 0.05 so no perturbation of h changes a window's argmax.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/executor.hpp"
#include "core/models.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::away_from_zero;
using test::random_tensor;
using test::single_op;

constexpr double kStep = 1e-3;
constexpr double kRel = 1e-3;
constexpr double kAbs = 1.0;
constexpr double kAbsComposite = 4.0;
constexpr double kEpsF = std::numeric_limits<float>::epsilon();

struct Check {
  const Graph& graph;
  Tensor x;
  ParamSet params;
  bool training = false;
  Tensor r;            // seed at the output
  double scale = 0.0;  // S = Σ|r|·|y|

  double abs_units = kAbs;  // allowance in units of eps_f·S/h

  Check(const Graph& g, Tensor input, bool train, double abs = kAbs)
      : graph(g), x(std::move(input)), params(g.values), training(train), abs_units(abs) {
    Executor ex(graph);
    const Tensor& y = ex.forward(x, params, training);
    r = random_tensor(y.shape(), 77);
    for (std::int64_t i = 0; i < y.size(); ++i) scale += std::abs(r[i]) * std::abs(y[i]);
  }

  double loss() {
    Executor ex(graph);
    const Tensor& y = ex.forward(x, params, training);
    double sum = 0.0;
    for (std::int64_t i = 0; i < y.size(); ++i) sum += static_cast<double>(r[i]) * y[i];
    return sum;
  }

  /// Compares the analytical gradient with central differences of every entry of `t`.
  void compare(Tensor& t, const Tensor& analytic, const std::string& what) {
    ASSERT_EQ(t.shape(), analytic.shape()) << what;
    const double tol_abs = abs_units * kEpsF * scale / kStep;
    for (std::int64_t i = 0; i < t.size(); ++i) {
      const float saved = t[i];
      t[i] = static_cast<float>(saved + kStep);
      const double up = loss(), hi = t[i];
      t[i] = static_cast<float>(saved - kStep);
      const double down = loss(), lo = t[i];
      t[i] = saved;
      const double numeric = (up - down) / (hi - lo);  // the step actually taken in float
      EXPECT_NEAR(analytic[i], numeric, kRel * std::abs(numeric) + tol_abs) << what << " entry " << i;
    }
  }

  /// Checks dL/dx and dL/dθ for every trainable parameter.
  void run() {
    Executor ex(graph);
    ex.forward(x, params, training);
    ParamSet grads;
    ex.backward({{graph.output, r}}, params, grads);
    const Tensor dx = ex.grad(0);
    compare(x, dx, "input");
    for (std::size_t p = 0; p < params.size(); ++p)
      if (graph.params[p].trainable()) compare(params[p], grads[p], "param " + graph.params[p].name);
  }
};

Attributes window(std::vector<std::int64_t> k, std::vector<std::int64_t> s, std::vector<std::int64_t> p,
                  std::vector<std::int64_t> d = {1, 1}) {
  Attributes a;
  if (!k.empty()) a.ints["kernel_shape"] = k;
  a.ints["strides"] = s;
  a.ints["pads"] = p;
  if (d != std::vector<std::int64_t>{1, 1}) a.ints["dilations"] = d;
  return a;
}

/// Distinct values k·0.05 in a scrambled order: max-pool argmaxes are stable under ±h.
Tensor distinct_grid(Shape shape) {
  Tensor t(std::move(shape));
  const std::int64_t n = t.size();
  for (std::int64_t i = 0; i < n; ++i) t[i] = static_cast<float>(((i * 37) % n) - n / 2) * 0.05f;
  return t;
}

TEST(GradCheck, Gemm) {
  Graph g = single_op(OpType::Gemm, {5},
                      {{ParamRole::Weight, random_tensor({3, 5}, 1)}, {ParamRole::Bias, random_tensor({3}, 2)}});
  Check(g, random_tensor({4, 5}, 3), false).run();
}

TEST(GradCheck, MatMulWithoutBias) {
  Graph g = single_op(OpType::MatMul, {2, 5}, {{ParamRole::Weight, random_tensor({5, 3}, 1)}});
  Check(g, random_tensor({3, 2, 5}, 3), false).run();
}

TEST(GradCheck, ConvPadded) {
  Graph g = single_op(OpType::Conv, {2, 5, 5},
                      {{ParamRole::Weight, random_tensor({3, 2, 3, 3}, 1)}, {ParamRole::Bias, random_tensor({3}, 2)}},
                      window({}, {1, 1}, {1, 1, 1, 1}));
  Check(g, random_tensor({2, 2, 5, 5}, 3), false).run();
}

TEST(GradCheck, ConvStridedDilatedAsymmetricPads) {
  Graph g = single_op(OpType::Conv, {2, 7, 6},
                      {{ParamRole::Weight, random_tensor({3, 2, 3, 2}, 1)}, {ParamRole::Bias, random_tensor({3}, 2)}},
                      window({}, {2, 1}, {1, 0, 2, 1}, {2, 1}));
  Check(g, random_tensor({2, 2, 7, 6}, 3), false).run();
}

TEST(GradCheck, ConvGrouped) {
  Attributes a = window({}, {1, 1}, {1, 1, 1, 1});
  a.ints["group"] = {2};
  Graph g = single_op(OpType::Conv, {4, 4, 4}, {{ParamRole::Weight, random_tensor({4, 2, 3, 3}, 1)}}, a);
  Check(g, random_tensor({2, 4, 4, 4}, 3), false).run();
}

TEST(GradCheck, Relu) {
  Graph g = single_op(OpType::Relu, {3, 4});
  Check(g, away_from_zero({2, 3, 4}, 3), false).run();
}

TEST(GradCheck, MaxPoolOverlappingPadded) {
  Graph g = single_op(OpType::MaxPool, {2, 5, 5}, {}, window({3, 3}, {2, 2}, {1, 1, 1, 1}));
  Check(g, distinct_grid({2, 2, 5, 5}), false).run();
}

TEST(GradCheck, AveragePoolExcludesPadding) {
  Graph g = single_op(OpType::AveragePool, {2, 5, 5}, {}, window({3, 3}, {2, 2}, {1, 1, 1, 1}));
  Check(g, random_tensor({2, 2, 5, 5}, 3), false).run();
}

TEST(GradCheck, GlobalAveragePool) {
  Graph g = single_op(OpType::GlobalAveragePool, {3, 4, 5});
  Check(g, random_tensor({2, 3, 4, 5}, 3), false).run();
}

TEST(GradCheck, FlattenAndReshape) {
  Graph f = single_op(OpType::Flatten, {2, 3, 2});
  Check(f, random_tensor({2, 2, 3, 2}, 3), false).run();
  Attributes a;
  a.ints["shape"] = {3, -1};
  Graph r = single_op(OpType::Reshape, {2, 3, 2}, {}, a);
  EXPECT_EQ(r.value_shapes[1], (Shape{3, 4}));
  Check(r, random_tensor({2, 2, 3, 2}, 3), false).run();
}

TEST(GradCheck, AddOfTheSameValueAccumulates) {
  Graph g = single_op(OpType::Add, {3, 2}, {}, {}, 2);  // y = x + x, dL/dx = 2r
  Check(g, random_tensor({2, 3, 2}, 3), false).run();
}

Graph batchnorm_graph() {
  return single_op(OpType::BatchNormalization, {3, 2, 2},
                   {{ParamRole::BnScale, random_tensor({3}, 1, 0.5f, 1.5f)},
                    {ParamRole::BnBias, random_tensor({3}, 2)},
                    {ParamRole::BnMean, random_tensor({3}, 4, -0.2f, 0.2f)},
                    {ParamRole::BnVar, random_tensor({3}, 5, 0.5f, 2.0f)}});
}

TEST(GradCheck, BatchNormInference) { Check(batchnorm_graph(), random_tensor({4, 3, 2, 2}, 3), false).run(); }

TEST(GradCheck, BatchNormTrainingFullGradient) { Check(batchnorm_graph(), random_tensor({4, 3, 2, 2}, 3), true).run(); }

TEST(GradCheck, BatchNormTrainingOnFeatures) {
  Graph g = single_op(OpType::BatchNormalization, {3},
                      {{ParamRole::BnScale, random_tensor({3}, 1, 0.5f, 1.5f)},
                       {ParamRole::BnBias, random_tensor({3}, 2)},
                       {ParamRole::BnMean, Tensor({3}, 0.0f)},
                       {ParamRole::BnVar, Tensor({3}, 1.0f)}});
  Check(g, random_tensor({5, 3}, 3), true).run();
}

TEST(GradCheck, Softmax) {
  Graph g = single_op(OpType::Softmax, {2, 5});
  Check(g, random_tensor({3, 2, 5}, 3, -2.0f, 2.0f), false).run();
}

TEST(GradCheck, ResidualCnnBothBatchNormModes) {
  Graph g = make_residual_cnn(7);
  const Tensor x = random_tensor({3, 2, 6, 6}, 10);
  // A composite model can sit within h of a ReLU or max-pool kink for some entry (then the
  // difference quotient straddles it); model seed 7 with input stream 10 was checked to have
  // none (input streams 3, 5-9 and 12 do hit one). Rounding passes through more ops, so
  // the absolute allowance is kAbsComposite (measured worst: 0.8 units of eps_f·S/h).
  Check(g, x, false, kAbsComposite).run();
  Check(g, x, true, kAbsComposite).run();
}

TEST(GradCheck, CrossEntropy) {
  const Tensor logits = random_tensor({4, 5}, 3, -3.0f, 3.0f);
  const std::vector<std::int32_t> labels = {0, 4, 2, 2};
  Tensor grad;
  cross_entropy(logits, labels, &grad);
  Tensor z = logits;
  for (std::int64_t i = 0; i < z.size(); ++i) {
    const float saved = z[i];
    z[i] = static_cast<float>(saved + kStep);
    const double up = cross_entropy(z, labels), hi = z[i];
    z[i] = static_cast<float>(saved - kStep);
    const double down = cross_entropy(z, labels), lo = z[i];
    z[i] = saved;
    const double numeric = (up - down) / (hi - lo);
    EXPECT_NEAR(grad[i], numeric, kRel * std::abs(numeric) + kAbs * kEpsF / kStep) << "logit " << i;
  }
}

}  // namespace
}  // namespace qreg
