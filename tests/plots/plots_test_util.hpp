// Helpers shared by the plots tests: a fresh folder per test, a whole file as a string.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace test {

/// An empty folder for the running test: build/test_plots/<test name>.
inline std::filesystem::path test_dir() {
  const auto d = std::filesystem::path(QREG_BINARY_DIR) / "test_plots" /
                 ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace test
