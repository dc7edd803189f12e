/// \file
/// The element types a Tensor can hold.
///
/// \code
/// Tensor x = zeros({2, 3});                    // float32, the default
/// Tensor y = zeros({2, 3}, {.dtype = kFloat64}); // float64, what gradcheck needs
/// Tensor ids = tensor_of<int64_t>({1, 4}, {2}); // int64: token ids and class targets
/// Tensor m = x > 0.0;                          // bool: masks and comparisons
/// fmt::print("{}", y.dtype());                 // float64
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

namespace attograd {

/// The element types a tensor can hold.
enum class DType : std::uint8_t { Float32, Float64, Int64, Bool };

inline constexpr DType kFloat32 = DType::Float32;  ///< 32-bit float, the default
inline constexpr DType kFloat64 = DType::Float64;  ///< 64-bit float (gradcheck needs it)
inline constexpr DType kInt64 = DType::Int64;  ///< 64-bit integer: token ids, class targets, indices
inline constexpr DType kBool = DType::Bool;  ///< one byte per element, 0 or 1: masks, comparison results

/// Bytes per element: 4, 8, 8 or 1.
constexpr std::size_t element_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}

/// float32 or float64
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

/// The dtype's name as printed: "float32", "float64", "int64", "bool".
constexpr std::string_view name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "?";
}

/// The constant that names a dtype in code, for messages that say how to convert: "kFloat64".
constexpr std::string_view constant_name(DType t) {
  switch (t) {
    case DType::Float32: return "kFloat32";
    case DType::Float64: return "kFloat64";
    case DType::Int64: return "kInt64";
    case DType::Bool: return "kBool";
  }
  return "?";
}

/// The dtype of a binary op's result, as PyTorch promotes: bool < int64 < float32 < float64.
/// float32 with float64 gives float64; an integer with a float gives that float.
constexpr DType promote(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::Bool: return 0;
      case DType::Int64: return 1;
      case DType::Float32: return 2;
      case DType::Float64: return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

/// The C++ type behind a dtype, and back.
template <class T> struct dtype_of;
/// float is Float32.
template <> struct dtype_of<float> {
  static constexpr DType value = DType::Float32;  ///< the dtype of float
};
/// double is Float64.
template <> struct dtype_of<double> {
  static constexpr DType value = DType::Float64;  ///< the dtype of double
};
/// std::int64_t is Int64.
template <> struct dtype_of<std::int64_t> {
  static constexpr DType value = DType::Int64;  ///< the dtype of std::int64_t
};
/// bool is Bool.
template <> struct dtype_of<bool> {
  static constexpr DType value = DType::Bool;  ///< the dtype of bool
};
/// the DType of C++ type T: dtype_of_v<float> is kFloat32
template <class T> inline constexpr DType dtype_of_v = dtype_of<T>::value;

}  // namespace attograd

/// \cond
// fmt's formatter, so that fmt::print("{}", x) works (hidden from the API reference: \cond).
template <>
struct fmt::formatter<attograd::DType> : fmt::formatter<std::string_view> {
  auto format(attograd::DType t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(attograd::name(t), ctx);
  }
};
/// \endcond
