// `qreg train` in-process on a tiny synthetic sweep (mlp 16-8-4, 2 bit widths × 2 seeds, 2 epochs):
// the expected run folders and files, the summary, --resume skipping finished runs, a refused
// rerun without --resume, a diverging run reported in the summary while the sweep goes on, and
// LSQ with per-layer bits (folder name, recorded bits), usage errors. File contents are checked for structure only; the
// numbers are tested in tests/train.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_run.hpp"
#include "tests/cli/train_sweep_test.hpp"

namespace fs = std::filesystem;

namespace {

using TrainCommand = TrainSweepTest;

TEST_F(TrainCommand, SweepWritesRunFoldersAndSummaryAndResumes) {
  const CliRun r = run(args({"--bits", "32,4", "--seeds", "1,2"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* run_dir : {"mlp_fp32_s1", "mlp_b4_s1", "mlp_fp32_s2", "mlp_b4_s2"})
    for (const char* f : {"metrics.csv", "metrics.json", "checkpoint.bin", "model.onnx"})
      EXPECT_TRUE(fs::exists(dir_ / run_dir / f)) << run_dir << "/" << f;
  const auto summary = read_json(dir_ / "summary.json");
  ASSERT_EQ(summary.at("runs").size(), 4u);
  for (const auto& run : summary.at("runs")) EXPECT_EQ(run.at("status"), "completed");
  EXPECT_EQ(summary.at("tool"), "qreg");
  const auto metrics = read_json(dir_ / "mlp_b4_s1" / "metrics.json");
  ASSERT_EQ(metrics.at("epochs").size(), 2u);
  EXPECT_EQ(metrics.at("epochs")[0].at("layers").size(), 2u);
  EXPECT_TRUE(metrics.at("epochs")[0].at("layers")[0].at("predicted_noise_var").is_number());
  const auto fp32 = read_json(dir_ / "mlp_fp32_s1" / "metrics.json");
  EXPECT_TRUE(fp32.at("epochs")[0].at("layers")[0].at("predicted_noise_var").is_null());
  EXPECT_NE(r.err.find("mlp_b4_s2 epoch 2/2"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("best_val_accuracy"), std::string::npos) << r.out;

  EXPECT_EQ(run(args({"--bits", "32,4", "--seeds", "1,2"})).rc, 2);  // folders exist, no --resume
  const CliRun again = run(args({"--bits", "32,4", "--seeds", "1,2", "--resume"}));
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(again.err.find("epoch"), std::string::npos) << again.err;  // nothing retrained
  const auto resumed = read_json(dir_ / "summary.json");               // kept alive: the loop iterates inside it
  for (const auto& run : resumed.at("runs")) EXPECT_TRUE(run.at("skipped").get<bool>());
}

TEST_F(TrainCommand, DivergingRunIsReportedAndTheSweepContinues) {
  const CliRun r = run(args({"--bits", "8", "--seeds", "1,2", "--lr", "1e30", "--mode", "noise"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto runs = read_json(dir_ / "summary.json").at("runs");
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) EXPECT_EQ(run.at("status"), "diverged");
  EXPECT_TRUE(fs::exists(dir_ / "mlp_noise_b8_s2" / "metrics.csv"));
}

TEST_F(TrainCommand, LsqWithLayerBitsNamesTheRunAndRecordsTheBits) {
  const CliRun r = run(args({"--bits", "32,4", "--mode", "lsq", "--layer-bits", "1:8"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "mlp_fp32_s1" / "model.onnx"));  // the baseline ignores mode and layer bits
  const auto metrics = read_json(dir_ / "mlp_lsq_b4_l1b8_s1" / "metrics.json");
  EXPECT_EQ(metrics.at("run").at("layer_bits"), (std::vector<int>{4, 8}));
  EXPECT_EQ(metrics.at("run").at("config").at("mode"), "lsq");
  EXPECT_EQ(metrics.at("epochs")[1].at("layers")[1].at("bits"), 8);
  const auto fp32 = read_json(dir_ / "mlp_fp32_s1" / "metrics.json");
  EXPECT_EQ(fp32.at("run").at("layer_bits"), (std::vector<int>{32, 32}));
}

TEST_F(TrainCommand, BadArgumentsAreUsageErrors) {
  EXPECT_EQ(run(args({"--bits", "1"})).rc, 2);
  EXPECT_EQ(run(args({"--seeds", "x"})).rc, 2);
  EXPECT_EQ(run(args({"--mode", "lsqq"})).rc, 2);
  const CliRun beyond = run(args({"--bits", "8", "--layer-bits", "2:8"}));  // layers 0 and 1 only
  EXPECT_EQ(beyond.rc, 2);
  EXPECT_NE(beyond.err.find("layer 2 does not exist"), std::string::npos) << beyond.err;
  EXPECT_EQ(run(args({"--layer-bits", "8/4"})).rc, 2);
  EXPECT_EQ(run({"train", "--model", "mlp"}).rc, 2);  // --out is required
}

}  // namespace
