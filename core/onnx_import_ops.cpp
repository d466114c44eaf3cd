// The translation of each supported ONNX op into engine nodes (the Importer of
// core/onnx_importer.hpp; docs/onnx.md lists the ops and what each accepts).
#include <algorithm>

#include "core/act_quant.hpp"
#include "core/error.hpp"
#include "core/onnx_act_quant.hpp"
#include "core/onnx_importer.hpp"

namespace qreg::onnx_detail {
namespace {

bool is_bias(const Tensor& t, std::int64_t out) {
  return t.size() == out && (t.rank() == 1 || (t.rank() == 2 && t.dim(0) == 1));
}

Tensor transposed(const Tensor& t) {
  Tensor r({t.dim(1), t.dim(0)});
  r.matrix(t.dim(1)) = t.matrix(t.dim(0)).transpose();
  return r;
}

}  // namespace

// Gemm: Y = alpha·A'·B' + beta·C. Only alpha = beta = 1 and transA = 0; W is stored [out, in],
// which is B itself when transB = 1 (PyTorch's nn.Linear) and Bᵀ otherwise.
void Importer::gemm(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"alpha", "beta", "transA", "transB"});
  require(n, attr_float(n, "alpha", 1.0f) == 1.0f, "alpha != 1 is not supported");
  require(n, attr_float(n, "beta", 1.0f) == 1.0f || !has_input(n, 2), "beta != 1 is not supported");
  require(n, attr_int(n, "transA", 0) == 0, "transA=1 is not supported");
  const int x = value_of(n, 0);
  const Tensor& b = float_const(n, 1);
  require(n, b.rank() == 2, "weight '" + n.input(1) + "' must be 2-D, it is " + to_string(b.shape()));
  Tensor w = attr_int(n, "transB", 0) != 0 ? b : transposed(b);
  add_dense(n, OpType::Gemm, x, n.input(1), std::move(w), has_input(n, 2) ? &n.input(2) : nullptr, n.output(0));
}

// MatMul with a constant right operand B [in, out]. When its only consumer is an Add of a
// constant bias [out] the pair is exactly a Gemm (W = Bᵀ) and is folded into one.
void Importer::matmul(const onnx::NodeProto& n, int index) {
  allow_attrs(n, {});
  const int x = value_of(n, 0);
  const Tensor& b = float_const(n, 1);
  require(n, b.rank() == 2, "right operand '" + n.input(1) + "' must be a 2-D constant, it is " + to_string(b.shape()));
  const std::string out = n.output(0);
  if (uses_[out] == 1) {
    for (int j = index + 1; j < gp_.node_size(); ++j) {
      const auto& add = gp_.node(j);
      if (add.op_type() != "Add" || add.input_size() != 2 || (add.input(0) != out && add.input(1) != out)) continue;
      const std::string& bias = add.input(0) == out ? add.input(1) : add.input(0);
      const auto it = floats_.find(bias);
      if (it == floats_.end() || !is_bias(it->second, b.dim(1))) break;
      skip_.insert(j);
      add_dense(n, OpType::Gemm, x, n.input(1), transposed(b), &bias, add.output(0));
      return;
    }
  }
  Node node = start(n, OpType::MatMul);
  node.inputs = {x};
  node.params = {param(n, n.input(1), ParamRole::Weight, b)};
  finish(std::move(node), out);
}

void Importer::add_dense(const onnx::NodeProto& n, OpType op, int x, const std::string& w_name, Tensor w,
                         const std::string* bias_name, const std::string& out) {
  Node node = start(n, op);
  node.inputs = {x};
  const std::int64_t out_features = w.dim(0);
  node.params = {param(n, w_name, ParamRole::Weight, std::move(w))};
  if (bias_name) {
    const auto it = floats_.find(*bias_name);
    if (it == floats_.end()) fail(n, "bias '" + *bias_name + "' must be a float initializer or Constant");
    if (!is_bias(it->second, out_features))
      fail(n, "bias '" + *bias_name + "' has shape " + to_string(it->second.shape()) + ", expected [" +
                  std::to_string(out_features) + "]");
    Tensor bias = it->second;
    bias.reshape({out_features});
    node.params.push_back(param(n, *bias_name, ParamRole::Bias, std::move(bias)));
  }
  finish(std::move(node), out);
}

void Importer::conv(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  require_notset_pad(n);
  const std::int64_t group = attr_int(n, "group", 1);
  require(n, group == 1, "group=" + std::to_string(group) + " is not supported (only group=1)");
  const int x = value_of(n, 0);
  const Tensor& w = float_const(n, 1);
  require(n, w.rank() == 4, "only 2-D convolutions are supported (weight " + to_string(w.shape()) + ")");
  const Ints kernel = attr_ints(n, "kernel_shape", {w.dim(2), w.dim(3)});
  require(n, kernel == Ints{w.dim(2), w.dim(3)}, "kernel_shape does not match the weight " + to_string(w.shape()));
  Node node = start(n, OpType::Conv);
  node.inputs = {x};
  node.attrs.ints["kernel_shape"] = kernel;
  node.attrs.ints["strides"] = attr_ints(n, "strides", {1, 1});
  node.attrs.ints["pads"] = attr_ints(n, "pads", {0, 0, 0, 0});
  node.attrs.ints["dilations"] = attr_ints(n, "dilations", {1, 1});
  node.attrs.ints["group"] = {1};
  node.params = {param(n, n.input(1), ParamRole::Weight, w)};
  if (has_input(n, 2)) {
    const Tensor& b = float_const(n, 2);
    require(n, b.rank() == 1 && b.size() == w.dim(0), "bias shape " + to_string(b.shape()) + " does not match");
    node.params.push_back(param(n, n.input(2), ParamRole::Bias, b));
  }
  finish(std::move(node), n.output(0));
}

void Importer::relu(const onnx::NodeProto& n, int) { simple(n, OpType::Relu); }

void Importer::global_average_pool(const onnx::NodeProto& n, int) { simple(n, OpType::GlobalAveragePool); }

// An op without attributes and with one activation input.
void Importer::simple(const onnx::NodeProto& n, OpType op) {
  allow_attrs(n, {});
  Node node = start(n, op);
  node.inputs = {value_of(n, 0)};
  finish(std::move(node), n.output(0));
}

// Pools: explicit pads only, floor output size (ceil_mode=0), no dilation.
Node Importer::pool(const onnx::NodeProto& n, OpType op) {
  require_notset_pad(n);
  require(n, attr_int(n, "ceil_mode", 0) == 0, "ceil_mode=1 is not supported");
  const Ints kernel = attr_ints(n, "kernel_shape", {});
  require(n, kernel.size() == 2, "kernel_shape must give 2 sizes");
  const Ints dil = attr_ints(n, "dilations", {1, 1});
  require(n, dil == Ints{1, 1}, "dilations other than 1 are not supported");
  require(n, n.output_size() < 2 || n.output(1).empty(), "the Indices output is not supported");
  Node node = start(n, op);
  node.inputs = {value_of(n, 0)};
  node.attrs.ints["kernel_shape"] = kernel;
  node.attrs.ints["strides"] = attr_ints(n, "strides", {1, 1});
  node.attrs.ints["pads"] = attr_ints(n, "pads", {0, 0, 0, 0});
  return node;
}

void Importer::max_pool(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
  require(n, attr_int(n, "storage_order", 0) == 0, "storage_order=1 is not supported");
  finish(pool(n, OpType::MaxPool), n.output(0));
}

// The engine averages over the window cells inside the input (count_include_pad=0); with
// all-zero pads both conventions agree, so count_include_pad=1 is accepted only then.
void Importer::average_pool(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"});
  Node node = pool(n, OpType::AveragePool);
  const Ints& pads = node.attrs.ints["pads"];
  const bool padded = std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p != 0; });
  require(n, attr_int(n, "count_include_pad", 0) == 0 || !padded,
          "count_include_pad=1 with non-zero pads is not supported");
  finish(std::move(node), n.output(0));
}

void Importer::flatten(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"axis"});
  const int x = value_of(n, 0);
  const auto rank = static_cast<std::int64_t>(shape_of(x).size()) + 1;
  std::int64_t axis = attr_int(n, "axis", 1);
  if (axis < 0) axis += rank;
  require(n, axis == 1, "only axis=1 (keep the batch dimension) is supported");
  Node node = start(n, OpType::Flatten);
  node.inputs = {x};
  node.attrs.ints["axis"] = {1};
  finish(std::move(node), n.output(0));
}

// The shape's first entry is the batch dimension (-1, 0 or the export batch size); the rest is
// resolved here to a fully known per-sample shape: 0 copies the input dimension, -1 is inferred.
void Importer::reshape(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"allowzero"});
  const int x = value_of(n, 0);
  const Ints& target = int_const(n, 1);
  const Shape& in = shape_of(x);
  require(n, target.size() >= 2, "shape " + to_string(target) + " would merge the batch dimension");
  require(n, target[0] >= -1, "shape " + to_string(target) + " has a negative batch entry");
  Shape out;
  int infer_at = -1;
  for (std::size_t i = 1; i < target.size(); ++i) {
    std::int64_t d = target[i];
    if (d == 0) {
      require(n, attr_int(n, "allowzero", 0) == 0, "allowzero=1 with a 0 in the shape is not supported");
      require(n, i - 1 < in.size(), "shape entry 0 at position " + std::to_string(i) + " has no input dimension");
      d = in[i - 1];
    } else if (d == -1) {
      require(n, infer_at < 0 && target[0] != -1, "shape " + to_string(target) + " has more than one -1");
      infer_at = static_cast<int>(out.size());
      d = 1;
    }
    require(n, d > 0, "shape " + to_string(target) + " has an invalid entry");
    out.push_back(d);
  }
  if (infer_at >= 0) {
    require(n, numel(in) % numel(out) == 0, "cannot infer -1 in " + to_string(target) + " from " + to_string(in));
    out[static_cast<std::size_t>(infer_at)] = numel(in) / numel(out);
  }
  require(n, numel(out) == numel(in),
          "shape " + to_string(target) + " does not keep the per-sample size of input " + to_string(in));
  Node node = start(n, OpType::Reshape);
  node.inputs = {x};
  node.attrs.ints["shape"] = out;
  finish(std::move(node), n.output(0));
}

void Importer::add(const onnx::NodeProto& n, int) {
  allow_attrs(n, {});
  require(n, n.input_size() == 2, "Add needs two inputs");
  for (int i = 0; i < 2; ++i)
    if (!values_.count(n.input(i)))
      require(n, false,
              "input '" + n.input(i) + "' is not an activation; Add of a constant is supported only as " +
                  "the bias right after a MatMul");
  Node node = start(n, OpType::Add);
  node.inputs = {value_of(n, 0), value_of(n, 1)};
  require(n, shape_of(node.inputs[0]) == shape_of(node.inputs[1]),
          "inputs of shapes " + to_string(shape_of(node.inputs[0])) + " and " + to_string(shape_of(node.inputs[1])) +
              " (broadcasting is not supported)");
  finish(std::move(node), n.output(0));
}

void Importer::batch_norm(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"epsilon", "momentum", "training_mode"});
  require(n, attr_int(n, "training_mode", 0) == 0, "training_mode=1 is not supported");
  for (int i = 1; i < n.output_size(); ++i)
    require(n, n.output(i).empty(), "the running-statistics outputs are not supported");
  Node node = start(n, OpType::BatchNormalization);
  node.inputs = {value_of(n, 0)};
  node.attrs.floats["epsilon"] = attr_float(n, "epsilon", 1e-5f);
  node.attrs.floats["momentum"] = attr_float(n, "momentum", 0.9f);
  const ParamRole roles[] = {ParamRole::BnScale, ParamRole::BnBias, ParamRole::BnMean, ParamRole::BnVar};
  const Shape& in = shape_of(node.inputs[0]);
  require(n, !in.empty(), "input has no channel dimension");
  for (int i = 0; i < 4; ++i) {
    const Tensor& t = float_const(n, i + 1);
    require(n, t.rank() == 1 && t.dim(0) == in[0],
            "'" + n.input(i + 1) + "' must have shape [" + std::to_string(in[0]) + "], it is " + to_string(t.shape()));
    node.params.push_back(param(n, n.input(i + 1), roles[i], t));
  }
  finish(std::move(node), n.output(0));
}

// Before opset 13 Softmax flattens the dims from `axis` on; either way it equals a softmax over
// the last axis exactly when axis is the last one, the only case supported.
void Importer::softmax(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"axis"});
  const int x = value_of(n, 0);
  const auto rank = static_cast<std::int64_t>(shape_of(x).size()) + 1;
  std::int64_t axis = attr_int(n, "axis", opset_ < 13 ? 1 : -1);
  if (axis < 0) axis += rank;
  require(n, axis == rank - 1, "only a softmax over the last axis is supported");
  Node node = start(n, OpType::Softmax);
  node.inputs = {x};
  finish(std::move(node), n.output(0));
}

// Identity and Dropout (inference) pass their input through: the output name aliases it.
void Importer::alias(const onnx::NodeProto& n) {
  const std::string& in = n.input_size() > 0 ? n.input(0) : std::string();
  if (values_.count(in))
    values_[n.output(0)] = values_.at(in);
  else if (floats_.count(in))
    floats_[n.output(0)] = floats_.at(in);
  else if (ints_.count(in))
    ints_[n.output(0)] = ints_.at(in);
  else
    fail(n, "input '" + in + "' is not produced by any earlier node");
}

void Importer::identity(const onnx::NodeProto& n, int) {
  allow_attrs(n, {});
  alias(n);
}

void Importer::dropout(const onnx::NodeProto& n, int) {
  allow_attrs(n, {"ratio", "seed"});
  if (has_input(n, 2)) {
    const Ints& mode = int_const(n, 2);
    require(n, std::all_of(mode.begin(), mode.end(), [](std::int64_t v) { return v == 0; }),
            "training_mode=true is not supported");
  }
  require(n, n.output_size() < 2 || uses_[n.output(1)] == 0, "the mask output is not supported");
  alias(n);
}

// Div occurs only in the activation quantizer's pattern (core/onnx_act_quant.hpp): Div(M, q) of
// two constants is folded into the scale s (float division, as a runtime computes it), and
// Div(x, s) with its Round → Clip → Mul becomes one ActQuant node whose running max is M.
void Importer::div(const onnx::NodeProto& n, int index) {
  allow_attrs(n, {});
  require(n, n.input_size() == 2, "Div needs two inputs");
  const auto m = floats_.find(n.input(0)), q = floats_.find(n.input(1));
  if (m != floats_.end() && q != floats_.end()) {
    const int bits = q->second.size() == 1 ? act_quant_bits(q->second[0]) : 0;
    require(n, bits > 0 && m->second.size() == 1,
            "Div of constants is supported only as an activation quantizer's scale (max [1] / (2^B - 1))");
    Tensor scale = m->second;
    scale[0] = scale[0] / q->second[0];
    floats_[n.output(0)] = scale;
    act_scales_[n.output(0)] = {n.input(0), bits};
    return;
  }
  const auto scale = act_scales_.find(n.input(1));
  require(n, values_.count(n.input(0)) && scale != act_scales_.end(),
          "Div is supported only inside the activation quantizer pattern (see docs/onnx.md)");
  const auto [max_name, bits] = scale->second;
  const auto chain = match_act_quant_chain(
      gp_, index, static_cast<float>((1 << bits) - 1),
      [this](const std::string& name) -> const Tensor* {
        const auto it = floats_.find(name);
        return it == floats_.end() ? nullptr : &it->second;
      },
      uses_);
  skip_.insert(chain.nodes.begin(), chain.nodes.end());
  Node node = start(n, OpType::ActQuant);
  if (node.name.size() > 4 && node.name.ends_with("/Div")) node.name.resize(node.name.size() - 4);
  node.inputs = {value_of(n, 0)};
  node.attrs.ints["bits"] = {bits};
  node.attrs.floats["momentum"] = kActQuantMomentum;
  Tensor max = floats_.at(max_name);
  max.reshape({1});
  node.params = {param(n, max_name, ParamRole::ActMax, std::move(max))};
  finish(std::move(node), chain.output);
}

void Importer::constant(const onnx::NodeProto& n, int) {
  require(n, n.attribute_size() == 1, "expects exactly one value attribute");
  const auto& a = n.attribute(0);
  const std::string& out = n.output(0);
  const std::string where = "node '" + n.name() + "' (Constant)";
  if (a.name() == "value") {
    if (is_integer(a.t()))
      ints_[out] = to_ints(a.t(), where);
    else
      floats_[out] = to_tensor(a.t(), where);
  } else if (a.name() == "value_int") {
    ints_[out] = {a.i()};
  } else if (a.name() == "value_ints") {
    ints_[out] = Ints(a.ints().begin(), a.ints().end());
  } else if (a.name() == "value_float") {
    floats_[out] = Tensor(Shape{}, a.f());
  } else if (a.name() == "value_floats") {
    floats_[out] = Tensor(Shape{a.floats_size()}, std::span<const float>(a.floats().data(), a.floats().size()));
  } else {
    fail(n, "unsupported attribute '" + a.name() + "'");
  }
}

}  // namespace qreg::onnx_detail
