// Pieces shared by the figure builders (plots/figures.cpp, plots/training_figures.cpp): reading
// the fields a figure needs from a result document, with errors naming the file, and writing
// datablocks and gnuplot clauses. Internal to qreg_plots.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace qreg::plots::detail {

/// A number for a datablock: 9 significant digits; NaN (gnuplot skips the point) when missing.
std::string num(double v);

/// "$name << EOD" ... "EOD": rows of numbers.
class Block {
 public:
  explicit Block(std::string name) : name_(std::move(name)) {}
  void row(const std::vector<double>& values);
  std::string str() const { return "$" + name_ + " << EOD\n" + text_.str() + "EOD\n"; }
  std::string ref() const { return "$" + name_; }

 private:
  std::string name_;
  std::ostringstream text_;
};

/// j[key] as a number (null: NaN); Error naming `file` when it is missing or not a number.
double number(const nlohmann::json& j, const char* key, const std::filesystem::path& file);

/// A whole number (a bit width, a layer index): null or a fraction is an error, not a cast.
int integer(const nlohmann::json& j, const char* key, const std::filesystem::path& file);

/// j[key] as a non-empty array; Error naming `file` otherwise.
const nlohmann::json& array(const nlohmann::json& j, const char* key, const std::filesystem::path& file);

/// A string field on one line: control characters (a newline would end a gnuplot comment or
/// string, and what follows would run as commands) become spaces.
std::string text(const nlohmann::json& j, const char* key, const std::string& fallback = "");

/// A file-name-safe figure name part: a model given as a path gives its stem; anything but
/// letters, digits, '-', '_' and '.' becomes '_'.
std::string name_part(const std::string& s);

/// Integer epoch tics when there are few epochs (gnuplot would put tics at 1.5, 2.5, ...).
/// Points at the first and last epoch stay off the frame.
std::string epoch_tics(std::size_t epochs);

/// The last two components of a path (a model's run folder and file name): titles stay short.
std::string short_path(const std::string& path);

/// xtics ('label' 0, 'label' 1, ...).
std::string xtics(const std::vector<std::string>& labels);

/// The clauses clause(0), ..., clause(n − 1) of one plot command, comma-separated.
template <class Clause>
std::string joined(std::size_t n, Clause clause) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + clause(i);
  return s;
}

}  // namespace qreg::plots::detail
