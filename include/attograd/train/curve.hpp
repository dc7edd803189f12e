/// \file
/// The numbers of a training run, kept for a CSV file and an SVG picture.
///
/// \code
/// Curve curve({"step", "loss", "test_accuracy"});
/// curve.add({step, loss, accuracy});           // NaN where a column has no value at this step
/// curve.write_csv(out / "curve.csv");
/// curve.write_svg(out / "curve.svg", {.title = "07_sort"});
/// \endcode
///
/// Both files are written atomically (attograd/io/atomic_file.hpp).
#pragma once

#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "attograd/viz/svg.hpp"

namespace attograd::train {

/// Rows of numbers recorded while training (step, loss, accuracy, ...), written as CSV and drawn as a line
/// chart.
class Curve {
 public:
  /// The first column is the x axis (usually the step); the others are series.
  explicit Curve(std::vector<std::string> columns);

  void add(std::initializer_list<double> row);  ///< one row: as many values as columns (ValueError otherwise)
  void add(const std::vector<double>& row);  ///< \overload

  const std::vector<std::string>& columns() const { return columns_; }  ///< the column names
  const std::vector<std::vector<double>>& rows() const { return rows_; }  ///< the rows recorded

  /// Header line, then one line per row; NaN is written as an empty field.
  std::string csv() const;
  void write_csv(const std::filesystem::path& path) const;  ///< csv(), written atomically
  /// A line chart with one line per series (column after the first):
  /// pass the columns to draw (default: all series); options.log_y gives a log y axis.
  std::string svg(const viz::ChartOptions& options = {}, const std::vector<std::string>& only = {}) const;
  /// svg(), written atomically.
  void write_svg(const std::filesystem::path& path, const viz::ChartOptions& options = {},
                 const std::vector<std::string>& only = {}) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace attograd::train
