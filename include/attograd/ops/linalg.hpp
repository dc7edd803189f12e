/// \file
/// Matrix products.
///
/// \code
/// Tensor c = matmul(a, b);          // [M, K] x [K, N] -> [M, N]
/// Tensor s = matmul(q, k.mT());     // [B, H, T, D] x [B, H, D, T] -> [B, H, T, T]
/// \endcode
///
/// As in NumPy and PyTorch: 1-D operands are treated as a row (lhs) or column (rhs) vector and that dim
/// is dropped from the result; leading (batch) dims broadcast. float32 products run on oneDNN when it is
/// available (docs/architecture.md), float64 on attograd's reference kernel. All operands must share one
/// floating dtype: a float32 weight with a float64 input is a DTypeError, not a float64 product
/// (docs/conventions.md, "Dtypes"). Derivations: docs/derivations/matmul.md.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd {

/// C = A·B    A [.., M, K]  B [.., K, N]  C [.., M, N]
/// dA = dC·Bᵀ    dB = Aᵀ·dC    (summed over batch dims that were broadcast)
Tensor matmul(const Tensor& a, const Tensor& b);

/// A fully connected layer's product, with the bias fused into the matmul where the backend allows.
/// Y = X·Wᵀ + b    X [.., I]  W [O, I]  b [O] (optional)  Y [.., O]
/// dX = dY·W    dW = dYᵀ·X    db = dY    (dW and db summed over all leading dims)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

/// relu(linear(x, weight, bias)) as one op: the same values and gradients, bit for bit, with ReLU
/// applied in place on the product, so that the [.., O] tensor between the two (a feed-forward block's
/// widest) is never allocated, and one node instead of two.
/// Y = max(X·Wᵀ + b, 0)    dZ = dY where Y > 0, else 0    dX = dZ·W    dW = dZᵀ·X    db = dZ
Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

/// residual + linear(x, weight, bias) as one op: a transformer block's output projection or second
/// feed-forward layer joining its residual stream. The same values as the composite, bit for bit (the
/// bias, then the residual, added to the product), with the residual added by the product's kernel on
/// oneDNN rather than in a pass of its own. residual has the output's shape exactly (no broadcasting)
/// and x's dtype.
/// Y = R + X·Wᵀ + b    R, Y [.., O]    dR = dY    dX = dY·W    dW = dYᵀ·X    db = dY
Tensor linear_add(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& residual);

}  // namespace attograd
