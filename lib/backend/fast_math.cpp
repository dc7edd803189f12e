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

namespace attograd::backend {

namespace {

[[gnu::always_inline]] inline float fast_exp(float x) {
  // x = n ln2 + r with |r| <= ln2 / 2; e^x = 2^n e^r, e^r from a degree-6 polynomial (Cephes' expf).
  const float xc = x < -103.972f ? -103.972f : (x > 88.72283f ? 88.72283f : x);
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
  const float n = (xc * 1.44269504088896341f + kShift) - kShift;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  // 2^n by building floats' exponent bits, as 2^(n/2) 2^(n - n/2) so that each factor is a normal
  // float over the whole range (n from -150 to 128).
  const std::int32_t ni = static_cast<std::int32_t>(n);
  const std::int32_t n1 = ni >> 1;
  float y = p * std::bit_cast<float>((n1 + 127) << 23) * std::bit_cast<float>((ni - n1 + 127) << 23);
  y = x < -103.972f ? 0.0f : y;
  y = x > 88.72283f ? __builtin_inff() : y;
  return x != x ? x : y;
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
  const float e = fast_exp(2.0f * (a > 9.5f ? 9.5f : a));  // tanh rounds to 1 in float32 beyond 9.02
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
ATTOGRAD_WIDEST_SIMD void exp_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = fast_exp(x[i]);
}

ATTOGRAD_WIDEST_SIMD void tanh_f32(const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = fast_tanh(x[i]);
}

}  // namespace attograd::backend
