// BatchNormalization over x [N, C, S...] per channel c (M = N · S elements per channel):
//   inference: y = scale · (x − mean) / sqrt(var + eps) + bias with the running statistics;
//   training:  the same with the batch mean and biased batch variance, and the full gradient
//     dx = scale · invstd / M · (M·dy − Σdy − x̂ · Σ(dy·x̂)),  x̂ = (x − μ_B) · invstd,
//   which accounts for μ_B and σ_B² depending on every x in the batch.
// Both: dbias = Σ dy, dscale = Σ dy · x̂. Channel sums are accumulated in double, sequentially per
// channel (channels run in parallel), so they do not depend on the thread count.
#include <cmath>

#include "core/ops/ops.hpp"

namespace qreg::ops {
namespace {

struct Layout {
  std::int64_t n, c, s;  // batch, channels, elements per channel per sample
};

Layout layout_of(const Tensor& x) {
  const std::int64_t c = x.dim(1);
  return {x.dim(0), c, x.size() / (x.dim(0) * c)};
}

/// Calls f(pointer to the S elements of channel ch in sample i, i) for every sample.
template <class F>
void for_channel(const Layout& l, std::int64_t ch, F&& f) {
  for (std::int64_t i = 0; i < l.n; ++i) f((i * l.c + ch) * l.s);
}

}  // namespace

void batchnorm_forward(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean, const Tensor& var,
                       float epsilon, bool training, Tensor& y, NodeState& st) {
  const Layout l = layout_of(x);
  const auto c = static_cast<std::size_t>(l.c);
  st.training = training;
  st.mean.resize(c);
  st.invstd.resize(c);
  st.batch_var.resize(c);
  const double m = static_cast<double>(l.n * l.s);
  for_chunks(l.c, 1, [&](std::int64_t c0, std::int64_t) {
    const auto k = static_cast<std::size_t>(c0);
    double mu = mean[c0], v = var[c0];
    if (training) {
      double sum = 0.0, sq = 0.0;
      for_channel(l, c0, [&](std::int64_t off) {
        for (std::int64_t j = 0; j < l.s; ++j) sum += x[off + j];
      });
      mu = sum / m;
      for_channel(l, c0, [&](std::int64_t off) {
        for (std::int64_t j = 0; j < l.s; ++j) sq += (x[off + j] - mu) * (x[off + j] - mu);
      });
      v = sq / m;
      st.batch_var[k] = static_cast<float>(m > 1 ? sq / (m - 1) : 0.0);
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(v + epsilon));
    st.mean[k] = static_cast<float>(mu);
    st.invstd[k] = inv;
    const float a = scale[c0] * inv, b = bias[c0] - static_cast<float>(mu) * a;
    for_channel(l, c0, [&](std::int64_t off) {
      for (std::int64_t j = 0; j < l.s; ++j) y[off + j] = a * x[off + j] + b;
    });
  });
}

void batchnorm_backward(const Tensor& x, const Tensor& scale, const Tensor& dy, Tensor* dx, Tensor& dscale,
                        Tensor& dbias, const NodeState& st) {
  const Layout l = layout_of(x);
  const double m = static_cast<double>(l.n * l.s);
  for_chunks(l.c, 1, [&](std::int64_t c0, std::int64_t) {
    const auto k = static_cast<std::size_t>(c0);
    const float mu = st.mean[k], inv = st.invstd[k];
    double sum_g = 0.0, sum_gx = 0.0;
    for_channel(l, c0, [&](std::int64_t off) {
      for (std::int64_t j = 0; j < l.s; ++j) {
        sum_g += dy[off + j];
        sum_gx += static_cast<double>(dy[off + j]) * ((x[off + j] - mu) * inv);
      }
    });
    dbias[c0] = static_cast<float>(sum_g);
    dscale[c0] = static_cast<float>(sum_gx);
    if (!dx) return;
    const float a = scale[c0] * inv;
    if (!st.training) {
      for_channel(l, c0, [&](std::int64_t off) {
        for (std::int64_t j = 0; j < l.s; ++j) (*dx)[off + j] += a * dy[off + j];
      });
      return;
    }
    const auto mean_g = static_cast<float>(sum_g / m), mean_gx = static_cast<float>(sum_gx / m);
    for_channel(l, c0, [&](std::int64_t off) {
      for (std::int64_t j = 0; j < l.s; ++j)
        (*dx)[off + j] += a * (dy[off + j] - mean_g - (x[off + j] - mu) * inv * mean_gx);
    });
  });
}

}  // namespace qreg::ops
