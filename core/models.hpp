// Built-in models as Graphs, initialised reproducibly from a seed: parameter k draws from the
// Philox stream (seed, k), so the same seed gives bitwise the same weights on any machine.
// Weights are Kaiming(He)-uniform U(−√(6/fan_in), √(6/fan_in)) (gain √2 for ReLU); biases are 0;
// batch norm starts at scale 1, bias 0, running mean 0, running variance 1.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.hpp"

namespace qreg {

/// MLP on per-sample input [widths[0]] (or any shape with that many elements, see input_shape):
/// Flatten → Gemm(widths[0]→widths[1]) → Relu → ... → Gemm(→widths.back()) (logits, no Relu).
/// input_shape defaults to {1, 28, 28} when widths[0] == 784, else {widths[0]}.
/// Throws UsageError for fewer than two widths or a non-positive width.
Graph make_mlp(const std::vector<std::int64_t>& widths, std::uint64_t seed, Shape input_shape = {});

/// CNN on [1, 28, 28]: (Conv3x3 pad 1 → Relu → MaxPool2) with 16 then 32 channels,
/// Flatten (1568) → Gemm 128 → Relu → Gemm 10.
Graph make_cnn(std::uint64_t seed);

/// Tiny test CNN on [2, 6, 6] with every op the residual/BN path needs:
/// Conv3x3(2→3) → BatchNorm → Relu (a) → Conv3x3(3→3) → Add(a) → Relu → MaxPool2 →
/// AveragePool2 (stride 1, pad 1) → Flatten → Gemm(→4).
Graph make_residual_cnn(std::uint64_t seed);

}  // namespace qreg
