#include "cli/planned.hpp"

#include "core/error.hpp"

namespace qreg::cli {

void add_planned_command(CLI::App& app, Action& action, const std::string& name, const std::string& description,
                         const std::string& issue) {
  auto* cmd = app.add_subcommand(name, description + " [not implemented yet: " + issue + "]");
  cmd->allow_extras();  // accept the documented options so the message below is what users see
  cmd->callback([&action, name, issue] {
    action = [name, issue](Output&) -> int { throw Error("qreg " + name + ": not implemented yet (" + issue + ")"); };
  });
}

}  // namespace qreg::cli
