// Internal: placing a new dim (unsqueeze, stack).
#pragma once

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/shape.hpp"

namespace attograd {

// Where a new dim goes (unsqueeze, stack). dim counts in the result: -(rank+1)..rank for inputs of this
// rank. The messages name the inputs' rank, which is what the caller can see.
inline int new_dim(std::string_view op, std::int64_t dim, const Shape& input, std::string_view inputs) {
  const int rank = input.rank();
  if (rank == kMaxRank) {
    throw ShapeError(fmt::format("{}: the result would have rank {}, more than the maximum {} (input shape {})", op,
                                 rank + 1, kMaxRank, input));
  }
  if (dim < -(rank + 1) || dim > rank) {
    throw IndexError(fmt::format("{}: dim {} is out of range for {} of rank {} (expected {}..{})", op, dim, inputs,
                                 rank, -(rank + 1), rank));
  }
  return static_cast<int>(dim < 0 ? dim + rank + 1 : dim);
}

}  // namespace attograd
