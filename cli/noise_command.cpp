// `qreg noise`: Quantization error of a synthetic tensor against the additive U(-Δ/2, Δ/2) model. Planned; see issue 2.
#include "cli/commands.hpp"
#include "cli/planned.hpp"

namespace qreg::cli {

void add_noise_command(CLI::App& app, Action& action) {
  add_planned_command(app, action, "noise",
                      "Quantization error of a synthetic tensor against the additive U(-Δ/2, Δ/2) model", "issue 2");
}

}  // namespace qreg::cli
