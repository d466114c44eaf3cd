// What every predictor shares: the quantized layers of a graph in DESIGN.md order, their
// weight-noise variances (σ² = Δ²/12 per tensor or per output channel), which layers lie upstream
// of which, and the per-sample squared norms of weight gradients that the first-order and
// loss-increase predictors are built from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/quantizer.hpp"  // Granularity, shared with the quantizer

namespace qreg::theory {

/// Which layers are noisy: all at once, or only the layer whose output is reported.
enum class Mode { Joint, Isolated };
Mode parse_mode(const std::string& text);  // "joint" | "isolated"; UsageError otherwise
const char* mode_name(Mode m);

/// A quantized node (Gemm/MatMul/Conv with a quantizable weight), 0-based in graph order.
struct QuantLayer {
  int index = 0;                // layer index
  int node = -1;                // node index in graph.nodes
  std::string name;             // node name
  OpType op = OpType::Gemm;     //
  int weight = -1;              // parameter id of the weight
  int input = -1, output = -1;  // value ids: a (layer input) and y (pre-activation output)
  std::int64_t channels = 0;    // output channels: rows of the per-channel quantizer
  std::int64_t fan_in = 0;      // weights per output channel
};
std::vector<QuantLayer> quant_layers(const Graph& graph);

/// upstream[k][L]: layer k's weights can influence layer L's output (k == L included).
std::vector<std::vector<char>> upstream_layers(const Graph& graph, const std::vector<QuantLayer>& layers);

/// Per-layer prediction shared by all methods.
struct LayerPrediction {
  double noise_var = 0;              // mean over samples and elements of Var_δ[Δy_L]
  std::optional<double> stderr;      // estimator standard error (Hutchinson); none when exact
  std::vector<double> contribution;  // per source layer k: its part of noise_var (0 when not upstream)
};

/// Weight noise of one layer: step Δ_c and variance σ_c² = Δ_c²/12 per output channel
/// (all equal for per-tensor granularity).
struct LayerNoise {
  std::vector<double> step;
  std::vector<double> var;
  double mean_var() const;  // mean of σ_c² over channels (= σ² per tensor)
  double rms_step() const;  // sqrt(12·mean_var): the step reported for the layer
};

/// The quantizer's step Δ (core/quantize_graph.hpp: symmetric, max|w| / (2^(b−1)−1)) per tensor
/// or per output channel for every layer, broadcast to one entry per channel, with σ² = Δ²/12.
/// Throws UsageError for bits outside [2, 16].
std::vector<LayerNoise> weight_noise(const Graph& graph, const ParamSet& params, int bits, Granularity g);

/// Per-sample squared norm of the weight gradient of `layer`, per output channel:
///   out[n·C + c] = ‖Σ_positions g_{n,c,p} · a_{n,p}‖²  (dense: rows of the last axis; conv: patches),
/// where a = layer input value [N, ...] and g = d(seed)/dy at the layer output [N, ...].
/// Adds into `out` (size N·C) when accumulate, else overwrites.
void per_sample_weight_grad_norms(const Graph& graph, const QuantLayer& layer, const Tensor& a, const Tensor& g,
                                  std::vector<double>& out, bool accumulate = false);

/// A layer's input a [N, ...] for one batch, prepared for many per-sample gradient norms (one per
/// backward pass): conv layers extract the im2col patches [C·kh·kw, P] of every sample once
/// (N·C·kh·kw·P floats), dense layers keep ‖a_n‖². `a` must outlive it.
class LayerInput {
 public:
  LayerInput(const Graph& graph, const QuantLayer& layer, const Tensor& a);
  /// The same as per_sample_weight_grad_norms(graph, layer, a, g, out, accumulate).
  void grad_norms(const Tensor& g, std::vector<double>& out, bool accumulate = false) const;
  /// The same as per_sample_input_norms(graph, layer, a, out).
  void input_norms(std::vector<double>& out) const;

 private:
  const QuantLayer* layer_;
  const Tensor* a_;
  std::int64_t n_ = 0, positions_ = 1, rows_ = 0, groups_ = 1;  // conv: P, C·kh·kw, groups
  std::vector<float> patches_;                                  // conv: [N, rows, P]
  std::vector<double> norm2_;                                   // dense with one row per sample: ‖a_n‖²
};

/// Per-sample self term: out[n·C + c] = Σ_positions ‖a_{n,p}‖² over the inputs feeding channel c
/// (dense: Σ_rows ‖a_row‖²; conv: Σ_p ‖patch_{n,p}‖² of c's group). Size N·C.
void per_sample_input_norms(const Graph& graph, const QuantLayer& layer, const Tensor& a, std::vector<double>& out);

/// Conv layers: the im2col patches col [C·kh·kw, P] of one per-sample input map x [C, H, W]
/// (zero padding), with P output positions; `groups` blocks of kg rows feed og channels each.
struct ConvPatches {
  std::int64_t rows = 0, positions = 0, groups = 1, kg = 0, og = 0;
  std::vector<float> col;
};
ConvPatches conv_patches(const Graph& graph, const QuantLayer& layer, const float* x);

/// Samples [begin, end) of x [N, ...] as a new tensor.
Tensor batch_slice(const Tensor& x, std::int64_t begin, std::int64_t end);

/// Output elements of the layer per sample.
std::int64_t layer_output_size(const Graph& graph, const QuantLayer& layer);

}  // namespace qreg::theory
