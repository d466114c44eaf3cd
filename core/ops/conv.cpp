// Conv (2-D, NCHW, any stride/padding/dilation/groups) as im2col + GEMM per sample:
//   col_n [C·kh·kw, P] holds the input patch of every output position p,
//   y_n [O, P] = W [O, C·kh·kw] · col_n + b            (per group: a block of rows of W and col)
//   dW = Σ_n dy_n · col_nᵀ,  db = Σ_n Σ_p dy_n,  dcol_n = Wᵀ · dy_n,  dx_n = col2im(dcol_n).
// Samples run in parallel in fixed chunks; the weight gradient is summed per chunk and the chunk
// partials are added in chunk order, so the result does not depend on the thread count.
#include "core/error.hpp"
#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

constexpr std::int64_t kConvChunk = 8;  // samples per parallel task
// The whole batch's im2col is kept for backward when it fits this many floats (256 MiB);
// otherwise backward recomputes it per sample.
constexpr std::int64_t kColBudget = std::int64_t{64} << 20;

/// Output indices o in [0, count) with 0 <= o·stride + offset < size, as [lo, hi).
std::pair<std::int64_t, std::int64_t> valid_range(std::int64_t offset, std::int64_t stride, std::int64_t size,
                                                  std::int64_t count) {
  const std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  return {std::min(lo, count), std::clamp(hi, std::min(lo, count), count)};
}

/// Gathers (scatter-adds when `add`) between x_n [C, H, W] and col_n [C·kh·kw, P].
template <bool kAdd>
void im2col_impl(const WindowGeom& g, const float* x_in, float* col_in, float* x_out, const float* col_out) {
  std::int64_t row = 0;
  for (std::int64_t c = 0; c < g.C; ++c)
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx, ++row) {
        const std::int64_t offy = ky * g.dh - g.pt, offx = kx * g.dw - g.pl;
        const auto [xlo, xhi] = valid_range(offx, g.sw, g.W, g.Wo);
        for (std::int64_t oy = 0; oy < g.Ho; ++oy) {
          const std::int64_t iy = oy * g.sh + offy;
          const std::int64_t base = row * g.P() + oy * g.Wo;
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
            std::fill(dst, dst + xlo, 0.0f);
            for (std::int64_t ox = xlo; ox < xhi; ++ox) dst[ox] = xr[ox * g.sw];
            std::fill(dst + xhi, dst + g.Wo, 0.0f);
          }
        }
      }
}

void im2col(const WindowGeom& g, const float* x, float* col) { im2col_impl<false>(g, x, col, nullptr, nullptr); }
void col2im_add(const WindowGeom& g, const float* col, float* x) { im2col_impl<true>(g, nullptr, nullptr, x, col); }

}  // namespace

WindowGeom window_geom(const Node& node, const Shape& in, const Shape& out, std::int64_t kh, std::int64_t kw) {
  const auto s = node.attrs.get_ints("strides", {1, 1});
  const auto p = node.attrs.get_ints("pads", {0, 0, 0, 0});
  const auto d = node.attrs.get_ints("dilations", {1, 1});
  const auto groups = node.op == OpType::Conv ? node.attrs.get_ints("group", {1})[0] : 1;
  QREG_ASSERT(in.size() == 3 && out.size() == 3, "window ops run on [C, H, W] (checked by finalize)");
  return {in[0], in[1], in[2], out[0], out[1], out[2], kh, kw, s[0], s[1], p[0], p[1], d[0], d[1], groups};
}

void conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y, NodeState& st) {
  const WindowGeom& g = st.geom;
  const std::int64_t n = x.dim(0), K = g.C * g.kh * g.kw, Kg = g.Kg(), Og = g.O / g.groups, P = g.P();
  st.col_saved = n * K * P <= kColBudget;
  if (st.col_saved && static_cast<std::int64_t>(st.col.size()) != n * K * P)
    st.col.resize(static_cast<std::size_t>(n * K * P));
  tbb::enumerable_thread_specific<FloatBuffer> scratch;
  ConstMap Wm(w.data(), g.O, Kg);
  for_chunks(n, kConvChunk, [&](std::int64_t s0, std::int64_t s1) {
    FloatBuffer& local = scratch.local();
    if (!st.col_saved) local.resize(static_cast<std::size_t>(K * P));
    for (std::int64_t s = s0; s < s1; ++s) {
      float* col = st.col_saved ? st.col.data() + s * K * P : local.data();
      im2col(g, x.data() + s * g.C * g.H * g.W, col);
      Map Y(y.data() + s * g.O * P, g.O, P);
      for (std::int64_t gr = 0; gr < g.groups; ++gr)
        Y.middleRows(gr * Og, Og).noalias() = Wm.middleRows(gr * Og, Og) * ConstMap(col + gr * Kg * P, Kg, P);
      if (b) Y.colwise() += Eigen::Map<const Eigen::VectorXf>(b->data(), g.O);
    }
  });
}

void conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor* db,
                   NodeState& st) {
  const WindowGeom& g = st.geom;
  const std::int64_t n = x.dim(0), K = g.C * g.kh * g.kw, Kg = g.Kg(), Og = g.O / g.groups, P = g.P();
  const std::int64_t chunks = (n + kConvChunk - 1) / kConvChunk;
  if (static_cast<std::int64_t>(st.partials.size()) != chunks)
    st.partials.assign(static_cast<std::size_t>(chunks), Tensor({g.O, Kg + 1}));
  tbb::enumerable_thread_specific<FloatBuffer> col_scratch, dcol_scratch;
  ConstMap Wm(w.data(), g.O, Kg);
  for_chunks(n, kConvChunk, [&](std::int64_t s0, std::int64_t s1) {
    // partial [O, Kg + 1]: the weight gradient with the bias gradient as an extra column.
    Map part(st.partials[static_cast<std::size_t>(s0 / kConvChunk)].data(), g.O, Kg + 1);
    part.setZero();
    FloatBuffer& col_local = col_scratch.local();
    FloatBuffer& dcol = dcol_scratch.local();
    dcol.resize(static_cast<std::size_t>(K * P));
    if (!st.col_saved) col_local.resize(static_cast<std::size_t>(K * P));
    for (std::int64_t s = s0; s < s1; ++s) {
      const float* col = st.col_saved ? st.col.data() + s * K * P : col_local.data();
      if (!st.col_saved) im2col(g, x.data() + s * g.C * g.H * g.W, col_local.data());
      ConstMap dY(dy.data() + s * g.O * P, g.O, P);
      for (std::int64_t gr = 0; gr < g.groups; ++gr) {
        ConstMap colg(col + gr * Kg * P, Kg, P);
        part.block(gr * Og, 0, Og, Kg).noalias() += dY.middleRows(gr * Og, Og) * colg.transpose();
        if (dx)
          Map(dcol.data() + gr * Kg * P, Kg, P).noalias() =
              Wm.middleRows(gr * Og, Og).transpose() * dY.middleRows(gr * Og, Og);
      }
      part.col(Kg) += dY.rowwise().sum();
      if (dx) col2im_add(g, dcol.data(), dx->data() + s * g.C * g.H * g.W);
    }
  });
  Map dW(dw.data(), g.O, Kg);
  dW.setZero();
  Eigen::VectorXf dB = Eigen::VectorXf::Zero(g.O);
  for (const Tensor& p : st.partials) {  // fixed chunk order
    ConstMap part(p.data(), g.O, Kg + 1);
    dW += part.leftCols(Kg);
    dB += part.col(Kg);
  }
  if (db) Eigen::Map<Eigen::VectorXf>(db->data(), g.O) = dB;
}

}  // namespace qreg::ops
