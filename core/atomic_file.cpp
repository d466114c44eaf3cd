#include "core/atomic_file.hpp"

#include <chrono>
#include <fstream>
#include <system_error>

#include "core/error.hpp"

namespace qreg {
namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& fill) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(path.string() + ": directory " + dir.string() + " does not exist");
  // The temporary name only needs to avoid collisions between concurrent writers; it never
  // influences results, so a clock-seeded name is fine here.
  const auto tag =
      std::to_string(std::hash<std::string>{}(path.string()) ^
                     static_cast<std::size_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp" + tag.substr(0, 8));
  try {
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      if (!os) throw Error(path.string() + ": cannot open for writing");
      fill(os);
      os.flush();
      if (!os) throw Error(path.string() + ": write failed (disk full?)");
    }
    fs::rename(tmp, path, ec);
    if (ec) throw Error(path.string() + ": cannot rename temporary file: " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_atomic(const fs::path& path, std::string_view contents) {
  write_file_atomic(
      path, [&](std::ostream& os) { os.write(contents.data(), static_cast<std::streamsize>(contents.size())); });
}

}  // namespace qreg
