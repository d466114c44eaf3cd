// Reading result fields and writing gnuplot pieces for the figure builders (figure_parts.hpp).
#include "plots/figure_parts.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "plots/figures.hpp"

namespace qreg::plots::detail {

using nlohmann::json;
namespace fs = std::filesystem;

std::string num(double v) {
  if (!std::isfinite(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void Block::row(const std::vector<double>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) text_ << (i ? " " : "") << num(values[i]);
  text_ << '\n';
}

double number(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key) || !(j[key].is_number() || j[key].is_null()))
    throw Error(file.string() + ": no number '" + key + "' where a figure needs it");
  return j[key].is_null() ? std::nan("") : j[key].get<double>();
}

int integer(const json& j, const char* key, const fs::path& file) {
  const double v = number(j, key, file);
  if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) > 1e9)
    throw Error(file.string() + ": '" + key + "' must be a whole number where a figure needs it");
  return static_cast<int>(v);
}

const json& array(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key) || !j[key].is_array() || j[key].empty())
    throw Error(file.string() + ": no '" + key + "' list where a figure needs it");
  return j[key];
}

std::string text(const json& j, const char* key, const std::string& fallback) {
  std::string t = j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
  for (char& ch : t)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return t;
}

std::string name_part(const std::string& s) {
  std::string t = fs::path(s).stem().string();
  for (char& ch : t)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ch = '_';
  return t.empty() ? "model" : t;
}

std::string epoch_tics(std::size_t epochs) {
  return std::string(epochs <= 20 ? "set xtics 1\n" : "set xtics autofreq\n") +
         "set offsets graph 0.03, graph 0.03, graph 0.03, graph 0.03\n";
}

std::string short_path(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? (p.parent_path().filename() / p.filename()).string() : path;
}

std::string xtics(const std::vector<std::string>& labels) {
  return "set xtics (" +
         joined(labels.size(), [&](std::size_t i) { return gnuplot_quote(labels[i]) + " " + std::to_string(i); }) +
         ")\n";
}

}  // namespace qreg::plots::detail
