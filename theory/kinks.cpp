// The ReLU-kink term (kinks.hpp). Derivation, for e ~ N(0, s²) and x = z/s:
//   E[(z + e)⁺] = z·Φ(x) + s·φ(x), so κ = E[(z + e)⁺] − z⁺ = s·φ(x) − |z|·Φ(−|x|),
// symmetric in z (z < 0: z·Φ(x) = −|z|·Φ(−|x|); z > 0: z·Φ(x) − z = −z·Φ(−x)). The linear part
// 1[z > 0]·e has mean zero, so κ is the whole mean change. Second order in the noise: κ ≈ ½ p(0)·s²
// per unit averaged over a density p of z, the delta function that ReLU'' is. Multiplying by
// ∂L/∂a (the rest of the network linearised) gives the loss change to the same order as the
// Gauss–Newton term; cross terms between the two vanish in expectation (δ has zero mean).
#include "theory/kinks.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"
#include "core/executor.hpp"

namespace qreg::theory {
namespace {

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

double normal_pdf(double x) { return std::exp(-0.5 * x * x) * (0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2); }
double normal_tail(double x) { return 0.5 * std::erfc(x / std::numbers::sqrt2); }  // Φ(−x)

}  // namespace

double relu_kink_mean(double t, double s) {
  if (!(s > 0)) return 0.0;
  const double x = std::abs(t) / s;
  return s * normal_pdf(x) - std::abs(t) * normal_tail(x);
}

int KinkSensitivity::bin(double t) {
  if (!(t > 0)) return 0;
  const double b = std::floor((std::log2(t) - kMinExponent) * kBinsPerOctave);
  return static_cast<int>(std::clamp(b, 0.0, double(kBins - 1)));
}

double KinkSensitivity::centre(int b) { return std::exp2((b + 0.5) / kBinsPerOctave + kMinExponent); }

KinkSensitivity kink_sensitivity(const Graph& graph, const ParamSet& params, const Tensor& x,
                                 const std::vector<std::int32_t>& labels, std::int64_t batch) {
  if (x.rank() < 1 || x.dim(0) == 0) throw Error("kink_sensitivity: empty calibration set");
  if (static_cast<std::int64_t>(labels.size()) != x.dim(0))
    throw Error("kink_sensitivity: " + std::to_string(labels.size()) + " labels for " + std::to_string(x.dim(0)) +
                " samples");
  const auto layers = quant_layers(graph);
  const int logits = logits_value(graph);
  // For every ReLU that a quantized layer's output feeds directly (its input is then the layer's
  // output): the ReLU's output value, and the max-pool node it feeds alone, if any.
  struct Relu {
    std::size_t layer;
    int value;
    const Node* pool;
  };
  std::vector<Relu> relus;
  for (const auto& l : layers)
    for (const Node& node : graph.nodes) {
      if (node.op != OpType::Relu || node.inputs[0] != l.output) continue;
      const Node* pool = nullptr;
      int readers = 0;
      for (const Node& r : graph.nodes)
        if (std::find(r.inputs.begin(), r.inputs.end(), node.output) != r.inputs.end()) {
          ++readers;
          if (r.op == OpType::MaxPool) pool = &r;
        }
      relus.push_back({sz(l.index), node.output, readers == 1 && node.output != graph.output ? pool : nullptr});
    }

  KinkSensitivity out;
  out.samples = x.dim(0);
  out.histogram.resize(layers.size());
  out.pairs.resize(layers.size());
  for (const auto& r : relus)
    for (auto* h : {&out.histogram[r.layer], &out.pairs[r.layer]}) {
      h->g.assign(sz(KinkSensitivity::kBins), 0.0);
      h->g_offset.assign(sz(KinkSensitivity::kBins), 0.0);
    }
  if (relus.empty()) return out;

  std::vector<double> centre(sz(KinkSensitivity::kBins));
  for (int b = 0; b < KinkSensitivity::kBins; ++b) centre[sz(b)] = KinkSensitivity::centre(b);
  const auto add = [&](KinkSensitivity::Bins& h, double t, double w) {
    const auto k = sz(KinkSensitivity::bin(t));
    h.g[k] += w;
    h.g_offset[k] += w * (t - centre[k]);
  };
  Executor exec(graph);
  ParamSet grads;
  Tensor dlogits;
  const std::int64_t N = x.dim(0), B = std::max<std::int64_t>(1, batch);
  for (std::int64_t b0 = 0; b0 < N; b0 += B) {
    const std::int64_t b1 = std::min(N, b0 + B);
    exec.forward(batch_slice(x, b0, b1), params);
    const std::vector<std::int32_t> batch_labels(labels.begin() + b0, labels.begin() + b1);
    cross_entropy(exec.value(logits), batch_labels, &dlogits);  // ∂(batch mean)/∂logits
    exec.backward({{logits, dlogits}}, params, grads, false);
    const double weight = static_cast<double>(b1 - b0) / static_cast<double>(N);  // batch mean -> set mean
    for (const auto& r : relus) {
      const Tensor& z = exec.value(layers[r.layer].output);
      auto& single = out.histogram[r.layer];
      if (!r.pool) {
        const Tensor& g = exec.grad(r.value);
        for (std::int64_t i = 0; i < z.size(); ++i) add(single, std::abs(double(z[i])), weight * double(g[i]));
        continue;
      }
      // ReLU into max-pool: each window is max(0, z_1 + e_1, …) with the pool output's gradient.
      const Tensor& g = exec.grad(r.pool->output);
      const auto k = r.pool->attrs.get_ints("kernel_shape", {1, 1});
      const auto st = r.pool->attrs.get_ints("strides", {1, 1});
      const auto pads = r.pool->attrs.get_ints("pads", {0, 0, 0, 0});
      const std::int64_t C = z.dim(1), H = z.dim(2), W = z.dim(3), OH = g.dim(2), OW = g.dim(3);
      std::vector<double> window;
      for (std::int64_t nc = 0; nc < z.dim(0) * C; ++nc)
        for (std::int64_t oh = 0; oh < OH; ++oh)
          for (std::int64_t ow = 0; ow < OW; ++ow) {
            window.clear();
            for (std::int64_t i = 0; i < k[0]; ++i)
              for (std::int64_t j = 0; j < k[1]; ++j) {
                const std::int64_t ih = oh * st[0] - pads[0] + i, iw = ow * st[1] - pads[1] + j;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) window.push_back(z[(nc * H + ih) * W + iw]);
              }
            const double w = weight * double(g[(nc * OH + oh) * OW + ow]);
            const auto top = std::max_element(window.begin(), window.end());
            if (top == window.end()) continue;
            if (*top <= 0) {
              for (double v : window) add(single, -v, w);  // the floor 0 is the max: every unit can cross it
              continue;
            }
            add(single, *top, w);  // the top unit against the floor
            for (auto it = window.begin(); it != window.end(); ++it)
              if (it != top) add(out.pairs[r.layer], *top - *it, w);  // the top against another unit
          }
    }
  }
  return out;
}

LossIncrease predict_kink_loss(const KinkSensitivity& sens, const std::vector<LayerPrediction>& joint) {
  if (joint.size() != sens.histogram.size())
    throw UsageError("predict_kink_loss: a prediction for " + std::to_string(joint.size()) +
                     " layers, histograms for " + std::to_string(sens.histogram.size()));
  const std::size_t K = joint.size();
  const auto term = [&](const KinkSensitivity::Bins& h, double var) {
    const double s = std::sqrt(std::max(var, 0.0));
    double sum = 0;
    if (h.g.empty()) return sum;
    for (int b = 0; b < KinkSensitivity::kBins; ++b) {
      const auto k = sz(b);
      if (h.g[k] == 0 && h.g_offset[k] == 0) continue;
      const double c = KinkSensitivity::centre(b);
      const double slope = s > 0 ? -normal_tail(c / s) : 0.0;  // κ'(c)
      sum += relu_kink_mean(c, s) * h.g[k] + slope * h.g_offset[k];
    }
    return sum;
  };
  // Two units of a window: the difference of their noise, taken as independent (variance 2s²).
  const auto both = [&](std::size_t L, double var) {
    return term(sens.histogram[L], var) + term(sens.pairs[L], 2 * var);
  };
  LossIncrease out;
  out.per_layer.assign(K, 0.0);
  for (std::size_t L = 0; L < K; ++L) {
    if (sens.histogram[L].g.empty()) continue;
    out.total += both(L, joint[L].noise_var);
    for (std::size_t k = 0; k < K && k < joint[L].contribution.size(); ++k)
      if (joint[L].contribution[k] > 0) out.per_layer[k] += both(L, joint[L].contribution[k]);
  }
  return out;
}

}  // namespace qreg::theory
