#include "train/regularizers.hpp"

#include <string>

#include "core/act_quant.hpp"
#include "core/bits.hpp"
#include "core/error.hpp"

namespace qreg {

std::uint64_t dropout_stream(int epoch, std::int64_t step) {
  return (std::uint64_t{1} << 62) + (static_cast<std::uint64_t>(epoch) << 32) + static_cast<std::uint64_t>(step);
}

namespace {

void check_options(int act_bits, double dropout) {
  if (act_bits != kFloatBits && (act_bits < kMinBits || act_bits > kMaxBits))
    throw UsageError("train: act_bits " + std::to_string(act_bits) + " is not in [" + std::to_string(kMinBits) + ", " +
                     std::to_string(kMaxBits) + "] (or 32: off)");
  if (!(dropout >= 0.0 && dropout < 1.0))
    throw UsageError("train: dropout " + std::to_string(dropout) + " is not in [0, 1) (0: off)");
}

}  // namespace

Graph training_graph(const Graph& model, int act_bits, double dropout) {
  check_options(act_bits, dropout);
  Graph g = model;
  if (act_bits != kFloatBits && activation_bits(g) == kFloatBits) g = with_activation_quant(g, act_bits);
  if (dropout > 0.0 && dropout_ratio(g) == 0.0f) g = with_dropout(g, static_cast<float>(dropout));
  check_training_graph(g, act_bits, dropout);
  return g;
}

void check_training_graph(const Graph& graph, int act_bits, double dropout) {
  check_options(act_bits, dropout);
  const int have_bits = activation_bits(graph);
  if (have_bits != act_bits)
    throw UsageError("train: model '" + graph.name + "' quantizes activations to " + std::to_string(have_bits) +
                     " bits (32: not at all) but --act-bits is " + std::to_string(act_bits));
  const float have_ratio = dropout_ratio(graph);
  if (have_ratio != static_cast<float>(dropout))
    throw UsageError("train: model '" + graph.name + "' has dropout " + std::to_string(have_ratio) +
                     " but --dropout is " + std::to_string(dropout));
}

}  // namespace qreg
