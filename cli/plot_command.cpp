// `qreg plot`: paper-style figures from result files (plots/): every figure a result under --in
// supports, drawn into --out as NAME.<png|svg|pdf> beside the gnuplot script NAME.gp that redraws it.
#include <filesystem>
#include <memory>

#include "cli/commands.hpp"
#include "cli/runs.hpp"
#include "core/error.hpp"
#include "plots/render.hpp"

namespace qreg::cli {
namespace {

namespace fs = std::filesystem;

/// "WxH" in pixels.
std::pair<int, int> parse_size(const std::string& size) {
  const auto x = size.find('x');
  try {
    if (x != std::string::npos) {
      std::size_t wn = 0, hn = 0;
      const std::string ws = size.substr(0, x), hs = size.substr(x + 1);
      const int w = std::stoi(ws, &wn), h = std::stoi(hs, &hn);
      if (wn == ws.size() && hn == hs.size()) return {w, h};
    }
  } catch (const std::exception&) {
  }
  throw UsageError("plot: --size '" + size + "' is not WIDTHxHEIGHT in pixels, e.g. 1200x800");
}

}  // namespace

int run_plot(const PlotOptions& opt, Output& io) {
  parse_format(opt.common.format);
  if (opt.in.empty() || opt.out.empty()) throw UsageError("plot: --in and --out are required");
  plots::RenderOptions ro;
  ro.format = plots::parse_image_format(opt.image);
  std::tie(ro.width, ro.height) = parse_size(opt.size);
  const std::vector<plots::Figure> figures = plots::collect_figures(opt.in);
  if (figures.empty())
    throw Error("plot: no figure to draw from '" + opt.in +
                "': it holds no result of qreg noise, theory, simulate, validate or train (summary.json)");
  const fs::path out(opt.out);
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw Error("plot: --out '" + opt.out + "' exists and is not a folder");
  fs::create_directories(out, ec);
  if (ec) throw Error("plot: cannot create '" + opt.out + "': " + ec.message());

  Report report;
  report.context.command = "plot";
  report.context.threads = 1;
  report.table.columns = {"figure", "image", "script", "from"};
  auto list = nlohmann::json::array();
  for (std::size_t i = 0; i < figures.size(); ++i) {
    const plots::Figure& f = figures[i];
    io.err << "plot: [" << i + 1 << "/" << figures.size() << "] " << f.name << ": " << f.title << '\n' << std::flush;
    const fs::path image = plots::render(f, ro, out);
    const fs::path script = out / (f.name + ".gp");
    report.table.add_row({f.name, image.string(), script.string(), f.source});
    list.push_back({{"name", f.name},
                    {"title", f.title},
                    {"image", image.string()},
                    {"script", script.string()},
                    {"source", f.source}});
  }
  report.document = {{"in", opt.in}, {"out", opt.out}, {"image_format", opt.image}, {"figures", list}};
  CommonOptions listing = opt.common;
  listing.out.clear();  // --out is the figures' folder; the list goes to stdout
  emit_report(report, listing, io);
  return 0;
}

void add_plot_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<PlotOptions>();
  auto* cmd = app.add_subcommand("plot", "Paper-style figures from result files");
  cmd->footer(
      "Figures (each NAME.<image> with NAME.gp, the gnuplot script that redraws it: `gnuplot NAME.gp`):\n"
      "  noise                  from qreg noise: SQNR vs bits against the delta^2/12 model, and where it fails\n"
      "  layers_<method>        from qreg theory or simulate: noise variance and SQNR through the layers,\n"
      "                         one curve per bit width (simulate: with its CI)\n"
      "  layer_noise            from qreg validate: predicted vs measured noise per layer and bit width\n"
      "  training_<model>       from qreg train --out (summary.json + runs): loss and generalization gap\n"
      "                         per epoch, final gap and accuracy per bit width, mean +- SE over seeds\n"
      "  training_noise_<model> measured and predicted per-layer noise during quantized training\n"
      "A folder is searched recursively (e.g. the --out of qreg reproduce). gnuplot comes from the\n"
      "gnuplot-nox package; QREG_GNUPLOT names another program.");
  cmd->add_option("--in", opt->in, "A result file, or a folder searched recursively for them")->required();
  cmd->add_option("--out", opt->out, "Folder for the figures (created if missing)")->required();
  cmd->add_option("--image", opt->image, "Image format: png, svg or pdf")->capture_default_str();
  cmd->add_option("--size", opt->size, "Image size WIDTHxHEIGHT in pixels (pdf: 1/100 inch)")->capture_default_str();
  add_format_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_plot(*opt, io); }; });
}

}  // namespace qreg::cli
