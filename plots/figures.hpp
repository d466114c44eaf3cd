// Paper-style figures from qreg's result files (never from a live run): each figure is a gnuplot
// script body whose data sits in datablocks, so the script alone redraws it (plots/render.hpp).
//   noise.json (qreg noise)          -> noise: SQNR against bits with the Δ²/12 model, and the
//                                       measured/model variance ratio with where the model fails
//   theory.json, simulate.json       -> layers_<method>: noise variance and SQNR through the layers,
//                                       one curve per bit width (simulate: with its CI)
//   validation.json (qreg validate)  -> layer_noise: per layer and bit width, predicted against
//                                       measured noise variance with its confidence interval
//   summary.json (qreg train --out)  -> training_<model>: loss and generalization gap per epoch,
//                                       final gap and accuracy per bit width (mean ± SE over seeds);
//                                       training_noise_<model>: per-layer noise during training,
//                                       measured and predicted (reads the runs' metrics.json)
// See docs/plots.md.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace qreg::plots {

struct Figure {
  std::string name;    // file stem, unique within one collection: "noise", "training_mlp"
  std::string title;   // one line, also the script's header comment
  std::string source;  // the result file it was drawn from
  std::string script;  // datablocks and plot commands, without terminal and output
};

/// The figures of one result document read from `file` (a train summary also reads its runs'
/// metrics.json beside it). Documents of other commands give none. Throws Error naming the file
/// when a document of a known command lacks what its figure needs.
std::vector<Figure> figures_for(const nlohmann::json& doc, const std::filesystem::path& file);

/// Every figure of the result files at `in`: one file, or every *.json below a folder in path
/// order (files that are not qreg results are passed over). Names are made unique with a suffix
/// (_2, _3, ...) in that order. Throws Error for a missing `in` or an unreadable JSON file.
std::vector<Figure> collect_figures(const std::filesystem::path& in);

/// `s` as a gnuplot single-quoted string ('' stands for ').
std::string gnuplot_quote(const std::string& s);

/// Mean and standard error (sample sd/√n; 0 for n < 2) of `xs`, which must not be empty.
struct MeanSe {
  double mean = 0, se = 0;
};
MeanSe mean_se(const std::vector<double>& xs);

}  // namespace qreg::plots
