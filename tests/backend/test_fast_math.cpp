// The vectorised float32 exp and tanh (lib/backend/fast_math.cpp) against libm in double precision,
// rounded to float: at most 1 ulp apart on a dense sample of each range, exact at the special values,
// and what softmax and tanh compute with them.
#include "support/test.hpp"

#include <bit>
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/fast_math.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Distance in units in the last place between two finite floats of the same sign (or zeros).
std::int64_t ulps(float a, float b) {
  auto key = [](float f) {
    const auto i = std::bit_cast<std::int32_t>(f);
    return i < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - i : std::int64_t{i};
  };
  return std::llabs(key(a) - key(b));
}

// About 2^20 floats from lo to hi, evenly spaced in their bit patterns (so every binade is sampled
// as densely), plus lo and hi.
std::vector<float> sample(float lo, float hi) {
  auto key = [](float f) {
    const auto i = std::bit_cast<std::int32_t>(f);
    return i < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - i : std::int64_t{i};
  };
  auto from_key = [](std::int64_t k) {
    const auto i = static_cast<std::int32_t>(k < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - k : k);
    return std::bit_cast<float>(i);
  };
  std::vector<float> v{lo, hi};
  const std::int64_t a = key(lo), b = key(hi);
  const std::int64_t step = std::max<std::int64_t>(1, (b - a) >> 20);
  for (std::int64_t k = a; k < b; k += step) v.push_back(from_key(k));
  return v;
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

BOOST_AUTO_TEST_SUITE(fast_math)

BOOST_AUTO_TEST_CASE(exp_is_within_one_ulp_of_libm_double) {
  const std::vector<float> x = sample(-103.0f, 88.7f);
  std::vector<float> y(x.size());
  backend::exp_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  std::int64_t worst = 0;
  float at = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto ref = static_cast<float>(std::exp(static_cast<double>(x[i])));
    const std::int64_t u = ulps(y[i], ref);
    if (u > worst) {
      worst = u;
      at = x[i];
    }
  }
  BOOST_TEST(worst <= 1, "worst " << worst << " ulp at x = " << at);
}

BOOST_AUTO_TEST_CASE(exp_special_values) {
  const std::vector<float> x{0.0f, -0.0f, 1.0f, -kInf, kInf, -200.0f, 100.0f, kNaN, -104.5f};
  std::vector<float> y(x.size());
  backend::exp_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  BOOST_TEST(y[0] == 1.0f);
  BOOST_TEST(y[1] == 1.0f);
  BOOST_TEST(y[2] == static_cast<float>(std::exp(1.0)));
  BOOST_TEST(y[3] == 0.0f);
  BOOST_TEST(y[4] == kInf);
  BOOST_TEST(y[5] == 0.0f);
  BOOST_TEST(y[6] == kInf);
  BOOST_TEST(std::isnan(y[7]));
  BOOST_TEST(y[8] == 0.0f);
}

BOOST_AUTO_TEST_CASE(tanh_is_within_one_ulp_of_libm_double) {
  for (auto [lo, hi] : {std::pair{-12.0f, -1e-3f}, std::pair{1e-3f, 12.0f}, std::pair{-1e-3f, 1e-3f}}) {
    const std::vector<float> x = sample(lo, hi);
    std::vector<float> y(x.size());
    backend::tanh_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
    std::int64_t worst = 0;
    float at = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto ref = static_cast<float>(std::tanh(static_cast<double>(x[i])));
      const std::int64_t u = ulps(y[i], ref);
      if (u > worst) {
        worst = u;
        at = x[i];
      }
    }
    BOOST_TEST(worst <= 1, "worst " << worst << " ulp at x = " << at);
  }
}

BOOST_AUTO_TEST_CASE(tanh_special_values) {
  const std::vector<float> x{0.0f, kInf, -kInf, 50.0f, -50.0f, kNaN, 1e-20f};
  std::vector<float> y(x.size());
  backend::tanh_f32(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  BOOST_TEST(y[0] == 0.0f);
  BOOST_TEST(y[1] == 1.0f);
  BOOST_TEST(y[2] == -1.0f);
  BOOST_TEST(y[3] == 1.0f);
  BOOST_TEST(y[4] == -1.0f);
  BOOST_TEST(std::isnan(y[5]));
  BOOST_TEST(y[6] == 1e-20f);
}

BOOST_AUTO_TEST_CASE(the_float32_ops_that_use_them_agree_with_float64) {
  Generator gen(2);
  const Tensor x = randn({7, 33}, gen, {.dtype = kFloat64}) * 4.0;
  check_close(tanh(x.to(kFloat32)), tanh(x), 2e-7);
  check_close(softmax(x.to(kFloat32), -1), softmax(x, -1), 1e-6);
  // tanh's one-pass backward: dX = dY (1 - Y^2).
  Tensor xf = x.to(kFloat32).requires_grad_();
  tanh(xf).sum().backward();
  const Tensor t = tanh(x);
  check_close(xf.grad(), 1.0 - t * t, 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
