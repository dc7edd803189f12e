/// \file
/// Layer normalisation.
///
/// \code
/// Tensor x = randn({B, T, C}, gen);
/// Tensor gamma = ones({C}).requires_grad_(), beta = zeros({C}).requires_grad_();
/// Tensor y = layer_norm(x, {C}, gamma, beta);   // each [C] vector: mean 0, variance 1, then scaled
/// Tensor z = layer_norm(x, {T, C});             // normalise over the last two dims, no affine
/// \endcode
///
/// One kernel forward and one backward (dX from the saved mean and 1/std); the version built from
/// primitives (mean, sub, mul, sqrt, div), whose gradient comes from theirs, is kept as its test
/// oracle. The lecture's transformer block uses it before (pre-norm) or after (post-norm) each
/// residual add.
/// Derivation: docs/derivations/layer_norm.md.
#pragma once

#include "attograd/core/shape.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

/// Over the last k = normalized_shape.rank() dims of X, which must equal normalized_shape:
/// \code
/// mu = mean(X)    var = mean((X - mu)^2)  (biased, as in PyTorch)
/// Y = (X - mu) / sqrt(var + eps) * weight + bias
/// \endcode
/// weight and bias are optional (pass {} for none) and, when given, have shape normalized_shape and
/// x's dtype (a mix is a DTypeError, as for linear: docs/conventions.md, "Dtypes").
/// eps >= 0 keeps a constant input (var = 0) finite: its output is bias and its gradient finite.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

}  // namespace attograd
