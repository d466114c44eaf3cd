// Loss increase. Expand the mean cross-entropy to second order in δ:
//   E_δ[L(W+δ)] − L(W) = E[∇Lᵀδ] + ½ E[δᵀ ∇²L δ] + O(σ⁴) = ½ Σ_w σ_w² (∇²L)_ww,
// because δ has zero mean and independent entries. ∇²L = Jᵀ H J + Σ_c (p_c − y_c) ∇²z_c (z logits,
// J = ∂z/∂W, H = diag(p) − p pᵀ). For a network that is piecewise linear in each single weight
// (dense, conv, ReLU, pools, inference batch norm) ∂²z/∂w² = 0, so the diagonal of ∇²L is exactly
// the Gauss–Newton diagonal (JᵀHJ)_ww: the GN form loses nothing here, only O(σ⁴) terms and kinks.
// Exact evaluation with C backward passes: H = Σ_c p_c (e_c − p)(e_c − p)ᵀ (check: Σ_c p_c e_c e_cᵀ
// = diag(p), Σ_c p_c e_c pᵀ = p pᵀ, Σ_c p_c = 1), so
//   tr_c(JᵀHJ) = Σ_c ‖J_cᵀ √p_c (e_c − p)‖²  (J_c: the rows of J for weight row c),
// i.e. seed √p_{n,c}(e_c − p_n) at the logits of every sample n and take per-sample squared norms of
// the weight gradients (layers.hpp), summed over the C seeds.
#include "theory/loss_increase.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/executor.hpp"

namespace qreg::theory {
namespace {

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

/// Row-wise softmax of logits [B, C] in double.
std::vector<double> softmax_rows(const Tensor& z, std::int64_t B, std::int64_t C) {
  std::vector<double> p(sz(B * C));
  for (std::int64_t n = 0; n < B; ++n) {
    double m = z[n * C];
    for (std::int64_t c = 1; c < C; ++c) m = std::max(m, double(z[n * C + c]));
    double s = 0;
    for (std::int64_t c = 0; c < C; ++c) s += p[sz(n * C + c)] = std::exp(double(z[n * C + c]) - m);
    for (std::int64_t c = 0; c < C; ++c) p[sz(n * C + c)] /= s;
  }
  return p;
}

}  // namespace

int logits_value(const Graph& graph) {
  for (const Node& node : graph.nodes)
    if (node.output == graph.output && node.op == OpType::Softmax) return node.inputs[0];
  return graph.output;
}

LossSensitivity loss_sensitivity(const Graph& graph, const ParamSet& params, const Tensor& x, std::int64_t batch) {
  if (x.rank() < 1 || x.dim(0) == 0) throw Error("loss_sensitivity: empty calibration set");
  const auto layers = quant_layers(graph);
  const int logits = logits_value(graph);
  LossSensitivity out;
  out.samples = x.dim(0);
  for (const auto& l : layers) out.s.emplace_back(sz(l.channels), 0.0);
  Executor exec(graph);
  ParamSet grads;
  std::vector<double> buf;
  const std::int64_t N = x.dim(0), B = std::max<std::int64_t>(1, batch);
  for (std::int64_t b = 0; b < N; b += B) {
    exec.forward(batch_slice(x, b, std::min(N, b + B)), params);
    const Tensor& z = exec.value(logits);
    const std::int64_t nb = exec.batch_size(), C = z.size() / nb;
    const auto p = softmax_rows(z, nb, C);
    for (std::int64_t c = 0; c < C; ++c) {
      Tensor seed(z.shape());
      for (std::int64_t n = 0; n < nb; ++n) {
        const double r = std::sqrt(p[sz(n * C + c)]);
        for (std::int64_t j = 0; j < C; ++j)
          seed[n * C + j] = static_cast<float>(r * ((j == c ? 1.0 : 0.0) - p[sz(n * C + j)]));
      }
      exec.backward({{logits, std::move(seed)}}, params, grads, false);
      for (const auto& l : layers) {
        per_sample_weight_grad_norms(graph, l, exec.value(l.input), exec.grad(l.output), buf);
        auto& s = out.s[sz(l.index)];
        for (std::size_t i = 0; i < buf.size(); ++i) s[i % s.size()] += buf[i];
      }
    }
  }
  for (auto& s : out.s)
    for (double& v : s) v /= static_cast<double>(N);
  return out;
}

LossIncrease predict_loss_increase(const LossSensitivity& sens, const std::vector<LayerNoise>& noise) {
  if (noise.size() != sens.s.size()) throw UsageError("predict_loss_increase: noise does not match the layers");
  LossIncrease out;
  for (std::size_t k = 0; k < sens.s.size(); ++k) {
    double v = 0;
    for (std::size_t c = 0; c < sens.s[k].size(); ++c) v += noise[k].var[c] * sens.s[k][c];
    out.per_layer.push_back(0.5 * v);
    out.total += 0.5 * v;
  }
  return out;
}

}  // namespace qreg::theory
