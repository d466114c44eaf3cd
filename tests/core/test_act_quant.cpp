// The activation fake-quantizer op (core/ops/act_quant.cpp) and the graph transforms of
// core/act_quant.hpp.
//
// Expected values are worked out by hand from the definition y = s·clamp(rint(x/s), 0, 2^B − 1),
// s = max/(2^B − 1): with B = 2 and max 3 the step is exactly 1, so y is x rounded half to even
// and clipped to [0, 3]; with max 0.75, s = 0.25 (exact in float) and every x/s, rint and s·q is
// exact, so comparisons are exact. The running max follows m' = 0.9·m + 0.1·batch max (first
// batch: m' = batch max), computed in float as the op does; compared exactly.
// Backward is the straight-through estimator: the test checks the designed surrogate
// (dx = dy on [0, max], 0 above), not a finite difference of the step function. Where the
// function is differentiable, central differences must agree: above the max (clamped, slope 0),
// and for the weights downstream of a quantizer (a Gemm after it is linear in its weights for
// fixed quantized inputs: the difference quotient is exact up to float rounding; tolerance as in
// test_gradcheck.cpp, eps_f·S/h with S = Σ|r·y|).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/act_quant.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::random_tensor;

/// x [N, F] → ActQuant(bits) with running max `max`.
Graph quantizer(std::int64_t features, int bits, float max) {
  Attributes a;
  a.ints["bits"] = {bits};
  a.floats["momentum"] = kActQuantMomentum;
  return test::single_op(OpType::ActQuant, {features}, {{ParamRole::ActMax, Tensor({1}, max)}}, a);
}

Tensor row(std::vector<float> v) {
  return Tensor({1, static_cast<std::int64_t>(v.size())}, std::span<const float>(v.data(), v.size()));
}

void expect_values(const Tensor& t, const std::vector<float>& want) {
  ASSERT_EQ(t.size(), static_cast<std::int64_t>(want.size()));
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t[static_cast<std::int64_t>(i)], want[i]) << "entry " << i;
}

TEST(ActQuantOp, InferenceHandValuesStepOne) {
  const Graph g = quantizer(10, 2, 3.0f);  // s = 3/3 = 1, codes 0..3
  Executor ex(g);
  const Tensor& y = ex.forward(row({0.0f, 0.4f, 0.5f, 1.5f, 2.5f, 2.6f, 3.0f, 3.4f, 7.0f, -1.0f}), g.values);
  // rint rounds half to even (0.5 → 0, 1.5 → 2, 2.5 → 2), as ONNX Round; above 3 and below 0 clip.
  expect_values(y, {0, 0, 0, 2, 2, 3, 3, 3, 3, 0});
}

TEST(ActQuantOp, InferenceHandValuesQuarterStep) {
  const Graph g = quantizer(6, 2, 0.75f);  // s = 0.25
  Executor ex(g);
  const Tensor& y = ex.forward(row({0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 5.0f}), g.values);
  expect_values(y, {0.0f, 0.25f, 0.25f, 0.5f, 0.75f, 0.75f});
}

TEST(ActQuantOp, UncalibratedQuantizerOutputsZeros) {
  const Graph g = quantizer(3, 8, 0.0f);
  Executor ex(g);
  expect_values(ex.forward(row({0.0f, 1.0f, 100.0f}), g.values), {0, 0, 0});
}

TEST(ActQuantOp, TrainingForwardUpdatesTheRunningMax) {
  const Graph g = quantizer(4, 2, 0.0f);
  Executor ex(g);
  ParamSet p = g.values;
  // First batch: m' = batch max = 3, so s = 1.
  expect_values(ex.forward(row({0.4f, 1.6f, 3.0f, 2.5f}), p, true), {0, 2, 3, 2});
  ex.update_running_stats(p);
  EXPECT_EQ(p[0][0], 3.0f);
  // Second batch, max 13: m' = 0.9·3 + 0.1·13 (float), quantized with that m' already.
  const float m2 = 0.9f * 3.0f + (1.0f - 0.9f) * 13.0f, s2 = m2 / 3.0f;  // m2 ≈ 4, s2 ≈ 4/3
  const Tensor& y = ex.forward(row({13.0f, 0.0f, 1.0f, 2.0f}), p, true);
  expect_values(y, {3.0f * s2, 0.0f, s2, 2.0f * s2});  // 13 clips; 1/s2 ≈ 0.75 → 1; 2/s2 ≈ 1.5 → 2
  ex.update_running_stats(p);
  EXPECT_EQ(p[0][0], m2);
  // Inference uses the running max as it is and leaves it alone.
  ex.forward(row({100.0f, 0.0f, 0.0f, 0.0f}), p, false);
  ex.update_running_stats(p);
  EXPECT_EQ(p[0][0], m2);
}

TEST(ActQuantOp, BackwardIsStraightThroughOnTheRange) {
  const Graph g = quantizer(5, 2, 3.0f);
  Executor ex(g);
  ex.forward(row({0.0f, 0.4f, 2.9f, 3.0f, 3.5f}), g.values);
  ParamSet grads;
  ex.backward({{g.output, row({1.0f, 2.0f, 3.0f, 4.0f, 5.0f})}}, g.values, grads);
  expect_values(ex.grad(0), {1, 2, 3, 4, 0});  // 0 ≤ x ≤ max passes, above the max is cut
  expect_values(grads[0], {0});                // the running max is not trained
}

TEST(ActQuantOp, ClampedRegionAgreesWithCentralDifference) {
  // Above the max the output is constant: slope 0, exactly what backward gives there.
  const Graph g = quantizer(3, 4, 1.0f);
  Tensor x = row({1.5f, 2.0f, 9.0f});
  Executor ex(g);
  ex.forward(x, g.values);
  ParamSet grads;
  ex.backward({{g.output, row({1.0f, 1.0f, 1.0f})}}, g.values, grads);
  for (std::int64_t i = 0; i < 3; ++i) {
    Tensor up = x, down = x;
    up[i] += 1e-2f;
    down[i] -= 1e-2f;
    const float diff = ex.forward(up, g.values)[i] - ex.forward(down, g.values)[i];
    EXPECT_EQ(diff, 0.0f);
    EXPECT_EQ(ex.grad(0)[i], 0.0f);
  }
}

TEST(ActQuantOp, WeightsAfterTheQuantizerMatchCentralDifferences) {
  Graph g = with_activation_quant(make_mlp({6, 8, 3}, 5), 8);
  const Tensor x = random_tensor({4, 6}, 3);
  Executor ex(g);
  ParamSet p = g.values;
  ex.forward(x, p, true);
  ex.update_running_stats(p);  // calibrate
  const Tensor r = random_tensor({4, 3}, 9);
  auto loss = [&](const ParamSet& q) {
    const Tensor& y = ex.forward(x, q);
    double sum = 0.0;
    for (std::int64_t i = 0; i < y.size(); ++i) sum += static_cast<double>(r[i]) * y[i];
    return sum;
  };
  double scale = 0.0;
  const Tensor y0 = ex.forward(x, p);
  for (std::int64_t i = 0; i < y0.size(); ++i) scale += std::abs(r[i] * y0[i]);
  ParamSet grads;
  ex.backward({{g.output, r}}, p, grads);
  const int w2 = g.nodes.back().params[0];  // the last Gemm's weight reads quantized activations
  constexpr double kStep = 1e-3, kEpsF = std::numeric_limits<float>::epsilon();
  for (std::int64_t i = 0; i < p[static_cast<std::size_t>(w2)].size(); ++i) {
    ParamSet q = p;
    Tensor& w = q[static_cast<std::size_t>(w2)];
    const float saved = w[i];
    w[i] = static_cast<float>(saved + kStep);
    const double up = loss(q), hi = w[i];
    w[i] = static_cast<float>(saved - kStep);
    const double down = loss(q), lo = w[i];
    const double numeric = (up - down) / (hi - lo);
    EXPECT_NEAR(grads[static_cast<std::size_t>(w2)][i], numeric, 1e-3 * std::abs(numeric) + kEpsF * scale / kStep) << i;
  }
}

// ---- graph transforms ----------------------------------------------------------------------------

/// The node right after every Relu of `g` (by graph order) and what reads the Relu's output.
void expect_after_every_relu(const Graph& g, OpType op, int count) {
  int found = 0;
  for (std::size_t i = 0; i + 1 < g.nodes.size(); ++i) {
    if (g.nodes[i].op != OpType::Relu) continue;
    const Node& next = g.nodes[i + 1];
    ASSERT_EQ(next.op, op) << "after " << g.nodes[i].name;
    ASSERT_EQ(next.inputs, std::vector<int>{g.nodes[i].output});
    for (const Node& n : g.nodes)  // nothing else reads the Relu's output any more
      if (&n != &next) {
        for (int in : n.inputs) EXPECT_NE(in, g.nodes[i].output) << n.name;
      }
    ++found;
  }
  EXPECT_EQ(found, count);
}

TEST(ActQuantTransform, BuiltInMlpAndCnn) {
  for (const Graph& base : {make_mlp({784, 32, 16, 10}, 1), make_cnn(1)}) {
    const Graph g = with_activation_quant(base, 16);
    SCOPED_TRACE(base.name);
    expect_after_every_relu(g, OpType::ActQuant, base.name == "mlp" ? 2 : 3);
    EXPECT_EQ(g.nodes.size(), base.nodes.size() + (base.name == "mlp" ? 2u : 3u));
    EXPECT_EQ(g.quantized_nodes().size(), base.quantized_nodes().size());
    EXPECT_EQ(g.num_parameters(), base.num_parameters());  // the running max is not trainable
    EXPECT_EQ(g.value_shapes[static_cast<std::size_t>(g.output)], Shape{10});
    for (std::size_t p = 0; p < base.params.size(); ++p) {  // old parameters keep ids and values
      EXPECT_EQ(g.params[p].name, base.params[p].name);
      EXPECT_EQ(g.nodes[static_cast<std::size_t>(g.params[p].node)].name,
                base.nodes[static_cast<std::size_t>(base.params[p].node)].name);
    }
    for (std::size_t p = base.params.size(); p < g.params.size(); ++p) {
      EXPECT_EQ(g.params[p].role, ParamRole::ActMax);
      EXPECT_EQ(g.values[p].shape(), Shape{1});
      EXPECT_EQ(g.values[p][0], 0.0f);
      EXPECT_NE(g.params[p].name.find(".act_max"), std::string::npos);
    }
    // Calibrated on the same batch (nothing clips), 16-bit quantizers move each activation by at
    // most s/2 = max/131070, so the logits stay within ~1e-4 of the float model's.
    const Tensor x = random_tensor({2, 1, 28, 28}, 4, 0.0f, 1.0f);
    Executor ex0(base), ex(g);
    ParamSet p = g.values;
    ex.forward(x, p, true);
    ex.update_running_stats(p);
    const Tensor y0 = ex0.forward(x);
    const Tensor y = ex.forward(x, p);
    for (std::int64_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], y0[i], 1e-3 * (std::abs(y0[i]) + 1.0)) << i;
  }
}

TEST(ActQuantTransform, QuantizerFollowsEveryReluOfAResidualModel) {
  const Graph base = make_residual_cnn(2);
  const Graph g = with_activation_quant(base, 8);
  expect_after_every_relu(g, OpType::ActQuant, 2);
  // The first Relu's value fed the second Conv and the residual Add: both now read its quantizer.
  const int q0 = g.nodes[3].output;
  int readers = 0;
  for (const Node& n : g.nodes)
    for (int in : n.inputs) readers += in == q0;
  EXPECT_EQ(readers, 2);
}

TEST(DropoutTransform, AfterHiddenRelusAndAfterTheirQuantizers) {
  const Graph mlp = make_mlp({16, 8, 8, 4}, 1);
  const Graph d = with_dropout(mlp, 0.25f);
  expect_after_every_relu(d, OpType::Dropout, 2);
  EXPECT_EQ(dropout_ratio(d), 0.25f);
  EXPECT_EQ(activation_bits(d), 32);
  const Graph qd = with_dropout(with_activation_quant(mlp, 8), 0.25f);
  expect_after_every_relu(qd, OpType::ActQuant, 2);
  for (std::size_t i = 0; i < qd.nodes.size(); ++i)
    if (qd.nodes[i].op == OpType::ActQuant) {
      EXPECT_EQ(qd.nodes[i + 1].op, OpType::Dropout);
    }
  EXPECT_EQ(activation_bits(qd), 8);
  EXPECT_EQ(with_dropout(mlp, 0.0f).nodes.size(), mlp.nodes.size());
}

TEST(DropoutTransform, NotAfterAReluThatIsTheOutput) {
  Graph g = test::single_op(OpType::Relu, {4});
  EXPECT_EQ(with_dropout(g, 0.5f).nodes.size(), 1u);
  EXPECT_EQ(with_activation_quant(g, 8).nodes.size(), 2u);  // quantizing an output Relu is fine
}

TEST(ActQuantTransform, BadArgumentsAreUsageErrors) {
  const Graph mlp = make_mlp({4, 4, 2}, 1);
  EXPECT_THROW(with_activation_quant(mlp, 1), UsageError);
  EXPECT_THROW(with_activation_quant(mlp, 17), UsageError);
  EXPECT_THROW(with_activation_quant(with_activation_quant(mlp, 8), 8), UsageError);
  EXPECT_THROW(with_dropout(mlp, 1.0f), UsageError);
  EXPECT_THROW(with_dropout(mlp, -0.1f), UsageError);
  EXPECT_THROW(with_dropout(with_dropout(mlp, 0.1f), 0.1f), UsageError);
  Attributes bad;
  bad.ints["bits"] = {1};
  EXPECT_THROW(test::single_op(OpType::ActQuant, {3}, {{ParamRole::ActMax, Tensor({1})}}, bad), Error);
}

}  // namespace
}  // namespace qreg
