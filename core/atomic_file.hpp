// Whole-file writes that never leave partial output: write a temporary beside the target, then rename.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace qreg {

/// Calls `fill` on a stream to a temporary file in the target's directory, then renames it over
/// `path`. On any failure the temporary is removed, `path` is untouched, and Error names the file.
void write_file_atomic(const std::filesystem::path& path, const std::function<void(std::ostream&)>& fill);
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace qreg
