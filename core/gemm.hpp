// The engine's one matrix product. Every GEMM of the network engine (dense, conv, the backend's
// gemm) goes through sgemm(), which runs on OpenBLAS's kernels when qreg is built with
// QREG_BLAS=OpenBLAS (the default) and on Eigen's otherwise.
//
// sgemm() is single-threaded by contract: callers split a product into blocks whose boundaries
// depend on the problem size only and run the blocks in parallel (ops::for_chunks), so a result
// never depends on the thread count. OpenBLAS's own thread pool is switched off on first use.
#pragma once

#include <cstdint>
#include <string>

namespace qreg {

enum class Trans : bool { no = false, yes = true };

/// C[m, n] = op(A) · op(B) (+ C when accumulate), all row-major float with leading dimensions
/// lda, ldb, ldc (elements between consecutive rows). op(A) is [m, k]: A itself [m, k] with
/// lda ≥ k, or with Trans::yes A is [k, m] (lda ≥ m) used transposed; likewise op(B) [k, n].
/// k = 0 gives C = 0 (or leaves C when accumulating).
void sgemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
           const float* b, std::int64_t ldb, float* c, std::int64_t ldc, bool accumulate = false);

/// The library behind sgemm(), for version output and benchmark reports:
/// OpenBLAS's build string (version, kernels chosen for this CPU) or "Eigen 3.4.0".
std::string gemm_library();

}  // namespace qreg
