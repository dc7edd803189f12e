// Internal: float32 to and from the two 16-bit float formats files use, as bit patterns.
//
//   F16 (IEEE 754 binary16): 1 sign, 5 exponent, 10 fraction bits; largest 65504, subnormals below
//   2^-14. BF16 (bfloat16): float32's upper 16 bits, so float32's range with 8 significant bits.
//
// Every F16 and BF16 value is a float32 value, so widening is exact. Narrowing rounds to nearest, ties
// to even; values past the format's largest become infinity and NaN stays NaN (with its sign), as
// PyTorch's .half() and .bfloat16() do. F16 goes through the compiler's _Float16 (GCC and Clang on
// x86-64 and AArch64), whose conversions are IEEE's; BF16 needs only bit operations.
#pragma once

#include <bit>
#include <cstdint>

namespace attograd::backend {

static_assert(sizeof(_Float16) == 2, "_Float16 must be IEEE binary16");

inline float float16_to_float(std::uint16_t bits) { return static_cast<float>(std::bit_cast<_Float16>(bits)); }

inline std::uint16_t float_to_float16(float x) { return std::bit_cast<std::uint16_t>(static_cast<_Float16>(x)); }

inline float bfloat16_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

inline std::uint16_t float_to_bfloat16(float x) {
  const auto bits = std::bit_cast<std::uint32_t>(x);
  // NaN: keep it a NaN (quiet, same sign); rounding its payload could carry into the exponent.
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  const std::uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);  // ties to the even upper half
  return static_cast<std::uint16_t>(rounded >> 16);
}

}  // namespace attograd::backend
