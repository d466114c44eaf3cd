// Internal to qreg_core (includes the ONNX protobuf headers): conversion between ONNX
// TensorProto and qreg tensors, shared by onnx_import.cpp and onnx_export.cpp.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg::onnx_detail {

/// A FLOAT tensor (raw_data little-endian or float_data) as a Tensor of the same dims.
/// Throws Error starting with `where` for other element types, external data, a size mismatch
/// or a non-finite value.
Tensor to_tensor(const onnx::TensorProto& proto, const std::string& where);

/// An INT64, INT32 or BOOL tensor (raw_data or typed data) as a flat list.
std::vector<std::int64_t> to_ints(const onnx::TensorProto& proto, const std::string& where);

/// True when `proto` holds an integer (INT64, INT32, BOOL) tensor.
bool is_integer(const onnx::TensorProto& proto);

/// Fills `proto` with a FLOAT tensor named `name` (raw_data, little-endian).
void from_tensor(const Tensor& tensor, const std::string& name, onnx::TensorProto* proto);

/// Fills `proto` with a 1-D INT64 tensor named `name`.
void from_ints(const std::vector<std::int64_t>& ints, const std::string& name, onnx::TensorProto* proto);

}  // namespace qreg::onnx_detail
