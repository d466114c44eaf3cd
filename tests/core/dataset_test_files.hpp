// Helpers for the dataset tests: a per-test temporary folder and writers of small IDX, gzip and
// raw .npy files, so that every bad-input case is built byte by byte inside the test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace qreg::test {

/// A fresh folder named after the running test, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("qreg_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// An unsigned-byte IDX file: magic 00 00 08 <rank>, big-endian uint32 dims, then the payload.
inline std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& payload) {
  std::string s = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((d >> shift) & 0xFF);
  s.append(payload.begin(), payload.end());
  return s;
}

inline void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Gzip-compresses `bytes` into `path` with zlib's gzopen/gzwrite.
inline void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

/// Cuts `path` down to its first `size` bytes.
inline void truncate_file(const std::string& path, std::uintmax_t size) { std::filesystem::resize_file(path, size); }

/// A .npy 1.0 file with the given header dictionary text and raw data bytes, padded like numpy.
inline std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xFF);
  s += static_cast<char>(header.size() >> 8);
  return s + header + data;
}

/// The raw little-endian bytes of a vector of trivially copyable values.
template <class T>
std::string raw_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

/// Whether `what` is one line containing every one of `parts` (e.g. the file name).
inline ::testing::AssertionResult mentions(const std::string& what, const std::vector<std::string>& parts) {
  for (const auto& p : parts)
    if (what.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << what << "' lacks '" << p << "'";
  if (what.find('\n') != std::string::npos) return ::testing::AssertionFailure() << "'" << what << "' is not one line";
  return ::testing::AssertionSuccess();
}

}  // namespace qreg::test

/// Expects `stmt` to throw `type` with a one-line message containing every string of the list.
#define QREG_EXPECT_THROW_MENTIONS(stmt, type, ...)                        \
  do {                                                                     \
    try {                                                                  \
      stmt;                                                                \
      ADD_FAILURE() << #stmt " did not throw";                             \
    } catch (const type& e) {                                              \
      EXPECT_TRUE(::qreg::test::mentions(e.what(), __VA_ARGS__)) << #stmt; \
    }                                                                      \
  } while (0)
