// Internal: calls a generic lambda with a value of the C++ type behind a runtime dtype.
//
//   dispatch_float("exp", x.dtype(), [&](auto tag) {
//     using T = decltype(tag);   // float or double
//     ...
//   });
#pragma once

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "attograd/core/dtype.hpp"
#include "attograd/core/errors.hpp"

namespace attograd {

[[noreturn]] inline void throw_unsupported_dtype(std::string_view op, DType t, std::string_view wanted) {
  throw DTypeError(fmt::format("{}: expected {} tensor, got {}", op, wanted, t));
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

}  // namespace attograd
