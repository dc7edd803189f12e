// examples/digits.hpp: example 10's data and pictures. The data: scikit-learn's handwritten digits,
// 1,797 images of 8 x 8 pixels with values 0-16, fetched by `./dev data` (docs/data.md). The
// pictures: digits drawn as grey squares, with a caption, and beside each an 8 x 8 map (attention).
//
//   Digits d = load_digits(examples::digits_path(flag));   // d.pixels [1797, 64] in [0, 1], d.labels [1797]
//   write_digit_grid(out / "misclassified.svg", "...", pixels, captions);
//   Tensor moved = jitter(images, {.degrees = 10, .scale = 0.1, .shift = 1}, gen);   // training batches
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <attograd/attograd.hpp>

namespace examples {

struct Digits {
  attograd::Tensor pixels;  // [N, 64] float32 in [0, 1]: row r of the image is pixels 8r .. 8r + 7
  attograd::Tensor labels;  // [N] int64, 0-9
};

// --data when given, else $ATTOGRAD_DATA_DIR/digits.csv.gz, else the folder CMake compiled in.
inline std::filesystem::path digits_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* dir = std::getenv("ATTOGRAD_DATA_DIR");
  return std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : ATTOGRAD_DATA_DIR) / "digits.csv.gz";
}

inline Digits load_digits(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw attograd::io::FileAccessError(
        fmt::format("the digits data is not at '{}': `./dev data` fetches it from Debian's python3-sklearn "
                    "(docs/data.md), or give its place with --data",
                    path.string()));
  }
  const attograd::train::CsvTable table = attograd::train::read_csv(path);
  if (table.values.dim() != 2 || table.values.size(1) != 65) {
    throw attograd::ValueError(fmt::format("'{}': expected 65 columns (64 pixels and the digit), got shape {}",
                                           path.string(), table.values.shape()));
  }
  // Pixels count 0-16 set bits of a 4 x 4 block: divided by 16 they are in [0, 1], the scale Adam's
  // default step sizes and PyTorch's initialisation expect.
  return {table.values.slice(1, 0, 64).contiguous() / 16.0, table.values.select(1, 64).to(attograd::kInt64)};
}

// How far jitter() may move an image: each training image turned by an angle drawn in [-degrees, degrees],
// scaled by a factor in [1 - scale, 1 + scale] and moved by up to `shift` pixels along each axis (all
// uniform, about the image's centre), as torchvision's RandomAffine would.
struct Jitter {
  double degrees = 0, scale = 0, shift = 0;
  bool any() const { return degrees > 0 || scale > 0 || shift > 0; }
};

// images [B, 64] -> [B, 64], each image moved by its own random affine map and resampled bilinearly
// (outside the image is blank paper, 0). A pixel's value counts ink in a 4 x 4 block, so a sub-pixel
// move is as natural here as a whole one. Draws 4 numbers per image from gen, in order: the same seed,
// the same images. Training data only: no gradient flows through it.
inline attograd::Tensor jitter(const attograd::Tensor& images, const Jitter& j, attograd::Generator& gen) {
  const auto in = images.contiguous().to_vector<float>();
  std::vector<double> moved(in.size(), 0.0);
  const double pi = std::acos(-1.0);
  for (std::size_t b = 0; b < in.size() / 64; ++b) {
    const double angle = (2 * gen.uniform() - 1) * j.degrees * pi / 180, zoom = 1 + (2 * gen.uniform() - 1) * j.scale;
    const double dx = (2 * gen.uniform() - 1) * j.shift, dy = (2 * gen.uniform() - 1) * j.shift;
    const double cs = std::cos(angle) / zoom, sn = std::sin(angle) / zoom;  // the inverse map: R(-angle) / zoom
    const float* src = in.data() + 64 * b;
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) {
        // Where output pixel (r, c) comes from, in coordinates about the centre (3.5, 3.5).
        const double x = c - 3.5 - dx, y = r - 3.5 - dy;
        const double sx = cs * x + sn * y + 3.5, sy = -sn * x + cs * y + 3.5;
        const double fx = std::floor(sx), fy = std::floor(sy);
        const auto at = [&](double yy, double xx) {
          return yy < 0 || yy > 7 || xx < 0 || xx > 7 ? 0.0 : static_cast<double>(src[8 * static_cast<int>(yy) + static_cast<int>(xx)]);
        };
        const double wx = sx - fx, wy = sy - fy;
        moved[64 * b + static_cast<std::size_t>(8 * r + c)] =
            (1 - wy) * ((1 - wx) * at(fy, fx) + wx * at(fy, fx + 1)) + wy * ((1 - wx) * at(fy + 1, fx) + wx * at(fy + 1, fx + 1));
      }
    }
  }
  return attograd::tensor(moved, {images.size(0), 64});  // float32
}

// One digit's 64 pixels as 8 x 8 grey squares (white 0, black 1) with its top-left corner at (x, y).
inline std::string digit_svg(const std::vector<float>& pixels, double x, double y, double cell) {
  std::string svg;
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 8; ++c) {
      const int grey = 255 - static_cast<int>(255.0F * pixels[static_cast<std::size_t>(8 * r + c)] + 0.5F);
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"rgb({},{},{})\"/>",
                         x + c * cell, y + r * cell, cell, cell, grey, grey, grey);
    }
  }
  return svg + fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
                           "stroke=\"#888\"/>\n", x, y, 8 * cell, 8 * cell);
}

// A grid of digits, `per_row` to a row, each with a caption below ("7 -> 9"). images [K, 64]. Returns
// the SVG it wrote, for the run's report.
inline std::string write_digit_grid(const std::filesystem::path& path, const std::string& title, const attograd::Tensor& images,
                             const std::vector<std::string>& captions, int per_row = 10) {
  const double cell = 6, box = 8 * cell, gap_x = 24, gap_y = 34, top = 36;
  const auto k = static_cast<int>(captions.size());
  const int rows = std::max(1, (k + per_row - 1) / per_row);
  const double width = std::max(360.0, per_row * (box + gap_x) + gap_x), height = top + rows * (box + gap_y) + 8;
  std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
                                "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
                                "fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"14\">{}</text>\n",
                                width, height, gap_x, attograd::viz::xml_escape(title));
  for (int i = 0; i < k; ++i) {
    const double x = gap_x + (i % per_row) * (box + gap_x), y = top + (i / per_row) * (box + gap_y);
    svg += digit_svg(images.select(0, i).to_vector<float>(), x, y, cell);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x + box / 2,
                       y + box + 16, attograd::viz::xml_escape(captions[static_cast<std::size_t>(i)]));
  }
  svg += "</svg>\n";
  attograd::io::write_file_atomically(path, svg);
  return svg;
}

// Digits beside their attention maps: for each digit, its image (row r of pixels at height r) and the
// map weights [8, 8] of the same row height, so that row r of the map (what image row r attended to)
// sits level with image row r. Darker blue = more weight; every row of a map sums to 1. Returns the SVG.
inline std::string write_attention_pictures(const std::filesystem::path& path, const std::string& title,
                                     const attograd::Tensor& images, const std::vector<attograd::Tensor>& maps,
                                     const std::vector<std::string>& captions) {
  const double cell = 14, box = 8 * cell, gap = 30, top = 40, pair = 2 * box + 10 + gap;
  const auto k = static_cast<int>(maps.size());
  std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
                                "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
                                "fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"14\">{}</text>\n",
                                gap + k * pair, top + box + 50, gap, attograd::viz::xml_escape(title));
  for (int i = 0; i < k; ++i) {
    const double x = gap + i * pair;
    svg += digit_svg(images.select(0, i).to_vector<float>(), x, top, cell);
    const auto weights = maps[static_cast<std::size_t>(i)].to(attograd::kFloat32).to_vector<float>();
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) {
        const float w = weights[static_cast<std::size_t>(8 * r + c)];
        const int light = 255 - static_cast<int>(200.0F * w + 0.5F);
        svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"rgb({},{},255)\">"
                           "<title>row {} attends to row {}: {:.3f}</title></rect>",
                           x + box + 10 + c * cell, top + r * cell, cell, cell, light, light, r, c, w);
      }
    }
    svg += fmt::format("\n<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x, top + box + 18,
                       attograd::viz::xml_escape(captions[static_cast<std::size_t>(i)]));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#555\">image | rows attend to rows</text>\n", x,
                       top + box + 34);
  }
  svg += "</svg>\n";
  attograd::io::write_file_atomically(path, svg);
  return svg;
}

}  // namespace examples
