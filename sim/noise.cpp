#include "sim/noise.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/named_enum.hpp"

namespace qreg::sim {

namespace {
constexpr EnumName<NoiseKind> kNoiseKinds[] = {
    {NoiseKind::Uniform, "uniform"}, {NoiseKind::Gaussian, "gaussian"}, {NoiseKind::Round, "round"}};
constexpr EnumName<NoiseMode> kNoiseModes[] = {{NoiseMode::Joint, "joint"}, {NoiseMode::Isolated, "isolated"}};
}  // namespace

NoiseKind parse_noise_kind(std::string_view text) { return parse_enum(text, kNoiseKinds, "noise"); }
NoiseMode parse_noise_mode(std::string_view text) { return parse_enum(text, kNoiseModes, "mode"); }
const char* noise_kind_name(NoiseKind kind) { return enum_name(kind, kNoiseKinds); }
const char* noise_mode_name(NoiseMode mode) { return enum_name(mode, kNoiseModes); }

std::uint64_t noise_key(std::uint64_t seed) {
  // splitmix64 of seed ^ "qregsim\0": a bijection, so distinct seeds keep distinct keys.
  std::uint64_t z = seed ^ 0x7172656773696d00ULL;
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

RandomStream draw_stream(std::uint64_t seed, std::uint64_t draw) { return RandomStream(noise_key(seed), draw); }

void draw_noisy_weight(NoiseKind kind, const Tensor& w, const QuantParams& params, RandomStream& rng, Tensor& noisy,
                       Tensor* reference) {
  const GroupLayout layout = group_layout(w.shape(), params);
  if (noisy.shape() != w.shape()) noisy = Tensor(w.shape());
  const std::int64_t n = w.size();
  if (kind == NoiseKind::Gaussian) {
    const double inv_sqrt12 = 1.0 / std::sqrt(12.0);
    for (std::int64_t i = 0; i < n; ++i) {
      const double sigma = params.step[static_cast<std::size_t>(layout.group_of(i))] * inv_sqrt12;
      noisy[i] = static_cast<float>(w[i] + sigma * rng.normal());
    }
    return;
  }
  Tensor* shifted = kind == NoiseKind::Round ? reference : &noisy;
  QREG_ASSERT(shifted != nullptr, "draw_noisy_weight: round noise needs a reference tensor");
  if (shifted->shape() != w.shape()) *shifted = Tensor(w.shape());
  for (std::int64_t i = 0; i < n; ++i) {
    const float step = params.step[static_cast<std::size_t>(layout.group_of(i))];
    (*shifted)[i] = w[i] + step * (rng.uniform() - 0.5f);
  }
  // Round: q at the step of the unshifted w. |w'| < (qmax + ½)·Δ, so the clamp never engages and
  // q(w') − w' is the rounding error alone.
  if (kind == NoiseKind::Round) noisy = fake_quantize(*shifted, params);
}

}  // namespace qreg::sim
