// `qreg plot` end to end on real outputs of `qreg noise`, `simulate`, `theory` and `validate` (so a
// change of those commands' JSON that the figures depend on fails here): the figures and their
// scripts are written and listed; the figure's numbers are the file's; bad input exits 1 (runtime)
// or 2 (usage) with one line naming the problem. The training figures are checked on a real
// `qreg train` folder by the reproduce test (test_reproduce_command.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/cli/cli_run.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path test_dir() {
  const fs::path d =
      fs::path(QREG_BINARY_DIR) / "test_plot_command" / ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(PlotCommand, DrawsTheFiguresOfRealResultFiles) {
  const fs::path dir = test_dir(), res = dir / "results";
  fs::create_directories(res);
  const std::string data = "synthetic:n=32,shape=1x28x28";
  ASSERT_EQ(
      run({"noise", "--bits", "8,4,2", "--size", "20000", "--format", "json", "--out", (res / "noise.json").string()})
          .rc,
      0);
  for (const char* cmd : {"theory", "simulate"}) {
    std::vector<std::string> args = {cmd,
                                     "--model",
                                     "mlp",
                                     "--data",
                                     data,
                                     "--bits",
                                     "8,4",
                                     "--format",
                                     "json",
                                     "--out",
                                     (res / (std::string(cmd) + ".json")).string()};
    if (std::string(cmd) == "simulate") args.insert(args.end(), {"--draws", "8"});
    const CliRun r = run(args);
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  const CliRun v =
      run({"validate", "--predicted", (res / "theory.json").string(), "--measured", (res / "simulate.json").string(),
           "--no-loss", "--format", "json", "--out", (res / "validation.json").string()});
  ASSERT_LE(v.rc, 1) << v.err;  // a disagreement is still a result to plot

  const fs::path figs = dir / "figures";
  const CliRun r = run({"plot", "--in", res.string(), "--out", figs.string(), "--format", "json", "--size", "800x600"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const json listing = json::parse(r.out);
  EXPECT_EQ(listing["command"], "plot");
  ASSERT_EQ(listing["figures"].size(), 4u);
  std::vector<std::string> names;
  for (const json& f : listing["figures"]) {
    names.push_back(f["name"]);
    EXPECT_GT(fs::file_size(f["image"].get<std::string>()), 1000u) << f;
    EXPECT_TRUE(fs::exists(f["script"].get<std::string>())) << f;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"layer_noise", "layers_first-order", "layers_monte-carlo", "noise"}));

  // The noise figure plots the file's numbers: its first datablock row is 8 bits with the file's SQNR.
  std::ifstream in(res / "noise.json");
  const json noise = json::parse(in);
  const std::string script = slurp(figs / "noise.gp");
  std::ostringstream sqnr;
  sqnr.precision(9);
  sqnr << noise["results"][0]["sqnr_db"].get<double>();
  EXPECT_NE(script.find("$noise << EOD\n8 " + sqnr.str() + " "), std::string::npos) << script;
  EXPECT_NE(slurp(figs / "layer_noise.gp").find("first-order against monte-carlo"), std::string::npos);

  // Same files, same scripts (the images may differ only in gnuplot's own metadata).
  const CliRun again = run({"plot", "--in", res.string(), "--out", figs.string(), "--size", "800x600"});
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(slurp(figs / "noise.gp"), script);
}

TEST(PlotCommand, BadInputExitsWithOneLine) {
  const fs::path dir = test_dir();
  std::ofstream(dir / "file") << "x";
  std::ofstream(dir / "claims.json") << json{{"tool", "qreg"}, {"command", "reproduce"}}.dump();
  const struct {
    std::vector<std::string> args;
    int rc;
    std::string what;
  } cases[] = {
      {{"plot", "--in", (dir / "missing").string(), "--out", (dir / "o").string()}, 1, "does not exist"},
      {{"plot", "--in", (dir / "claims.json").string(), "--out", (dir / "o").string()}, 1, "no figure to draw"},
      {{"plot", "--in", (dir / "file").string(), "--out", (dir / "o").string()}, 1, "not valid JSON"},
      {{"plot", "--in", dir.string(), "--out", (dir / "o").string(), "--image", "gif"}, 2, "unknown image format"},
      {{"plot", "--in", dir.string(), "--out", (dir / "o").string(), "--size", "800"}, 2, "WIDTHxHEIGHT"},
      {{"plot", "--out", (dir / "o").string()}, 2, "--in"},
  };
  for (const auto& c : cases) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.rc, c.rc) << c.args[2] << " " << r.err;
    EXPECT_NE(r.err.find(c.what), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
