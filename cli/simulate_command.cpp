// `qreg simulate`: Monte Carlo per-layer noise variance with standard errors. Planned; see issue 5.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_simulate_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "simulate", "Monte Carlo per-layer noise variance with standard errors", "issue 5");
}

}  // namespace qreg::cli
