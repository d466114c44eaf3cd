#include "core/bits.hpp"

#include <algorithm>
#include <charconv>

#include "core/error.hpp"

namespace qreg {

void check_bits(int bits, bool allow_float) {
  if (allow_float && bits == kFloatBits) return;
  if (bits < kMinBits || bits > kMaxBits)
    throw UsageError("bits " + std::to_string(bits) + " outside [" + std::to_string(kMinBits) + ", " +
                     std::to_string(kMaxBits) + "]" + (allow_float ? " (or 32/fp32 for float)" : ""));
}

std::vector<int> parse_bits_list(std::string_view text, bool allow_float) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int bits = 0;
    if (item == "fp32" || item == "FP32" || item == "float") {
      bits = kFloatBits;
    } else {
      auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), bits);
      if (item.empty() || ec != std::errc() || ptr != item.data() + item.size())
        throw UsageError("bits: '" + std::string(item) + "' is not a bit width (use e.g. 8,4,2 or fp32)");
    }
    check_bits(bits, allow_float);
    if (std::find(out.begin(), out.end(), bits) != out.end())
      throw UsageError("bits: " + bits_label(bits) + " is listed twice");
    out.push_back(bits);
    start = end + 1;
  }
  return out;
}

std::string bits_label(int bits) { return bits == kFloatBits ? "fp32" : std::to_string(bits); }

}  // namespace qreg
