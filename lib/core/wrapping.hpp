// Internal: int64 arithmetic that wraps around modulo 2^64 (two's complement), as PyTorch's does.
// A signed overflow is undefined behaviour in C++ (an optimiser may assume it never happens, and
// UndefinedBehaviorSanitizer stops at it), so integers are computed in their unsigned type, where
// wrapping is defined, and converted back (defined modulo 2^64 since C++20). For float and double
// these are the plain operators.
//
//   wrapping::add(INT64_MAX, std::int64_t{1})   // INT64_MIN
#pragma once

#include <type_traits>

namespace attograd::wrapping {

// The type the work is done in: unsigned for an integer, the type itself otherwise.
template <class T>
struct BitsOf { using type = T; };
template <class T>
  requires std::is_integral_v<T>
struct BitsOf<T> { using type = std::make_unsigned_t<T>; };
template <class T>
using Bits = typename BitsOf<T>::type;

template <class T>
constexpr T add(T x, T y) { return static_cast<T>(static_cast<Bits<T>>(x) + static_cast<Bits<T>>(y)); }

template <class T>
constexpr T sub(T x, T y) { return static_cast<T>(static_cast<Bits<T>>(x) - static_cast<Bits<T>>(y)); }

template <class T>
constexpr T mul(T x, T y) { return static_cast<T>(static_cast<Bits<T>>(x) * static_cast<Bits<T>>(y)); }

template <class T>
constexpr T neg(T x) { return sub(T{0}, x); }

}  // namespace attograd::wrapping
