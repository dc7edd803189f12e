// Internal to the nn modules whose forward_add adds a residual inside their last product
// (MultiHeadSelfAttention, FeedForward): the check both make of their two inputs.
//
//   check_residual("FeedForward::forward_add", x, residual);
#pragma once

#include <string_view>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd::nn {

// x and residual defined and of one shape (the residual is added as it is, not broadcast).
inline void check_residual(std::string_view op, const Tensor& x, const Tensor& residual) {
  require_defined(op, x);
  require_defined(op, residual, "residual");
  if (residual.shape() != x.shape()) {
    throw ShapeError(fmt::format("{}: residual {} must have the input's shape {}", op, residual.shape(), x.shape()));
  }
}

}  // namespace attograd::nn
