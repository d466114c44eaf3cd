// Direct forward convolution for unit strides and one group (any kernel size, padding and
// dilation): no im2col and no GEMM packing.
//
// The input of a sample is copied into a zero-padded buffer xpad [C, Hp, Wp] with
// Hp = Ho + (kh−1)·dh and Wp = Wo + (kw−1)·dw (the input sits at row pt, column pl; rows or
// columns that no output reads are left out). On the padded-width grid of output positions
// p = oy·Wp + ox (ox < Wp, of which ox < Wo are real outputs), tap (ky, kx) of channel c reads
//   xpad[c·Hp·Wp + p + ky·dh·Wp + kx·dw],
// a contiguous run for consecutive p. So a block of kPB consecutive positions times kOB output
// channels is a register tile of kOB × kNV vectors: for every (c, tap) it loads kNV vectors at
// one offset, broadcasts kOB weights and does kOB·kNV vector FMAs, summing over (c, ky, kx) in
// im2col's row order after the bias. With AVX-512 each accumulator vector goes straight into y:
// its real outputs (ox < Wo, p < Ho·Wp) are consecutive in y, so they are compressed to the low
// lanes (vcompressps, register form) and stored with a mask at a per-vector offset (Grid::real,
// kept, y_at). Otherwise the tiles fill ypad [O, Ho·Wp] and compact() copies the real outputs
// row by row into y. The Wp − Wo extra columns per row are computed and dropped ((kw−1)·dw/Wp of
// the work: 2/16 for a 3×3 conv on 14×14). Reads for those columns and past the last row stay
// inside xpad (allocated with slack), and no real output ever reads a neighbouring row or
// channel. xpad is zeroed once per task: each sample rewrites the same interior.
//
// When (direct_conv): builds for AVX-512 (the tile: 8 channels × 2 vectors of 16 floats, 16 of
// the 32 vector registers as accumulators), unit strides, one group and an inner dimension
// C·kh·kw ≥ 9. bench_engine's BM_ConvForward, one thread, 64 samples, 3×3 pad 1, medians of 5,
// on the development host (AMD Zen 5, AVX-512; GFLOP/s, im2col + OpenBLAS / direct):
//
//   C→O, image        C·9   OPENBLAS_CORETYPE=Haswell   OpenBLAS's own choice (Cooperlake)
//   1→16, 28×28          9        72 / 120                    117 / 118
//   4→16, 28×28         36        85 / 193                    158 / 188
//   8→32, 28×28         72       102 / 218                    156 / 215
//   16→32, 14×14       144        97 / 213                    188 / 210
//   32→64, 14×14       288       113 / 226                    182 / 222
//   64→64, 28×28       576       115 / 233                    194 / 226
//
// With OpenBLAS pinned to its AVX2 kernels (as on the development host) the direct kernel is
// 1.7–2.3× faster; with OpenBLAS's own AVX-512 kernels it ties at C·9 = 9 and wins from 36 on.
// Before the compressed stores (ypad, compaction and a full xpad clear per sample) it lost below
// C·9 = 72 to OpenBLAS's own kernels (75 against 113 GFLOP/s at C·9 = 9) and the threshold was
// 64. Built for AVX2 (the portable x86-64-v3 build: 4 channels × 2 vectors of 8 floats, 16
// registers) it measured 0.7–1.0× the im2col path on every shape, so such builds keep im2col;
// the kernel still compiles for every target (GCC/Clang vector extensions) and its tests run
// everywhere.
// Results do not depend on the thread count (each sample is computed alone); they differ from
// the im2col + GEMM path only by rounding (a different summation order).
#include <algorithm>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/error.hpp"
#include "core/im2col.hpp"
#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

#if defined(__AVX512F__)
constexpr int kLanes = 16, kOB = 8, kNV = 2;
#else
constexpr int kLanes = 8, kOB = 4, kNV = 2;
#endif
constexpr int kPB = kLanes * kNV;  // positions per tile
// conv_forward takes the direct path from this inner dimension C·kh·kw on (AVX-512 builds only;
// see the top of the file for the measurements: below 9 none were taken).
constexpr std::int64_t kMinDirectDepth = 9;
using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);  // unaligned
  return v;
}

// The padded grid of one geometry and the tap offsets into a channel's plane.
struct Grid {
  std::int64_t Hp, Wp, plane, positions, tiles, taps, slack, ld;  // ld = tiles·kPB: a row of ypad
  std::vector<std::int64_t> offset;                               // per tap (ky, kx): ky·dh·Wp + kx·dw
  explicit Grid(const WindowGeom& g)
      : Hp(g.Ho + (g.kh - 1) * g.dh),
        Wp(g.Wo + (g.kw - 1) * g.dw),
        plane(Hp * Wp),
        positions(g.Ho * Wp),
        tiles((positions + kPB - 1) / kPB),
        taps(g.kh * g.kw) {
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx) offset.push_back(ky * g.dh * Wp + kx * g.dw);
    // The last tile reads up to tiles·kPB − 1 + the largest offset past its channel's plane start.
    slack = tiles * kPB + offset.back() - plane + kLanes;
    ld = tiles * kPB;
#if defined(__AVX512F__)
    // Vector j holds positions [16j, 16j + 16): its real outputs (ox < Wo, p < positions) are
    // consecutive in y, from the number of real outputs before 16j on.
    for (std::int64_t j = 0; j < tiles * kNV; ++j) {
      unsigned m = 0;
      for (std::int64_t k = 0; k < kLanes; ++k) {
        const std::int64_t p = j * kLanes + k;
        if (p < positions && p % Wp < g.Wo) m |= 1u << k;
      }
      const std::int64_t p0 = j * kLanes;
      real.push_back(static_cast<__mmask16>(m));
      kept.push_back(static_cast<__mmask16>((1u << __builtin_popcount(m)) - 1));
      y_at.push_back(p0 / Wp * g.Wo + std::min(p0 % Wp, g.Wo));
    }
#endif
  }
#if defined(__AVX512F__)
  std::vector<__mmask16> real;     // per vector of positions: which lanes are real outputs
  std::vector<__mmask16> kept;     // per vector: the first popcount(real) lanes (the compressed outputs)
  std::vector<std::int64_t> y_at;  // per vector: where its first real output goes in y's plane
#endif
};

/// Sizes xpad [C, Hp, Wp] (+ slack) and zeroes it: the border and the slack stay zero for every
/// sample of the task, since pad_sample rewrites the same interior each time.
void clear_pad(const WindowGeom& g, const Grid& d, FloatBuffer& xpad) {
  xpad.assign(static_cast<std::size_t>(g.C * d.plane + std::max<std::int64_t>(d.slack, 0)), 0.0f);
}

/// The interior of xpad (cleared by clear_pad) from sample x [C, H, W].
void pad_sample(const WindowGeom& g, const Grid& d, const float* x, float* xpad) {
  const std::int64_t x0 = std::max<std::int64_t>(0, -g.pl), x1 = std::min(g.W, d.Wp - g.pl);  // kept columns
  const std::int64_t y0 = std::max<std::int64_t>(0, -g.pt), y1 = std::min(g.H, d.Hp - g.pt);  // kept rows
  if (x0 >= x1) return;
  for (std::int64_t c = 0; c < g.C; ++c)
    for (std::int64_t iy = y0; iy < y1; ++iy)
      copy_run(x + (c * g.H + iy) * g.W + x0, xpad + c * d.plane + (iy + g.pt) * d.Wp + x0 + g.pl, x1 - x0);
}

/// One sample's outputs from its xpad; wt [C][taps][Opad] and bias [Opad] zero-padded to whole
/// tiles of kOB channels. With AVX-512 they go straight into y [O, Ho·Wo]: the real lanes of each
/// vector (Grid::real) are compressed to consecutive outputs and stored with a mask; otherwise
/// into out = ypad [Opad, ld] (the padded-width grid), which compact() copies into y. kTaps > 0:
/// the tap count known at compile time (3×3: the tap loop unrolls, which matters when C is small:
/// 1.2× on the CNN's first conv, C = 1).
template <int kTaps>
void direct_sample(const WindowGeom& g, const Grid& d, const float* xpad, const float* wt, const float* bias,
                   std::int64_t Opad, float* out) {
  for (std::int64_t o0 = 0; o0 < Opad; o0 += kOB) {
    for (std::int64_t tile = 0; tile < d.tiles; ++tile) {
      const std::int64_t p0 = tile * kPB;
      Vec acc[kOB][kNV];
#pragma GCC unroll 16
      for (int o = 0; o < kOB; ++o)
#pragma GCC unroll 4
        for (int v = 0; v < kNV; ++v) acc[o][v] = Vec{} + bias[o0 + o];
      for (std::int64_t c = 0; c < g.C; ++c) {
        const float* xc = xpad + c * d.plane + p0;
        const float* wc = wt + c * d.taps * Opad + o0;
        const std::int64_t taps = kTaps > 0 ? kTaps : d.taps;
#pragma GCC unroll 9
        for (std::int64_t t = 0; t < taps; ++t) {
          const float* xs = xc + d.offset[static_cast<std::size_t>(t)];
          Vec xv[kNV];
#pragma GCC unroll 4
          for (int v = 0; v < kNV; ++v) xv[v] = load(xs + v * kLanes);
          const float* wv = wc + t * Opad;
#pragma GCC unroll 16
          for (int o = 0; o < kOB; ++o)
#pragma GCC unroll 4
            for (int v = 0; v < kNV; ++v) acc[o][v] += wv[o] * xv[v];
        }
      }
#if defined(__AVX512F__)
      const std::int64_t P = g.Ho * g.Wo, real_channels = std::min<std::int64_t>(kOB, g.O - o0);
#pragma GCC unroll 16
      for (int o = 0; o < kOB; ++o) {
        if (o >= real_channels) break;
#pragma GCC unroll 4
        for (int v = 0; v < kNV; ++v) {
          const auto j = static_cast<std::size_t>(tile * kNV + v);
          _mm512_mask_storeu_ps(out + (o0 + o) * P + d.y_at[j], d.kept[j],
                                _mm512_maskz_compress_ps(d.real[j], reinterpret_cast<__m512>(acc[o][v])));
        }
      }
#else
#pragma GCC unroll 16
      for (int o = 0; o < kOB; ++o) std::memcpy(out + (o0 + o) * d.ld + p0, acc[o], sizeof acc[o]);
#endif
    }
  }
}

#if !defined(__AVX512F__)
/// y [O, Ho, Wo] = the real outputs of ypad [Opad, ld] (ox < Wo of each row of Wp), row by row
/// with inlined copies (a memcpy call per row of 14 or 28 floats cost more than the copy).
void compact(const WindowGeom& g, const Grid& d, const float* ypad, float* y) {
  for (std::int64_t o = 0; o < g.O; ++o)
    for (std::int64_t oy = 0; oy < g.Ho; ++oy) copy_run(ypad + o * d.ld + oy * d.Wp, y + (o * g.Ho + oy) * g.Wo, g.Wo);
}
#endif

// The weight gradient on the same grid (direct_weight_grad): with dypad [O, ld] holding dy on
// the padded-width grid (zero in the Wp − Wo extra columns and past the last row),
//   dW[o, c, t] = Σ_samples Σ_p dypad[o, p] · xpad[c, p + offset[t]],
// a correlation: for a block of kGO output channels and one input channel, kGO × taps vector
// accumulators run over the positions of every sample of a chunk (kGO dy vectors and one x vector
// per tap loaded per step), and are summed across lanes once per chunk. bench_engine's
// BM_ConvWeightGrad, one thread, 64 samples, 3×3 pad 1, medians of 5 (GFLOP/s, im2col + GEMM with
// OpenBLAS pinned to AVX2 / with its own kernels / direct): 1→16 on 28×28 37 / 80 / 80, 4→16 on
// 28×28 59 / 74 / 142, 8→32 on 28×28 84 / 108 / 166, 16→32 on 14×14 85 / 118 / 174, 32→64 on
// 14×14 98 / 153 / 173, 64→64 on 28×28 103 / 164 / 178: conv_backward takes it for every
// nine-tap geometry of the direct forward (3×3, also 1×9 and 9×1) when x is finite (the grid's
// extra columns multiply dy's zeros with x values no real output reads: 0 · inf would be NaN).
// 3 × 9 accumulators + 3 dy vectors + 1 x vector: 31 of AVX-512's 32 registers (AVX2 builds,
// with 16, spill; they never take this path and only run its tests).
constexpr int kGO = 3;

inline float lane_total(const Vec& v) {
#if defined(__AVX512F__)
  return _mm512_reduce_add_ps(reinterpret_cast<const __m512&>(v));
#else
  float t = 0;
  for (int k = 0; k < kLanes; ++k) t += v[k];
  return t;
#endif
}

/// partial[o, c·taps + t] for o in [o0, o0 + kGO) ∩ [0, O) over the chunk's S samples: xpads
/// [S][xstride] (each a cleared xpad), dypads [S][Ogo·ld] with Ogo = O rounded up to kGO.
template <int kTaps>
void weight_grad_tile(const WindowGeom& g, const Grid& d, std::int64_t S, const float* xpads, std::int64_t xstride,
                      const float* dypads, std::int64_t Ogo, std::int64_t c, std::int64_t o0, float* partial,
                      std::int64_t ld_partial) {
  std::int64_t off[kTaps];
  for (int t = 0; t < kTaps; ++t) off[t] = d.offset[static_cast<std::size_t>(t)];
  Vec acc[kGO][kTaps];
#pragma GCC unroll 4
  for (int o = 0; o < kGO; ++o)
#pragma GCC unroll 9
    for (int t = 0; t < kTaps; ++t) acc[o][t] = Vec{};
  for (std::int64_t s = 0; s < S; ++s) {
    const float* xc = xpads + s * xstride + c * d.plane;
    const float* dyo = dypads + (s * Ogo + o0) * d.ld;
    for (std::int64_t p = 0; p < d.ld; p += kLanes) {
      Vec dv[kGO];
#pragma GCC unroll 4
      for (int o = 0; o < kGO; ++o) dv[o] = load(dyo + o * d.ld + p);
#pragma GCC unroll 9
      for (int t = 0; t < kTaps; ++t) {
        Vec xv = load(xc + p + off[t]);
        // One (unaligned, mostly cache-line-splitting) load per tap, kept in a register: left
        // alone, GCC folds it into each of the kGO FMAs, and the loads then bound the loop.
        __asm__("" : "+v"(xv));
#pragma GCC unroll 4
        for (int o = 0; o < kGO; ++o) acc[o][t] += dv[o] * xv;
      }
    }
  }
  for (int o = 0; o < kGO && o0 + o < g.O; ++o)
    for (int t = 0; t < kTaps; ++t) partial[(o0 + o) * ld_partial + c * kTaps + t] = lane_total(acc[o][t]);
}

}  // namespace

bool direct_conv(const WindowGeom& g) {
#if defined(__AVX512F__)
  return g.sh == 1 && g.sw == 1 && g.groups == 1 && g.C * g.kh * g.kw >= kMinDirectDepth;
#else
  (void)g;
  return false;
#endif
}

void direct_conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor* y, const WindowGeom& g,
                         std::int64_t chunk, const SampleSink* sink) {
  const Grid d(g);
  const std::int64_t Opad = (g.O + kOB - 1) / kOB * kOB, P = g.Ho * g.Wo;
  FloatBuffer wt(static_cast<std::size_t>(g.C * d.taps * Opad), 0.0f), bias(static_cast<std::size_t>(Opad), 0.0f);
  for (std::int64_t o = 0; o < g.O; ++o) {
    for (std::int64_t c = 0; c < g.C; ++c)
      for (std::int64_t t = 0; t < d.taps; ++t)
        wt[static_cast<std::size_t>((c * d.taps + t) * Opad + o)] = w[(o * g.C + c) * d.taps + t];
    if (b) bias[static_cast<std::size_t>(o)] = (*b)[o];
  }
  tbb::enumerable_thread_specific<FloatBuffer> pad_scratch, out_scratch;
#if !defined(__AVX512F__)
  tbb::enumerable_thread_specific<FloatBuffer> grid_scratch;
#endif
  for_chunks(x.dim(0), chunk, [&](std::int64_t s0, std::int64_t s1) {
    FloatBuffer& xpad = pad_scratch.local();
    clear_pad(g, d, xpad);
#if !defined(__AVX512F__)
    FloatBuffer& ypad = grid_scratch.local();
    ypad.resize(static_cast<std::size_t>(Opad * d.ld));
#endif
    if (!y) out_scratch.local().resize(static_cast<std::size_t>(g.O * P));
    for (std::int64_t s = s0; s < s1; ++s) {
      pad_sample(g, d, x.data() + s * g.C * g.H * g.W, xpad.data());
      float* ys = y ? y->data() + s * g.O * P : out_scratch.local().data();
#if defined(__AVX512F__)
      float* out = ys;
#else
      float* out = ypad.data();
#endif
      if (d.taps == 9)
        direct_sample<9>(g, d, xpad.data(), wt.data(), bias.data(), Opad, out);
      else
        direct_sample<0>(g, d, xpad.data(), wt.data(), bias.data(), Opad, out);
#if !defined(__AVX512F__)
      compact(g, d, ypad.data(), ys);
#endif
      if (sink) (*sink)(s, ys);
    }
  });
}

bool direct_weight_grad(const WindowGeom& g) { return direct_conv(g) && g.kh * g.kw == 9; }

void direct_conv_weight_grad(const Tensor& x, const Tensor& dy, const WindowGeom& g, std::vector<Tensor>& partials) {
  QREG_ASSERT(g.sh == 1 && g.sw == 1 && g.groups == 1 && g.kh * g.kw == 9,
              "direct_conv_weight_grad: needs unit strides, one group and nine taps");
  const Grid d(g);
  const std::int64_t n = x.dim(0), K = g.C * d.taps, P = g.Ho * g.Wo, Ogo = (g.O + kGO - 1) / kGO * kGO;
  const std::int64_t xstride = g.C * d.plane + std::max<std::int64_t>(d.slack, 0), dystride = Ogo * d.ld;
  // Samples per chunk: the chunk's padded inputs and gradients within the conv chunk budget
  // (about L2); each chunk's partial is summed across lanes once per (channel, block).
  const std::int64_t chunk = samples_per_chunk(xstride + dystride);
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  if (static_cast<std::int64_t>(partials.size()) != chunks || (chunks > 0 && partials[0].shape() != Shape{g.O, K + 1}))
    partials.assign(static_cast<std::size_t>(chunks), Tensor({g.O, K + 1}));
  if (n == 0) return;
  tbb::enumerable_thread_specific<FloatBuffer> pad_scratch, grad_scratch;
  for_chunks(n, chunk, [&](std::int64_t s0, std::int64_t s1) {
    const std::int64_t S = s1 - s0;
    FloatBuffer& xpads = pad_scratch.local();
    FloatBuffer& dypads = grad_scratch.local();
    // Cleared on a thread's first chunk only: every chunk rewrites the same interiors (the
    // padding, the extra columns and the positions past the last row stay zero).
    if (xpads.empty()) {
      xpads.assign(static_cast<std::size_t>(chunk * xstride), 0.0f);
      dypads.assign(static_cast<std::size_t>(chunk * dystride), 0.0f);
    }
    float* partial = partials[static_cast<std::size_t>(s0 / chunk)].data();
    for (std::int64_t s = s0; s < s1; ++s) {
      pad_sample(g, d, x.data() + s * g.C * g.H * g.W, xpads.data() + (s - s0) * xstride);
      for (std::int64_t o = 0; o < g.O; ++o)
        for (std::int64_t oy = 0; oy < g.Ho; ++oy)
          copy_run(dy.data() + (s * g.O + o) * P + oy * g.Wo,
                   dypads.data() + (s - s0) * dystride + o * d.ld + oy * d.Wp, g.Wo);
    }
    for (std::int64_t c = 0; c < g.C; ++c)
      for (std::int64_t o0 = 0; o0 < g.O; o0 += kGO)
        weight_grad_tile<9>(g, d, S, xpads.data(), xstride, dypads.data(), Ogo, c, o0, partial, K + 1);
    for (std::int64_t o = 0; o < g.O; ++o) {  // the bias gradient, from the chunk's dypad rows
      Vec sum{};
      for (std::int64_t s = 0; s < S; ++s)
        for (std::int64_t p = 0; p < d.ld; p += kLanes) sum += load(dypads.data() + s * dystride + o * d.ld + p);
      partial[o * (K + 1) + K] = lane_total(sum);
    }
  });
}

}  // namespace qreg::ops
