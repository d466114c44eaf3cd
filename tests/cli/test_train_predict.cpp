// `qreg train`'s per-epoch theory column: l<k>_predicted_noise_var (first-order, joint) next to the
// probe's measured noise (every weight rounded, quantized forward against the float forward).
// Reference: the measured value is one realisation of the rounding error, whose expectation under
// the U(−Δ/2, Δ/2) model is the first-order prediction; for a 64-64-10 MLP at 8 bits each layer's
// measurement averages ≥ 640 independent weight rows (relative spread ~5%, see the hand estimate in
// docs/train.md), and at 8 bits the linearisation error is ~1e-3 relative. 30% is therefore > 5σ
// while a predictor off by the ±50% of a wrong σ² (e.g. Δ²/6 or Δ²/24) fails. --no-predict leaves
// the column empty; the prediction is deterministic (resume and reruns give the same value).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_run.hpp"

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& p) {
  std::ifstream is(p);
  return nlohmann::json::parse(is);
}

std::vector<std::string> args(const fs::path& out, std::vector<std::string> extra, const char* threads = "1") {
  std::vector<std::string> a{"train",
                             "--model",
                             "mlp",
                             "--widths",
                             "64,64,64,10",
                             "--data",
                             "synthetic:n=512,features=64,classes=10,seed=3",
                             "--val-data",
                             "synthetic:n=256,features=64,classes=10,seed=4",
                             "--epochs",
                             "2",
                             "--batch",
                             "64",
                             "--out",
                             out.string(),
                             "--threads",
                             threads};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

fs::path test_dir() {
  auto d = fs::path(QREG_BINARY_DIR) / "test_train_predict" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(d);
  return d;
}

TEST(TrainPredict, FirstOrderPredictionTracksTheMeasuredProbeNoise) {
  for (const char* granularity : {"tensor", "channel"}) {
    const fs::path dir = test_dir() / granularity;
    const CliRun r = run(args(dir, {"--bits", "8", "--granularity", granularity}));
    ASSERT_EQ(r.rc, 0) << r.err;
    const auto metrics = read_json(dir / "mlp_b8_s1" / "metrics.json");
    for (const auto& epoch : metrics.at("epochs")) {
      ASSERT_EQ(epoch.at("layers").size(), 3u);
      for (const auto& layer : epoch.at("layers")) {
        const double measured = layer.at("noise_var").get<double>();
        const double predicted = layer.at("predicted_noise_var").get<double>();
        ASSERT_GT(measured, 0.0);
        EXPECT_NEAR(predicted / measured, 1.0, 0.3)
            << granularity << " epoch " << epoch.at("epoch") << " layer " << layer.at("index");
      }
    }
  }
}

TEST(TrainPredict, NoPredictLeavesTheColumnEmptyAndThreadsDoNotChangeIt) {
  const fs::path dir = test_dir();
  ASSERT_EQ(run(args(dir / "off", {"--bits", "4", "--no-predict"})).rc, 0);
  const auto off = read_json(dir / "off" / "mlp_b4_s1" / "metrics.json");
  EXPECT_TRUE(off.at("epochs")[0].at("layers")[0].at("predicted_noise_var").is_null());

  ASSERT_EQ(run(args(dir / "t1", {"--bits", "4"})).rc, 0);
  ASSERT_EQ(run(args(dir / "t2", {"--bits", "4"}, "2")).rc, 0);
  const auto a = read_json(dir / "t1" / "mlp_b4_s1" / "metrics.json").at("epochs")[0].at("layers");
  const auto b = read_json(dir / "t2" / "mlp_b4_s1" / "metrics.json").at("epochs")[0].at("layers");
  for (std::size_t l = 0; l < a.size(); ++l)
    EXPECT_EQ(a[l].at("predicted_noise_var").get<double>(), b[l].at("predicted_noise_var").get<double>()) << l;
}

}  // namespace
