// Figures from result documents (see figures.hpp). Each builder reads only documented fields of
// its command's JSON (docs/plots.md), writes the numbers it plots into datablocks with 9
// significant digits, and leaves styling to gnuplot's defaults plus a few fixed choices: grid,
// log scale for variances, one colour per bit width (or layer) across panels.
#include "plots/figures.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "validate/compare.hpp"

namespace qreg::plots {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// A number for a datablock: 9 significant digits; NaN (gnuplot skips the point) when missing.
std::string num(double v) {
  if (!std::isfinite(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

/// "$name << EOD" ... "EOD": rows of numbers.
class Block {
 public:
  explicit Block(std::string name) : name_(std::move(name)) {}
  void row(const std::vector<double>& values) {
    for (std::size_t i = 0; i < values.size(); ++i) text_ << (i ? " " : "") << num(values[i]);
    text_ << '\n';
  }
  std::string str() const { return "$" + name_ + " << EOD\n" + text_.str() + "EOD\n"; }
  std::string ref() const { return "$" + name_; }

 private:
  std::string name_;
  std::ostringstream text_;
};

double number(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key) || !(j[key].is_number() || j[key].is_null()))
    throw Error(file.string() + ": no number '" + key + "' where a figure needs it");
  return j[key].is_null() ? std::nan("") : j[key].get<double>();
}

/// A whole number (a bit width, a layer index): null or a fraction is an error, not a cast.
int integer(const json& j, const char* key, const fs::path& file) {
  const double v = number(j, key, file);
  if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) > 1e9)
    throw Error(file.string() + ": '" + key + "' must be a whole number where a figure needs it");
  return static_cast<int>(v);
}

/// The clauses clause(0), ..., clause(n − 1) of one plot command, comma-separated.
template <class Clause>
std::string joined(std::size_t n, Clause clause) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + clause(i);
  return s;
}

const json& array(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key) || !j[key].is_array() || j[key].empty())
    throw Error(file.string() + ": no '" + key + "' list where a figure needs it");
  return j[key];
}

/// A string field on one line: control characters (a newline would end a gnuplot comment or
/// string, and what follows would run as commands) become spaces.
std::string text(const json& j, const char* key, const std::string& fallback = "") {
  std::string t = j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
  for (char& ch : t)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return t;
}

/// A file-name-safe figure name part: a model given as a path gives its stem; anything but
/// letters, digits, '-', '_' and '.' becomes '_'.
std::string name_part(const std::string& s) {
  std::string t = fs::path(s).stem().string();
  for (char& ch : t)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ch = '_';
  return t.empty() ? "model" : t;
}

/// Integer epoch tics when there are few epochs (gnuplot would put tics at 1.5, 2.5, ...).
/// Points at the first and last epoch stay off the frame.
std::string epoch_tics(std::size_t epochs) {
  return std::string(epochs <= 20 ? "set xtics 1\n" : "set xtics autofreq\n") +
         "set offsets graph 0.03, graph 0.03, graph 0.03, graph 0.03\n";
}

/// The last two components of a path (a model's run folder and file name): titles stay short.
std::string short_path(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? (p.parent_path().filename() / p.filename()).string() : path;
}

/// xtics ('label' 0, 'label' 1, ...).
std::string xtics(const std::vector<std::string>& labels) {
  std::string s = "set xtics (";
  for (std::size_t i = 0; i < labels.size(); ++i)
    s += (i ? ", " : "") + gnuplot_quote(labels[i]) + " " + std::to_string(i);
  return s + ")\n";
}

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

// ---- train summary.json + the runs' metrics.json ------------------------------------------------

struct Run {
  int bits = 32;
  std::string mode;
  double final_gap = 0, final_acc = 0;
  json metrics;
  fs::path metrics_file;  // where `metrics` came from: errors in it name this file
};

/// The completed runs of a summary and how many others (failed, interrupted) were left out.
struct Runs {
  std::vector<Run> completed;
  std::size_t left_out = 0;
};

struct Group {  // runs of one (mode, bits) over seeds
  std::string label;
  std::vector<const Run*> runs;
};

Runs load_runs(const json& doc, const fs::path& file) {
  Runs runs;
  for (const json& r : array(doc, "runs", file)) {
    if (text(r, "status") != "completed") {  // failed or interrupted: no final numbers
      ++runs.left_out;
      continue;
    }
    Run run;
    run.bits = integer(r, "bits", file);
    run.mode = text(r, "mode", "qat");
    run.final_gap = number(r, "final_gap", file);
    run.final_acc = number(r, "final_val_accuracy", file);
    run.metrics_file = file.parent_path() / text(r, "run") / "metrics.json";
    run.metrics = validate::read_json_file(run.metrics_file.string());
    array(run.metrics, "epochs", run.metrics_file);
    runs.completed.push_back(std::move(run));
  }
  if (runs.completed.empty()) throw Error(file.string() + ": no completed training run to plot");
  return runs;
}

/// Groups by (mode, bits): FP32 first, then bits from high to low, modes in name order.
std::vector<Group> group_runs(const std::vector<Run>& runs) {
  std::set<std::string> modes;
  for (const Run& r : runs)
    if (r.bits < 32) modes.insert(r.mode);
  std::map<std::pair<int, std::string>, Group> groups;  // key: (−bits, mode)
  for (const Run& r : runs) {
    Group& g = groups[{-r.bits, r.bits < 32 ? r.mode : "fp32"}];
    if (g.label.empty())
      g.label = r.bits >= 32 ? "fp32" : std::to_string(r.bits) + "-bit" + (modes.size() > 1 ? " " + r.mode : "");
    g.runs.push_back(&r);
  }
  std::vector<Group> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

/// Epochs every run of the group has.
std::size_t common_epochs(const Group& g) {
  std::size_t n = SIZE_MAX;
  for (const Run* r : g.runs) n = std::min(n, r->metrics["epochs"].size());
  return n;
}

double epoch_mean(const Group& g, std::size_t e, const char* key) {
  std::vector<double> xs;
  for (const Run* r : g.runs) xs.push_back(number(r->metrics["epochs"][e], key, r->metrics_file));
  return mean_se(xs).mean;
}

Figure training_figure(const json& doc, const std::vector<Group>& groups, std::size_t left_out) {
  const std::string model = text(doc, "model", "model");
  const json& info = groups.front().runs.front()->metrics.value("run", json::object());
  std::set<double> seeds;
  for (const json& r : doc["runs"])
    if (r.contains("seed") && r["seed"].is_number()) seeds.insert(r["seed"].get<double>());
  Figure f;
  f.name = "training_" + name_part(model);
  std::ostringstream title;
  title << "Training " << model << " on " << text(info, "data", "?");
  if (info.contains("train_samples")) title << " (" << info["train_samples"].get<double>() << " samples)";
  title << ", " << seeds.size() << (seeds.size() == 1 ? " seed" : " seeds")
        << "; curves: means over seeds; final values: mean ± SE";
  if (left_out > 0) title << "; " << left_out << (left_out == 1 ? " run" : " runs") << " not completed, left out";
  f.title = title.str();
  std::ostringstream s;
  Block finals("finals");      // group index, gap mean, gap SE, accuracy mean (%), accuracy SE (%)
  Block seeds_block("seeds");  // group index, gap, accuracy (%) per run
  std::vector<std::string> labels;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    labels.push_back(g.label);
    Block curve("g" + std::to_string(gi));  // epoch, train loss, val loss, gap
    for (std::size_t e = 0; e < common_epochs(g); ++e)
      curve.row({epoch_mean(g, e, "epoch"), epoch_mean(g, e, "train_loss"), epoch_mean(g, e, "val_loss"),
                 epoch_mean(g, e, "gap")});
    s << curve.str();
    std::vector<double> gaps, accs;
    for (const Run* r : g.runs) {
      gaps.push_back(r->final_gap);
      accs.push_back(100.0 * r->final_acc);
      seeds_block.row({static_cast<double>(gi), r->final_gap, 100.0 * r->final_acc});
    }
    const MeanSe gap = mean_se(gaps), acc = mean_se(accs);
    finals.row({static_cast<double>(gi), gap.mean, gap.se, acc.mean, acc.se});
  }
  s << finals.str() << seeds_block.str();
  std::size_t epochs = 0;
  for (const Group& g : groups) epochs = std::max(epochs, common_epochs(g));
  s << "set multiplot layout 2,2 title " << gnuplot_quote(f.title) << "\nset grid\nset key outside right\n"
    << "set xlabel 'epoch'\n"
    << epoch_tics(epochs) << "set ylabel 'cross-entropy (solid: validation, dashed: training)'\nplot "
    << joined(groups.size(),
              [&](std::size_t gi) {
                const std::string g = "$g" + std::to_string(gi), lc = " lc " + std::to_string(gi + 1);
                return g + " using 1:3 with linespoints pt 7" + lc + " title " + gnuplot_quote(groups[gi].label) +
                       ", " + g + " using 1:2 with lines dt 2" + lc + " notitle";
              })
    << "\nset ylabel 'generalization gap (validation - training loss)'\nplot "
    << joined(groups.size(),
              [&](std::size_t gi) {
                return "$g" + std::to_string(gi) + " using 1:4 with linespoints pt 7 lc " + std::to_string(gi + 1) +
                       " title " + gnuplot_quote(groups[gi].label);
              })
    << "\nset key top right inside\nset xlabel 'training'\n"
    << xtics(labels) << "set offsets 0.5, 0.5, graph 0.05, graph 0.05\n"
    << "set ylabel 'final generalization gap (nats)'\n"
    << "plot $finals using 1:2:3 with yerrorbars pt 7 ps 1.5 lc 1 title 'mean ± SE', "
    << "$seeds using 1:2 with points pt 1 lc 8 title 'each seed'\n"
    << "set ylabel 'final validation accuracy (%)'\n"
    << "plot $finals using 1:4:5 with yerrorbars pt 7 ps 1.5 lc 1 title 'mean ± SE', "
    << "$seeds using 1:3 with points pt 1 lc 8 title 'each seed'\nunset multiplot\n";
  f.script = s.str();
  return f;
}

/// Per-layer noise during training, measured and (when the run predicted it) predicted; one
/// panel per quantized group. None when no run measured noise (FP32 only).
std::vector<Figure> training_noise_figure(const json& doc, const fs::path& file, const std::vector<Group>& groups) {
  std::vector<const Group*> noisy;
  for (const Group& g : groups)
    if (g.runs.front()->bits < 32 && !g.runs.front()->metrics["epochs"][0].value("layers", json::array()).empty())
      noisy.push_back(&g);
  if (noisy.empty()) return {};
  const std::string model = text(doc, "model", "model");
  Figure f;
  f.name = "training_noise_" + name_part(model);
  f.title = "Noise at each layer during training of " + model +
            ": quantized forward vs float forward (points), first-order prediction (lines)";
  std::ostringstream s;
  std::vector<std::vector<std::string>> layer_names(noisy.size());  // per panel
  for (std::size_t p = 0; p < noisy.size(); ++p) {
    const Group& g = *noisy[p];
    const json& first = g.runs.front()->metrics["epochs"][0]["layers"];
    for (std::size_t l = 0; l < first.size(); ++l) {
      layer_names[p].push_back(text(first[l], "name", "layer " + std::to_string(l)));
      Block b("p" + std::to_string(p) + "l" + std::to_string(l));  // epoch, measured, predicted
      for (std::size_t e = 0; e < common_epochs(g); ++e) {
        std::vector<double> meas, pred;
        for (const Run* r : g.runs) {
          const json& ep = r->metrics["epochs"][e];
          const fs::path& mf = r->metrics_file;
          const json& layers = array(ep, "layers", mf);
          if (l >= layers.size()) throw Error(file.string() + ": runs of " + g.label + " differ in their layers");
          meas.push_back(number(layers[l], "noise_var", mf));
          pred.push_back(layers[l].contains("predicted_noise_var") ? number(layers[l], "predicted_noise_var", mf)
                                                                   : std::nan(""));
        }
        b.row({epoch_mean(g, e, "epoch"), mean_se(meas).mean, mean_se(pred).mean});
      }
      s << b.str();
    }
  }
  const std::size_t cols = std::min<std::size_t>(noisy.size(), 3);
  s << "set multiplot layout " << (noisy.size() + cols - 1) / cols << "," << cols << " title " << gnuplot_quote(f.title)
    << "\nset grid\nset logscale y\nset format y '%.0e'\nset xlabel 'epoch'\n"
    << epoch_tics(common_epochs(*noisy.front())) << "set ylabel 'noise variance at the layer output'\n"
    << "set key top left inside opaque\n";
  for (std::size_t p = 0; p < noisy.size(); ++p) {
    s << "set title " << gnuplot_quote(noisy[p]->label) << "\nplot "
      << joined(layer_names[p].size(),
                [&](std::size_t l) {
                  const std::string ref = "$p" + std::to_string(p) + "l" + std::to_string(l);
                  const std::string lc = " lc " + std::to_string(l + 1);
                  return ref + " using 1:2 with points pt 7" + lc + " title " + gnuplot_quote(layer_names[p][l]) +
                         ", " + ref + " using 1:3 with lines lw 2" + lc + " notitle";
                })
      << "\n";
  }
  s << "unset multiplot\n";
  f.script = s.str();
  return {f};
}

bool is_train_summary(const json& doc) {
  return text(doc, "command") == "train" && doc.contains("runs") && doc["runs"].is_array();
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
  } else if (is_train_summary(doc)) {
    const Runs runs = load_runs(doc, file);
    const std::vector<Group> groups = group_runs(runs.completed);
    out.push_back(training_figure(doc, groups, runs.left_out));
    for (Figure& f : training_noise_figure(doc, file, groups)) out.push_back(std::move(f));
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
