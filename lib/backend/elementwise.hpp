// Internal: elementwise kernels. Each walks the output's shape and reads its inputs through broadcast
// strides, so one kernel serves contiguous tensors, views and broadcasting alike. The inner loop gets
// unit strides in the common case, which the compiler vectorises. Large outputs are split over the
// threads (backend/threads.hpp): f must not depend on the order elements are computed in.
//
//   Tensor out = empty(a.shape(), a.dtype());
//   backend::map<float, float>(a, out, [](float x) { return std::exp(x); });
#pragma once

#include <cstdint>
#include <type_traits>

#include "attograd/core/tensor.hpp"
#include "backend/threads.hpp"
#include "core/strided.hpp"

namespace attograd::backend {

// out = f(a), a broadcast to out's shape.
template <class Out, class A, class F>
void map(const Tensor& a, Tensor& out, F f) {
  const A* pa = a.data<A>();
  Out* po = out.data<Out>();
  const Strides sa = broadcast_strides(a.shape(), a.strides(), out.shape());
  parallel_for_each_element_run<2>(out.shape(), {out.strides(), sa}, [&](auto off, std::int64_t n, auto step) {
    Out* o = po + off[0];
    const A* x = pa + off[1];
    if (step[0] == 1 && step[1] == 1) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i * step[0]] = f(x[i * step[1]]);
    }
  });
}

// out = f(a, b), a and b broadcast to out's shape.
template <class Out, class A, class B, class F>
void map2(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  Out* po = out.data<Out>();
  const Strides sa = broadcast_strides(a.shape(), a.strides(), out.shape());
  const Strides sb = broadcast_strides(b.shape(), b.strides(), out.shape());
  parallel_for_each_element_run<3>(out.shape(), {out.strides(), sa, sb}, [&](auto off, std::int64_t n, auto step) {
    Out* o = po + off[0];
    const A* x = pa + off[1];
    const B* y = pb + off[2];
    if (step[0] == 1 && step[1] == 1 && step[2] == 1) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (step[0] == 1 && step[1] == 1 && step[2] == 0) {
      const B yv = *y;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (step[0] == 1 && step[1] == 0 && step[2] == 1) {
      const A xv = *x;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i * step[0]] = f(x[i * step[1]], y[i * step[2]]);
    }
  });
}

// out = f(a, b, c), all broadcast to out's shape.
template <class Out, class A, class B, class C, class F>
void map3(const Tensor& a, const Tensor& b, const Tensor& c, Tensor& out, F f) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  const C* pc = c.data<C>();
  Out* po = out.data<Out>();
  const Strides sa = broadcast_strides(a.shape(), a.strides(), out.shape());
  const Strides sb = broadcast_strides(b.shape(), b.strides(), out.shape());
  const Strides sc = broadcast_strides(c.shape(), c.strides(), out.shape());
  parallel_for_each_element_run<4>(out.shape(), {out.strides(), sa, sb, sc}, [&](auto off, std::int64_t n, auto step) {
    Out* o = po + off[0];
    const A* x = pa + off[1];
    const B* y = pb + off[2];
    const C* z = pc + off[3];
    if (step[0] == 1 && step[1] == 1 && step[2] == 1 && step[3] == 1) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], z[i]);
    } else if (step[0] == 1 && step[1] == 1 && step[2] == 0 && step[3] == 1) {  // masked_fill's where
      const B yv = *y;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv, z[i]);
    } else if (step[0] == 1 && step[1] == 1 && step[2] == 1 && step[3] == 0) {  // where(c, x, 0)
      const C zv = *z;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], zv);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i * step[0]] = f(x[i * step[1]], y[i * step[2]], z[i * step[3]]);
    }
  });
}

// out = in, converting the element type. The caller makes sure every value fits (a float that no
// int64 can hold has no conversion: backend::copy_into refuses it before writing anything).
template <class Out, class In>
void copy_convert(const Tensor& in, Tensor& out) {
  map<Out, In>(in, out, [](In x) { return static_cast<Out>(x); });
}

}  // namespace attograd::backend
