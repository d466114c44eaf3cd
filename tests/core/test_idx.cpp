// Tests of the IDX reader (core/idx.hpp) on small files written here: gzip and plain files read
// back byte for byte, and every corruption (truncated gzip, corrupt gzip, bad magic, wrong type
// code, wrong rank, short or long payload, missing file) is an Error naming the file. Expected
// values are the bytes the test wrote; there are no tolerances (integer data).
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.hpp"
#include "core/idx.hpp"
#include "tests/core/dataset_test_files.hpp"

namespace qreg {
namespace {

using test::idx_bytes;
using test::TempDir;

std::vector<std::uint8_t> iota_bytes(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), std::uint8_t{0});
  return v;
}

TEST(Idx, ReadsGzipImages) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  test::write_gz(path, idx_bytes({3, 2, 4}, iota_bytes(24)));
  const IdxBytes got = read_idx_ubyte(path, 3);
  EXPECT_EQ(got.dims, (Shape{3, 2, 4}));
  EXPECT_EQ(got.data, iota_bytes(24));
}

TEST(Idx, ReadsPlainLabels) {
  TempDir dir;
  const std::string path = dir.file("labels-idx1-ubyte");
  test::write_plain(path, idx_bytes({5}, {4, 0, 9, 1, 1}));
  const IdxBytes got = read_idx_ubyte(path, 1);
  EXPECT_EQ(got.dims, (Shape{5}));
  EXPECT_EQ(got.data, (std::vector<std::uint8_t>{4, 0, 9, 1, 1}));
}

TEST(Idx, ReadsLargeDimsAcrossChunks) {
  // 3 MB of payload crosses the reader's 1 MiB gzread chunks; the dims need all four header bytes.
  TempDir dir;
  const std::string path = dir.file("big.gz");
  std::vector<std::uint8_t> payload(3u << 20);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
  test::write_gz(path, idx_bytes({static_cast<std::uint32_t>(payload.size())}, payload));
  const IdxBytes got = read_idx_ubyte(path, 1);
  EXPECT_EQ(got.dims, (Shape{static_cast<std::int64_t>(payload.size())}));
  EXPECT_EQ(got.data, payload);
}

TEST(Idx, TruncatedGzipIsError) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  std::vector<std::uint8_t> payload(4000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  test::write_gz(path, idx_bytes({10, 20, 20}, payload));
  const auto full = std::filesystem::file_size(path);
  for (const std::uintmax_t keep : {full - 4, full / 2, std::uintmax_t{12}}) {
    test::truncate_file(path, keep);
    QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path), Error, {path, "truncated"});
  }
}

TEST(Idx, CorruptGzipIsError) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  std::vector<std::uint8_t> payload(4000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  test::write_gz(path, idx_bytes({10, 20, 20}, payload));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[bytes.size() - 6] ^= 0x5A;  // inside the trailer's CRC-32: the data no longer checks out
  test::write_plain(path, bytes);
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path), Error, {path, "corrupt"});
}

TEST(Idx, TruncatedPayloadIsError) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  test::write_gz(path, idx_bytes({3, 2, 4}, iota_bytes(23)));
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path, 3), Error, {path, "truncated IDX data", "24", "23"});
}

TEST(Idx, TrailingBytesAreError) {
  TempDir dir;
  const std::string path = dir.file("labels");
  test::write_plain(path, idx_bytes({3}, {1, 2, 3, 4}));
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path, 1), Error, {path, "1 unexpected bytes"});
}

TEST(Idx, WrongMagicIsError) {
  TempDir dir;
  const std::string path = dir.file("bad.gz");
  test::write_gz(path, std::string("\x01\x02\x08\x01\x00\x00\x00\x01\x07", 9));
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path), Error, {path, "bad IDX magic 0x01020801"});
}

TEST(Idx, UnsupportedTypeIsError) {
  TempDir dir;
  const std::string path = dir.file("floats");
  std::string bytes = idx_bytes({1}, {0, 0, 0, 0});
  bytes[2] = '\x0D';
  test::write_plain(path, bytes);
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path), Error, {path, "0x0D", "float32"});
}

TEST(Idx, WrongRankIsError) {
  TempDir dir;
  const std::string path = dir.file("labels.gz");
  test::write_gz(path, idx_bytes({4}, {0, 1, 2, 3}));
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(path, 3), Error, {path, "rank 1, expected 3"});
}

TEST(Idx, ShortOrEmptyOrMissingFileIsError) {
  TempDir dir;
  const std::string empty = dir.file("empty"), header = dir.file("header"), missing = dir.file("missing.gz");
  test::write_plain(empty, "");
  test::write_plain(header, std::string("\0\0\x08\x03\0\0\0\x01", 8));
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(empty), Error, {empty, "too short"});
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(header), Error, {header, "truncated IDX header"});
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(missing), Error, {missing, "not found"});
  QREG_EXPECT_THROW_MENTIONS(read_idx_ubyte(dir.str()), Error, {dir.str(), "not found"});
}

}  // namespace
}  // namespace qreg
