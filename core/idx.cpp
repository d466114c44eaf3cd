#include "core/idx.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace qreg {
namespace {

// An IDX dimension is a uint32; no real file has more than 2^40 bytes, so a header that claims
// more is corrupt and is rejected before any arithmetic can overflow.
constexpr std::int64_t kMaxIdxBytes = std::int64_t{1} << 40;

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

const char* idx_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

std::string hex_byte(std::uint8_t b) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

std::vector<std::uint8_t> read_gz_or_plain(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": file not found");
  // gzread passes a file without a gzip header through unchanged, so one path serves both.
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  constexpr unsigned kChunk = 1u << 20;
  for (;;) {
    const std::size_t old = bytes.size();
    bytes.resize(old + kChunk);
    const int got = gzread(f, bytes.data() + old, kChunk);
    bytes.resize(old + static_cast<std::size_t>(got > 0 ? got : 0));
    if (got <= 0) break;
  }
  // A stream that ends early is not a read error to gzread: it returns the bytes it has and
  // records Z_BUF_ERROR ("unexpected end of file"), so the error state is checked explicitly.
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  const std::string what = msg ? msg : "";
  const int close_rc = gzclose(f);
  if (err != Z_OK && err != Z_STREAM_END) throw Error(path + ": truncated or corrupt gzip data (zlib: " + what + ")");
  if (close_rc != Z_OK)
    throw Error(path + ": truncated or corrupt gzip data (zlib close error " + std::to_string(close_rc) + ")");
  return bytes;
}

IdxBytes read_idx_ubyte(const std::string& path, int expected_rank) {
  const std::vector<std::uint8_t> bytes = read_gz_or_plain(path);
  if (bytes.size() < 4)
    throw Error(path + ": too short for an IDX header (" + std::to_string(bytes.size()) + " bytes)");
  if (bytes[0] != 0 || bytes[1] != 0)
    throw Error(path + ": bad IDX magic " + hex_byte(bytes[0]) + hex_byte(bytes[1]).substr(2) +
                hex_byte(bytes[2]).substr(2) + hex_byte(bytes[3]).substr(2) + ", expected 0x0000080N");
  if (bytes[2] != 0x08)
    throw Error(path + ": IDX type " + hex_byte(bytes[2]) + " (" + idx_type_name(bytes[2]) +
                ") is not supported, expected 0x08 (unsigned byte)");
  const int rank = bytes[3];
  if (rank == 0 || (expected_rank > 0 && rank != expected_rank))
    throw Error(path + ": IDX rank " + std::to_string(rank) + ", expected " +
                (expected_rank > 0 ? std::to_string(expected_rank) : std::string("at least 1")));
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  if (bytes.size() < header)
    throw Error(path + ": truncated IDX header (" + std::to_string(bytes.size()) + " bytes, need " +
                std::to_string(header) + ")");
  IdxBytes out;
  std::int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const std::int64_t d = read_be32(bytes.data() + 4 + 4 * i);
    out.dims.push_back(d);
    count = (d == 0 || count <= kMaxIdxBytes / d) ? count * d : kMaxIdxBytes + 1;
  }
  if (count > kMaxIdxBytes) throw Error(path + ": IDX dimensions " + to_string(out.dims) + " are implausibly large");
  const auto payload = static_cast<std::int64_t>(bytes.size() - header);
  if (payload < count)
    throw Error(path + ": truncated IDX data: dimensions " + to_string(out.dims) + " need " + std::to_string(count) +
                " bytes, file has " + std::to_string(payload));
  if (payload > count)
    throw Error(path + ": " + std::to_string(payload - count) + " unexpected bytes after the IDX data of dimensions " +
                to_string(out.dims));
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

}  // namespace qreg
