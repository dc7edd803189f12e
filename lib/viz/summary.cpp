#include "attograd/viz/summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

namespace attograd::viz {

namespace {

std::string value_text(DType dtype, double v) {
  if (dtype == kBool) return v != 0.0 ? "true" : "false";
  if (dtype == kInt64) return fmt::format("{}", static_cast<std::int64_t>(v));
  return format_number(v);
}

// Values from `at` on, nested by the dims from `dim` on: "[[1, 2], [3, 4]]".
std::string nested(const std::vector<double>& v, const Shape& shape, DType dtype, int dim, std::size_t& at) {
  if (dim == shape.rank()) return value_text(dtype, v[at++]);
  std::string text = "[";
  for (std::int64_t i = 0; i < shape[dim]; ++i) {
    if (i > 0) text += ", ";
    text += nested(v, shape, dtype, dim + 1, at);
  }
  return text + "]";
}

}  // namespace

std::string format_number(double value) {
  if (value == 0.0) return "0";         // also -0: a sign on zero only distracts here
  if (std::isnan(value)) return "nan";  // 0/0 is -nan on x86: the sign of a NaN means nothing
  return fmt::format("{:.4g}", value);
}

std::string summarize(const Tensor& t, std::int64_t max_values) {
  if (!t.defined()) return "undefined";
  const std::vector<double> v = t.to_vector<double>();
  if (t.numel() <= max_values) {
    std::size_t at = 0;
    return nested(v, t.shape(), t.dtype(), 0, at);
  }
  if (std::all_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) {
    return fmt::format("all {} values NaN", v.size());
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0.0, squares = 0.0;
  std::size_t nan = 0, inf = 0, finite = 0;
  for (double x : v) {
    if (std::isnan(x)) {
      ++nan;
      continue;
    }
    if (std::isinf(x)) ++inf;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    if (std::isfinite(x)) {
      ++finite;
      sum += x;
      squares += x * x;
    }
  }
  std::string text = fmt::format("min {}, max {}, mean {}, norm {}", format_number(lo), format_number(hi),
                                 format_number(finite > 0 ? sum / static_cast<double>(finite) : 0.0),
                                 format_number(std::sqrt(squares)));
  if (nan > 0) text += fmt::format(", {} NaN", nan);
  if (inf > 0) text += fmt::format(", {} infinite", inf);
  return text;
}

}  // namespace attograd::viz
