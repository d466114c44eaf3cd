// Calibration statistics: a single pass of inference forwards, summing per-unit moments in a fixed
// sample order (deterministic for any thread count).
#include "theory/calibration.hpp"

#include <algorithm>
#include <limits>

#include "core/error.hpp"
#include "core/executor.hpp"

namespace qreg::theory {
namespace {

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

/// Adds the argmax slot counts of one MaxPool node for the batch in `x` [B, C, H, W] -> out [C, Ho, Wo].
void count_argmax(const Node& node, const Shape& in, const Shape& out, const Tensor& x, std::vector<double>& freq) {
  const auto k = node.attrs.get_ints("kernel_shape", {1, 1});
  const auto s = node.attrs.get_ints("strides", {1, 1});  // ONNX default stride 1
  const auto p = node.attrs.get_ints("pads", {0, 0, 0, 0});
  const std::int64_t C = in[0], H = in[1], W = in[2], Ho = out[1], Wo = out[2], B = x.dim(0);
  for (std::int64_t n = 0; n < B; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t oy = 0; oy < Ho; ++oy)
        for (std::int64_t ox = 0; ox < Wo; ++ox) {
          float best = -std::numeric_limits<float>::infinity();
          std::int64_t slot = -1;
          for (std::int64_t ky = 0; ky < k[0]; ++ky)
            for (std::int64_t kx = 0; kx < k[1]; ++kx) {
              const std::int64_t iy = oy * s[0] + ky - p[0], ix = ox * s[1] + kx - p[1];
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const float v = x[((n * C + c) * H + iy) * W + ix];
              if (v > best) best = v, slot = ky * k[1] + kx;
            }
          if (slot >= 0) freq[sz(((c * Ho + oy) * Wo + ox) * k[0] * k[1] + slot)] += 1.0;
        }
}

}  // namespace

CalibrationStats calibration_stats(const Graph& graph, const ParamSet& params, const Tensor& x, std::int64_t batch) {
  if (x.rank() < 1 || x.dim(0) == 0) throw Error("calibration_stats: empty calibration set");
  const auto layers = quant_layers(graph);
  CalibrationStats st;
  st.samples = x.dim(0);
  for (const Shape& shape : graph.value_shapes) {
    st.mean_sq.emplace_back(sz(numel(shape)), 0.0);
    st.frac_pos.emplace_back(sz(numel(shape)), 0.0);
  }
  st.argmax_freq.resize(graph.nodes.size());
  for (std::size_t i = 0; i < graph.nodes.size(); ++i)
    if (graph.nodes[i].op == OpType::MaxPool) {
      const auto k = graph.nodes[i].attrs.get_ints("kernel_shape", {1, 1});
      st.argmax_freq[i].assign(sz(numel(graph.value_shapes[sz(graph.nodes[i].output)]) * k[0] * k[1]), 0.0);
    }
  st.signal.assign(layers.size(), 0.0);
  st.self.resize(layers.size());
  for (const auto& l : layers) st.self[sz(l.index)].assign(sz(l.channels), 0.0);

  Executor exec(graph);
  std::vector<double> buf;
  const std::int64_t N = x.dim(0), B = std::max<std::int64_t>(1, batch);
  for (std::int64_t b = 0; b < N; b += B) {
    exec.forward(batch_slice(x, b, std::min(N, b + B)), params);
    const std::int64_t nb = exec.batch_size();
    for (int v = 0; v < graph.num_values(); ++v) {
      const Tensor& t = exec.value(v);
      auto& sq = st.mean_sq[sz(v)];
      auto& pos = st.frac_pos[sz(v)];
      const std::int64_t U = static_cast<std::int64_t>(sq.size());
      for (std::int64_t n = 0; n < nb; ++n)
        for (std::int64_t u = 0; u < U; ++u) {
          const double a = t[n * U + u];
          sq[sz(u)] += a * a;
          pos[sz(u)] += a > 0 ? 1.0 : 0.0;
        }
    }
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& node = graph.nodes[i];
      if (node.op == OpType::MaxPool)
        count_argmax(node, graph.value_shapes[sz(node.inputs[0])], graph.value_shapes[sz(node.output)],
                     exec.value(node.inputs[0]), st.argmax_freq[i]);
    }
    for (const auto& l : layers) {
      per_sample_input_norms(graph, l, exec.value(l.input), buf);
      auto& self = st.self[sz(l.index)];
      for (std::size_t i = 0; i < buf.size(); ++i) self[i % self.size()] += buf[i];
    }
  }
  const double n = static_cast<double>(N);
  for (auto& m : st.mean_sq)
    for (double& v : m) v /= n;
  for (auto& m : st.frac_pos)
    for (double& v : m) v /= n;
  for (auto& m : st.argmax_freq)
    for (double& v : m) v /= n;
  for (const auto& l : layers) {
    const auto& sq = st.mean_sq[sz(l.output)];
    double s = 0;
    for (double v : sq) s += v;
    st.signal[sz(l.index)] = s / static_cast<double>(sq.size());
    for (double& v : st.self[sz(l.index)]) v /= n * static_cast<double>(layer_output_size(graph, l));
  }
  return st;
}

double self_noise(const CalibrationStats& stats, const std::vector<LayerNoise>& noise, std::size_t layer) {
  double v = 0;
  for (std::size_t c = 0; c < stats.self.at(layer).size(); ++c) v += noise.at(layer).var[c] * stats.self[layer][c];
  return v;
}

}  // namespace qreg::theory
