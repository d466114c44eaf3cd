// One reporter interface for console tables, CSV and JSON. A command builds a Report (its JSON
// document plus a flat table view) and the reporter renders it; every output opens with the
// run context (version, commit, backend, threads, seed).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace qreg {

enum class Format { Table, Csv, Json };
Format parse_format(const std::string& name);  // "table" | "csv" | "json"; UsageError otherwise

struct RunContext {
  std::string command;
  std::string backend = "cpu";
  int threads = 0;  // worker threads actually used
  std::optional<std::uint64_t> seed;
  nlohmann::json to_json() const;  // {"tool","version","commit","build",...}
};

/// A table cell: text, integer, real (printed with `precision` significant digits) or empty.
using Cell = std::variant<std::monostate, std::string, std::int64_t, double>;

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;
  int precision = 6;
  void add_row(std::vector<Cell> row);
};

struct Report {
  RunContext context;
  nlohmann::json document = nlohmann::json::object();  // command-specific fields (schema of DESIGN.md)
  Table table;                                         // the flat view for table and CSV output
  std::vector<std::string> notes;                      // lines printed under a console table
};

/// Renders a report. JSON merges the run context in front of `document`; CSV and table output
/// open with '#'-prefixed context lines.
void write_report(const Report& report, Format format, std::ostream& os);
/// Writes to `path` atomically (no partial file on failure).
void write_report_file(const Report& report, Format format, const std::string& path);

}  // namespace qreg
