// Import of ONNX models (as exported by PyTorch, opsets 11–18) into the engine's graph IR.
// See docs/onnx.md for the supported ops and attributes and what the import normalises.
#pragma once

#include <string>

#include "core/graph.hpp"

namespace qreg {

/// Reads the ONNX model at `path` into a finalized Graph whose default parameter values are the
/// model's initializers (Gemm weights normalised to [out, in]; MatMul + Add(bias) folded into a
/// Gemm). The input is the single non-initializer graph input, batch dimension dropped.
/// Throws Error starting with `path` for a missing, corrupt or truncated file, and naming the
/// node and its op for an unsupported op or attribute value.
Graph import_onnx(const std::string& path);

}  // namespace qreg
