// The CUDA backend's whole public face: device discovery and a factory. No CUDA headers here, so
// host code includes it freely; the kernels live one op per .cu/.cuh pair in this folder.
#pragma once

#include <memory>
#include <string>

#include "core/backend.hpp"

namespace qreg::cuda {

/// Number of usable CUDA devices; 0 with `reason` set (e.g. "no CUDA driver") when there are none.
int device_count(std::string* reason = nullptr);
/// A backend on device 0. Throws qreg::Error when no device is usable.
std::unique_ptr<Backend> make_backend();

}  // namespace qreg::cuda
