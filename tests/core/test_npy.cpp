// Tests of the .npy reader and writer (core/npy.hpp). Reference files in tests/data/npy/ were
// written by numpy 1.24 with tests/data/npy/make_npy.py; the literals asserted here are the
// values written in that script (exact binary fractions, so compared exactly). Bad inputs
// (wrong dtype, fortran order, truncated header or data, bad magic, malformed header, trailing
// bytes) are built byte by byte and must give a one-line Error naming the file and the problem.
// write_npy output is compared byte for byte with numpy's own file for the same array.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "tests/core/dataset_test_files.hpp"

namespace qreg {
namespace {

using test::TempDir;

std::string ref(const std::string& name) { return std::string(QREG_SOURCE_DIR) + "/tests/data/npy/" + name; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Npy, ReadsNumpyFloat32) {
  const Tensor t = read_npy_float(ref("float32_2x3.npy"));
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  const std::vector<float> want = {0.0f, 1.5f, -2.25f, 0.125f, 1.0e6f, -0.0f};
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t[static_cast<std::int64_t>(i)], want[i]) << i;
  EXPECT_TRUE(std::signbit(t[5]));
}

TEST(Npy, ReadsNumpyInt64AndInt32Labels) {
  EXPECT_EQ(read_npy_int64(ref("int64_5.npy")), (std::vector<std::int64_t>{3, 0, 9, 1, std::int64_t{1} << 33}));
  EXPECT_EQ(read_npy_int64(ref("int32_4.npy")), (std::vector<std::int64_t>{7, 0, 2, 5}));
}

TEST(Npy, WrongDtypeIsNamed) {
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(ref("float64_3.npy")), Error, {ref("float64_3.npy"), "'<f8' (float64)"});
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(ref("int64_5.npy")), Error, {ref("int64_5.npy"), "'<i8' (int64)"});
  QREG_EXPECT_THROW_MENTIONS(read_npy_int64(ref("float32_2x3.npy")), Error, {ref("float32_2x3.npy"), "float32"});
  TempDir dir;
  const std::string big = dir.file("big.npy");
  test::write_plain(big, test::npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "abcd"));
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(big), Error, {big, "big-endian float32"});
}

TEST(Npy, FortranOrderIsRejected) {
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(ref("float32_fortran_2x3.npy")), Error,
                             {ref("float32_fortran_2x3.npy"), "fortran_order"});
}

TEST(Npy, LabelsMustBeOneDimensional) {
  TempDir dir;
  const std::string path = dir.file("y.npy");
  test::write_plain(path, test::npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }",
                                          test::raw_bytes(std::vector<std::int64_t>{1, 2})));
  QREG_EXPECT_THROW_MENTIONS(read_npy_int64(path), Error, {path, "1-D", "[2, 1]"});
}

TEST(Npy, TruncatedFilesAreErrors) {
  TempDir dir;
  const std::string data = dir.file("data.npy"), header = dir.file("header.npy"), magic = dir.file("magic.npy");
  std::filesystem::copy_file(ref("float32_2x3.npy"), data);
  test::truncate_file(data, std::filesystem::file_size(data) - 3);
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(data), Error, {data, "truncated .npy data", "24 bytes", "21"});
  std::filesystem::copy_file(ref("float32_2x3.npy"), header);
  test::truncate_file(header, 40);
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(header), Error, {header, "truncated .npy header"});
  std::filesystem::copy_file(ref("int64_5.npy"), magic);
  test::truncate_file(magic, 5);
  QREG_EXPECT_THROW_MENTIONS(read_npy_int64(magic), Error, {magic, "bad magic"});
}

TEST(Npy, MalformedHeadersAreErrors) {
  TempDir dir;
  const std::string path = dir.file("bad.npy");
  const std::string four = test::raw_bytes(std::vector<float>{1, 2, 3, 4});
  for (const std::string dict :
       {"{'descr': '<f4', 'shape': (4,), }", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4,", "['<f4']",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }"}) {
    test::write_plain(path, test::npy_bytes(dict, four));
    QREG_EXPECT_THROW_MENTIONS(read_npy_float(path), Error, {path, "malformed .npy header"});
  }
  test::write_plain(path, "NOTNUMPY........");
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(path), Error, {path, "bad magic"});
  test::write_plain(path, test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", four));
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(path), Error, {path, "4 unexpected bytes"});
  std::string v9 = test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", four);
  v9[6] = 9;
  test::write_plain(path, v9);
  QREG_EXPECT_THROW_MENTIONS(read_npy_float(path), Error, {path, "version 9"});
}

TEST(Npy, ReadsFormatVersion2) {
  // Version 2.0 differs only in a 4-byte header length; numpy writes it for huge headers.
  TempDir dir;
  const std::string path = dir.file("v2.npy");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  while ((12 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8) + static_cast<char>(header.size()) + std::string(3, '\0');
  bytes += header + test::raw_bytes(std::vector<float>{-1.0f, 3.5f});
  test::write_plain(path, bytes);
  const Tensor t = read_npy_float(path);
  EXPECT_EQ(t.shape(), (Shape{2}));
  EXPECT_EQ(t[0], -1.0f);
  EXPECT_EQ(t[1], 3.5f);
}

TEST(Npy, WriteMatchesNumpyByteForByte) {
  TempDir dir;
  const std::string path = dir.file("ours.npy");
  const std::vector<float> values = {0.0f, 1.5f, -2.25f, 0.125f, 1.0e6f, -0.0f};
  write_npy(path, Tensor({2, 3}, values));
  EXPECT_EQ(slurp(path), slurp(ref("float32_2x3.npy")));
}

TEST(Npy, RoundTripKeepsShapeAndBits) {
  TempDir dir;
  const std::string path = dir.file("t.npy");
  for (const Shape& shape : {Shape{}, Shape{5}, Shape{0, 3}, Shape{2, 1, 3, 4}}) {
    Tensor t(shape);
    for (std::int64_t i = 0; i < t.size(); ++i)
      t[i] = std::ldexp(static_cast<float>(i) - 7.3f, static_cast<int>(i % 9) - 4);
    if (t.size() > 2) {
      t[1] = std::numeric_limits<float>::quiet_NaN();
      t[2] = -std::numeric_limits<float>::infinity();
    }
    write_npy(path, t);
    const Tensor back = read_npy_float(path);
    EXPECT_EQ(back.shape(), shape);
    ASSERT_EQ(back.size(), t.size());
    if (t.size()) {
      EXPECT_EQ(std::memcmp(back.data(), t.data(), static_cast<std::size_t>(t.size()) * 4), 0) << to_string(shape);
    }
  }
}

TEST(Npy, WriteIntoMissingFolderNamesTheFile) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/t.npy");
  QREG_EXPECT_THROW_MENTIONS(write_npy(path, Tensor({2}, 1.0f)), Error, {path});
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace qreg
