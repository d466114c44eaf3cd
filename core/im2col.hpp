// Patch extraction for 2-D window ops (Conv, MaxPool, AveragePool): the geometry of a window op
// and im2col / col2im on one sample. Shared by the engine's conv and by theory's per-sample
// weight-gradient norms, so both read patches the same way.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/graph.hpp"

namespace qreg {

/// Geometry of a 2-D window op on per-sample [C, H, W] -> [O, Ho, Wo].
struct WindowGeom {
  std::int64_t C, H, W, O, Ho, Wo, kh, kw, sh, sw, pt, pl, dh, dw, groups;
  std::int64_t P() const { return Ho * Wo; }                // output positions
  std::int64_t Kg() const { return C / groups * kh * kw; }  // im2col rows per group
};
/// From the node's strides/pads/dilations/group and its per-sample input and output shapes.
WindowGeom window_geom(const Node& node, const Shape& in, const Shape& out, std::int64_t kh, std::int64_t kw);

/// col [C·kh·kw, P] of one sample x [C, H, W], zero padding. `ld` is col's row stride in floats
/// (P: a sample's own matrix; S·P: sample j of a chunk writes columns [j·P, (j+1)·P) of [K, S·P]).
void im2col(const WindowGeom& g, const float* x, float* col, std::int64_t ld);
inline void im2col(const WindowGeom& g, const float* x, float* col) { im2col(g, x, col, g.P()); }
/// x [C, H, W] += the patches of col [C·kh·kw, P] (row stride `ld`) scattered back (im2col's adjoint).
void col2im_add(const WindowGeom& g, const float* col, float* x, std::int64_t ld);
inline void col2im_add(const WindowGeom& g, const float* col, float* x) { col2im_add(g, col, x, g.P()); }

/// dst[0, n) = src[0, n), inlined. im2col and the direct conv copy short runs (an output row:
/// 7..56 floats for the usual images), and std::copy / std::fill become a memmove / memset call
/// per run; those calls were 60% of im2col's time on the CNN (perf). Whole 8-float blocks, then
/// one block ending at n that may overlap the last (it rewrites the same values). The empty asms
/// hide the loop indices from GCC's loop distribution, which otherwise recognises both loops as
/// copies and turns them back into memmove calls (it did in the direct conv's input padding:
/// 1.7% of a CNN simulation, perf).
inline void copy_run(const float* __restrict src, float* __restrict dst, std::int64_t n) {
  if (n < 8) {
    for (std::int64_t i = 0; i < n; ++i) {
      dst[i] = src[i];
      __asm__("" : "+r"(i));
    }
    return;
  }
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::memcpy(dst + i, src + i, 8 * sizeof(float));
    __asm__("" : "+r"(i));
  }
  if (i < n) std::memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
}

}  // namespace qreg
