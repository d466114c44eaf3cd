// NumPy .npy files (format versions 1.0, 2.0, 3.0): a small Python-dict header, then raw data.
// Only what qreg exchanges is supported: little-endian float32 tensors and int64/int32 labels,
// C order. Hand-written because no maintained C++ npy library is packaged for Debian.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg {

/// A parsed .npy header.
struct NpyHeader {
  std::string descr;            // dtype string, e.g. "<f4", "<i8"
  bool fortran_order = false;   // true: column-major data (rejected by the readers)
  Shape shape;                  // {} for a scalar
  std::size_t data_offset = 0;  // bytes from the file start to the first element
};

/// Parses the header of an in-memory .npy file; `path` only names the file in errors.
/// Throws Error on a bad magic, an unknown version, a truncated or malformed header.
NpyHeader parse_npy_header(const std::string& path, const std::vector<char>& bytes);

/// Reads a float32 little-endian C-order array of any rank. Throws Error naming `path` on a
/// missing file, a malformed header, fortran order, any other dtype (named in the message),
/// or data shorter or longer than the shape needs.
Tensor read_npy_float(const std::string& path);

/// Reads a 1-D int64 (or int32) little-endian array, e.g. class labels. Same errors as above.
std::vector<std::int64_t> read_npy_int64(const std::string& path);

/// Writes `t` as float32 little-endian C order (format 1.0), atomically: the file either
/// appears whole or not at all. Throws Error naming `path` when it cannot be written.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace qreg
