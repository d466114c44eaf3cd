// Verdicts on the paper's claims C1–C5 (DESIGN.md), computed from the result files of a
// `qreg reproduce` run, never assumed. Each claim is a JSON object
//   {"id", "claim", "verdict": "supported" | "not supported" | "inconclusive", "reason", "evidence"}.
// Training claims (C3–C5) compare runs paired by seed: the paired mean difference d and its
// standard error se over seeds decide, "supported" when d − 2·se clears the claim's threshold,
// "not supported" when d + 2·se falls short of it, "inconclusive" otherwise or with a single seed
// (one seed cannot separate the effect from seed-to-seed variation; the single difference is
// still reported, with whether it points the claim's way).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace qreg::cli {

inline constexpr const char* kSupported = "supported";
inline constexpr const char* kNotSupported = "not supported";
inline constexpr const char* kInconclusive = "inconclusive";

/// C1 from a `qreg noise` JSON document: SQNR gain per bit between the widths present in [6, 8]
/// within 0.1 dB of 6.02, the U(−Δ/2, Δ/2) model holding there, and failing at 2 bits.
nlohmann::json claim_c1(const nlohmann::json& noise);
/// C2 from a `qreg validate` JSON document (theory vs simulate): supported when every per-layer
/// noise_var comparison agrees; loss_increase comparisons are reported in the reason and evidence
/// but do not decide (claims.cpp says why).
nlohmann::json claim_c2(const nlohmann::json& validation);
/// C3–C5 from `qreg train` summary.json documents (one per model; runs with "mode", "bits",
/// "seed", "status", "final_val_accuracy", "final_gap"). Gap = val_loss − train_loss (nats).
nlohmann::json claim_c3(const std::vector<nlohmann::json>& train_summaries);
nlohmann::json claim_c4(const std::vector<nlohmann::json>& train_summaries);
nlohmann::json claim_c5(const std::vector<nlohmann::json>& train_summaries);

}  // namespace qreg::cli
