#include "core/report.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace qreg {
using nlohmann::json;

Format parse_format(const std::string& name) {
  if (name == "table") return Format::Table;
  if (name == "csv") return Format::Csv;
  if (name == "json") return Format::Json;
  throw UsageError("format: '" + name + "' is not one of table, csv, json");
}

json RunContext::to_json() const {
  const auto& b = build_info();
  json j;
  j["tool"] = "qreg";
  j["version"] = b.version;
  j["commit"] = b.commit;
  j["command"] = command;
  j["backend"] = backend;
  j["threads"] = threads;
  j["seed"] = seed ? json(*seed) : json(nullptr);
  j["build"] = {{"type", b.build_type},
                {"compiler", b.compiler},
                {"arch", b.arch_flags},
                {"cuda", b.cuda_compiled},
                {"sanitize", b.sanitize}};
  return j;
}

void Table::add_row(std::vector<Cell> row) {
  QREG_ASSERT(row.size() == columns.size(), "table row width must match the columns");
  rows.push_back(std::move(row));
}

namespace {

std::string format_cell(const Cell& c, int precision) {
  if (std::holds_alternative<std::monostate>(c)) return "";
  if (auto* s = std::get_if<std::string>(&c)) return *s;
  if (auto* i = std::get_if<std::int64_t>(&c)) return std::to_string(*i);
  const double v = std::get<double>(c);
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  return os.str();
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += (ch == '"') ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

void write_context_lines(const RunContext& ctx, std::ostream& os) {
  const auto& b = build_info();
  os << "# qreg " << b.version << " (" << b.commit << ") " << ctx.command << "  backend=" << ctx.backend
     << " threads=" << ctx.threads;
  if (ctx.seed) os << " seed=" << *ctx.seed;
  os << '\n';
}

void write_table(const Report& r, std::ostream& os) {
  const Table& t = r.table;
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(t.columns.size());
  for (std::size_t c = 0; c < t.columns.size(); ++c) width[c] = t.columns[c].size();
  for (const auto& row : t.rows) {
    auto& out = cells.emplace_back();
    for (std::size_t c = 0; c < row.size(); ++c) {
      out.push_back(format_cell(row[c], t.precision));
      width[c] = std::max(width[c], out.back().size());
    }
  }
  auto line = [&](const std::vector<std::string>& v) {
    for (std::size_t c = 0; c < v.size(); ++c) os << (c ? "  " : "") << std::setw(static_cast<int>(width[c])) << v[c];
    os << '\n';
  };
  line(t.columns);
  for (const auto& row : cells) line(row);
  for (const auto& n : r.notes) os << n << '\n';
}

void write_csv(const Report& r, std::ostream& os) {
  const Table& t = r.table;
  for (std::size_t c = 0; c < t.columns.size(); ++c) os << (c ? "," : "") << csv_escape(t.columns[c]);
  os << '\n';
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      os << (c ? "," : "") << csv_escape(format_cell(row[c], std::max(t.precision, 9)));
    os << '\n';
  }
}

}  // namespace

void write_report(const Report& report, Format format, std::ostream& os) {
  switch (format) {
    case Format::Json: {
      json j = report.context.to_json();
      for (auto it = report.document.begin(); it != report.document.end(); ++it) j[it.key()] = it.value();
      os << j.dump(1) << '\n';
      break;
    }
    case Format::Csv:
      write_context_lines(report.context, os);
      write_csv(report, os);
      break;
    case Format::Table:
      write_context_lines(report.context, os);
      write_table(report, os);
      break;
  }
}

void write_report_file(const Report& report, Format format, const std::string& path) {
  write_file_atomic(path, [&](std::ostream& os) { write_report(report, format, os); });
}

}  // namespace qreg
