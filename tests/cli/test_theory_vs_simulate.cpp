// Theory against simulation end to end (issue 5): for the built-in MLP and CNN, `qreg validate`
// agrees between `qreg theory --method first-order` and `qreg simulate` (uniform noise, joint) at
// 8 and 4 bits, within the default tolerance (10% + 5 SE); the mean-field predictor is run on the
// CNN too and its verdicts are printed (it may disagree: that is what the report is for).
// The calibration set is a small synthetic one so that the draws stay cheap; 48 draws give an RSE
// of a few percent.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "tests/cli/cli_run.hpp"

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("qreg_test_tvs_" + name)).string();
}

std::vector<std::string> shared(const std::string& model) {
  return {"--model", model,      "--data", "synthetic:n=32,shape=1x28x28", "--bits", "8,4", "--samples",
          "32",      "--format", "json"};
}

// Runs theory (method) and simulate on `model`, then validate; returns validate's run.
CliRun theory_vs_simulate(const std::string& model, const std::string& method, bool compare_loss = true) {
  const std::string pred = temp_path(model + "_" + method + ".json"), meas = temp_path(model + "_sim.json");
  auto theory = shared(model);
  theory.insert(theory.begin(), {"theory", "--method", method, "--out", pred});
  const CliRun t = run(theory);
  EXPECT_EQ(t.rc, 0) << t.err;
  auto sim = shared(model);
  sim.insert(sim.begin(), {"simulate", "--draws", "48", "--out", meas});
  const CliRun s = run(sim);
  EXPECT_EQ(s.rc, 0) << s.err;
  std::vector<std::string> validate = {"validate", "--predicted", pred, "--measured", meas};
  if (!compare_loss) validate.push_back("--no-loss");
  const CliRun v = run(validate);
  std::filesystem::remove(pred);
  std::filesystem::remove(meas);
  return v;
}

TEST(TheoryVsSimulate, FirstOrderAgreesOnMlp) {
  const CliRun v = theory_vs_simulate("mlp", "first-order");
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
}

TEST(TheoryVsSimulate, FirstOrderAgreesOnCnnAndMeanFieldIsReported) {
  // The loss too: on this CNN the curvature term alone is ~3x below the simulated loss increase at
  // 8 bits and fails here; the ReLU → max-pool kink term (theory/kinks.hpp) closes the gap.
  const CliRun v = theory_vs_simulate("cnn", "first-order");
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  const CliRun mf = theory_vs_simulate("cnn", "mean-field");
  EXPECT_TRUE(mf.rc == 0 || mf.rc == 1) << mf.err;  // a verdict either way, never an error
  EXPECT_NE(mf.out.find("agree"), std::string::npos) << mf.out;
  std::cout << "mean-field vs simulate on the CNN:\n" << mf.out;
}

}  // namespace
