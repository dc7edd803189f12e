// Internal: the forward half shared by the pointwise ops: check dtypes, broadcast, allocate, run one
// kernel. Each op's own file then states its derivative next to the call.
#pragma once

#include <string_view>

#include <fmt/format.h>

#include "attograd/autograd/node.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/elementwise.hpp"
#include "core/dispatch.hpp"

namespace attograd::pointwise {

using attograd::require_defined;  // core/tensor.hpp

inline void require_floating(std::string_view op, const Tensor& x) {
  require_defined(op, x);
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("{}: expected a floating-point tensor, got {}; convert with .to(kFloat32)", op,
                                 x.dtype()));
  }
}

// The dtype of a binary op on a and b: PyTorch's promotion (bool < int64 < float32 < float64).
inline DType result_dtype(const Tensor& a, const Tensor& b) { return promote(a.dtype(), b.dtype()); }

// y = f(x) for floating x, same shape and dtype. f is generic over float/double.
template <class F>
Tensor unary(std::string_view op, const Tensor& x, F f) {
  require_floating(op, x);
  Tensor y = empty(x.shape(), x.dtype());
  dispatch_float(op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    backend::map<T, T>(x, y, [&](T v) { return static_cast<T>(f(v)); });
  });
  return y;
}

// c = f(a, b) with broadcasting; a and b already have the result dtype. numeric: float32/64 and int64.
template <class F>
Tensor binary(std::string_view op, const Tensor& a, const Tensor& b, F f) {
  const Shape shape = broadcast_shapes(op, a.shape(), b.shape());
  Tensor c = empty(shape, a.dtype());
  dispatch_numeric(op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    backend::map2<T, T, T>(a, b, c, [&](T x, T y) { return static_cast<T>(f(x, y)); });
  });
  return c;
}

// y = f(x, s) for a scalar s, in x's dtype.
template <class F>
Tensor with_scalar(std::string_view op, const Tensor& x, double s, F f) {
  Tensor y = empty(x.shape(), x.dtype());
  dispatch_numeric(op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T sv = static_cast<T>(s);
    backend::map<T, T>(x, y, [&](T v) { return static_cast<T>(f(v, sv)); });
  });
  return y;
}

// ReLU's backward, dY where Y > 0, else 0, in one pass over dY and Y (dY has Y's shape and dtype:
// the engine checks). NaN in Y gives 0. Written into dY's own memory when the engine offers it
// (Grads::take_output_grad; dY, the engine's reference, is then empty: `in` holds the values).
inline Tensor relu_mask(std::string_view op, const Tensor& dY, const Tensor& Y, autograd::Grads& d) {
  const Tensor in = d.output_grad_offered() ? d.take_output_grad() : dY;
  Tensor out = in.is_same(dY) ? empty(dY.shape(), dY.dtype()) : in;
  dispatch_float(op, in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    backend::map2<T, T, T>(in, Y, out, [](T g, T v) { return v > 0 ? g : T(0); });
  });
  return out;
}

}  // namespace attograd::pointwise
