// Tests of drawing with gnuplot (a declared dependency: scripts/setup-debian installs gnuplot-nox).
// A PNG's size is read from its IHDR chunk (bytes 16-23, big-endian width and height, PNG spec);
// the kept script must redraw the figure on its own; a failing gnuplot or a missing program is an
// error that leaves no image behind (a failed script is kept as NAME.gp.failed, for reading, or
// under its temporary name when that name is taken), a name taken by a folder is an error that
// says what was written, and a program that is not gnuplot does not pass the check that a long
// job runs first (a ~/.gnuplot redirecting `print` does not fail a real one).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "plots/render.hpp"
#include "tests/plots/plots_test_util.hpp"
#include "tests/scoped_env.hpp"

namespace {

using test::slurp;
using test::test_dir;
namespace fs = std::filesystem;
using qreg::plots::Figure;
using qreg::plots::ImageFormat;
using qreg::plots::RenderOptions;

std::uint32_t be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

Figure figure(const std::string& body) { return {"fig", "A test figure", "test.json", body}; }

const char* kBody = "$d << EOD\n1 2\n2 4\n3 8\nEOD\nset logscale y\nplot $d using 1:2 with linespoints title 'x'\n";

TEST(Render, PngHasTheRequestedSizeAndTheScriptRedrawsIt) {
  const fs::path dir = test_dir();
  RenderOptions opt;
  opt.width = 640;
  opt.height = 480;
  const fs::path image = qreg::plots::render(figure(kBody), opt, dir);
  EXPECT_EQ(image, dir / "fig.png");
  const std::string png = slurp(image);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), 640u);
  EXPECT_EQ(be32(png, 20), 480u);
  const std::string script = slurp(dir / "fig.gp");
  EXPECT_NE(script.find("# A test figure"), std::string::npos) << script;
  EXPECT_NE(script.find(kBody), std::string::npos) << script;
  for (const auto& e : fs::directory_iterator(dir))  // no temporary left
    EXPECT_TRUE(e.path().filename() == "fig.png" || e.path().filename() == "fig.gp") << e.path();

  // The script alone redraws the image, in its folder (what its header promises).
  fs::remove(image);
  const std::string cmd = "cd '" + dir.string() + "' && gnuplot fig.gp";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_EQ(be32(slurp(image), 16), 640u);
}

TEST(Render, SvgAndPdf) {
  const fs::path dir = test_dir();
  RenderOptions opt;
  opt.format = ImageFormat::Svg;
  EXPECT_NE(slurp(qreg::plots::render(figure(kBody), opt, dir)).find("<svg"), std::string::npos);
  opt.format = ImageFormat::Pdf;
  EXPECT_EQ(slurp(qreg::plots::render(figure(kBody), opt, dir)).substr(0, 5), "%PDF-");
  EXPECT_EQ(qreg::plots::parse_image_format("svg"), ImageFormat::Svg);
  EXPECT_THROW(qreg::plots::parse_image_format("gif"), qreg::UsageError);
}

// A failed figure writes no image, no script and no temporary, and an earlier good pair drawn
// under the same name is left as it was. The script that failed is kept as fig.gp.failed, and
// gnuplot's error names that file and its line, not the temporary. Drawing the figure again
// successfully removes the .failed script.
TEST(Render, GnuplotErrorIsReportedAndLeavesNoImage) {
  const fs::path dir = test_dir();
  const std::string bad = "plot $nothing using 1:2\n";
  try {
    qreg::plots::render(figure(bad), RenderOptions{}, dir);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("failed on " + (dir / "fig.gp.failed").string()), std::string::npos) << what;
    EXPECT_NE(what.find("fig.gp.failed\" line 7: no datablock"), std::string::npos) << what;  // gnuplot's line
    EXPECT_EQ(what.find(".tmp"), std::string::npos) << what;
  }
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"fig.gp.failed"});
  EXPECT_NE(slurp(dir / "fig.gp.failed").find(bad), std::string::npos);

  qreg::plots::render(figure(kBody), RenderOptions{}, dir);
  EXPECT_FALSE(fs::exists(dir / "fig.gp.failed")) << "mended by the good draw";
  const std::string script = slurp(dir / "fig.gp"), image = slurp(dir / "fig.png");
  EXPECT_THROW(qreg::plots::render(figure(bad), RenderOptions{}, dir), qreg::Error);
  EXPECT_EQ(slurp(dir / "fig.gp"), script);
  EXPECT_EQ(slurp(dir / "fig.png"), image);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += static_cast<int>(e.is_regular_file());
  EXPECT_EQ(files, 3);  // fig.gp, fig.png, fig.gp.failed
}

// When even fig.gp.failed cannot be written (here a folder holds that name), the failed script
// stays under its temporary name, and the error names that file, which exists and holds it.
TEST(Render, FailedScriptKeptUnderItsTemporaryNameWhenItsNameIsTaken) {
  const fs::path dir = test_dir();
  fs::create_directories(dir / "fig.gp.failed" / "x");
  const std::string bad = "plot $nothing using 1:2\n";
  try {
    qreg::plots::render(figure(bad), RenderOptions{}, dir);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    const std::string what = e.what(), tag = "failed on ", end = ": ";
    const std::size_t at = what.find(tag);
    ASSERT_NE(at, std::string::npos) << what;
    const fs::path kept = what.substr(at + tag.size(), what.find(end, at + tag.size()) - at - tag.size());
    EXPECT_EQ(kept.parent_path(), dir) << what;
    EXPECT_NE(kept.filename().string().find(".fig.gp.tmp"), std::string::npos) << what;
    EXPECT_NE(slurp(kept).find(bad), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir / "fig.gp"));
  EXPECT_FALSE(fs::exists(dir / "fig.png"));
}

// The script is in place but the image's name is taken by a folder: the error says so and that
// the new script redraws the image; no temporary is left.
TEST(Render, ImageNameTakenLeavesTheScriptAndSaysHowToDraw) {
  const fs::path dir = test_dir();
  fs::create_directories(dir / "fig.png" / "x");
  try {
    qreg::plots::render(figure(kBody), RenderOptions{}, dir);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot write " + (dir / "fig.png").string()), std::string::npos) << what;
    EXPECT_NE(what.find("fig.gp is written"), std::string::npos) << what;
  }
  EXPECT_NE(slurp(dir / "fig.gp").find(kBody), std::string::npos);
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(Render, OutputMustBeAFolder) {
  const fs::path dir = test_dir();
  EXPECT_THROW(qreg::plots::render(figure(kBody), RenderOptions{}, dir / "missing"), qreg::Error);
  std::ofstream(dir / "file") << "x";
  try {
    qreg::plots::render(figure(kBody), RenderOptions{}, dir / "file");
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a folder"), std::string::npos) << e.what();
  }
}

// The check a long job runs first: the program must be gnuplot and open the format's terminal.
// `true` exits 0 on anything, so an exit status alone would pass it.
TEST(Render, CheckGnuplotBeforeALongJob) {
  const test::ScopedEnv env("QREG_GNUPLOT", nullptr);
  EXPECT_NO_THROW(qreg::plots::check_gnuplot({}));
  RenderOptions opt;
  opt.format = ImageFormat::Pdf;
  EXPECT_NO_THROW(qreg::plots::check_gnuplot(opt));
  {
    // A user's ~/.gnuplot that sends `print` elsewhere does not make gnuplot look broken.
    const fs::path home = test_dir();
    std::ofstream(home / ".gnuplot") << "set print '/dev/null'\n";
    const test::ScopedEnv h("HOME", home.c_str());
    EXPECT_NO_THROW(qreg::plots::check_gnuplot(opt));
  }
  opt.gnuplot = "/nonexistent/gnuplot";
  try {
    qreg::plots::check_gnuplot(opt);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/gnuplot"), std::string::npos) << e.what();
  }
  for (const char* not_gnuplot : {"false", "true"}) {
    opt.gnuplot = not_gnuplot;
    EXPECT_THROW(qreg::plots::check_gnuplot(opt), qreg::Error) << not_gnuplot;
  }
  // A bad QREG_GNUPLOT is named as the culprit, so the user knows what to unset.
  const test::ScopedEnv bad("QREG_GNUPLOT", "true");
  try {
    qreg::plots::check_gnuplot({});
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("QREG_GNUPLOT is set to 'true'"), std::string::npos) << e.what();
  }
}

TEST(Render, MissingGnuplotIsAnErrorNamingIt) {
  const fs::path dir = test_dir();
  RenderOptions opt;
  opt.gnuplot = "/nonexistent/gnuplot";
  try {
    qreg::plots::render(figure(kBody), opt, dir);
    FAIL() << "expected an error";
  } catch (const qreg::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/nonexistent/gnuplot"), std::string::npos) << what;
    EXPECT_NE(what.find("gnuplot-nox"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir / "fig.png"));
  opt.gnuplot.clear();
  opt.width = 10;
  EXPECT_THROW(qreg::plots::render(figure(kBody), opt, dir), qreg::UsageError);
}

}  // namespace
