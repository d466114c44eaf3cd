// Tests of graph-level quantization (core/quantize_graph.hpp) on a small hand-built graph
// (Gemm -> Relu -> MatMul -> Conv, filled through Graph's public fields only). Expected values
// come from the tensor quantizer itself (tested in test_quantizer.cpp): each weight must equal
// fake_quantize with the op's channel axis, biases must be untouched bit for bit, and layers must
// follow node order even when parameters are listed in another order.
#include <gtest/gtest.h>

#include <limits>

#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/quantize_graph.hpp"
#include "core/synthetic.hpp"

namespace qreg {
namespace {

Graph small_graph() {
  Graph g;
  auto node = [&](const char* name, OpType op) {
    Node n;
    n.name = name;
    n.op = op;
    g.nodes.push_back(n);
  };
  node("fc1", OpType::Gemm);
  node("relu", OpType::Relu);
  node("proj", OpType::MatMul);
  node("conv", OpType::Conv);
  // Parameters deliberately out of node order: conv weight first.
  auto param = [&](const char* name, ParamRole role, int owner, Shape shape, std::uint64_t seed) {
    g.params.push_back({name, role, owner});
    g.values.push_back(synthetic_tensor(Distribution::Normal, shape, seed));
    g.nodes[static_cast<std::size_t>(owner)].params.push_back(static_cast<int>(g.params.size()) - 1);
  };
  param("conv.weight", ParamRole::Weight, 3, {4, 2, 3, 3}, 1);
  param("fc1.weight", ParamRole::Weight, 0, {6, 5}, 2);
  param("fc1.bias", ParamRole::Bias, 0, {6}, 3);
  param("proj.weight", ParamRole::Weight, 2, {6, 3}, 4);
  return g;
}

TEST(QuantizeGraph, LayersInNodeOrderWithChannelAxes) {
  const Graph g = small_graph();
  const auto layers = quantized_layers(g);
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0], std::make_pair(0, 1));
  EXPECT_EQ(layers[1], std::make_pair(2, 3));
  EXPECT_EQ(layers[2], std::make_pair(3, 0));
  EXPECT_EQ(weight_channel_axis(OpType::Gemm), 0);
  EXPECT_EQ(weight_channel_axis(OpType::Conv), 0);
  EXPECT_EQ(weight_channel_axis(OpType::MatMul), 1);
  EXPECT_THROW(weight_channel_axis(OpType::Relu), Error);
}

TEST(QuantizeGraph, WeightsQuantizedBiasesUntouched) {
  const Graph g = small_graph();
  for (Granularity gran : {Granularity::Tensor, Granularity::Channel}) {
    const GraphQuantConfig cfg{4, gran, Scheme::Symmetric};
    const QuantizedGraphParams qg = quantize_graph(g, g.values, cfg);
    EXPECT_EQ(qg.layers, (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(qg.weights, (std::vector<int>{1, 3, 0}));
    const int axes[] = {0, 1, 0};
    const std::size_t channels[] = {6, 3, 4};
    for (std::size_t l = 0; l < 3; ++l) {
      const auto p = static_cast<std::size_t>(qg.weights[l]);
      const QuantizerConfig qc{4, gran, Scheme::Symmetric, axes[l]};
      const Tensor expected = fake_quantize(g.values[p], qc);
      EXPECT_EQ(qg.values[p].shape(), expected.shape());
      for (std::int64_t i = 0; i < expected.size(); ++i) ASSERT_EQ(qg.values[p][i], expected[i]) << l;
      EXPECT_EQ(qg.steps[l], compute_quant_params(g.values[p], qc).step);
      EXPECT_EQ(qg.steps[l].size(), gran == Granularity::Tensor ? 1u : channels[l]);
    }
    for (std::int64_t i = 0; i < 6; ++i) EXPECT_EQ(qg.values[2][i], g.values[2][i]);
    EXPECT_EQ(layer_steps(g, g.values, cfg), qg.steps);
  }
}

TEST(QuantizeGraph, Fp32IsUnchangedWithZeroSteps) {
  const Graph g = small_graph();
  const QuantizedGraphParams qg = quantize_graph(g, g.values, {kFloatBits, Granularity::Channel, Scheme::Symmetric});
  for (std::size_t p = 0; p < g.values.size(); ++p)
    for (std::int64_t i = 0; i < g.values[p].size(); ++i) ASSERT_EQ(qg.values[p][i], g.values[p][i]);
  ASSERT_EQ(qg.steps.size(), 3u);
  EXPECT_EQ(qg.steps[0], std::vector<float>(6, 0.0f));
  EXPECT_EQ(qg.steps[1], std::vector<float>(3, 0.0f));
}

TEST(QuantizeGraph, BadInputsNameTheProblem) {
  Graph g = small_graph();
  EXPECT_THROW(quantize_graph(g, g.values, {1, Granularity::Tensor, Scheme::Symmetric}), UsageError);
  ParamSet short_set(g.values.begin(), g.values.end() - 1);
  EXPECT_THROW(quantize_graph(g, short_set, {8, Granularity::Tensor, Scheme::Symmetric}), Error);
  ParamSet bad = g.values;
  bad[3][0] = std::numeric_limits<float>::quiet_NaN();
  try {
    quantize_graph(g, bad, {8, Granularity::Tensor, Scheme::Symmetric});
    FAIL() << "NaN weight accepted";
  } catch (const UsageError&) {
    FAIL() << "NaN weight is a runtime error, not a usage error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'proj.weight'"), std::string::npos) << e.what();
  }
  // A second weight on fc1, listed after its first: quantized_nodes() would see only the first.
  Graph two = small_graph();
  two.params.push_back({"fc1.weight2", ParamRole::Weight, 0});
  two.values.push_back(Tensor({6, 5}, 1.0f));
  two.nodes[0].params.push_back(static_cast<int>(two.params.size()) - 1);
  EXPECT_THROW(quantized_layers(two), Error);
  // A weight whose bias is listed first.
  Graph swapped = small_graph();
  std::swap(swapped.nodes[0].params[0], swapped.nodes[0].params[1]);
  EXPECT_THROW(quantized_layers(swapped), Error);
  g.params.push_back({"relu.weight", ParamRole::Weight, 1});
  g.values.push_back(Tensor({2}, 1.0f));
  EXPECT_THROW(quantize_graph(g, g.values, {8, Granularity::Tensor, Scheme::Symmetric}), Error);
}

}  // namespace
}  // namespace qreg
