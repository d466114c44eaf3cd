// `qreg train`: QAT / noise-injection training sweeps with per-epoch noise measurement. Planned; see issue 6.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_train_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "train", "QAT / noise-injection training sweeps with per-epoch noise measurement",
                      "issue 6");
}

}  // namespace qreg::cli
