// Drawing a Figure: DIR/NAME.gp (a self-contained gnuplot script: terminal, output, datablocks,
// plot commands) and DIR/NAME.<png|svg|pdf>, drawn by running gnuplot on that script. The script
// stays beside the image, so `gnuplot NAME.gp` in DIR redraws it (after any edit of style).
#pragma once

#include <filesystem>
#include <string>

#include "plots/figures.hpp"

namespace qreg::plots {

enum class ImageFormat { Png, Svg, Pdf };
ImageFormat parse_image_format(const std::string& name);  // "png" | "svg" | "pdf"; UsageError otherwise
std::string extension(ImageFormat format);                // "png", ...

struct RenderOptions {
  ImageFormat format = ImageFormat::Png;
  int width = 1200, height = 800;  // pixels (PDF: hundredths of an inch)
  std::string gnuplot;             // program; empty: $QREG_GNUPLOT, else "gnuplot" on PATH
};

/// The whole script of `f` for `opt` (what NAME.gp holds): header comment, terminal, output, body.
std::string script_for(const Figure& f, const RenderOptions& opt);

/// Throws Error unless the gnuplot of `opt` runs and opens the terminal of opt.format: a long job
/// that ends with figures checks this before it starts.
void check_gnuplot(const RenderOptions& opt);

/// Writes out_dir/NAME.gp and out_dir/NAME.<ext>, both atomically, and returns the image's path.
/// Throws UsageError for a bad size, Error when out_dir is not a folder, and Error naming gnuplot
/// and its first error line when gnuplot cannot be run or fails: then neither file is written
/// (earlier ones are left as they were) and the script that failed is kept as NAME.gp.failed.
std::filesystem::path render(const Figure& f, const RenderOptions& opt, const std::filesystem::path& out_dir);

}  // namespace qreg::plots
