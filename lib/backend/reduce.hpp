// Internal: reduction kernels (sums, arg-max/min, softmax) on plain buffers. No graph.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// out = x summed over the dims where out has size 1 and x does not. out has x's rank, is contiguous,
// and has x's dtype (float32, float64 or int64). Floating sums accumulate in double.
void sum_into(const Tensor& x, Tensor& out);

// ReLU's backward and a bias's gradient in one pass, for Y = relu(X·Wᵀ + b) seen as [rows, N]:
//   dZ = dY where Y > 0, else 0        db = dZ summed over the rows
// dY, Y and dZ contiguous [rows, N] of one floating dtype (dZ may be dY itself), db contiguous [N].
// db's bits are sum_into's: each column's terms added in row order in double, then rounded. Threads
// split the columns, so the order does not depend on their number.
void relu_mask_and_column_sums(const Tensor& dY, const Tensor& Y, Tensor& dZ, Tensor& db);

// Along dim: values (x's dtype) and indices (int64) of the largest (is_max) or smallest element, the
// first one on ties, a NaN beating any number. Both outputs have x's shape with dim set to 1; values
// may be undefined when only indices are wanted.
void arg_reduce(const Tensor& x, int dim, bool is_max, Tensor* values, Tensor& indices);

// out = softmax (or log_softmax) of x along dim; out contiguous with x's shape and dtype.
void softmax(const Tensor& x, int dim, bool log, Tensor& out);

// The log-softmax of one contiguous row p[0..n) into q (not p), with softmax(x, dim, true)'s bits:
// q[r] = (p[r] - max) - log_total, the two returned. A row whose max is +-inf (an infinite logit, or
// all -inf) follows softmax's rules for it instead; its log_total is then NaN. cross_entropy keeps the
// pair to rebuild q in its backward.
template <class T>
struct RowShift {
  T max, log_total;
};
template <class T>
RowShift<T> log_softmax_row(const T* p, T* q, std::int64_t n);

// out = softmax along the last dim of scale * x, with -inf wherever mask (bool, broadcast to x's
// shape; undefined for none) is true: attention's scores in one pass instead of three. The values are
// those of softmax(masked_fill(x * scale, mask, -inf), -1), computed in the same order.
void scaled_masked_softmax(const Tensor& x, const Tensor& mask, double scale, Tensor& out);

// dx = scale * y * (dy - sum_dim(dy * y)): softmax's backward from its output y, in one pass per row
// (the sum accumulates in double, as sum() does). dx contiguous with y's shape and dtype.
void softmax_backward(const Tensor& y, const Tensor& dy, int dim, double scale, Tensor& dx);

}  // namespace attograd::backend
