// IDX files (the MNIST / Fashion-MNIST format): a big-endian header and unsigned-byte payload,
// gzip-compressed or plain. Magic = 0x00 0x00 <type code> <rank>, then rank uint32 dims.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace qreg {

/// The contents of an IDX file of unsigned bytes (type code 0x08).
struct IdxBytes {
  Shape dims;                      // e.g. [N, rows, cols] for images, [N] for labels
  std::vector<std::uint8_t> data;  // numel(dims) bytes, row-major
};

/// Reads an unsigned-byte IDX file, gzip-compressed (by content, not name) or plain.
/// `expected_rank` > 0 requires that rank. Throws Error naming `path` on a missing file, a bad
/// magic, an unsupported type code, a truncated or corrupt gzip stream, a payload shorter or
/// longer than the header says.
IdxBytes read_idx_ubyte(const std::string& path, int expected_rank = 0);

/// All bytes of a gzip-compressed or plain file. Throws Error naming `path` on a missing file
/// and on a truncated or corrupt gzip stream.
std::vector<std::uint8_t> read_gz_or_plain(const std::string& path);

}  // namespace qreg
