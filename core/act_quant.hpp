// Graph transforms that add the training-side activation ops after every Relu:
// - with_activation_quant: an ActQuant node (unsigned per-tensor fake-quantizer, core/ops/act_quant.cpp)
//   whose running max is a graph parameter (role ActMax, like batch norm's running statistics), so
//   parameter sets, checkpoints and resume carry it with no extra state;
// - with_dropout: a Dropout node (inverted dropout in training forwards, identity in inference).
// Both keep every existing value, parameter and name; consumers of a Relu's output (and the graph
// output, when it is one) read the new node's output instead.
#pragma once

#include "core/graph.hpp"

namespace qreg {

/// Momentum of the running max: running = 0.9·running + 0.1·batch max (batch norm's default).
constexpr float kActQuantMomentum = 0.9f;

/// `graph` with Relu → ActQuant(bits) after every Relu. The running max of the quantizer after
/// Relu node "r" is parameter "r.act_max" (shape [1], starts at 0 = not calibrated: the first
/// training forward sets it to the batch max). UsageError for bits outside [2, 16] or a graph
/// that already has ActQuant nodes.
Graph with_activation_quant(const Graph& graph, int bits);

/// `graph` with a Dropout(ratio) node after every Relu (after its ActQuant when there is one)
/// whose output is not the graph output. ratio 0 returns the graph unchanged. UsageError for a
/// ratio outside [0, 1) or a graph that already has Dropout nodes.
Graph with_dropout(const Graph& graph, float ratio);

/// Bits of the graph's ActQuant nodes, 32 when it has none; Error when they differ.
int activation_bits(const Graph& graph);
/// Ratio of the graph's Dropout nodes, 0 when it has none; Error when they differ.
float dropout_ratio(const Graph& graph);

}  // namespace qreg
