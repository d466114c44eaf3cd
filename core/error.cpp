#include "core/error.hpp"

#include <sstream>

namespace qreg {

void assertion_failed(const char* expr, const char* file, int line, const std::string& what) {
  // Built with a stream: GCC 12 at -O3 warns (-Wrestrict, a false positive) on chained string +.
  std::ostringstream os;
  os << "internal error: " << file << ':' << line << ": assertion '" << expr << "' failed: " << what;
  throw std::logic_error(os.str());
}

}  // namespace qreg
