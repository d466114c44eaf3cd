// Internal kernels of the network engine (not a public header): batched forward passes and
// vector-Jacobian products of every op. Activations are batch-first row-major float; input
// gradients are ACCUMULATED (dx += ...) because a value may feed several nodes; parameter
// gradients are written (each parameter belongs to exactly one node).
// Parallel work is split into chunks whose boundaries depend only on the problem size, never on
// the thread count, and every reduction runs in a fixed order, so results are bitwise identical
// for any number of TBB workers.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/graph.hpp"
#include "core/im2col.hpp"  // WindowGeom, window_geom, im2col
#include "core/tensor.hpp"

namespace qreg::ops {

using ConstMap = Eigen::Map<const MatrixRM>;
using Map = Eigen::Map<MatrixRM>;
using FloatBuffer = std::vector<float, Eigen::aligned_allocator<float>>;

/// Rows per parallel block when a product of `rows` rows is split (dense_forward and its backward):
/// depends on the row count only (core/ops/dense.cpp explains the choice).
std::int64_t gemm_rows(std::int64_t rows);

/// Runs f(begin, end) over [0, n) in chunks of `chunk` items, chunks in parallel. The chunking
/// depends on n only, so per-chunk results never depend on the thread count.
template <class F>
void for_chunks(std::int64_t n, std::int64_t chunk, F&& f) {
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  if (chunks <= 1) {
    if (n > 0) f(std::int64_t{0}, n);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<std::int64_t>(0, chunks, 1),
      [&](const tbb::blocked_range<std::int64_t>& r) {
        for (std::int64_t c = r.begin(); c < r.end(); ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
      },
      tbb::simple_partitioner());
}

/// Resizes `t` to `shape` only when the shape changed (buffers are reused between passes).
void ensure_shape(Tensor& t, const Shape& shape);
/// t = 0, in parallel fixed chunks (a batch's gradient buffers reach tens of MB).
void zero(Tensor& t);
/// [n, per_sample...]
Shape batched(std::int64_t n, const Shape& per_sample);

/// Per-node scratch kept between passes (reused when the batch size repeats).
struct NodeState {
  WindowGeom geom{};
  std::vector<std::int32_t> argmax;  // maxpool, general windows: flat input index (h·W + w) per output
  std::vector<float> mean, invstd;   // batch norm: statistics used by the last forward, [C]
  std::vector<float> batch_var;      // batch norm (training): unbiased batch variance, [C]
  bool training = false;
  std::vector<Tensor> partials;  // conv: per-chunk weight-gradient partial sums
  float act_max = 0.0f;          // act quant: the max the last forward used (training: the updated running max)
  FloatBuffer dropout_mul;       // dropout (training): per element 0 or 1/(1 − ratio); empty = identity
  std::uint64_t rng_seed = 0, rng_stream = 0;  // dropout: Philox stream of the next training forward
};

// Gemm (y = x·Wᵀ + b, W [out, in]) and MatMul (y = x·W + b, W [in, out]) over the last axis.
// Backward: dx (when given) accumulates; dw and db (when given) are overwritten. dw == nullptr
// skips the weight and bias gradients (theory's input-gradient-only passes); dx is the same.
void dense_forward(bool gemm, const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y);
void dense_backward(bool gemm, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db);

/// Receives sample s of an op's output (its [C, H, W] block, complete) while it is in cache; called
/// from several threads at once, each sample once (the executor's streamed forward).
using SampleSink = std::function<void(std::int64_t s, const float* ys)>;

// Conv, W [O, C/groups, kh, kw]: the geometries direct_conv accepts run the direct kernel
// (conv_direct.cpp), the others im2col + one GEMM per sample (conv.cpp). y == nullptr: each
// sample's output goes to per-thread scratch and only to `sink`; otherwise to y (and to sink).
void conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor* y, NodeState& st,
                  const SampleSink* sink = nullptr);
/// Samples per chunk of the conv kernels for a given scratch per sample (floats): as many as fit
/// about one core's L2 (512 KiB), at least 1, at most 32 (conv.cpp).
std::int64_t samples_per_chunk(std::int64_t floats_per_sample);
/// Whether conv_forward computes geometry g directly: AVX-512 builds, unit strides, one group and
/// C·kh·kw ≥ 9 (conv_direct.cpp has the measurements behind the rule).
bool direct_conv(const WindowGeom& g);
/// conv_forward's direct path, samples in parallel chunks of `chunk` (unit strides, one group).
void direct_conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor* y, const WindowGeom& g,
                         std::int64_t chunk, const SampleSink* sink);
/// Whether conv_backward computes the weight gradient of geometry g directly (when the input is
/// finite): direct_conv's geometries with nine taps (kh·kw = 9: 3×3, also 1×9 and 9×1).
bool direct_weight_grad(const WindowGeom& g);
/// conv_backward's direct weight gradient (unit strides, one group, kh·kw = 9; any padding and
/// dilation): partials[k] [O, C·kh·kw + 1] = chunk k's dW (bias gradient in the last column),
/// chunks of a fixed size (partials resized to their count), summed in chunk order by the caller.
/// x must be finite: an inf or NaN in x also reaches taps that never read it (0 · inf);
/// conv_backward checks and takes the im2col path otherwise.
void direct_conv_weight_grad(const Tensor& x, const Tensor& dy, const WindowGeom& g, std::vector<Tensor>& partials);
/// conv_forward's im2col + GEMM path (any geometry); for tests and benchmarks of the two paths.
void im2col_conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor* y, const WindowGeom& g,
                         const SampleSink* sink = nullptr);
void conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db,
                   NodeState& st);
/// conv_backward's im2col + GEMM path (any geometry: dx by col2im, dW and db by chunk GEMMs); for
/// tests and benchmarks of the two paths.
void im2col_conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db,
                          NodeState& st);

/// relu: y = max(pool(x), 0) = pool(ReLU(x)), the executor's fused ReLU → MaxPool (no argmax
/// is then needed: a fused pass has no backward).
void maxpool_forward(const Tensor& x, Tensor& y, NodeState& st, bool relu = false);
/// One sample x [C, H, W] -> y [C, Ho, Wo] of an inference max-pool (no argmax), clamped at 0
/// when `relu`: the executor's streamed Conv → ReLU → MaxPool.
void maxpool_sample(const WindowGeom& g, const float* x, float* y, bool relu);
/// x is the forward's input: the 2×2 case recomputes its argmax from it (the forward stores none).
void maxpool_backward(const Tensor& x, const Tensor& dy, Tensor& dx, const NodeState& st);
void avgpool_forward(const Tensor& x, Tensor& y, const WindowGeom& g);
void avgpool_backward(const Tensor& dy, Tensor& dx, const WindowGeom& g);
/// [N, C, H, W] -> [N, C, 1, 1]
void global_avgpool_forward(const Tensor& x, Tensor& y);
void global_avgpool_backward(const Tensor& dy, Tensor& dx);

void relu_forward(const Tensor& x, Tensor& y);
/// dx += dy where y > 0 (uses the output: the mask of x > 0 and y > 0 agree).
void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx);
void add_forward(const Tensor& a, const Tensor& b, Tensor& y);
/// dx += dy (Add operands, Flatten, Reshape: identical flat layouts).
void accumulate(const Tensor& dy, Tensor& dx);

/// x [N, C, ...]; params scale, bias, mean, var [C]. training: batch statistics.
void batchnorm_forward(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean, const Tensor& var,
                       float epsilon, bool training, Tensor& y, NodeState& st);
void batchnorm_backward(const Tensor& x, const Tensor& scale, const Tensor& dy, Tensor* dx, Tensor& dscale,
                        Tensor& dbias, const NodeState& st);

/// Softmax over the last axis.
void softmax_forward(const Tensor& x, Tensor& y);
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx);

/// Activation fake-quantizer (core/ops/act_quant.cpp): y = s·clamp(rint(x/s), 0, 2^bits − 1),
/// s = max/(2^bits − 1); max = running max (inference) or its momentum update with the batch max
/// (training; kept in st.act_max, written back by Executor::update_running_stats). STE: dx += dy on [0, max].
void act_quant_forward(const Tensor& x, const Tensor& running_max, int bits, float momentum, bool training, Tensor& y,
                       NodeState& st);
void act_quant_backward(const Tensor& x, const Tensor& dy, Tensor& dx, const NodeState& st);
/// Inverted dropout (core/ops/dropout.cpp); `node` keys the mask's Philox counters. Inference: copy.
void dropout_forward(const Tensor& x, float ratio, bool training, std::uint64_t node, Tensor& y, NodeState& st);
void dropout_backward(const Tensor& dy, Tensor& dx, const NodeState& st);

}  // namespace qreg::ops
