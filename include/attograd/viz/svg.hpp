/// \file
/// Pictures as SVG text, written by attograd itself (no external tool): training
/// curves and heatmaps of 2-D tensors such as attention weights.
///
/// \code
/// std::vector<double> steps = {1, 2, 3}, losses = {2.3, 1.7, 1.2};
/// std::string chart = line_chart({{"train loss", steps, losses}}, {.title = "07_sort", .y_label = "loss"});
/// std::vector<std::string> tokens = {"the", "cat", "sat"};   // one label per row and per column
/// std::string map = heatmap(weights, tokens, tokens, {.title = "attention, head 0"});  // weights [3, 3]
/// io::write_file_atomically("runs/07_sort/attention.svg", map);   // attograd/io/atomic_file.hpp
/// \endcode
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd::viz {

/// Escapes text for use inside SVG/XML (&, <, >, ", ').
std::string xml_escape(const std::string& text);

/// One line of a chart: its name (in the legend) and its points.
struct Series {
  std::string name;  ///< shown in the legend
  std::vector<double> x;  ///< x of each point
  std::vector<double> y;  ///< y of each point
};

/// Options of line_chart.
struct ChartOptions {
  std::string title;  ///< above the plot
  std::string x_label = "step";  ///< below the x axis
  std::string y_label;  ///< beside the y axis
  bool log_y = false;  ///< a log scale for the y axis (non-positive values are left out)
  int width = 720;  ///< of the picture, in pixels
  int height = 420;  ///< of the picture, in pixels
};

/// A line chart of one or more series, with axes, ticks at 1, 2 or 5 x 10^k (on a log axis too) and
/// a legend right of the plot. Non-finite points are skipped. Without a y_label the y axis is named
/// after the one series, or "value".
std::string line_chart(const std::vector<Series>& series, const ChartOptions& options = {});

/// Options of heatmap.
struct HeatmapOptions {
  std::string title;  ///< above the grid
  std::optional<double> min;  ///< colour scale; the data's own range when absent
  std::optional<double> max;  ///< (with min)
  bool show_values = true;    ///< write each cell's value when the cells are large enough
  int cell = 36;              ///< cell size in pixels; below about 10 only every k-th label is written
  /// A blue-white-red scale centred on zero (white), for signed values such as gradients: the sign
  /// shows. The range is symmetric, -m..m with m the largest |value|, unless min and max are given.
  bool diverging = false;
};

/// A 2-D tensor as a grid of coloured cells, rows labelled top to bottom, columns left to right.
/// Labels may be empty (indices are used); otherwise their counts must match the tensor's shape.
std::string heatmap(const Tensor& values, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& col_labels, const HeatmapOptions& options = {});

}  // namespace attograd::viz
