#include "cli/command.hpp"

#include <ostream>

#include "backends/registry.hpp"
#include "core/error.hpp"

namespace qreg::cli {

void add_format_option(CLI::App& cmd, CommonOptions& common) {
  cmd.add_option("--format", common.format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
}

void add_out_option(CLI::App& cmd, CommonOptions& common) {
  cmd.add_option("--out", common.out, "Write results to FILE (atomically) instead of stdout");
}

void add_threads_option(CLI::App& cmd, CommonOptions& common) {
  cmd.add_option("--threads", common.threads, "Worker threads (0 = all cores); results do not depend on it")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
}

void add_seed_option(CLI::App& cmd, CommonOptions& common) {
  cmd.add_option("--seed", common.seed, "Seed of the run's random streams")->capture_default_str();
}

void add_backend_option(CLI::App& cmd, CommonOptions& common) {
  cmd.add_option("--backend", common.backend,
                 "Compute backend: cpu (the cuda backend's kernels do not run whole networks yet; see `qreg "
                 "backends`)")
      ->capture_default_str();
}

void check_backend(const CommonOptions& common, const std::string& command) {
  if (common.backend == "cpu") return;
  BackendInfo b;
  try {
    b = find_backend(common.backend);
  } catch (const UsageError& e) {
    throw UsageError(command + ": --" + e.what());
  }
  throw UsageError(command + ": --backend " + b.name + " is not supported: the network engine runs on the cpu " +
                   "backend only in this version; the " + b.name +
                   " backend provides GEMM and fake-quantize kernels only (bench_cuda measures them; here it is " +
                   (b.usable ? "usable: " : "not usable: ") + b.detail + "); use --backend cpu");
}

void emit_report(const Report& report, const CommonOptions& common, Output& io) {
  const Format format = parse_format(common.format);
  if (common.out.empty()) {
    write_report(report, format, io.out);
  } else {
    write_report_file(report, format, common.out);
    io.err << "wrote " << common.out << '\n';
  }
}

}  // namespace qreg::cli
