/// \file
/// Comparisons giving bool masks, and choosing by mask.
///
/// \code
/// Tensor m = gt(x, 0.0);                         // bool, x's shape
/// Tensor y = where(m, x, zeros_like(x));         // relu by hand
/// Tensor s = masked_fill(scores, mask, -INFINITY); // hide masked positions before a softmax
/// \endcode
///
/// Masks are Tensors of dtype bool. Comparisons broadcast and carry no gradient. A scalar is compared in
/// a floating tensor's dtype, as in PyTorch (eq(tensor({0.1}), 0.1) is true although 0.1f != 0.1).
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);

Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, double s);
Tensor operator<=(const Tensor& a, double s);
Tensor operator>(const Tensor& a, double s);
Tensor operator>=(const Tensor& a, double s);

Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);

/// Y = A where cond, else B (all three broadcast)    dA = dY where cond    dB = dY where not cond
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);
/// Y = value where mask, else X (mask broadcast to X's shape)    dX = dY where not mask
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

/// true where the value is NaN / infinite (no gradient).
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
/// true if every / any element of a bool tensor is true. An empty tensor gives true for all (no element
/// is false) and false for any (no element is true).
bool all(const Tensor& mask);
bool any(const Tensor& mask);
/// true if a and b have the same shape and |a - b| <= atol + rtol * |b| everywhere (NaN never close).
/// The dtypes may differ (values are compared as doubles); rtol and atol must be finite and >= 0.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace attograd
