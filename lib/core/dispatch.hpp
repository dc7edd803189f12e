// Internal: calls a generic lambda with a value of the C++ type behind a runtime dtype.
//
//   dispatch_float("exp", x.dtype(), [&](auto tag) {
//     using T = decltype(tag);   // float or double
//     ...
//   });
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "attograd/core/dtype.hpp"
#include "attograd/core/errors.hpp"

namespace attograd {

[[noreturn]] inline void throw_unsupported_dtype(std::string_view op, DType t, std::string_view wanted) {
  // Most ops want floating point; the conversion that gets there is the fix worth naming.
  throw DTypeError(fmt::format("{}: expected {} tensor, got {}{}", op, wanted, t,
                               wanted.find("floating") != std::string_view::npos ? "; convert with .to(kFloat32)" : ""));
}

// float32 or float64.
template <class F>
decltype(auto) dispatch_float(std::string_view op, DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: throw_unsupported_dtype(op, t, "a floating-point (float32 or float64)");
  }
}

// float32, float64 or int64.
template <class F>
decltype(auto) dispatch_numeric(std::string_view op, DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(std::int64_t{});
    default: throw_unsupported_dtype(op, t, "a numeric (float32, float64 or int64)");
  }
}

// Any dtype.
template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(std::int64_t{});
    case DType::Bool: return f(bool{});
  }
  return f(float{});
}

// static_cast<T>(value), except that a floating value int64 cannot hold (NaN, infinite, beyond +-2^63)
// is refused with a ValueError naming the op: that cast is undefined behaviour in C++. The same for int
// (Tensor::item<int>()), which also refuses an int64 beyond its range rather than wrap it.
//   set: nan does not fit in int64
//   item: 4294967296 does not fit in int (beyond 2^31)
template <class T, class From>
T checked_cast(std::string_view op, From value) {
  if constexpr (std::is_same_v<T, std::int64_t> && std::is_floating_point_v<From>) {
    if (!(value >= From(-0x1p63) && value < From(0x1p63))) {
      throw ValueError(fmt::format("{}: {} does not fit in int64 (NaN, infinite, or beyond 2^63)", op, value));
    }
  } else if constexpr (std::is_same_v<T, int> && std::is_floating_point_v<From>) {
    static_assert(sizeof(int) == 4);
    if (!(value >= From(-0x1p31) && value < From(0x1p31))) {
      throw ValueError(fmt::format("{}: {} does not fit in int (NaN, infinite, or beyond 2^31)", op, value));
    }
  } else if constexpr (std::is_same_v<T, int> && std::is_same_v<From, std::int64_t>) {
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
      throw ValueError(fmt::format("{}: {} does not fit in int (beyond 2^31)", op, value));
    }
  }
  return static_cast<T>(value);
}

}  // namespace attograd
