// The executor's restricted forward (ForwardOptions::keep): an inference pass that keeps only the
// values a caller reads may fuse a ReLU into the max-pool that is its only reader. Expected values
// come from the full forward of the same input (itself checked against direct loops in
// test_conv_pool.cpp and against PyTorch in the ONNX tests). The comparison is bitwise: max and
// ReLU commute exactly (max(max_i x_i, 0) = max_i max(x_i, 0) for any non-NaN floats), so the
// fused pool writes exactly the full pass's values. Graphs: the CNN (two conv → ReLU → 2×2 pool
// blocks: the vectorised pool path) and a ReLU into a 3×3 stride-2 padded pool (the general
// window path). Also pinned: what the restricted pass refuses (reading an unwritten value, a
// backward) and that a kept ReLU output disables its fusion. The streamed pass (a conv read only
// by a fused ReLU → max-pool, observed per sample and never stored) is checked the same way: the
// rows the observer receives against the full pass's values, bitwise, each sample exactly once,
// on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::bitwise_equal;
using test::random_tensor;

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

/// Streams `observe` through a restricted forward that keeps only the output, collecting every
/// observed value per sample; checks the rows against the full forward's values bitwise, that each
/// sample arrives exactly once, and the output.
void expect_streamed_rows_match(const Graph& g, const Tensor& x, const std::vector<int>& observe) {
  Executor full(g), streamed(g);
  const Tensor& a = full.forward(x);
  const std::int64_t n = x.dim(0);
  std::vector<std::vector<float>> rows(static_cast<std::size_t>(g.num_values()));
  std::vector<std::vector<int>> seen(rows.size(), std::vector<int>(static_cast<std::size_t>(n), 0));
  for (const int v : observe) rows[static_cast<std::size_t>(v)].resize(static_cast<std::size_t>(full.value(v).size()));
  ForwardOptions opt;
  opt.keep = {g.output};
  opt.observe = observe;
  opt.observer = [&](int v, std::int64_t s0, std::int64_t s1, const float* data) {
    const std::int64_t per = numel(g.value_shapes[static_cast<std::size_t>(v)]);
    std::copy(data, data + (s1 - s0) * per, rows[static_cast<std::size_t>(v)].begin() + s0 * per);
    for (std::int64_t s = s0; s < s1; ++s) ++seen[static_cast<std::size_t>(v)][static_cast<std::size_t>(s)];
  };
  const Tensor& b = streamed.forward(x, g.values, opt);
  EXPECT_TRUE(bitwise_equal(a, b)) << "output";
  for (const int v : observe) {
    const Tensor& ref = full.value(v);
    const auto& got = rows[static_cast<std::size_t>(v)];
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), sizeof(float) * got.size()), 0) << "value " << v;
    for (std::int64_t s = 0; s < n; ++s) EXPECT_EQ(seen[static_cast<std::size_t>(v)][static_cast<std::size_t>(s)], 1);
  }
}

TEST(StreamedForward, CnnConvOutputsObservedPerSampleBitwise) {
  const Graph g = make_cnn(3);
  const Tensor x = random_tensor({37, 1, 28, 28}, 6);                    // several conv chunks, the last partial
  std::vector<int> observe = outputs_of(g, OpType::Conv);                // streamed: never stored
  for (const int v : outputs_of(g, OpType::Gemm)) observe.push_back(v);  // stored, observed whole
  observe.push_back(outputs_of(g, OpType::MaxPool).back());              // written by the streamed conv
  expect_streamed_rows_match(g, x, observe);
  ThreadScope two(2);  // the observer is called from the conv's parallel chunks
  expect_streamed_rows_match(g, x, observe);
}

TEST(StreamedForward, StreamedConvIsNotReadable) {
  const Graph g = make_cnn(3);
  Executor ex(g);
  ForwardOptions opt;
  opt.keep = {g.output};
  opt.observe = outputs_of(g, OpType::Conv);
  opt.observer = [](int, std::int64_t, std::int64_t, const float*) {};
  ex.forward(random_tensor({2, 1, 28, 28}, 7), g.values, opt);
  EXPECT_THROW(ex.value(opt.observe.front()), UsageError);
  opt.observer = nullptr;  // observing without an observer is a usage error
  EXPECT_THROW(ex.forward(random_tensor({2, 1, 28, 28}, 7), g.values, opt), UsageError);
}

TEST(StreamedForward, ObservedReluIsNotFused) {
  const Graph g = make_cnn(3);
  expect_streamed_rows_match(g, random_tensor({3, 1, 28, 28}, 8), outputs_of(g, OpType::Relu));
}

/// x [2, 7, 7] → Conv 3×3 pad 1 (3 channels) → ReLU → MaxPool 3×3 stride 2 pads 1: the general
/// window path of the pool (windows clipped at the border), fused and streamed.
Graph conv_relu_pool() {
  Graph g;
  g.name = "conv_relu_pool";
  g.input_shape = {2, 7, 7};
  g.add_value("x", g.input_shape);
  Node conv;
  conv.name = "conv";
  conv.op = OpType::Conv;
  conv.inputs = {0};
  conv.attrs.ints["pads"] = {1, 1, 1, 1};
  conv.params.push_back(g.add_param("w", ParamRole::Weight, 0, random_tensor({3, 2, 3, 3}, 9)));
  conv.params.push_back(g.add_param("b", ParamRole::Bias, 0, random_tensor({3}, 10, -0.5f, 0.5f)));
  conv.output = g.add_value("c", {});
  Node relu;
  relu.name = "relu";
  relu.op = OpType::Relu;
  relu.inputs = {conv.output};
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
  g.nodes = {conv, relu, pool};
  g.finalize();
  return g;
}

TEST(RestrictedForward, GeneralPoolWindowPath) {
  const Graph g = conv_relu_pool();
  const Tensor x = random_tensor({3, 2, 7, 7}, 5);
  const int conv = g.nodes[0].output, relu = g.nodes[1].output;
  ForwardOptions opt;
  opt.keep = {conv};  // the conv is stored, the ReLU fused into the pool
  expect_same_kept_values(g, x, opt);
  Executor ex(g);
  ex.forward(x, g.values, opt);
  EXPECT_THROW(ex.value(relu), UsageError);
  expect_streamed_rows_match(g, x, {conv});  // the conv streams into the pool
}

}  // namespace
}  // namespace qreg
