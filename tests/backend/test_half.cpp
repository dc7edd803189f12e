// The 16-bit float conversions of lib/backend/half.hpp: widening is exact for all 65,536 patterns of
// each format, and narrowing rounds to nearest, ties to even, with infinity past the largest value.
#include "support/test.hpp"

#include <bit>
#include <cmath>
#include <limits>

#include "backend/half.hpp"

using namespace attograd::backend;

namespace {
bool is_nan16(std::uint16_t bits) { return (bits & 0x7C00u) == 0x7C00u && (bits & 0x03FFu) != 0; }
}  // namespace

BOOST_AUTO_TEST_CASE(every_float16_widens_exactly_and_comes_back_the_same) {
  int differ = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float x = float16_to_float(bits);
    if (is_nan16(bits) ? !std::isnan(x) : float_to_float16(x) != bits) ++differ;
  }
  BOOST_TEST(differ == 0);
  BOOST_TEST(float16_to_float(0x3C00) == 1.0f);
  BOOST_TEST(float16_to_float(0x7BFF) == 65504.0f);             // the largest
  BOOST_TEST(float16_to_float(0x0001) == 0x1p-24f);             // the smallest subnormal
  BOOST_TEST(float16_to_float(0xC000) == -2.0f);
  BOOST_TEST(std::isinf(float16_to_float(0x7C00)));
}

BOOST_AUTO_TEST_CASE(float16_narrowing_rounds_to_nearest_even) {
  BOOST_TEST(float_to_float16(1.0f + 0x1p-11f) == 0x3C00);       // a tie: to the even 1
  BOOST_TEST(float_to_float16(1.0f + 3 * 0x1p-11f) == 0x3C02);   // a tie: to the even 1 + 2^-9
  BOOST_TEST(float_to_float16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3C01);
  BOOST_TEST(float_to_float16(65519.0f) == 0x7BFF);              // below the midpoint to 65536
  BOOST_TEST(float_to_float16(65520.0f) == 0x7C00);              // past it: infinity, as PyTorch's .half()
  BOOST_TEST(float_to_float16(-1e10f) == 0xFC00);
  BOOST_TEST(float_to_float16(0x1p-25f) == 0x0000);              // half the smallest subnormal: a tie to 0
  BOOST_TEST(float_to_float16(0x1.8p-25f) == 0x0001);
  BOOST_TEST(float_to_float16(-0.0f) == 0x8000);
  BOOST_TEST(is_nan16(float_to_float16(std::numeric_limits<float>::quiet_NaN())));
}

BOOST_AUTO_TEST_CASE(every_bfloat16_widens_exactly_and_comes_back_the_same) {
  int differ = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float x = bfloat16_to_float(bits);
    const bool nan = (bits & 0x7F80u) == 0x7F80u && (bits & 0x007Fu) != 0;
    // A NaN comes back a quiet NaN of the same sign.
    if (nan ? float_to_bfloat16(x) != (bits | 0x0040u) : float_to_bfloat16(x) != bits) ++differ;
  }
  BOOST_TEST(differ == 0);
  BOOST_TEST(bfloat16_to_float(0x3F80) == 1.0f);
}

BOOST_AUTO_TEST_CASE(bfloat16_narrowing_rounds_to_nearest_even) {
  BOOST_TEST(float_to_bfloat16(1.0f + 0x1p-8f) == 0x3F80);        // a tie: to the even 1
  BOOST_TEST(float_to_bfloat16(1.0f + 3 * 0x1p-8f) == 0x3F82);
  BOOST_TEST(float_to_bfloat16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3F81);
  BOOST_TEST(float_to_bfloat16(std::numeric_limits<float>::max()) == 0x7F80);  // infinity
  // A NaN whose payload sits in the low bits only stays a NaN, where truncation would give infinity.
  const float low_nan = std::bit_cast<float>(0x7F800001u);
  BOOST_TEST(std::isnan(bfloat16_to_float(float_to_bfloat16(low_nan))));
  BOOST_TEST(float_to_bfloat16(-low_nan) == 0xFFC0);
}
