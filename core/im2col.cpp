// im2col / col2im for window ops; see core/im2col.hpp.
#include "core/im2col.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/error.hpp"

namespace qreg {
namespace {

/// Output indices o in [0, count) with 0 <= o·stride + offset < size, as [lo, hi).
std::pair<std::int64_t, std::int64_t> valid_range(std::int64_t offset, std::int64_t stride, std::int64_t size,
                                                  std::int64_t count) {
  const std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  return {std::min(lo, count), std::clamp(hi, std::min(lo, count), count)};
}

/// dst[0, n) = 0 for the padding at a row's ends (usually 0 or 1 float; whole rows use std::fill).
inline void zero_run(float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
}

/// im2col row (c, ky, kx) of a conv with unit strides whose output is as wide as its input
/// (Wo == W: "same" padding, as in a 3×3 pad-1 conv). The valid output rows [ylo, yhi) read
/// consecutive input rows, so the row is one contiguous copy of the plane shifted by
/// offy·W + offx; the columns in the padding ([0, xlo) and [xhi, W)) then hold a neighbouring
/// row's values (or nothing) and are zeroed column by column. This is one copy per row of col
/// instead of one per output row: per-output-row work was most of the CNN's im2col time.
void gather_same_width(const WindowGeom& g, const float* plane, float* dst, std::int64_t offy, std::int64_t offx,
                       std::int64_t xlo, std::int64_t xhi) {
  const auto [ylo, yhi] = valid_range(offy, 1, g.H, g.Ho);
  const std::int64_t W = g.W;
  std::fill(dst, dst + ylo * W, 0.0f);
  std::fill(dst + yhi * W, dst + g.Ho * W, 0.0f);
  if (ylo >= yhi) return;
  if (xlo < xhi) {  // dst[i] = plane[i + shift] for i in [first, last): every source index is in the plane
    const std::int64_t first = ylo * W + xlo, last = (yhi - 1) * W + xhi, shift = offy * W + offx;
    std::copy(plane + first + shift, plane + last + shift, dst + first);
  }
  const auto zero_column = [&](std::int64_t ox) {  // strided stores: no memset call per row
    for (std::int64_t oy = ylo; oy < yhi; ++oy) dst[oy * W + ox] = 0.0f;
  };
  for (std::int64_t ox = 0; ox < xlo; ++ox) zero_column(ox);  // valid_range gives xlo <= xhi <= W
  for (std::int64_t ox = xhi; ox < W; ++ox) zero_column(ox);
}

/// Gathers (scatter-adds when `add`) between x_n [C, H, W] and col_n [C·kh·kw, P] (row stride ld).
template <bool kAdd>
void im2col_impl(const WindowGeom& g, std::int64_t ld, const float* x_in, float* col_in, float* x_out,
                 const float* col_out) {
  std::int64_t row = 0;
  for (std::int64_t c = 0; c < g.C; ++c)
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx, ++row) {
        const std::int64_t offy = ky * g.dh - g.pt, offx = kx * g.dw - g.pl;
        const auto [xlo, xhi] = valid_range(offx, g.sw, g.W, g.Wo);
        if constexpr (!kAdd) {
          if (g.sh == 1 && g.sw == 1 && g.Wo == g.W) {
            gather_same_width(g, x_in + c * g.H * g.W, col_in + row * ld, offy, offx, xlo, xhi);
            continue;
          }
        }
        for (std::int64_t oy = 0; oy < g.Ho; ++oy) {
          const std::int64_t iy = oy * g.sh + offy;
          const std::int64_t base = row * ld + oy * g.Wo;
          const bool inside = iy >= 0 && iy < g.H;
          if constexpr (kAdd) {
            if (!inside) continue;
            float* xr = x_out + (c * g.H + iy) * g.W + offx;
            for (std::int64_t ox = xlo; ox < xhi; ++ox) xr[ox * g.sw] += col_out[base + ox];
          } else {
            float* dst = col_in + base;
            if (!inside) {
              std::fill(dst, dst + g.Wo, 0.0f);
              continue;
            }
            const float* xr = x_in + (c * g.H + iy) * g.W + offx;
            zero_run(dst, xlo);
            if (g.sw == 1)  // the common case: a contiguous run of the input row
              copy_run(xr + xlo, dst + xlo, xhi - xlo);
            else
              for (std::int64_t ox = xlo; ox < xhi; ++ox) dst[ox] = xr[ox * g.sw];
            zero_run(dst + xhi, g.Wo - xhi);
          }
        }
      }
}

}  // namespace

void im2col(const WindowGeom& g, const float* x, float* col, std::int64_t ld) {
  im2col_impl<false>(g, ld, x, col, nullptr, nullptr);
}
void col2im_add(const WindowGeom& g, const float* col, float* x, std::int64_t ld) {
  im2col_impl<true>(g, ld, nullptr, nullptr, x, col);
}

WindowGeom window_geom(const Node& node, const Shape& in, const Shape& out, std::int64_t kh, std::int64_t kw) {
  const auto s = node.attrs.get_ints("strides", {1, 1});
  const auto p = node.attrs.get_ints("pads", {0, 0, 0, 0});
  const auto d = node.attrs.get_ints("dilations", {1, 1});
  const auto groups = node.op == OpType::Conv ? node.attrs.get_ints("group", {1})[0] : 1;
  QREG_ASSERT(in.size() == 3 && out.size() == 3, "window ops run on [C, H, W] (checked by finalize)");
  return {in[0], in[1], in[2], out[0], out[1], out[2], kh, kw, s[0], s[1], p[0], p[1], d[0], d[1], groups};
}

}  // namespace qreg
