// The build stamps the commit it compiles (cmake/QregCommitStamp.cmake, run at every build), not
// the one its build folder was configured at: a result file must name the code that made it.
// The script runs here on a scratch git repository; the expected hashes come from git itself.
// git runs with no user or system configuration (a signing hook or a global hooksPath must not
// break a commit here) and with no GIT_DIR-style variables pointing elsewhere.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "tests/scoped_env.hpp"

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

struct Scratch {
  fs::path root = fs::path(QREG_BINARY_DIR) / "test_core" / "commit_stamp";
  fs::path repo = root / "repo", out = root / "commit.cpp";
  std::vector<std::unique_ptr<test::ScopedEnv>> env;
  Scratch() {
    fs::remove_all(root);
    fs::create_directories(repo);
    for (const char* name : {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
                             "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT"})
      env.push_back(std::make_unique<test::ScopedEnv>(name, nullptr));
    env.push_back(std::make_unique<test::ScopedEnv>("GIT_CONFIG_GLOBAL", "/dev/null"));
    env.push_back(std::make_unique<test::ScopedEnv>("GIT_CONFIG_NOSYSTEM", "1"));
    // The scratch folder lies inside qreg's own checkout: git must not look above it.
    env.push_back(std::make_unique<test::ScopedEnv>("GIT_CEILING_DIRECTORIES", root.string().c_str()));
  }
  std::string git(const std::string& args) const {
    return "git -C '" + repo.string() + "' -c user.name=qreg -c user.email=qreg@test -c commit.gpgsign=false " + args;
  }
  /// The stamp's text after one run of the script on `source` (default: the scratch repository).
  std::string stamp(const fs::path& source = {}) const {
    const std::string cmd = "'" + std::string(QREG_CMAKE_COMMAND) + "' -DSOURCE_DIR='" +
                            (source.empty() ? repo : source).string() + "' -DOUTPUT='" + out.string() + "' -P '" +
                            QREG_SOURCE_DIR + "/cmake/QregCommitStamp.cmake'";
    EXPECT_EQ(sh(cmd), 0) << cmd;
    return slurp(out);
  }
  /// HEAD's short hash, as git prints it.
  std::string head() const {
    const fs::path f = root / "head.txt";
    EXPECT_EQ(sh(git("rev-parse --short=12 HEAD > '" + f.string() + "'")), 0);
    std::string h = slurp(f);
    while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
    return h;
  }
};

std::string returned(const std::string& commit) { return "return \"" + commit + "\";"; }

TEST(CommitStamp, FollowsTheCheckoutAtEachRun) {
  const Scratch s;
  EXPECT_NE(s.stamp().find(returned("unknown")), std::string::npos) << "not a git checkout";
  if (sh("git --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no git on PATH: only the unstamped build was checked";

  std::ofstream(s.repo / "a.txt") << "one\n";
  ASSERT_EQ(sh(s.git("init -q") + " && " + s.git("add a.txt") + " && " + s.git("commit -qm one")), 0);
  const std::string first = s.head();
  ASSERT_EQ(first.size(), 12u) << first;
  EXPECT_NE(s.stamp().find(returned(first)), std::string::npos) << slurp(s.out);

  std::ofstream(s.repo / "untracked.txt") << "x\n";  // untracked files do not make a build dirty
  EXPECT_NE(s.stamp().find(returned(first)), std::string::npos) << slurp(s.out);
  std::ofstream(s.repo / "a.txt") << "two\n";
  EXPECT_NE(s.stamp().find(returned(first + "-dirty")), std::string::npos) << slurp(s.out);

  ASSERT_EQ(sh(s.git("commit -qam two")), 0);
  const std::string second = s.head();
  ASSERT_NE(second, first);
  EXPECT_NE(s.stamp().find(returned(second)), std::string::npos) << slurp(s.out);

  // A source tree unpacked inside another checkout is not that checkout's commit.
  fs::create_directories(s.repo / "vendored" / "qreg");
  std::ofstream(s.repo / "vendored" / "qreg" / "CMakeLists.txt") << "# a tarball's file\n";
  ASSERT_EQ(sh(s.git("add vendored") + " && " + s.git("commit -qm vendor")), 0);
  EXPECT_NE(s.stamp(s.repo / "vendored" / "qreg").find(returned("unknown")), std::string::npos) << slurp(s.out);
  EXPECT_NE(s.stamp().find(returned(s.head())), std::string::npos) << slurp(s.out);

  // Unchanged text: the file is left alone (its old time stays), so nothing recompiles.
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::last_write_time(s.out, old);
  s.stamp();
  EXPECT_EQ(fs::last_write_time(s.out), old);
}

}  // namespace
