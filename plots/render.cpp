// Drawing a figure with gnuplot (see render.hpp). DESIGN.md names gnuplot-iostream; we run the
// gnuplot program on the written script instead (docs/plots.md): the script is a kept result
// that redraws the figure by itself, and running gnuplot as a child process gives its exit
// status and error text, which gnuplot-iostream's pipe drops (its destructor's pclose status is
// not reported), so a failed figure is an error here, not a missing file noticed later.
#include "plots/render.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "core/version.hpp"

extern char** environ;

namespace qreg::plots {
namespace fs = std::filesystem;

ImageFormat parse_image_format(const std::string& name) {
  if (name == "png") return ImageFormat::Png;
  if (name == "svg") return ImageFormat::Svg;
  if (name == "pdf") return ImageFormat::Pdf;
  throw UsageError("plot: unknown image format '" + name + "' (use png, svg or pdf)");
}

std::string extension(ImageFormat format) {
  switch (format) {
    case ImageFormat::Png:
      return "png";
    case ImageFormat::Svg:
      return "svg";
    case ImageFormat::Pdf:
      return "pdf";
  }
  return "png";
}

namespace {

std::string terminal(const RenderOptions& opt) {
  const std::string size = std::to_string(opt.width) + "," + std::to_string(opt.height);
  switch (opt.format) {
    case ImageFormat::Svg:
      return "svg size " + size + " dynamic font 'sans,11' noenhanced background rgb 'white'";
    case ImageFormat::Pdf:
      return "pdfcairo size " + std::to_string(opt.width / 100.0) + "in," + std::to_string(opt.height / 100.0) +
             "in font 'sans,8' noenhanced";
    case ImageFormat::Png:
      break;
  }
  return "pngcairo size " + size + " font 'sans,10' noenhanced";
}

std::string gnuplot_program(const RenderOptions& opt) {
  if (!opt.gnuplot.empty()) return opt.gnuplot;
  const char* env = std::getenv("QREG_GNUPLOT");
  return env && *env ? env : "gnuplot";
}

/// What to do about a gnuplot that does not work: where the program came from decides the advice.
std::string program_hint(const RenderOptions& opt) {
  const char* env = std::getenv("QREG_GNUPLOT");
  if (opt.gnuplot.empty() && env && *env)
    return "QREG_GNUPLOT is set to '" + std::string(env) + "'; point it at gnuplot or unset it";
  return "install gnuplot (scripts/setup-debian installs gnuplot-nox) or set QREG_GNUPLOT";
}

struct ChildResult {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string err;  // its standard error
};

/// Runs argv[0] (looked up on PATH) with stdout discarded and stderr captured. Throws Error, with
/// `hint` as the advice, when it cannot be started.
ChildResult run_child(const std::vector<std::string>& args, const std::string& hint) {
  std::array<int, 2> pipe_fds{};
  if (pipe(pipe_fds.data()) != 0) throw Error(std::string("plot: pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    throw Error("plot: cannot run '" + args[0] + "' (" + std::strerror(rc) + "): " + hint);
  }
  ChildResult r;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = read(pipe_fds[0], buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r.err.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// gnuplot's error: the line naming the problem (it prints the offending command, a caret line,
/// then "NAME.gp", line N: message), else its first line.
std::string first_error(const std::string& err) {
  std::istringstream in(err);
  std::string line, first;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t^") == std::string::npos) continue;
    if (first.empty()) first = line;
    if (line.find("warning:") != std::string::npos) continue;  // gnuplot goes on after a warning
    if (line.find("line ") != std::string::npos && line.find(':') != std::string::npos) return line;
  }
  return first.empty() ? "no message" : first;
}

}  // namespace

std::string script_for(const Figure& f, const RenderOptions& opt) {
  const BuildInfo& b = build_info();
  const std::string image = f.name + "." + extension(opt.format);
  std::ostringstream s;
  const auto one_line = [](std::string t) {  // a newline would end the comment
    std::replace_if(
        t.begin(), t.end(), [](unsigned char ch) { return ch < 0x20; }, ' ');
    return t;
  };
  s << "# " << one_line(f.title) << "\n"
    << "# drawn by qreg " << b.version << " (" << b.commit << ") from " << one_line(f.source) << "\n"
    << "# redraw: gnuplot " << f.name << ".gp  (in this folder; writes " << image << ")\n"
    << "if (!exists('qreg_output')) qreg_output = " << gnuplot_quote(image) << "\n"
    << "set terminal " << terminal(opt) << "\n"
    << "set output qreg_output\n"
    << f.script << "unset output\n";
  return s.str();
}

void check_gnuplot(const RenderOptions& opt) {
  // Not just `--version`: any program exits 0 on that (QREG_GNUPLOT=true would pass). gnuplot
  // must open this format's terminal and print a token to stderr, which only gnuplot does.
  const std::string program = gnuplot_program(opt), token = "qreg-gnuplot-ok";
  const ChildResult r =
      // `set print` first: a ~/.gnuplot that sends print elsewhere must not fail the check.
      run_child({program, "-e", "set terminal " + terminal(opt) + "; set print; print '" + token + "'"},
                program_hint(opt));
  if (r.status != 0 || r.err.find(token) == std::string::npos)
    throw Error("plot: '" + program + "' is not a working gnuplot with the " + extension(opt.format) + " terminal (" +
                (r.status == 0     ? std::string("it did not run the test command")
                 : r.status == 127 ? std::string("not found")
                                   : "exit status " + std::to_string(r.status) + ": " + first_error(r.err)) +
                "): " + program_hint(opt));
}

fs::path render(const Figure& f, const RenderOptions& opt, const fs::path& out_dir) {
  if (opt.width < 200 || opt.height < 150 || opt.width > 20000 || opt.height > 20000)
    throw UsageError("plot: image size " + std::to_string(opt.width) + "x" + std::to_string(opt.height) +
                     " is out of range (200x150 to 20000x20000)");
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec))
    throw Error("plot: output folder " + out_dir.string() +
                (fs::exists(out_dir, ec) ? " is not a folder" : " does not exist"));
  const fs::path script = out_dir / (f.name + ".gp");
  const fs::path image = out_dir / (f.name + "." + extension(opt.format));
  const fs::path failed = out_dir / (f.name + ".gp.failed");
  // Both files are drawn as temporaries and renamed only when gnuplot succeeded, the script
  // first and the image last. A failed figure leaves neither (nor replaces earlier ones); its
  // script is kept as NAME.gp.failed, which gnuplot's error names, so the offending line can be
  // read (or, when even that rename fails, under its temporary name, which the error then gives).
  // Should the image's rename fail after the script's, an older image would sit beside a script
  // that did not draw it: it is removed, and the error says the new script redraws it.
  const std::string suffix = ".tmp" + std::to_string(getpid());
  const fs::path tmp_script = out_dir / ("." + script.filename().string() + suffix);
  const fs::path tmp_image = out_dir / ("." + image.filename().string() + suffix);
  const auto discard = [&] {
    fs::remove(tmp_script, ec);
    fs::remove(tmp_image, ec);
  };
  {
    std::ofstream out(tmp_script, std::ios::binary | std::ios::trunc);
    out << script_for(f, opt);
    out.close();
    if (!out) {
      discard();
      throw Error("plot: cannot write " + tmp_script.string() + ": " + std::strerror(errno));
    }
  }
  const std::string program = gnuplot_program(opt);
  ChildResult r;
  try {
    r = run_child({program, "-e", "qreg_output = " + gnuplot_quote(tmp_image.string()), tmp_script.string()},
                  program_hint(opt));
  } catch (...) {
    discard();
    throw;
  }
  if (r.status != 0 || !fs::exists(tmp_image, ec) || fs::file_size(tmp_image, ec) == 0) {
    fs::rename(tmp_script, failed, ec);
    const fs::path kept = ec ? tmp_script : failed;
    fs::remove(tmp_image, ec);
    std::string why = first_error(r.err);  // gnuplot names the temporary script: name the kept one
    if (kept != tmp_script)
      for (std::size_t at; (at = why.find(tmp_script.string())) != std::string::npos;)
        why.replace(at, tmp_script.string().size(), kept.string());
    throw Error("plot: " + program + " failed on " + kept.string() +
                (r.status == 127 ? " (not found: " + program_hint(opt) + ")" : "") + ": " + why);
  }
  fs::rename(tmp_script, script, ec);
  if (ec) {
    discard();
    throw Error("plot: cannot write " + script.string() + ": " + ec.message() + " (nothing was replaced)");
  }
  fs::rename(tmp_image, image, ec);
  if (ec) {
    const std::string what = ec.message();
    fs::remove(tmp_image, ec);
    if (fs::is_regular_file(image, ec)) fs::remove(image, ec);  // an older image the new script did not draw
    throw Error("plot: cannot write " + image.string() + ": " + what + " (" + script.filename().string() +
                " is written: run gnuplot on it in " + out_dir.string() + " to draw the image)");
  }
  fs::remove(failed, ec);  // an earlier failure of this figure is mended
  return image;
}

}  // namespace qreg::plots
