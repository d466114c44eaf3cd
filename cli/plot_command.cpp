// `qreg plot`: Paper-style figures from result files. Planned; see the plots issue.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_plot_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "plot", "Paper-style figures from result files", "the plots issue");
}

}  // namespace qreg::cli
