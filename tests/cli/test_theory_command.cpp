// `qreg theory` end to end, in-process: the JSON schema of DESIGN.md (fields per result and per
// layer), that the first-order prediction of the last layer's *isolated* noise equals its closed
// form σ²·E‖a‖² (computed here from the model's weights and data with plain loops), the 4×-per-bit
// property of the whole output, and usage errors. Numbers come from the committed PyTorch MLP
// (tests/data/onnx/mlp.onnx) and its 4-sample input batch.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/executor.hpp"
#include "core/npy.hpp"
#include "core/onnx_import.hpp"
#include "tests/cli/cli_run.hpp"

namespace {

const std::string kDir = std::string(QREG_SOURCE_DIR) + "/tests/data/onnx/";

nlohmann::json theory_json(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"theory",   "--model", kDir + "mlp.onnx", "--data", kDir + "mlp_input.npy",
                                   "--format", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const CliRun r = run(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(TheoryCommand, JsonFollowsTheSchema) {
  const auto j = theory_json({"--bits", "8,4"});
  for (const char* key : {"tool", "version", "command", "model", "granularity", "samples", "seed", "method", "results"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["command"], "theory");
  EXPECT_EQ(j["samples"], 4);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& res : j["results"]) {
    EXPECT_TRUE(res.contains("loss_increase"));
    ASSERT_EQ(res["layers"].size(), 3u);
    for (const auto& l : res["layers"])
      for (const char* key : {"index", "name", "op", "step", "weight_noise_var", "noise_var", "stderr", "sqnr_db"})
        EXPECT_TRUE(l.contains(key)) << key;
  }
}

TEST(TheoryCommand, IsolatedLastLayerMatchesClosedForm) {
  // Last Gemm y = W a + b with iid weight noise of variance σ² = Δ²/12: Var(y_j) = σ² ‖a‖² for
  // every output j, so the mean over samples and outputs is σ²·mean_n ‖a_n‖² (exact, no
  // linearisation). a = input of the last Gemm, taken from the executor's forward.
  const auto j = theory_json({"--bits", "8", "--mode", "isolated"});
  const qreg::Graph g = qreg::import_onnx(kDir + "mlp.onnx");
  const int last = g.quantized_nodes().back();
  const qreg::Tensor x = qreg::read_npy_float(kDir + "mlp_input.npy");
  qreg::Executor exec(g);
  exec.forward(x);
  const qreg::Tensor& a = exec.value(g.nodes[static_cast<std::size_t>(last)].inputs[0]);
  double sq = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) sq += static_cast<double>(a[i]) * a[i];
  const qreg::Tensor& w = g.values[static_cast<std::size_t>(g.nodes[static_cast<std::size_t>(last)].params[0])];
  double maxabs = 0;
  for (std::int64_t i = 0; i < w.size(); ++i) maxabs = std::max(maxabs, std::abs(static_cast<double>(w[i])));
  const double step = maxabs / 127.0;
  const double expected = step * step / 12.0 * sq / static_cast<double>(a.dim(0));
  const double got = j["results"][0]["layers"][2]["noise_var"].get<double>();
  EXPECT_NEAR(got, expected, 1e-5 * expected);
}

TEST(TheoryCommand, EveryExtraBitQuartersTheNoise) {
  for (const char* method : {"first-order", "mean-field", "lin"}) {
    const auto j = theory_json({"--bits", "7,8", "--method", method});
    for (int l = 0; l < 3; ++l) {
      const double v7 = j["results"][0]["layers"][l]["noise_var"].get<double>();
      const double v8 = j["results"][1]["layers"][l]["noise_var"].get<double>();
      // Δ ∝ 1/(2^(b−1)−1): the ratio is (127/63)², slightly above 4.
      EXPECT_NEAR(v7 / v8, std::pow(127.0 / 63.0, 2), 1e-4) << method << " layer " << l;
    }
  }
}

TEST(TheoryCommand, UsageErrors) {
  EXPECT_EQ(run({"theory", "--model", kDir + "mlp.onnx", "--data", kDir + "mlp_input.npy", "--method", "magic"}).rc, 2);
  EXPECT_EQ(run({"theory", "--model", kDir + "mlp.onnx", "--data", kDir + "mlp_input.npy", "--bits", "20"}).rc, 2);
  EXPECT_EQ(run({"theory", "--model", kDir + "missing.onnx", "--data", kDir + "mlp_input.npy"}).rc, 1);
}

}  // namespace

namespace {

TEST(TheoryCommand, BitsForTargetSqnrReachTheTargetAndNoFewerDo) {
  // For each layer the reported b must give SQNR ≥ target when the noise is rescaled from the
  // 8-bit prediction by ((2^7−1)/(2^(b−1)−1))², and b−1 must not (unless b is the floor 2).
  const double target = 30.0;
  const auto j = theory_json({"--bits", "8", "--target-sqnr", "30"});
  for (const auto& l : j["results"][0]["layers"]) {
    const int b = l["bits_for_target_sqnr"].get<int>();
    const double noise8 = l["noise_var"].get<double>(), sqnr8 = l["sqnr_db"].get<double>();
    const double signal = noise8 * std::pow(10.0, sqnr8 / 10.0);
    auto sqnr_at = [&](int bits) {
      const double r = 127.0 / (std::ldexp(1.0, bits - 1) - 1.0);
      return 10.0 * std::log10(signal / (noise8 * r * r));
    };
    ASSERT_GE(b, 2);
    ASSERT_LE(b, 16);
    EXPECT_GE(sqnr_at(b), target - 1e-9) << l["name"];
    if (b > 2) {
      EXPECT_LT(sqnr_at(b - 1), target) << l["name"];
    }
  }
}

}  // namespace
