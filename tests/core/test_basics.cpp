// Tests of core's small pieces: bit-width lists, tensors, atomic file writes and report rendering.
// Expected values are literal facts of the format (CSV quoting rules, JSON fields of the run
// context) or of the definitions in DESIGN.md (bits in [2, 16], 32/fp32 means float).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/report.hpp"
#include "core/tensor.hpp"

namespace fs = std::filesystem;

TEST(Bits, ParsesListsWithFloat) {
  EXPECT_EQ(qreg::parse_bits_list("32,8,4,2"), (std::vector<int>{32, 8, 4, 2}));
  EXPECT_EQ(qreg::parse_bits_list("fp32, 16"), (std::vector<int>{32, 16}));
}

TEST(Bits, RejectsOutOfRangeGarbageAndDuplicates) {
  for (const char* bad : {"1", "17", "0", "-4", "8,x", "", "8,,4", "4,4", "8.5"})
    EXPECT_THROW(qreg::parse_bits_list(bad), qreg::UsageError) << bad;
  EXPECT_THROW(qreg::parse_bits_list("32", /*allow_float=*/false), qreg::UsageError);
  EXPECT_NO_THROW(qreg::check_bits(2));
  EXPECT_NO_THROW(qreg::check_bits(16));
}

TEST(Tensor, ShapeChecksAndViews) {
  qreg::Tensor t({2, 3}, 1.5f);
  EXPECT_EQ(t.size(), 6);
  EXPECT_EQ(t.matrix(2)(1, 2), 1.5f);
  EXPECT_THROW(t.reshape({4, 2}), qreg::Error);
  t.reshape({3, 2});
  EXPECT_EQ(t.dim(0), 3);
  const float v[] = {1, 2, 3};
  EXPECT_THROW(qreg::Tensor({2, 2}, v), qreg::Error);
  EXPECT_EQ(qreg::to_string({2, 3, 4}), "[2, 3, 4]");
}

TEST(AtomicFile, WritesWholeFileOrNothing) {
  const fs::path dir = fs::temp_directory_path() / "qreg_test_atomic";
  fs::create_directories(dir);
  const fs::path target = dir / "out.txt";
  qreg::write_file_atomic(target, "first\n");
  EXPECT_THROW(qreg::write_file_atomic(target,
                                       [](std::ostream& os) {
                                         os << "partial";
                                         throw qreg::Error("boom");
                                       }),
               qreg::Error);
  std::ifstream in(target);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "first");  // the failed write left the old file intact
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);  // and no temporary behind
  EXPECT_THROW(qreg::write_file_atomic(dir / "no_such_dir" / "x", "y"), qreg::Error);
  fs::remove_all(dir);
}

TEST(Report, JsonCarriesRunContextAndDocument) {
  qreg::Report r;
  r.context.command = "noise";
  r.context.threads = 2;
  r.context.seed = 7;
  r.document["results"] = {1, 2};
  std::ostringstream os;
  qreg::write_report(r, qreg::Format::Json, os);
  const auto j = nlohmann::json::parse(os.str());
  EXPECT_EQ(j["tool"], "qreg");
  EXPECT_EQ(j["command"], "noise");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_TRUE(j.contains("version") && j.contains("commit") && j.contains("backend"));
  EXPECT_EQ(j["results"].size(), 2u);
}

TEST(Report, CsvQuotesAndOpensWithContext) {
  qreg::Report r;
  r.context.command = "x";
  r.table.columns = {"name", "value"};
  r.table.add_row({std::string("a,b"), 0.5});
  r.table.add_row({std::string("say \"hi\""), std::int64_t{3}});
  std::ostringstream os;
  qreg::write_report(r, qreg::Format::Csv, os);
  EXPECT_EQ(os.str().substr(0, 7), "# qreg ");
  EXPECT_NE(os.str().find("name,value\n\"a,b\",0.5\n\"say \"\"hi\"\"\",3\n"), std::string::npos) << os.str();
  EXPECT_THROW(qreg::parse_format("xml"), qreg::UsageError);
}
