// Helpers shared by the engine tests: one-op graphs and seeded random tensors.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "core/graph.hpp"
#include "core/rng.hpp"

namespace qreg::test {

/// Tensor of `shape` with entries U(lo, hi) from stream (seed, stream).
inline Tensor random_tensor(Shape shape, std::uint64_t stream, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(std::move(shape));
  RandomStream rs(12345, stream);
  for (auto& v : t.values()) v = rs.uniform(lo, hi);
  return t;
}

/// Same shape and the same bits in every element.
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

/// Entries with |v| in [0.1, 1] and random sign: at least 0.1 away from the ReLU kink.
inline Tensor away_from_zero(Shape shape, std::uint64_t stream) {
  Tensor t = random_tensor(std::move(shape), stream, 0.1f, 1.0f);
  RandomStream rs(999, stream);
  for (auto& v : t.values()) v *= rs.rademacher();
  return t;
}

/// A graph with one node of `op` on input `in`; params are (role, value) in node order.
inline Graph single_op(OpType op, Shape in, std::vector<std::pair<ParamRole, Tensor>> params = {},
                       Attributes attrs = {}, int inputs = 1) {
  Graph g;
  g.name = "single";
  g.input_shape = in;
  g.add_value("x", in);
  Node n;
  n.name = "the_node";
  n.op = op;
  n.inputs.assign(static_cast<std::size_t>(inputs), 0);
  n.attrs = std::move(attrs);
  for (auto& [role, value] : params) n.params.push_back(g.add_param("p", role, 0, std::move(value)));
  n.output = g.add_value("y", {});
  g.output = n.output;
  g.nodes.push_back(std::move(n));
  g.finalize();
  return g;
}

}  // namespace qreg::test
