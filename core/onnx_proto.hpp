// Internal to qreg_core (includes the ONNX protobuf headers): reading a model file, node errors
// and typed attribute access, and conversion between ONNX TensorProto and qreg tensors; shared by
// the importer (onnx_import.cpp, onnx_import_ops.cpp) and onnx_export.cpp.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg::onnx_detail {

/// Parses the model at `path`; Error starting with `path` when it cannot be read or parsed.
onnx::ModelProto read_model(const std::string& path);

/// Error "node '<name>' (<op>): <what>" (import_onnx prefixes the file).
[[noreturn]] void node_error(const onnx::NodeProto& n, const std::string& what);

/// Error for any attribute of `n` not in `allowed`.
void allow_attrs(const onnx::NodeProto& n, std::initializer_list<const char*> allowed);

/// Attribute `key` of `n` or `fallback` when absent; Error when present with another type.
std::int64_t attr_int(const onnx::NodeProto& n, const std::string& key, std::int64_t fallback);
std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, const std::string& key,
                                    std::vector<std::int64_t> fallback);
float attr_float(const onnx::NodeProto& n, const std::string& key, float fallback);
std::string attr_string(const onnx::NodeProto& n, const std::string& key, std::string fallback);

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
