// The network engine's graph IR: a topologically ordered list of nodes over activation values,
// with parameters (weights, biases, batch-norm statistics) held apart from the structure so they
// can be swapped or perturbed without rebuilding the graph (sim needs thousands of noisy copies,
// train fake-quantized ones). ONNX import/export and the built-in models produce this IR.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg {

/// The supported ops; names match ONNX op types (op_name / parse_op_type convert).
enum class OpType {
  Gemm,    // y = x·Wᵀ + b; W [out, in] (ONNX transB=1 form; import normalises to it)
  MatMul,  // y = x·W;      W [in, out] (a constant right operand)
  Conv,    // 2-D, NCHW; W [out, in/groups, kh, kw]; attrs strides, pads, dilations, group
  Relu,
  MaxPool,      // attrs kernel_shape, strides, pads
  AveragePool,  // attrs kernel_shape, strides, pads (count_include_pad=0)
  GlobalAveragePool,
  Flatten,             // to [N, rest] (ONNX axis=1)
  Reshape,             // attr shape (per-sample shape, batch kept)
  Add,                 // elementwise sum of two values of equal shape (residual)
  BatchNormalization,  // params scale, bias, mean, var; attr epsilon, momentum
  Softmax,             // over the last axis
  // Training-side ops (core/act_quant.hpp inserts them after Relu nodes):
  ActQuant,  // unsigned activation fake-quantizer; param running max [1]; attrs bits, momentum (not an ONNX op)
  Dropout,   // inverted dropout in training forwards, identity in inference; attr ratio
};
const char* op_name(OpType op);
/// Gemm, MatMul or Conv: the ops whose weight is quantized (the "layers" of DESIGN.md).
bool is_layer_op(OpType op);
/// Throws Error naming `text` when it is not a supported op.
OpType parse_op_type(const std::string& text);

/// Integer-list and float attributes, keyed by ONNX attribute name.
struct Attributes {
  std::map<std::string, std::vector<std::int64_t>> ints;
  std::map<std::string, float> floats;
  std::vector<std::int64_t> get_ints(const std::string& key, std::vector<std::int64_t> fallback) const;
  float get_float(const std::string& key, float fallback) const;
};

struct Node {
  std::string name;
  OpType op = OpType::Relu;
  std::vector<int> inputs;  // value ids, in ONNX input order (activations only)
  int output = -1;          // value id
  std::vector<int> params;  // parameter ids: Gemm/MatMul/Conv {weight[, bias]}; BN {scale, bias, mean, var};
                            // ActQuant {running max}
  Attributes attrs;
};

enum class ParamRole { Weight, Bias, BnScale, BnBias, BnMean, BnVar, ActMax };

struct Parameter {
  std::string name;
  ParamRole role = ParamRole::Weight;
  int node = -1;  // owning node
  /// Weights of Gemm/MatMul/Conv are quantized; biases and batch-norm tensors are not.
  bool quantizable() const { return role == ParamRole::Weight; }
  /// Running statistics are updated by training but not by gradients.
  bool trainable() const { return role != ParamRole::BnMean && role != ParamRole::BnVar && role != ParamRole::ActMax; }
};

/// One parameter set: parameter id -> tensor. The graph keeps a default one; sim and train pass
/// their own (perturbed or fake-quantized) sets to the executor.
using ParamSet = std::vector<Tensor>;

class Graph {
 public:
  std::string name = "model";
  Shape input_shape;                // per sample, e.g. {1, 28, 28} or {784}
  std::vector<Node> nodes;          // topological order
  std::vector<Parameter> params;    // metadata, indexed like ParamSet
  ParamSet values;                  // default parameter values
  std::vector<Shape> value_shapes;  // per-sample shape of every value; value 0 is the input
  int output = -1;                  // value id of the network output (logits)
  std::vector<std::string> value_names;

  int num_values() const { return static_cast<int>(value_shapes.size()); }
  /// Node indices of Gemm/MatMul/Conv with a quantizable weight, in graph order ("layers").
  std::vector<int> quantized_nodes() const;
  /// Adds a value of per-sample `shape`; returns its id.
  int add_value(const std::string& value_name, Shape shape);
  /// Adds a parameter owned by `node`; returns its id.
  int add_param(const std::string& param_name, ParamRole role, int node, Tensor value);
  /// Checks ids, shapes and topological order; fills value_shapes of outputs by shape inference.
  /// Throws Error naming the node on any inconsistency.
  void finalize();
  std::int64_t num_parameters() const;
};

/// Per-sample output shape of `node` given the graph's value shapes and parameters (throws Error).
Shape infer_shape(const Graph& graph, const Node& node);

}  // namespace qreg
