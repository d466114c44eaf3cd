// Enum <-> name tables for command-line choices: one table per enum gives both the parser (with a
// usage error listing the accepted names) and the printer, so the two never drift apart.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace qreg {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

/// The value named `text`; UsageError "what: 'text' is not one of a, b, c" otherwise.
template <typename E, std::size_t N>
E parse_enum(std::string_view text, const EnumName<E> (&table)[N], std::string_view what) {
  for (const auto& e : table)
    if (text == e.name) return e.value;
  std::string names;
  for (const auto& e : table) names += (names.empty() ? "" : ", ") + std::string(e.name);
  throw UsageError(std::string(what) + ": '" + std::string(text) + "' is not one of " + names);
}

/// The name of `value` in `table` ("?" for a value the table lacks, which is a bug).
template <typename E, std::size_t N>
const char* enum_name(E value, const EnumName<E> (&table)[N]) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "?";
}

}  // namespace qreg
