#include "core/tensor.hpp"

#include "core/error.hpp"

namespace qreg {

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw Error("tensor: negative dimension in shape " + to_string(shape));
    n *= d;
  }
  return n;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Tensor::Tensor(Shape shape, float fill) : shape_(std::move(shape)) {
  data_.assign(static_cast<std::size_t>(numel(shape_)), fill);
}

Tensor::Tensor(Shape shape, std::span<const float> values) : shape_(std::move(shape)) {
  if (numel(shape_) != static_cast<std::int64_t>(values.size()))
    throw Error("tensor: shape " + to_string(shape_) + " needs " + std::to_string(numel(shape_)) + " values, got " +
                std::to_string(values.size()));
  data_.assign(values.begin(), values.end());
}

void Tensor::reshape(Shape shape) {
  if (numel(shape) != size()) throw Error("tensor: cannot reshape " + to_string(shape_) + " to " + to_string(shape));
  shape_ = std::move(shape);
}

Eigen::Map<MatrixRM> Tensor::matrix(std::int64_t rows) {
  QREG_ASSERT(rows > 0 && size() % rows == 0, "matrix view rows must divide the size");
  return {data(), rows, size() / rows};
}

Eigen::Map<const MatrixRM> Tensor::matrix(std::int64_t rows) const {
  QREG_ASSERT(rows > 0 && size() % rows == 0, "matrix view rows must divide the size");
  return {data(), rows, size() / rows};
}

}  // namespace qreg
