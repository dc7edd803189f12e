// Internal: float32 exp and tanh over arrays, in loops the compiler vectorises. libm's expf and tanhf
// are calls a loop cannot vectorise: softmax spent about 12 ns per element in them, and tanh was 18%
// of the tiny workload. These are Cephes' algorithms (range reduction, a polynomial, selects), in
// float32 arithmetic, within 1 ulp of the correctly rounded value on every one of the 2^32 float32
// inputs (at most 0.99 ulp from the true e^x, 1.33 from tanh x: `./dev bench math`, which also says why
// SLEEF's are not used, docs/performance.md; tests/backend/test_fast_math.cpp checks a dense sample).
// Float64 keeps libm.
//
//   backend::exp_f32(x, y, n);    // y[i] = e^x[i]     (y may be x)
//   backend::tanh_f32(x, y, n);   // y[i] = tanh x[i]
#pragma once

#include <cstdint>

// Compiles a function three times, for AVX-512, AVX2 and the baseline x86-64, the loader picking the
// widest the CPU has (fast_math.cpp says why the bits stay the same on every clone).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ATTOGRAD_WIDEST_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ATTOGRAD_WIDEST_SIMD
#endif

namespace attograd::backend {

// e^x: subnormal down to -103.9, 0 below and at -inf, +inf above 88.7, NaN for NaN.
void exp_f32(const float* x, float* y, std::int64_t n);
// tanh x: +-1 at +-inf, NaN for NaN.
void tanh_f32(const float* x, float* y, std::int64_t n);

}  // namespace attograd::backend
