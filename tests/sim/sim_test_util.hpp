// Fixtures shared by the simulator tests: a two-layer linear network and random calibration data.
#pragma once

#include <cstdint>
#include <utility>

#include "core/dataset.hpp"
#include "core/graph.hpp"
#include "core/rng.hpp"

namespace qreg::test {

/// Tensor of `shape` with entries U(lo, hi) from stream (seed, stream).
inline Tensor uniform_tensor(Shape shape, std::uint64_t seed, std::uint64_t stream, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(std::move(shape));
  RandomStream rs(seed, stream);
  for (auto& v : t.values()) v = rs.uniform(lo, hi);
  return t;
}

/// x [in] → Gemm fc1 (W1 [hidden, in], b1) → Gemm fc2 (W2 [out, hidden], b2): no activation.
inline Graph linear_net(std::int64_t in, std::int64_t hidden, std::int64_t out, std::uint64_t seed) {
  Graph g;
  g.name = "linear";
  g.input_shape = {in};
  int prev = g.add_value("x", {in});
  const std::int64_t widths[3] = {in, hidden, out};
  for (int k = 0; k < 2; ++k) {
    Node n;
    n.name = "fc" + std::to_string(k + 1);
    n.op = OpType::Gemm;
    n.inputs = {prev};
    const int node = static_cast<int>(g.nodes.size());
    n.params.push_back(g.add_param(n.name + ".weight", ParamRole::Weight, node,
                                   uniform_tensor({widths[k + 1], widths[k]}, seed, 2 * k)));
    n.params.push_back(g.add_param(n.name + ".bias", ParamRole::Bias, node,
                                   uniform_tensor({widths[k + 1]}, seed, 2 * k + 1, -0.1f, 0.1f)));
    n.output = g.add_value(n.name + "_out", {});
    prev = n.output;
    g.nodes.push_back(std::move(n));
  }
  g.output = prev;
  g.finalize();
  return g;
}

/// n samples of U(lo, hi)^shape with labels in [0, classes) (or none when classes == 0).
inline Dataset random_data(std::int64_t n, Shape shape, int classes, std::uint64_t seed, float lo = -1.0f,
                           float hi = 1.0f) {
  Dataset d;
  d.name = "random";
  shape.insert(shape.begin(), n);
  d.inputs = uniform_tensor(shape, seed, 100, lo, hi);
  d.num_classes = classes;
  RandomStream rs(seed, 101);
  if (classes > 0)
    for (std::int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rs.next_u32() % classes));
  return d;
}

}  // namespace qreg::test
