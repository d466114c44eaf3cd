// Registration hooks of the qreg subcommands, one per cli/<cmd>_command.cpp.
#pragma once

#include "cli/command.hpp"

namespace qreg::cli {

void add_noise_command(CLI::App& app, Action& action);
void add_info_command(CLI::App& app, Action& action);
void add_eval_command(CLI::App& app, Action& action);
void add_theory_command(CLI::App& app, Action& action);
void add_simulate_command(CLI::App& app, Action& action);
void add_validate_command(CLI::App& app, Action& action);
void add_train_command(CLI::App& app, Action& action);
void add_plot_command(CLI::App& app, Action& action);
void add_reproduce_command(CLI::App& app, Action& action);
void add_backends_command(CLI::App& app, Action& action);
void add_version_command(CLI::App& app, Action& action);

}  // namespace qreg::cli
