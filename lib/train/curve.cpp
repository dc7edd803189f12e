#include "attograd/train/curve.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/io/atomic_file.hpp"

namespace attograd::train {

Curve::Curve(std::vector<std::string> columns) : columns_(std::move(columns)) {
  if (columns_.empty()) throw ValueError("Curve: needs at least one column");
  for (const std::string& c : columns_) {
    if (c.empty() || c.find_first_of(",\n\"") != std::string::npos) {
      throw ValueError(fmt::format("Curve: column name '{}' must be non-empty, without commas, quotes or newlines", c));
    }
  }
}

void Curve::add(std::initializer_list<double> row) { add(std::vector<double>(row)); }

void Curve::add(const std::vector<double>& row) {
  if (row.size() != columns_.size()) {
    throw ValueError(fmt::format("Curve: a row of {} values for {} columns ({})", row.size(), columns_.size(),
                                 fmt::join(columns_, ", ")));
  }
  rows_.push_back(row);
}

std::string Curve::csv() const {
  std::string out = fmt::format("{}\n", fmt::join(columns_, ","));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ',';
      if (!std::isnan(row[i])) out += fmt::format("{:.9g}", row[i]);
    }
    out += '\n';
  }
  return out;
}

void Curve::write_csv(const std::filesystem::path& path) const { io::write_file_atomically(path, csv()); }

std::string Curve::svg(const viz::ChartOptions& options, const std::vector<std::string>& only) const {
  std::vector<viz::Series> series;
  for (std::size_t c = 1; c < columns_.size(); ++c) {
    if (!only.empty() && std::find(only.begin(), only.end(), columns_[c]) == only.end()) continue;
    viz::Series s{columns_[c], {}, {}};
    for (const auto& row : rows_) {
      if (std::isnan(row[c])) continue;
      s.x.push_back(row[0]);
      s.y.push_back(row[c]);
    }
    series.push_back(std::move(s));
  }
  viz::ChartOptions o = options;
  if (o.x_label == "step" && !columns_.empty()) o.x_label = columns_[0];
  return viz::line_chart(series, o);
}

void Curve::write_svg(const std::filesystem::path& path, const viz::ChartOptions& options,
                      const std::vector<std::string>& only) const {
  io::write_file_atomically(path, svg(options, only));
}

}  // namespace attograd::train
