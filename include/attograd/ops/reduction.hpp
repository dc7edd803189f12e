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
/// Ties in max, min, argmax and argmin: the first element in row-major order wins, and the gradient of
/// max and min flows to that element only. A NaN beats every number in both max and min (the first NaN
/// wins), as in PyTorch. Sums of int64 stay int64, sums of bool count the trues (int64), float sums
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
/// Y = the largest (smallest) element    dX = dY at that element, 0 elsewhere
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

/// Sums x down to `shape`, the reverse of broadcasting `shape` up to x's shape: what a binary op does
/// to the gradient of an input it broadcast. ShapeError if shape does not broadcast to x's shape.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace attograd
