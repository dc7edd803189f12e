// Internal: untemplated kernels that several layers need (the engine's gradient accumulation, copies,
// fills). No graph is recorded: these work on values only.
#pragma once

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// A new contiguous tensor with in's values converted to dtype.
Tensor copy(const Tensor& in, DType dtype);
// dst = src, src broadcast to dst's shape and converted to dst's dtype. dst may be a strided view.
void copy_into(Tensor& dst, const Tensor& src);
// Every element of dst = value.
void fill(Tensor& dst, double value);
// dst += alpha * src, src broadcast to dst's shape (same dtype, numeric; alpha whole for int64).
void add_into(Tensor& dst, const Tensor& src, double alpha = 1.0);
// dst *= factor (factor whole for int64).
void scale_into(Tensor& dst, double factor);
// a + b, same shape and dtype, a new contiguous tensor.
Tensor add(const Tensor& a, const Tensor& b);

}  // namespace attograd::backend
