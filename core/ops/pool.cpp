// MaxPool, AveragePool (count_include_pad = 0: a window averages over its in-bounds elements
// only) and GlobalAveragePool. Samples run in parallel; each sample's backward scatters into its
// own input gradient sequentially, so overlapping windows accumulate in a fixed order.
#include <limits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/error.hpp"
#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

constexpr std::int64_t kPoolChunk = 4;  // samples per parallel task

struct Span {
  std::int64_t y0, y1, x0, x1;  // clipped window [y0, y1) × [x0, x1)
};

Span window(const WindowGeom& g, std::int64_t oy, std::int64_t ox) {
  const std::int64_t y = oy * g.sh - g.pt, x = ox * g.sw - g.pl;
  return {std::max<std::int64_t>(y, 0), std::min(y + g.kh, g.H), std::max<std::int64_t>(x, 0), std::min(x + g.kw, g.W)};
}

/// Runs f(plane, oy, ox, out_index, in_plane_offset) for every output element of samples [s0, s1).
template <class F>
void for_outputs(const WindowGeom& g, std::int64_t s0, std::int64_t s1, F&& f) {
  for (std::int64_t plane = s0 * g.C; plane < s1 * g.C; ++plane)
    for (std::int64_t oy = 0; oy < g.Ho; ++oy)
      for (std::int64_t ox = 0; ox < g.Wo; ++ox)
        f(plane * g.H * g.W, (plane * g.Ho + oy) * g.Wo + ox, window(g, oy, ox));
}

}  // namespace

namespace {

/// The common 2×2 stride-2 unpadded case (the last row/column of an odd size is dropped).
bool is_2x2(const WindowGeom& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.pt == 0 && g.pl == 0 && 2 * g.Ho <= g.H &&
         2 * g.Wo <= g.W;
}

#if defined(__AVX512F__)
/// Masks for the first 2n of 32 consecutive inputs (n ≤ 16 pairs): lo over inputs [0, 16), hi
/// over [16, 32).
struct PairMasks {
  __mmask16 lo, hi;
};
inline PairMasks pair_masks(std::int64_t n) {
  return {static_cast<__mmask16>(n >= 8 ? 0xFFFF : (1u << (2 * n)) - 1),
          static_cast<__mmask16>(n > 8 ? (1u << (2 * (n - 8))) - 1 : 0)};
}

/// The 32 inputs lo (elements 0–15) and hi (16–31) split into their even elements e and odd ones o.
inline void even_odd(__m512 lo, __m512 hi, __m512& e, __m512& o) {
  e = _mm512_permutex2var_ps(lo, _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0), hi);
  o = _mm512_permutex2var_ps(lo, _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1), hi);
}
#endif

/// One output row of the 2×2 case from input rows r0, r1: the window maxima only. The forward
/// stores no argmax for this case (the backward recomputes it, below): the index arithmetic was
/// most of the forward's work, and forward-only passes (simulation, evaluation) never need it.
/// std::max(p, q) is (p < q ? q : p): the later element only when strictly larger, so the value
/// is that of the first maximum in window order (r0[0], r0[1], r1[0], r1[1]).
/// kRelu clamps the maximum at 0 (ReLU before the pool, fused).
template <bool kRelu>
void maxpool_2x2_row(const float* __restrict r0, const float* __restrict r1, std::int64_t Wo, float* __restrict y) {
#if defined(__AVX512F__)
  // 16 outputs per step from 32 inputs of each row, read with masks (no read past the row): the
  // even and odd elements are separated with permutes, and std::max(a, b), which keeps a unless
  // a < b, is _mm512_max_ps(b, a) (b if b > a, else a), so ties, signed zeros and NaNs come out as
  // in the scalar loop. The compiler's own vectorisation of that loop left rows of 7 or 14
  // outputs mostly to scalar remainders: the max-pool was 13% of a CNN draw (perf), ~4% after.
  for (std::int64_t ox = 0; ox < Wo; ox += 16) {
    const std::int64_t n = std::min<std::int64_t>(16, Wo - ox);  // outputs this step
    const PairMasks m = pair_masks(n);
    const auto pair_max = [&](const float* r) {  // std::max(r[2i], r[2i + 1])
      __m512 e, o;
      even_odd(_mm512_maskz_loadu_ps(m.lo, r + 2 * ox), _mm512_maskz_loadu_ps(m.hi, r + 2 * ox + 16), e, o);
      return _mm512_max_ps(o, e);
    };
    __m512 v = _mm512_max_ps(pair_max(r1), pair_max(r0));
    if constexpr (kRelu) v = _mm512_max_ps(_mm512_setzero_ps(), v);
    _mm512_mask_storeu_ps(y + ox, static_cast<__mmask16>((1u << n) - 1), v);
  }
#else
  for (std::int64_t ox = 0; ox < Wo; ++ox) {
    const float m = std::max(std::max(r0[2 * ox], r0[2 * ox + 1]), std::max(r1[2 * ox], r1[2 * ox + 1]));
    y[ox] = kRelu ? std::max(m, 0.0f) : m;
  }
#endif
}

#if defined(__AVX512F__)
/// maxpool_2x2_row for an even width W ≤ 16, where the two input rows r0 and r0 + W are one run
/// of 2W ≤ 32 floats: one pass of pair maxima over the run gives row 0's in lanes [0, Wo) and
/// row 1's in [Wo, 2Wo), and a lane shift by Wo lines them up for the vertical maximum, in the
/// same order of comparisons as maxpool_2x2_row (so bitwise the same result). Two loads and
/// three permutes per output row instead of four and four (W = 14: the CNN's second pool).
template <bool kRelu>
void maxpool_2x2_narrow_row(const float* __restrict r0, std::int64_t W, float* __restrict y) {
  const std::int64_t Wo = W / 2;
  const __m512i shift = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(static_cast<int>(Wo)));
  const PairMasks mask = pair_masks(W);  // the run's 2W inputs: W pairs
  __m512 e, o;
  even_odd(_mm512_maskz_loadu_ps(mask.lo, r0), _mm512_maskz_loadu_ps(mask.hi, r0 + 16), e, o);
  const __m512 pm = _mm512_max_ps(o, e);  // lanes [0, Wo): row 0, [Wo, 2Wo): row 1
  __m512 m = _mm512_max_ps(_mm512_permutexvar_ps(shift, pm), pm);
  if constexpr (kRelu) m = _mm512_max_ps(_mm512_setzero_ps(), m);
  _mm512_mask_storeu_ps(y, static_cast<__mmask16>((1u << Wo) - 1), m);
}

/// The low 8 bits of m spread to the even bits of 16 (bit i to bit 2i).
inline unsigned spread8(unsigned m) {
  m &= 0xFFu;
  m = (m | (m << 4)) & 0x0F0Fu;
  m = (m | (m << 2)) & 0x3333u;
  return (m | (m << 1)) & 0x5555u;
}
#endif

/// The 2×2 backward of one output row: d[ox] added to the argmax of window ox in dx0 (input row
/// r0) or dx1 (r1). The argmax is the first maximum in window order through the forward's
/// comparisons: va = std::max(a0, a1), vb = std::max(b0, b1), row 1 when vb > va, and in the
/// row the second element when it is strictly larger; with NaNs (every `>` false) it is still
/// the element whose value the forward output. dx is only added to (it may hold what other
/// consumers wrote), and windows do not overlap, so the order of the adds does not matter.
/// x_end and dx_end bound the reads (the end of x, the end of this task's samples in dx).
/// With AVX-512, 16 outputs per step: the even and odd elements of both rows are separated with
/// permutes as in the forward (_mm512_cmp_ps_mask with _CMP_GT_OQ is the scalar `>`), the four
/// selections become masks over the 32 inputs of each row, and masked stores write the selected
/// elements of dx only (every other element is left untouched, -0.0 included). The loads are
/// whole vectors wherever they stay inside those bounds (the lanes past the row are dropped by
/// the masks): x and dx have left the cache when the backward runs, and masked loads of them
/// measured slower than the scalar argmax and scatter this replaces, whole ones faster
/// (docs/engine.md).
void maxpool_2x2_grad_row(const float* __restrict r0, const float* __restrict r1, const float* x_end,
                          const float* __restrict d, std::int64_t Wo, float* dx0, float* dx1, const float* dx_end) {
#if defined(__AVX512F__)
  const __m512i dup_lo = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i dup_hi = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  const auto load = [](const float* p, const float* end, __mmask16 m) {
    return end - p >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
  };
  for (std::int64_t ox = 0; ox < Wo; ox += 16) {
    const std::int64_t n = std::min<std::int64_t>(16, Wo - ox);
    const unsigned out_mask = (1u << n) - 1;
    const PairMasks in = pair_masks(n);
    const auto split = [&](const float* r, __m512& e, __m512& o) {
      even_odd(load(r + 2 * ox, x_end, in.lo), n > 8 ? load(r + 2 * ox + 16, x_end, in.hi) : _mm512_setzero_ps(), e, o);
    };
    __m512 a0, a1, b0, b1;
    split(r0, a0, a1);
    split(r1, b0, b1);
    const unsigned ia = _mm512_cmp_ps_mask(a1, a0, _CMP_GT_OQ), ib = _mm512_cmp_ps_mask(b1, b0, _CMP_GT_OQ);
    const unsigned c = _mm512_cmp_ps_mask(_mm512_max_ps(b1, b0), _mm512_max_ps(a1, a0), _CMP_GT_OQ);
    const __m512 dv = _mm512_maskz_loadu_ps(static_cast<__mmask16>(out_mask), d + ox);
    const __m512 dlo = _mm512_permutexvar_ps(dup_lo, dv), dhi = _mm512_permutexvar_ps(dup_hi, dv);
    const auto add = [&](float* row, unsigned sel_even, unsigned sel_odd) {
      sel_even &= out_mask;
      sel_odd &= out_mask;
      const auto lo = static_cast<__mmask16>(spread8(sel_even) | spread8(sel_odd) << 1);
      const auto hi = static_cast<__mmask16>(spread8(sel_even >> 8) | spread8(sel_odd >> 8) << 1);
      float* p = row + 2 * ox;
      _mm512_mask_storeu_ps(p, lo, _mm512_add_ps(load(p, dx_end, lo), dlo));
      if (n > 8) _mm512_mask_storeu_ps(p + 16, hi, _mm512_add_ps(load(p + 16, dx_end, hi), dhi));
    };
    add(dx0, ~ia & ~c, ia & ~c);
    add(dx1, ~ib & c, ib & c);
  }
#else
  (void)x_end;
  (void)dx_end;
  for (std::int64_t ox = 0; ox < Wo; ++ox) {
    const float a0 = r0[2 * ox], a1 = r0[2 * ox + 1], b0 = r1[2 * ox], b1 = r1[2 * ox + 1];
    const bool ia = a1 > a0, ib = b1 > b0, c = std::max(b0, b1) > std::max(a0, a1);
    (c ? dx1 : dx0)[2 * ox + (c ? ib : ia)] += d[ox];
  }
#endif
}

/// Runs f(plane, oy, r0, r1) for every output row of the 2×2 case over samples [s0, s1).
template <class F>
void for_2x2_rows(const WindowGeom& g, const float* x, std::int64_t s0, std::int64_t s1, F&& f) {
  for (std::int64_t plane = s0 * g.C; plane < s1 * g.C; ++plane) {
    const float* xp = x + plane * g.H * g.W;
    for (std::int64_t oy = 0; oy < g.Ho; ++oy) f(plane, oy, xp + 2 * oy * g.W, xp + (2 * oy + 1) * g.W);
  }
}
}  // namespace

namespace {
/// Max-pool of one sample x [C, H, W] -> y [C, Ho, Wo] over any window geometry (clipped at the
/// padding), clamped at 0 when `relu`; the first maximum in window order wins ties, and its flat
/// input index (h·W + w) goes to arg [C, Ho, Wo] when given.
void pool_windows(const WindowGeom& g, const float* x, float* y, bool relu, std::int32_t* arg) {
  for_outputs(g, 0, 1, [&](std::int64_t in_off, std::int64_t o, const Span& w) {
    const float* xp = x + in_off;
    float best = -std::numeric_limits<float>::infinity();
    std::int32_t at = static_cast<std::int32_t>(w.y0 * g.W + w.x0);
    for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
      for (std::int64_t ix = w.x0; ix < w.x1; ++ix)
        if (xp[iy * g.W + ix] > best) {
          best = xp[iy * g.W + ix];
          at = static_cast<std::int32_t>(iy * g.W + ix);
        }
    y[o] = relu ? std::max(best, 0.0f) : best;
    if (arg) arg[o] = at;
  });
}
}  // namespace

void maxpool_sample(const WindowGeom& g, const float* x, float* y, bool relu) {
  if (!is_2x2(g)) return pool_windows(g, x, y, relu, nullptr);
#if defined(__AVX512F__)
  if (g.W <= 16 && 2 * g.Wo == g.W) {
    for_2x2_rows(g, x, 0, 1, [&](std::int64_t plane, std::int64_t oy, const float* r0, const float*) {
      float* out = y + (plane * g.Ho + oy) * g.Wo;
      relu ? maxpool_2x2_narrow_row<true>(r0, g.W, out) : maxpool_2x2_narrow_row<false>(r0, g.W, out);
    });
    return;
  }
#endif
  for_2x2_rows(g, x, 0, 1, [&](std::int64_t plane, std::int64_t oy, const float* r0, const float* r1) {
    float* out = y + (plane * g.Ho + oy) * g.Wo;
    relu ? maxpool_2x2_row<true>(r0, r1, g.Wo, out) : maxpool_2x2_row<false>(r0, r1, g.Wo, out);
  });
}

void maxpool_forward(const Tensor& x, Tensor& y, NodeState& st, bool relu) {
  const WindowGeom& g = st.geom;
  const bool two = is_2x2(g);  // no argmax: the backward recomputes it
  if (two)
    st.argmax.clear();
  else
    st.argmax.resize(static_cast<std::size_t>(y.size()));
  const std::int64_t in = g.C * g.H * g.W, out = g.C * g.P();
  for_chunks(x.dim(0), kPoolChunk, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s)
      if (two)
        maxpool_sample(g, x.data() + s * in, y.data() + s * out, relu);
      else
        pool_windows(g, x.data() + s * in, y.data() + s * out, relu, st.argmax.data() + s * out);
  });
}

void maxpool_backward(const Tensor& x, const Tensor& dy, Tensor& dx, const NodeState& st) {
  const WindowGeom& g = st.geom;
  if (is_2x2(g)) {
    for_chunks(dy.dim(0), kPoolChunk, [&](std::int64_t s0, std::int64_t s1) {
      const float* dx_end = dx.data() + s1 * g.C * g.H * g.W;
      for_2x2_rows(g, x.data(), s0, s1, [&](std::int64_t plane, std::int64_t oy, const float* r0, const float* r1) {
        float* dxr = dx.data() + plane * g.H * g.W + 2 * oy * g.W;
        maxpool_2x2_grad_row(r0, r1, x.data() + x.size(), dy.data() + (plane * g.Ho + oy) * g.Wo, g.Wo, dxr, dxr + g.W,
                             dx_end);
      });
    });
    return;
  }
  QREG_ASSERT(static_cast<std::int64_t>(st.argmax.size()) == dy.size(), "maxpool_backward: no forward argmax");
  for_chunks(dy.dim(0), kPoolChunk, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t plane = s0 * g.C; plane < s1 * g.C; ++plane)
      for (std::int64_t o = plane * g.P(); o < (plane + 1) * g.P(); ++o)
        dx[plane * g.H * g.W + st.argmax[static_cast<std::size_t>(o)]] += dy[o];
  });
}

void avgpool_forward(const Tensor& x, Tensor& y, const WindowGeom& g) {
  for_chunks(x.dim(0), kPoolChunk, [&](std::int64_t s0, std::int64_t s1) {
    for_outputs(g, s0, s1, [&](std::int64_t in_off, std::int64_t o, const Span& w) {
      const float* xp = x.data() + in_off;
      float sum = 0.0f;
      for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
        for (std::int64_t ix = w.x0; ix < w.x1; ++ix) sum += xp[iy * g.W + ix];
      y[o] = sum / static_cast<float>((w.y1 - w.y0) * (w.x1 - w.x0));
    });
  });
}

void avgpool_backward(const Tensor& dy, Tensor& dx, const WindowGeom& g) {
  for_chunks(dy.dim(0), kPoolChunk, [&](std::int64_t s0, std::int64_t s1) {
    for_outputs(g, s0, s1, [&](std::int64_t in_off, std::int64_t o, const Span& w) {
      const float share = dy[o] / static_cast<float>((w.y1 - w.y0) * (w.x1 - w.x0));
      float* dxp = dx.data() + in_off;
      for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
        for (std::int64_t ix = w.x0; ix < w.x1; ++ix) dxp[iy * g.W + ix] += share;
    });
  });
}

void global_avgpool_forward(const Tensor& x, Tensor& y) {
  const std::int64_t planes = y.size(), hw = x.size() / planes;
  for (std::int64_t p = 0; p < planes; ++p) {
    float sum = 0.0f;
    for (std::int64_t i = 0; i < hw; ++i) sum += x[p * hw + i];
    y[p] = sum / static_cast<float>(hw);
  }
}

void global_avgpool_backward(const Tensor& dy, Tensor& dx) {
  const std::int64_t planes = dy.size(), hw = dx.size() / planes;
  for (std::int64_t p = 0; p < planes; ++p) {
    const float share = dy[p] / static_cast<float>(hw);
    for (std::int64_t i = 0; i < hw; ++i) dx[p * hw + i] += share;
  }
}

}  // namespace qreg::ops
