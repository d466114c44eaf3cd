// Claim verdicts from result documents (cli/claims.hpp).
#include "cli/claims.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "core/bits.hpp"

namespace qreg::cli {

namespace {

using nlohmann::json;

constexpr double kDbPerBit = 6.02;    // 20·log10(2): the additive model's SQNR gain per bit
constexpr double kDbTolerance = 0.1;  // the brief's "within 0.1 dB"
constexpr double kSigmas = 2.0;       // paired-mean decision band, in standard errors
constexpr double kAccuracyPoints = 0.5;
// A run set whose mean validation accuracy is this far (points) below the best bit width's
// (FP32's, normally) did not train: its small generalization gap is underfitting, and a gap
// comparison with it says nothing about regularization (the quick study's 2-bit MLP at lr 0.05
// reaches ~17% against FP32's ~79%).
constexpr double kUnderfitPoints = 10.0;

std::string fmt(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

json make_claim(const char* id, const char* text, const std::string& verdict, const std::string& reason,
                json evidence) {
  return {{"id", id}, {"claim", text}, {"verdict", verdict}, {"reason", reason}, {"evidence", std::move(evidence)}};
}

std::string combine(const std::vector<std::string>& verdicts) {
  if (verdicts.empty()) return kInconclusive;
  bool all = true;
  for (const auto& v : verdicts) {
    if (v == kNotSupported) return kNotSupported;
    all = all && v == kSupported;
  }
  return all ? kSupported : kInconclusive;
}

// Per seed: (final gap, final validation accuracy) of the completed runs with `bits`.
struct RunNumbers {
  double gap, accuracy;
};
std::map<std::int64_t, RunNumbers> runs_with_bits(const json& summary, int bits) {
  std::map<std::int64_t, RunNumbers> out;
  for (const auto& r : summary.value("runs", json::array()))
    if (r.value("bits", -1) == bits && r.value("status", "") == "completed")
      out[r.value("seed", std::int64_t{0})] = {r.value("final_gap", NAN), r.value("final_val_accuracy", NAN)};
  return out;
}

std::string bits_name(int bits) { return bits == kFloatBits ? "fp32" : std::to_string(bits); }

double mean_accuracy(const std::map<std::int64_t, RunNumbers>& runs) {
  double sum = 0;
  for (const auto& [seed, r] : runs) sum += r.accuracy;
  return runs.empty() ? NAN : sum / static_cast<double>(runs.size());
}

// For a gap comparison: why one side's runs did not train (empty when both did). The reference
// is the best mean validation accuracy of any bit width in the summary (FP32 when it trained), so
// a sweep without FP32 runs is checked too.
std::string underfit_reason(const json& summary, int bits_a, int bits_b) {
  double best = NAN;
  int best_bits = 0;
  std::map<int, bool> seen;
  for (const auto& r : summary.value("runs", json::array())) {
    const int bits = r.value("bits", -1);
    if (seen[bits]) continue;
    seen[bits] = true;
    const double acc = mean_accuracy(runs_with_bits(summary, bits));
    if (!std::isnan(acc) && (std::isnan(best) || acc > best)) {
      best = acc;
      best_bits = bits;
    }
  }
  if (std::isnan(best)) return "";
  for (int bits : {bits_a, bits_b}) {
    const double acc = mean_accuracy(runs_with_bits(summary, bits));
    if (acc < best - kUnderfitPoints / 100.0)
      return "the " + bits_name(bits) + "-bit runs did not train (mean val accuracy " + fmt(acc, 3) + " vs " +
             bits_name(best_bits) + " " + fmt(best, 3) + ", more than " + fmt(kUnderfitPoints) +
             " points lower): a gap from underfitting is not regularization";
  }
  return "";
}

// One paired comparison d = f(a) − f(b) over the seeds both have, decided against `threshold`.
json compare(const json& summary, int bits_a, int bits_b, bool accuracy, double threshold) {
  const auto a = runs_with_bits(summary, bits_a), b = runs_with_bits(summary, bits_b);
  const std::string what = accuracy ? "accuracy" : "gap";
  const double scale = accuracy ? 100.0 : 1.0;  // accuracy differences in points
  std::vector<double> d;
  for (const auto& [seed, ra] : a)
    if (auto it = b.find(seed); it != b.end())
      d.push_back(scale * (accuracy ? ra.accuracy - it->second.accuracy : ra.gap - it->second.gap));
  json c = {{"model", summary.value("model", "?")},
            {"quantity", what + "(" + bits_name(bits_a) + ") - " + what + "(" + bits_name(bits_b) + ")"},
            {"unit", accuracy ? "points" : "nats"},
            {"threshold", threshold},
            {"seeds", d.size()},
            {"differences", d}};
  std::string label = c["model"].get<std::string>() + ": " + c["quantity"].get<std::string>();
  if (d.empty()) {
    c["verdict"] = kInconclusive;
    c["text"] = label + ": no completed runs to compare";
    return c;
  }
  if (const std::string why = accuracy ? "" : underfit_reason(summary, bits_a, bits_b); !why.empty()) {
    c["verdict"] = kInconclusive;
    c["underfit"] = true;
    c["text"] = label + ": " + why;
    return c;
  }
  double mean = 0;
  for (double v : d) mean += v;
  mean /= static_cast<double>(d.size());
  c["mean"] = mean;
  if (d.size() < 2) {
    c["se"] = nullptr;
    c["verdict"] = kInconclusive;
    c["text"] = label + " = " + fmt(mean) + " " + c["unit"].get<std::string>() + " (1 seed; " +
                (mean > threshold ? "points the claim's way" : "points against it") + ", seeds are needed to decide)";
    return c;
  }
  double ss = 0;
  for (double v : d) ss += (v - mean) * (v - mean);
  const double se = std::sqrt(ss / static_cast<double>(d.size() - 1) / static_cast<double>(d.size()));
  c["se"] = se;
  const std::string verdict = mean - kSigmas * se > threshold   ? kSupported
                              : mean + kSigmas * se < threshold ? kNotSupported
                                                                : kInconclusive;
  c["verdict"] = verdict;
  c["text"] = label + " = " + fmt(mean) + " ± " + fmt(se, 2) + " " + c["unit"].get<std::string>() + " (" +
              std::to_string(d.size()) + " seeds) vs " + fmt(threshold) + ": " + verdict;
  return c;
}

json training_claim(const char* id, const char* text, const std::vector<json>& summaries,
                    const std::vector<std::pair<std::pair<int, int>, std::pair<bool, double>>>& tests) {
  json evidence = json::array();
  std::vector<std::string> verdicts;
  std::string reason;
  for (const auto& s : summaries)
    for (const auto& [bits, how] : tests) {
      json c = compare(s, bits.first, bits.second, how.first, how.second);
      verdicts.push_back(c["verdict"].get<std::string>());
      reason += (reason.empty() ? "" : "; ") + c["text"].get<std::string>();
      evidence.push_back(std::move(c));
    }
  return make_claim(id, text, combine(verdicts), reason, evidence);
}

}  // namespace

json claim_c1(const json& noise) {
  const char* text =
      "quantization noise is U(-Δ/2, Δ/2) with variance Δ²/12, so SQNR rises by 20·log10 of the step ratio "
      "per bit (≈ 6.02 dB; 6.12 dB at 6-8 bits for the narrow-range step) at 6-8 bits; the model breaks at 2 bits";
  std::optional<json> lo, hi, two;
  bool holds_6_8 = true;
  for (const auto& r : noise.value("results", json::array())) {
    const int b = r.value("bits", 0);
    if (b == 2) two = r;
    if (b < 6 || b > 8) continue;
    holds_6_8 = holds_6_8 && r.value("model_holds", false);
    if (!lo || b < lo->value("bits", 0)) lo = r;
    if (!hi || b > hi->value("bits", 0)) hi = r;
  }
  if (!lo || !two || lo->value("bits", 0) == hi->value("bits", 0) || !(*lo)["sqnr_db"].is_number() ||
      !(*hi)["sqnr_db"].is_number())
    return make_claim("C1", text, kInconclusive, "noise results lack two widths in 6..8 bits or 2 bits",
                      json::object());
  const double gain =
      ((*hi)["sqnr_db"].get<double>() - (*lo)["sqnr_db"].get<double>()) / (hi->value("bits", 0) - lo->value("bits", 0));
  const bool breaks_2 = !two->value("model_holds", true);
  // The Δ²/12 model's own gain: narrow-range Δ = max|w|/(2^(b−1)−1) shrinks a little faster than
  // 2× per bit (127/31 from 6 to 8 bits), so the model predicts 6.12 dB/bit there, not 6.02; the
  // claim is tested against that prediction (6.02 is its large-b limit, kept as evidence).
  const double step_lo = lo->value("step", NAN), step_hi = hi->value("step", NAN);
  const double step_gain = 20.0 * std::log10(step_lo / step_hi) / (hi->value("bits", 0) - lo->value("bits", 0));
  const bool gain_ok = std::abs(gain - step_gain) <= kDbTolerance;
  const json evidence = {{"db_per_bit_6_8", gain},
                         {"expected_db_per_bit", kDbPerBit},
                         {"tolerance_db", kDbTolerance},
                         {"step_model_db_per_bit_6_8", step_gain},
                         {"model_holds_6_8", holds_6_8},
                         {"model_holds_2", !breaks_2},
                         {"var_ratio_2", two->value("var_ratio", NAN)}};
  const std::string reason = "SQNR gain " + fmt(gain) + " dB/bit between " + std::to_string(lo->value("bits", 0)) +
                             " and " + std::to_string(hi->value("bits", 0)) + " bits vs " + fmt(step_gain) +
                             " dB/bit from the step ratio (" + fmt(std::abs(gain - step_gain), 3) + " dB apart, " +
                             fmt(kDbTolerance) + " allowed; " + fmt(std::abs(gain - kDbPerBit), 2) +
                             " dB from the large-b 6.02); model " + (holds_6_8 ? "holds" : "fails") + " at 6-8 bits, " +
                             (breaks_2 ? "breaks" : "still holds") + " at 2 bits";
  return make_claim("C1", text, gain_ok && holds_6_8 && breaks_2 ? kSupported : kNotSupported, reason, evidence);
}

// C2 is about the per-layer noise variance. The validation also compares the network's loss
// increase; that comparison is reported with the claim but does not decide it: the loss predictor
// (curvature + ReLU-kink term) is a model of its own, with approximations that the per-layer noise
// does not share (docs/theory.md, "Loss increase").
json claim_c2(const json& validation) {
  const char* text = "per-layer noise is predictable: first-order theory agrees with Monte Carlo";
  if (!validation.contains("comparisons") || !validation["comparisons"].is_array())
    return make_claim("C2", text, kInconclusive, "no validation result", json::object());
  int agreed = 0, total = 0, loss_agreed = 0, loss_total = 0;
  for (const json& c : validation["comparisons"]) {
    const bool agree = c.value("verdict", "") == "agree";
    const std::string quantity = c.value("quantity", "");
    if (quantity == "noise_var") {
      ++total;
      agreed += agree ? 1 : 0;
    } else if (quantity == "loss_increase") {
      ++loss_total;
      loss_agreed += agree ? 1 : 0;
    }
  }
  if (total == 0) return make_claim("C2", text, kInconclusive, "no per-layer noise comparison", json::object());
  const bool pass = agreed == total;
  std::string reason = std::to_string(agreed) + "/" + std::to_string(total) +
                       " per-layer noise variances agree within " + fmt(100 * validation.value("tolerance", NAN)) +
                       "% + " + fmt(validation.value("sigmas", NAN)) + " SE";
  if (loss_total > 0)
    reason += "; loss increase " + std::to_string(loss_agreed) + "/" + std::to_string(loss_total) +
              " (reported, not part of C2, which is about per-layer noise)";
  return make_claim(
      "C2", text, pass ? kSupported : kNotSupported, reason,
      {{"agreed", agreed}, {"total", total}, {"pass", pass}, {"loss_agreed", loss_agreed}, {"loss_total", loss_total}});
}

json claim_c3(const std::vector<json>& s) {
  return training_claim("C3", "QAT regularizes: the generalization gap at 4 and 2 bits is smaller than FP32's", s,
                        {{{kFloatBits, 4}, {false, 0.0}}, {{kFloatBits, 2}, {false, 0.0}}});
}

json claim_c4(const std::vector<json>& s) {
  return training_claim("C4", "regularization grows as precision falls: gap(8) >= gap(4) >= gap(2)", s,
                        {{{8, 4}, {false, 0.0}}, {{4, 2}, {false, 0.0}}});
}

json claim_c5(const std::vector<json>& s) {
  return training_claim("C5", "8-bit QAT keeps FP32 accuracy (within 0.5 points) with a gap no larger than FP32's", s,
                        {{{8, kFloatBits}, {true, -kAccuracyPoints}}, {{kFloatBits, 8}, {false, 0.0}}});
}

}  // namespace qreg::cli
