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

}  // namespace

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
