// Data specs: one string names a labelled dataset (see docs/datasets.md for the grammar).
//   fashion-mnist | fashion-mnist:train | fashion-mnist:test    IDX gz files under a data dir
//   PATH.npy                                                    float32 inputs (+ labels .npy)
//   synthetic:n=1000,features=784,classes=10,hidden=64,seed=3   teacher-student data
//   synthetic:n=256,shape=1x28x28                               the same with image-shaped inputs
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dataset.hpp"

namespace qreg {

inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

struct DataOptions {
  std::string data_dir;           // Fashion-MNIST folder; empty: $QREG_DATA_DIR, else kDefaultDataDir
  std::string labels_path;        // labels for a .npy spec: 1-D int64 (or int32) .npy; empty: none
  std::int64_t limit = 0;         // keep at most the first `limit` samples; 0: all
  std::int64_t subset = 0;        // keep `subset` samples drawn without replacement; 0: all
  std::uint64_t subset_seed = 0;  // seed of that draw (RandomStream(subset_seed, 0))
  std::optional<double> scale;    // input multiplier; unset: 1/255 for IDX bytes, 1 for float data
  bool flatten = false;           // [N, C, H, W] -> [N, C*H*W]
};

/// Loads the dataset named by `spec`, then applies limit or subset, scale and flatten.
/// Fashion-MNIST comes out as [N, 1, 28, 28] with 10 classes. Throws UsageError on an unknown
/// spec (listing the accepted forms) or bad options, Error naming the file on bad data.
Dataset load_dataset(const std::string& spec, const DataOptions& opts = {});

/// Checks `spec` as load_dataset would, without reading any data: the form and a synthetic spec's
/// keys (UsageError, the same messages), and that the files a Fashion-MNIST or .npy spec names
/// exist (Error naming the missing file). Their contents are checked only when loaded. For
/// commands that load data late (reproduce trains for minutes before its calibration data is
/// read): a mistyped spec then fails before any work.
void check_data_spec(const std::string& spec, const DataOptions& opts = {});

/// The Fashion-MNIST folder: opts.data_dir, else $QREG_DATA_DIR, else kDefaultDataDir.
std::string resolve_data_dir(const DataOptions& opts);

/// A pair of unsigned-byte IDX files: images [N, rows, cols] -> inputs [N, 1, rows, cols] scaled
/// by `scale` (pixel/255 when unset), labels [N] checked to lie in [0, num_classes).
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path, int num_classes,
                         std::optional<double> scale = std::nullopt);

/// `count` distinct indices of [0, total) drawn uniformly from RandomStream(seed, 0) by a partial
/// Fisher-Yates shuffle, returned in increasing order. UsageError when count > total.
std::vector<std::int64_t> random_subset(std::int64_t total, std::int64_t count, std::uint64_t seed);

/// The samples `rows` (indices into ds) of `ds`, in that order, with the same name and classes.
Dataset select_rows(const Dataset& ds, const std::vector<std::int64_t>& rows);

}  // namespace qreg
