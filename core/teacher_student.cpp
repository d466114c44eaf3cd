#include "core/teacher_student.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qreg {
namespace {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Weights ~ N(0, 1/fan_in) (LeCun scaling) keep the pre-activations O(1) whatever the width, and
// biases ~ N(0, 0.1²) break the symmetry of relu(Wx) so no class is unreachable. Drawn row by
// row in a fixed order from one stream per layer.
void draw_layer(std::uint64_t seed, std::uint64_t stream, MatrixD& w, Eigen::VectorXd& b) {
  RandomStream rng(seed, stream);
  const double scale = 1.0 / std::sqrt(static_cast<double>(w.cols()));
  for (Eigen::Index i = 0; i < w.rows(); ++i)
    for (Eigen::Index j = 0; j < w.cols(); ++j) w(i, j) = scale * rng.normal();
  for (Eigen::Index i = 0; i < b.size(); ++i) b(i) = 0.1 * rng.normal();
}

}  // namespace

Dataset make_synthetic(const SyntheticSpec& spec) {
  if (spec.n < 1) throw UsageError("synthetic: n must be at least 1, got " + std::to_string(spec.n));
  if (spec.classes < 2) throw UsageError("synthetic: classes must be at least 2, got " + std::to_string(spec.classes));
  if (spec.hidden < 1) throw UsageError("synthetic: hidden must be at least 1, got " + std::to_string(spec.hidden));
  if (spec.sample_shape.empty()) throw UsageError("synthetic: empty sample shape");
  std::int64_t features = 1;
  for (auto d : spec.sample_shape) {
    if (d < 1) throw UsageError("synthetic: sample shape " + to_string(spec.sample_shape) + " has a dimension < 1");
    features = std::min(features * std::min<std::int64_t>(d, std::int64_t{1} << 31), std::int64_t{1} << 31);
  }
  // 2^31 input floats (8 GiB) or 2^28 teacher weights (2 GiB in double) is far beyond any use
  // here; refusing early gives a message instead of std::bad_alloc.
  if (spec.n > (std::int64_t{1} << 31) / features || features > (std::int64_t{1} << 28) / spec.hidden ||
      spec.classes > (std::int64_t{1} << 28) / spec.hidden)
    throw UsageError("synthetic: n=" + std::to_string(spec.n) + " samples of " + std::to_string(features) +
                     " features with hidden=" + std::to_string(spec.hidden) + " is too large");

  Shape shape = {spec.n};
  shape.insert(shape.end(), spec.sample_shape.begin(), spec.sample_shape.end());
  Dataset ds;
  ds.inputs = Tensor(shape);
  for (std::int64_t i = 0; i < spec.n; ++i) {
    RandomStream rng(spec.seed, kSampleStreamBase + static_cast<std::uint64_t>(i));
    float* row = ds.inputs.data() + i * features;
    for (std::int64_t j = 0; j < features; ++j) row[j] = static_cast<float>(rng.normal());
  }

  MatrixD w1(spec.hidden, features), w2(spec.classes, spec.hidden);
  Eigen::VectorXd b1(spec.hidden), b2(spec.classes);
  draw_layer(spec.seed, kTeacherLayer1Stream, w1, b1);
  draw_layer(spec.seed, kTeacherLayer2Stream, w2, b2);

  // The teacher runs in double so that its argmax is stable against float rounding differences
  // between builds; the products split over samples only, so the result is thread-independent.
  const MatrixD x = ds.inputs.matrix(spec.n).cast<double>();
  const MatrixD h = ((x * w1.transpose()).rowwise() + b1.transpose()).cwiseMax(0.0);
  const MatrixD logits = (h * w2.transpose()).rowwise() + b2.transpose();
  ds.labels.resize(static_cast<std::size_t>(spec.n));
  for (std::int64_t i = 0; i < spec.n; ++i) {
    Eigen::Index best = 0;
    logits.row(i).maxCoeff(&best);  // the first maximum on ties
    ds.labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
  }
  ds.num_classes = spec.classes;
  std::string dims;
  for (auto d : spec.sample_shape) {
    if (!dims.empty()) dims += 'x';
    dims += std::to_string(d);
  }
  ds.name = "synthetic:n=" + std::to_string(spec.n) + ",shape=" + dims + ",classes=" + std::to_string(spec.classes) +
            ",hidden=" + std::to_string(spec.hidden) + ",seed=" + std::to_string(spec.seed);
  return ds;
}

}  // namespace qreg
