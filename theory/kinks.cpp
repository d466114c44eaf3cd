// The ReLU-kink term (kinks.hpp). Derivation, for e ~ N(0, s²) and x = z/s:
//   E[(z + e)⁺] = z·Φ(x) + s·φ(x), so κ = E[(z + e)⁺] − z⁺ = s·φ(x) − |z|·Φ(−|x|),
// symmetric in z (z < 0: z·Φ(x) = −|z|·Φ(−|x|); z > 0: z·Φ(x) − z = −z·Φ(−x)). The linear part
// 1[z > 0]·e has mean zero, so κ is the whole mean change: ≈ ½ p(0)·s² per unit averaged over a
// density p of z, the delta function that ReLU'' is. Multiplying by ∂L/∂a (the rest of the network
// linearised) gives the loss change to the same order as the curvature term; cross terms between the
// two vanish in expectation (δ has zero mean). For a window max(v_0, v_1, …) with small noise, the
// mean change is Σ_{j ≠ top} E[(v_j + e_j − v_top − e_top)⁺] to second order (two competitors cross
// the top at once only with probability O(s²)), each term κ(v_top − v_j, sd(e_j − e_top)). The
// own-layer part of e_j − e_top is δW_c·(patch_j − patch_top), exactly σ_c²‖patch_j − patch_top‖²
// in variance.
#include "theory/kinks.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/im2col.hpp"

#include <tbb/parallel_for.h>

namespace qreg::theory {
namespace {

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

double normal_pdf(double x) { return std::exp(-0.5 * x * x) * (0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2); }
double normal_tail(double x) { return 0.5 * std::erfc(x / std::numbers::sqrt2); }  // Φ(−x)

/// g·κ(t, s) summed for the total noise and for each layer alone. A competitor's variance is
/// own (exact, layer L's own noise) + up_factor · upstream, where the upstream part is the
/// prediction's mean at layer L: up_factor 1 for a unit against the floor, 0 for the difference of
/// two units of a window (their upstream noise taken as common; see kinks.hpp).
class KinkSum {
 public:
  explicit KinkSum(std::size_t layers) : per_layer_(layers, 0.0) {}

  /// The upstream contributions at the current layer L (joint[L].contribution without k = L).
  void set_layer(std::size_t L, const LayerPrediction& pred) {
    layer_ = L;
    up_.assign(pred.contribution.size(), 0.0);
    up_total_ = 0;
    for (std::size_t k = 0; k < pred.contribution.size(); ++k)
      if (k != L) up_total_ += up_[k] = std::max(pred.contribution[k], 0.0);
  }

  void add(double w, double t, double own, double up_factor) {
    if (w == 0) return;
    total_ += w * kink(t, own + up_factor * up_total_);
    per_layer_[layer_] += w * kink(t, own);
    for (std::size_t k = 0; k < up_.size(); ++k)
      if (up_[k] > 0) per_layer_[k] += w * kink(t, up_factor * up_[k]);
  }

  LossIncrease result() const { return {total_, per_layer_}; }

  /// An empty sum for the same layer (one sample's share, computed on its own thread).
  KinkSum empty() const {
    KinkSum out = *this;
    out.total_ = 0;
    std::fill(out.per_layer_.begin(), out.per_layer_.end(), 0.0);
    return out;
  }
  void merge(const KinkSum& part) {
    total_ += part.total_;
    for (std::size_t k = 0; k < per_layer_.size(); ++k) per_layer_[k] += part.per_layer_[k];
  }

 private:
  // κ beyond 8 standard deviations is below 1e-16·s: skipped (most units, at 8 bits).
  static double kink(double t, double var) { return t * t > 64 * var ? 0.0 : relu_kink_mean(t, std::sqrt(var)); }

  std::size_t layer_ = 0;
  std::vector<double> up_, per_layer_;
  double up_total_ = 0, total_ = 0;
};

/// A ReLU fed directly by a quantized layer, with the max-pool that alone reads it after a conv.
struct Relu {
  const QuantLayer* layer;
  int activation;    // the ReLU's output value
  const Node* pool;  // null: the ReLU on its own
};

std::vector<Relu> relus_after_layers(const Graph& graph, const std::vector<QuantLayer>& layers) {
  std::vector<Relu> out;
  for (const auto& l : layers)
    for (const Node& node : graph.nodes) {
      if (node.op != OpType::Relu || node.inputs[0] != l.output) continue;
      std::vector<const Node*> readers;
      for (const Node& r : graph.nodes)
        if (std::find(r.inputs.begin(), r.inputs.end(), node.output) != r.inputs.end()) readers.push_back(&r);
      const bool pooled = readers.size() == 1 && readers[0]->op == OpType::MaxPool && node.output != graph.output;
      if (pooled && l.op != OpType::Conv) continue;  // a pooled dense output: not modelled, not counted
      out.push_back({&l, node.output, pooled ? readers[0] : nullptr});
    }
  return out;
}

/// Dense layer: units (n, row, c) of z [N, rows, C]; own variance σ_c²·‖a_{n,row}‖².
void add_dense(const Relu& r, const Tensor& a, const Tensor& z, const Tensor& g, const LayerNoise& noise, double weight,
               KinkSum& sum) {
  const std::int64_t F = r.layer->fan_in, C = r.layer->channels, rows = z.size() / C;
  for (std::int64_t row = 0; row < rows; ++row) {
    double a2 = 0;
    for (std::int64_t f = 0; f < F; ++f) a2 += double(a[row * F + f]) * a[row * F + f];
    for (std::int64_t c = 0; c < C; ++c) {
      const std::int64_t i = row * C + c;
      sum.add(weight * g[i], std::abs(double(z[i])), noise.var[sz(c)] * a2, 1.0);
    }
  }
}

/// Conv layer, one sample at a time (its patches): ReLU units, or ReLU → max-pool windows. Samples
/// run in parallel into their own sums, merged in sample order (the same result on any thread count).
void add_conv(const Graph& graph, const Relu& r, const Tensor& a, const Tensor& z, const Tensor& g,
              const LayerNoise& noise, double weight, KinkSum& total) {
  const std::int64_t N = z.dim(0), C = z.dim(1), H = z.dim(2), W = z.dim(3), P = H * W;
  const std::int64_t a_per = a.size() / N;
  // The pool's windows, as the engine computes them (strides, pads, dilations).
  WindowGeom pool{};
  if (r.pool) {
    const auto k = r.pool->attrs.get_ints("kernel_shape", {1, 1});
    pool = window_geom(*r.pool, graph.value_shapes[sz(r.activation)], graph.value_shapes[sz(r.pool->output)], k.at(0),
                       k.at(1));
  }
  std::vector<KinkSum> parts(sz(N), total.empty());
  tbb::parallel_for(std::int64_t{0}, N, [&](std::int64_t n) {
    KinkSum& sum = parts[sz(n)];
    std::vector<std::int64_t> window;
    const ConvPatches pt = conv_patches(graph, *r.layer, a.data() + n * a_per);
    const auto col = [&](std::int64_t row, std::int64_t p) { return double(pt.col[sz(row * P + p)]); };
    const auto rows_of = [&](std::int64_t c) { return (c / pt.og) * pt.kg; };  // first row of c's group
    // own variance of unit (c, p): σ_c² · norm2[group of c, p], ‖patch_p‖² over the group's rows
    std::vector<double> norm2(sz(pt.groups * P), 0.0);
    for (std::int64_t gi = 0; gi < pt.groups; ++gi)
      for (std::int64_t row = gi * pt.kg; row < (gi + 1) * pt.kg; ++row)
        for (std::int64_t p = 0; p < P; ++p) norm2[sz(gi * P + p)] += col(row, p) * col(row, p);
    const auto own2 = [&](std::int64_t c, std::int64_t p) { return norm2[sz((c / pt.og) * P + p)]; };
    const float* zn = z.data() + n * C * P;
    if (!r.pool) {
      const float* gn = g.data() + n * C * P;
      for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t p = 0; p < P; ++p)
          sum.add(weight * gn[c * P + p], std::abs(double(zn[c * P + p])), noise.var[sz(c)] * own2(c, p), 1.0);
      return;
    }
    const std::int64_t OH = pool.Ho, OW = pool.Wo;
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          window.clear();
          for (std::int64_t i = 0; i < pool.kh; ++i)
            for (std::int64_t j = 0; j < pool.kw; ++j) {
              const std::int64_t ih = oh * pool.sh - pool.pt + i * pool.dh, iw = ow * pool.sw - pool.pl + j * pool.dw;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) window.push_back(ih * W + iw);
            }
          if (window.empty()) continue;
          const double w = weight * g[((n * C + c) * OH + oh) * OW + ow];
          const double var_c = noise.var[sz(c)];
          const auto zv = [&](std::int64_t p) { return double(zn[c * P + p]); };
          const std::int64_t top = *std::max_element(window.begin(), window.end(),
                                                     [&](std::int64_t p, std::int64_t q) { return zv(p) < zv(q); });
          if (zv(top) <= 0) {  // the floor 0 is the maximum: every unit can cross it
            for (const std::int64_t p : window) sum.add(w, -zv(p), var_c * own2(c, p), 1.0);
            continue;
          }
          sum.add(w, zv(top), var_c * own2(c, top), 1.0);  // the top unit against the floor
          const std::int64_t r0 = rows_of(c);
          for (const std::int64_t p : window) {  // the top unit against each other unit
            const double gap = zv(top) - zv(p);
            // ‖patch_top − patch_p‖ ≤ ‖patch_top‖ + ‖patch_p‖: most pairs are too far apart to matter.
            const double bound = std::sqrt(own2(c, top)) + std::sqrt(own2(c, p));
            if (p == top || gap * gap > 64 * var_c * bound * bound) continue;
            double d2 = 0;
            for (std::int64_t row = r0; row < r0 + pt.kg; ++row)
              d2 += (col(row, top) - col(row, p)) * (col(row, top) - col(row, p));
            sum.add(w, gap, var_c * d2, 0.0);
          }
        }
  });
  for (const KinkSum& part : parts) total.merge(part);
}

}  // namespace

double relu_kink_mean(double t, double s) {
  if (!(s > 0)) return 0.0;
  const double x = std::abs(t) / s;
  return s * normal_pdf(x) - std::abs(t) * normal_tail(x);
}

LossIncrease predict_kink_loss(const Graph& graph, const ParamSet& params, const Tensor& x,
                               const std::vector<std::int32_t>& labels, const std::vector<LayerNoise>& noise,
                               const std::vector<LayerPrediction>& joint, std::int64_t batch) {
  if (x.rank() < 1 || x.dim(0) == 0) throw Error("predict_kink_loss: empty calibration set");
  if (static_cast<std::int64_t>(labels.size()) != x.dim(0))
    throw Error("predict_kink_loss: " + std::to_string(labels.size()) + " labels for " + std::to_string(x.dim(0)) +
                " samples");
  const auto layers = quant_layers(graph);
  if (noise.size() != layers.size() || joint.size() != layers.size())
    throw UsageError("predict_kink_loss: noise or prediction does not match the layers");
  KinkSum sum(layers.size());
  const auto relus = relus_after_layers(graph, layers);
  if (relus.empty()) return sum.result();

  const int logits = logits_value(graph);
  Executor exec(graph);
  ParamSet grads;
  Tensor dlogits;
  BackwardOptions bo;  // only the gradients read below: no parameter gradients, stop at the earliest
  bo.input_grad = false;
  bo.param_grads = false;
  for (const Relu& r : relus) bo.wanted.push_back(r.pool ? r.pool->output : r.activation);
  const std::int64_t N = x.dim(0), B = std::max<std::int64_t>(1, batch);
  for (std::int64_t b0 = 0; b0 < N; b0 += B) {
    const std::int64_t b1 = std::min(N, b0 + B);
    exec.forward(batch_slice(x, b0, b1), params);
    const std::vector<std::int32_t> batch_labels(labels.begin() + b0, labels.begin() + b1);
    cross_entropy(exec.value(logits), batch_labels, &dlogits);  // ∂(batch mean)/∂logits
    exec.backward({{logits, dlogits}}, params, grads, bo);
    const double weight = static_cast<double>(b1 - b0) / static_cast<double>(N);  // batch mean -> set mean
    for (const Relu& r : relus) {
      const auto L = sz(r.layer->index);
      sum.set_layer(L, joint[L]);
      const Tensor& a = exec.value(r.layer->input);
      const Tensor& z = exec.value(r.layer->output);
      const Tensor& g = exec.grad(r.pool ? r.pool->output : r.activation);
      if (r.layer->op == OpType::Conv)
        add_conv(graph, r, a, z, g, noise[L], weight, sum);
      else
        add_dense(r, a, z, g, noise[L], weight, sum);
    }
  }
  return sum.result();
}

}  // namespace qreg::theory
