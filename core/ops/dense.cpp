// Gemm and MatMul: one GEMM over the whole batch (rows = N · leading per-sample dims), split
// into fixed row blocks that run in parallel. Each block is an independent Eigen GEMM whose
// blocking depends on the block size only, so results do not depend on the thread count.
#include "core/error.hpp"
#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

// Rows per parallel GEMM block: large enough for Eigen's packed kernels to run at full speed
// (packing the other operand costs ~1/kGemmRows of the block's work), small enough to give
// both cores work at batch 128.
constexpr std::int64_t kGemmRows = 64;

}  // namespace

void ensure_shape(Tensor& t, const Shape& shape) {
  if (t.shape() != shape) t = Tensor(shape);
}

Shape batched(std::int64_t n, const Shape& per_sample) {
  Shape s{n};
  s.insert(s.end(), per_sample.begin(), per_sample.end());
  return s;
}

void dense_forward(bool gemm, const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
  const std::int64_t in = gemm ? w.dim(1) : w.dim(0), out = gemm ? w.dim(0) : w.dim(1);
  const std::int64_t rows = x.size() / in;
  ConstMap X(x.data(), rows, in), W(w.data(), w.dim(0), w.dim(1));
  Map Y(y.data(), rows, out);
  for_chunks(rows, kGemmRows, [&](std::int64_t r0, std::int64_t r1) {
    auto Yb = Y.middleRows(r0, r1 - r0);
    if (gemm)
      Yb.noalias() = X.middleRows(r0, r1 - r0) * W.transpose();
    else
      Yb.noalias() = X.middleRows(r0, r1 - r0) * W;
    if (b) Yb.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b->data(), out);
  });
}

void dense_backward(bool gemm, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db) {
  const std::int64_t in = gemm ? w.dim(1) : w.dim(0), out = gemm ? w.dim(0) : w.dim(1);
  const std::int64_t rows = x.size() / in;
  ConstMap X(x.data(), rows, in), W(w.data(), w.dim(0), w.dim(1)), dY(dy.data(), rows, out);
  if (dx) {
    Map dX(dx->data(), rows, in);
    for_chunks(rows, kGemmRows, [&](std::int64_t r0, std::int64_t r1) {
      if (gemm)
        dX.middleRows(r0, r1 - r0).noalias() += dY.middleRows(r0, r1 - r0) * W;
      else
        dX.middleRows(r0, r1 - r0).noalias() += dY.middleRows(r0, r1 - r0) * W.transpose();
    });
  }
  if (!dw) return;
  // Weight gradient: the batch is the GEMM's inner dimension (summed inside one block, in a
  // fixed order); the blocks split the weight's rows.
  Map dW(dw->data(), w.dim(0), w.dim(1));
  for_chunks(w.dim(0), kGemmRows, [&](std::int64_t r0, std::int64_t r1) {
    if (gemm)  // dW [out, in] = dYᵀ · X
      dW.middleRows(r0, r1 - r0).noalias() = dY.middleCols(r0, r1 - r0).transpose() * X;
    else  // dW [in, out] = Xᵀ · dY
      dW.middleRows(r0, r1 - r0).noalias() = X.middleCols(r0, r1 - r0).transpose() * dY;
  });
  if (db) {
    Eigen::Map<Eigen::RowVectorXf> dB(db->data(), out);
    dB.setZero();
    for (std::int64_t r = 0; r < rows; ++r) dB += dY.row(r);
  }
}

}  // namespace qreg::ops
