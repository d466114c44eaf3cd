#include "core/gemm.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.hpp"

#if QREG_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace qreg {
namespace {

#if !QREG_HAVE_OPENBLAS
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using In = Eigen::Map<const RowMajor, 0, Stride>;
using Out = Eigen::Map<RowMajor, 0, Stride>;

template <class A, class B>
void eigen_product(const A& op_a, const B& op_b, Out& C, bool accumulate) {
  if (accumulate)
    C.noalias() += op_a * op_b;
  else
    C.noalias() = op_a * op_b;
}
#endif

}  // namespace

void sgemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
           const float* b, std::int64_t ldb, float* c, std::int64_t ldc, bool accumulate) {
  QREG_ASSERT(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension");
  QREG_ASSERT(ldc >= n, "sgemm: ldc < n");
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum; BLAS would reject the leading dimensions of empty operands
    if (!accumulate)
      for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  QREG_ASSERT(lda >= (ta == Trans::yes ? m : k) && ldb >= (tb == Trans::yes ? k : n),
              "sgemm: leading dimension smaller than a row");
  QREG_ASSERT(std::max({m, n, k, lda, ldb, ldc}) <= std::int64_t{INT32_MAX}, "sgemm: dimension beyond 32-bit BLAS");
#if QREG_HAVE_OPENBLAS
  static const bool single_threaded = [] {
    openblas_set_num_threads(1);  // parallelism is ours (fixed blocks), see gemm.hpp
    return true;
  }();
  (void)single_threaded;
  cblas_sgemm(CblasRowMajor, ta == Trans::yes ? CblasTrans : CblasNoTrans, tb == Trans::yes ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), accumulate ? 1.0f : 0.0f, c,
              static_cast<blasint>(ldc));
#else
  Out C(c, m, n, Stride(ldc));
  const In A(a, ta == Trans::yes ? k : m, ta == Trans::yes ? m : k, Stride(lda));
  const In B(b, tb == Trans::yes ? n : k, tb == Trans::yes ? k : n, Stride(ldb));
  if (ta == Trans::yes && tb == Trans::yes)
    eigen_product(A.transpose(), B.transpose(), C, accumulate);
  else if (ta == Trans::yes)
    eigen_product(A.transpose(), B, C, accumulate);
  else if (tb == Trans::yes)
    eigen_product(A, B.transpose(), C, accumulate);
  else
    eigen_product(A, B, C, accumulate);
#endif
}

std::string gemm_library() {
#if QREG_HAVE_OPENBLAS
  const char* config = openblas_get_config();  // "OpenBLAS 0.3.21 ... Zen MAX_THREADS=64"
  return config ? config : "OpenBLAS";
#else
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION);
#endif
}

}  // namespace qreg
