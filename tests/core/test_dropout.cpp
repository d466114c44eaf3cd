// The Dropout op (core/ops/dropout.cpp): inverted dropout in training forwards, identity in
// inference.
// - Mask statistics: over n = 64·1024 elements at ratio p the kept count is Binomial(n, 1 − p)
//   if the Philox words are uniform and independent; we accept |kept − n(1 − p)| ≤ 5σ,
//   σ = √(n·p·(1 − p)) (a false alarm has probability < 1e-6). Every kept element is x·(1/(1 − p))
//   computed in float exactly as the op does (compared exactly), every other one is 0.
// - Determinism: the mask is a function of (seed, stream, node, element) only: bitwise the same
//   for 1 and 2 threads and for a batch split differently into parallel chunks; another stream
//   (the next training step) gives another mask (agreement share p² + (1 − p)² = 0.58 at p = 0.3,
//   checked to lie below 0.65, 5σ of a binomial share over n elements is < 0.003).
// - Backward: dx = dy·mask, checked by hand (dy = 1 gives the multipliers) and by central
//   differences: for a fixed mask the op is linear, so the difference quotient is exact up to
//   float rounding (tolerance eps_f·S/h as in test_gradcheck.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/executor.hpp"
#include "core/parallel.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::random_tensor;

constexpr std::int64_t kRows = 64, kCols = 1024;
constexpr float kRatio = 0.3f;

Graph dropout_graph(float ratio) {
  Attributes a;
  a.floats["ratio"] = ratio;
  return test::single_op(OpType::Dropout, {kCols}, {}, a);
}

Tensor positive_input() { return random_tensor({kRows, kCols}, 1, 0.5f, 1.5f); }  // no zeros: 0 means dropped

Tensor training_output(const Graph& g, const Tensor& x, std::uint64_t stream, int threads = 1) {
  const ThreadScope t(threads);
  Executor ex(g);
  ex.set_dropout_stream(7, stream);
  return ex.forward(x, g.values, true);
}

TEST(DropoutOp, InferenceIsTheIdentity) {
  const Graph g = dropout_graph(kRatio);
  const Tensor x = positive_input();
  Executor ex(g);
  const Tensor& y = ex.forward(x, g.values, false);
  for (std::int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]);
}

TEST(DropoutOp, KeepRateWithinBinomialBoundAndScaleIsInverse) {
  const Graph g = dropout_graph(kRatio);
  const Tensor x = positive_input();
  const Tensor y = training_output(g, x, 3);
  const float scale = 1.0f / (1.0f - kRatio);
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.0f) continue;
    ASSERT_EQ(y[i], x[i] * scale) << i;
    ++kept;
  }
  const double n = static_cast<double>(x.size()), p = kRatio;
  EXPECT_NEAR(static_cast<double>(kept), n * (1 - p), 5.0 * std::sqrt(n * p * (1 - p)));
  // The mean is preserved: E[y] = x, so Σy/Σx ≈ 1 (relative sd √(p/((1−p)n)) ≈ 0.0025).
  double sy = 0.0, sx = 0.0;
  for (std::int64_t i = 0; i < y.size(); ++i) sy += y[i], sx += x[i];
  EXPECT_NEAR(sy / sx, 1.0, 0.02);
}

TEST(DropoutOp, MaskDependsOnTheStreamOnly) {
  const Graph g = dropout_graph(kRatio);
  const Tensor x = positive_input();
  const Tensor one = training_output(g, x, 5, 1), two = training_output(g, x, 5, 2);
  for (std::int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(one[i], two[i]) << i;
  // The first rows alone get the same mask as the first rows of the whole batch.
  const Tensor head(Shape{2, kCols}, std::span<const float>(x.data(), 2 * kCols));
  const Tensor y_head = training_output(g, head, 5, 2);
  for (std::int64_t i = 0; i < head.size(); ++i) ASSERT_EQ(y_head[i], one[i]) << i;
  const Tensor other = training_output(g, x, 6, 1);
  std::int64_t same = 0;
  for (std::int64_t i = 0; i < x.size(); ++i) same += (one[i] == 0.0f) == (other[i] == 0.0f);
  EXPECT_LT(static_cast<double>(same) / static_cast<double>(x.size()), 0.65);
}

TEST(DropoutOp, BackwardMultipliesByTheMask) {
  const Graph g = dropout_graph(0.5f);
  const Tensor x = random_tensor({3, kCols}, 2, 0.5f, 1.5f);
  Executor ex(g);
  ex.set_dropout_stream(1, 2);
  const Tensor y = ex.forward(x, g.values, true);
  ParamSet grads;
  ex.backward({{g.output, Tensor(y.shape(), 1.0f)}}, g.values, grads);
  for (std::int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(ex.grad(0)[i], y[i] == 0.0f ? 0.0f : 2.0f) << i;
}

TEST(DropoutOp, BackwardMatchesCentralDifferences) {
  Attributes a;
  a.floats["ratio"] = 0.4f;
  const Graph g = test::single_op(OpType::Dropout, {16}, {}, a);
  Tensor x = random_tensor({2, 16}, 4);
  const Tensor r = random_tensor({2, 16}, 5);
  Executor ex(g);
  ex.set_dropout_stream(9, 1);  // the same mask in every forward below
  auto loss = [&]() {
    const Tensor& y = ex.forward(x, g.values, true);
    double sum = 0.0;
    for (std::int64_t i = 0; i < y.size(); ++i) sum += static_cast<double>(r[i]) * y[i];
    return sum;
  };
  double scale = 0.0;
  const Tensor y0 = ex.forward(x, g.values, true);
  for (std::int64_t i = 0; i < y0.size(); ++i) scale += std::abs(r[i] * y0[i]);
  ParamSet grads;
  ex.backward({{g.output, r}}, g.values, grads);
  const Tensor dx = ex.grad(0);
  constexpr double kStep = 1e-3, kEpsF = std::numeric_limits<float>::epsilon();
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const float saved = x[i];
    x[i] = static_cast<float>(saved + kStep);
    const double up = loss(), hi = x[i];
    x[i] = static_cast<float>(saved - kStep);
    const double down = loss(), lo = x[i];
    x[i] = saved;
    const double numeric = (up - down) / (hi - lo);
    EXPECT_NEAR(dx[i], numeric, 1e-3 * std::abs(numeric) + kEpsF * scale / kStep) << i;
  }
}

}  // namespace
}  // namespace qreg
