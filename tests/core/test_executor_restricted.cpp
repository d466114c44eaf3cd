// The executor's restricted backward (BackwardOptions: no parameter gradients, only the values
// a caller wants): every gradient it writes is compared with the full backward of the same seed.
// Expected values come from the full pass (itself checked against finite differences in
// test_gradcheck.cpp). The comparison is bitwise: the input-gradient-only path calls the same
// kernels (ops::dense_backward / ops::conv_backward with dw == nullptr, the same batch-norm kernel)
// and their dx does not depend on whether dw is computed, so no rounding difference is allowed. Graphs: the CNN (conv,
// ReLU, max pool, dense) and the residual CNN (batch norm, residual Add, average pool).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::bitwise_equal;
using test::random_tensor;

/// Seeds `seed_value` with a random tensor; checks the restricted pass against the full one.
void check_restricted(const Graph& g, const Tensor& x, int seed_value, const std::vector<int>& wanted) {
  Executor ex(g);
  ex.forward(x);
  const std::vector<std::pair<int, Tensor>> seeds{{seed_value, random_tensor(ex.value(seed_value).shape(), 7)}};
  ParamSet full_grads;
  ex.backward(seeds, g.values, full_grads);
  std::vector<Tensor> full;
  for (int v = 0; v < g.num_values(); ++v) full.push_back(ex.grad(v));

  BackwardOptions opt;
  opt.input_grad = false;
  opt.param_grads = false;
  opt.wanted = wanted;
  ParamSet untouched;  // must stay empty: no parameter gradients
  ex.backward(seeds, g.values, untouched, opt);
  EXPECT_TRUE(untouched.empty());
  int written = 0;
  for (int v = 0; v < g.num_values(); ++v) {
    SCOPED_TRACE(g.name + " value " + g.value_names[static_cast<std::size_t>(v)]);
    const bool is_wanted = std::find(wanted.begin(), wanted.end(), v) != wanted.end();
    if (v == 0 || v > seed_value) {  // the input (input_grad = false) and values after the seed
      if (v > seed_value || !is_wanted) {
        EXPECT_THROW(ex.grad(v), UsageError);
      }
      continue;
    }
    try {
      EXPECT_TRUE(bitwise_equal(ex.grad(v), full[static_cast<std::size_t>(v)]));
      ++written;
    } catch (const UsageError&) {
      EXPECT_FALSE(is_wanted) << "a wanted gradient was not computed";
    }
  }
  EXPECT_GE(written, static_cast<int>(wanted.size()));
}

TEST(ExecutorRestricted, CnnEqualsFullBackwardBitwise) {
  const Graph g = make_cnn(1);
  const Tensor x = random_tensor({5, 1, 28, 28}, 1, 0.0f, 1.0f);
  const auto layers = g.quantized_nodes();
  auto out = [&](std::size_t k) { return g.nodes[static_cast<std::size_t>(layers[k])].output; };
  check_restricted(g, x, g.output, {out(0), out(1), out(2)});
  check_restricted(g, x, out(1), {out(0)});  // seed inside the graph, stop at the first conv
}

TEST(ExecutorRestricted, ResidualCnnEqualsFullBackwardBitwise) {
  const Graph g = make_residual_cnn(3);  // conv, batch norm, residual add, max and average pool
  const Tensor x = random_tensor({4, 2, 6, 6}, 2);
  const auto layers = g.quantized_nodes();
  check_restricted(g, x, g.output, {g.nodes[static_cast<std::size_t>(layers[0])].output});
}

TEST(ExecutorRestricted, StopsAtTheEarliestWantedValue) {
  const Graph g = make_cnn(1);
  Executor ex(g);
  ex.forward(random_tensor({2, 1, 28, 28}, 3, 0.0f, 1.0f));
  const int conv2 = g.nodes[static_cast<std::size_t>(g.quantized_nodes()[1])].output;
  BackwardOptions opt;
  opt.param_grads = false;
  opt.wanted = {conv2};
  ParamSet grads;
  ex.backward({{g.output, random_tensor(ex.value(g.output).shape(), 4)}}, g.values, grads, opt);
  EXPECT_NO_THROW(ex.grad(conv2));
  EXPECT_THROW(ex.grad(conv2 - 1), UsageError);  // the value feeding the second conv: not needed
  EXPECT_THROW(ex.grad(0), UsageError);
  opt.wanted = {g.num_values()};
  EXPECT_THROW(ex.backward({{g.output, ex.value(g.output)}}, g.values, grads, opt), UsageError);
  // A full pass afterwards writes every gradient again.
  ex.backward({{g.output, ex.value(g.output)}}, g.values, grads);
  EXPECT_NO_THROW(ex.grad(0));
  EXPECT_EQ(grads.size(), g.values.size());
}

// Residual block a = relu(bn(conv1)), c = conv2(a), out = c + a. Wanting only c, the Add runs
// (c is needed) and adds its share into grad(a), but conv2 (whose input a does not depend on c)
// does not: grad(a) would be a partial sum, so it must throw rather than be returned.
TEST(ExecutorRestricted, PartialGradientOfASkipInputIsNotReadable) {
  const Graph g = make_residual_cnn(2);
  Executor ex(g);
  ex.forward(random_tensor({2, 2, 6, 6}, 5, 0.0f, 1.0f));
  const Node& conv2 = g.nodes[static_cast<std::size_t>(g.quantized_nodes()[1])];
  const int a = conv2.inputs[0], c = conv2.output;
  const Tensor seed = random_tensor(ex.value(g.output).shape(), 6);
  ParamSet grads;
  ex.backward({{g.output, seed}}, g.values, grads);
  const Tensor full_c = ex.grad(c);
  BackwardOptions opt;
  opt.param_grads = false;
  opt.wanted = {c};
  ex.backward({{g.output, seed}}, g.values, grads, opt);
  ASSERT_EQ(ex.grad(c).size(), full_c.size());
  EXPECT_EQ(std::memcmp(ex.grad(c).data(), full_c.data(), sizeof(float) * static_cast<std::size_t>(full_c.size())), 0);
  EXPECT_THROW(ex.grad(a), UsageError);
}

}  // namespace
}  // namespace qreg
