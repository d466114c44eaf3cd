#include "core/data_spec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/idx.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "core/teacher_student.hpp"

namespace qreg {
namespace {

constexpr const char* kAcceptedSpecs =
    "accepted forms: fashion-mnist, fashion-mnist:train, fashion-mnist:test, PATH.npy, "
    "synthetic:n=N,features=F|shape=CxHxW,classes=K,hidden=H,seed=S";

// Bounds that keep a typo from asking for terabytes; make_synthetic also bounds the totals.
constexpr std::int64_t kMaxSyntheticCount = 100'000'000;
constexpr std::int64_t kMaxSyntheticWidth = 1'000'000;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Uniform integer in [0, m) from 64 random bits, rejecting the top partial range so that every
// value is exactly equally likely (plain modulo would favour small values).
std::uint64_t uniform_below(RandomStream& rng, std::uint64_t m) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % m;
  for (;;) {
    const std::uint64_t r = (std::uint64_t{rng.next_u32()} << 32) | rng.next_u32();
    if (r < limit) return r % m;
  }
}

// The rows that limit/subset keep out of `total`, or nullopt for all of them.
std::optional<std::vector<std::int64_t>> rows_to_keep(std::int64_t total, const DataOptions& opts) {
  if (opts.limit < 0) throw UsageError("data: limit must be >= 0, got " + std::to_string(opts.limit));
  if (opts.subset < 0) throw UsageError("data: subset must be >= 0, got " + std::to_string(opts.subset));
  if (opts.limit > 0 && opts.subset > 0)
    throw UsageError("data: give either a limit (first N) or a random subset, not both");
  if (opts.subset > 0) return random_subset(total, opts.subset, opts.subset_seed);
  if (opts.limit > 0 && opts.limit < total) {
    std::vector<std::int64_t> rows(static_cast<std::size_t>(opts.limit));
    std::iota(rows.begin(), rows.end(), std::int64_t{0});
    return rows;
  }
  return std::nullopt;
}

std::vector<std::int64_t> all_rows(std::int64_t total, const std::optional<std::vector<std::int64_t>>& keep) {
  if (keep) return *keep;
  std::vector<std::int64_t> rows(static_cast<std::size_t>(total));
  std::iota(rows.begin(), rows.end(), std::int64_t{0});
  return rows;
}

// Images and labels of an IDX pair, converting only the kept rows to float.
Dataset idx_dataset(const std::string& images_path, const std::string& labels_path, int num_classes,
                    std::optional<double> scale, const DataOptions* selection) {
  const IdxBytes images = read_idx_ubyte(images_path, 3);
  const IdxBytes labels = read_idx_ubyte(labels_path, 1);
  const std::int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    throw Error(images_path + ": " + std::to_string(n) + " images, but " + labels_path + " has " +
                std::to_string(labels.dims[0]) + " labels");
  for (std::int64_t i = 0; i < n; ++i)
    if (labels.data[static_cast<std::size_t>(i)] >= num_classes)
      throw Error(labels_path + ": label " + std::to_string(labels.data[static_cast<std::size_t>(i)]) + " at index " +
                  std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
  const std::vector<std::int64_t> rows = all_rows(n, selection ? rows_to_keep(n, *selection) : std::nullopt);

  // A table of the 256 byte values: pixel/255 is computed as a float division so that the
  // default scaling is exactly the documented formula.
  std::array<float, 256> lut{};
  for (int p = 0; p < 256; ++p)
    lut[static_cast<std::size_t>(p)] = scale ? static_cast<float>(p * *scale) : static_cast<float>(p) / 255.0f;
  const std::int64_t h = images.dims[1], w = images.dims[2], pixels = h * w;
  Dataset ds;
  ds.inputs = Tensor({static_cast<std::int64_t>(rows.size()), 1, h, w});
  ds.labels.resize(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::uint8_t* src = images.data.data() + rows[r] * pixels;
    float* dst = ds.inputs.data() + static_cast<std::int64_t>(r) * pixels;
    for (std::int64_t j = 0; j < pixels; ++j) dst[j] = lut[src[j]];
    ds.labels[r] = labels.data[static_cast<std::size_t>(rows[r])];
  }
  ds.num_classes = num_classes;
  ds.name = images_path;
  return ds;
}

/// The two IDX files of a Fashion-MNIST split (images, labels); UsageError on an unknown split.
std::pair<std::string, std::string> fashion_mnist_files(const std::string& split, const DataOptions& opts) {
  if (split != "train" && split != "test")
    throw UsageError("data: unknown Fashion-MNIST split '" + split + "' (use train or test); " + kAcceptedSpecs);
  const std::filesystem::path dir = resolve_data_dir(opts);
  const std::string prefix = split == "train" ? "train" : "t10k";
  return {(dir / (prefix + "-images-idx3-ubyte.gz")).string(), (dir / (prefix + "-labels-idx1-ubyte.gz")).string()};
}

/// The form of a data spec and its argument: the Fashion-MNIST split ("fashion-mnist" is the
/// training split), the synthetic parameters after "synthetic:", or the .npy path. One parser for
/// load_dataset and check_data_spec; UsageError listing the accepted forms otherwise.
struct SpecForm {
  enum Kind { FashionMnist, Synthetic, Npy } kind;
  std::string arg;
};
SpecForm parse_spec(const std::string& spec) {
  if (spec == "fashion-mnist") return {SpecForm::FashionMnist, "train"};
  if (spec.rfind("fashion-mnist:", 0) == 0) return {SpecForm::FashionMnist, spec.substr(14)};
  if (spec == "synthetic" || spec.rfind("synthetic:", 0) == 0)
    return {SpecForm::Synthetic, spec.size() > 10 ? spec.substr(10) : ""};
  if (ends_with(spec, ".npy")) return {SpecForm::Npy, spec};
  throw UsageError("data: unknown data spec '" + spec + "'; " + kAcceptedSpecs);
}

void require_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": file not found");
}

Dataset fashion_mnist(const std::string& split, const DataOptions& opts) {
  const auto [images, labels] = fashion_mnist_files(split, opts);
  Dataset ds = idx_dataset(images, labels, 10, opts.scale, &opts);
  ds.name = "fashion-mnist:" + split;
  return ds;
}

Dataset npy_dataset(const std::string& path, const DataOptions& opts) {
  Dataset ds;
  ds.inputs = read_npy_float(path);
  const Shape shape = ds.inputs.shape();
  if (shape.size() < 2 || shape.size() > 4)
    throw Error(path + ": expected inputs [N, F], [N, H, W] or [N, C, H, W], got shape " + to_string(shape));
  if (shape.size() == 3) ds.inputs.reshape({shape[0], 1, shape[1], shape[2]});
  if (!opts.labels_path.empty()) {
    const std::vector<std::int64_t> labels = read_npy_int64(opts.labels_path);
    if (static_cast<std::int64_t>(labels.size()) != shape[0])
      throw Error(path + ": " + std::to_string(shape[0]) + " samples, but " + opts.labels_path + " has " +
                  std::to_string(labels.size()) + " labels");
    std::int64_t max_label = -1;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] < 0 || labels[i] > std::numeric_limits<std::int32_t>::max() - 1)
        throw Error(opts.labels_path + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                    " is not a class index");
      max_label = std::max(max_label, labels[i]);
      ds.labels.push_back(static_cast<std::int32_t>(labels[i]));
    }
    ds.num_classes = static_cast<int>(max_label + 1);
  }
  if (opts.scale)
    for (float& v : ds.inputs.values()) v = static_cast<float>(v * *opts.scale);
  ds.name = path;
  return ds;
}

// A decimal integer in [lo, hi]; anything else (sign, suffix, overflow) is a usage error.
std::int64_t parse_count(const std::string& key, const std::string& value, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < lo || v > hi)
    throw UsageError("data: synthetic key '" + key + "' needs an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + value + "'");
  return v;
}

Shape parse_shape(const std::string& value) {
  Shape shape;
  std::size_t start = 0;
  for (;;) {
    const std::size_t x = value.find('x', start);
    shape.push_back(parse_count("shape", value.substr(start, x - start), 1, kMaxSyntheticCount));
    if (x == std::string::npos) return shape;
    start = x + 1;
  }
}

// Applies one key=value of a synthetic spec; `seen` collects the keys given so far.
void apply_synthetic_key(SyntheticSpec& spec, const std::string& item, std::vector<std::string>& seen) {
  const std::size_t eq = item.find('=');
  if (eq == std::string::npos)
    throw UsageError("data: synthetic parameter '" + item + "' is not key=value; " + kAcceptedSpecs);
  const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
  if (std::find(seen.begin(), seen.end(), key) != seen.end())
    throw UsageError("data: synthetic key '" + key + "' given twice");
  seen.push_back(key);
  if (key == "n") {
    spec.n = parse_count(key, value, 1, kMaxSyntheticCount);
  } else if (key == "features") {
    spec.sample_shape = {parse_count(key, value, 1, kMaxSyntheticCount)};
  } else if (key == "shape") {
    spec.sample_shape = parse_shape(value);
  } else if (key == "classes") {
    spec.classes = static_cast<int>(parse_count(key, value, 2, kMaxSyntheticWidth));
  } else if (key == "hidden") {
    spec.hidden = static_cast<int>(parse_count(key, value, 1, kMaxSyntheticWidth));
  } else if (key == "seed") {
    spec.seed = static_cast<std::uint64_t>(parse_count(key, value, 0, std::numeric_limits<std::int64_t>::max()));
  } else {
    throw UsageError("data: unknown synthetic key '" + key + "' (keys: n, features, shape, classes, hidden, seed)");
  }
}

SyntheticSpec parse_synthetic(const std::string& params) {
  SyntheticSpec spec;
  std::vector<std::string> seen;
  for (std::size_t start = 0; start < params.size();) {
    const std::size_t comma = std::min(params.find(',', start), params.size());
    apply_synthetic_key(spec, params.substr(start, comma - start), seen);
    start = comma + 1;
  }
  if (std::count(seen.begin(), seen.end(), "features") && std::count(seen.begin(), seen.end(), "shape"))
    throw UsageError("data: synthetic takes features or shape, not both");
  return spec;
}

}  // namespace

std::string resolve_data_dir(const DataOptions& opts) {
  if (!opts.data_dir.empty()) return opts.data_dir;
  const char* env = std::getenv("QREG_DATA_DIR");
  if (env && *env) return env;
  return kDefaultDataDir;
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path, int num_classes,
                         std::optional<double> scale) {
  return idx_dataset(images_path, labels_path, num_classes, scale, nullptr);
}

std::vector<std::int64_t> random_subset(std::int64_t total, std::int64_t count, std::uint64_t seed) {
  if (count < 0 || count > total)
    throw UsageError("data: cannot draw a subset of " + std::to_string(count) + " from " + std::to_string(total) +
                     " samples");
  std::vector<std::int64_t> perm(static_cast<std::size_t>(total));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  RandomStream rng(seed, 0);
  for (std::int64_t i = 0; i < count; ++i) {
    const auto j = i + static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(total - i)));
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  }
  perm.resize(static_cast<std::size_t>(count));
  std::sort(perm.begin(), perm.end());
  return perm;
}

Dataset select_rows(const Dataset& ds, const std::vector<std::int64_t>& rows) {
  const std::int64_t n = ds.size(), per = n ? ds.inputs.size() / n : 0;
  Shape shape = ds.inputs.shape();
  QREG_ASSERT(!shape.empty(), "select_rows needs inputs of rank >= 1");
  shape[0] = static_cast<std::int64_t>(rows.size());
  Dataset out;
  out.inputs = Tensor(shape);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r] < 0 || rows[r] >= n)
      throw Error("select_rows: row " + std::to_string(rows[r]) + " outside [0, " + std::to_string(n) + ")");
    std::copy_n(ds.inputs.data() + rows[r] * per, per, out.inputs.data() + static_cast<std::int64_t>(r) * per);
    if (!ds.labels.empty()) out.labels.push_back(ds.labels[static_cast<std::size_t>(rows[r])]);
  }
  out.num_classes = ds.num_classes;
  out.name = ds.name;
  return out;
}

Dataset load_dataset(const std::string& spec, const DataOptions& opts) {
  const SpecForm form = parse_spec(spec);
  Dataset ds;
  switch (form.kind) {
    case SpecForm::FashionMnist:
      ds = fashion_mnist(form.arg, opts);  // applies limit/subset while converting
      break;
    case SpecForm::Synthetic:
      ds = make_synthetic(parse_synthetic(form.arg));
      if (opts.scale)
        for (float& v : ds.inputs.values()) v = static_cast<float>(v * *opts.scale);
      break;
    case SpecForm::Npy:
      ds = npy_dataset(form.arg, opts);
      break;
  }
  if (form.kind != SpecForm::FashionMnist)
    if (auto keep = rows_to_keep(ds.size(), opts)) ds = select_rows(ds, *keep);
  if (opts.flatten && ds.inputs.rank() > 2) {
    const Shape& shape = ds.inputs.shape();
    ds.inputs.reshape({shape[0], numel(Shape(shape.begin() + 1, shape.end()))});
  }
  return ds;
}

void check_data_spec(const std::string& spec, const DataOptions& opts) {
  const SpecForm form = parse_spec(spec);
  switch (form.kind) {
    case SpecForm::FashionMnist: {
      const auto [images, labels] = fashion_mnist_files(form.arg, opts);
      require_file(images);
      require_file(labels);
      break;
    }
    case SpecForm::Synthetic:
      (void)parse_synthetic(form.arg);
      break;
    case SpecForm::Npy:
      require_file(form.arg);
      if (!opts.labels_path.empty()) require_file(opts.labels_path);
      break;
  }
}

}  // namespace qreg
