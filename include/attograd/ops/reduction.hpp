/// \file
/// Sums, means, maxima and minima over all or some dims.
///
/// \code
/// Tensor total = sum(x);                    // rank 0
/// Tensor rows = sum(x, {1});                // [N, M] -> [N]
/// Tensor keep = mean(x, {-1}, true);        // [N, M] -> [N, 1]
/// Tensor best = argmax(logits, -1);         // int64 indices
/// \endcode
///
/// Ties: argmax and argmin return the first of the tied elements in row-major order; the gradient of max
/// and min is shared evenly among all of them (PyTorch's `max()` and `amax` do the same; its `max(dim)`
/// gives it all to one index), which is also what a central finite difference measures at a tie. A NaN
/// beats every number in both max and min, as in PyTorch, and the NaNs share the gradient. Sums of int64 stay int64, sums of bool count the trues (int64), float sums
/// accumulate in double. Derivations: docs/derivations/reduction.md.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

/// Y = sum of X    dX = dY broadcast back to X's shape
Tensor sum(const Tensor& x);
/// along dims only; keepdim keeps them with size 1
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
/// Y = sum / count    dX = dY / count, broadcast
Tensor mean(const Tensor& x);
/// along dims only; keepdim keeps them with size 1
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
/// Y = the largest (smallest) element    dX = dY / k at each of the k elements equal to it, 0 elsewhere
Tensor max(const Tensor& x);
/// along dims only; keepdim keeps them with size 1
Tensor max(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor min(const Tensor& x);  ///< the smallest element
/// along dims only; keepdim keeps them with size 1
Tensor min(const Tensor& x, const Shape& dims, bool keepdim = false);
/// Index of the largest (smallest) element along dim, int64; no gradient.
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// index of the smallest element along dim
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index into the flattened tensor.
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);  ///< index of the smallest element of the flattened tensor

/// Along one dim: `sum(x, -1)` is `sum(x, {-1})` (a braced list is always a list of dims).
template <DimIndex I>
Tensor sum(const Tensor& x, I dim, bool keepdim = false) {
  return sum(x, Shape{static_cast<std::int64_t>(dim)}, keepdim);
}
/// along one dim: `mean(x, -1)` is `mean(x, {-1})`
template <DimIndex I>
Tensor mean(const Tensor& x, I dim, bool keepdim = false) {
  return mean(x, Shape{static_cast<std::int64_t>(dim)}, keepdim);
}
/// along one dim, the values only (argmax gives the indices)
template <DimIndex I>
Tensor max(const Tensor& x, I dim, bool keepdim = false) {
  return max(x, Shape{static_cast<std::int64_t>(dim)}, keepdim);
}
/// along one dim, the values only (argmin gives the indices)
template <DimIndex I>
Tensor min(const Tensor& x, I dim, bool keepdim = false) {
  return min(x, Shape{static_cast<std::int64_t>(dim)}, keepdim);
}

/// Sums x down to `shape`, the reverse of broadcasting `shape` up to x's shape: what a binary op does
/// to the gradient of an input it broadcast. ShapeError if shape does not broadcast to x's shape.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace attograd
