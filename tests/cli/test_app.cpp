// Tests of the command-line front end, run in-process: exit codes (0 ok, 1 runtime, 2 usage),
// one-line error messages, --help for every DESIGN.md subcommand, version and backends output.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/cli_run.hpp"

namespace {

const char* kCommands[] = {"noise", "info", "eval",      "theory",   "simulate", "validate",
                           "train", "plot", "reproduce", "backends", "version"};

TEST(Cli, TopLevelHelpListsEveryCommand) {
  const CliRun r = run({"--help"});
  EXPECT_EQ(r.rc, 0);
  for (const char* c : kCommands) EXPECT_NE(r.out.find(c), std::string::npos) << c;
}

TEST(Cli, EveryCommandHasHelp) {
  for (const char* c : kCommands) {
    const CliRun r = run({c, "--help"});
    EXPECT_EQ(r.rc, 0) << c;
    EXPECT_NE(r.out.find(c), std::string::npos) << c << ": " << r.out;
  }
}

TEST(Cli, NoCommandIsUsageError) { EXPECT_EQ(run({}).rc, 2); }

TEST(Cli, UnknownCommandIsUsageErrorOnOneLine) {
  const CliRun r = run({"frobnicate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionIsUsageError) {
  const CliRun r = run({"backends", "--no-such-option"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
}

TEST(Cli, BadFormatValueIsUsageError) { EXPECT_EQ(run({"backends", "--format", "xml"}).rc, 2); }

TEST(Cli, VersionPrintsVersionAndCommit) {
  const CliRun r = run({"version"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("qreg 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("commit:"), std::string::npos) << r.out;
}

TEST(Cli, BackendsListsCpuUsableAndCuda) {
  const CliRun r = run({"backends", "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tool"], "qreg");
  EXPECT_EQ(j["command"], "backends");
  ASSERT_EQ(j["backends"].size(), 2u);
  EXPECT_EQ(j["backends"][0]["name"], "cpu");
  EXPECT_TRUE(j["backends"][0]["usable"].get<bool>());
  EXPECT_EQ(j["backends"][1]["name"], "cuda");
  EXPECT_FALSE(j["backends"][1]["detail"].get<std::string>().empty());
}

// --backend (DESIGN.md shared options): cpu runs; cuda is known but its kernels do not run a whole
// network yet, so every compute command refuses it before any work, naming it and whether it is
// usable here; an unknown name lists the known ones. Both are usage errors (exit 2).
TEST(Cli, BackendOptionAcceptsCpuAndRefusesOthersBeforeWork) {
  const CliRun ok = run({"noise", "--size", "1000", "--backend", "cpu", "--format", "json"});
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["backend"], "cpu");
  for (const std::string c : {"noise", "eval", "theory", "simulate", "train", "reproduce"}) {
    std::vector<std::string> args = {c, "--out", "/nonexistent/never-written"};
    if (c != "noise" && c != "reproduce") args.insert(args.end(), {"--model", "mlp"});
    args.insert(args.end(), {"--backend", "cuda"});
    const CliRun cuda = run(args);
    EXPECT_EQ(cuda.rc, 2) << c << ": " << cuda.err;
    EXPECT_NE(cuda.err.find(c + ": --backend cuda is not supported"), std::string::npos) << cuda.err;
    EXPECT_NE(cuda.err.find("use --backend cpu"), std::string::npos) << cuda.err;
    args.back() = "tpu";
    const CliRun bogus = run(args);
    EXPECT_EQ(bogus.rc, 2) << c << ": " << bogus.err;
    EXPECT_NE(bogus.err.find("'tpu' does not exist (available: cpu, cuda)"), std::string::npos) << bogus.err;
  }
}

}  // namespace
