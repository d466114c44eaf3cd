// `qreg validate`: Compare predicted and measured noise; exit 0 when they agree. Planned; see issue 5.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_validate_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "validate", "Compare predicted and measured noise; exit 0 when they agree",
                      "issue 5");
}

}  // namespace qreg::cli
