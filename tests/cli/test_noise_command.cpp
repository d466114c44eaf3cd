// Tests of `qreg noise`, run in-process through run_cli: the JSON document has the run context
// and one result per bit width with every documented field; usage errors (bits 1, unknown
// distribution, channels that do not divide the size) exit 2 with one line on stderr; --out
// writes the file (and nothing to stdout). Values are checked only for shape and sense (the
// statistics themselves are tested in tests/theory/test_noise_stats.cpp): at 8 bits the model
// holds and gains ≈ 6.02 dB per bit; at 2 bits it fails. Small sizes keep the suite fast.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/cli/cli_run.hpp"

namespace {

TEST(NoiseCommand, JsonHasContextAndEveryField) {
  const CliRun r = run({"noise", "--bits", "8,7,2", "--size", "50000", "--seed", "3", "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "noise");
  EXPECT_EQ(j["seed"], 3);
  EXPECT_EQ(j["dist"], "normal");
  EXPECT_EQ(j["granularity"], "tensor");
  EXPECT_EQ(j["scheme"], "symmetric");
  ASSERT_EQ(j["results"].size(), 3u);
  for (const char* key :
       {"bits", "step", "noise_var", "noise_var_stderr", "weight_noise_var", "var_ratio", "var_ratio_stderr", "sqnr_db",
        "db_per_bit", "model_db_per_bit", "corr", "ks_statistic", "ks_p_value", "clipped_share", "model_holds"})
    EXPECT_TRUE(j["results"][0].contains(key)) << key;
  const auto& b8 = j["results"][0];
  const auto& b7 = j["results"][1];
  EXPECT_EQ(b8["bits"], 8);
  EXPECT_TRUE(b8["db_per_bit"].is_null());
  EXPECT_TRUE(b8["model_holds"].get<bool>());
  EXPECT_NEAR(b7["db_per_bit"].get<double>(), 6.09, 0.1);  // 20·log10(127/63) = 6.09 dB
  EXPECT_FALSE(j["results"][2]["model_holds"].get<bool>());
}

TEST(NoiseCommand, ChannelAsymmetricCsvAndTable) {
  const CliRun csv = run({"noise", "--bits", "4", "--size", "4096", "--granularity", "channel", "--channels", "16",
                          "--scheme", "asymmetric", "--dist", "laplace", "--format", "csv"});
  ASSERT_EQ(csv.rc, 0) << csv.err;
  EXPECT_NE(csv.out.find("bits,step,noise_var"), std::string::npos) << csv.out;
  const CliRun table = run({"noise", "--bits", "6", "--size", "4096", "--dist", "uniform"});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("model_holds"), std::string::npos) << table.out;
}

TEST(NoiseCommand, UsageErrorsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"noise", "--bits", "1"},
           {"noise", "--bits", "17"},
           {"noise", "--dist", "cauchy"},
           {"noise", "--granularity", "row"},
           {"noise", "--scheme", "skewed"},
           {"noise", "--size", "1"},
           {"noise", "--size", "1000", "--granularity", "channel", "--channels", "7"}}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.rc, 2) << args[1] << " " << args[2];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(NoiseCommand, OutWritesTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "qreg_test_noise_out.json";
  std::filesystem::remove(path);
  const CliRun r = run({"noise", "--bits", "8", "--size", "1000", "--format", "json", "--out", path.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  std::ifstream in(path);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["results"][0]["bits"], 8);
  std::filesystem::remove(path);
}

}  // namespace
