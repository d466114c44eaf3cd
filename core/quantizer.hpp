// The weight quantizer of DESIGN.md. Default: symmetric, narrow range, round to nearest,
//   q(w) = Δ·clamp(round(w/Δ), −(2^(b−1)−1), 2^(b−1)−1),  Δ = max|w| / (2^(b−1)−1),
// per tensor or per output channel. Option: asymmetric (min/max with an integer zero point).
// Rounding is half away from zero and w/Δ is computed as w·(1/Δ) in float, exactly as the CPU
// and CUDA backends' fake_quantize do, so the three agree bitwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"

namespace qreg {

/// One step for the whole tensor, or one per slice along the channel axis.
enum class Granularity { Tensor, Channel };
/// Symmetric: codes in [−(2^(b−1)−1), 2^(b−1)−1], zero point 0. Asymmetric: codes in [0, 2^b−1].
enum class Scheme { Symmetric, Asymmetric };

/// "tensor" | "channel"; throws UsageError otherwise.
Granularity parse_granularity(std::string_view text);
/// "symmetric" | "asymmetric"; throws UsageError otherwise.
Scheme parse_scheme(std::string_view text);
const char* granularity_name(Granularity granularity);
const char* scheme_name(Scheme scheme);

/// Channel axis of a layer's weight: 0 for Gemm [out, in] and Conv [out, in, kh, kw], 1 for MatMul [in, out].
inline constexpr int kGemmChannelAxis = 0;
inline constexpr int kMatMulChannelAxis = 1;

struct QuantizerConfig {
  int bits = 8;  // b ∈ [2, 16]
  Granularity granularity = Granularity::Tensor;
  Scheme scheme = Scheme::Symmetric;
  int channel_axis = 0;  // the output-channel axis, used when granularity == Channel
};

/// Step Δ (weight units) and zero point z (in codes) of each group: one group per tensor, or one
/// per channel. The integer code of w is c = clamp(round(w/Δ) + z, code_min, code_max) and its
/// value Δ·(c − z).
struct QuantParams {
  std::vector<float> step;        // Δ > 0 per group
  std::vector<float> zero_point;  // z per group (integer-valued; 0 for symmetric)
  std::int32_t code_min = 0;      // −(2^(b−1)−1) symmetric, 0 asymmetric
  std::int32_t code_max = 0;      // 2^(b−1)−1 symmetric, 2^b−1 asymmetric
  int channel_axis = -1;          // axis of the groups, −1 for per tensor

  std::int64_t groups() const { return static_cast<std::int64_t>(step.size()); }
};

/// Largest symmetric code 2^(b−1)−1 (127 for 8 bits); checks bits ∈ [2, 16].
std::int32_t symmetric_code_max(int bits);

/// Max-calibrated parameters of `weights` (any rank ≥ 1 for Channel, any non-empty tensor for
/// Tensor). An all-zero group gets Δ = FLT_MIN (see quantizer.cpp). Throws UsageError for bits
/// outside [2, 16] or a bad channel axis, Error for an empty tensor or a NaN/Inf value.
QuantParams compute_quant_params(const Tensor& weights, const QuantizerConfig& cfg);

/// q(w) elementwise, same shape as `weights`. `params` must fit the tensor (group count, axis).
Tensor fake_quantize(const Tensor& weights, const QuantParams& params);
/// Integer codes c (row-major like `weights`).
std::vector<std::int32_t> quantize_codes(const Tensor& weights, const QuantParams& params);
/// Values Δ·(c − z) of codes on `shape`.
Tensor dequantize(const std::vector<std::int32_t>& codes, const Shape& shape, const QuantParams& params);
/// q(w) − w elementwise: the quantization error δ.
Tensor quantization_error(const Tensor& weights, const QuantParams& params);

/// Convenience: compute_quant_params then fake_quantize.
Tensor fake_quantize(const Tensor& weights, const QuantizerConfig& cfg);

/// How a row-major tensor splits into groups: [outer, groups, inner]; the flat element i
/// belongs to group (i / inner) % groups.
struct GroupLayout {
  std::int64_t outer = 1, groups = 1, inner = 1;
  std::int64_t group_of(std::int64_t i) const { return (i / inner) % groups; }
};
/// The layout of `params` on `shape`; throws Error when they do not fit (group count, axis).
GroupLayout group_layout(const Shape& shape, const QuantParams& params);

}  // namespace qreg
