// SLEEF's float32 exp and tanh, each of its x86 builds wrapped as one array function, so that
// fast_math_vs_sleef.cpp can hold them beside attograd's (lib/backend/fast_math.cpp). The builds are
// separate functions in libsleef, not a runtime choice: Sleef_expf8_u10 picks one for the CPU it runs
// on, and a program calling it gets whichever this list's row matches that CPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench::math {

using ArrayFn = void (*)(const float* x, float* y, std::int64_t n);

struct SleefVariant {
  std::string function;  // "exp" or "tanh"
  std::string name;      // SLEEF's name of the build, e.g. "Sleef_expf8_u10avx2"
  bool needs_avx2 = false;
  bool needs_avx = false;
  bool needs_sse4 = false;
  ArrayFn fn = nullptr;
};

// Every x86 build of SLEEF's 1.0-ulp exp and tanh, and the 3.5-ulp tanh, that runs on a CPU with
// AVX2 (its AVX-512 builds are listed in the report as not measured when the CPU lacks AVX-512F).
std::vector<SleefVariant> sleef_variants();

}  // namespace bench::math
