// Why this criterion: a pure z-test fails every theory once the simulation is long enough (a
// first-order prediction is off by a few percent at 4 bits, and 10⁴ draws resolve 0.1%), and a
// pure relative tolerance passes or fails by luck when the simulation is short. The sum accepts a
// difference explained by either sampling error (sigmas·SE, 5σ as in STYLE.md) or the model error
// we declare acceptable (rel·|meas|), and nothing larger.
#include "validate/compare.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "core/error.hpp"

namespace qreg::validate {
namespace {

using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The value of `key` as a number; NaN when absent or null; Error when something else.
double number(const json& j, const char* key, const std::string& where, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Error(where + ": missing number '" + key + "'");
    return kNaN;
  }
  if (!j[key].is_number()) throw Error(where + ": '" + key + "' is not a number");
  return j[key].get<double>();
}

std::string text(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// Same value of a top-level field on both sides, when both have it; Error otherwise.
void require_same(const json& p, const json& m, const char* key, const std::string& pn, const std::string& mn) {
  if (!p.contains(key) || !m.contains(key) || p[key].is_null() || m[key].is_null()) return;
  if (p[key] != m[key])
    throw Error("validate: " + std::string(key) + " differs: " + pn + " has " + p[key].dump() + ", " + mn + " has " +
                m[key].dump());
}

const json& results_of(const json& doc, const std::string& name) {
  if (!doc.is_object() || !doc.contains("results") || !doc["results"].is_array())
    throw Error(name + ": not a qreg result (no \"results\" array)");
  return doc["results"];
}

std::set<int> bits_of(const json& results, const std::string& name) {
  std::set<int> bits;
  for (const json& r : results) {
    if (!r.contains("bits") || !r["bits"].is_number_integer()) throw Error(name + ": a result has no integer \"bits\"");
    if (!bits.insert(r["bits"].get<int>()).second) throw Error(name + ": bits " + r["bits"].dump() + " appear twice");
  }
  return bits;
}

const json& layers_of(const json& r, const std::string& where) {
  if (!r.contains("layers") || !r["layers"].is_array()) throw Error(where + ": no \"layers\" array");
  return r["layers"];
}

Comparison judge(Comparison c, const Tolerance& tol) {
  const double se = std::hypot(c.predicted_stderr, c.measured_stderr);
  const double diff = c.predicted - c.measured;
  c.ratio = c.predicted / c.measured;
  c.z = se > 0 ? diff / se : (diff == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), diff));
  c.allowed = tol.sigmas * se + tol.rel * std::abs(c.measured);
  c.agree = std::abs(diff) <= c.allowed;
  return c;
}

double se_or_zero(const json& j, const char* key, const std::string& where) {
  const double se = number(j, key, where, false);
  return std::isnan(se) ? 0.0 : se;
}

}  // namespace

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

Validation compare_results(const json& predicted, const json& measured, const Tolerance& tol, const std::string& pn,
                           const std::string& mn) {
  const json& pr = results_of(predicted, pn);
  const json& mr = results_of(measured, mn);
  for (const char* key : {"model", "model_seed", "granularity", "mode"}) require_same(predicted, measured, key, pn, mn);
  if (bits_of(pr, pn) != bits_of(mr, mn)) throw Error("validate: bit widths differ between " + pn + " and " + mn);
  Validation v;
  for (const char* key : {"samples", "data"})
    if (predicted.contains(key) && measured.contains(key) && predicted[key] != measured[key])
      v.warnings.push_back(std::string(key) + " differs: " + predicted[key].dump() + " vs " + measured[key].dump());
  for (const json& p : pr) {
    const int bits = p["bits"].get<int>();
    const json& m = *std::find_if(mr.begin(), mr.end(), [&](const json& r) { return r["bits"] == bits; });
    const std::string where = " bits " + std::to_string(bits);
    const std::string p_where = pn + where, m_where = mn + where;  // named: GCC 13 -Wdangling-reference
    const json &pl = layers_of(p, p_where), &ml = layers_of(m, m_where);
    if (pl.size() != ml.size())
      throw Error("validate: layer count differs at" + where + ": " + pn + " has " + std::to_string(pl.size()) + ", " +
                  mn + " has " + std::to_string(ml.size()));
    for (std::size_t l = 0; l < pl.size(); ++l) {
      const std::string lw = where + " layer " + std::to_string(l);
      for (const char* key : {"name", "op"})
        if (text(pl[l], key) != text(ml[l], key))
          throw Error("validate: layer " + std::to_string(l) + " " + key + " differs: " + pn + " has '" +
                      text(pl[l], key) + "', " + mn + " has '" + text(ml[l], key) + "'");
      Comparison c;
      c.bits = bits;
      c.layer = static_cast<int>(l);
      c.name = text(ml[l], "name");
      c.quantity = "noise_var";
      c.predicted = number(pl[l], "noise_var", pn + lw, true);
      c.predicted_stderr = se_or_zero(pl[l], "stderr", pn + lw);
      c.measured = number(ml[l], "noise_var", mn + lw, true);
      c.measured_stderr = se_or_zero(ml[l], "stderr", mn + lw);
      c.ci_low = number(ml[l], "ci_low", mn + lw, false);
      c.ci_high = number(ml[l], "ci_high", mn + lw, false);
      v.comparisons.push_back(judge(c, tol));
    }
    const double pli = number(p, "loss_increase", pn + where, false),
                 mli = number(m, "loss_increase", mn + where, false);
    if (tol.loss && !std::isnan(pli) && !std::isnan(mli)) {
      Comparison c;
      c.bits = bits;
      c.name = "(network)";
      c.quantity = "loss_increase";
      c.predicted = pli;
      c.predicted_stderr = se_or_zero(p, "loss_increase_stderr", pn + where);
      c.measured = mli;
      c.measured_stderr = se_or_zero(m, "loss_increase_stderr", mn + where);
      c.ci_low = number(m, "loss_increase_ci_low", mn + where, false);
      c.ci_high = number(m, "loss_increase_ci_high", mn + where, false);
      v.comparisons.push_back(judge(c, tol));
    }
  }
  for (const Comparison& c : v.comparisons) v.agreed += c.agree ? 1 : 0;
  v.pass = !v.comparisons.empty() && v.agreed == static_cast<int>(v.comparisons.size());
  return v;
}

}  // namespace qreg::validate
