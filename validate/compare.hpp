// Predicted vs measured: per bit width and quantized layer, does a prediction (qreg theory) agree
// with a measurement (qreg simulate), or a new result with a saved baseline? Both sides are
// result documents of the shared schema of DESIGN.md. See docs/validate.md for the criterion.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace qreg::validate {

/// Agree when |pred − meas| ≤ sigmas·√(se_pred² + se_meas²) + rel·|meas|: a statistical part
/// (the Monte Carlo and Hutchinson standard errors) plus a model part (the prediction's
/// approximation error we accept, relative to the measurement).
struct Tolerance {
  double rel = 0.10;
  double sigmas = 5.0;
  bool loss = true;  // also compare loss_increase per bit width (when both sides have it)
};

struct Comparison {
  int bits = 0;
  int layer = -1;  // -1 for the network's loss increase
  std::string name;
  std::string quantity;                        // "noise_var" | "loss_increase"
  double predicted = 0, predicted_stderr = 0;  // stderr 0 when the side has none (exact)
  double measured = 0, measured_stderr = 0;
  double ci_low = 0, ci_high = 0;  // the measured side's interval; NaN when it has none
  double ratio = 0;                // predicted / measured
  double z = 0;                    // (predicted − measured) / √(se_pred² + se_meas²); ±inf when both are 0
  double allowed = 0;              // sigmas·√(se_pred² + se_meas²) + rel·|measured|
  bool agree = false;
};

struct Validation {
  std::vector<Comparison> comparisons;  // bits in file order; layers, then the loss, per bits
  int agreed = 0;
  bool pass = false;                  // every comparison agrees (and there is at least one)
  std::vector<std::string> warnings;  // differences that do not stop the comparison (samples, data)
};

/// Compares two result documents. `predicted_name`/`measured_name` (file names) start error
/// messages. Throws Error when the documents do not describe the same thing: a different model,
/// model seed, granularity, noise mode, set of bit widths, layer count, or a layer's name or op;
/// or when a required field (results, bits, layers, noise_var) is missing or not a number.
Validation compare_results(const nlohmann::json& predicted, const nlohmann::json& measured, const Tolerance& tol,
                           const std::string& predicted_name = "predicted",
                           const std::string& measured_name = "measured");

/// Reads a JSON file; throws Error starting with `path` when it cannot be opened or parsed.
nlohmann::json read_json_file(const std::string& path);

}  // namespace qreg::validate
