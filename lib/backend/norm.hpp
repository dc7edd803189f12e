// Internal: layer norm as one kernel forward and one backward, on contiguous rows of n values. The
// op (lib/ops/norm.cpp) states the maths; its composite of mean, sub, mul, sqrt and div is the oracle.
//
//   backend::layer_norm_forward(x, w, b, 1e-5, y, mean, rstd);     // x, y [rows, n]; mean, rstd [rows]
//   backend::layer_norm_backward(dy, x, mean, rstd, w, &dx, &dw, &db);
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// y = (x - mean) * rstd * w + b row by row, with mean and rstd = 1 / sqrt(var + eps) written out for
// backward. x contiguous; w and b contiguous with n elements, or undefined (1 and 0). One dtype.
void layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd);

// With xhat = (x - mean) * rstd and g = dy * w (dy without w):
//   dx = rstd * (g - mean_row(g) - xhat * mean_row(g * xhat))
//   dw = sum over rows of dy * xhat      db = sum over rows of dy
// Each output is written only when its pointer is non-null (fresh tensors of the right shape).
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                         Tensor* dx, Tensor* dw, Tensor* db);

}  // namespace attograd::backend
