#include "core/npy.hpp"

#include <bit>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qreg {
namespace {

static_assert(std::endian::native == std::endian::little, "npy I/O copies little-endian data as is");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;

// Reads the header dictionary, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// with a small recursive-descent cursor; any deviation is reported with the file name.
class DictCursor {
 public:
  DictCursor(const std::string& path, std::string_view text) : path_(path), text_(text) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!peek_is('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (peek_is('[')) fail("structured dtypes are not supported");
        h.descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        seen_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!peek_is('}')) expect(',');
    }
    if (!seen_descr || !seen_order || !seen_shape) fail("missing 'descr', 'fortran_order' or 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(path_ + ": malformed .npy header: " + what); }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool peek_is(char c) {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek_is(c)) fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a quoted string");
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("expected True or False");
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (!peek_is(')')) {
      std::int64_t d = 0;
      bool any = false;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (d > (std::int64_t{1} << 50)) fail("dimension too large");
        d = d * 10 + (text_[pos_++] - '0');
        any = true;
      }
      if (!any) fail("expected a non-negative integer dimension");
      shape.push_back(d);
      if (!peek_is(')')) expect(',');
    }
    ++pos_;
    return shape;
  }

  const std::string& path_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::vector<char> read_all(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": file not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read error");
  return bytes;
}

std::string dtype_name(const std::string& descr) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"f2", "float16"}, {"f4", "float32"}, {"f8", "float64"}, {"i1", "int8"},   {"i2", "int16"},  {"i4", "int32"},
      {"i8", "int64"},   {"u1", "uint8"},   {"u2", "uint16"},  {"u4", "uint32"}, {"u8", "uint64"}, {"b1", "bool"}};
  const std::string code = descr.size() > 1 ? descr.substr(1) : descr;
  const std::string order = descr.empty() ? "" : (descr[0] == '>' ? "big-endian " : "");
  for (const auto& [c, name] : kNames)
    if (code == c) return "'" + descr + "' (" + order + name + ")";
  return "'" + descr + "'";
}

// Checks the layout and returns the element count; `item` is the element size in bytes.
std::int64_t checked_count(const std::string& path, const NpyHeader& h, std::size_t file_size, std::size_t item) {
  if (h.fortran_order) throw Error(path + ": fortran_order arrays are not supported (save with C order)");
  std::int64_t count = 1;
  for (const std::int64_t d : h.shape) {
    if (d != 0 && count > (std::int64_t{1} << 50) / d)
      throw Error(path + ": shape " + to_string(h.shape) + " too large");
    count *= d;
  }
  const std::size_t have = file_size - h.data_offset, need = static_cast<std::size_t>(count) * item;
  if (have < need)
    throw Error(path + ": truncated .npy data: shape " + to_string(h.shape) + " needs " + std::to_string(need) +
                " bytes, file has " + std::to_string(have));
  if (have > need) throw Error(path + ": " + std::to_string(have - need) + " unexpected bytes after the .npy data");
  return count;
}

}  // namespace

NpyHeader parse_npy_header(const std::string& path, const std::vector<char>& bytes) {
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    throw Error(path + ": not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t len = 0, start = 0;
  if (major == 1) {
    len = std::size_t{u[8]} | (std::size_t{u[9]} << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(path + ": truncated .npy header");
    len = std::size_t{u[8]} | (std::size_t{u[9]} << 8) | (std::size_t{u[10]} << 16) | (std::size_t{u[11]} << 24);
    start = 12;
  } else {
    throw Error(path + ": unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() - start < len)
    throw Error(path + ": truncated .npy header (" + std::to_string(len) + " bytes announced, " +
                std::to_string(bytes.size() - start) + " present)");
  NpyHeader h = DictCursor(path, std::string_view(bytes.data() + start, len)).parse();
  h.data_offset = start + len;
  return h;
}

Tensor read_npy_float(const std::string& path) {
  const std::vector<char> bytes = read_all(path);
  const NpyHeader h = parse_npy_header(path, bytes);
  if (h.descr != "<f4")
    throw Error(path + ": dtype " + dtype_name(h.descr) + " is not supported, expected '<f4' (float32)");
  const std::int64_t count = checked_count(path, h, bytes.size(), sizeof(float));
  Tensor t(h.shape);
  if (count) std::memcpy(t.data(), bytes.data() + h.data_offset, static_cast<std::size_t>(count) * sizeof(float));
  return t;
}

std::vector<std::int64_t> read_npy_int64(const std::string& path) {
  const std::vector<char> bytes = read_all(path);
  const NpyHeader h = parse_npy_header(path, bytes);
  if (h.descr != "<i8" && h.descr != "<i4")
    throw Error(path + ": dtype " + dtype_name(h.descr) + " is not supported, expected '<i8' (int64) or '<i4' (int32)");
  if (h.shape.size() != 1) throw Error(path + ": expected a 1-D array, got shape " + to_string(h.shape));
  const std::size_t item = h.descr == "<i8" ? 8 : 4;
  const std::int64_t count = checked_count(path, h, bytes.size(), item);
  std::vector<std::int64_t> out(static_cast<std::size_t>(count));
  const char* src = bytes.data() + h.data_offset;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (item == 8) {
      std::memcpy(&out[i], src + 8 * i, 8);
    } else {
      std::int32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      out[i] = v;
    }
  }
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (std::size_t i = 0; i < t.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // numpy pads the header with spaces and a final newline so the data starts 64-byte aligned.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  QREG_ASSERT(header.size() <= 65535, "npy 1.0 header length fits in 16 bits");
  write_file_atomic(path, [&](std::ostream& os) {
    const char prefix[10] = {'\x93',
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             static_cast<char>(header.size() & 0xFF),
                             static_cast<char>(header.size() >> 8)};
    os.write(prefix, 10);
    os.write(header.data(), static_cast<std::streamsize>(header.size()));
    os.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.size() * sizeof(float)));
  });
}

}  // namespace qreg
