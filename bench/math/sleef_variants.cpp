// Compiled with -mavx2 -mfma (bench/CMakeLists.txt): sleef.h declares its 256-bit functions only
// for such a target. The program calls the AVX builds only after checking the CPU has them.
#include "math/sleef_variants.hpp"

#include <immintrin.h>
#include <sleef.h>

namespace bench::math {

namespace {

// n need not be a multiple of the width: the tail goes through a zero-padded vector.
template <class F>
inline void apply4(F f, const float* x, float* y, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, f(_mm_loadu_ps(x + i)));
  if (i < n) {
    alignas(16) float in[4] = {}, out[4];
    for (std::int64_t j = i; j < n; ++j) in[j - i] = x[j];
    _mm_store_ps(out, f(_mm_load_ps(in)));
    for (std::int64_t j = i; j < n; ++j) y[j] = out[j - i];
  }
}

template <class F>
inline void apply8(F f, const float* x, float* y, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float in[8] = {}, out[8];
    for (std::int64_t j = i; j < n; ++j) in[j - i] = x[j];
    _mm256_store_ps(out, f(_mm256_load_ps(in)));
    for (std::int64_t j = i; j < n; ++j) y[j] = out[j - i];
  }
}

}  // namespace

std::vector<SleefVariant> sleef_variants() {
  return {
      {"exp", "Sleef_expf8_u10avx2", true, true, true, [](const float* x, float* y, std::int64_t n) { apply8(Sleef_expf8_u10avx2, x, y, n); }},
      {"exp", "Sleef_expf8_u10avx", false, true, true, [](const float* x, float* y, std::int64_t n) { apply8(Sleef_expf8_u10avx, x, y, n); }},
      {"exp", "Sleef_expf4_u10avx2128", true, true, true, [](const float* x, float* y, std::int64_t n) { apply4(Sleef_expf4_u10avx2128, x, y, n); }},
      {"exp", "Sleef_expf4_u10sse4", false, false, true, [](const float* x, float* y, std::int64_t n) { apply4(Sleef_expf4_u10sse4, x, y, n); }},
      {"exp", "Sleef_expf4_u10sse2", false, false, false, [](const float* x, float* y, std::int64_t n) { apply4(Sleef_expf4_u10sse2, x, y, n); }},
      {"tanh", "Sleef_tanhf8_u10avx2", true, true, true, [](const float* x, float* y, std::int64_t n) { apply8(Sleef_tanhf8_u10avx2, x, y, n); }},
      {"tanh", "Sleef_tanhf8_u10avx", false, true, true, [](const float* x, float* y, std::int64_t n) { apply8(Sleef_tanhf8_u10avx, x, y, n); }},
      {"tanh", "Sleef_tanhf4_u10avx2128", true, true, true, [](const float* x, float* y, std::int64_t n) { apply4(Sleef_tanhf4_u10avx2128, x, y, n); }},
      {"tanh", "Sleef_tanhf4_u10sse4", false, false, true, [](const float* x, float* y, std::int64_t n) { apply4(Sleef_tanhf4_u10sse4, x, y, n); }},
      {"tanh", "Sleef_tanhf4_u10sse2", false, false, false, [](const float* x, float* y, std::int64_t n) { apply4(Sleef_tanhf4_u10sse2, x, y, n); }},
      {"tanh", "Sleef_tanhf8_u35avx2", true, true, true, [](const float* x, float* y, std::int64_t n) { apply8(Sleef_tanhf8_u35avx2, x, y, n); }},
  };
}

}  // namespace bench::math
