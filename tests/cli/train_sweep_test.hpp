// Fixture for in-process `qreg train` sweeps: a fresh folder per test under
// <build>/<suite>/<test>, the argument list of a tiny synthetic sweep (mlp 16-8-4, 96 training and
// 32 validation samples, 2 epochs, batch 32, 1 thread) plus the test's options, and JSON reading.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

class TrainSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(QREG_BINARY_DIR) / info->test_suite_name() / info->name();
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> a{"train",
                               "--model",
                               "mlp",
                               "--widths",
                               "16,8,4",
                               "--data",
                               "synthetic:n=96,features=16,classes=4,seed=2",
                               "--val-data",
                               "synthetic:n=32,features=16,classes=4,seed=2",
                               "--epochs",
                               "2",
                               "--batch",
                               "32",
                               "--out",
                               dir_.string(),
                               "--threads",
                               "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static nlohmann::json read_json(const std::filesystem::path& p) {
    std::ifstream is(p);
    return nlohmann::json::parse(is);
  }
  std::filesystem::path dir_;
};
