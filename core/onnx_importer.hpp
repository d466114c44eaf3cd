// Internal to qreg_core (ONNX protobuf types): the ONNX → Graph importer behind import_onnx
// (core/onnx_import.hpp). Names, constants, node building and the op table are in
// onnx_import.cpp; the translation of each supported ONNX op is in onnx_import_ops.cpp.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/onnx_proto.hpp"

namespace qreg::onnx_detail {

using Ints = std::vector<std::int64_t>;

// Walks the ONNX graph in its (topological) node order and builds the qreg Graph. ONNX tensor
// names map either to activation values (value ids) or to constants (initializers and Constant
// nodes); Identity and Dropout only alias a name.
class Importer {
 public:
  Importer(std::string path, const onnx::ModelProto& model);
  Graph run();

 private:
  // ---- errors -----------------------------------------------------------------------------------
  // Messages name the node and op; import_onnx puts the file in front.
  [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& what) const { node_error(n, what); }
  void require(const onnx::NodeProto& n, bool ok, const std::string& what) const {
    if (!ok) fail(n, what);
  }
  void require_notset_pad(const onnx::NodeProto& n) const;

  // ---- names ------------------------------------------------------------------------------------
  bool has_input(const onnx::NodeProto& n, int i) const { return n.input_size() > i && !n.input(i).empty(); }
  int value_of(const onnx::NodeProto& n, int i) const;
  const Tensor& float_const(const onnx::NodeProto& n, int i) const;
  const Ints& int_const(const onnx::NodeProto& n, int i) const;

  // ---- graph inputs and outputs -----------------------------------------------------------------
  void read_initializers();
  void read_input();
  void read_output();
  void count_uses();

  // ---- building nodes ---------------------------------------------------------------------------
  Node start(const onnx::NodeProto& n, OpType op) const;
  int param(const onnx::NodeProto& n, const std::string& name, ParamRole role, Tensor value);
  void finish(Node node, const std::string& out_name);
  const Shape& shape_of(int value) const { return graph_.value_shapes[static_cast<std::size_t>(value)]; }
  void import_node(int index);

  // ---- ops (core/onnx_import_ops.cpp) ---------------------------------------------------------
  void gemm(const onnx::NodeProto& n, int);
  void matmul(const onnx::NodeProto& n, int index);
  void add_dense(const onnx::NodeProto& n, OpType op, int x, const std::string& w_name, Tensor w,
                 const std::string* bias_name, const std::string& out);
  void conv(const onnx::NodeProto& n, int);
  void relu(const onnx::NodeProto& n, int);
  void global_average_pool(const onnx::NodeProto& n, int);
  void simple(const onnx::NodeProto& n, OpType op);
  Node pool(const onnx::NodeProto& n, OpType op);
  void max_pool(const onnx::NodeProto& n, int);
  void average_pool(const onnx::NodeProto& n, int);
  void flatten(const onnx::NodeProto& n, int);
  void reshape(const onnx::NodeProto& n, int);
  void add(const onnx::NodeProto& n, int);
  void batch_norm(const onnx::NodeProto& n, int);
  void softmax(const onnx::NodeProto& n, int);
  void alias(const onnx::NodeProto& n);
  void identity(const onnx::NodeProto& n, int);
  void dropout(const onnx::NodeProto& n, int);
  void div(const onnx::NodeProto& n, int index);
  void constant(const onnx::NodeProto& n, int);

  std::string path_;
  const onnx::GraphProto& gp_;
  std::int64_t opset_;
  Graph graph_;
  std::map<std::string, int> values_;     // ONNX name -> activation value id
  std::map<std::string, Tensor> floats_;  // ONNX name -> float constant
  std::map<std::string, Ints> ints_;      // ONNX name -> integer constant
  std::map<std::string, int> uses_;       // ONNX name -> number of consumers (graph outputs count)
  std::set<int> skip_;                    // nodes folded into an earlier one
  std::set<std::string> used_params_;
  std::map<std::string, std::pair<std::string, int>> act_scales_;  // scale s -> (running max M, bits)
};

}  // namespace qreg::onnx_detail
