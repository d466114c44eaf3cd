// The activation-side training options of a run: activation quantization after every Relu
// (`--act-bits`) and dropout after every hidden Relu (`--dropout`), both graph transforms of
// core/act_quant.hpp applied to the model before training, plus the random stream of the masks.
#pragma once

#include <cstdint>

#include "core/graph.hpp"

namespace qreg {

/// Random stream of the dropout masks of step `step` in epoch `epoch`: 2^62 + epoch·2^32 + step
/// (apart from the shuffle 2^32 + e, weight noise 2^63 + ..., and model init 0..P−1 streams).
std::uint64_t dropout_stream(int epoch, std::int64_t step);

/// `model` with the run's activation ops: ActQuant(act_bits) after every Relu unless act_bits is
/// 32, then Dropout(dropout) after every hidden Relu unless dropout is 0. Ops the model already
/// has (an imported trained model) are kept when they agree. UsageError for act_bits outside
/// [2, 16] ∪ {32}, dropout outside [0, 1), or a model whose ops disagree with the options.
Graph training_graph(const Graph& model, int act_bits, double dropout);

/// UsageError unless `graph`'s ActQuant bits and Dropout ratio are act_bits (32: none) and
/// dropout (0: none), i.e. the graph is what training_graph makes for these options.
void check_training_graph(const Graph& graph, int act_bits, double dropout);

}  // namespace qreg
