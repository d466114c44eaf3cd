// Dense float tensor: a shape and contiguous row-major (C-order) storage, 64-byte aligned for Eigen.
// Layout conventions: activations are batch-first, [N, C, H, W] or [N, F].
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qreg {

using Shape = std::vector<std::int64_t>;
using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Number of elements of a shape (1 for a scalar shape {}).
std::int64_t numel(const Shape& shape);
/// "[2, 3, 4]"
std::string to_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float fill = 0.0f);
  Tensor(Shape shape, std::span<const float> values);

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const { return shape_.at(static_cast<std::size_t>(i)); }
  std::int64_t size() const { return static_cast<std::int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  std::span<float> values() { return {data_.data(), data_.size()}; }
  std::span<const float> values() const { return {data_.data(), data_.size()}; }
  float& operator[](std::int64_t i) { return data_[static_cast<std::size_t>(i)]; }
  float operator[](std::int64_t i) const { return data_[static_cast<std::size_t>(i)]; }

  /// Same data, new shape with the same element count.
  void reshape(Shape shape);
  /// Row-major matrix view [rows, size/rows]; rows must divide size.
  Eigen::Map<MatrixRM> matrix(std::int64_t rows);
  Eigen::Map<const MatrixRM> matrix(std::int64_t rows) const;

 private:
  Shape shape_;
  std::vector<float, Eigen::aligned_allocator<float>> data_;
};

}  // namespace qreg
