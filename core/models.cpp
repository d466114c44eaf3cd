#include "core/models.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qreg {
namespace {

/// Appends nodes to a graph, tracking the current value.
class Builder {
 public:
  Builder(Graph& g, std::uint64_t seed) : g_(g), seed_(seed) {}

  int current() const { return cur_; }

  int op(OpType type, std::vector<int> inputs, Attributes attrs = {}) {
    Node n;
    n.name = std::string(op_name(type)) + "_" + std::to_string(g_.nodes.size());
    n.op = type;
    n.inputs = std::move(inputs);
    n.attrs = std::move(attrs);
    n.output = g_.add_value(n.name + "_out", {});
    n.params = std::move(pending_);
    pending_.clear();
    g_.nodes.push_back(std::move(n));
    // Infer now so later layers can read this value's shape while building.
    g_.value_shapes[static_cast<std::size_t>(g_.nodes.back().output)] = infer_shape(g_, g_.nodes.back());
    return cur_ = g_.nodes.back().output;
  }
  int op(OpType type, Attributes attrs = {}) { return op(type, {cur_}, std::move(attrs)); }

  /// Kaiming-uniform weight of `shape` with fan_in = elements per output row, zero bias.
  void weight_and_bias(const Shape& shape, std::int64_t fan_in) {
    Tensor w(shape);
    const auto id = static_cast<std::uint64_t>(g_.params.size());
    RandomStream rs(seed_, id);
    const float bound = std::sqrt(6.0f / static_cast<float>(fan_in));
    for (auto& v : w.values()) v = rs.uniform(-bound, bound);
    param(ParamRole::Weight, "weight", std::move(w));
    param(ParamRole::Bias, "bias", Tensor({shape[0]}));
  }

  void param(ParamRole role, const std::string& suffix, Tensor value) {
    const int node = static_cast<int>(g_.nodes.size());
    pending_.push_back(
        g_.add_param(std::string("node") + std::to_string(node) + "." + suffix, role, node, std::move(value)));
  }

  const Shape& shape() const { return g_.value_shapes[static_cast<std::size_t>(cur_)]; }

  int gemm(std::int64_t out) {
    const std::int64_t in = shape().back();
    weight_and_bias({out, in}, in);
    return op(OpType::Gemm);
  }
  int conv3x3(std::int64_t out) {
    const std::int64_t in = shape()[0];
    weight_and_bias({out, in, 3, 3}, in * 9);
    Attributes a;
    a.ints["pads"] = {1, 1, 1, 1};
    return op(OpType::Conv, a);
  }
  int pool(OpType type, std::int64_t k, std::int64_t stride, std::int64_t pad) {
    Attributes a;
    a.ints["kernel_shape"] = {k, k};
    a.ints["strides"] = {stride, stride};
    a.ints["pads"] = {pad, pad, pad, pad};
    return op(type, a);
  }
  int batchnorm() {
    const std::int64_t c = shape()[0];
    param(ParamRole::BnScale, "scale", Tensor({c}, 1.0f));
    param(ParamRole::BnBias, "bias", Tensor({c}, 0.0f));
    param(ParamRole::BnMean, "mean", Tensor({c}, 0.0f));
    param(ParamRole::BnVar, "var", Tensor({c}, 1.0f));
    return op(OpType::BatchNormalization);
  }

 private:
  Graph& g_;
  std::uint64_t seed_;
  int cur_ = 0;
  std::vector<int> pending_;
};

Graph start(const std::string& name, Shape input) {
  Graph g;
  g.name = name;
  g.input_shape = input;
  g.add_value("input", std::move(input));
  return g;
}

}  // namespace

Graph make_mlp(const std::vector<std::int64_t>& widths, std::uint64_t seed, Shape input_shape) {
  if (widths.size() < 2) throw UsageError("make_mlp: needs at least an input and an output width");
  for (auto w : widths)
    if (w <= 0) throw UsageError("make_mlp: widths must be positive");
  if (input_shape.empty()) input_shape = widths[0] == 784 ? Shape{1, 28, 28} : Shape{widths[0]};
  if (numel(input_shape) != widths[0]) throw UsageError("make_mlp: input shape does not match the first width");
  Graph g = start("mlp", input_shape);
  Builder b(g, seed);
  b.op(OpType::Flatten);
  for (std::size_t i = 1; i < widths.size(); ++i) {
    b.gemm(widths[i]);
    if (i + 1 < widths.size()) b.op(OpType::Relu);
  }
  g.output = b.current();
  g.finalize();
  return g;
}

Graph make_cnn(std::uint64_t seed) {
  Graph g = start("cnn", {1, 28, 28});
  Builder b(g, seed);
  for (std::int64_t channels : {16, 32}) {
    b.conv3x3(channels);
    b.op(OpType::Relu);
    b.pool(OpType::MaxPool, 2, 2, 0);
  }
  b.op(OpType::Flatten);
  b.gemm(128);
  b.op(OpType::Relu);
  b.gemm(10);
  g.output = b.current();
  g.finalize();
  return g;
}

Graph make_residual_cnn(std::uint64_t seed) {
  Graph g = start("residual_cnn", {2, 6, 6});
  Builder b(g, seed);
  b.conv3x3(3);
  b.batchnorm();
  const int a = b.op(OpType::Relu);
  const int c = b.conv3x3(3);
  b.op(OpType::Add, {c, a});
  b.op(OpType::Relu);
  b.pool(OpType::MaxPool, 2, 2, 0);
  b.pool(OpType::AveragePool, 2, 1, 1);
  b.op(OpType::Flatten);
  b.gemm(4);
  g.output = b.current();
  g.finalize();
  return g;
}

}  // namespace qreg
