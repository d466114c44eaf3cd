// Softmax over the last axis and the mean softmax cross-entropy, both with the max subtracted
// before exponentiating (log-sum-exp), so large logits neither overflow nor lose the label term.
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/ops/ops.hpp"

namespace qreg {
namespace ops {

void softmax_forward(const Tensor& x, Tensor& y) {
  const std::int64_t cols = x.dim(x.rank() - 1), rows = x.size() / cols;
  ConstMap X(x.data(), rows, cols);
  Map Y(y.data(), rows, cols);
  for (std::int64_t r = 0; r < rows; ++r) {
    Y.row(r) = (X.row(r).array() - X.row(r).maxCoeff()).exp().matrix();
    Y.row(r) /= Y.row(r).sum();
  }
}

/// dx = y ⊙ (dy − ⟨dy, y⟩) row by row (the softmax Jacobian diag(y) − y·yᵀ applied to dy).
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  const std::int64_t cols = y.dim(y.rank() - 1), rows = y.size() / cols;
  ConstMap Y(y.data(), rows, cols), dY(dy.data(), rows, cols);
  Map dX(dx.data(), rows, cols);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float dot = Y.row(r).dot(dY.row(r));
    dX.row(r).array() += Y.row(r).array() * (dY.row(r).array() - dot);
  }
}

}  // namespace ops

// L = (1/N) Σ_n [log Σ_c exp(z_nc) − z_n,label], dL/dz_nc = (softmax(z_n)_c − [c = label]) / N.
double cross_entropy(const Tensor& logits, const std::vector<std::int32_t>& labels, Tensor* grad) {
  if (logits.rank() != 2) throw Error("cross_entropy: logits must be [N, C], got " + to_string(logits.shape()));
  const std::int64_t n = logits.dim(0), c = logits.dim(1);
  if (static_cast<std::int64_t>(labels.size()) != n)
    throw Error("cross_entropy: " + std::to_string(labels.size()) + " labels for " + std::to_string(n) + " rows");
  if (grad) ops::ensure_shape(*grad, logits.shape());
  double total = 0.0;
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int32_t label = labels[static_cast<std::size_t>(r)];
    if (label < 0 || label >= c)
      throw Error("cross_entropy: label " + std::to_string(label) + " outside [0, " + std::to_string(c) + ")");
    const float* z = logits.data() + r * c;
    float zmax = z[0];
    for (std::int64_t j = 1; j < c; ++j) zmax = std::max(zmax, z[j]);
    double sum = 0.0;
    for (std::int64_t j = 0; j < c; ++j) sum += std::exp(static_cast<double>(z[j] - zmax));
    total += std::log(sum) - static_cast<double>(z[label] - zmax);
    if (!grad) continue;
    float* g = grad->data() + r * c;
    for (std::int64_t j = 0; j < c; ++j)
      g[j] = static_cast<float>(std::exp(static_cast<double>(z[j] - zmax)) / sum / static_cast<double>(n));
    g[label] -= 1.0f / static_cast<float>(n);
  }
  return n ? total / static_cast<double>(n) : 0.0;
}

}  // namespace qreg
