// `qreg simulate` and `qreg validate` end to end, in-process through run_cli, on the built-in MLP
// with a small synthetic calibration set (kept small so the suite stays fast):
// - simulate --format json has the DESIGN.md schema (model, granularity, samples, seed, noise,
//   mode, draws; per bits loss_increase(+stderr); per layer step, weight_noise_var, noise_var,
//   stderr, ci_low ≤ noise_var ≤ ci_high, sqnr_db), and the same output for 1 and 2 threads;
// - two simulations with different seeds agree under `validate --baseline` (exit 0): sampling
//   error only, 5 SE; a prediction edited to 2× the measurement fails (exit 1, "DISAGREE");
//   files of different models or bit widths are errors (exit 1, message names the field);
// - usage errors (both --draws and --target-rse, bits 1, unknown noise) exit 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/cli/cli_run.hpp"

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("qreg_test_simval_" + name)).string();
}

std::vector<std::string> simulate_args(const std::string& seed, const std::string& threads) {
  return {"simulate", "--model",   "mlp",     "--data",   "synthetic:n=32,shape=1x28x28",
          "--bits",   "8,4",       "--draws", "12",       "--seed",
          seed,       "--threads", threads,   "--format", "json"};
}

void write(const std::string& path, const nlohmann::json& j) { std::ofstream(path) << j.dump(); }

TEST(SimulateCommand, JsonSchemaAndThreadIndependence) {
  const CliRun r = run(simulate_args("3", "1"));
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "simulate");
  EXPECT_EQ(j["model"], "mlp");
  EXPECT_EQ(j["granularity"], "tensor");
  EXPECT_EQ(j["samples"], 32);
  EXPECT_EQ(j["seed"], 3);
  EXPECT_EQ(j["noise"], "uniform");
  EXPECT_EQ(j["mode"], "joint");
  EXPECT_EQ(j["draws"], 12);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& b : j["results"]) {
    EXPECT_TRUE(b["loss_increase"].is_number());
    EXPECT_TRUE(b["loss_increase_stderr"].is_number());
    ASSERT_EQ(b["layers"].size(), 3u);
    for (const auto& l : b["layers"]) {
      for (const char* key :
           {"index", "name", "op", "step", "weight_noise_var", "noise_var", "stderr", "ci_low", "ci_high", "sqnr_db"})
        EXPECT_TRUE(l.contains(key)) << key;
      EXPECT_LE(l["ci_low"].get<double>(), l["noise_var"].get<double>());
      EXPECT_GE(l["ci_high"].get<double>(), l["noise_var"].get<double>());
    }
  }
  auto two = nlohmann::json::parse(run(simulate_args("3", "2")).out);
  EXPECT_EQ(two["results"], j["results"]);
}

TEST(ValidateCommand, BaselineAgreesDoubledPredictionFailsMismatchErrors) {
  const std::string a = temp_path("a.json"), b = temp_path("b.json"), wrong = temp_path("wrong.json"),
                    other = temp_path("other.json");
  const auto ja = nlohmann::json::parse(run(simulate_args("1", "2")).out);
  const auto jb = nlohmann::json::parse(run(simulate_args("2", "2")).out);
  write(a, ja);
  write(b, jb);
  const CliRun ok = run({"validate", "--baseline", a, "--measured", b});
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("PASS"), std::string::npos) << ok.out;

  auto doubled = ja;
  doubled["command"] = "theory";
  doubled["method"] = "first-order";
  for (auto& res : doubled["results"])
    for (auto& l : res["layers"]) {
      l["noise_var"] = 2 * l["noise_var"].get<double>();
      l["stderr"] = nullptr;
    }
  write(wrong, doubled);
  const CliRun bad = run({"validate", "--predicted", wrong, "--measured", b, "--format", "json"});
  EXPECT_EQ(bad.rc, 1);
  const auto jbad = nlohmann::json::parse(bad.out);
  EXPECT_FALSE(jbad["pass"].get<bool>());
  EXPECT_EQ(jbad["comparisons"][0]["verdict"], "disagree");
  EXPECT_NEAR(jbad["comparisons"][0]["ratio"].get<double>(), 2.0, 0.2);

  auto cnn = ja;
  cnn["model"] = "cnn";
  write(other, cnn);
  const CliRun mismatch = run({"validate", "--predicted", other, "--measured", b});
  EXPECT_EQ(mismatch.rc, 1);
  EXPECT_NE(mismatch.err.find("model differs"), std::string::npos) << mismatch.err;
  auto fewer = ja;
  fewer["results"].erase(1);
  write(other, fewer);
  EXPECT_EQ(run({"validate", "--predicted", other, "--measured", b}).rc, 1);
  EXPECT_EQ(run({"validate", "--predicted", temp_path("missing.json"), "--measured", b}).rc, 1);
  for (const auto& p : {a, b, wrong, other}) std::filesystem::remove(p);
}

TEST(SimulateCommand, UsageErrorsExitTwo) {
  EXPECT_EQ(run({"simulate", "--draws", "4", "--target-rse", "0.1"}).rc, 2);
  EXPECT_EQ(run({"simulate", "--bits", "1"}).rc, 2);
  EXPECT_EQ(run({"simulate", "--noise", "laplace"}).rc, 2);
  EXPECT_EQ(run({"validate", "--measured", "x.json"}).rc, 2);
}

}  // namespace
