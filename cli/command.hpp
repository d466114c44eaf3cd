// What every qreg subcommand shares: the console it writes to, the shared options, and the
// registration hook. A command is `run_<cmd>(const <Cmd>Options&, Output&)`, callable from tests;
// its `add_<cmd>` binds CLI11 options to a plain struct and sets the action.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "core/report.hpp"

namespace qreg::cli {

struct Output {
  std::ostream& out;         // results
  std::ostream& err;         // progress, warnings
  bool interactive = false;  // stderr is a terminal: progress lines may redraw
};

/// Options shared by the commands that take them (DESIGN.md "Shared options").
struct CommonOptions {
  std::string format = "table";  // table | csv | json
  std::string out;               // result file; empty means stdout
  int threads = 0;               // 0 = all hardware threads
  std::uint64_t seed = 1;
  std::string backend = "cpu";
};

using Action = std::function<int(Output&)>;

void add_format_option(CLI::App& cmd, CommonOptions& common);
void add_out_option(CLI::App& cmd, CommonOptions& common);
void add_threads_option(CLI::App& cmd, CommonOptions& common);
void add_seed_option(CLI::App& cmd, CommonOptions& common);
void add_backend_option(CLI::App& cmd, CommonOptions& common);
/// Fails before any work when --backend names a backend `command` cannot run on: UsageError for an
/// unknown name (listing the known ones), and for cuda, whose kernels (GEMM, fake-quantize) do not
/// yet make a network engine: every command runs on the cpu backend in this version.
void check_backend(const CommonOptions& common, const std::string& command);

/// Writes `report` to the --out file atomically, or to stdout, in the chosen format.
void emit_report(const Report& report, const CommonOptions& common, Output& io);

}  // namespace qreg::cli
