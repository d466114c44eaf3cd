// Executor behaviour: hand-derived spot values, shape-inference errors, value access, parameter
// swapping, thread-count determinism, batch-size independence, batch-norm running statistics and
// the built-in models.
// Spot values (derived here): x = 1..16 as a 4×4 image (row-major).
//  - Gemm W = [[1, 2], [3, 4]], b = [0.5, −1], x = [1, −1]: y = [1−2+0.5, 3−4−1] = [−0.5, −2].
//  - Conv 3×3, pad 1, all-ones kernel: y(0,0) = 1+2+5+6 = 14, y(0,1) = 1+2+3+5+6+7 = 24,
//    y(1,1) = 1+2+3+5+6+7+9+10+11 = 54, y(3,3) = 11+12+15+16 = 54. A kernel with only its
//    top-left tap set gives y(i,j) = x(i−1, j−1) (cross-correlation, zero outside).
//  - MaxPool 2×2 stride 2: [[6, 8], [14, 16]].
//  - AveragePool 3×3 stride 1 pad 1, count_include_pad = 0: y(0,0) = (1+2+5+6)/4 = 3.5,
//    y(0,1) = (1+2+3+5+6+7)/6 = 4, y(1,1) = 54/9 = 6.
// These are exact in float (small integers and halves), so they are compared with EXPECT_FLOAT_EQ
// (4 ULPs). Thread and parameter-swap checks are bitwise. Batch-size independence allows 1e-5
// relative: a batch of 1 takes Eigen's matrix-vector path, which sums in another order.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::random_tensor;
using test::single_op;

Tensor ramp_image() {
  Tensor x({1, 1, 4, 4});
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i + 1);
  return x;
}

Attributes window(std::vector<std::int64_t> k, std::int64_t stride, std::int64_t pad) {
  Attributes a;
  if (!k.empty()) a.ints["kernel_shape"] = k;
  a.ints["strides"] = {stride, stride};
  a.ints["pads"] = {pad, pad, pad, pad};
  return a;
}

TEST(Executor, GemmSpotValues) {
  const float w[] = {1, 2, 3, 4}, b[] = {0.5f, -1}, x[] = {1, -1};
  Graph g = single_op(OpType::Gemm, {2}, {{ParamRole::Weight, Tensor({2, 2}, w)}, {ParamRole::Bias, Tensor({2}, b)}});
  Executor ex(g);
  const Tensor& y = ex.forward(Tensor({1, 2}, x));
  EXPECT_FLOAT_EQ(y[0], -0.5f);
  EXPECT_FLOAT_EQ(y[1], -2.0f);
}

TEST(Executor, ConvPaddedSpotValues) {
  Graph g = single_op(OpType::Conv, {1, 4, 4}, {{ParamRole::Weight, Tensor({1, 1, 3, 3}, 1.0f)}}, window({}, 1, 1));
  Executor ex(g);
  const Tensor& y = ex.forward(ramp_image());
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_FLOAT_EQ(y[0], 14);
  EXPECT_FLOAT_EQ(y[1], 24);
  EXPECT_FLOAT_EQ(y[5], 54);
  EXPECT_FLOAT_EQ(y[15], 54);
  ParamSet shifted = g.values;
  std::fill(shifted[0].data(), shifted[0].data() + 9, 0.0f);
  shifted[0][0] = 1;  // top-left tap
  const Tensor& z = ex.forward(ramp_image(), shifted);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_FLOAT_EQ(z[i * 4 + j], (i && j) ? static_cast<float>((i - 1) * 4 + j) : 0.0f) << i << "," << j;
}

TEST(Executor, PoolSpotValues) {
  Graph mp = single_op(OpType::MaxPool, {1, 4, 4}, {}, window({2, 2}, 2, 0));
  Executor a(mp);
  const Tensor& m = a.forward(ramp_image());
  ASSERT_EQ(m.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(std::vector<float>(m.values().begin(), m.values().end()), (std::vector<float>{6, 8, 14, 16}));
  Graph ap = single_op(OpType::AveragePool, {1, 4, 4}, {}, window({3, 3}, 1, 1));
  Executor b(ap);
  const Tensor& v = b.forward(ramp_image());
  EXPECT_FLOAT_EQ(v[0], 3.5f);
  EXPECT_FLOAT_EQ(v[1], 4.0f);
  EXPECT_FLOAT_EQ(v[5], 6.0f);
}

TEST(Executor, ShapeErrorsNameTheNode) {
  try {
    single_op(OpType::Gemm, {5}, {{ParamRole::Weight, Tensor({3, 4})}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the_node"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Gemm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(single_op(OpType::Conv, {2, 4, 4}, {{ParamRole::Weight, Tensor({1, 3, 3, 3})}}), Error);
  EXPECT_THROW(single_op(OpType::MaxPool, {1, 2, 2}, {}, window({3, 3}, 1, 0)), Error);
  EXPECT_THROW(single_op(OpType::Relu, {3}, {}, {}, 2), Error);
  EXPECT_THROW(parse_op_type("LSTM"), Error);
  EXPECT_EQ(parse_op_type("BatchNormalization"), OpType::BatchNormalization);
  const Graph relu = single_op(OpType::Relu, {3});
  Executor ex(relu);
  EXPECT_THROW(ex.forward(Tensor({2, 4})), Error);
}

TEST(Executor, ValuesReadableAfterForward) {
  Graph g = make_mlp({6, 5, 3}, 1);
  Executor ex(g);
  const Tensor x = random_tensor({4, 6}, 1);
  ex.forward(x);
  ASSERT_EQ(ex.value(0).shape(), (Shape{4, 6}));
  const Tensor& pre = ex.value(g.nodes[1].output);   // Gemm
  const Tensor& post = ex.value(g.nodes[2].output);  // Relu
  ASSERT_EQ(post.shape(), (Shape{4, 5}));
  for (std::int64_t i = 0; i < pre.size(); ++i) EXPECT_EQ(post[i], std::max(pre[i], 0.0f));
  EXPECT_THROW(ex.value(99), UsageError);
}

TEST(Executor, ParameterSwapWithoutRebuilding) {
  Graph g = make_residual_cnn(3);
  Executor ex(g);
  const Tensor x = random_tensor({2, 2, 6, 6}, 1);
  const Tensor y0 = ex.forward(x);
  ParamSet noisy = g.values;
  noisy[0][0] += 0.1f;
  const Tensor y1 = ex.forward(x, noisy);
  EXPECT_NE(std::vector<float>(y0.values().begin(), y0.values().end()),
            std::vector<float>(y1.values().begin(), y1.values().end()));
  const Tensor& y2 = ex.forward(x, g.values);
  for (std::int64_t i = 0; i < y0.size(); ++i) EXPECT_EQ(y0[i], y2[i]);
}

/// Forward + backward (training mode) at `threads`; returns output, dL/dx and all param grads.
std::vector<Tensor> run_at(const Graph& g, const Tensor& x, int threads) {
  ThreadScope scope(threads);
  Executor ex(g);
  std::vector<Tensor> out{ex.forward(x, g.values, true)};
  ParamSet grads;
  ex.backward({{g.output, random_tensor(out[0].shape(), 5)}}, g.values, grads);
  out.push_back(ex.grad(0));
  out.insert(out.end(), grads.begin(), grads.end());
  return out;
}

TEST(Executor, IdenticalForOneAndTwoThreads) {
  for (const Graph& g : {make_cnn(1), make_mlp({784, 256, 256, 10}, 1), make_residual_cnn(1)}) {
    Shape xs = g.input_shape;
    xs.insert(xs.begin(), 130);  // several GEMM row blocks and conv chunks, a ragged last one
    const Tensor x = random_tensor(xs, 2, 0.0f, 1.0f);
    const auto one = run_at(g, x, 1), two = run_at(g, x, 2);
    ASSERT_EQ(one.size(), two.size());
    for (std::size_t t = 0; t < one.size(); ++t)
      for (std::int64_t i = 0; i < one[t].size(); ++i) ASSERT_EQ(one[t][i], two[t][i]) << g.name << " tensor " << t;
  }
}

TEST(Executor, PerSampleOutputsIndependentOfBatchSize) {
  Graph g = make_cnn(2);
  const Tensor x = random_tensor({9, 1, 28, 28}, 3, 0.0f, 1.0f);
  Executor batch(g), single(g);
  const Tensor y = batch.forward(x);
  for (std::int64_t n : {0, 4, 8}) {
    Tensor xn({1, 1, 28, 28}, std::span<const float>(x.data() + n * 784, 784));
    const Tensor& yn = single.forward(xn);
    for (int c = 0; c < 10; ++c) EXPECT_NEAR(yn[c], y[n * 10 + c], 1e-5f * (1 + std::abs(yn[c])));
  }
}

TEST(Executor, BatchNormRunningStatistics) {
  Graph g = single_op(OpType::BatchNormalization, {1},
                      {{ParamRole::BnScale, Tensor({1}, 1.0f)},
                       {ParamRole::BnBias, Tensor({1}, 0.0f)},
                       {ParamRole::BnMean, Tensor({1}, 0.0f)},
                       {ParamRole::BnVar, Tensor({1}, 1.0f)}});
  const float xs[] = {1, 2, 3, 6};  // mean 3, unbiased variance (4+1+0+9)/3 = 14/3
  Executor ex(g);
  ParamSet p = g.values;
  ex.forward(Tensor({4, 1}, xs), p, true);
  ex.update_running_stats(p);
  EXPECT_FLOAT_EQ(p[2][0], 0.1f * 3);
  EXPECT_FLOAT_EQ(p[3][0], 0.9f + 0.1f * 14 / 3);
}

TEST(Executor, BackwardSeedsAndErrors) {
  Graph g = make_mlp({4, 3, 2}, 1);
  Executor ex(g);
  ParamSet grads;
  EXPECT_THROW(ex.backward({}, g.values, grads), UsageError);
  ex.forward(random_tensor({2, 4}, 1));
  EXPECT_THROW(ex.backward({{g.output, Tensor({3, 2})}}, g.values, grads), UsageError);
  ex.backward({{g.output, Tensor({2, 2}, 1.0f)}}, g.values, grads, false);
  EXPECT_EQ(grads.size(), g.params.size());
  for (float v : ex.grad(0).values()) EXPECT_EQ(v, 0.0f);  // input gradient skipped
}

TEST(CrossEntropy, SpotValuesAndStability) {
  const float z[] = {0, 0, 1000, 0};
  const Tensor logits({2, 2}, z);
  // Row 0: log 2; row 1 with label 1: log(e^1000 + 1) − 0 = 1000 (to double precision).
  EXPECT_NEAR(cross_entropy(logits, {0, 1}), (std::log(2.0) + 1000.0) / 2, 1e-9);
  Tensor grad;
  cross_entropy(logits, {0, 0}, &grad);
  EXPECT_FLOAT_EQ(grad[0], -0.25f);  // (0.5 − 1)/2
  EXPECT_FLOAT_EQ(grad[2], 0.0f);    // (1 − 1)/2
  EXPECT_THROW(cross_entropy(logits, {0, 2}), Error);
  EXPECT_THROW(cross_entropy(logits, {0}), Error);
}

TEST(Models, ShapesCountsAndReproducibleInit) {
  const Graph cnn = make_cnn(5);
  EXPECT_EQ(cnn.value_shapes[static_cast<std::size_t>(cnn.output)], (Shape{10}));
  // 16·9+16 + 32·16·9+32 + 1568·128+128 + 128·10+10
  EXPECT_EQ(cnn.num_parameters(), 160 + 4640 + 200832 + 1290);
  EXPECT_EQ(cnn.quantized_nodes().size(), 4u);
  const Graph a = make_mlp({784, 256, 256, 10}, 9), b = make_mlp({784, 256, 256, 10}, 9);
  const Graph c = make_mlp({784, 256, 256, 10}, 10);
  EXPECT_EQ(a.num_parameters(), 784 * 256 + 256 + 256 * 256 + 256 + 2570);
  for (std::size_t p = 0; p < a.values.size(); ++p)
    for (std::int64_t i = 0; i < a.values[p].size(); ++i) ASSERT_EQ(a.values[p][i], b.values[p][i]);
  EXPECT_NE(a.values[0][0], c.values[0][0]);
  const float bound = std::sqrt(6.0f / 784);
  for (float v : a.values[0].values()) ASSERT_LE(std::abs(v), bound);
  EXPECT_THROW(make_mlp({784}, 1), UsageError);
}

}  // namespace
}  // namespace qreg
