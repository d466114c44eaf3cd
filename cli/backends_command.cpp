// `qreg backends`: the compiled-in backends and whether each is usable here (and why not).
#include "backends/registry.hpp"
#include "cli/commands.hpp"
#include "core/parallel.hpp"

namespace qreg::cli {

struct BackendsOptions {
  CommonOptions common;
};

int run_backends(const BackendsOptions& opt, Output& io) {
  Report report;
  report.context.command = "backends";
  report.context.threads = ThreadScope(opt.common.threads).threads();
  report.table.columns = {"backend", "compiled", "usable", "detail"};
  auto list = nlohmann::json::array();
  for (const auto& b : list_backends()) {
    report.table.add_row({b.name, b.compiled ? "yes" : "no", b.usable ? "yes" : "no", b.detail});
    list.push_back({{"name", b.name}, {"compiled", b.compiled}, {"usable", b.usable}, {"detail", b.detail}});
  }
  report.document["backends"] = list;
  emit_report(report, opt.common, io);
  return 0;
}

void add_backends_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<BackendsOptions>();
  auto* cmd = app.add_subcommand("backends", "Compiled-in compute backends and whether each is usable");
  add_format_option(*cmd, opt->common);
  add_out_option(*cmd, opt->common);
  cmd->callback([opt, &action] { action = [opt](Output& io) { return run_backends(*opt, io); }; });
}

}  // namespace qreg::cli
