/// \file
/// Arithmetic and pointwise functions, with NumPy broadcasting.
///
/// \code
/// Tensor y = tanh(x * w + b);     // w [3], b [1] broadcast against x [batch, 3]
/// Tensor z = 1.0 - sigmoid(y);    // scalars on either side
/// Tensor p = pow(x, 2.0);         // scalar exponent
/// \endcode
///
/// Binary ops broadcast their inputs to a common shape (trailing dims aligned; each pair of sizes equal
/// or one of them 1) and sum each gradient back to its input's shape. float32 with float64 promotes to
/// float64, as in PyTorch (docs/architecture.md); each gradient comes back in its input's own dtype.
/// int64 with int64 stays int64 (bool counts as int64), except div, which gives float32.
/// Derivations: docs/derivations/elementwise.md.
#pragma once

#include <optional>

#include "attograd/core/tensor.hpp"

namespace attograd {

/// C = A + B    dA = dC    dB = dC
Tensor add(const Tensor& a, const Tensor& b);
/// C = A - B    dA = dC    dB = -dC
Tensor sub(const Tensor& a, const Tensor& b);
/// C = A * B    dA = dC * B    dB = dC * A
Tensor mul(const Tensor& a, const Tensor& b);
/// C = A / B    dA = dC / B    dB = -dC * A / B^2
Tensor div(const Tensor& a, const Tensor& b);

/// The same with a scalar on one side: the result keeps a floating tensor's dtype. An int64 or bool
/// tensor gives int64 when the scalar is a whole number in int64's range, else float32 (3 * 0.5 is
/// 1.5); dividing one always gives float32.
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);  ///< A - s
Tensor sub(double s, const Tensor& a);  ///< s - A
Tensor mul(const Tensor& a, double s);  ///< A * s
Tensor div(const Tensor& a, double s);  ///< A / s
Tensor div(double s, const Tensor& a);  ///< s / A

/// Y = -X    dX = -dY
Tensor neg(const Tensor& x);
/// Y = X^p    dX = dY * p * X^(p-1)
Tensor pow(const Tensor& x, double exponent);
/// Y = e^X    dX = dY * Y
Tensor exp(const Tensor& x);
/// Y = ln X    dX = dY / X
Tensor log(const Tensor& x);
/// Y = sqrt(X)    dX = dY / (2 Y)
Tensor sqrt(const Tensor& x);
/// Y = |X|    dX = dY * sign(X), with sign(0) = 0
Tensor abs(const Tensor& x);
/// Y = tanh(X)    dX = dY * (1 - Y^2)
Tensor tanh(const Tensor& x);
/// Y = 1 / (1 + e^-X)    dX = dY * Y * (1 - Y)
Tensor sigmoid(const Tensor& x);
/// Y = sin X    dX = dY * cos X     (X in radians; sinusoidal position encodings, periodic features)
Tensor sin(const Tensor& x);
/// Y = cos X    dX = -dY * sin X
Tensor cos(const Tensor& x);
/// Y = max(X, 0)    dX = dY where X > 0, else 0 (0 at X = 0)
Tensor relu(const Tensor& x);

/// How gelu() computes Φ: exactly (erf), or with GPT-2's tanh approximation.
enum class GeluApproximation { None, Tanh };
/// Y = X * Phi(X), Phi the standard normal CDF (or its tanh approximation)
Tensor gelu(const Tensor& x, GeluApproximation approximation = GeluApproximation::None);

/// Y = min(max(X, lo), hi); either bound may be absent, neither may be NaN (ValueError).
/// dX = dY where lo <= X <= hi, else 0. With lo > hi every element is hi, as in PyTorch.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

Tensor operator+(const Tensor& a, const Tensor& b);  ///< add(a, b)
Tensor operator-(const Tensor& a, const Tensor& b);  ///< sub(a, b)
Tensor operator*(const Tensor& a, const Tensor& b);  ///< mul(a, b)
Tensor operator/(const Tensor& a, const Tensor& b);  ///< div(a, b)
Tensor operator-(const Tensor& x);  ///< neg(x)
Tensor operator+(const Tensor& a, double s);  ///< add(a, s)
Tensor operator+(double s, const Tensor& a);  ///< add(a, s)
Tensor operator-(const Tensor& a, double s);  ///< sub(a, s)
Tensor operator-(double s, const Tensor& a);  ///< sub(s, a)
Tensor operator*(const Tensor& a, double s);  ///< mul(a, s)
Tensor operator*(double s, const Tensor& a);  ///< mul(a, s)
Tensor operator/(const Tensor& a, double s);  ///< div(a, s)
Tensor operator/(double s, const Tensor& a);  ///< div(s, a)

}  // namespace attograd
