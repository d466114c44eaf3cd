// Accuracy and mean cross-entropy of a network on a labelled dataset, for any parameter set.
// Shared by `qreg eval`, training's per-epoch validation and the simulators' loss terms.
#pragma once

#include <cstdint>

#include "core/dataset.hpp"
#include "core/graph.hpp"

namespace qreg {

struct EvalResult {
  double loss = 0.0;      // mean softmax cross-entropy (nats)
  double accuracy = 0.0;  // share of samples whose argmax logit is the label
  std::int64_t samples = 0;
};

/// Evaluates `graph` with `params` on `data` in chunks of `batch` samples (inference mode: batch
/// norm uses running statistics). Chunks run in parallel, each with its own executor, and are
/// summed in chunk order, so the result is bitwise the same for any thread count.
/// Throws Error when the data has no labels or its sample shape does not match the graph input.
EvalResult evaluate(const Graph& graph, const ParamSet& params, const Dataset& data, std::int64_t batch = 256);

}  // namespace qreg
