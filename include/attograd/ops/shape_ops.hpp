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

Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Elements start, start+step, ... before end along dim; start and end may be negative, and are
/// clamped to the dim as in Python slicing. step >= 1.
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// The sub-tensor at index along dim; the dim is removed.
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
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
