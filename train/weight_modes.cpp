#include "train/weight_modes.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/named_enum.hpp"
#include "core/quantize_graph.hpp"
#include "core/rng.hpp"

namespace qreg {

namespace {
constexpr EnumName<TrainMode> kTrainModes[] = {
    {TrainMode::Qat, "qat"}, {TrainMode::Noise, "noise"}, {TrainMode::Gaussian, "gaussian"}, {TrainMode::Lsq, "lsq"}};
}  // namespace

TrainMode parse_train_mode(std::string_view text) { return parse_enum(text, kTrainModes, "mode"); }
const char* train_mode_name(TrainMode mode) { return enum_name(mode, kTrainModes); }

std::uint64_t shuffle_stream(int epoch) { return (std::uint64_t{1} << 32) + static_cast<std::uint64_t>(epoch); }

std::uint64_t noise_stream(int epoch, std::int64_t step) {
  return (std::uint64_t{1} << 63) + (static_cast<std::uint64_t>(epoch) << 32) + static_cast<std::uint64_t>(step);
}

LayerBits parse_layer_bits(std::string_view text) {
  LayerBits out;
  std::size_t pos = 0;
  while (!text.empty() && pos <= text.size()) {
    const std::size_t end = std::min(text.find(',', pos), text.size());
    const std::string item(text.substr(pos, end - pos));
    const std::size_t colon = item.find(':');
    int layer = -1, bits = -1;
    try {
      std::size_t used = 0;
      if (colon != std::string::npos) layer = std::stoi(item.substr(0, colon), &used);
      if (colon == std::string::npos || used != colon || layer < 0) throw UsageError("");
      const std::string b = item.substr(colon + 1);
      bits = b == "fp32" ? kFloatBits : std::stoi(b, &used);
      if (b != "fp32" && used != b.size()) throw UsageError("");
    } catch (const std::exception&) {
      throw UsageError("--layer-bits: '" + item + "' is not LAYER:BITS (e.g. 0:8,2:4; LAYER = quantized-layer index)");
    }
    try {
      check_bits(bits, true);
    } catch (const UsageError& e) {
      throw UsageError("--layer-bits: '" + item + "': " + e.what());
    }
    for (const auto& [l, b] : out)
      if (l == layer) throw UsageError("--layer-bits: layer " + std::to_string(layer) + " is given twice");
    out.emplace_back(layer, bits);
    pos = end + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string layer_bits_label(const LayerBits& bits) {
  std::string s;
  for (const auto& [l, b] : bits)
    s += (s.empty() ? "l" : "_l") + std::to_string(l) + (b == kFloatBits ? "fp32" : "b" + std::to_string(b));
  return s;
}

std::vector<int> WeightModeConfig::resolve(std::size_t layers) const {
  check_bits(bits, true);
  std::vector<int> out(layers, bits);
  for (const auto& [l, b] : layer_bits) {
    check_bits(b, true);
    if (l < 0 || static_cast<std::size_t>(l) >= layers)
      throw UsageError("--layer-bits: layer " + std::to_string(l) + " does not exist; the model has " +
                       std::to_string(layers) + " quantized layers (0.." +
                       std::to_string(static_cast<long long>(layers) - 1) + ")");
    out[static_cast<std::size_t>(l)] = b;
  }
  return out;
}

std::vector<QuantLayer> quant_layers(const Graph& graph, const WeightModeConfig& cfg) {
  const auto nodes = quantized_layers(graph);
  const std::vector<int> bits = cfg.resolve(nodes.size());
  std::vector<QuantLayer> out;
  for (std::size_t l = 0; l < nodes.size(); ++l) {
    QuantLayer q;
    q.node = nodes[l].first;
    q.param = nodes[l].second;
    q.bits = bits[l];
    q.qmax = q.bits == kFloatBits ? 0 : symmetric_code_max(q.bits);
    const Shape& shape = graph.values[static_cast<std::size_t>(q.param)].shape();
    q.inner = numel(shape);
    if (cfg.granularity == Granularity::Channel && !shape.empty()) {
      const auto axis = static_cast<std::size_t>(weight_channel_axis(graph.nodes[static_cast<std::size_t>(q.node)].op));
      QREG_ASSERT(axis < shape.size(), "quant_layers: channel axis beyond the weight's rank");
      q.outer = q.groups = q.inner = 1;
      for (std::size_t d = 0; d < shape.size(); ++d) (d < axis ? q.outer : d == axis ? q.groups : q.inner) *= shape[d];
    }
    out.push_back(q);
  }
  return out;
}

namespace {

// Elementwise work is cut into fixed chunks of kChunk elements: every element's result depends
// on itself (and its group's step) only, and max is exact in any order, so the output is the
// same for any thread count.
constexpr std::int64_t kChunk = 1 << 15;

std::int64_t chunks(std::int64_t n) { return (n + kChunk - 1) / kChunk; }

template <typename F>
void for_chunks(std::int64_t n, F f) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, chunks(n), 1), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t c = r.begin(); c < r.end(); ++c) f(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

// Calls f(begin, end, group) for the contiguous runs of one group that make up [a, b).
template <typename F>
void for_runs(const QuantLayer& q, std::int64_t a, std::int64_t b, F f) {
  std::int64_t g = (a / q.inner) % q.groups;
  std::int64_t i = a, left = q.inner - a % q.inner;
  while (i < b) {
    const std::int64_t end = std::min(b, i + left);
    f(i, end, g);
    i = end;
    left = q.inner;
    if (++g == q.groups) g = 0;
  }
}

// The step of a max-calibrated group, as core/quantizer.cpp computes it (max|w| exact in float,
// the division in double, the FLT_MIN floor for an all-zero group).
float max_step(float max_abs, std::int32_t qmax) {
  return static_cast<float>(std::max(static_cast<double>(max_abs) / qmax, static_cast<double>(FLT_MIN)));
}

// q = s·clamp(round(w·inv), lo, hi) over n values. Plain arguments and restrict pointers: with
// the bounds captured by reference, every store might alias them and the loop stays scalar.
void quantize_run(const float* __restrict w, float* __restrict q, std::int64_t n, float s, float inv, float lo,
                  float hi) {
  for (std::int64_t i = 0; i < n; ++i) q[i] = s * std::clamp(round_half_away(w[i] * inv), lo, hi);
}

// max|w| over n values; `bad` += Σ w·0 (NaN exactly when a value is NaN/Inf). Sixteen lanes, each
// reduced in order, so the loop vectorizes without -ffast-math; max is exact in any order.
float max_abs_run(const float* w, std::int64_t n, float& bad) {
  constexpr int kLanes = 16;
  float m[kLanes] = {}, z[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float a = std::abs(w[i + j]);
      m[j] = m[j] < a ? a : m[j];
      z[j] += w[i + j] * 0.0f;
    }
  for (; i < n; ++i) {
    m[0] = std::max(m[0], std::abs(w[i]));
    z[0] += w[i] * 0.0f;
  }
  float mx = 0.0f;
  for (int j = 0; j < kLanes; ++j) {
    mx = std::max(mx, m[j]);
    bad += z[j];
  }
  return mx;
}

}  // namespace

WeightBuilder::WeightBuilder(const Graph& graph, const WeightModeConfig& cfg)
    : cfg_(cfg), layers_(quant_layers(graph, cfg)), is_weight_(graph.values.size(), 0), out_(graph.values) {
  for (const QuantLayer& q : layers_) {
    if (q.bits == kFloatBits) continue;
    all_float_ = false;
    is_weight_[static_cast<std::size_t>(q.param)] = 1;
  }
  steps_.resize(layers_.size());
  for (std::size_t l = 0; l < layers_.size(); ++l)
    steps_[l].assign(layers_[l].bits == kFloatBits ? 1 : static_cast<std::size_t>(layers_[l].groups), 0.0f);
}

std::vector<int> WeightBuilder::layer_bits() const {
  std::vector<int> out;
  for (const QuantLayer& q : layers_) out.push_back(q.bits);
  return out;
}

const ParamSet& WeightBuilder::forward(const ParamSet& shadow, const std::vector<Tensor>& lsq_steps, std::uint64_t seed,
                                       int epoch, std::int64_t step) {
  const bool noise = cfg_.mode == TrainMode::Noise || cfg_.mode == TrainMode::Gaussian;
  return build(shadow, cfg_.mode == TrainMode::Lsq ? &lsq_steps : nullptr, noise, seed, noise_stream(epoch, step));
}

const ParamSet& WeightBuilder::quantized(const ParamSet& shadow, const std::vector<Tensor>& lsq_steps) {
  return build(shadow, cfg_.mode == TrainMode::Lsq ? &lsq_steps : nullptr, false, 0, 0);
}

const ParamSet& WeightBuilder::deployed(const ParamSet& shadow, const std::vector<Tensor>& lsq_steps) {
  if (cfg_.mode == TrainMode::Noise || cfg_.mode == TrainMode::Gaussian) {
    build(shadow, nullptr, false, 0, 0);  // for steps() only
    return shadow;
  }
  return quantized(shadow, lsq_steps);
}

const ParamSet& WeightBuilder::build(const ParamSet& shadow, const std::vector<Tensor>* lsq_steps, bool noise,
                                     std::uint64_t seed, std::uint64_t stream) {
  QREG_ASSERT(shadow.size() == out_.size(), "WeightBuilder: parameter set does not match the graph");
  QREG_ASSERT(!lsq_steps || lsq_steps->size() == layers_.size(), "WeightBuilder: one LSQ step tensor per layer");
  if (all_float_) return shadow;
  for (std::size_t p = 0; p < shadow.size(); ++p)  // biases, batch norm, float layers: small copies
    if (!is_weight_[p]) std::copy_n(shadow[p].data(), shadow[p].size(), out_[p].data());
  std::uint64_t word = 0;  // noise: position in the stream (one word per uniform, one block per normal pair)
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const QuantLayer& q = layers_[l];
    if (q.bits == kFloatBits) continue;
    const Tensor& wt = shadow[static_cast<std::size_t>(q.param)];
    const float* w = wt.data();
    float* dst = out_[static_cast<std::size_t>(q.param)].data();
    const std::int64_t n = wt.size();
    std::vector<float>& step = steps_[l];
    if (lsq_steps) {
      const Tensor& s = (*lsq_steps)[l];
      QREG_ASSERT(s.size() == q.groups, "WeightBuilder: LSQ steps do not fit the layer");
      std::copy_n(s.data(), s.size(), step.data());
    } else {
      // Pass 1: max|w| per group (and a NaN/Inf flag: x·0 is NaN exactly for non-finite x).
      const std::int64_t nc = chunks(n);
      partial_.assign(static_cast<std::size_t>(nc * q.groups + nc), 0.0f);
      float* part = partial_.data();
      for_chunks(n, [&](std::int64_t a, std::int64_t b) {
        float* m = part + (a / kChunk) * q.groups;
        float bad = 0.0f;
        for_runs(q, a, b, [&](std::int64_t i0, std::int64_t i1, std::int64_t g) {
          m[g] = std::max(m[g], max_abs_run(w + i0, i1 - i0, bad));
        });
        part[nc * q.groups + a / kChunk] = bad;
      });
      for (std::int64_t c = 0; c < nc; ++c)
        if (!(part[nc * q.groups + c] == 0.0f))
          throw Error("train: the weight of quantized layer " + std::to_string(l) +
                      " has a NaN/Inf value (quantization needs finite values)");
      for (std::int64_t g = 0; g < q.groups; ++g) {
        float mx = 0.0f;
        for (std::int64_t c = 0; c < nc; ++c) mx = std::max(mx, part[c * q.groups + g]);
        step[static_cast<std::size_t>(g)] = max_step(mx, q.qmax);
      }
    }
    // Pass 2: q(w) = Δ·clamp(round(w·(1/Δ)), −qmax, qmax), as core/quantizer.cpp (bitwise), or w + δ.
    const float lo = static_cast<float>(-q.qmax), hi = static_cast<float>(q.qmax);
    const TrainMode mode = noise ? cfg_.mode : TrainMode::Qat;
    const std::uint64_t base = word;
    for_chunks(n, [&](std::int64_t a, std::int64_t b) {
      for_runs(q, a, b, [&](std::int64_t i0, std::int64_t i1, std::int64_t g) {
        const float s = step[static_cast<std::size_t>(g)], inv = 1.0f / s;
        if (mode == TrainMode::Qat) {
          quantize_run(w + i0, dst + i0, i1 - i0, s, inv, lo, hi);
        } else if (mode == TrainMode::Noise) {
          // Word k of the stream is word k%4 of Philox block k/4: the sequential reader's values.
          std::uint64_t cur = ~std::uint64_t{0};
          r123::Philox4x32::ctr_type blk{};
          for (std::int64_t i = i0; i < i1; ++i) {
            const std::uint64_t k = base + static_cast<std::uint64_t>(i);
            if (k >> 2 != cur) blk = philox_block(seed, stream, cur = k >> 2);
            dst[i] = w[i] + s * (u01_open(blk.v[k & 3]) - 0.5f);
          }
        } else {
          // Box-Muller pair k/2 uses block k/2 (u1 from words 0-1, u2 from 2-3); even k: cos, odd: sin.
          constexpr double kInvSqrt12 = 0.28867513459481287, kTwoPi = 6.283185307179586;
          std::uint64_t cur = ~std::uint64_t{0};
          double r = 0.0, angle = 0.0;
          for (std::int64_t i = i0; i < i1; ++i) {
            const std::uint64_t k = base + static_cast<std::uint64_t>(i);
            if (k >> 1 != cur) {
              const auto blk = philox_block(seed, stream, cur = k >> 1);
              r = std::sqrt(-2.0 * std::log(u01_open_double(blk.v[0], blk.v[1])));
              angle = kTwoPi * u01_open_double(blk.v[2], blk.v[3]);
            }
            dst[i] = w[i] + static_cast<float>(s * kInvSqrt12 * (k & 1 ? r * std::sin(angle) : r * std::cos(angle)));
          }
        }
      });
    });
    word += static_cast<std::uint64_t>(n);
  }
  return out_;
}

const ParamSet& forward_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg,
                                std::uint64_t seed, int epoch, std::int64_t step, ParamSet& out, LayerSteps* steps) {
  WeightBuilder b(graph, cfg);
  const ParamSet& w = b.forward(shadow, {}, seed, epoch, step);
  if (steps) *steps = b.steps();
  if (&w == &shadow) return shadow;
  out = w;
  return out;
}

ParamSet deployed_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg,
                          const std::vector<Tensor>& lsq_steps) {
  WeightBuilder b(graph, cfg);
  return b.deployed(shadow, lsq_steps);
}

bool all_finite(const Tensor& t) {
  float bad = 0.0f;
  max_abs_run(t.data(), t.size(), bad);
  return bad == 0.0f;
}

}  // namespace qreg
