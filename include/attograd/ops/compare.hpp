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

Tensor eq(const Tensor& a, const Tensor& b);  ///< a == b, elementwise with broadcasting: bool (no gradient)
Tensor ne(const Tensor& a, const Tensor& b);  ///< a != b
Tensor lt(const Tensor& a, const Tensor& b);  ///< a < b
Tensor le(const Tensor& a, const Tensor& b);  ///< a <= b
Tensor gt(const Tensor& a, const Tensor& b);  ///< a > b
Tensor ge(const Tensor& a, const Tensor& b);  ///< a >= b
Tensor eq(const Tensor& a, double s);  ///< a == s
Tensor ne(const Tensor& a, double s);  ///< a != s
Tensor lt(const Tensor& a, double s);  ///< a < s
Tensor le(const Tensor& a, double s);  ///< a <= s
Tensor gt(const Tensor& a, double s);  ///< a > s
Tensor ge(const Tensor& a, double s);  ///< a >= s

Tensor operator<(const Tensor& a, const Tensor& b);  ///< lt(a, b)
Tensor operator<=(const Tensor& a, const Tensor& b);  ///< le(a, b)
Tensor operator>(const Tensor& a, const Tensor& b);  ///< gt(a, b)
Tensor operator>=(const Tensor& a, const Tensor& b);  ///< ge(a, b)
Tensor operator<(const Tensor& a, double s);  ///< lt(a, s)
Tensor operator<=(const Tensor& a, double s);  ///< le(a, s)
Tensor operator>(const Tensor& a, double s);  ///< gt(a, s)
Tensor operator>=(const Tensor& a, double s);  ///< ge(a, s)

Tensor logical_and(const Tensor& a, const Tensor& b);  ///< and of two bool tensors, broadcasting
Tensor logical_or(const Tensor& a, const Tensor& b);  ///< or of two bool tensors, broadcasting
Tensor logical_not(const Tensor& a);  ///< not of a bool tensor

/// Y = A where cond, else B (all three broadcast)    dA = dY where cond    dB = dY where not cond
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);  ///< \overload
/// Y = value where mask, else X (mask broadcast to X's shape)    dX = dY where not mask
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

/// true where the value is NaN / infinite (no gradient).
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);  ///< true where the value is infinite
/// true if every / any element of a bool tensor is true. An empty tensor gives true for all (no element
/// is false) and false for any (no element is true).
bool all(const Tensor& mask);
bool any(const Tensor& mask);  ///< true if any element is true
/// true if a and b have the same shape and |a - b| <= atol + rtol * |b| everywhere (NaN never close).
/// The dtypes may differ (values are compared as doubles); rtol and atol must be finite and >= 0.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace attograd
