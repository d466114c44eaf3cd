// Tests of the synthetic teacher-student generator (core/teacher_student.hpp) and its data spec:
// bitwise reproducibility from the seed, seed dependence, the first k samples not depending on n,
// labels equal to the argmax of the documented teacher rebuilt here independently from the
// documented random streams, the key=value grammar and its errors. The N(0, 1) input check
// allows 5 standard errors: SE(mean) = 1/sqrt(m), SE(variance) = sqrt(2/m) for m draws.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/data_spec.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/teacher_student.hpp"
#include "graph_test_util.hpp"
#include "tests/core/dataset_test_files.hpp"

namespace qreg {
namespace {

using test::bitwise_equal;

SyntheticSpec small_spec(std::uint64_t seed) {
  SyntheticSpec s;
  s.n = 200;
  s.sample_shape = {12};
  s.classes = 4;
  s.hidden = 8;
  s.seed = seed;
  return s;
}

TEST(Synthetic, IsBitwiseReproducibleFromTheSeed) {
  const Dataset a = make_synthetic(small_spec(3)), b = make_synthetic(small_spec(3));
  EXPECT_TRUE(bitwise_equal(a.inputs, b.inputs));
  EXPECT_EQ(a.labels, b.labels);
  const Dataset c = make_synthetic(small_spec(4));
  EXPECT_FALSE(bitwise_equal(a.inputs, c.inputs));
  EXPECT_NE(a.labels, c.labels);
}

TEST(Synthetic, FirstSamplesDoNotDependOnN) {
  SyntheticSpec big = small_spec(5);
  big.n = 500;
  const Dataset a = make_synthetic(small_spec(5)), b = make_synthetic(big);
  EXPECT_EQ(std::memcmp(a.inputs.data(), b.inputs.data(), static_cast<std::size_t>(a.inputs.size()) * 4), 0);
  EXPECT_TRUE(std::equal(a.labels.begin(), a.labels.end(), b.labels.begin()));
}

TEST(Synthetic, LabelsAreTheArgmaxOfTheDocumentedTeacher) {
  // Rebuild logits = W2 relu(W1 x + b1) + b2 with plain loops from the documented streams:
  // each layer draws its weights row by row (scaled by 1/sqrt(fan_in)), then biases (times 0.1).
  const SyntheticSpec spec = small_spec(11);
  const Dataset ds = make_synthetic(spec);
  const int f = 12, h = spec.hidden, k = spec.classes;
  auto draw = [&](std::uint64_t stream, int rows, int cols) {
    RandomStream rng(spec.seed, stream);
    std::vector<double> w(static_cast<std::size_t>(rows * cols)), b(static_cast<std::size_t>(rows));
    for (auto& v : w) v = rng.normal() / std::sqrt(static_cast<double>(cols));
    for (auto& v : b) v = 0.1 * rng.normal();
    return std::pair{w, b};
  };
  const auto [w1, b1] = draw(kTeacherLayer1Stream, h, f);
  const auto [w2, b2] = draw(kTeacherLayer2Stream, k, h);
  std::vector<int> seen(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < spec.n; ++i) {
    RandomStream xs(spec.seed, kSampleStreamBase + static_cast<std::uint64_t>(i));
    std::vector<double> x(static_cast<std::size_t>(f)), hid(static_cast<std::size_t>(h));
    for (int j = 0; j < f; ++j) {
      x[static_cast<std::size_t>(j)] = static_cast<float>(xs.normal());
      ASSERT_EQ(ds.inputs[i * f + j], static_cast<float>(x[static_cast<std::size_t>(j)]));
    }
    for (int u = 0; u < h; ++u) {
      double z = b1[static_cast<std::size_t>(u)];
      for (int j = 0; j < f; ++j) z += w1[static_cast<std::size_t>(u * f + j)] * x[static_cast<std::size_t>(j)];
      hid[static_cast<std::size_t>(u)] = std::max(z, 0.0);
    }
    int best = 0;
    double best_logit = -1e300;
    for (int c = 0; c < k; ++c) {
      double z = b2[static_cast<std::size_t>(c)];
      for (int u = 0; u < h; ++u) z += w2[static_cast<std::size_t>(c * h + u)] * hid[static_cast<std::size_t>(u)];
      if (z > best_logit) best_logit = z, best = c;
    }
    EXPECT_EQ(ds.labels[static_cast<std::size_t>(i)], best) << "sample " << i;
    ++seen[static_cast<std::size_t>(best)];
  }
  for (int c = 0; c < k; ++c) EXPECT_GT(seen[static_cast<std::size_t>(c)], 0) << "class " << c << " never chosen";
}

TEST(Synthetic, InputsAreStandardNormal) {
  const Dataset ds = load_dataset("synthetic:n=1000,features=784,classes=10,seed=3");
  const double m = static_cast<double>(ds.inputs.size());
  double sum = 0, sq = 0;
  for (float v : ds.inputs.values()) sum += v, sq += double{v} * v;
  const double mean = sum / m, var = sq / m - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(m));
  EXPECT_NEAR(var, 1.0, 5.0 * std::sqrt(2.0 / m));
}

TEST(Synthetic, SpecGrammar) {
  const Dataset a = load_dataset("synthetic:n=1000,features=784,classes=10,seed=3");
  EXPECT_EQ(a.inputs.shape(), (Shape{1000, 784}));
  EXPECT_EQ(a.num_classes, 10);
  EXPECT_EQ(a.name, "synthetic:n=1000,shape=784,classes=10,hidden=64,seed=3");
  SyntheticSpec same;
  same.seed = 3;
  EXPECT_EQ(make_synthetic(same).labels, a.labels);
  const Dataset img = load_dataset("synthetic:n=16,shape=1x28x28");
  EXPECT_EQ(img.inputs.shape(), (Shape{16, 1, 28, 28}));
  EXPECT_EQ(img.name, "synthetic:n=16,shape=1x28x28,classes=10,hidden=64,seed=0");
  EXPECT_EQ(load_dataset("synthetic").inputs.shape(), (Shape{1000, 784}));
  for (int y : load_dataset("synthetic:n=300,features=5,classes=3,hidden=2,seed=9").labels) {
    EXPECT_GE(y, 0);
    EXPECT_LT(y, 3);
  }
}

TEST(Synthetic, BadParametersAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"synthetic:n=0", "'n'"},
      {"synthetic:n=abc", "'abc'"},
      {"synthetic:n=5x", "'5x'"},
      {"synthetic:foo=1", "unknown synthetic key 'foo'"},
      {"synthetic:n", "not key=value"},
      {"synthetic:classes=1", "'classes'"},
      {"synthetic:shape=1x0x3", "'shape'"},
      {"synthetic:shape=1xx3", "'shape'"},
      {"synthetic:features=10,shape=1x2x5", "not both"},
      {"synthetic:seed=-1", "'seed'"},
      {"synthetic:n=1,n=2", "twice"},
      {"synthetic:hidden=99999999999", "'hidden'"},
      {"synthetic:n=100000000,shape=100000x100000x100000", "too large"}};
  for (const auto& [spec, part] : cases) QREG_EXPECT_THROW_MENTIONS(load_dataset(spec), UsageError, {part});
  SyntheticSpec bad;
  bad.hidden = 0;
  QREG_EXPECT_THROW_MENTIONS(make_synthetic(bad), UsageError, {"hidden"});
}

}  // namespace
}  // namespace qreg
