/// \file
/// Printing tensors, as NumPy and PyTorch do.
///
/// \code
/// fmt::print("{}\n", tensor({{1.0, 2.5}, {-3.0, 4.0}}));
/// // tensor([[ 1.0000,  2.5000],
/// //         [-3.0000,  4.0000]])
/// \endcode
///
/// Large tensors are summarised (the first and last three entries of each long dim, `...` between).
/// Shapes and dtypes have their own formatters in shape.hpp and dtype.hpp.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include <fmt/format.h>

#include "attograd/core/tensor.hpp"

namespace attograd {

/// How to_string() and fmt::print print a tensor.
struct PrintOptions {
  int precision = 4;               ///< digits after the point
  std::int64_t threshold = 1000;   ///< summarise tensors with more elements than this
  std::int64_t edge_items = 3;     ///< entries kept at each end of a summarised dim
};

/// The tensor as text, as fmt::print("{}", t) prints it: `tensor([1.0000, 2.0000])`.
std::string to_string(const Tensor& t, const PrintOptions& options = {});

/// For iostreams (and test frameworks that print through them): the same text as fmt gives.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Shape& s);  ///< the shape as fmt prints it: [2, 3]
std::ostream& operator<<(std::ostream& os, DType t);  ///< the dtype's name

}  // namespace attograd

/// \cond
// fmt's formatter, so that fmt::print("{}", x) works (hidden from the API reference: \cond).
template <>
struct fmt::formatter<attograd::Tensor> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  auto format(const attograd::Tensor& t, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", attograd::to_string(t));
  }
};
/// \endcond
