#include "backend/basic.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "backend/elementwise.hpp"
#include "core/dispatch.hpp"
#include "core/wrapping.hpp"

namespace attograd::backend {

namespace {

// Converting a float that int64 cannot hold (inf, NaN, beyond +-2^63) is undefined behaviour in C++:
// such values are refused before any element is written.
template <class In>
void check_fits_int64(const Tensor& src) {
  const In* p = src.data<In>();
  for_each_run<1>(src.shape(), {src.strides()}, [&](auto off, std::int64_t n, auto step) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(p[off[0] + i * step[0]]);
      if (!(v >= -0x1p63 && v < 0x1p63)) {
        throw ValueError(fmt::format("conversion to int64: {} does not fit in int64 (NaN, infinite, or beyond 2^63)", v));
      }
    }
  });
}

// An int64 tensor cannot take a fractional scale: casting it to int64 would silently round 0.5 to 0.
template <class T>
void check_whole(std::string_view op, std::string_view what, double value) {
  if (std::is_integral_v<T> && value != std::trunc(value)) {
    throw ValueError(fmt::format("{}: {} {} is not a whole number, and the tensor is int64", op, what, value));
  }
}
}  // namespace

Tensor copy(const Tensor& in, DType dtype) {
  Tensor out = empty(in.shape(), dtype);
  copy_into(out, in);
  return out;
}

void copy_into(Tensor& dst, const Tensor& src) {
  dispatch_all(dst.dtype(), [&](auto out_tag) {
    using Out = decltype(out_tag);
    dispatch_all(src.dtype(), [&](auto in_tag) {
      using In = decltype(in_tag);
      if constexpr (std::is_same_v<Out, std::int64_t> && std::is_floating_point_v<In>) check_fits_int64<In>(src);
      copy_convert<Out, In>(src, dst);
    });
  });
}

void fill(Tensor& dst, double value) {
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    // Writes only: dst is often fresh storage, whose bytes must not be read (for bool, a byte other
    // than 0 or 1 is not even a value).
    T* p = dst.data<T>();
    for_each_run<1>(dst.shape(), {dst.strides()}, [&](auto off, std::int64_t n, auto step) {
      if (step[0] == 1) {
        std::fill(p + off[0], p + off[0] + n, v);
      } else {
        for (std::int64_t i = 0; i < n; ++i) p[off[0] + i * step[0]] = v;
      }
    });
  });
}

void add_into(Tensor& dst, const Tensor& src, double alpha) {
  dispatch_numeric("add_", dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    check_whole<T>("add_", "alpha", alpha);
    if (alpha == 1.0) {
      map2<T, T, T>(dst, src, dst, [](T x, T y) { return wrapping::add(x, y); });
    } else {
      const T a = static_cast<T>(alpha);
      map2<T, T, T>(dst, src, dst, [a](T x, T y) { return wrapping::add(x, wrapping::mul(a, y)); });
    }
  });
}

void scale_into(Tensor& dst, double factor) {
  dispatch_numeric("mul_", dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    check_whole<T>("mul_", "factor", factor);
    const T f = static_cast<T>(factor);
    map<T, T>(dst, dst, [f](T x) { return wrapping::mul(x, f); });
  });
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = empty(a.shape(), a.dtype());
  dispatch_numeric("add", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<T, T, T>(a, b, out, [](T x, T y) { return wrapping::add(x, y); });
  });
  return out;
}

}  // namespace attograd::backend
