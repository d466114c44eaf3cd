// Helpers shared by the theory tests: a two-layer linear network, seeded inputs, and an
// independent Monte Carlo of per-layer noise written with plain loops over the executor's forward
// pass, and one of the loss increase (they use nothing from theory/ except the layer list and the step sizes
// they are checked against).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/executor.hpp"
#include "core/graph.hpp"
#include "core/rng.hpp"
#include "theory/layers.hpp"

namespace qreg::test {

inline Tensor uniform_tensor(Shape shape, std::uint64_t stream, float lo, float hi) {
  Tensor t(std::move(shape));
  RandomStream rs(777, stream);
  for (auto& v : t.values()) v = rs.uniform(lo, hi);
  return t;
}

/// x [d] -> Gemm(W1 [m, d], b1) -> Gemm(W2 [o, m], b2): no activation, so y is bilinear in (W1, W2).
inline Graph linear2(std::int64_t d, std::int64_t m, std::int64_t o) {
  Graph g;
  g.name = "linear2";
  g.input_shape = {d};
  g.add_value("x", {d});
  const std::int64_t widths[3] = {d, m, o};
  for (int l = 0; l < 2; ++l) {
    Node n;
    n.name = "gemm" + std::to_string(l);
    n.op = OpType::Gemm;
    n.inputs = {l};
    n.params.push_back(g.add_param(n.name + ".w", ParamRole::Weight, l,
                                   uniform_tensor({widths[l + 1], widths[l]}, 10 + l, -0.5f, 0.5f)));
    n.params.push_back(
        g.add_param(n.name + ".b", ParamRole::Bias, l, uniform_tensor({widths[l + 1]}, 20 + l, -0.1f, 0.1f)));
    n.output = g.add_value(n.name + "_out", {});
    g.nodes.push_back(std::move(n));
  }
  g.output = 2;
  g.finalize();
  return g;
}

/// Monte Carlo of the noise at every quantized layer: `draws` draws of δ ~ U(−Δ_c/2, Δ_c/2) on
/// every weight (joint) or only on layer `only` (>= 0). Returns per layer the mean over samples and
/// elements of the across-draw variance, and its standard error from the per-draw spread.
struct McNoise {
  std::vector<double> var, se;
};
inline McNoise mc_noise(const Graph& g, const Tensor& x, const std::vector<theory::LayerNoise>& noise, int draws,
                        int only = -1) {
  const auto layers = theory::quant_layers(g);
  Executor exec(g);
  exec.forward(x);
  std::vector<Tensor> clean;
  for (const auto& l : layers) clean.push_back(exec.value(l.output));
  const std::size_t K = layers.size();
  std::vector<std::vector<double>> sum(K), sum2(K);  // per element across draws
  std::vector<std::vector<double>> per_draw(K);      // mean over elements of d² per draw
  for (std::size_t k = 0; k < K; ++k) sum[k].assign(static_cast<std::size_t>(clean[k].size()), 0.0), sum2[k] = sum[k];
  for (int draw = 0; draw < draws; ++draw) {
    ParamSet p = g.values;
    RandomStream rs(4242, static_cast<std::uint64_t>(draw));
    for (std::size_t k = 0; k < K; ++k) {
      if (only >= 0 && static_cast<int>(k) != only) continue;
      Tensor& w = p[static_cast<std::size_t>(layers[k].weight)];
      for (std::int64_t i = 0; i < w.size(); ++i) {
        const std::int64_t c = layers[k].op == OpType::MatMul ? i % layers[k].channels : i / layers[k].fan_in;
        const double step = noise[k].step[static_cast<std::size_t>(c)];
        w[i] += static_cast<float>(step * (rs.uniform_double() - 0.5));
      }
    }
    exec.forward(x, p);
    for (std::size_t k = 0; k < K; ++k) {
      const Tensor& y = exec.value(layers[k].output);
      double m = 0;
      for (std::int64_t e = 0; e < y.size(); ++e) {
        const double d = double(y[e]) - clean[k][e];
        sum[k][static_cast<std::size_t>(e)] += d;
        sum2[k][static_cast<std::size_t>(e)] += d * d;
        m += d * d;
      }
      per_draw[k].push_back(m / static_cast<double>(y.size()));
    }
  }
  McNoise out;
  const double D = draws;
  for (std::size_t k = 0; k < K; ++k) {
    double v = 0;
    for (std::size_t e = 0; e < sum[k].size(); ++e) v += (sum2[k][e] - sum[k][e] * sum[k][e] / D) / (D - 1);
    out.var.push_back(v / static_cast<double>(sum[k].size()));
    double mean = 0, ss = 0;
    for (double q : per_draw[k]) mean += q / D;
    for (double q : per_draw[k]) ss += (q - mean) * (q - mean);
    out.se.push_back(std::sqrt(ss / (D - 1) / D));
  }
  return out;
}

struct McLoss {
  double mean, se;
};

/// Antithetic Monte Carlo of the mean cross-entropy increase under U(−Δ/2, Δ/2) noise on every weight
/// (per-tensor steps): pairs ½(L(W+δ) + L(W−δ)) − L(W), whose mean and standard error it returns.
inline McLoss mc_loss(const Graph& g, const Tensor& x, const std::vector<std::int32_t>& labels,
                      const std::vector<theory::LayerNoise>& noise, int draws, std::uint64_t seed = 2024) {
  const auto layers = theory::quant_layers(g);
  Executor exec(g);
  const double clean = cross_entropy(exec.forward(x), labels);
  double sum = 0, sum2 = 0;
  for (int d = 0; d < draws; ++d) {
    ParamSet plus = g.values, minus = g.values;
    RandomStream rs(seed, static_cast<std::uint64_t>(d));
    for (const auto& l : layers)
      for (std::int64_t i = 0; i < plus[std::size_t(l.weight)].size(); ++i) {
        const float delta = static_cast<float>(noise[std::size_t(l.index)].step[0] * (rs.uniform_double() - 0.5));
        plus[std::size_t(l.weight)][i] += delta;
        minus[std::size_t(l.weight)][i] -= delta;
      }
    const double v =
        0.5 * (cross_entropy(exec.forward(x, plus), labels) + cross_entropy(exec.forward(x, minus), labels)) - clean;
    sum += v, sum2 += v * v;
  }
  const double mean = sum / draws;
  return {mean, std::sqrt((sum2 / draws - mean * mean) / (draws - 1))};
}

}  // namespace qreg::test
