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
// im2col's row order after the bias. The tiles fill ypad [O, Ho·Wp] (whole vector stores), whose
// real outputs (ox < Wo, o < O) are then copied row by row into y; the Wp − Wo extra columns per
// row are computed and dropped ((kw−1)·dw/Wp of the work: 2/16 for a 3×3 conv on 14×14).
// Reads for those columns and past the last row stay inside xpad (allocated with slack), and no
// real output ever reads a neighbouring row or channel.
//
// When (direct_conv): builds for AVX-512 (the tile: 8 channels × 2 vectors of 16 floats, 16 of
// the 32 vector registers as accumulators), unit strides, one group and an inner dimension
// C·kh·kw ≥ 64. bench_engine's BM_ConvForward, one thread, 64 samples, 3×3 pad 1, medians of 5,
// on the development host (AMD Zen 5, AVX-512; GFLOP/s, im2col + OpenBLAS / direct):
//
//   C→O, image        C·9   OPENBLAS_CORETYPE=Haswell   OpenBLAS's own choice (Cooperlake)
//   1→16, 28×28          9        70 /  75                    113 /  75
//   4→16, 28×28         36        82 / 149                    154 / 147
//   8→32, 28×28         72        99 / 182                    147 / 181
//   16→32, 14×14       144        93 / 178                    177 / 181
//   32→64, 14×14       288       104 / 198                    179 / 199
//   64→64, 28×28       576       111 / 210                    191 / 212
//
// With OpenBLAS pinned to its AVX2 kernels (as on the development host) the direct kernel is
// 1.1–1.9× faster; with OpenBLAS's own AVX-512 kernels it ties or wins from C·9 = 72 on and loses
// below (a small C leaves few FMAs per tile for its fixed costs), hence the threshold. Built for
// AVX2 (the portable x86-64-v3 build: 4 channels × 2 vectors of 8 floats, 16 registers) it
// measured 0.7–1.0× the im2col path on every shape, so such builds keep im2col; the kernel still
// compiles for every target (GCC/Clang vector extensions) and its tests run everywhere.
// Results do not depend on the thread count (each sample is computed alone); they differ from
// the im2col + GEMM path only by rounding (a different summation order).
#include <algorithm>
#include <cstring>

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
// see the top of the file for the measurements).
constexpr std::int64_t kMinDirectDepth = 64;
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
  }
};

/// xpad [C, Hp, Wp] (+ slack, zero) of sample x [C, H, W].
void pad_sample(const WindowGeom& g, const Grid& d, const float* x, FloatBuffer& xpad) {
  xpad.assign(static_cast<std::size_t>(g.C * d.plane + std::max<std::int64_t>(d.slack, 0)), 0.0f);
  const std::int64_t x0 = std::max<std::int64_t>(0, -g.pl), x1 = std::min(g.W, d.Wp - g.pl);  // kept columns
  const std::int64_t y0 = std::max<std::int64_t>(0, -g.pt), y1 = std::min(g.H, d.Hp - g.pt);  // kept rows
  if (x0 >= x1) return;
  for (std::int64_t c = 0; c < g.C; ++c)
    for (std::int64_t iy = y0; iy < y1; ++iy)
      std::memcpy(xpad.data() + c * d.plane + (iy + g.pt) * d.Wp + x0 + g.pl, x + (c * g.H + iy) * g.W + x0,
                  static_cast<std::size_t>(x1 - x0) * sizeof(float));
}

/// ypad [Opad, ld] (outputs on the padded-width grid) of one sample from its xpad; wt
/// [C][taps][Opad] and bias [Opad] zero-padded to whole tiles of kOB channels. kTaps > 0: the tap count known at
/// compile time (3×3: the tap loop unrolls, which matters when C is small: 1.2× on the CNN's first conv, C = 1).
template <int kTaps>
void direct_sample(const WindowGeom& g, const Grid& d, const float* xpad, const float* wt, const float* bias,
                   std::int64_t Opad, float* ypad) {
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
#pragma GCC unroll 16
      for (int o = 0; o < kOB; ++o) std::memcpy(ypad + (o0 + o) * d.ld + p0, acc[o], sizeof acc[o]);
    }
  }
}

/// y [O, Ho, Wo] = the real outputs of ypad [Opad, ld] (ox < Wo of each row of Wp), row by row
/// with inlined copies (a memcpy call per row of 14 or 28 floats cost more than the copy).
void compact(const WindowGeom& g, const Grid& d, const float* ypad, float* y) {
  for (std::int64_t o = 0; o < g.O; ++o)
    for (std::int64_t oy = 0; oy < g.Ho; ++oy) copy_run(ypad + o * d.ld + oy * d.Wp, y + (o * g.Ho + oy) * g.Wo, g.Wo);
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
  tbb::enumerable_thread_specific<FloatBuffer> pad_scratch, grid_scratch, out_scratch;
  for_chunks(x.dim(0), chunk, [&](std::int64_t s0, std::int64_t s1) {
    FloatBuffer& xpad = pad_scratch.local();
    FloatBuffer& ypad = grid_scratch.local();
    ypad.resize(static_cast<std::size_t>(Opad * d.ld));
    if (!y) out_scratch.local().resize(static_cast<std::size_t>(g.O * P));
    for (std::int64_t s = s0; s < s1; ++s) {
      pad_sample(g, d, x.data() + s * g.C * g.H * g.W, xpad);
      float* ys = y ? y->data() + s * g.O * P : out_scratch.local().data();
      if (d.taps == 9)
        direct_sample<9>(g, d, xpad.data(), wt.data(), bias.data(), Opad, ypad.data());
      else
        direct_sample<0>(g, d, xpad.data(), wt.data(), bias.data(), Opad, ypad.data());
      compact(g, d, ypad.data(), ys);
      if (sink) (*sink)(s, ys);
    }
  });
}

}  // namespace qreg::ops
