/// \file
/// Views, copies and joins. Most of these are also Tensor methods.
///
/// \code
/// Tensor t = x.transpose(0, 1);        // a view: no copy, shares x's storage
/// Tensor r = x.reshape({2, -1});       // a view if x's strides allow, else a copy
/// Tensor c = cat({a, b}, 0);           // joins along an existing dim
/// Tensor s = stack({a, b}, 0);         // joins along a new dim
/// \endcode
///
/// Views share storage with their base (writing into one writes into the other, and counts as an
/// in-place write for autograd). The gradient of a view is routed back to the elements it covers.
/// Derivations: docs/derivations/shape.md.
#pragma once

#include <vector>

#include "attograd/core/tensor.hpp"

namespace attograd {

/// x with another shape of as many elements: a view when strides allow, else a copy; one dim may be -1.
Tensor reshape(const Tensor& x, const Shape& shape);
/// x with another shape: a view, or ShapeError when strides forbid it.
Tensor view(const Tensor& x, const Shape& shape);
/// Dims start_dim..end_dim merged into one (a view when strides allow).
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
/// Dims dim0 and dim1 swapped (a view).
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
/// Dims reordered: result dim i is x's dim dims[i] (a view).
Tensor permute(const Tensor& x, const Shape& dims);
/// `length` entries of dim from start (a view).
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Elements start, start+step, ... before end along dim; start and end may be negative, and are
/// clamped to the dim as in Python slicing. step >= 1.
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// The sub-tensor at index along dim; the dim is removed.
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
Tensor squeeze(const Tensor& x);  ///< without its size-1 dims (a view)
Tensor squeeze(const Tensor& x, std::int64_t dim);  ///< without dim if its size is 1 (a view)
Tensor unsqueeze(const Tensor& x, std::int64_t dim);  ///< a size-1 dim inserted at dim (a view)
/// Size-1 dims repeated to `shape` without copying (a view; -1 keeps a size).
Tensor expand(const Tensor& x, const Shape& shape);

/// Joins tensors of equal shape except along dim.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim);
/// Joins tensors of equal shape along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim);

/// A copy with its own storage (gradient: identity).
Tensor clone(const Tensor& x);
/// x itself if already contiguous, else a contiguous copy (gradient: identity).
Tensor contiguous(const Tensor& x);
/// x converted to dtype (x itself if already that dtype); the gradient is converted back.
Tensor to(const Tensor& x, DType dtype);

}  // namespace attograd
