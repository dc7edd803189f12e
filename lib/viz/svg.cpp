#include "attograd/viz/svg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"

namespace attograd::viz {

namespace {

constexpr const char* kFont = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";
constexpr std::array<const char*, 6> kLineColours = {"#1f5fa8", "#d1495b", "#2e8b57", "#edae49", "#6a4c93", "#444444"};

// Tick positions at 1, 2 or 5 times a power of ten, about `count` of them across [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

// Ticks for a log axis whose range is [lo, hi] in log10 units, as values: the powers of ten, with 2
// and 5 times each when the range spans few of them, so every label is 1, 2 or 5 x 10^k (never 3.16).
// A range too narrow for two such ticks gets linear 1-2-5 ticks, which are such numbers too.
std::vector<double> log_ticks(double lo, double hi) {
  const double eps = 1e-9;
  const auto first = static_cast<int>(std::floor(lo)), last = static_cast<int>(std::ceil(hi));
  const int decades = last - first;
  const int every = std::max(1, decades / 6);  // at most about six labelled powers
  std::vector<double> multiples = decades <= 3 ? std::vector<double>{1, 2, 5} : std::vector<double>{1};
  std::vector<double> ticks;
  for (int e = first; e <= last; ++e) {
    if ((e - first) % every != 0) continue;
    for (double m : multiples) {
      const double l = std::log10(m) + e;
      if (l >= lo - eps && l <= hi + eps) ticks.push_back(m * std::pow(10.0, e));
    }
  }
  if (ticks.size() < 2) {
    ticks.clear();
    for (double v : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), 4)) {
      if (v > 0) ticks.push_back(v);
    }
  }
  return ticks;
}

std::string tick_label(double v) {
  if (v != 0.0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3)) return fmt::format("{:.0e}", v);
  return fmt::format("{:g}", v);
}

// A sequential colour scale from dark blue through teal and green to yellow; t in [0, 1].
std::string colour_at(double t) {
  struct Rgb {
    double r, g, b;
  };
  static constexpr std::array<Rgb, 5> anchors = {{{40, 30, 90}, {50, 90, 150}, {40, 150, 140}, {120, 200, 90}, {245, 230, 70}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (anchors.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(t), anchors.size() - 2);
  const double f = t - static_cast<double>(i);
  const Rgb& a = anchors[i];
  const Rgb& b = anchors[i + 1];
  return fmt::format("#{:02x}{:02x}{:02x}", static_cast<int>(a.r + f * (b.r - a.r)),
                     static_cast<int>(a.g + f * (b.g - a.g)), static_cast<int>(a.b + f * (b.b - a.b)));
}

// A diverging scale for signed values such as gradients, t in [0, 1] with zero at 0.5: blue for
// negative, white at zero, red for positive, so that the sign shows at a glance.
std::string diverging_colour_at(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.5, 0.0, 1.0);
  const double f = std::abs(t - 0.5) * 2;  // 0 at zero, 1 at the ends
  const double end_r = t < 0.5 ? 33 : 178, end_g = t < 0.5 ? 102 : 24, end_b = t < 0.5 ? 172 : 43;
  auto mix = [f](double end) { return static_cast<int>(247 + f * (end - 247)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(end_r), mix(end_g), mix(end_b));
}

// The width of text in pixels at a font size, about: DejaVu Sans averages 0.6 em a character.
double text_width(const std::string& text, double size) { return 0.6 * size * static_cast<double>(text.size()); }

std::string header(int width, int height) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" {2}>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, kFont);
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string line_chart(const std::vector<Series>& series, const ChartOptions& options) {
  for (const Series& s : series) {
    if (s.x.size() != s.y.size()) {
      throw ValueError(fmt::format("line_chart: series '{}' has {} x values but {} y values", s.name, s.x.size(),
                                   s.y.size()));
    }
  }
  // Every chart names its y axis: the one series' name when the caller gave no label.
  const std::string y_label = !options.y_label.empty() ? options.y_label
                              : series.size() == 1 && !series[0].name.empty() ? series[0].name
                                                                               : std::string("value");
  auto usable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!options.log_y || y > 0); };
  auto ty = [&](double y) { return options.log_y ? std::log10(y) : y; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series) {
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i]));
      y1 = std::max(y1, ty(s.y[i]));
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // nothing to draw: empty axes
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;

  // The legend stands right of the plot, never over a line; one unnamed series needs none.
  double legend_width = 0;
  for (const Series& s : series) legend_width = std::max(legend_width, 34 + text_width(s.name, 11));
  if (series.size() == 1 && series[0].name.empty()) legend_width = 0;
  const int W = options.width + static_cast<int>(legend_width), H = options.height;
  const double left = 70, right = options.width - 20, top = 40, bottom = H - 50;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (ty(y) - y0) / (y1 - y0) * (bottom - top); };

  std::string svg = header(W, H);
  svg += fmt::format("<text x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n", W / 2,
                     xml_escape(options.title));
  // Grid and ticks.
  for (double t : nice_ticks(x0, x1, 6)) {
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e6e6e6\"/>\n", px(t), top, bottom);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n", px(t),
                       bottom + 16, tick_label(t));
  }
  for (double value : options.log_y ? log_ticks(y0, y1) : nice_ticks(y0, y1, 5)) {
    const double y = py(value);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#e6e6e6\"/>\n", left, y, right, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", left - 6, y + 4,
                       tick_label(value));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
                     right - left, bottom - top);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n", (left + right) / 2,
                     H - 12, xml_escape(options.x_label));
  svg += fmt::format(
      "<text x=\"16\" y=\"{0}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n",
      (top + bottom) / 2, xml_escape(y_label + (options.log_y ? " (log scale)" : "")));
  // Lines and legend.
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const char* colour = kLineColours[k % kLineColours.size()];
    std::string points;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (usable(s.x[i], s.y[i])) points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
    }
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", colour, points);
    if (legend_width == 0) continue;
    const double ly = top + 8 + 16 * static_cast<double>(k);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       right + 10, ly - 4, right + 30, ly - 4, colour);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n", right + 34, ly, xml_escape(s.name));
  }
  svg += "</svg>\n";
  return svg;
}

std::string heatmap(const Tensor& values, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& col_labels, const HeatmapOptions& options) {
  if (values.dim() != 2) {
    throw ShapeError(fmt::format("heatmap: expected a 2-D tensor, got shape {}", values.shape()));
  }
  const std::int64_t rows = values.size(0), cols = values.size(1);
  auto check = [](const std::vector<std::string>& labels, std::int64_t n, const char* what) {
    if (!labels.empty() && static_cast<std::int64_t>(labels.size()) != n) {
      throw ShapeError(fmt::format("heatmap: {} {} labels for {} {}s", labels.size(), what, n, what));
    }
  };
  check(row_labels, rows, "row");
  check(col_labels, cols, "column");
  const std::vector<double> v = values.to_vector<double>();
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (options.diverging) {
    // Zero in the middle of the scale, so that white means zero and the colour's hue gives the sign.
    const double m = std::max({std::abs(lo), std::abs(hi), 1e-300});
    lo = -m;
    hi = m;
  }
  lo = options.min.value_or(lo);
  hi = options.max.value_or(hi);
  const double span = hi > lo ? hi - lo : 1.0;
  auto colour = [&](double t) { return options.diverging ? diverging_colour_at(t) : colour_at(t); };

  auto label = [](const std::vector<std::string>& labels, std::int64_t i) {
    return labels.empty() ? fmt::format("{}", i) : labels[static_cast<std::size_t>(i)];
  };
  const int cell = options.cell;
  // Labels fit their cells: the font shrinks with the cell down to 7 px, and below that only every
  // k-th row and column is labelled (a 60 x 60 map of 8 px cells labels every second one).
  const double font = std::clamp(cell * 0.8, 7.0, 12.0);
  // A label needs its font's height and 2 px between it and the next.
  const std::int64_t every = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((font + 2) / cell)));
  auto shown = [every](std::int64_t i) { return i % every == 0; };
  std::size_t longest_row = 1, longest_col = 1;
  for (std::int64_t r = 0; r < rows; r += every) longest_row = std::max(longest_row, label(row_labels, r).size());
  for (std::int64_t c = 0; c < cols; c += every) longest_col = std::max(longest_col, label(col_labels, c).size());
  const double left = 16 + 0.6 * font * static_cast<double>(longest_row);
  const double top = 40 + 0.55 * font * static_cast<double>(longest_col);
  // Wide enough for the title: a map narrower than its title would cut it.
  const int W = static_cast<int>(std::max(left + cell * cols + 90, text_width(options.title, 15) + 24));
  const int H = static_cast<int>(top + cell * rows + 20);

  // The values written in the cells: all of them, or none when one would not fit its cell (tiny
  // gradients such as -4.7e-07); the colours and each cell's tooltip still give them.
  auto value_text = [&](double value) {
    return options.diverging ? fmt::format("{:.2g}", value) : fmt::format("{:.2f}", value);
  };
  bool show_values = options.show_values && cell >= 28;
  for (std::size_t i = 0; show_values && i < v.size(); ++i) show_values = text_width(value_text(v[i]), 10) <= cell - 4;

  std::string svg = header(W, H);
  svg += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n", W / 2,
                     xml_escape(options.title));
  for (std::int64_t c = 0; c < cols; ++c) {
    if (!shown(c)) continue;
    const double x = left + cell * (static_cast<double>(c) + 0.5);
    svg += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" font-size=\"{3:g}\" transform=\"rotate(-60 {0:.1f} {1:.1f})\">{2}</text>\n",
                       x, top - 6, xml_escape(label(col_labels, c)), font);
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const double y = top + cell * static_cast<double>(r);
    if (shown(r)) {
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{:g}\" text-anchor=\"end\">{}</text>\n", left - 6,
                         y + cell * 0.5 + font / 3, font, xml_escape(label(row_labels, r)));
    }
    for (std::int64_t c = 0; c < cols; ++c) {
      const double value = v[static_cast<std::size_t>(r * cols + c)];
      const double t = (value - lo) / span;
      const double x = left + cell * static_cast<double>(c);
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}, {}: {:.4g}</title></rect>\n",
                         x, y, cell, cell, std::isfinite(value) ? colour(t) : "#bbbbbb",
                         xml_escape(label(row_labels, r)), xml_escape(label(col_labels, c)), value);
      if (show_values) {
        const bool dark_cell = options.diverging ? std::abs(t - 0.5) > 0.35 : t <= 0.6;
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                           x + cell * 0.5, y + cell * 0.5 + 3.5, dark_cell ? "#fff" : "#000", value_text(value));
      }
    }
  }
  // Colour bar, with zero marked on a diverging scale.
  const double bx = left + cell * cols + 20, bh = cell * rows;
  for (int i = 0; i < 20; ++i) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"{:.2f}\" fill=\"{}\"/>\n", bx,
                       top + bh * i / 20.0, bh / 20.0 + 0.5, colour(1.0 - i / 19.0));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">{:.3g}</text>\n", bx + 18, top + 9, hi);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">{:.3g}</text>\n", bx + 18, top + bh, lo);
  if (options.diverging && lo < 0 && hi > 0) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">0</text>\n", bx + 18,
                       top + bh * hi / (hi - lo) + 3.5);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace attograd::viz
