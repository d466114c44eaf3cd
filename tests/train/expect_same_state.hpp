// Shared by the trainer tests: two training states are the same run — per-epoch metrics equal
// (wall time excepted) and parameters, LSQ steps and optimizer state bitwise equal.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "train/trainer.hpp"

namespace qreg::testing {

inline void expect_same_state(const TrainState& a, const TrainState& b) {
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (std::size_t e = 0; e < a.metrics.size(); ++e) {
    auto ja = to_json(a.metrics[e]), jb = to_json(b.metrics[e]);
    ja.erase("seconds");
    jb.erase("seconds");
    EXPECT_EQ(ja, jb) << "epoch " << e + 1;
  }
  auto same = [](const std::vector<Tensor>& x, const std::vector<Tensor>& y, const char* what) {
    ASSERT_EQ(x.size(), y.size()) << what;
    for (std::size_t p = 0; p < x.size(); ++p)
      for (std::int64_t i = 0; i < x[p].size(); ++i) ASSERT_EQ(x[p][i], y[p][i]) << what << " " << p << "," << i;
  };
  same(a.params, b.params, "params");
  same(a.lsq_steps, b.lsq_steps, "lsq steps");
  same(a.optimizer_state, b.optimizer_state, "optimizer state");
}

}  // namespace qreg::testing
