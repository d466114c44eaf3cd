// Tests of the figure builders on hand-built result documents: the numbers a figure plots are read
// back from its datablocks and compared with values derived by hand from the documents (a model
// SQNR of measured + 10·log10(var/model); means and standard errors over seeds: SE = sd/√n with
// the n − 1 sample sd). Tolerance 1e-7 relative: the datablocks carry 9 significant digits.
// Malformed documents (a missing field, a fractional bit width or layer index, a run without its
// metrics.json) are errors naming the file, never a figure of wrong numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "plots/figures.hpp"
#include "tests/plots/plots_test_util.hpp"

namespace {

using nlohmann::json;
using test::test_dir;
namespace fs = std::filesystem;
using qreg::plots::Figure;

/// Rows of datablock $name in a figure's script.
std::vector<std::vector<double>> datablock(const std::string& script, const std::string& name) {
  const std::string head = "$" + name + " << EOD\n";
  const auto at = script.find(head);
  EXPECT_NE(at, std::string::npos) << "no datablock " << name << " in\n" << script;
  if (at == std::string::npos) return {};
  std::istringstream in(script.substr(at + head.size()));
  std::vector<std::vector<double>> rows;
  for (std::string line; std::getline(in, line) && line != "EOD";) {
    std::istringstream ls(line);
    std::vector<double> row;
    for (std::string tok; ls >> tok;) row.push_back(tok == "NaN" ? std::nan("") : std::stod(tok));
    rows.push_back(row);
  }
  return rows;
}

void expect_row(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    if (std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(got[i])) << "column " << i;
    else
      EXPECT_NEAR(got[i], want[i], 1e-7 * std::max(1.0, std::abs(want[i]))) << "column " << i;
}

void write(const fs::path& p, const json& j) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << j.dump(1);
}

json noise_doc() {
  json r8 = {{"bits", 8},        {"noise_var", 2e-6},        {"weight_noise_var", 1e-6}, {"sqnr_db", 40.0},
             {"var_ratio", 2.0}, {"var_ratio_stderr", 0.01}, {"model_holds", false}};
  json r4 = {{"bits", 4},        {"noise_var", 1e-3},         {"weight_noise_var", 1e-3}, {"sqnr_db", 15.5},
             {"var_ratio", 1.0}, {"var_ratio_stderr", 0.002}, {"model_holds", true}};
  return {{"tool", "qreg"}, {"command", "noise"}, {"dist", "normal"}, {"results", {r8, r4}}};
}

TEST(Figures, MeanSeByHand) {
  const auto one = qreg::plots::mean_se({5.0});
  EXPECT_EQ(one.mean, 5.0);
  EXPECT_EQ(one.se, 0.0);
  const auto two = qreg::plots::mean_se({0.1, 0.3});  // sd = √(0.02/1) = 0.1414, se = sd/√2 = 0.1
  EXPECT_NEAR(two.mean, 0.2, 1e-15);
  EXPECT_NEAR(two.se, 0.1, 1e-15);
}

TEST(Figures, NoiseFigurePlotsModelSqnrAndFailures) {
  const auto figs = qreg::plots::figures_for(noise_doc(), "noise.json");
  ASSERT_EQ(figs.size(), 1u);
  EXPECT_EQ(figs[0].name, "noise");
  EXPECT_EQ(figs[0].source, "noise.json");
  const auto rows = datablock(figs[0].script, "noise");
  ASSERT_EQ(rows.size(), 2u);
  // bits, measured SQNR, model SQNR = 40 + 10·log10(2e-6 / 1e-6) = 43.0103, ratio, its SE, holds
  expect_row(rows[0], {8, 40.0, 40.0 + 3.0102999566398120, 2.0, 0.01, 0});
  expect_row(rows[1], {4, 15.5, 15.5, 1.0, 0.002, 1});
}

TEST(Figures, LayerNoiseFigureOnePanelPerBitWidthLossIgnored) {
  auto cmp = [](int bits, json layer, double pred, double meas, json lo, json hi, const char* verdict) {
    return json{{"bits", bits},
                {"layer", layer},
                {"name", "L" + layer.dump()},
                {"quantity", layer.is_null() ? "loss_increase" : "noise_var"},
                {"predicted", pred},
                {"measured", meas},
                {"ci_low", lo},
                {"ci_high", hi},
                {"verdict", verdict}};
  };
  const json doc = {
      {"tool", "qreg"},
      {"command", "validate"},
      {"predicted_method", "first-order"},
      {"measured_method", "monte-carlo"},
      {"model", "/x/run/model.onnx"},
      {"comparisons",
       {cmp(8, 0, 1e-5, 1.1e-5, 1.0e-5, 1.2e-5, "agree"), cmp(8, 1, 3e-5, 1e-5, nullptr, nullptr, "disagree"),
        cmp(8, nullptr, 1e-6, 2e-6, 0, 4e-6, "agree"), cmp(4, 0, 2e-3, 2e-3, 1.9e-3, 2.1e-3, "agree")}}};
  const auto figs = qreg::plots::figures_for(doc, "validation.json");
  ASSERT_EQ(figs.size(), 1u);
  const std::string& s = figs[0].script;
  const auto b8 = datablock(s, "bits8");
  ASSERT_EQ(b8.size(), 2u);  // the loss comparison is not a layer
  expect_row(b8[0], {0, 1e-5, 1.1e-5, 1.0e-5, 1.2e-5, 1});
  expect_row(b8[1], {1, 3e-5, 1e-5, 1e-5, 1e-5, 0});  // no CI: the bar collapses onto the point
  ASSERT_EQ(datablock(s, "bits4").size(), 1u);
  EXPECT_NE(s.find("'8 bits: 1/2 agree'"), std::string::npos) << s;
  EXPECT_NE(s.find("'4 bits: 1/1 agree'"), std::string::npos) << s;
  EXPECT_NE(s.find("set xtics ('L0' 0, 'L1' 1)"), std::string::npos) << s;
  EXPECT_NE(figs[0].title.find("run/model.onnx"), std::string::npos) << figs[0].title;
  json frac = doc;  // a layer index is a whole number too (BitsMustBeWholeNumbers for bits)
  frac["comparisons"][0]["layer"] = 1.5;
  try {
    qreg::plots::figures_for(frac, "validation.json");
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'layer' must be a whole number"), std::string::npos) << e.what();
  }
}

TEST(Figures, LayersFigureOneCurvePerBitWidthWithIntervals) {
  // simulate: v = 1e-4 with CI [0.8v, 1.25v], SQNR 30 dB: the SQNR interval is
  // [30 − 10·log10(1.25), 30 + 10·log10(1/0.8)] = [29.0309, 30.9691] (10·log10(1.25) = 0.96910013).
  const json sim_layer = {{"index", 0},       {"name", "fc1"},      {"noise_var", 1e-4},
                          {"ci_low", 0.8e-4}, {"ci_high", 1.25e-4}, {"sqnr_db", 30.0}};
  // theory: ±1.96 SE with SE = 0.25v/1.96 gives [0.75v, 1.25v]: SQNR 20 − 0.96910013, 20 + 1.24938737.
  const json th_layer = {
      {"index", 1}, {"name", "fc2"}, {"noise_var", 2e-4}, {"stderr", 0.5e-4 / 1.96}, {"sqnr_db", 20.0}};
  const json no_se = {{"index", 1}, {"name", "fc2"}, {"noise_var", 3e-4}, {"stderr", nullptr}, {"sqnr_db", 10.0}};
  json sim = {{"tool", "qreg"}, {"command", "simulate"}, {"method", "monte-carlo"}};
  sim["results"] = json::array({json{{"bits", 8}, {"layers", json::array({sim_layer, th_layer})}},
                                json{{"bits", 4}, {"layers", json::array({sim_layer, no_se})}}});
  const auto figs = qreg::plots::figures_for(sim, "simulate.json");
  ASSERT_EQ(figs.size(), 1u);
  EXPECT_EQ(figs[0].name, "layers_monte-carlo");
  const auto b8 = datablock(figs[0].script, "bits8");
  ASSERT_EQ(b8.size(), 2u);
  expect_row(b8[0], {0, 1e-4, 0.8e-4, 1.25e-4, 30.0, 30.0 - 0.96910013, 30.0 + 0.96910013});
  expect_row(b8[1], {1, 2e-4, 1.5e-4, 2.5e-4, 20.0, 20.0 - 0.96910013, 20.0 + 1.24938737});
  expect_row(datablock(figs[0].script, "bits4")[1], {1, 3e-4, 3e-4, 3e-4, 10.0, 10.0, 10.0});  // no interval
  EXPECT_NE(figs[0].script.find("set xtics ('fc1' 0, 'fc2' 1)"), std::string::npos) << figs[0].script;
  json bad = sim;
  bad["results"][1]["layers"].erase(1);
  EXPECT_THROW(qreg::plots::figures_for(bad, "simulate.json"), qreg::Error);
}

TEST(Figures, TextFromFilesCannotBreakOutOfTheScriptAndNamesAreFileSafe) {
  json doc = noise_doc();
  doc["dist"] = "x\nprint 'INJECTED'\n#";
  const auto figs = qreg::plots::figures_for(doc, "noise.json");
  ASSERT_EQ(figs.size(), 1u);
  EXPECT_EQ(figs[0].title.find('\n'), std::string::npos) << figs[0].title;
  EXPECT_EQ(figs[0].script.find("\nprint 'INJECTED'"), std::string::npos) << figs[0].script;
  // theory with fp32 only: nothing to draw (noise 0 on a log axis), not a gnuplot failure later
  const json layer = {{"index", 0}, {"name", "fc"}, {"noise_var", 0.0}, {"stderr", nullptr}, {"sqnr_db", nullptr}};
  json th = {{"tool", "qreg"}, {"command", "theory"}, {"method", "first-order"}};
  th["results"] = json::array({json{{"bits", 32}, {"layers", json::array({layer})}}});
  EXPECT_TRUE(qreg::plots::figures_for(th, "theory.json").empty());
}

// A train --out folder: FP32 and 8-bit, two seeds each, and a failed 2-bit run.
fs::path write_training(const fs::path& dir) {
  json runs = json::array();
  auto run = [&](const std::string& name, int bits, int seed, double g1, double g2, double acc) {
    runs.push_back({{"run", name},
                    {"bits", bits},
                    {"mode", bits == 32 ? "fp32" : "qat"},
                    {"seed", seed},
                    {"status", "completed"},
                    {"final_gap", g2},
                    {"final_val_accuracy", acc}});
    json epochs = json::array();
    for (int e = 1; e <= 2; ++e) {
      const double gap = e == 1 ? g1 : g2;
      json ep = {{"epoch", e}, {"train_loss", 0.5 / e}, {"val_loss", 0.5 / e + gap}, {"gap", gap}};
      if (bits < 32)
        ep["layers"] = {{{"name", "fc1"}, {"noise_var", 1e-4 * e * seed}, {"predicted_noise_var", 2e-4 * e}},
                        {{"name", "fc2"}, {"noise_var", 3e-4 * e}, {"predicted_noise_var", nullptr}}};
      epochs.push_back(ep);
    }
    write(dir / name / "metrics.json", {{"tool", "qreg"},
                                        {"command", "train"},
                                        {"epochs", epochs},
                                        {"run", {{"data", "fashion-mnist:train"}, {"train_samples", 1000}}}});
  };
  run("m_fp32_s1", 32, 1, 0.02, 0.10, 0.80);
  run("m_fp32_s2", 32, 2, 0.04, 0.14, 0.82);
  run("m_b8_s1", 8, 1, 0.01, 0.06, 0.81);
  run("m_b8_s2", 8, 2, 0.03, 0.08, 0.83);
  runs.push_back({{"run", "m_b2_s1"}, {"bits", 2}, {"mode", "qat"}, {"seed", 1}, {"status", "failed"}});
  const fs::path summary = dir / "summary.json";
  write(summary, {{"tool", "qreg"}, {"command", "train"}, {"model", "mlp"}, {"runs", runs}});
  return summary;
}

TEST(Figures, TrainingFiguresAverageSeedsByHand) {
  const fs::path summary = write_training(test_dir());
  std::ifstream in(summary);
  const auto figs = qreg::plots::figures_for(json::parse(in), summary);
  ASSERT_EQ(figs.size(), 2u);
  EXPECT_EQ(figs[0].name, "training_mlp");
  EXPECT_EQ(figs[1].name, "training_noise_mlp");
  const std::string& s = figs[0].script;
  // groups in order fp32 (g0), 8-bit (g1); the failed 2-bit run is left out
  const auto g0 = datablock(s, "g0");
  ASSERT_EQ(g0.size(), 2u);
  expect_row(g0[0], {1, 0.5, 0.5 + 0.03, 0.03});  // gap mean of 0.02 and 0.04
  expect_row(g0[1], {2, 0.25, 0.25 + 0.12, 0.12});
  EXPECT_EQ(s.find("$g2"), std::string::npos) << "a failed run has no curve";
  const auto finals = datablock(s, "finals");
  ASSERT_EQ(finals.size(), 2u);
  // fp32: gaps 0.10, 0.14 -> mean 0.12, SE = |0.14 − 0.10|/2 = 0.02 (n = 2); accuracy 81 ± 1 (%)
  expect_row(finals[0], {0, 0.12, 0.02, 81.0, 1.0});
  expect_row(finals[1], {1, 0.07, 0.01, 82.0, 1.0});
  EXPECT_EQ(datablock(s, "seeds").size(), 4u);
  EXPECT_NE(s.find("set xtics ('fp32' 0, '8-bit' 1)"), std::string::npos) << s;
  EXPECT_NE(figs[0].title.find("2 seeds"), std::string::npos) << figs[0].title;
  EXPECT_NE(figs[0].title.find("1 run not completed, left out"), std::string::npos) << figs[0].title;

  // noise during training: 8-bit only; fc1 measured mean over seeds 1e-4·e·(1+2)/2, prediction 2e-4·e
  const auto fc1 = datablock(figs[1].script, "p0l0");
  ASSERT_EQ(fc1.size(), 2u);
  expect_row(fc1[0], {1, 1.5e-4, 2e-4});
  expect_row(fc1[1], {2, 3e-4, 4e-4});
  expect_row(datablock(figs[1].script, "p0l1")[0], {1, 3e-4, std::nan("")});  // no prediction: NaN, not plotted

  // A model given to train as a path: the figure is named after its stem, a file-safe name.
  std::ifstream again(summary);
  json doc = json::parse(again);
  doc["model"] = "/some/dir/my net.onnx";
  EXPECT_EQ(qreg::plots::figures_for(doc, summary)[0].name, "training_my_net");
}

TEST(Figures, TrainingRunWithoutMetricsIsAnErrorNamingTheFile) {
  const fs::path dir = test_dir();
  const fs::path summary = write_training(dir);
  fs::remove(dir / "m_b8_s2" / "metrics.json");
  std::ifstream in(summary);
  try {
    qreg::plots::figures_for(json::parse(in), summary);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("m_b8_s2/metrics.json"), std::string::npos) << e.what();
  }
}

// A bad number inside a run's metrics.json is reported against that file, not the summary.
TEST(Figures, BadMetricsFieldNamesTheRunsFile) {
  const fs::path dir = test_dir();
  const fs::path summary = write_training(dir);
  json m;
  {
    std::ifstream in(dir / "m_b8_s2" / "metrics.json");
    m = json::parse(in);
  }
  m["epochs"][1]["val_loss"] = "high";
  write(dir / "m_b8_s2" / "metrics.json", m);
  std::ifstream in(summary);
  try {
    qreg::plots::figures_for(json::parse(in), summary);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("m_b8_s2/metrics.json"), std::string::npos) << what;
    EXPECT_NE(what.find("val_loss"), std::string::npos) << what;
  }
}

// Bit widths and layer indices are whole numbers: null or a fraction is an error naming the
// field, never a cast of NaN to int.
TEST(Figures, BitsMustBeWholeNumbers) {
  const fs::path dir = test_dir();
  const fs::path summary = write_training(dir);
  json doc;
  {
    std::ifstream in(summary);
    doc = json::parse(in);
  }
  for (const json& bad : {json(nullptr), json(7.5)}) {
    json d = doc;
    d["runs"][0]["bits"] = bad;
    try {
      qreg::plots::figures_for(d, summary);
      FAIL() << "expected an error for bits " << bad;
    } catch (const qreg::Error& e) {
      EXPECT_NE(std::string(e.what()).find("'bits' must be a whole number"), std::string::npos) << e.what();
    }
  }
}

TEST(Figures, OtherDocumentsGiveNoFigureButKnownOnesMustBeComplete) {
  EXPECT_TRUE(qreg::plots::figures_for({{"tool", "qreg"}, {"command", "reproduce"}}, "c.json").empty());
  EXPECT_TRUE(qreg::plots::figures_for({{"something", "else"}}, "x.json").empty());
  EXPECT_TRUE(qreg::plots::figures_for(json::array(), "x.json").empty());
  json broken = noise_doc();
  broken["results"][0].erase("sqnr_db");
  try {
    qreg::plots::figures_for(broken, "dir/noise.json");
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("dir/noise.json"), std::string::npos) << what;
    EXPECT_NE(what.find("sqnr_db"), std::string::npos) << what;
  }
}

TEST(Figures, CollectSearchesFoldersInPathOrderWithUniqueNames) {
  const fs::path dir = test_dir();
  write(dir / "a" / "noise.json", noise_doc());
  write(dir / "b" / "noise.json", noise_doc());
  write(dir / "other.json", {{"not", "qreg"}});
  std::ofstream(dir / "notes.txt") << "not json";
  const auto figs = qreg::plots::collect_figures(dir);
  ASSERT_EQ(figs.size(), 2u);
  EXPECT_EQ(figs[0].name, "noise");
  EXPECT_EQ(figs[1].name, "noise_2");
  EXPECT_NE(figs[1].source.find("b/noise.json"), std::string::npos) << figs[1].source;
  ASSERT_EQ(qreg::plots::collect_figures(dir / "a" / "noise.json").size(), 1u);  // one file

  std::ofstream(dir / "c.json") << "{\"tool\": \"qreg\", \"comm";  // truncated
  try {
    qreg::plots::collect_figures(dir);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("c.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(qreg::plots::collect_figures(dir / "missing"), qreg::Error);
}

}  // namespace
