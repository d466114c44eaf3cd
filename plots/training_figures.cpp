// Training figures from a train summary and its runs' metrics (training_figures.hpp).
#include "plots/training_figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "plots/figure_parts.hpp"
#include "validate/compare.hpp"

namespace qreg::plots::detail {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

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

}  // namespace

bool is_train_summary(const json& doc) {
  return text(doc, "command") == "train" && doc.contains("runs") && doc["runs"].is_array();
}

std::vector<Figure> training_figures(const json& doc, const fs::path& file) {
  const Runs runs = load_runs(doc, file);
  const std::vector<Group> groups = group_runs(runs.completed);
  std::vector<Figure> out{training_figure(doc, groups, runs.left_out)};
  for (Figure& f : training_noise_figure(doc, file, groups)) out.push_back(std::move(f));
  return out;
}

}  // namespace qreg::plots::detail
