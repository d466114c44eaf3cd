// `qreg info`: Layers, shapes and parameter counts of an ONNX model. Planned; see issue 3.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_info_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "info", "Layers, shapes and parameter counts of an ONNX model", "issue 3");
}

}  // namespace qreg::cli
