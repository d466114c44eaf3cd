// Tests of core/gemm.hpp, the one matrix product behind dense, conv and the CPU backend.
// Reference: a plain triple loop in double precision over the row-major definition
// C[i][j] = Σ_p op(A)[i][p] · op(B)[p][j]. Tolerance: float summation of k products has error at
// most about k · 2⁻²⁴ · Σ_p |op(A)[i][p] op(B)[p][j]| (Higham, Accuracy and Stability, §3.1);
// we allow that bound (blocked kernels only reorder the sum), plus 1e-6 for a zero sum.
#include <gtest/gtest.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/gemm.hpp"

namespace {

using qreg::Trans;

struct Operands {
  std::int64_t m, n, k, lda, ldb, ldc;
  Trans ta, tb;
  std::vector<float> a, b, c;
};

/// Random operands with leading dimensions wider than the rows (pads must not be read or written).
Operands make(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Operands o{m, n, k, (ta == Trans::yes ? m : k) + 3, (tb == Trans::yes ? k : n) + 5, n + 2, ta, tb, {}, {}, {}};
  o.a.resize(static_cast<std::size_t>((ta == Trans::yes ? k : m) * o.lda));
  o.b.resize(static_cast<std::size_t>((tb == Trans::yes ? n : k) * o.ldb));
  o.c.resize(static_cast<std::size_t>(m * o.ldc));
  for (auto* v : {&o.a, &o.b, &o.c})
    for (float& x : *v) x = u(gen);
  return o;
}

float op_a(const Operands& o, std::int64_t i, std::int64_t p) {
  return o.ta == Trans::yes ? o.a[static_cast<std::size_t>(p * o.lda + i)]
                            : o.a[static_cast<std::size_t>(i * o.lda + p)];
}
float op_b(const Operands& o, std::int64_t p, std::int64_t j) {
  return o.tb == Trans::yes ? o.b[static_cast<std::size_t>(j * o.ldb + p)]
                            : o.b[static_cast<std::size_t>(p * o.ldb + j)];
}

void expect_product(const Operands& o, const std::vector<float>& c_before, bool accumulate) {
  for (std::int64_t i = 0; i < o.m; ++i) {
    for (std::int64_t j = 0; j < o.n; ++j) {
      double sum = accumulate ? c_before[static_cast<std::size_t>(i * o.ldc + j)] : 0.0, mag = std::abs(sum);
      for (std::int64_t p = 0; p < o.k; ++p) {
        const double t = double{op_a(o, i, p)} * op_b(o, p, j);
        sum += t;
        mag += std::abs(t);
      }
      const double tol = (o.k + 2) * std::ldexp(1.0, -24) * mag + 1e-6;
      ASSERT_NEAR(o.c[static_cast<std::size_t>(i * o.ldc + j)], sum, tol) << i << "," << j;
    }
    for (std::int64_t j = o.n; j < o.ldc; ++j)  // the pad of C is untouched
      ASSERT_EQ(o.c[static_cast<std::size_t>(i * o.ldc + j)], c_before[static_cast<std::size_t>(i * o.ldc + j)]);
  }
}

void run(Operands& o, bool accumulate) {
  qreg::sgemm(o.ta, o.tb, o.m, o.n, o.k, o.a.data(), o.lda, o.b.data(), o.ldb, o.c.data(), o.ldc, accumulate);
}

}  // namespace

TEST(Gemm, AllTransposeCombinationsMatchTheDefinition) {
  unsigned seed = 1;
  for (Trans ta : {Trans::no, Trans::yes})
    for (Trans tb : {Trans::no, Trans::yes})
      for (auto [m, n, k] : {std::array<std::int64_t, 3>{1, 1, 1}, {7, 5, 3}, {64, 96, 200}, {130, 33, 257}})
        for (bool accumulate : {false, true}) {
          Operands o = make(ta, tb, m, n, k, seed++);
          const std::vector<float> before = o.c;
          run(o, accumulate);
          SCOPED_TRACE(testing::Message() << "ta=" << int(ta) << " tb=" << int(tb) << " m=" << m << " n=" << n
                                          << " k=" << k << " acc=" << accumulate);
          expect_product(o, before, accumulate);
        }
}

TEST(Gemm, EmptyInnerDimensionZeroesOrKeepsC) {
  Operands o = make(Trans::no, Trans::no, 3, 4, 0, 7);
  const std::vector<float> before = o.c;
  run(o, /*accumulate=*/true);
  EXPECT_EQ(o.c, before);
  run(o, /*accumulate=*/false);
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(o.c[static_cast<std::size_t>(i * o.ldc + j)], 0.0f);
}

// The engine calls sgemm from several TBB workers at once (one fixed block each): concurrent calls
// must give the results of sequential ones, bit for bit.
TEST(Gemm, ConcurrentCallsEqualSequentialOnesBitwise) {
  constexpr int kBlocks = 16;
  std::vector<Operands> seq, par;
  for (int i = 0; i < kBlocks; ++i) seq.push_back(make(Trans::no, Trans::yes, 96, 128, 160 + i, 100u + i));
  par = seq;
  for (auto& o : seq) run(o, false);
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
  tbb::parallel_for(0, kBlocks, [&](int i) { run(par[static_cast<std::size_t>(i)], false); });
  for (int i = 0; i < kBlocks; ++i)
    EXPECT_EQ(par[static_cast<std::size_t>(i)].c, seq[static_cast<std::size_t>(i)].c) << i;
}

TEST(Gemm, NamesItsLibrary) {
  const std::string lib = qreg::gemm_library();
  EXPECT_TRUE(lib.rfind("OpenBLAS", 0) == 0 || lib.rfind("Eigen", 0) == 0) << lib;
}
