// `qreg eval`: Accuracy and loss of a model and its post-training-quantized copies. Planned; see issue 3.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_eval_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "eval", "Accuracy and loss of a model and its post-training-quantized copies",
                      "issue 3");
}

}  // namespace qreg::cli
