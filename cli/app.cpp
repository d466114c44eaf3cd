#include "cli/app.hpp"

#include <ostream>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace qreg::cli {
namespace {

constexpr const char* kDescription =
    "qreg predicts, simulates and measures how weight-quantization noise propagates through a\n"
    "neural network and how it regularizes training (AskariHemmat et al., arXiv 2206.12372).\n"
    "Run `qreg <command> --help` for the options of a command.";

std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

bool is_command(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == name) return true;
  return false;
}

void build_app(CLI::App& app, Action& action) {
  app.require_subcommand(1);
  app.fallthrough(false);
  add_noise_command(app, action);
  add_info_command(app, action);
  add_eval_command(app, action);
  add_theory_command(app, action);
  add_simulate_command(app, action);
  add_validate_command(app, action);
  add_train_command(app, action);
  add_plot_command(app, action);
  add_reproduce_command(app, action);
  add_backends_command(app, action);
  add_version_command(app, action);
}

}  // namespace

int run_cli(const std::vector<std::string>& args, Output& io) {
  CLI::App app{kDescription, "qreg"};
  Action action;
  build_app(app, action);
  // CLI11 reports a mistyped command as "a subcommand is required"; name it instead.
  if (!args.empty() && !args.front().empty() && args.front().front() != '-' && !is_command(app, args.front())) {
    io.err << "qreg: error: unknown command '" << args.front() << "' (see qreg --help)\n";
    return 2;
  }
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, io.out, io.err);  // prints the help of the selected subcommand
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::ParseError& e) {
    io.err << "qreg: error: " << one_line(e.what()) << " (see qreg --help)\n";
    return 2;
  }
  if (!action) {
    io.err << "qreg: error: internal: command has no action\n";
    return 1;
  }
  try {
    return action(io);
  } catch (const UsageError& e) {
    io.err << "qreg: error: " << one_line(e.what()) << '\n';
    return 2;
  } catch (const std::exception& e) {
    io.err << "qreg: error: " << one_line(e.what()) << '\n';
    return 1;
  }
}

}  // namespace qreg::cli
