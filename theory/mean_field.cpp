// Mean-field recurrence. Each value carries a per-unit noise variance v_u (mean over calibration
// samples). The rules follow from Var(Σ a_i e_i) = Σ a_i² Var(e_i) when the e_i are independent,
// zero mean and independent of the clean activations:
//   dense/conv: propagated Σ W² Var(e) plus the layer's own weight noise σ_c² Σ E[a²] (exact alone);
//   ReLU: the noise passes where z > 0, so Var ≈ P(z>0)·Var(e) (per unit, P from calibration);
//   max-pool: the noise of the window's argmax, weighted by how often each slot wins;
//   average pools: mean of n independent terms, Σ Var/n²;
//   batch norm (inference): an affine map per channel, ×(scale²/(var+eps));
//   Add: independent branches, variances add.
// Where it is wrong (by construction):
//   - conv weight noise is shared by every output position, so the propagated noise is correlated
//     across positions; the next conv/pool/dense sums correlated terms, Var(Σ) ≠ Σ Var;
//   - dense weight noise on row j hits every output j through the same δ_j: units that a later
//     layer mixes carry correlated noise (only the own-layer term is exact);
//   - a residual Add sums two branches that share upstream noise: their covariance is dropped;
//   - ReLU's P(z>0) factor ignores the correlation between |e| and being near the kink.
#include "theory/mean_field.hpp"

#include <Eigen/Core>

#include "core/error.hpp"

namespace qreg::theory {
namespace {

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }
using Vec = std::vector<double>;

/// Dense layer: W² applied to the variance (per row of the last axis) plus the own term.
Vec dense_step(const QuantLayer& l, const Tensor& w, const Vec& in_var, const Vec& in_sq,
               const std::vector<double>* sigma2) {
  const std::int64_t in = l.fan_in, C = l.channels, R = static_cast<std::int64_t>(in_var.size()) / in;
  Vec out(sz(R * C), 0.0);
  for (std::int64_t r = 0; r < R; ++r) {
    double sq = 0;
    for (std::int64_t i = 0; i < in; ++i) sq += in_sq[sz(r * in + i)];
    for (std::int64_t c = 0; c < C; ++c) {
      double v = 0;
      for (std::int64_t i = 0; i < in; ++i) {
        const double wi = l.op == OpType::MatMul ? w[i * C + c] : w[c * in + i];
        v += wi * wi * in_var[sz(r * in + i)];
      }
      out[sz(r * C + c)] = v + (sigma2 ? (*sigma2)[sz(c)] * sq : 0.0);
    }
  }
  return out;
}

Vec conv_step(const Graph& g, const QuantLayer& l, const Tensor& w, const Vec& in_var, const Vec& in_sq,
              const std::vector<double>* sigma2) {
  const std::vector<float> var_f(in_var.begin(), in_var.end()), sq_f(in_sq.begin(), in_sq.end());
  const ConvPatches pv = conv_patches(g, l, var_f.data()), ps = conv_patches(g, l, sq_f.data());
  const std::int64_t P = pv.positions;
  Vec out(sz(l.channels * P), 0.0);
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  for (std::int64_t gr = 0; gr < pv.groups; ++gr) {
    const RowMat W2 = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                          w.data() + gr * pv.og * pv.kg, pv.og, pv.kg)
                          .cast<double>()
                          .array()
                          .square()
                          .matrix();
    using FMap = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    const RowMat prop = W2 * FMap(pv.col.data() + gr * pv.kg * P, pv.kg, P).cast<double>();
    const Eigen::RowVectorXd own = FMap(ps.col.data() + gr * pv.kg * P, pv.kg, P).cast<double>().colwise().sum();
    for (std::int64_t c = 0; c < pv.og; ++c) {
      const std::int64_t ch = gr * pv.og + c;
      for (std::int64_t p = 0; p < P; ++p)
        out[sz(ch * P + p)] = prop(c, p) + (sigma2 ? (*sigma2)[sz(ch)] * own(p) : 0.0);
    }
  }
  return out;
}

Vec pool_step(const Node& node, const Shape& in, const Shape& outs, const Vec& v, const std::vector<double>& freq) {
  const bool global = node.op == OpType::GlobalAveragePool;
  using Ints = std::vector<std::int64_t>;
  const Ints k = global ? Ints{in[1], in[2]} : node.attrs.get_ints("kernel_shape", {1, 1});
  const Ints s = global ? k : node.attrs.get_ints("strides", {1, 1});  // ONNX default stride 1
  const Ints p = global ? Ints{0, 0, 0, 0} : node.attrs.get_ints("pads", {0, 0, 0, 0});
  const std::int64_t C = in[0], H = in[1], W = in[2], Ho = outs[1], Wo = outs[2];
  Vec out(sz(C * Ho * Wo), 0.0);
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t oy = 0; oy < Ho; ++oy)
      for (std::int64_t ox = 0; ox < Wo; ++ox) {
        const std::int64_t o = (c * Ho + oy) * Wo + ox;
        double acc = 0, count = 0;
        for (std::int64_t ky = 0; ky < k[0]; ++ky)
          for (std::int64_t kx = 0; kx < k[1]; ++kx) {
            const std::int64_t iy = oy * s[0] + ky - p[0], ix = ox * s[1] + kx - p[1];
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const double vi = v[sz((c * H + iy) * W + ix)];
            if (node.op == OpType::MaxPool)
              acc += freq[sz(o * k[0] * k[1] + ky * k[1] + kx)] * vi;
            else
              acc += vi, count += 1;
          }
        out[sz(o)] = node.op == OpType::MaxPool ? acc : (count > 0 ? acc / (count * count) : 0.0);
      }
  return out;
}

Vec batchnorm_step(const Node& node, const ParamSet& params, const Vec& v) {
  const Tensor& scale = params[sz(node.params[0])];
  const Tensor& var = params[sz(node.params[3])];
  const double eps = node.attrs.get_float("epsilon", 1e-5f);
  const std::int64_t C = scale.size(), per = static_cast<std::int64_t>(v.size()) / C;
  Vec out(v.size());
  for (std::int64_t c = 0; c < C; ++c) {
    const double f = double(scale[c]) * scale[c] / (double(var[c]) + eps);
    for (std::int64_t i = 0; i < per; ++i) out[sz(c * per + i)] = f * v[sz(c * per + i)];
  }
  return out;
}

/// One recurrence with only layer `source` noisy; returns the noise variance of every value.
std::vector<Vec> propagate(const Graph& g, const ParamSet& params, const CalibrationStats& st,
                           const std::vector<QuantLayer>& layers, const std::vector<LayerNoise>& noise,
                           std::size_t source) {
  std::vector<Vec> var(sz(g.num_values()));
  var[0].assign(st.mean_sq[0].size(), 0.0);
  std::vector<int> layer_of_node(g.nodes.size(), -1);
  for (const auto& l : layers) layer_of_node[sz(l.node)] = l.index;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    const auto in = sz(node.inputs[0]);
    Vec& out = var[sz(node.output)];
    const int li = layer_of_node[i];
    const auto* sigma2 = (li >= 0 && sz(li) == source) ? &noise[source].var : nullptr;
    switch (node.op) {
      case OpType::Gemm:
      case OpType::MatMul:
      case OpType::Conv: {
        QREG_ASSERT(li >= 0, "weighted nodes are layers");
        const QuantLayer& l = layers[sz(li)];
        const Tensor& w = params[sz(l.weight)];
        out = node.op == OpType::Conv ? conv_step(g, l, w, var[in], st.mean_sq[in], sigma2)
                                      : dense_step(l, w, var[in], st.mean_sq[in], sigma2);
        break;
      }
      case OpType::Relu:
        out = var[in];
        for (std::size_t u = 0; u < out.size(); ++u) out[u] *= st.frac_pos[in][u];
        break;
      case OpType::MaxPool:
      case OpType::AveragePool:
      case OpType::GlobalAveragePool:
        out = pool_step(node, g.value_shapes[in], g.value_shapes[sz(node.output)], var[in], st.argmax_freq[i]);
        break;
      case OpType::BatchNormalization:
        out = batchnorm_step(node, params, var[in]);
        break;
      case OpType::Add:
        out = var[in];
        for (std::size_t u = 0; u < out.size(); ++u) out[u] += var[sz(node.inputs[1])][u];
        break;
      case OpType::Flatten:
      case OpType::Reshape:
      case OpType::ActQuant:  // straight-through (first order); Dropout is the identity in inference
      case OpType::Dropout:
        out = var[in];
        break;
      case OpType::Softmax:  // not propagated: no quantized layer reads probabilities
        out.assign(var[in].size(), 0.0);
        break;
    }
  }
  return var;
}

}  // namespace

std::vector<LayerPrediction> predict_mean_field(const Graph& graph, const ParamSet& params,
                                                const CalibrationStats& stats, const std::vector<LayerNoise>& noise,
                                                Mode mode) {
  const auto layers = quant_layers(graph);
  const std::size_t K = layers.size();
  if (noise.size() != K || stats.self.size() != K)
    throw UsageError("predict_mean_field: noise or stats do not match graph");
  std::vector<LayerPrediction> out(K);
  for (auto& p : out) p.contribution.assign(K, 0.0);
  for (std::size_t k = 0; k < K; ++k) {
    if (mode == Mode::Isolated) {  // only layer k noisy, read at k: its own term
      out[k].contribution[k] = self_noise(stats, noise, k);
      out[k].noise_var = out[k].contribution[k];
      continue;
    }
    const auto var = propagate(graph, params, stats, layers, noise, k);
    for (std::size_t L = k; L < K; ++L) {
      const Vec& v = var[sz(layers[L].output)];
      double m = 0;
      for (double x : v) m += x;
      out[L].contribution[k] = m / static_cast<double>(v.size());
      out[L].noise_var += out[L].contribution[k];
    }
  }
  return out;
}

}  // namespace qreg::theory
