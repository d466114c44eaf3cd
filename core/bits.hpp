// Bit-width lists as the command line gives them: "32,8,4,2"; 32 or "fp32" means not quantized.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qreg {

inline constexpr int kMinBits = 2;
inline constexpr int kMaxBits = 16;
inline constexpr int kFloatBits = 32;  // "not quantized"

/// Throws UsageError unless bits ∈ [2, 16] (or 32 when allow_float).
void check_bits(int bits, bool allow_float = false);
/// Parses "8,4,2" / "fp32,8"; entries are validated, duplicates rejected. Throws UsageError.
std::vector<int> parse_bits_list(std::string_view text, bool allow_float = true);
/// "fp32" for 32, else the number.
std::string bits_label(int bits);

}  // namespace qreg
