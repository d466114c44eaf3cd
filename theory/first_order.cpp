// First-order predictor. Derivation (per sample n, element i of layer L's output y):
//   y(W + δ) − y(W) = Σ_k J_k δ_k + O(δ²),   J_k = ∂y_i/∂W_k,
// and with δ independent across weights, zero mean, Var δ_{k,c,j} = σ_{k,c}²:
//   Var_δ[Δy_i] ≈ Σ_k Σ_c σ_{k,c}² ‖∂y_i/∂W_{k,c}‖².
// The neglected terms are O(σ⁴): for a piecewise-linear network y is multilinear in the layers'
// weights, so the second-order term is δ_kᵀ H_{kl} δ_l with k ≠ l only, whose variance is
// Σ σ_k² σ_l² ‖H_{kl}‖²_F, smaller than the kept term by a factor ~σ_l²·(fan-in) / ‖W_l‖² (and
// ReLU/max-pool kinks that noise crosses). Layer L's own noise enters linearly: exact.
//
// Estimators of Σ_i ‖∂y_i/∂W_{k,c}‖² (sum over L's output elements, per sample):
// - exact: seed e_i at y_L for every sample at once, one backward per output element i;
// - Hutchinson: seed a Rademacher vector r (independent per sample and element). The backward gives
//   v = Σ_i r_i ∂y_i/∂W_k per sample, and E‖v_c‖² = Σ_{i,j} E[r_i r_j] ⟨∂y_i, ∂y_j⟩ = Σ_i ‖∂y_i/∂W_{k,c}‖²
//   (unbiased). Each probe averages the per-sample estimates over the calibration set, so probes are
//   iid and the standard error of their mean is sd/√P.
// - k == L: ∂y_{j}/∂W_{L,c} is a_row for j in channel c and 0 otherwise, so the term is exact and
//   free: dense Σ_rows ‖a‖², conv Σ_p ‖patch_p‖² (no backward pass).
// One backward from a seed at y_L reaches every upstream layer, so the cost is (elements or probes)
// backward passes per target layer, whatever the number of sources.
#include "theory/first_order.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/rng.hpp"

#include <tbb/parallel_for.h>

namespace qreg::theory {
namespace {

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

/// Probe stream of (target layer, probe, global sample): independent of batching and threads.
std::uint64_t probe_stream(std::size_t layer, int probe, std::int64_t sample) {
  return (static_cast<std::uint64_t>(layer) << 56) ^ (static_cast<std::uint64_t>(probe) << 36) ^
         static_cast<std::uint64_t>(sample);
}

/// Adds Σ_n per_sample[n·C + c] into acc[c] (fixed sample order: deterministic).
void add_over_samples(const std::vector<double>& per_sample, std::vector<double>& acc) {
  const std::size_t C = acc.size();
  for (std::size_t i = 0; i < per_sample.size(); ++i) acc[i % C] += per_sample[i];
}

struct Context {
  const Graph& graph;
  const ParamSet& params;
  const std::vector<QuantLayer>& layers;
  const std::vector<std::vector<char>>& up;
  Executor& exec;
  ParamSet grads;  // unused: the passes compute no parameter gradients
  std::vector<double> buf;
  std::vector<LayerInput> inputs;  // per layer, for the current batch
};

/// Backward from `seed` at layer L, restricted to the values the sources read (no parameter
/// gradients, stopping at the earliest source); adds per-sample norms of every source into row r.
void accumulate_sources(Context& cx, std::size_t L, const BackwardOptions& bo,
                        const std::vector<std::pair<int, Tensor>>& seed,
                        std::vector<std::vector<std::vector<double>>>& s, std::size_t r) {
  cx.exec.backward(seed, cx.params, cx.grads, bo);
  for (std::size_t k = 0; k < L; ++k) {
    if (!cx.up[k][L]) continue;
    cx.inputs[k].grad_norms(cx.exec.grad(cx.layers[k].output), cx.buf);
    add_over_samples(cx.buf, s[k][r]);
  }
}

bool has_sources(const std::vector<std::vector<char>>& up, std::size_t L) {
  for (std::size_t k = 0; k < L; ++k)
    if (up[k][L]) return true;
  return false;
}

void batch_pass(Context& cx, FirstOrderSensitivity& out, const FirstOrderOptions& opt, std::int64_t first) {
  const std::int64_t B = cx.exec.batch_size();
  cx.inputs.clear();
  for (const QuantLayer& l : cx.layers) cx.inputs.emplace_back(cx.graph, l, cx.exec.value(l.input));
  for (std::size_t L = 0; L < cx.layers.size(); ++L) {
    auto& s = out.s[L];
    cx.inputs[L].input_norms(cx.buf);
    add_over_samples(cx.buf, s[L][0]);
    if (!has_sources(cx.up, L)) continue;
    BackwardOptions bo;
    bo.input_grad = false;
    bo.param_grads = false;
    for (std::size_t k = 0; k < L; ++k)
      if (cx.up[k][L]) bo.wanted.push_back(cx.layers[k].output);
    const Tensor& y = cx.exec.value(cx.layers[L].output);
    const std::int64_t E = y.size() / B;
    std::vector<std::pair<int, Tensor>> seeds{{cx.layers[L].output, Tensor(y.shape())}};
    Tensor& seed = seeds[0].second;
    if (out.probes[L] == 0) {
      for (std::int64_t i = 0; i < E; ++i) {
        std::fill(seed.values().begin(), seed.values().end(), 0.0f);
        for (std::int64_t n = 0; n < B; ++n) seed[n * E + i] = 1.0f;
        accumulate_sources(cx, L, bo, seeds, s, 0);
      }
      continue;
    }
    for (int p = 0; p < out.probes[L]; ++p) {
      tbb::parallel_for(std::int64_t{0}, B, [&](std::int64_t n) {  // 32 signs per 32-bit word
        RandomStream rs(opt.seed, probe_stream(L, p, first + n));
        std::uint32_t word = 0;
        for (std::int64_t i = 0; i < E; ++i) {
          if (i % 32 == 0) word = rs.next_u32();
          seed[n * E + i] = (word >> (i % 32)) & 1u ? 1.0f : -1.0f;
        }
      });
      accumulate_sources(cx, L, bo, seeds, s, sz(p));
    }
  }
}

}  // namespace

FirstOrderSensitivity first_order_sensitivity(const Graph& graph, const ParamSet& params, const Tensor& x,
                                              const FirstOrderOptions& opt) {
  if (opt.probes < 2) throw UsageError("first_order_sensitivity: need at least 2 probes (for a standard error)");
  if (x.rank() < 1 || x.dim(0) == 0) throw Error("first_order_sensitivity: empty calibration set");
  const auto layers = quant_layers(graph);
  const auto up = upstream_layers(graph, layers);
  const std::size_t K = layers.size();
  FirstOrderSensitivity out;
  out.samples = x.dim(0);
  out.s.resize(K);
  out.probes.assign(K, 0);
  for (std::size_t L = 0; L < K; ++L) {
    const bool exact = !has_sources(up, L) || layer_output_size(graph, layers[L]) <= opt.exact_max;
    out.probes[L] = exact ? 0 : opt.probes;
    out.s[L].resize(K);
    for (std::size_t k = 0; k <= L; ++k) {
      if (!up[k][L]) continue;
      const std::size_t rows = (k == L || exact) ? 1 : sz(opt.probes);
      out.s[L][k].assign(rows, std::vector<double>(sz(layers[k].channels), 0.0));
    }
  }
  Executor exec(graph);
  Context cx{graph, params, layers, up, exec, {}, {}, {}};
  const std::int64_t N = x.dim(0), B = std::max<std::int64_t>(1, opt.batch);
  for (std::int64_t b = 0; b < N; b += B) {
    exec.forward(batch_slice(x, b, std::min(N, b + B)), params);
    batch_pass(cx, out, opt, b);
  }
  // Sums over samples and elements -> means.
  for (std::size_t L = 0; L < K; ++L) {
    const double denom = static_cast<double>(N) * static_cast<double>(layer_output_size(graph, layers[L]));
    for (auto& rows : out.s[L])
      for (auto& row : rows)
        for (double& v : row) v /= denom;
  }
  return out;
}

std::vector<LayerPrediction> predict_first_order(const FirstOrderSensitivity& sens,
                                                 const std::vector<LayerNoise>& noise, Mode mode) {
  const std::size_t K = sens.s.size();
  if (noise.size() != K)
    throw UsageError("predict_first_order: noise for " + std::to_string(noise.size()) + " layers, sensitivities for " +
                     std::to_string(K));
  std::vector<LayerPrediction> out(K);
  for (std::size_t L = 0; L < K; ++L) {
    LayerPrediction& pred = out[L];
    pred.contribution.assign(K, 0.0);
    const auto P = static_cast<std::size_t>(std::max(sens.probes[L], 1));
    std::vector<double> per_probe(P, 0.0);  // joint estimate of each probe (self term included)
    for (std::size_t k = 0; k <= L; ++k) {
      const auto& rows = sens.s[L][k];
      if (rows.empty() || (mode == Mode::Isolated && k != L)) continue;
      double mean = 0;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        double v = 0;
        for (std::size_t c = 0; c < rows[r].size(); ++c) v += noise[k].var[c] * rows[r][c];
        mean += v / static_cast<double>(rows.size());
        if (rows.size() == 1)
          for (double& q : per_probe) q += v;  // exact term: the same in every probe
        else
          per_probe[r] += v;
      }
      pred.contribution[k] = mean;
      pred.noise_var += mean;
    }
    if (sens.probes[L] > 0 && mode == Mode::Joint) {
      double m = 0, ss = 0;
      for (double v : per_probe) m += v / static_cast<double>(P);
      for (double v : per_probe) ss += (v - m) * (v - m);
      pred.stderr = std::sqrt(ss / static_cast<double>(P - 1) / static_cast<double>(P));
    }
  }
  return out;
}

}  // namespace qreg::theory
