// Tests of the counter-based random streams (core/rng.hpp) and synthetic tensors (core/synthetic.hpp).
// Known answers: Random123's own tests/kat_vectors (github.com/DEShawResearch/random123, the
// three "philox4x32 10" lines; columns CTR[4] KEY[2] EXPECTED[4]); the Debian package does not
// ship that file, so the three lines are copied here. philox_block maps key = (seed lo, seed hi)
// and counter = (stream lo, stream hi, block lo, block hi).
// Moments: sample mean and variance of n draws must lie within 5 standard errors of the exact
// values (SE of the mean σ/√n, of the variance √((μ4 − σ⁴)/n)), a bound a correct generator
// fails with probability ~6e-7 per check; the draws are fixed by the seed, so the tests are
// deterministic. Thread independence is checked bitwise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/synthetic.hpp"

namespace qreg {
namespace {

void expect_block(std::uint64_t seed, std::uint64_t stream, std::uint64_t block, std::array<std::uint32_t, 4> want) {
  const auto got = philox_block(seed, stream, block);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got.v[i], want[static_cast<std::size_t>(i)]) << std::hex << "word " << i;
}

TEST(Rng, PhiloxKnownAnswers) {
  expect_block(0, 0, 0, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  expect_block(~0ull, ~0ull, ~0ull, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  // ctr 243f6a88 85a308d3 13198a2e 03707344, key a4093822 299f31d0
  expect_block(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull,
               {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST(Rng, StreamReadsBlocksInCounterOrderAndIsReproducible) {
  RandomStream a(42, 7), b(42, 7), other(42, 8);
  bool differs = false;
  for (std::uint64_t block = 0; block < 3; ++block) {
    const auto words = philox_block(42, 7, block);
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t x = a.next_u32();
      EXPECT_EQ(x, words.v[i]);
      EXPECT_EQ(x, b.next_u32());
      differs |= x != other.next_u32();
    }
  }
  EXPECT_TRUE(differs);
}

struct Moments {
  double mean = 0, var = 0;
};
template <typename F>
Moments moments(int n, F draw) {
  std::vector<double> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = draw();
  Moments m;
  for (double v : x) m.mean += v / n;
  for (double v : x) m.var += (v - m.mean) * (v - m.mean) / (n - 1);
  return m;
}

void expect_moments(const Moments& m, double mean, double var, double mu4, int n, const char* what) {
  EXPECT_LE(std::abs(m.mean - mean), 5.0 * std::sqrt(var / n)) << what;
  EXPECT_LE(std::abs(m.var - var), 5.0 * std::sqrt((mu4 - var * var) / n)) << what;
}

TEST(Rng, DistributionMomentsWithinFiveStandardErrors) {
  constexpr int n = 200000;
  RandomStream r(2024, 0);
  expect_moments(moments(n, [&] { return static_cast<double>(r.uniform()); }), 0.5, 1.0 / 12, 1.0 / 80, n, "uniform");
  expect_moments(moments(n, [&] { return r.normal(); }), 0.0, 1.0, 3.0, n, "normal");
  expect_moments(moments(n, [&] { return r.laplace(1.0); }), 0.0, 2.0, 24.0, n, "laplace");
}

TEST(Rng, UniformIsInsideTheOpenInterval) {
  EXPECT_GT(u01_open(0u), 0.0f);
  EXPECT_LT(u01_open(0xffffffffu), 1.0f);
  EXPECT_GT(u01_open_double(0u, 0u), 0.0);
  EXPECT_LT(u01_open_double(0xffffffffu, 0xffffffffu), 1.0);
}

TEST(Synthetic, IdenticalForOneAndTwoThreads) {
  const Shape shape = {10 * kSyntheticChunk + 123};  // several chunks and a partial one
  for (Distribution d : {Distribution::Normal, Distribution::Uniform, Distribution::Laplace}) {
    Tensor one, two;
    {
      ThreadScope scope(1);
      one = synthetic_tensor(d, shape, 99);
    }
    {
      ThreadScope scope(2);
      two = synthetic_tensor(d, shape, 99);
    }
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(std::memcmp(one.data(), two.data(), sizeof(float) * static_cast<std::size_t>(one.size())), 0)
        << distribution_name(d);
    EXPECT_NE(synthetic_tensor(d, shape, 100)[0], one[0]);
  }
}

TEST(Synthetic, MomentsAndScale) {
  constexpr int n = 100000;
  struct Case {
    Distribution d;
    double var, mu4;  // for scale 1: N(0,1), U(-1,1), Laplace(0,1)
  } cases[] = {
      {Distribution::Normal, 1.0, 3.0}, {Distribution::Uniform, 1.0 / 3, 1.0 / 5}, {Distribution::Laplace, 2.0, 24.0}};
  for (const Case& c : cases) {
    const Tensor t = synthetic_tensor(c.d, {n}, 5);
    int i = 0;
    expect_moments(moments(n, [&] { return static_cast<double>(t[i++]); }), 0.0, c.var, c.mu4, n,
                   distribution_name(c.d));
    const Tensor scaled = synthetic_tensor(c.d, {n}, 5, 4.0);  // same streams, scaled by 4
    for (int k = 0; k < 100; ++k) EXPECT_NEAR(scaled[k], 4.0f * t[k], 1e-5f * std::abs(scaled[k]) + 1e-6f);
  }
  const Tensor u = synthetic_tensor(Distribution::Uniform, {n}, 6, 0.5);
  for (float v : u.values()) ASSERT_LE(std::abs(v), 0.5f);
}

TEST(Synthetic, ParseAndBadScale) {
  EXPECT_EQ(parse_distribution("laplace"), Distribution::Laplace);
  EXPECT_THROW(parse_distribution("cauchy"), UsageError);
  EXPECT_THROW(synthetic_tensor(Distribution::Normal, {4}, 1, 0.0), UsageError);
  EXPECT_THROW(synthetic_tensor(Distribution::Normal, {4}, 1, NAN), UsageError);
}

}  // namespace
}  // namespace qreg
