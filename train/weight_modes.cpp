#include "train/weight_modes.hpp"

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
    {TrainMode::Qat, "qat"}, {TrainMode::Noise, "noise"}, {TrainMode::Gaussian, "gaussian"}};
}  // namespace

TrainMode parse_train_mode(std::string_view text) { return parse_enum(text, kTrainModes, "mode"); }
const char* train_mode_name(TrainMode mode) { return enum_name(mode, kTrainModes); }

std::uint64_t shuffle_stream(int epoch) { return (std::uint64_t{1} << 32) + static_cast<std::uint64_t>(epoch); }

std::uint64_t noise_stream(int epoch, std::int64_t step) {
  return (std::uint64_t{1} << 63) + (static_cast<std::uint64_t>(epoch) << 32) + static_cast<std::uint64_t>(step);
}

namespace {

// Adds δ to every element of `w`, with the half-width or standard deviation of its group.
void add_noise(Tensor& w, const QuantParams& qp, TrainMode mode, RandomStream& rng) {
  const GroupLayout layout = group_layout(w.shape(), qp);
  constexpr double kInvSqrt12 = 0.28867513459481287;  // σ = Δ/√12 matches Var U(−Δ/2, Δ/2)
  for (std::int64_t i = 0; i < w.size(); ++i) {
    const float step = qp.step[static_cast<std::size_t>(layout.group_of(i))];
    if (mode == TrainMode::Noise)
      w[i] += step * (rng.uniform() - 0.5f);
    else
      w[i] += static_cast<float>(step * kInvSqrt12 * rng.normal());
  }
}

}  // namespace

const ParamSet& forward_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg,
                                std::uint64_t seed, int epoch, std::int64_t step, ParamSet& out, LayerSteps* steps) {
  check_bits(cfg.bits, true);
  const auto layers = quantized_layers(graph);
  if (steps) steps->assign(layers.size(), {});
  if (cfg.bits == kFloatBits) {
    if (steps)
      for (std::size_t l = 0; l < layers.size(); ++l) (*steps)[l].assign(1, 0.0f);
    return shadow;
  }
  out = shadow;  // same shapes after the first step: the copy reuses the buffers
  RandomStream rng(seed, noise_stream(epoch, step));
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto [node, param] = layers[l];
    const QuantizerConfig qc{cfg.bits, cfg.granularity, Scheme::Symmetric,
                             weight_channel_axis(graph.nodes[static_cast<std::size_t>(node)].op)};
    const Tensor& w = shadow[static_cast<std::size_t>(param)];
    const QuantParams qp = compute_quant_params(w, qc);
    Tensor& dst = out[static_cast<std::size_t>(param)];
    if (cfg.mode == TrainMode::Qat)
      dst = fake_quantize(w, qp);
    else
      add_noise(dst, qp, cfg.mode, rng);
    if (steps) (*steps)[l] = qp.step;
  }
  return out;
}

ParamSet deployed_weights(const Graph& graph, const ParamSet& shadow, const WeightModeConfig& cfg) {
  if (cfg.bits == kFloatBits || cfg.mode != TrainMode::Qat) return shadow;
  ParamSet out;
  forward_weights(graph, shadow, cfg, 0, 0, 0, out);
  return out;
}

bool all_finite(const ParamSet& params) {
  for (const Tensor& t : params)
    for (float v : t.values())
      if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace qreg
