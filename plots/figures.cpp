// Figures from result documents (see figures.hpp). Each builder reads only documented fields of
// its command's JSON (docs/plots.md), writes the numbers it plots into datablocks with 9
// significant digits, and leaves styling to gnuplot's defaults plus a few fixed choices: grid,
// log scale for variances, one colour per bit width (or layer) across panels.
#include "plots/figures.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "plots/figure_parts.hpp"
#include "plots/training_figures.hpp"
#include "validate/compare.hpp"

namespace qreg::plots {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using detail::array;
using detail::Block;
using detail::integer;
using detail::joined;
using detail::name_part;
using detail::number;
using detail::short_path;
using detail::text;
using detail::xtics;

// ---- noise.json: SQNR and the variance ratio against the Δ²/12 model ---------------------------

Figure noise_figure(const json& doc, const fs::path& file) {
  Block b("noise");
  for (const json& r : array(doc, "results", file)) {
    const double var = number(r, "noise_var", file), model = number(r, "weight_noise_var", file);
    const double sqnr = number(r, "sqnr_db", file);
    // measured SQNR = 10·log10(P/var); the model's: 10·log10(P/(Δ²/12)) = measured + 10·log10(var/model)
    const bool holds = r.contains("model_holds") && r["model_holds"].is_boolean() && r["model_holds"].get<bool>();
    b.row({number(r, "bits", file), sqnr, sqnr + 10.0 * std::log10(var / model), number(r, "var_ratio", file),
           number(r, "var_ratio_stderr", file), holds ? 1.0 : 0.0});
  }
  Figure f;
  f.name = "noise";
  f.title = "Quantization noise of " + text(doc, "dist", "?") + " weights (" + text(doc, "granularity", "tensor") +
            " steps) against the U(-Δ/2, Δ/2) model";
  std::ostringstream s;
  s << b.str() << "set multiplot layout 1,2 title " << gnuplot_quote(f.title) << "\n"
    << "set grid\nset xlabel 'bits'\nset key top left\n"
    << "set ylabel 'SQNR (dB)'\n"
    << "plot " << b.ref() << " using 1:3 with lines lw 2 title 'Δ²/12 model', " << b.ref()
    << " using 1:2 with points pt 7 ps 1.3 title 'measured'\n"
    << "set ylabel 'measured noise variance / (Δ²/12)'\nset key top right\n"
    << "plot 1 with lines dt 2 lc rgb 'black' title 'model', " << b.ref()
    << " using 1:4:(2*$5) with yerrorbars pt 7 title 'measured ± 2 SE', " << b.ref()
    << " using 1:($6 > 0 ? 1/0 : $4) with points pt 6 ps 2.5 lw 2 lc rgb 'red' title 'model fails'\n"
    << "unset multiplot\n";
  f.script = s.str();
  return f;
}

// ---- theory.json / simulate.json: noise through the layers, one curve per bit width -------------

/// None when the results hold no quantized bit width.
std::vector<Figure> layers_figure(const json& doc, const fs::path& file) {
  const json& results = array(doc, "results", file);
  const std::string method = text(doc, "method", text(doc, "command"));
  std::vector<std::string> names;
  for (const json& l : array(results[0], "layers", file)) names.push_back(text(l, "name", "?"));
  std::ostringstream s;
  std::vector<int> bits;
  for (const json& r : results) {
    const int bw = integer(r, "bits", file);
    if (!(bw >= 2 && bw < 32)) continue;  // fp32 (no noise: nothing to draw on a log axis)
    bits.push_back(bw);
    Block b("bits" + std::to_string(bits.back()));  // layer, var, var low, var high, SQNR, SQNR low, SQNR high
    const json& layers = array(r, "layers", file);
    if (layers.size() != names.size()) throw Error(file.string() + ": bit widths differ in their layers");
    for (const json& l : layers) {
      const double v = number(l, "noise_var", file), sqnr = number(l, "sqnr_db", file);
      // The interval: simulate's CI; else ±1.96 SE where a prediction has one (Hutchinson probes); else none.
      double lo = v, hi = v;
      if (l.contains("ci_low") && l.contains("ci_high")) {
        lo = number(l, "ci_low", file), hi = number(l, "ci_high", file);
      } else if (l.contains("stderr") && l["stderr"].is_number()) {
        lo = v - 1.96 * l["stderr"].get<double>(), hi = v + 1.96 * l["stderr"].get<double>();
      }
      // SQNR = 10·log10(P/v): the variance's interval maps to [SQNR − 10·log10(hi/v), SQNR + 10·log10(v/lo)].
      b.row({number(l, "index", file), v, lo, hi, sqnr, sqnr - 10.0 * std::log10(hi / v),
             lo > 0 ? sqnr + 10.0 * std::log10(v / lo) : std::nan("")});
    }
    s << b.str();
  }
  if (bits.empty()) return {};
  Figure f;
  f.name = "layers_" + name_part(method);
  f.title = "Noise through the layers, " + method + ": " + short_path(text(doc, "model", "?")) + " on " +
            text(doc, "data", "?") + ", " + text(doc, "granularity", "tensor") + " steps, " +
            text(doc, "mode", "joint") + " noise";
  s << "set multiplot layout 1,2 title " << gnuplot_quote(f.title) << "\nset grid\n"
    << xtics(names) << (names.size() > 6 ? "set xtics rotate by -30\n" : "")
    << "set offsets 0.3, 0.3, graph 0.05, graph 0.05\nset key below horizontal\nset xlabel 'layer (graph order)'\n"
    << "set logscale y\nset format y '%.0e'\nset ylabel 'noise variance at the layer output'\n";
  const auto curves = [&](const char* columns) {  // one curve per bit width
    return "plot " +
           joined(bits.size(),
                  [&](std::size_t i) {
                    return "$bits" + std::to_string(bits[i]) + " using " + columns + " with yerrorlines pt 7 lc " +
                           std::to_string(i + 1) + " title " + gnuplot_quote(std::to_string(bits[i]) + " bits");
                  }) +
           "\n";
  };
  s << curves("1:2:3:4") << "unset logscale y\nset format y '%g'\nset ylabel 'SQNR at the layer output (dB)'\n"
    << curves("1:5:6:7") << "unset multiplot\n";
  f.script = s.str();
  return {f};
}

// ---- validation.json: predicted vs measured per layer ------------------------------------------

Figure layer_noise_figure(const json& doc, const fs::path& file) {
  struct Panel {
    int bits = 0;
    std::vector<const json*> rows;
  };
  std::vector<Panel> panels;
  for (const json& c : array(doc, "comparisons", file)) {
    if (text(c, "quantity") != "noise_var") continue;
    const int bits = integer(c, "bits", file);
    if (panels.empty() || panels.back().bits != bits) panels.push_back({bits, {}});
    panels.back().rows.push_back(&c);
  }
  if (panels.empty()) throw Error(file.string() + ": no noise_var comparisons to plot");
  const std::string pred = text(doc, "predicted_method", "predicted"), meas = text(doc, "measured_method", "measured");
  Figure f;
  f.name = "layer_noise";
  f.title = "Per-layer noise variance: " + pred + " against " + meas + " (" + short_path(text(doc, "model", "?")) + ")";
  const std::size_t cols = std::min<std::size_t>(panels.size(), 3);
  const std::size_t rows = (panels.size() + cols - 1) / cols;
  std::ostringstream s;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    Block b("bits" + std::to_string(panels[p].bits));
    for (const json* c : panels[p].rows) {
      const double m = number(*c, "measured", file);
      const double lo = number(*c, "ci_low", file), hi = number(*c, "ci_high", file);
      b.row({static_cast<double>(integer(*c, "layer", file)), number(*c, "predicted", file), m,
             std::isfinite(lo) ? lo : m, std::isfinite(hi) ? hi : m, text(*c, "verdict") == "agree" ? 1.0 : 0.0});
    }
    s << b.str();
  }
  s << "set multiplot layout " << rows << "," << cols << " title " << gnuplot_quote(f.title) << "\n"
    << "set grid\nset logscale y\nset format y '%.0e'\nset ylabel 'noise variance at the layer output'\n"
    << "set key top left\nset offsets 0.5, 0.5, graph 0.05, graph 0.05\n";
  for (const Panel& panel : panels) {
    std::vector<std::string> names;
    int agree = 0;
    for (const json* c : panel.rows) {
      names.push_back(text(*c, "name", "?"));
      agree += text(*c, "verdict") == "agree";
    }
    const std::string ref = "$bits" + std::to_string(panel.bits);
    s << xtics(names) << (names.size() > 4 ? "set xtics rotate by -30\n" : "set xtics norotate\n") << "set title "
      << gnuplot_quote(std::to_string(panel.bits) + " bits: " + std::to_string(agree) + "/" +
                       std::to_string(panel.rows.size()) + " agree")
      << "\nplot " << ref << " using 1:3:4:5 with yerrorbars pt 7 lc 1 title " << gnuplot_quote(meas + " (CI)") << ", "
      << ref << " using 1:2 with points pt 12 ps 2 lw 2 lc 2 title " << gnuplot_quote(pred) << ", " << ref
      << " using 1:($6 > 0 ? 1/0 : $3) with points pt 6 ps 3 lw 2 lc rgb 'red' title 'disagree'\n";
  }
  s << "unset multiplot\n";
  f.script = s.str();
  return f;
}

}  // namespace

std::string gnuplot_quote(const std::string& s) {
  std::string q = "'";
  for (const char ch : s)
    q += ch == '\'' ? std::string("''") : std::string(1, static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch);
  return q + "'";
}

MeanSe mean_se(const std::vector<double>& xs) {
  QREG_ASSERT(!xs.empty(), "mean_se of nothing");
  const double n = static_cast<double>(xs.size());
  double mean = 0;
  for (const double x : xs) mean += x;
  mean /= n;
  if (xs.size() < 2) return {mean, 0.0};
  double ss = 0;
  for (const double x : xs) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (n - 1) / n)};
}

std::vector<Figure> figures_for(const json& doc, const fs::path& file) {
  if (!doc.is_object() || text(doc, "tool") != "qreg") return {};
  const std::string command = text(doc, "command");
  std::vector<Figure> out;
  if (command == "noise") {
    out.push_back(noise_figure(doc, file));
  } else if (command == "theory" || command == "simulate") {
    out = layers_figure(doc, file);
  } else if (command == "validate") {
    out.push_back(layer_noise_figure(doc, file));
  } else if (detail::is_train_summary(doc)) {
    out = detail::training_figures(doc, file);
  }
  for (Figure& f : out) f.source = file.string();
  return out;
}

std::vector<Figure> collect_figures(const fs::path& in) {
  std::error_code ec;
  if (!fs::exists(in, ec)) throw Error("plot: '" + in.string() + "' does not exist");
  std::vector<fs::path> files;
  if (fs::is_directory(in)) {
    for (const auto& entry : fs::recursive_directory_iterator(in))
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(in);
  }
  std::vector<Figure> figures;
  std::map<std::string, int> used;
  for (const fs::path& file : files)
    for (Figure& f : figures_for(validate::read_json_file(file.string()), file)) {
      const int n = ++used[f.name];
      if (n > 1) f.name += "_" + std::to_string(n);
      figures.push_back(std::move(f));
    }
  return figures;
}

}  // namespace qreg::plots
