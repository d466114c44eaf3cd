// Export of an engine graph to an ONNX model that passes onnx.checker and re-imports to the same
// graph (import_onnx). See docs/onnx.md.
#pragma once

#include <string>

#include "core/graph.hpp"

namespace qreg {

/// Writes `graph` with parameter values `params` (indexed like graph.params, shapes as there) to
/// `path` as an ONNX model of opset `opset` (11–17), atomically. The input gets a dynamic batch
/// dimension "N"; Gemm is written with transB=1 (W [out, in]); Reshape's per-sample shape becomes
/// an INT64 initializer [-1, shape...]. Throws UsageError for an opset outside 11–17 and Error
/// (naming the function or the file) for mismatched parameters or a failed write.
void export_onnx(const Graph& graph, const ParamSet& params, const std::string& path, int opset = 13);

}  // namespace qreg
