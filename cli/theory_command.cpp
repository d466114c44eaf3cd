// `qreg theory`: Predicted per-layer noise variance and loss increase. Planned; see issue 4.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_theory_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "theory", "Predicted per-layer noise variance and loss increase", "issue 4");
}

}  // namespace qreg::cli
