// Elementwise ops on flat buffers (Eigen array expressions, vectorised, single pass).
#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

using ConstArray = Eigen::Map<const Eigen::ArrayXf>;
using Array = Eigen::Map<Eigen::ArrayXf>;

ConstArray flat(const Tensor& t) { return {t.data(), t.size()}; }
Array flat(Tensor& t) { return {t.data(), t.size()}; }

}  // namespace

void relu_forward(const Tensor& x, Tensor& y) { flat(y) = flat(x).max(0.0f); }

void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  flat(dx) += (flat(y) > 0.0f).select(flat(dy), 0.0f);
}

void add_forward(const Tensor& a, const Tensor& b, Tensor& y) { flat(y) = flat(a) + flat(b); }

void accumulate(const Tensor& dy, Tensor& dx) { flat(dx) += flat(dy); }

}  // namespace qreg::ops
