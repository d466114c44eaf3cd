// Models and calibration sets as the analysis commands (simulate, theory, eval) name them.
#pragma once

#include <cstdint>
#include <string>

#include "core/dataset.hpp"
#include "core/graph.hpp"

namespace qreg::cli {

/// "mlp" (784-256-256-10), "cnn" (core/models.hpp, weights from `model_seed`) or an .onnx path.
/// Throws UsageError for an unknown name, Error (naming the file) for a bad ONNX file.
Graph load_model(const std::string& spec, std::uint64_t model_seed);

/// The calibration set `spec` (DESIGN.md data specs), at most `samples` samples (0: all), inputs
/// reshaped to graph.input_shape when the per-sample element counts agree. Throws UsageError for
/// an unknown spec, Error when the data does not fit the model.
Dataset load_calibration(const std::string& spec, const std::string& data_dir, std::int64_t samples,
                         const Graph& graph);

}  // namespace qreg::cli
