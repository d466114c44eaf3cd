#include "core/onnx_export.hpp"

#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/onnx_act_quant.hpp"
#include "core/onnx_proto.hpp"
#include "core/version.hpp"

namespace qreg {
namespace {

using Ints = std::vector<std::int64_t>;

// IR version that onnx releases paired with each opset (onnx.helper.VERSION_TABLE): opset 11 ->
// IR 6 (onnx 1.6), 12–14 -> IR 7, 15–17 -> IR 8. A newer IR would fail older checkers.
std::int64_t ir_version_for(int opset) { return opset <= 11 ? 6 : opset <= 14 ? 7 : 8; }

void set_ints(onnx::NodeProto* np, const std::string& key, const Ints& v) {
  auto* a = np->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INTS);
  for (const std::int64_t x : v) a->add_ints(x);
}

void set_int(onnx::NodeProto* np, const std::string& key, std::int64_t v) {
  auto* a = np->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void set_float(onnx::NodeProto* np, const std::string& key, float v) {
  auto* a = np->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

// Copies the integer-list attributes `keys` that the node has (ONNX defaults apply to the rest).
void copy_ints(const Node& node, onnx::NodeProto* np, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const auto it = node.attrs.ints.find(key);
    if (it != node.attrs.ints.end()) set_ints(np, key, it->second);
  }
}

void set_value_info(onnx::ValueInfoProto* vi, const std::string& name, const Shape& per_sample) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (const std::int64_t d : per_sample) shape->add_dim()->set_dim_value(d);
}

class Exporter {
 public:
  Exporter(const Graph& graph, const ParamSet& params) : graph_(graph), params_(params) {}

  onnx::ModelProto run(int opset) {
    opset_ = opset;
    onnx::ModelProto model;
    model.set_ir_version(ir_version_for(opset));
    model.set_producer_name("qreg");
    model.set_producer_version(build_info().version);
    auto* op = model.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    auto* gp = model.mutable_graph();
    gp->set_name(graph_.name.empty() ? "model" : graph_.name);
    name_tensors();
    for (std::size_t i = 0; i < graph_.params.size(); ++i)
      onnx_detail::from_tensor(params_[i], param_names_[i], gp->add_initializer());
    set_value_info(gp->add_input(), value_names_[0], graph_.input_shape);
    for (const Node& node : graph_.nodes) write_node(node, gp);
    const auto out = static_cast<std::size_t>(graph_.output);
    set_value_info(gp->add_output(), value_names_[out], graph_.value_shapes[out]);
    return model;
  }

 private:
  // ONNX tensor names must be unique across values and initializers (SSA); names that are empty
  // or taken fall back to value_<id> / param_<id>.
  std::string unique(const std::string& wanted, const std::string& fallback) {
    const std::string name = wanted.empty() || taken_.count(wanted) ? fallback : wanted;
    if (!taken_.insert(name).second) throw Error("export_onnx: tensor name '" + name + "' is used twice");
    return name;
  }

  void name_tensors() {
    for (std::size_t i = 0; i < graph_.params.size(); ++i)
      param_names_.push_back(unique(graph_.params[i].name, "param_" + std::to_string(i)));
    for (int v = 0; v < graph_.num_values(); ++v) {
      const auto idx = static_cast<std::size_t>(v);
      const std::string wanted = idx < graph_.value_names.size() ? graph_.value_names[idx] : std::string();
      value_names_.push_back(unique(wanted, "value_" + std::to_string(v)));
    }
  }

  // The activation quantizer as standard ops (core/onnx_act_quant.hpp). A quantizer that no
  // training forward calibrated (running max 0) has no finite ONNX form: x/0 is NaN at x = 0.
  void write_act_quant(const Node& node, onnx::GraphProto* gp) {
    const auto m = static_cast<std::size_t>(node.params.at(0));
    if (!(params_[m][0] > 0.0f))
      throw Error("export_onnx: activation quantizer '" + node.name +
                  "' has running max 0 (never calibrated by a training forward)");
    onnx_detail::write_act_quant(
        gp, node.name, value_names_[static_cast<std::size_t>(node.inputs.at(0))], param_names_[m],
        value_names_[static_cast<std::size_t>(node.output)], static_cast<int>(node.attrs.get_ints("bits", {}).at(0)),
        [this](const std::string& wanted) { return unique(wanted, "tensor_" + std::to_string(taken_.size())); });
  }

  void write_node(const Node& node, onnx::GraphProto* gp) {
    if (node.op == OpType::ActQuant) return write_act_quant(node, gp);
    auto* np = gp->add_node();
    np->set_name(node.name);
    np->set_op_type(op_name(node.op));
    for (const int v : node.inputs) np->add_input(value_names_[static_cast<std::size_t>(v)]);
    for (const int p : node.params) np->add_input(param_names_[static_cast<std::size_t>(p)]);
    const std::string& out = value_names_[static_cast<std::size_t>(node.output)];
    np->add_output(out);
    switch (node.op) {
      case OpType::Gemm:
        set_int(np, "transB", 1);
        break;
      case OpType::Conv:
        copy_ints(node, np, {"kernel_shape", "strides", "pads", "dilations"});
        set_int(np, "group", node.attrs.get_ints("group", {1}).at(0));  // a scalar INT in ONNX
        break;
      case OpType::MaxPool:
      case OpType::AveragePool:
        copy_ints(node, np, {"kernel_shape", "strides", "pads"});
        break;
      case OpType::Flatten:
        set_int(np, "axis", 1);
        break;
      case OpType::BatchNormalization:
        for (const auto& [key, value] : node.attrs.floats)
          if (key == "epsilon" || key == "momentum") set_float(np, key, value);
        break;
      case OpType::Dropout: {  // ratio: an attribute before opset 12, an optional input since
        const float ratio = node.attrs.get_float("ratio", 0.5f);
        if (opset_ < 12) {
          set_float(np, "ratio", ratio);
          break;
        }
        const std::string name = unique(out + "_ratio", "ratio_" + std::to_string(node.output));
        onnx_detail::from_tensor(Tensor(Shape{}, ratio), name, gp->add_initializer());
        np->add_input(name);
        break;
      }
      case OpType::Softmax:  // the last axis; valid under both the pre- and post-13 semantics
        set_int(np, "axis",
                static_cast<std::int64_t>(graph_.value_shapes[static_cast<std::size_t>(node.inputs.at(0))].size()));
        break;
      case OpType::Reshape: {
        Ints shape = {-1};  // batch dimension kept
        const auto it = node.attrs.ints.find("shape");
        if (it == node.attrs.ints.end()) throw Error("export_onnx: Reshape node '" + node.name + "' has no shape");
        shape.insert(shape.end(), it->second.begin(), it->second.end());
        const std::string name = unique(out + "_shape", "shape_" + std::to_string(node.output));
        onnx_detail::from_ints(shape, name, gp->add_initializer());
        np->add_input(name);
        break;
      }
      default:
        break;
    }
  }

  const Graph& graph_;
  const ParamSet& params_;
  int opset_ = 13;
  std::set<std::string> taken_;
  std::vector<std::string> param_names_, value_names_;
};

void check_params(const Graph& graph, const ParamSet& params) {
  if (params.size() != graph.params.size())
    throw Error("export_onnx: " + std::to_string(params.size()) + " parameter tensors for a graph with " +
                std::to_string(graph.params.size()) + " parameters");
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Shape& want = graph.values.size() == params.size() ? graph.values[i].shape() : params[i].shape();
    if (params[i].shape() != want)
      throw Error("export_onnx: parameter '" + graph.params[i].name + "' has shape " + to_string(params[i].shape()) +
                  ", the graph's is " + to_string(want));
  }
  if (graph.output < 0 || graph.output >= graph.num_values())
    throw Error("export_onnx: the graph has no output (not finalized?)");
}

}  // namespace

void export_onnx(const Graph& graph, const ParamSet& params, const std::string& path, int opset) {
  if (opset < 11 || opset > 17)
    throw UsageError("export_onnx: opset " + std::to_string(opset) + " is not supported (11–17)");
  check_params(graph, params);
  const onnx::ModelProto model = Exporter(graph, params).run(opset);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error(path + ": cannot serialize the ONNX model");
  write_file_atomic(path, bytes);
}

}  // namespace qreg
