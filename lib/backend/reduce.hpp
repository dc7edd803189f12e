// Internal: reduction kernels (sums, arg-max/min, softmax) on plain buffers. No graph.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// out = x summed over the dims where out has size 1 and x does not. out has x's rank, is contiguous,
// and has x's dtype (float32, float64 or int64). Floating sums accumulate in double.
void sum_into(const Tensor& x, Tensor& out);

// Along dim: values (x's dtype) and indices (int64) of the largest (is_max) or smallest element, the
// first one on ties, a NaN beating any number. Both outputs have x's shape with dim set to 1; values
// may be undefined when only indices are wanted.
void arg_reduce(const Tensor& x, int dim, bool is_max, Tensor* values, Tensor& indices);

// out = softmax (or log_softmax) of x along dim; out contiguous with x's shape and dtype.
void softmax(const Tensor& x, int dim, bool log, Tensor& out);

}  // namespace attograd::backend
