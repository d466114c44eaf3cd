// Tests of the predicted-vs-measured comparison on hand-built result documents (the schema of
// DESIGN.md). Expected verdicts follow from the criterion |p − m| ≤ sigmas·√(se_p² + se_m²) +
// rel·|m| by hand: with m = 1.0 ± 0.01, rel 0.1, 5σ the allowed difference is 0.15, so 1.1 agrees,
// 2.0 (a ×2 prediction) does not, and 1.16 does not; z = (p − m)/SE exactly. Mismatched models,
// granularity, modes, bit widths, layer counts or layer names are errors, never a pass.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "validate/compare.hpp"

namespace {

using nlohmann::json;

json layer(int index, const std::string& name, double var, json stderr_value) {
  return {{"index", index}, {"name", name}, {"op", "Gemm"}, {"noise_var", var}, {"stderr", stderr_value}};
}

json doc(const std::string& model, std::vector<int> bits, std::vector<double> vars, json se, int layers = 2) {
  json results = json::array();
  for (std::size_t b = 0; b < bits.size(); ++b) {
    json ls = json::array();
    for (int l = 0; l < layers; ++l) ls.push_back(layer(l, "fc" + std::to_string(l), vars[b], se));
    results.push_back({{"bits", bits[b]}, {"loss_increase", nullptr}, {"layers", ls}});
  }
  return {{"model", model}, {"granularity", "tensor"}, {"results", results}};
}

TEST(Compare, AgreesWithinToleranceAndComputesZ) {
  const auto v = qreg::validate::compare_results(doc("mlp", {8, 4}, {1.1, 1.1}, nullptr),
                                                 doc("mlp", {8, 4}, {1.0, 1.0}, 0.01), {});
  ASSERT_EQ(v.comparisons.size(), 4u);
  EXPECT_TRUE(v.pass);
  EXPECT_EQ(v.agreed, 4);
  EXPECT_NEAR(v.comparisons[0].z, 10.0, 1e-9);
  EXPECT_NEAR(v.comparisons[0].ratio, 1.1, 1e-12);
  EXPECT_NEAR(v.comparisons[0].allowed, 0.15, 1e-12);
}

TEST(Compare, FailsOnDoubledPrediction) {
  const auto v = qreg::validate::compare_results(doc("mlp", {8}, {2.0}, nullptr), doc("mlp", {8}, {1.0}, 0.01), {});
  EXPECT_FALSE(v.pass);
  EXPECT_EQ(v.agreed, 0);
  const auto edge = qreg::validate::compare_results(doc("mlp", {8}, {1.16}, nullptr), doc("mlp", {8}, {1.0}, 0.01), {});
  EXPECT_FALSE(edge.pass);
}

TEST(Compare, PredictedStderrWidensTheBand) {
  // se = √(0.03² + 0.04²) = 0.05; allowed 5·0.05 + 0.1 = 0.35: 1.3 agrees, 1.4 does not.
  EXPECT_TRUE(qreg::validate::compare_results(doc("m", {8}, {1.3}, 0.03), doc("m", {8}, {1.0}, 0.04), {}).pass);
  EXPECT_FALSE(qreg::validate::compare_results(doc("m", {8}, {1.4}, 0.03), doc("m", {8}, {1.0}, 0.04), {}).pass);
}

TEST(Compare, LossIncreaseIsCompared) {
  json p = doc("m", {8}, {1.0}, nullptr), m = doc("m", {8}, {1.0}, 0.01);
  p["results"][0]["loss_increase"] = 0.5;
  m["results"][0]["loss_increase"] = 0.2;
  m["results"][0]["loss_increase_stderr"] = 0.01;
  const auto v = qreg::validate::compare_results(p, m, {});
  ASSERT_EQ(v.comparisons.size(), 3u);
  EXPECT_EQ(v.comparisons[2].quantity, "loss_increase");
  EXPECT_FALSE(v.pass);
  EXPECT_TRUE(qreg::validate::compare_results(p, m, {0.1, 5.0, false}).pass);
}

TEST(Compare, MismatchesAreErrors) {
  const json m = doc("mlp", {8, 4}, {1.0, 1.0}, 0.01);
  EXPECT_THROW(qreg::validate::compare_results(doc("cnn", {8, 4}, {1, 1}, nullptr), m, {}), qreg::Error);
  EXPECT_THROW(qreg::validate::compare_results(doc("mlp", {8, 2}, {1, 1}, nullptr), m, {}), qreg::Error);
  EXPECT_THROW(qreg::validate::compare_results(doc("mlp", {8}, {1}, nullptr), m, {}), qreg::Error);
  EXPECT_THROW(qreg::validate::compare_results(doc("mlp", {8, 4}, {1, 1}, nullptr, 3), m, {}), qreg::Error);
  json renamed = doc("mlp", {8, 4}, {1, 1}, nullptr);
  renamed["results"][1]["layers"][1]["name"] = "other";
  EXPECT_THROW(qreg::validate::compare_results(renamed, m, {}), qreg::Error);
  json channel = doc("mlp", {8, 4}, {1, 1}, nullptr);
  channel["granularity"] = "channel";
  EXPECT_THROW(qreg::validate::compare_results(channel, m, {}), qreg::Error);
  json isolated = doc("mlp", {8, 4}, {1, 1}, nullptr), joint = m;
  isolated["mode"] = "isolated";
  joint["mode"] = "joint";
  EXPECT_THROW(qreg::validate::compare_results(isolated, joint, {}), qreg::Error);
  EXPECT_THROW(qreg::validate::compare_results(json{{"x", 1}}, m, {}), qreg::Error);
  json text_var = m;
  text_var["results"][0]["layers"][0]["noise_var"] = "big";
  EXPECT_THROW(qreg::validate::compare_results(doc("mlp", {8, 4}, {1, 1}, nullptr), text_var, {}), qreg::Error);
}

}  // namespace
