// `qreg train --act-bits B --dropout P` in-process on a tiny synthetic sweep (mlp 16-8-4, 2 epochs):
// run folders are named with _a<B>_d<P>, the summary and metrics.json record act_bits and
// dropout, model.onnx carries the quantizer pattern (ops Div/Round/Clip/Mul, Dropout), --resume
// finds the same folders, and out-of-range values are usage errors (exit 2). Structure only; the
// numbers are tested in tests/train/test_regularizers.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/act_quant.hpp"
#include "core/onnx_import.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/cli/train_sweep_test.hpp"

namespace fs = std::filesystem;

namespace {

using TrainActivationOptions = TrainSweepTest;

TEST_F(TrainActivationOptions, FoldersSummaryMetricsAndModelRecordTheOptions) {
  const auto opts = args({"--bits", "32,8", "--act-bits", "8", "--dropout", "0.25"});
  const CliRun r = run(opts);
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* name : {"mlp_fp32_a8_d0.25_s1", "mlp_b8_a8_d0.25_s1"})
    EXPECT_TRUE(fs::exists(dir_ / name / "model.onnx")) << name;
  const auto summary = read_json(dir_ / "summary.json");
  EXPECT_EQ(summary.at("act_bits"), 8);
  EXPECT_EQ(summary.at("dropout"), 0.25);
  for (const auto& run : summary.at("runs")) {
    EXPECT_EQ(run.at("status"), "completed");
    EXPECT_EQ(run.at("act_bits"), 8);
    EXPECT_EQ(run.at("dropout"), 0.25);
  }
  const auto metrics = read_json(dir_ / "mlp_b8_a8_d0.25_s1" / "metrics.json");
  EXPECT_EQ(metrics.at("run").at("config").at("act_bits"), 8);
  EXPECT_EQ(metrics.at("run").at("config").at("dropout"), 0.25);
  EXPECT_EQ(metrics.at("run").at("act_bits"), 8);
  const qreg::Graph model = qreg::import_onnx((dir_ / "mlp_b8_a8_d0.25_s1" / "model.onnx").string());
  EXPECT_EQ(qreg::activation_bits(model), 8);

  auto again = opts;
  again.push_back("--resume");
  const CliRun resumed = run(again);
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  const auto after = read_json(dir_ / "summary.json");  // kept alive: the loop iterates inside it
  for (const auto& run : after.at("runs")) EXPECT_TRUE(run.at("skipped").get<bool>());
}

TEST_F(TrainActivationOptions, PlainRunsKeepTheirNamesAndRecordTheDefaults) {
  const CliRun r = run(args({"--bits", "4"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "mlp_b4_s1" / "metrics.json"));
  const auto metrics = read_json(dir_ / "mlp_b4_s1" / "metrics.json");
  EXPECT_EQ(metrics.at("run").at("act_bits"), 32);
  EXPECT_EQ(metrics.at("run").at("dropout"), 0.0);
  EXPECT_FALSE(metrics.at("run").at("config").contains("act_bits"));  // older checkpoints still resume
}

TEST_F(TrainActivationOptions, OutOfRangeValuesAreUsageErrors) {
  EXPECT_EQ(run(args({"--act-bits", "1"})).rc, 2);
  EXPECT_EQ(run(args({"--act-bits", "17"})).rc, 2);
  EXPECT_EQ(run(args({"--dropout", "1"})).rc, 2);
  EXPECT_EQ(run(args({"--dropout", "-0.1"})).rc, 2);
  EXPECT_FALSE(fs::exists(dir_));  // refused before anything was written
}

}  // namespace
