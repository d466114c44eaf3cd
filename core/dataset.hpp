// Labelled datasets as the engine consumes them: inputs [N, ...] float32 and int32 labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg {

struct Dataset {
  std::string name;                  // e.g. "fashion-mnist:test"
  Tensor inputs;                     // [N, C, H, W] or [N, F], scaled (pixel/255 by default)
  std::vector<std::int32_t> labels;  // N entries in [0, num_classes), or empty when unlabelled
  int num_classes = 0;

  std::int64_t size() const { return inputs.rank() ? inputs.dim(0) : 0; }
};

}  // namespace qreg
