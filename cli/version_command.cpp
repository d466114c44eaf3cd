// `qreg version`: version, commit and build options of this binary.
#include <ostream>

#include "cli/commands.hpp"
#include "core/gemm.hpp"
#include "core/version.hpp"

namespace qreg::cli {

int run_version(Output& io) {
  const auto& b = build_info();
  io.out << "qreg " << b.version << "\n"
         << "commit:     " << b.commit << "\n"
         << "build:      " << b.build_type << ", " << b.compiler << ", " << b.arch_flags << "\n"
         << "gemm:       " << gemm_library() << "\n"
         << "cuda:       " << (b.cuda_compiled ? "compiled in" : "not compiled in") << "\n"
         << "sanitizers: " << (b.sanitize.empty() ? "none" : b.sanitize) << "\n";
  return 0;
}

void add_version_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("version", "Version, commit and build options");
  cmd->callback([&action] { action = [](Output& io) { return run_version(io); }; });
}

}  // namespace qreg::cli
