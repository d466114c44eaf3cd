// The executor's restricted forward (ForwardOptions::keep): an inference pass that keeps only the
// values a caller reads may fuse a ReLU into the max-pool that is its only reader. Expected values
// come from the full forward of the same input (itself checked against direct loops in
// test_conv_pool.cpp and against PyTorch in the ONNX tests). The comparison is bitwise: max and
// ReLU commute exactly (max(max_i x_i, 0) = max_i max(x_i, 0) for any non-NaN floats), so the
// fused pool writes exactly the full pass's values. Graphs: the CNN (two conv → ReLU → 2×2 pool
// blocks: the vectorised pool path) and a ReLU into a 3×3 stride-2 padded pool (the general
// window path). Also pinned: what the restricted pass refuses (reading an unwritten value, a
// backward) and that a kept ReLU output disables its fusion.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::random_tensor;

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

/// Value ids of the outputs of every node with op `op`, in graph order.
std::vector<int> outputs_of(const Graph& g, OpType op) {
  std::vector<int> ids;
  for (const Node& n : g.nodes)
    if (n.op == op) ids.push_back(n.output);
  return ids;
}

/// Runs the full and the restricted forward on two executors and compares every kept value.
void expect_same_kept_values(const Graph& g, const Tensor& x, const ForwardOptions& opt) {
  Executor full(g), restricted(g);
  const Tensor& a = full.forward(x);
  const Tensor& b = restricted.forward(x, g.values, opt);
  EXPECT_TRUE(bitwise_equal(a, b)) << "output";
  for (const int v : opt.keep) EXPECT_TRUE(bitwise_equal(full.value(v), restricted.value(v))) << "value " << v;
}

TEST(RestrictedForward, CnnFusesReluIntoPoolBitwise) {
  const Graph g = make_cnn(3);
  const Tensor x = random_tensor({5, 1, 28, 28}, 1);
  ForwardOptions opt;
  opt.keep = outputs_of(g, OpType::Conv);
  expect_same_kept_values(g, x, opt);
  // The pools' outputs are downstream of the fused ReLUs: keeping them checks the fused pools.
  for (const int v : outputs_of(g, OpType::MaxPool)) opt.keep.push_back(v);
  expect_same_kept_values(g, x, opt);
}

TEST(RestrictedForward, RefusesUnwrittenValuesAndBackward) {
  const Graph g = make_cnn(3);
  const Tensor x = random_tensor({3, 1, 28, 28}, 2);
  Executor ex(g);
  ForwardOptions opt;
  opt.keep = {g.output};
  ex.forward(x, g.values, opt);
  const std::vector<int> relus = outputs_of(g, OpType::Relu);
  EXPECT_THROW(ex.value(relus.front()), UsageError);  // fused into the first pool: never written
  EXPECT_NO_THROW(ex.value(relus.back()));            // the last ReLU feeds a Gemm: not fused
  ParamSet grads;
  EXPECT_THROW(ex.backward({{g.output, Tensor(ex.value(g.output).shape())}}, g.values, grads), UsageError);
  ex.forward(x);  // a full forward makes every value readable and allows a backward again
  EXPECT_NO_THROW(ex.value(relus.front()));
  EXPECT_NO_THROW(ex.backward({{g.output, Tensor(ex.value(g.output).shape())}}, g.values, grads));
  opt.keep = {-1};
  EXPECT_THROW(ex.forward(x, g.values, opt), UsageError);
}

TEST(RestrictedForward, KeptReluIsWritten) {
  const Graph g = make_cnn(3);
  const Tensor x = random_tensor({2, 1, 28, 28}, 3);
  ForwardOptions opt;
  opt.keep = outputs_of(g, OpType::Relu);
  expect_same_kept_values(g, x, opt);
}

TEST(RestrictedForward, TrainingIgnoresKeep) {
  const Graph g = make_cnn(3);
  const Tensor x = random_tensor({2, 1, 28, 28}, 4);
  Executor ex(g);
  ForwardOptions opt;
  opt.training = true;
  opt.keep = {g.output};
  ex.forward(x, g.values, opt);
  EXPECT_NO_THROW(ex.value(outputs_of(g, OpType::Relu).front()));
}

TEST(RestrictedForward, GeneralPoolWindowPath) {
  // x [2, 7, 7] → ReLU → MaxPool 3×3 stride 2 pads 1 (not the 2×2 fast path): windows at the
  // border are clipped, and the inputs are centred on 0 so many windows are all negative (the
  // clamp decides their value).
  Graph g;
  g.name = "relu_pool";
  g.input_shape = {2, 7, 7};
  g.add_value("x", g.input_shape);
  Node relu;
  relu.name = "relu";
  relu.op = OpType::Relu;
  relu.inputs = {0};
  relu.output = g.add_value("r", {});
  Node pool;
  pool.name = "pool";
  pool.op = OpType::MaxPool;
  pool.inputs = {relu.output};
  pool.attrs.ints["kernel_shape"] = {3, 3};
  pool.attrs.ints["strides"] = {2, 2};
  pool.attrs.ints["pads"] = {1, 1, 1, 1};
  pool.output = g.add_value("y", {});
  g.output = pool.output;
  g.nodes = {relu, pool};
  g.finalize();
  ForwardOptions opt;
  opt.keep = {g.output};
  expect_same_kept_values(g, random_tensor({3, 2, 7, 7}, 5, -1.0f, 0.3f), opt);
  Executor ex(g);
  ex.forward(random_tensor({3, 2, 7, 7}, 5), g.values, opt);
  EXPECT_THROW(ex.value(relu.output), UsageError);
}

}  // namespace
}  // namespace qreg
