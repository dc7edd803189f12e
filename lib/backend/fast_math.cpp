// The selects below (clamps, special cases) are comparisons, which may raise floating-point flags;
// GCC then keeps them as branches and does not vectorise the loops. Nothing in attograd reads those
// flags, so this file tells GCC to ignore them (it changes no result). The pragma comes before the
// includes: GCC does not inline a function compiled with other options (std::bit_cast) into these.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "backend/fast_math.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

namespace attograd::backend {

namespace {

// x = n ln2 + r with |r| <= ln2 / 2: p = e^r from a degree-6 polynomial (Cephes' expf), and n. V is
// float or a vector of floats (the same operations on each lane).
template <class V>
[[gnu::always_inline]] inline void exp_of_remainder(const V& x, V& n, V& p) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
  n = (x * 1.44269504088896341f + kShift) - kShift;
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const V r2 = r * r;
  p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
}

[[gnu::always_inline]] inline float fast_exp(float x) {
  // e^x = 2^n e^r
  const float xc = x < -103.972f ? -103.972f : (x > 88.72283f ? 88.72283f : x);
  float n, p;
  exp_of_remainder(xc, n, p);
  // 2^n by building floats' exponent bits, as 2^(n/2) 2^(n - n/2) so that each factor is a normal
  // float over the whole range (n from -150 to 128).
  const std::int32_t ni = static_cast<std::int32_t>(n);
  const std::int32_t n1 = ni >> 1;
  float y = p * std::bit_cast<float>((n1 + 127) << 23) * std::bit_cast<float>((ni - n1 + 127) << 23);
  y = x < -103.972f ? 0.0f : y;
  y = x > 88.72283f ? __builtin_inff() : y;
  return x != x ? x : y;
}

// fast_exp for x in [-87, 88], where n is in [-126, 127]: 2^n is then one normal float and no select
// applies, so the same float operations give the same bits with a third fewer instructions (checked on
// every float in that range against fast_exp; tests/backend/test_fast_math.cpp checks a dense sample).
// p * 2^n1 * 2^(n - n1) rounds once, at the last product, as p * 2^n does.
[[gnu::always_inline]] inline float exp_in_range(float x) {
  float n, p;
  exp_of_remainder(x, n, p);
  return p * std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
}

using Floats8 = float __attribute__((vector_size(32)));
using Ints8 = std::int32_t __attribute__((vector_size(32)));

// exp_in_range on the eight floats at x into y (which may be x), written with vector types so that the
// loop below needs no aliasing checks: the same operations, lane by lane.
[[gnu::always_inline]] inline void exp_in_range8(const float* in, float* out) {
  Floats8 x, n, p;
  std::memcpy(&x, in, sizeof x);
  exp_of_remainder(x, n, p);
  const Ints8 bits = (__builtin_convertvector(n, Ints8) + 127) << 23;
  Floats8 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  p *= scale;
  std::memcpy(out, &p, sizeof p);
}

// tanh(x): an odd polynomial near 0, where 1 - 2 / (e^2x + 1) would cancel, and that formula elsewhere.
[[gnu::always_inline]] inline float fast_tanh(float x) {
  const float a = x < 0 ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  // tanh rounds to 1 in float32 beyond 9.02; e^[0, 19] is in exp_in_range's range (a NaN's e is unused)
  const float e = exp_in_range(2.0f * (a > 9.5f ? 9.5f : a));
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0 ? -big : big;
  const float y = a < 0.625f ? small : big;
  return x != x ? x : y;
}

}  // namespace

// Each loop is compiled three times, for AVX-512, AVX2 and the baseline x86-64 (SSE2) the library is
// built for, and the loader picks the widest the CPU has (the functions above are forced inline: a
// call out of the AVX-512 loop into baseline code made tanh slower than the baseline, not faster).
// Results are the same bits on each clone and at each position in the array (vector body or scalar
// tail) because the library is built with -ffp-contract=off (lib/CMakeLists.txt): without it g++
// fuses a multiply and an add into one FMA, rounded once, wherever the target has FMA: the AVX-512
// clone held 69, fusing other pairs in its 16-lane body than in its scalar tail, and the AVX2 and
// baseline clones none, so an element's bits depended on where a thread's range began and on the CPU.
// (ATTOGRAD_WIDEST_SIMD is in fast_math.hpp: other kernels use it too.)
// exp takes blocks of 32 whose inputs all lie in [-87, 88] (softmax's shifted scores nearly always do)
// through exp_in_range: 1.4-1.5x faster on this AVX2 machine, the same bits. The test is an integer or
// over the block (a float min or max would not vectorise: NaN and -0 forbid reordering it).
ATTOGRAD_WIDEST_SIMD void exp_f32(const float* x, float* y, std::int64_t n) {
  constexpr std::int64_t kBlock = 32;
  std::int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const float* xb = x + i;
    float* yb = y + i;
    std::int32_t outside = 0;  // NaN fails both comparisons
    for (std::int64_t j = 0; j < kBlock; ++j) outside |= static_cast<std::int32_t>(!((xb[j] >= -87.0f) & (xb[j] <= 88.0f)));
    if (outside == 0) {
      for (std::int64_t j = 0; j < kBlock; j += 8) exp_in_range8(xb + j, yb + j);
    } else {
      for (std::int64_t j = 0; j < kBlock; ++j) yb[j] = fast_exp(xb[j]);
    }
  }
  for (; i < n; ++i) y[i] = fast_exp(x[i]);
}

ATTOGRAD_WIDEST_SIMD void tanh_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = fast_tanh(x[i]);
}

}  // namespace attograd::backend
