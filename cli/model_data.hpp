// The --model and --data options that eval, theory, simulate and train share, and their loading.
#pragma once

#include <cstdint>
#include <string>

#include "cli/command.hpp"
#include "core/data_spec.hpp"
#include "core/graph.hpp"

namespace qreg::cli {

/// theory and simulate calibrate on the same first N samples by default, so their results compare.
inline constexpr std::int64_t kDefaultCalibrationSamples = 256;

struct ModelOptions {
  std::string model;             // PATH.onnx, or a built-in: mlp | cnn
  std::uint64_t model_seed = 1;  // initialisation seed of a built-in model
};

struct DataArgs {
  std::string data = "fashion-mnist:test";
  std::string data_dir;      // overrides $QREG_DATA_DIR
  std::string labels;        // labels .npy for a .npy data spec
  std::int64_t samples = 0;  // first N samples; 0 = all
};

void add_model_options(CLI::App& cmd, ModelOptions& opt);
/// `default_samples` is shown in --help (0 = all).
void add_data_options(CLI::App& cmd, DataArgs& opt);

/// Imports an ONNX file or builds a built-in model; Error names the file on failure.
Graph load_model(const ModelOptions& opt);
/// Loads the data and shapes its samples to the model input (flattened for an MLP input).
Dataset load_model_data(const DataArgs& opt, const Graph& graph);

}  // namespace qreg::cli
