// The figures of a `qreg train --out` folder: training_<model> (loss and generalization gap per
// epoch, final gap and accuracy per bit width, mean ± SE over seeds) and training_noise_<model>
// (per-layer noise during training, measured and predicted; from the runs' metrics.json).
// Internal to qreg_plots: figures_for (figures.hpp) is the public entry.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

#include "plots/figures.hpp"

namespace qreg::plots::detail {

/// Whether `doc` is a train summary.json.
bool is_train_summary(const nlohmann::json& doc);

/// The figures of the summary `doc` read from `file`; reads each completed run's metrics.json
/// beside it. Throws Error naming the file that lacks what a figure needs.
std::vector<Figure> training_figures(const nlohmann::json& doc, const std::filesystem::path& file);

}  // namespace qreg::plots::detail
