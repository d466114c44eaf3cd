#include "core/graph.hpp"

#include <array>
#include <utility>

#include "core/error.hpp"

namespace qreg {
namespace {

constexpr std::array<std::pair<OpType, const char*>, 14> kOpNames = {{
    {OpType::Gemm, "Gemm"},
    {OpType::MatMul, "MatMul"},
    {OpType::Conv, "Conv"},
    {OpType::Relu, "Relu"},
    {OpType::MaxPool, "MaxPool"},
    {OpType::AveragePool, "AveragePool"},
    {OpType::GlobalAveragePool, "GlobalAveragePool"},
    {OpType::Flatten, "Flatten"},
    {OpType::Reshape, "Reshape"},
    {OpType::Add, "Add"},
    {OpType::BatchNormalization, "BatchNormalization"},
    {OpType::Softmax, "Softmax"},
    {OpType::ActQuant, "ActQuant"},
    {OpType::Dropout, "Dropout"},
}};

[[noreturn]] void fail(const Node& node, const std::string& what) {
  throw Error("graph: node '" + node.name + "' (" + op_name(node.op) + "): " + what);
}

const Shape& input_shape_of(const Graph& g, const Node& node, std::size_t i) {
  if (node.inputs.size() <= i) fail(node, "missing input " + std::to_string(i));
  const int id = node.inputs[i];
  if (id < 0 || id >= g.num_values()) fail(node, "input value id " + std::to_string(id) + " out of range");
  return g.value_shapes[static_cast<std::size_t>(id)];
}

const Shape& param_shape(const Graph& g, const Node& node, std::size_t i) {
  if (node.params.size() <= i) fail(node, "missing parameter " + std::to_string(i));
  const int id = node.params[i];
  if (id < 0 || id >= static_cast<int>(g.values.size()))
    fail(node, "parameter id " + std::to_string(id) + " out of range");
  return g.values[static_cast<std::size_t>(id)].shape();
}

void expect_counts(const Node& node, std::size_t inputs, std::size_t min_params, std::size_t max_params) {
  if (node.inputs.size() != inputs)
    fail(node, "expects " + std::to_string(inputs) + " input(s), got " + std::to_string(node.inputs.size()));
  if (node.params.size() < min_params || node.params.size() > max_params)
    fail(node, "expects " + std::to_string(min_params) + ".." + std::to_string(max_params) + " parameters, got " +
                   std::to_string(node.params.size()));
}

/// Bias of Gemm/MatMul/Conv (optional second parameter) must be [features].
void check_bias(const Graph& g, const Node& node, std::int64_t features) {
  if (node.params.size() < 2) return;
  const Shape& b = param_shape(g, node, 1);
  if (b != Shape{features}) fail(node, "bias shape " + to_string(b) + ", expected [" + std::to_string(features) + "]");
}

Shape infer_dense(const Graph& g, const Node& node) {
  expect_counts(node, 1, 1, 2);
  const Shape& x = input_shape_of(g, node, 0);
  const Shape& w = param_shape(g, node, 0);
  if (x.empty()) fail(node, "input must have at least one per-sample dimension");
  if (w.size() != 2) fail(node, "weight must be 2-D, got " + to_string(w));
  const bool gemm = node.op == OpType::Gemm;
  const std::int64_t in = gemm ? w[1] : w[0], out = gemm ? w[0] : w[1];
  if (x.back() != in) fail(node, "input " + to_string(x) + " does not match weight " + to_string(w));
  check_bias(g, node, out);
  Shape y = x;
  y.back() = out;
  return y;
}

/// Spatial output size of a window op: (size + pads - dilation·(k−1) − 1) / stride + 1.
std::int64_t window_out(const Node& node, std::int64_t size, std::int64_t k, std::int64_t stride, std::int64_t pad_sum,
                        std::int64_t dilation) {
  if (k < 1 || stride < 1 || dilation < 1 || pad_sum < 0) fail(node, "kernel, strides and dilations must be positive");
  const std::int64_t span = dilation * (k - 1) + 1;
  if (size + pad_sum < span) fail(node, "window larger than the padded input");
  return (size + pad_sum - span) / stride + 1;
}

struct Window {
  std::int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
};

Window window_attrs(const Node& node, std::int64_t kh, std::int64_t kw) {
  const auto s = node.attrs.get_ints("strides", {1, 1});
  const auto p = node.attrs.get_ints("pads", {0, 0, 0, 0});
  const auto d = node.attrs.get_ints("dilations", {1, 1});
  if (s.size() != 2 || p.size() != 4 || d.size() != 2) fail(node, "strides/pads/dilations must be 2-D");
  if (node.attrs.get_ints("ceil_mode", {0}) != std::vector<std::int64_t>{0}) fail(node, "ceil_mode=1 is not supported");
  return {kh, kw, s[0], s[1], p[0], p[1], p[2], p[3], d[0], d[1]};
}

Shape infer_window(const Node& node, const Shape& x, std::int64_t channels, const Window& w) {
  if (x.size() != 3) fail(node, "input must be [C, H, W], got " + to_string(x));
  return {channels, window_out(node, x[1], w.kh, w.sh, w.pt + w.pb, w.dh),
          window_out(node, x[2], w.kw, w.sw, w.pl + w.pr, w.dw)};
}

Shape infer_conv(const Graph& g, const Node& node) {
  expect_counts(node, 1, 1, 2);
  const Shape& x = input_shape_of(g, node, 0);
  const Shape& w = param_shape(g, node, 0);
  if (w.size() != 4) fail(node, "weight must be [out, in/groups, kh, kw], got " + to_string(w));
  const auto group = node.attrs.get_ints("group", {1});
  if (group.size() != 1 || group[0] < 1 || w[0] % group[0] != 0) fail(node, "bad group attribute");
  if (x.size() != 3 || x[0] != w[1] * group[0])
    fail(node, "input " + to_string(x) + " does not match weight " + to_string(w));
  const auto k = node.attrs.get_ints("kernel_shape", {w[2], w[3]});
  if (k != std::vector<std::int64_t>{w[2], w[3]}) fail(node, "kernel_shape does not match the weight");
  check_bias(g, node, w[0]);
  return infer_window(node, x, w[0], window_attrs(node, w[2], w[3]));
}

Shape infer_pool(const Graph& g, const Node& node) {
  expect_counts(node, 1, 0, 0);
  const Shape& x = input_shape_of(g, node, 0);
  const auto k = node.attrs.get_ints("kernel_shape", {});
  if (k.size() != 2) fail(node, "kernel_shape must have 2 entries");
  const Window w = window_attrs(node, k[0], k[1]);
  if (w.dh != 1 || w.dw != 1) fail(node, "dilated pooling is not supported");
  if (w.pt >= w.kh || w.pb >= w.kh || w.pl >= w.kw || w.pr >= w.kw) fail(node, "pads must be smaller than the kernel");
  return infer_window(node, x, x.empty() ? 0 : x[0], w);
}

Shape infer_reshape(const Graph& g, const Node& node) {
  expect_counts(node, 1, 0, 0);
  const Shape& x = input_shape_of(g, node, 0);
  Shape y = node.attrs.get_ints("shape", {});
  int infer_at = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0 && i < x.size()) y[i] = x[i];
    if (y[i] == -1 && infer_at < 0) {
      infer_at = static_cast<int>(i);
      continue;
    }
    if (y[i] < 1) fail(node, "bad target shape entry " + std::to_string(y[i]));
    known *= y[i];
  }
  if (infer_at >= 0 && known > 0 && numel(x) % known == 0) y[static_cast<std::size_t>(infer_at)] = numel(x) / known;
  if (numel(y) != numel(x)) fail(node, "cannot reshape " + to_string(x) + " to " + to_string(y));
  return y;
}

Shape infer_batchnorm(const Graph& g, const Node& node) {
  expect_counts(node, 1, 4, 4);
  const Shape& x = input_shape_of(g, node, 0);
  if (x.empty()) fail(node, "input needs a channel dimension");
  for (std::size_t i = 0; i < 4; ++i)
    if (param_shape(g, node, i) != Shape{x[0]})
      fail(node, "parameter " + std::to_string(i) + " has shape " + to_string(param_shape(g, node, i)) +
                     ", expected [" + std::to_string(x[0]) + "]");
  return x;
}

// ActQuant: bits in [2, 16], one running-max parameter [1]; Dropout: ratio in [0, 1).
Shape infer_training_op(const Graph& g, const Node& node) {
  const bool quant = node.op == OpType::ActQuant;
  expect_counts(node, 1, quant ? 1 : 0, quant ? 1 : 0);
  if (quant) {
    const auto bits = node.attrs.get_ints("bits", {});
    if (bits.size() != 1 || bits[0] < 2 || bits[0] > 16) fail(node, "attribute bits must be one value in [2, 16]");
    if (param_shape(g, node, 0) != Shape{1}) fail(node, "running max must have shape [1]");
  } else {
    const float ratio = node.attrs.get_float("ratio", 0.5f);
    if (!(ratio >= 0.0f && ratio < 1.0f)) fail(node, "ratio must lie in [0, 1)");
  }
  return input_shape_of(g, node, 0);
}

}  // namespace

const char* op_name(OpType op) {
  for (const auto& [type, name] : kOpNames)
    if (type == op) return name;
  return "?";
}

OpType parse_op_type(const std::string& text) {
  for (const auto& [type, name] : kOpNames)
    if (text == name) return type;
  throw Error("graph: unsupported op type '" + text + "'");
}

std::vector<std::int64_t> Attributes::get_ints(const std::string& key, std::vector<std::int64_t> fallback) const {
  const auto it = ints.find(key);
  return it == ints.end() ? fallback : it->second;
}

float Attributes::get_float(const std::string& key, float fallback) const {
  const auto it = floats.find(key);
  return it == floats.end() ? fallback : it->second;
}

Shape infer_shape(const Graph& graph, const Node& node) {
  switch (node.op) {
    case OpType::Gemm:
    case OpType::MatMul:
      return infer_dense(graph, node);
    case OpType::Conv:
      return infer_conv(graph, node);
    case OpType::MaxPool:
    case OpType::AveragePool:
      return infer_pool(graph, node);
    case OpType::GlobalAveragePool: {
      expect_counts(node, 1, 0, 0);
      const Shape& x = input_shape_of(graph, node, 0);
      if (x.size() != 3) fail(node, "input must be [C, H, W], got " + to_string(x));
      return {x[0], 1, 1};
    }
    case OpType::Flatten: {
      expect_counts(node, 1, 0, 0);
      if (node.attrs.get_ints("axis", {1}) != std::vector<std::int64_t>{1}) fail(node, "only axis=1 is supported");
      return {numel(input_shape_of(graph, node, 0))};
    }
    case OpType::Reshape:
      return infer_reshape(graph, node);
    case OpType::Add: {
      expect_counts(node, 2, 0, 0);
      const Shape& a = input_shape_of(graph, node, 0);
      if (a != input_shape_of(graph, node, 1))
        fail(node, "operand shapes differ: " + to_string(a) + " vs " + to_string(input_shape_of(graph, node, 1)));
      return a;
    }
    case OpType::BatchNormalization:
      return infer_batchnorm(graph, node);
    case OpType::ActQuant:
    case OpType::Dropout:
      return infer_training_op(graph, node);
    case OpType::Relu:
    case OpType::Softmax: {
      expect_counts(node, 1, 0, 0);
      const Shape& x = input_shape_of(graph, node, 0);
      if (node.op == OpType::Softmax) {
        const auto axis = node.attrs.get_ints("axis", {-1});
        const auto rank = static_cast<std::int64_t>(x.size()) + 1;  // with the batch axis
        if (x.empty() || axis.size() != 1 || (axis[0] != -1 && axis[0] != rank - 1))
          fail(node, "only softmax over the last axis is supported");
      }
      return x;
    }
  }
  fail(node, "unknown op");
}

bool is_layer_op(OpType op) { return op == OpType::Gemm || op == OpType::MatMul || op == OpType::Conv; }

std::vector<int> Graph::quantized_nodes() const {
  std::vector<int> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (is_layer_op(n.op) && !n.params.empty() && params[static_cast<std::size_t>(n.params[0])].quantizable())
      out.push_back(static_cast<int>(i));
  }
  return out;
}

int Graph::add_value(const std::string& value_name, Shape shape) {
  value_shapes.push_back(std::move(shape));
  value_names.resize(value_shapes.size() - 1);
  value_names.push_back(value_name);
  return num_values() - 1;
}

int Graph::add_param(const std::string& param_name, ParamRole role, int node, Tensor value) {
  params.push_back({param_name, role, node});
  values.resize(params.size() - 1);
  values.push_back(std::move(value));
  return static_cast<int>(params.size()) - 1;
}

void Graph::finalize() {
  if (value_shapes.empty()) throw Error("graph '" + name + "': no input value (value 0)");
  if (input_shape.empty()) input_shape = value_shapes[0];
  if (input_shape.empty()) throw Error("graph '" + name + "': input shape is not set");
  value_shapes[0] = input_shape;
  value_names.resize(value_shapes.size());
  if (values.size() != params.size())
    throw Error("graph '" + name + "': " + std::to_string(values.size()) + " parameter values for " +
                std::to_string(params.size()) + " parameters");
  std::vector<char> defined(value_shapes.size(), 0);
  defined[0] = 1;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    for (int id : node.inputs)
      if (id < 0 || id >= num_values() || !defined[static_cast<std::size_t>(id)])
        fail(node, "input value " + std::to_string(id) + " is not produced by an earlier node");
    for (int p : node.params) {
      if (p < 0 || p >= static_cast<int>(params.size()))
        fail(node, "parameter id " + std::to_string(p) + " out of range");
      if (params[static_cast<std::size_t>(p)].node != static_cast<int>(i))
        fail(node, "parameter '" + params[static_cast<std::size_t>(p)].name + "' belongs to another node");
    }
    if (node.output <= 0 || node.output >= num_values()) fail(node, "output value id out of range");
    if (defined[static_cast<std::size_t>(node.output)]) fail(node, "output value is produced twice");
    value_shapes[static_cast<std::size_t>(node.output)] = infer_shape(*this, node);
    defined[static_cast<std::size_t>(node.output)] = 1;
  }
  if (output < 0 || output >= num_values() || !defined[static_cast<std::size_t>(output)])
    throw Error("graph '" + name + "': output value " + std::to_string(output) + " is not produced by any node");
}

std::int64_t Graph::num_parameters() const {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < params.size() && i < values.size(); ++i)
    if (params[i].trainable()) n += values[i].size();
  return n;
}

}  // namespace qreg
