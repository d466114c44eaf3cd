#include "core/onnx_import.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/onnx_importer.hpp"

namespace qreg::onnx_detail {
namespace {

constexpr std::int64_t kMinOpset = 11;
constexpr std::int64_t kMaxOpset = 18;

std::int64_t default_opset(const onnx::ModelProto& model, const std::string& path) {
  for (const auto& op : model.opset_import()) {
    if (!op.domain().empty() && op.domain() != "ai.onnx") continue;
    if (op.version() < kMinOpset || op.version() > kMaxOpset)
      throw Error(path + ": opset " + std::to_string(op.version()) +
                  " is not supported (supported: " + std::to_string(kMinOpset) + "–" + std::to_string(kMaxOpset) + ")");
    return op.version();
  }
  throw Error(path + ": the model imports no default-domain opset");
}

}  // namespace

Importer::Importer(std::string path, const onnx::ModelProto& model)
    : path_(std::move(path)), gp_(model.graph()), opset_(default_opset(model, path_)) {}

Graph Importer::run() {
  graph_.name = std::filesystem::path(path_).stem().string();
  read_initializers();
  read_input();
  count_uses();
  for (int i = 0; i < gp_.node_size(); ++i)
    if (!skip_.count(i)) import_node(i);
  read_output();
  graph_.finalize();
  return std::move(graph_);
}

void Importer::require_notset_pad(const onnx::NodeProto& n) const {
  const std::string pad = attr_string(n, "auto_pad", "NOTSET");
  if (pad != "NOTSET") fail(n, "auto_pad=" + pad + " is not supported (only NOTSET, explicit pads)");
}

int Importer::value_of(const onnx::NodeProto& n, int i) const {
  if (!has_input(n, i)) fail(n, "missing input " + std::to_string(i));
  const auto it = values_.find(n.input(i));
  if (it != values_.end()) return it->second;
  if (floats_.count(n.input(i)) || ints_.count(n.input(i)))
    fail(n, "input '" + n.input(i) + "' is a constant; only an activation is supported there");
  fail(n, "input '" + n.input(i) + "' is not produced by any earlier node");
}

const Tensor& Importer::float_const(const onnx::NodeProto& n, int i) const {
  if (!has_input(n, i)) fail(n, "missing input " + std::to_string(i));
  const auto it = floats_.find(n.input(i));
  if (it == floats_.end()) fail(n, "input '" + n.input(i) + "' must be a float initializer or Constant");
  return it->second;
}

const Ints& Importer::int_const(const onnx::NodeProto& n, int i) const {
  if (!has_input(n, i)) fail(n, "missing input " + std::to_string(i));
  const auto it = ints_.find(n.input(i));
  if (it == ints_.end()) fail(n, "input '" + n.input(i) + "' must be an integer initializer or Constant");
  return it->second;
}

void Importer::read_initializers() {
  for (const auto& t : gp_.initializer()) {
    if (is_integer(t))
      ints_[t.name()] = to_ints(t, path_);
    else
      floats_[t.name()] = to_tensor(t, path_);
  }
}

void Importer::read_input() {
  const onnx::ValueInfoProto* input = nullptr;
  for (const auto& vi : gp_.input()) {
    if (floats_.count(vi.name()) || ints_.count(vi.name())) continue;  // initializers listed as inputs
    if (input) throw Error(path_ + ": the model has several inputs ('" + input->name() + "', '" + vi.name() + "')");
    input = &vi;
  }
  if (!input) throw Error(path_ + ": the model has no (non-initializer) input");
  const auto& type = input->type();
  if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)
    throw Error(path_ + ": input '" + input->name() + "' is not a float32 tensor");
  const auto& dims = type.tensor_type().shape().dim();
  if (dims.size() < 2)
    throw Error(path_ + ": input '" + input->name() + "' needs a batch dimension and a per-sample shape");
  Shape shape;
  for (int i = 1; i < dims.size(); ++i) {
    if (!dims[i].has_dim_value() || dims[i].dim_value() <= 0)
      throw Error(path_ + ": input '" + input->name() + "' dimension " + std::to_string(i) +
                  " is not a fixed positive size (only the batch dimension may be dynamic)");
    shape.push_back(dims[i].dim_value());
  }
  graph_.input_shape = shape;
  values_[input->name()] = graph_.add_value(input->name(), shape);
}

void Importer::read_output() {
  if (gp_.output_size() != 1)
    throw Error(path_ + ": the model has " + std::to_string(gp_.output_size()) + " outputs; exactly one is supported");
  const std::string& name = gp_.output(0).name();
  const auto it = values_.find(name);
  if (it == values_.end() || it->second == 0)
    throw Error(path_ + ": output '" + name + "' is not computed from the input by the model's nodes");
  graph_.output = it->second;
}

void Importer::count_uses() {
  for (const auto& n : gp_.node())
    for (const auto& in : n.input()) ++uses_[in];
  for (const auto& out : gp_.output()) ++uses_[out.name()];
}

Node Importer::start(const onnx::NodeProto& n, OpType op) const {
  Node node;
  node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(graph_.nodes.size()) : n.name();
  node.op = op;
  return node;
}

int Importer::param(const onnx::NodeProto& n, const std::string& name, ParamRole role, Tensor value) {
  if (!used_params_.insert(name).second)
    fail(n, "initializer '" + name + "' is shared with another node, which is not supported");
  return graph_.add_param(name, role, static_cast<int>(graph_.nodes.size()), std::move(value));
}

void Importer::finish(Node node, const std::string& out_name) {
  graph_.nodes.push_back(std::move(node));
  Node& back = graph_.nodes.back();
  back.output = graph_.add_value(out_name, Shape{});
  graph_.value_shapes[static_cast<std::size_t>(back.output)] = infer_shape(graph_, back);
  values_[out_name] = back.output;
}

void Importer::import_node(int index) {
  const onnx::NodeProto& n = gp_.node(index);
  if (!n.domain().empty() && n.domain() != "ai.onnx") fail(n, "unsupported op (domain '" + n.domain() + "')");
  static const std::map<std::string, void (Importer::*)(const onnx::NodeProto&, int)> kHandlers = {
      {"Gemm", &Importer::gemm},
      {"MatMul", &Importer::matmul},
      {"Conv", &Importer::conv},
      {"Relu", &Importer::relu},
      {"MaxPool", &Importer::max_pool},
      {"AveragePool", &Importer::average_pool},
      {"GlobalAveragePool", &Importer::global_average_pool},
      {"Flatten", &Importer::flatten},
      {"Reshape", &Importer::reshape},
      {"Add", &Importer::add},
      {"BatchNormalization", &Importer::batch_norm},
      {"Softmax", &Importer::softmax},
      {"Identity", &Importer::identity},
      {"Dropout", &Importer::dropout},
      {"Constant", &Importer::constant},
      {"Div", &Importer::div},
  };
  const auto it = kHandlers.find(n.op_type());
  if (it == kHandlers.end()) fail(n, "unsupported op");
  require(n, n.output_size() >= 1 && !n.output(0).empty(), "the node has no output");
  (this->*(it->second))(n, index);
}

}  // namespace qreg::onnx_detail

namespace qreg {

Graph import_onnx(const std::string& path) {
  const onnx::ModelProto model = onnx_detail::read_model(path);
  try {
    return onnx_detail::Importer(path, model).run();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(path, 0) == 0) throw;
    throw Error(path + ": " + what);  // from Graph::finalize / infer_shape: name the file too
  }
}

}  // namespace qreg
