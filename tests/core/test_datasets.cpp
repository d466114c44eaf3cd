// Tests of data specs (core/data_spec.hpp): Fashion-MNIST-named IDX files made here in a temporary
// folder (shapes, labels, pixel/255 scaling, flatten, limit and seeded subsets, mismatched or bad
// labels naming the files, unknown specs), .npy specs with labels, the data-dir precedence, and
// the real Fashion-MNIST files when installed (10000 test images of 28x28, 1000 per class and
// 60000 train images, 6000 per class: counts documented with the dataset). Pixel values are
// compared exactly with p/255.0f, the documented formula; the subset uniformity check allows
// 5 binomial standard errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "core/data_spec.hpp"
#include "core/error.hpp"
#include "core/idx.hpp"
#include "core/npy.hpp"
#include "tests/core/dataset_test_files.hpp"

namespace qreg {
namespace {

using test::idx_bytes;
using test::TempDir;

// A fake Fashion-MNIST split of n images of 2x3 pixels: image i is filled with pixel value 10*i,
// its label is i % 10.
void write_fake_split(const TempDir& dir, const std::string& prefix, std::uint32_t n, std::uint32_t n_labels) {
  std::vector<std::uint8_t> pixels, labels;
  for (std::uint32_t i = 0; i < n; ++i) pixels.insert(pixels.end(), 6, static_cast<std::uint8_t>(10 * i));
  for (std::uint32_t i = 0; i < n_labels; ++i) labels.push_back(static_cast<std::uint8_t>(i % 10));
  test::write_gz(dir.file(prefix + "-images-idx3-ubyte.gz"), idx_bytes({n, 2, 3}, pixels));
  test::write_gz(dir.file(prefix + "-labels-idx1-ubyte.gz"), idx_bytes({n_labels}, labels));
}

DataOptions in_dir(const TempDir& dir) {
  DataOptions opts;
  opts.data_dir = dir.str();
  return opts;
}

// The row indices of a fake-split dataset, recovered from the pixel value 10*i/255.
std::vector<std::int64_t> rows_of(const Dataset& ds) {
  std::vector<std::int64_t> rows;
  const std::int64_t per = ds.inputs.size() / ds.size();
  for (std::int64_t r = 0; r < ds.size(); ++r) rows.push_back(std::lround(ds.inputs[r * per] * 255.0f / 10.0f));
  return rows;
}

TEST(DataSpec, FashionMnistSplitsFromDataDir) {
  TempDir dir;
  write_fake_split(dir, "train", 12, 12);
  write_fake_split(dir, "t10k", 5, 5);
  const Dataset train = load_dataset("fashion-mnist", in_dir(dir));
  EXPECT_EQ(train.name, "fashion-mnist:train");
  EXPECT_EQ(train.inputs.shape(), (Shape{12, 1, 2, 3}));
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(train.labels[11], 1);
  EXPECT_EQ(train.inputs[11 * 6 + 5], 110.0f / 255.0f);
  const Dataset test = load_dataset("fashion-mnist:test", in_dir(dir));
  EXPECT_EQ(test.name, "fashion-mnist:test");
  EXPECT_EQ(test.inputs.shape(), (Shape{5, 1, 2, 3}));
  EXPECT_EQ(load_dataset("fashion-mnist:train", in_dir(dir)).size(), 12);
}

TEST(DataSpec, PixelScaleIsPixelOver255) {
  TempDir dir;
  std::vector<std::uint8_t> pixels(256);
  for (int p = 0; p < 256; ++p) pixels[static_cast<std::size_t>(p)] = static_cast<std::uint8_t>(p);
  test::write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes({1, 16, 16}, pixels));
  test::write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({1}, {3}));
  const Dataset ds = load_dataset("fashion-mnist:test", in_dir(dir));
  for (int p = 0; p < 256; ++p) EXPECT_EQ(ds.inputs[p], static_cast<float>(p) / 255.0f) << p;
  EXPECT_EQ(ds.inputs[0], 0.0f);
  EXPECT_EQ(ds.inputs[255], 1.0f);
  DataOptions raw = in_dir(dir);
  raw.scale = 1.0;
  const Dataset unscaled = load_dataset("fashion-mnist:test", raw);
  for (int p = 0; p < 256; ++p) EXPECT_EQ(unscaled.inputs[p], static_cast<float>(p));
}

TEST(DataSpec, FlattenGivesSamplesByFeatures) {
  TempDir dir;
  write_fake_split(dir, "train", 4, 4);
  DataOptions opts = in_dir(dir);
  opts.flatten = true;
  EXPECT_EQ(load_dataset("fashion-mnist", opts).inputs.shape(), (Shape{4, 6}));
  EXPECT_EQ(load_dataset("synthetic:n=3,shape=2x2x2", opts).inputs.shape(), (Shape{3, 8}));
}

TEST(DataSpec, LimitKeepsTheFirstSamples) {
  TempDir dir;
  write_fake_split(dir, "train", 10, 10);
  DataOptions opts = in_dir(dir);
  opts.limit = 3;
  const Dataset ds = load_dataset("fashion-mnist", opts);
  EXPECT_EQ(rows_of(ds), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(ds.labels, (std::vector<std::int32_t>{0, 1, 2}));
  opts.limit = 100;  // more than there are: all of them
  EXPECT_EQ(load_dataset("fashion-mnist", opts).size(), 10);
}

TEST(DataSpec, SeededSubsetIsReproducibleAndDiffersBySeed) {
  TempDir dir;
  write_fake_split(dir, "train", 20, 20);
  DataOptions opts = in_dir(dir);
  opts.subset = 6;
  opts.subset_seed = 1;
  const std::vector<std::int64_t> a = rows_of(load_dataset("fashion-mnist", opts));
  EXPECT_EQ(rows_of(load_dataset("fashion-mnist", opts)), a);
  EXPECT_EQ(a, random_subset(20, 6, 1));
  ASSERT_EQ(a.size(), 6u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<std::int64_t>(a.begin(), a.end()).size(), 6u);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 20);
  const Dataset labelled = load_dataset("fashion-mnist", opts);
  for (std::size_t r = 0; r < a.size(); ++r) EXPECT_EQ(labelled.labels[r], a[r] % 10);
  opts.subset_seed = 2;
  EXPECT_NE(rows_of(load_dataset("fashion-mnist", opts)), a);
}

TEST(DataSpec, RandomSubsetIsUniform) {
  // Each of 10 indices is drawn with probability 3/10 per seed; over 3000 seeds its count is
  // Binomial(3000, 0.3): mean 900, standard error sqrt(3000*0.3*0.7) = 25.1; allow 5 SE.
  std::vector<int> hits(10);
  for (std::uint64_t seed = 0; seed < 3000; ++seed)
    for (auto i : random_subset(10, 3, seed)) ++hits[static_cast<std::size_t>(i)];
  for (int h : hits) EXPECT_NEAR(h, 900, 5 * 25.1);
  EXPECT_EQ(random_subset(7, 7, 3), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(DataSpec, BadSelectionIsUsageError) {
  TempDir dir;
  write_fake_split(dir, "train", 5, 5);
  DataOptions too_many = in_dir(dir), both = in_dir(dir), negative = in_dir(dir);
  too_many.subset = 6;
  both.subset = 2;
  both.limit = 2;
  negative.limit = -1;
  QREG_EXPECT_THROW_MENTIONS(load_dataset("fashion-mnist", too_many), UsageError, {"subset of 6 from 5"});
  QREG_EXPECT_THROW_MENTIONS(load_dataset("fashion-mnist", both), UsageError, {"not both"});
  QREG_EXPECT_THROW_MENTIONS(load_dataset("fashion-mnist", negative), UsageError, {"limit"});
}

TEST(DataSpec, MismatchedLabelCountNamesBothFiles) {
  TempDir dir;
  write_fake_split(dir, "train", 6, 5);
  QREG_EXPECT_THROW_MENTIONS(
      load_dataset("fashion-mnist", in_dir(dir)), Error,
      {dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), "6", "5"});
  write_fake_split(dir, "t10k", 4, 7);
  QREG_EXPECT_THROW_MENTIONS(load_dataset("fashion-mnist:test", in_dir(dir)), Error,
                             {dir.file("t10k-images-idx3-ubyte.gz"), dir.file("t10k-labels-idx1-ubyte.gz"), "4", "7"});
}

TEST(DataSpec, LabelOutOfRangeNamesLabelFile) {
  TempDir dir;
  write_fake_split(dir, "train", 3, 3);
  test::write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes({3}, {0, 10, 2}));
  QREG_EXPECT_THROW_MENTIONS(load_dataset("fashion-mnist", in_dir(dir)), Error,
                             {dir.file("train-labels-idx1-ubyte.gz"), "label 10 at index 1"});
}

TEST(DataSpec, MissingFilesAreNamed) {
  TempDir dir;
  QREG_EXPECT_THROW_MENTIONS(load_dataset("fashion-mnist:test", in_dir(dir)), Error,
                             {dir.file("t10k-images-idx3-ubyte.gz"), "not found"});
  QREG_EXPECT_THROW_MENTIONS(load_dataset(dir.file("x.npy")), Error, {dir.file("x.npy"), "not found"});
}

TEST(DataSpec, UnknownSpecIsUsageErrorListingForms) {
  for (const std::string spec : {"mnist", "", "fashion-mnist:val", "data.csv"})
    QREG_EXPECT_THROW_MENTIONS(load_dataset(spec), UsageError,
                               {"fashion-mnist:train", "fashion-mnist:test", ".npy", "synthetic:n="});
}

TEST(DataSpec, DataDirPrecedence) {
  const char* old = std::getenv("QREG_DATA_DIR");
  const std::string saved = old ? old : "";
  ::unsetenv("QREG_DATA_DIR");
  EXPECT_EQ(resolve_data_dir({}), kDefaultDataDir);
  ::setenv("QREG_DATA_DIR", "/from/env", 1);
  EXPECT_EQ(resolve_data_dir({}), "/from/env");
  DataOptions opts;
  opts.data_dir = "/explicit";
  EXPECT_EQ(resolve_data_dir(opts), "/explicit");
  if (old)
    ::setenv("QREG_DATA_DIR", saved.c_str(), 1);
  else
    ::unsetenv("QREG_DATA_DIR");
}

TEST(DataSpec, NpyInputsWithLabels) {
  TempDir dir;
  const std::string x = dir.file("x.npy"), y = dir.file("y.npy");
  std::vector<float> values(4 * 2 * 3);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5f * static_cast<float>(i);
  write_npy(x, Tensor({4, 2, 3}, values));
  test::write_plain(y, test::npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }",
                                       test::raw_bytes(std::vector<std::int64_t>{2, 0, 4, 1})));
  DataOptions opts;
  opts.labels_path = y;
  const Dataset ds = load_dataset(x, opts);
  EXPECT_EQ(ds.name, x);
  EXPECT_EQ(ds.inputs.shape(), (Shape{4, 1, 2, 3}));  // [N, H, W] gains a channel axis
  EXPECT_EQ(ds.inputs[23], 11.5f);                    // float data is taken as given
  EXPECT_EQ(ds.labels, (std::vector<std::int32_t>{2, 0, 4, 1}));
  EXPECT_EQ(ds.num_classes, 5);
  opts.scale = 2.0;
  opts.limit = 2;
  const Dataset scaled = load_dataset(x, opts);
  EXPECT_EQ(scaled.size(), 2);
  EXPECT_EQ(scaled.inputs[11], 11.0f);
  EXPECT_EQ(scaled.labels, (std::vector<std::int32_t>{2, 0}));
  EXPECT_TRUE(load_dataset(x).labels.empty());
}

TEST(DataSpec, NpyBadShapeOrLabelsNameTheFiles) {
  TempDir dir;
  const std::string x = dir.file("x.npy"), y = dir.file("y.npy"), vec = dir.file("vec.npy");
  write_npy(x, Tensor({3, 2}, 1.0f));
  write_npy(vec, Tensor({3}, 1.0f));
  test::write_plain(y, test::npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                       test::raw_bytes(std::vector<std::int64_t>{0, 1})));
  DataOptions opts;
  opts.labels_path = y;
  QREG_EXPECT_THROW_MENTIONS(load_dataset(x, opts), Error, {x, y, "3 samples", "has 2 labels"});
  QREG_EXPECT_THROW_MENTIONS(load_dataset(vec), Error, {vec, "[3]"});
  test::write_plain(y, test::npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                       test::raw_bytes(std::vector<std::int64_t>{0, -1, 1})));
  QREG_EXPECT_THROW_MENTIONS(load_dataset(x, opts), Error, {y, "label -1 at index 1"});
}

// check_data_spec agrees with load_dataset on the form of a spec (the same UsageError, or none)
// without reading data, and names a missing Fashion-MNIST or .npy file as load_dataset does.
TEST(DataSpec, CheckAgreesWithLoadOnFormAndNamesMissingFiles) {
  TempDir dir;
  write_fake_split(dir, "train", 3, 3);
  write_npy(dir.file("x.npy"), Tensor({3, 2}, 1.0f));
  const DataOptions opts = in_dir(dir);
  for (const std::string& spec : std::vector<std::string>{
           "mnist", "", "data.csv", "fashion-mnist:val", "synthetic:n=0", "synthetic:colour=3", "synthetic:n=8,n=9",
           "synthetic:features=4,shape=2x2", "synthetic:n=16,features=4,classes=3,seed=1", "fashion-mnist",
           "fashion-mnist:train", dir.file("x.npy")}) {
    bool load_usage = false, check_usage = false;
    try {
      (void)load_dataset(spec, opts);
    } catch (const UsageError&) {
      load_usage = true;
    }
    try {
      check_data_spec(spec, opts);
    } catch (const UsageError&) {
      check_usage = true;
    }
    EXPECT_EQ(check_usage, load_usage) << spec;
  }
  QREG_EXPECT_THROW_MENTIONS(check_data_spec("mnist"), UsageError, {"fashion-mnist:train", ".npy", "synthetic:n="});
  QREG_EXPECT_THROW_MENTIONS(check_data_spec("fashion-mnist:test", opts), Error,
                             {dir.file("t10k-images-idx3-ubyte.gz"), "not found"});
  std::filesystem::remove(dir.file("train-labels-idx1-ubyte.gz"));
  QREG_EXPECT_THROW_MENTIONS(check_data_spec("fashion-mnist", opts), Error,
                             {dir.file("train-labels-idx1-ubyte.gz"), "not found"});
  QREG_EXPECT_THROW_MENTIONS(check_data_spec(dir.file("y.npy")), Error, {dir.file("y.npy"), "not found"});
  DataOptions labelled;
  labelled.labels_path = dir.file("labels.npy");
  QREG_EXPECT_THROW_MENTIONS(check_data_spec(dir.file("x.npy"), labelled), Error,
                             {dir.file("labels.npy"), "not found"});
}

// The real data, when the dataset-fashion-mnist package is installed.
TEST(FashionMnist, TestSplitHas1000ImagesPerClass) {
  if (!std::filesystem::is_directory(kDefaultDataDir)) GTEST_SKIP() << kDefaultDataDir << " is missing";
  DataOptions opts;
  opts.data_dir = kDefaultDataDir;
  const Dataset ds = load_dataset("fashion-mnist:test", opts);
  EXPECT_EQ(ds.inputs.shape(), (Shape{10000, 1, 28, 28}));
  ASSERT_EQ(ds.labels.size(), 10000u);
  std::vector<int> counts(10);
  for (auto y : ds.labels) {
    ASSERT_GE(y, 0);
    ASSERT_LT(y, 10);
    ++counts[static_cast<std::size_t>(y)];
  }
  EXPECT_EQ(counts, std::vector<int>(10, 1000));
  const auto [lo, hi] = std::minmax_element(ds.inputs.values().begin(), ds.inputs.values().end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
}

TEST(FashionMnist, TrainSplitHas6000ImagesPerClass) {
  if (!std::filesystem::is_directory(kDefaultDataDir)) GTEST_SKIP() << kDefaultDataDir << " is missing";
  DataOptions opts;
  opts.data_dir = kDefaultDataDir;
  opts.limit = 100;  // all 60000 labels are checked by the loader; only 100 images are converted
  const Dataset head = load_dataset("fashion-mnist:train", opts);
  EXPECT_EQ(head.inputs.shape(), (Shape{100, 1, 28, 28}));
  const IdxBytes labels = read_idx_ubyte(std::string(kDefaultDataDir) + "/train-labels-idx1-ubyte.gz", 1);
  ASSERT_EQ(labels.dims, (Shape{60000}));
  std::vector<int> counts(10);
  for (auto y : labels.data) {
    ASSERT_LT(y, 10);
    ++counts[y];
  }
  EXPECT_EQ(counts, std::vector<int>(10, 6000));
}

}  // namespace
}  // namespace qreg
