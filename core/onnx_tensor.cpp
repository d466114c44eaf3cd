#include "core/onnx_tensor.hpp"

#include <bit>
#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace qreg::onnx_detail {
namespace {

// raw_data is little-endian by the ONNX spec; memcpy is only a valid decoding on such a host.
static_assert(std::endian::native == std::endian::little, "ONNX raw_data decoding assumes a little-endian host");

Shape dims_of(const onnx::TensorProto& proto, const std::string& where) {
  Shape shape;
  for (const std::int64_t d : proto.dims()) {
    if (d < 0) throw Error(where + ": negative dimension in tensor '" + proto.name() + "'");
    shape.push_back(d);
  }
  return shape;
}

void check_internal(const onnx::TensorProto& proto, const std::string& where) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(where + ": tensor '" + proto.name() + "' uses external data, which is not supported");
}

template <typename T>
std::vector<T> raw_values(const onnx::TensorProto& proto, std::int64_t count, const std::string& where) {
  const std::string& raw = proto.raw_data();
  if (raw.size() != static_cast<std::size_t>(count) * sizeof(T))
    throw Error(where + ": tensor '" + proto.name() + "' has " + std::to_string(raw.size()) +
                " bytes of data, expected " + std::to_string(count * static_cast<std::int64_t>(sizeof(T))));
  std::vector<T> out(static_cast<std::size_t>(count));
  if (count > 0) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

void check_count(const onnx::TensorProto& proto, std::int64_t have, std::int64_t want, const std::string& where) {
  if (have != want)
    throw Error(where + ": tensor '" + proto.name() + "' has " + std::to_string(have) + " values, its dims say " +
                std::to_string(want));
}

}  // namespace

Tensor to_tensor(const onnx::TensorProto& proto, const std::string& where) {
  check_internal(proto, where);
  if (proto.data_type() != onnx::TensorProto::FLOAT)
    throw Error(where + ": tensor '" + proto.name() + "' has element type " + std::to_string(proto.data_type()) +
                ", only float32 is supported");
  const Shape shape = dims_of(proto, where);
  const std::int64_t count = numel(shape);
  std::vector<float> data;
  if (proto.has_raw_data()) {
    data = raw_values<float>(proto, count, where);
  } else {
    check_count(proto, proto.float_data_size(), count, where);
    data.assign(proto.float_data().begin(), proto.float_data().end());
  }
  for (const float v : data)
    if (!std::isfinite(v)) throw Error(where + ": tensor '" + proto.name() + "' holds NaN or Inf values");
  return Tensor(shape, std::span<const float>(data));
}

bool is_integer(const onnx::TensorProto& proto) {
  const int t = proto.data_type();
  return t == onnx::TensorProto::INT64 || t == onnx::TensorProto::INT32 || t == onnx::TensorProto::BOOL;
}

std::vector<std::int64_t> to_ints(const onnx::TensorProto& proto, const std::string& where) {
  check_internal(proto, where);
  if (!is_integer(proto))
    throw Error(where + ": tensor '" + proto.name() + "' is not an integer tensor (element type " +
                std::to_string(proto.data_type()) + ")");
  const std::int64_t count = numel(dims_of(proto, where));
  const int type = proto.data_type();
  if (proto.has_raw_data()) {
    if (type == onnx::TensorProto::INT64) return raw_values<std::int64_t>(proto, count, where);
    if (type == onnx::TensorProto::INT32) {
      const auto v = raw_values<std::int32_t>(proto, count, where);
      return {v.begin(), v.end()};
    }
    const auto v = raw_values<std::uint8_t>(proto, count, where);  // BOOL: one byte each
    return {v.begin(), v.end()};
  }
  if (type == onnx::TensorProto::INT64) {
    check_count(proto, proto.int64_data_size(), count, where);
    return {proto.int64_data().begin(), proto.int64_data().end()};
  }
  check_count(proto, proto.int32_data_size(), count, where);  // INT32 and BOOL live in int32_data
  return {proto.int32_data().begin(), proto.int32_data().end()};
}

void from_tensor(const Tensor& tensor, const std::string& name, onnx::TensorProto* proto) {
  proto->set_name(name);
  proto->set_data_type(onnx::TensorProto::FLOAT);
  for (const std::int64_t d : tensor.shape()) proto->add_dims(d);
  proto->set_raw_data(reinterpret_cast<const char*>(tensor.data()),
                      static_cast<std::size_t>(tensor.size()) * sizeof(float));
}

void from_ints(const std::vector<std::int64_t>& ints, const std::string& name, onnx::TensorProto* proto) {
  proto->set_name(name);
  proto->set_data_type(onnx::TensorProto::INT64);
  proto->add_dims(static_cast<std::int64_t>(ints.size()));
  for (const std::int64_t v : ints) proto->add_int64_data(v);
}

}  // namespace qreg::onnx_detail
