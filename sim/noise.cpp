#include "sim/noise.hpp"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
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

StreamPos draw_position(std::uint64_t seed, std::uint64_t draw) { return {noise_key(seed), draw, 0}; }

namespace {

// Philox blocks per batch: one vector register per counter word (16 lanes with AVX-512, 8 with
// AVX2 or the scalar fallback).
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

#if defined(__AVX512F__)
// GCC 12's AVX-512 headers build their "undefined" pass-through operands by self-initialisation,
// which -Wuninitialized reports at every use (GCC PR 105593, fixed in 12.3 and 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
/// philox_lanes with AVX-512: 16 blocks, the counters built and the output interleaved in
/// registers. On the MLP's draws (one word per weight, 268k weights) the AVX2 batch of 8 with
/// scalar counter set-up and interleave was 11% of a draw (perf, OpenBLAS's own kernels).
void philox_lanes16(std::uint64_t key, std::uint64_t stream, std::uint64_t first, std::uint32_t* out) {
  // Block counters first + j as 64-bit lanes (j < 8, then 8 ≤ j < 16), split into 32-bit halves.
  const __m512i iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i b_lo = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first)), iota);
  const __m512i b_hi = _mm512_add_epi64(b_lo, _mm512_set1_epi64(8));
  const __m512i x2_init =
      _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(b_lo)), _mm512_cvtepi64_epi32(b_hi), 1);
  const __m512i x3_init = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_srli_epi64(b_lo, 32))),
                                             _mm512_cvtepi64_epi32(_mm512_srli_epi64(b_hi, 32)), 1);
  __m512i x0 = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(stream)));
  __m512i x1 = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(stream >> 32)));
  __m512i x2 = x2_init, x3 = x3_init;
  auto mulhilo = [](__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
    const __m512i even = _mm512_mul_epu32(a, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  };
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kM0)), m1 = _mm512_set1_epi32(static_cast<int>(kM1));
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo(x0, m0, hi0, lo0);
    mulhilo(x2, m1, hi1, lo1);
    x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32(static_cast<int>(k0)));
    x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32(static_cast<int>(k1)));
    x1 = lo1;
    x3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  // Interleave to out[4·j + w] = x_w[j]: a 4×4 transpose of 32-bit words inside each 128-bit lane
  // (u_k's lane L holds block 4L + k), then of the 128-bit lanes.
  const __m512i t0 = _mm512_unpacklo_epi32(x0, x1), t1 = _mm512_unpackhi_epi32(x0, x1);
  const __m512i t2 = _mm512_unpacklo_epi32(x2, x3), t3 = _mm512_unpackhi_epi32(x2, x3);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x44), v1 = _mm512_shuffle_i32x4(u2, u3, 0x44);
  const __m512i v2 = _mm512_shuffle_i32x4(u0, u1, 0xEE), v3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
  _mm512_storeu_si512(out, _mm512_shuffle_i32x4(v0, v1, 0x88));
  _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(v0, v1, 0xDD));
  _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(v2, v3, 0x88));
  _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(v2, v3, 0xDD));
}
#pragma GCC diagnostic pop
#endif

/// kLanes Philox4x32-10 blocks with counters (stream, first + j), j < kLanes, as Random123's
/// philox4x32 computes them (same multipliers, Weyl key schedule and round function; the tests
/// compare with RandomStream word by word). out[4·j + w] = word w of block j.
void philox_lanes(std::uint64_t key, std::uint64_t stream, std::uint64_t first, std::uint32_t* out) {
#if defined(__AVX512F__)
  philox_lanes16(key, stream, first, out);
#else
  alignas(32) std::array<std::uint32_t, kLanes> c[4];
  for (int j = 0; j < kLanes; ++j) {
    const std::uint64_t block = first + static_cast<std::uint64_t>(j);
    c[0][j] = static_cast<std::uint32_t>(stream);
    c[1][j] = static_cast<std::uint32_t>(stream >> 32);
    c[2][j] = static_cast<std::uint32_t>(block);
    c[3][j] = static_cast<std::uint32_t>(block >> 32);
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
#if defined(__AVX2__)
  // 32×32→64-bit products of the even lanes (mul_epu32) and of the odd lanes (shifted down),
  // recombined into the low and high halves of all eight lanes.
  auto mulhilo = [](__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
    const __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  };
  __m256i x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c[0].data()));
  __m256i x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c[1].data()));
  __m256i x2 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c[2].data()));
  __m256i x3 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c[3].data()));
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kM0)), m1 = _mm256_set1_epi32(static_cast<int>(kM1));
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo(x0, m0, hi0, lo0);
    mulhilo(x2, m1, hi1, lo1);
    x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32(static_cast<int>(k0)));
    x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32(static_cast<int>(k1)));
    x1 = lo1;
    x3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(c[0].data()), x0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(c[1].data()), x1);
  _mm256_store_si256(reinterpret_cast<__m256i*>(c[2].data()), x2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(c[3].data()), x3);
#else
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < kLanes; ++j) {
      const std::uint64_t p0 = std::uint64_t{kM0} * c[0][j], p1 = std::uint64_t{kM1} * c[2][j];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c[1][j] ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c[3][j] ^ k1;
      c[1][j] = static_cast<std::uint32_t>(p1);
      c[3][j] = static_cast<std::uint32_t>(p0);
      c[0][j] = n0;
      c[2][j] = n2;
    }
    k0 += kW0;
    k1 += kW1;
  }
#endif
  for (int j = 0; j < kLanes; ++j)
    for (int w = 0; w < 4; ++w) out[4 * j + w] = c[w][j];
#endif
}

/// u01_open (core/rng.hpp) with its clamp done on the bit pattern (positive floats order like
/// their bits), so that loops over it vectorise: the same value for every input (the clamp only
/// moves 1.0f down to the largest float below 1). bits >> 8 < 2^24 converts exactly via int32.
inline float u01_vec(std::uint32_t bits) {
  const float u = (static_cast<float>(static_cast<std::int32_t>(bits >> 8)) + 0.5f) * (1.0f / 16777216.0f);
  return std::bit_cast<float>(std::min(std::bit_cast<std::int32_t>(u), std::bit_cast<std::int32_t>(0x1.fffffep-1f)));
}

/// out[k] = w[k] + step·(u_k − ½), u_k = u01_open(words[k]), k < n.
void add_uniform(const float* __restrict w, const std::uint32_t* __restrict words, std::int64_t n, float step,
                 float* __restrict out) {
  for (std::int64_t k = 0; k < n; ++k) out[k] = w[k] + step * (u01_vec(words[k]) - 0.5f);
}

}  // namespace

void philox_words(StreamPos& pos, std::int64_t n, std::uint32_t* out) {
  std::array<std::uint32_t, 4 * kLanes> buf;
  std::int64_t done = 0;
  while (done < n) {
    const std::uint64_t block = pos.word / 4;
    const auto skip = static_cast<std::int64_t>(pos.word % 4);  // words of the first block already read
    const std::int64_t take = std::min<std::int64_t>(n - done, 4 * kLanes - skip);
    if (skip == 0 && take == 4 * kLanes) {  // a whole batch: straight into out
      philox_lanes(pos.key, pos.stream, block, out + done);
    } else {
      philox_lanes(pos.key, pos.stream, block, buf.data());
      std::copy(buf.begin() + skip, buf.begin() + skip + take, out + done);
    }
    done += take;
    pos.word += static_cast<std::uint64_t>(take);
  }
}

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

void draw_noisy_weight(NoiseKind kind, const Tensor& w, const QuantParams& params, StreamPos& pos, Tensor& noisy,
                       Tensor* reference) {
  QREG_ASSERT(kind != NoiseKind::Gaussian, "draw_noisy_weight: Gaussian noise reads a RandomStream");
  const GroupLayout layout = group_layout(w.shape(), params);
  Tensor* shifted = kind == NoiseKind::Round ? reference : &noisy;
  QREG_ASSERT(shifted != nullptr, "draw_noisy_weight: round noise needs a reference tensor");
  if (shifted->shape() != w.shape()) *shifted = Tensor(w.shape());
  // Pieces of at most kPiece elements (their words stay in L1), split further at group
  // boundaries so that each inner loop has one step and vectorises.
  constexpr std::int64_t kPiece = 2048;
  std::array<std::uint32_t, kPiece> words;
  const std::int64_t n = w.size();
  for (std::int64_t i0 = 0; i0 < n; i0 += kPiece) {
    const std::int64_t i1 = std::min(n, i0 + kPiece);
    philox_words(pos, i1 - i0, words.data());
    for (std::int64_t i = i0; i < i1;) {
      const std::int64_t end = std::min(i1, (i / layout.inner + 1) * layout.inner);
      const float step = params.step[static_cast<std::size_t>(layout.group_of(i))];
      add_uniform(w.data() + i, words.data() + (i - i0), end - i, step, shifted->data() + i);
      i = end;
    }
  }
  if (kind == NoiseKind::Round) noisy = fake_quantize(*shifted, params);
}

}  // namespace qreg::sim
