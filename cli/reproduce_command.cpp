// `qreg reproduce`: the whole paper-style study. Until the pieces exist it prints its plan.
#include <ostream>

#include "cli/commands.hpp"

namespace qreg::cli {

struct ReproduceOptions {
  bool quick = false;
  std::string out = "runs/reproduce";
};

int run_reproduce(const ReproduceOptions& opt, Output& io) {
  io.out << "qreg reproduce" << (opt.quick ? " --quick" : "") << " --out " << opt.out << "\n"
         << "The study is not assembled yet. When its pieces land it will run, in order:\n"
         << "  1. noise     quantization error vs the Δ²/12 model, 2..16 bits      (claim C1)\n"
         << "  2. train     MLP and CNN on Fashion-MNIST, fp32/8/4/2 bits, 3 seeds   (C3-C5)\n"
         << "  3. theory    first-order and mean-field per-layer noise predictions   (C2)\n"
         << "  4. simulate  Monte Carlo of the same quantities, with standard errors (C2)\n"
         << "  5. validate  predicted vs measured, claim verdicts\n"
         << "  6. plot      paper-style figures into " << opt.out << "/figures\n"
         << "Available now: `qreg noise` (step 1), `qreg backends`, `qreg version`.\n";
  return 0;
}

void add_reproduce_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<ReproduceOptions>();
  auto* cmd = app.add_subcommand("reproduce", "The whole paper-style study (main job)");
  cmd->add_flag("--quick", opt->quick, "Small sizes: finishes in minutes on 2 cores");
  cmd->add_option("--out", opt->out, "Output directory")->capture_default_str();
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_reproduce(*opt, io); }; });
}

}  // namespace qreg::cli
