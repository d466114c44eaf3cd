#include "core/quantizer.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/named_enum.hpp"

namespace qreg {
namespace {

// Elementwise loops are split into fixed ranges; each element's result depends only on itself,
// so the output is the same whatever the thread count.
constexpr std::int64_t kGrain = 1 << 15;

// Δ of an all-zero group. Any Δ > 0 reproduces zeros exactly; FLT_MIN (the smallest positive
// normal float) keeps 1/Δ = 2^126 finite, w·(1/Δ) = 0 without a NaN, and Δ²/12 ≈ 1e-77, so a
// group that has no quantization noise is not predicted to have any. The same floor keeps
// 1/Δ finite when max|w| is subnormal.
constexpr double kMinStep = FLT_MIN;

void check_finite(const Tensor& t, const char* fn) {
  const float* p = t.data();
  for (std::int64_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(p[i]))
      throw Error(std::string(fn) + ": weight " + std::to_string(i) + " of tensor " + to_string(t.shape()) + " is " +
                  (std::isnan(p[i]) ? "NaN" : "infinite") + " (quantization needs finite values)");
}

GroupLayout layout_for_axis(const Shape& shape, int axis) {
  GroupLayout g;
  if (axis < 0) {
    g.inner = numel(shape);
    return g;
  }
  for (int d = 0; d < axis; ++d) g.outer *= shape[static_cast<std::size_t>(d)];
  g.groups = shape[static_cast<std::size_t>(axis)];
  for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) g.inner *= shape[d];
  return g;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
};

std::vector<Range> group_ranges(const Tensor& t, const GroupLayout& g) {
  std::vector<Range> r(static_cast<std::size_t>(g.groups));
  const float* p = t.data();
  for (std::int64_t i = 0; i < t.size(); ++i) {
    Range& x = r[static_cast<std::size_t>(g.group_of(i))];
    x.lo = std::min(x.lo, static_cast<double>(p[i]));
    x.hi = std::max(x.hi, static_cast<double>(p[i]));
  }
  return r;
}

// Applies f(i, step, inv_step, zero_point) to every element with its group's parameters.
template <typename F>
void for_each_element(std::int64_t n, const GroupLayout& g, const QuantParams& qp, F f) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, kGrain), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) {
      const auto k = static_cast<std::size_t>(g.group_of(i));
      const float step = qp.step[k];
      f(i, step, 1.0f / step, qp.zero_point[k]);
    }
  });
}

}  // namespace

namespace {
constexpr EnumName<Granularity> kGranularities[] = {{Granularity::Tensor, "tensor"}, {Granularity::Channel, "channel"}};
constexpr EnumName<Scheme> kSchemes[] = {{Scheme::Symmetric, "symmetric"}, {Scheme::Asymmetric, "asymmetric"}};
}  // namespace

Granularity parse_granularity(std::string_view text) { return parse_enum(text, kGranularities, "granularity"); }
Scheme parse_scheme(std::string_view text) { return parse_enum(text, kSchemes, "scheme"); }
const char* granularity_name(Granularity granularity) { return enum_name(granularity, kGranularities); }
const char* scheme_name(Scheme scheme) { return enum_name(scheme, kSchemes); }

std::int32_t symmetric_code_max(int bits) {
  check_bits(bits);
  return (std::int32_t{1} << (bits - 1)) - 1;
}

GroupLayout group_layout(const Shape& shape, const QuantParams& params) {
  const auto groups = params.groups();
  if (groups < 1 || params.zero_point.size() != params.step.size())
    throw Error("quantizer: parameters have " + std::to_string(groups) + " steps and " +
                std::to_string(params.zero_point.size()) + " zero points");
  if (params.channel_axis >= static_cast<int>(shape.size()))
    throw Error("quantizer: channel axis " + std::to_string(params.channel_axis) + " out of range for shape " +
                to_string(shape));
  const GroupLayout g = layout_for_axis(shape, params.channel_axis);
  if (g.groups != groups)
    throw Error("quantizer: parameters have " + std::to_string(groups) + " groups but shape " + to_string(shape) +
                " has " + std::to_string(g.groups) + " along axis " + std::to_string(params.channel_axis));
  for (float s : params.step)
    if (!(s > 0.0f) || !std::isfinite(s)) throw Error("quantizer: step " + std::to_string(s) + " is not positive");
  return g;
}

QuantParams compute_quant_params(const Tensor& weights, const QuantizerConfig& cfg) {
  check_bits(cfg.bits);
  if (weights.empty()) throw Error("compute_quant_params: empty tensor " + to_string(weights.shape()));
  QuantParams qp;
  if (cfg.granularity == Granularity::Channel) {
    if (cfg.channel_axis < 0 || cfg.channel_axis >= weights.rank())
      throw UsageError("compute_quant_params: channel axis " + std::to_string(cfg.channel_axis) +
                       " out of range for a tensor of shape " + to_string(weights.shape()));
    qp.channel_axis = cfg.channel_axis;
  }
  check_finite(weights, "compute_quant_params");
  const auto ranges = group_ranges(weights, layout_for_axis(weights.shape(), qp.channel_axis));
  const bool symmetric = cfg.scheme == Scheme::Symmetric;
  qp.code_max = symmetric ? symmetric_code_max(cfg.bits) : (std::int32_t{1} << cfg.bits) - 1;
  qp.code_min = symmetric ? -qp.code_max : 0;
  for (const Range& r : ranges) {
    // Computed in double so that max − min cannot overflow; the float Δ is within one rounding
    // of the exact one, so max|w|·(1/Δ) still rounds to the end code and nothing is clipped.
    if (symmetric) {
      const double max_abs = std::max(std::abs(r.lo), std::abs(r.hi));
      qp.step.push_back(static_cast<float>(std::max(max_abs / qp.code_max, kMinStep)));
      qp.zero_point.push_back(0.0f);
    } else {
      // The range is widened to contain 0 (as PyTorch's MinMaxObserver does) so that w = 0 is
      // exact and the zero point is an integer code.
      const double lo = std::min(r.lo, 0.0), hi = std::max(r.hi, 0.0);
      const double step = std::max((hi - lo) / qp.code_max, kMinStep);
      const double z = std::clamp(std::round(-lo / step), 0.0, static_cast<double>(qp.code_max));
      qp.step.push_back(static_cast<float>(step));
      qp.zero_point.push_back(static_cast<float>(z));
    }
  }
  return qp;
}

Tensor fake_quantize(const Tensor& weights, const QuantParams& params) {
  const GroupLayout g = group_layout(weights.shape(), params);
  check_finite(weights, "fake_quantize");
  Tensor out(weights.shape());
  const float lo = static_cast<float>(params.code_min), hi = static_cast<float>(params.code_max);
  const float* w = weights.data();
  float* q = out.data();
  const bool no_zero_point =
      std::all_of(params.zero_point.begin(), params.zero_point.end(), [](float z) { return z == 0.0f; });
  if (params.code_min == -params.code_max && no_zero_point) {
    // The symmetric form without a zero point, bitwise equal to Backend::fake_quantize.
    for_each_element(weights.size(), g, params, [&](std::int64_t i, float step, float inv, float) {
      q[i] = step * std::clamp(std::round(w[i] * inv), lo, hi);
    });
  } else {
    for_each_element(weights.size(), g, params, [&](std::int64_t i, float step, float inv, float z) {
      q[i] = step * (std::clamp(std::round(w[i] * inv) + z, lo, hi) - z);
    });
  }
  return out;
}

std::vector<std::int32_t> quantize_codes(const Tensor& weights, const QuantParams& params) {
  const GroupLayout g = group_layout(weights.shape(), params);
  check_finite(weights, "quantize_codes");
  std::vector<std::int32_t> codes(static_cast<std::size_t>(weights.size()));
  const float lo = static_cast<float>(params.code_min), hi = static_cast<float>(params.code_max);
  const float* w = weights.data();
  for_each_element(weights.size(), g, params, [&](std::int64_t i, float, float inv, float z) {
    codes[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(std::clamp(std::round(w[i] * inv) + z, lo, hi));
  });
  return codes;
}

Tensor dequantize(const std::vector<std::int32_t>& codes, const Shape& shape, const QuantParams& params) {
  const GroupLayout g = group_layout(shape, params);
  if (static_cast<std::int64_t>(codes.size()) != numel(shape))
    throw Error("dequantize: " + std::to_string(codes.size()) + " codes for shape " + to_string(shape));
  for (std::int32_t c : codes)
    if (c < params.code_min || c > params.code_max)
      throw Error("dequantize: code " + std::to_string(c) + " outside [" + std::to_string(params.code_min) + ", " +
                  std::to_string(params.code_max) + "]");
  Tensor out(shape);
  float* q = out.data();
  for_each_element(out.size(), g, params, [&](std::int64_t i, float step, float, float z) {
    q[i] = step * (static_cast<float>(codes[static_cast<std::size_t>(i)]) - z);
  });
  return out;
}

Tensor quantization_error(const Tensor& weights, const QuantParams& params) {
  Tensor err = fake_quantize(weights, params);
  float* e = err.data();
  const float* w = weights.data();
  for (std::int64_t i = 0; i < err.size(); ++i) e[i] -= w[i];
  return err;
}

Tensor fake_quantize(const Tensor& weights, const QuantizerConfig& cfg) {
  return fake_quantize(weights, compute_quant_params(weights, cfg));
}

}  // namespace qreg
