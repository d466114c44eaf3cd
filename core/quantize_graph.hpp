// Quantizing a whole network's parameters: every quantizable weight (Gemm/MatMul/Conv; never
// biases or batch-norm tensors) fake-quantized with the quantizer of core/quantizer.hpp, with its
// output-channel axis taken from the op. Layers are the quantized nodes in graph order, 0-based.
#pragma once

#include <vector>

#include "core/graph.hpp"
#include "core/quantizer.hpp"

namespace qreg {

/// Output-channel axis of the weight of `op`: 0 for Gemm [out, in] and Conv [out, in, kh, kw],
/// 1 for MatMul [in, out]. Throws Error for ops without a quantizable weight.
int weight_channel_axis(OpType op);

/// How a network is quantized; bits 32 (kFloatBits) means "not quantized".
struct GraphQuantConfig {
  int bits = 8;  // [2, 16] or 32
  Granularity granularity = Granularity::Tensor;
  Scheme scheme = Scheme::Symmetric;
};

struct QuantizedGraphParams {
  ParamSet values;                        // the input set with every quantizable weight replaced by q(w)
  std::vector<int> layers;                // node index of each quantized layer, in graph order
  std::vector<int> weights;               // parameter id of each layer's weight
  std::vector<std::vector<float>> steps;  // Δ per layer: 1 entry per tensor or 1 per output channel;
                                          // all 0 for bits 32 (not quantized, no noise)
};

/// The quantized layers (node index, weight parameter id) in graph order: Graph::quantized_nodes()
/// with their weights. Throws Error when a quantizable weight is not the first parameter of a
/// Gemm/MatMul/Conv node (so a graph cannot hold a weight that this listing would miss).
std::vector<std::pair<int, int>> quantized_layers(const Graph& graph);

/// Steps Δ of every quantized layer's weight, without quantizing (bits 32: zeros).
std::vector<std::vector<float>> layer_steps(const Graph& graph, const ParamSet& values, const GraphQuantConfig& cfg);

/// `values` with every quantizable weight fake-quantized, plus the per-layer steps. Throws
/// UsageError for bits outside [2, 16] ∪ {32}, Error (naming the parameter) for a ParamSet that
/// does not match the graph or a weight that cannot be quantized (empty, NaN/Inf).
QuantizedGraphParams quantize_graph(const Graph& graph, const ParamSet& values, const GraphQuantConfig& cfg);

}  // namespace qreg
