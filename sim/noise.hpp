// Sampled weight noise for the Monte Carlo simulator: the paper's additive model and the real
// quantizer it stands for. Every draw reads one Philox stream, so a draw depends only on
// (seed, draw index), never on the thread that runs it.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/quantizer.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"

namespace qreg::sim {

/// How a weight is perturbed (Δ_c: the quantizer step of the weight's channel, u ~ U(−½, ½)):
enum class NoiseKind {
  Uniform,   // w + Δ_c·u: the additive model δ ~ U(−Δ/2, Δ/2), variance Δ²/12
  Gaussian,  // w + Δ_c/√12·z, z ~ N(0, 1): the same variance, another shape
  Round,     // reference w' = w + Δ_c·u, noisy q(w') at the same Δ: real quantization of shifted weights
};
/// Which quantized layers are noisy in a forward pass: all at once, or one at a time (measured there).
enum class NoiseMode { Joint, Isolated };

NoiseKind parse_noise_kind(std::string_view text);  // uniform | gaussian | round; UsageError otherwise
NoiseMode parse_noise_mode(std::string_view text);  // joint | isolated; UsageError otherwise
const char* noise_kind_name(NoiseKind kind);
const char* noise_mode_name(NoiseMode mode);

/// Key of the simulator's noise streams: the run seed mixed with a domain constant (splitmix64),
/// so that noise stream (seed, d) never coincides with the weight-initialisation stream (seed, d)
/// of core/models.hpp (that would make draw d's noise a function of parameter d's weights).
std::uint64_t noise_key(std::uint64_t seed);

/// The stream of draw `draw`: RandomStream(noise_key(seed), draw).
RandomStream draw_stream(std::uint64_t seed, std::uint64_t draw);

/// A position in a Philox stream: word `word` of RandomStream(key, stream) (4 words per block).
struct StreamPos {
  std::uint64_t key = 0, stream = 0, word = 0;
};
/// Word 0 of draw `draw`'s stream: the stream of draw_stream(seed, draw).
StreamPos draw_position(std::uint64_t seed, std::uint64_t draw);

/// Words [pos.word, pos.word + n) of the stream into out[0, n), the same words RandomStream
/// would read there; pos.word advances by n. Blocks of 8 counters run as one vectorised Philox.
void philox_words(StreamPos& pos, std::int64_t n, std::uint32_t* out);

/// One draw for weight `w` (any shape) quantized with `params` (its steps and groups), reading
/// w.size() words (Uniform, Round) or normals (Gaussian) from `rng` in element order.
/// `noisy` receives the perturbed weight; for Round, `reference` (required) receives w' = w + Δ·u
/// and `noisy` q(w'), so the noise q(w') − w' is the real quantizer's error. Tensors are resized.
void draw_noisy_weight(NoiseKind kind, const Tensor& w, const QuantParams& params, RandomStream& rng, Tensor& noisy,
                       Tensor* reference);
/// As above for Uniform and Round, reading words from `pos` onwards (advanced by w.size()): the
/// same values as the RandomStream overload at that position, generated in vectorised blocks.
void draw_noisy_weight(NoiseKind kind, const Tensor& w, const QuantParams& params, StreamPos& pos, Tensor& noisy,
                       Tensor* reference);

}  // namespace qreg::sim
