// Elementwise fake quantization on the device; CPU twin: Backend::fake_quantize of the CPU backend.
#pragma once

#include <cstdint>

namespace qreg::cuda {

/// y[i] = step · clamp(round(x[i] / step), -qmax, qmax) for device pointers x, y of n floats.
void fake_quantize_device(const float* x, float step, std::int32_t qmax, float* y, std::int64_t n);

}  // namespace qreg::cuda
