// Forward values of exp, log, sqrt, abs, sin, cos, tanh, sigmoid, relu, gelu and clamp that a gradient check
// cannot see, worked out by hand or with mpmath at 40 digits, in float32 and float64; the extremes
// (sigmoid at +-50, tails of gelu, NaN); dtypes and errors.
#include "support/test.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace attograd {
// Lets BOOST_TEST print a dtype when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& os, DType t) { return os << name(t); }
}  // namespace attograd

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor values(const std::vector<double>& v, DType dtype) {
  return tensor(v, Shape{static_cast<std::int64_t>(v.size())}, {.dtype = dtype});
}

// float32 keeps about 7 significant digits; our float64 results should be within a few ulps.
double tolerance(DType dtype) { return dtype == kFloat32 ? 3e-7 : 1e-15; }

// A relative comparison that also works for values far below 1 (check_values is absolute there).
void check_relative(double actual, double expected, double rel) {
  BOOST_TEST(std::abs(actual - expected) <= rel * std::abs(expected),
             fmt::format("{:.17g} vs expected {:.17g} (relative tolerance {})", actual, expected, rel));
}

const DType kFloatTypes[] = {kFloat32, kFloat64};

}  // namespace

BOOST_AUTO_TEST_SUITE(unary_values)

BOOST_AUTO_TEST_CASE(exp_log_sqrt_abs_tanh_by_hand) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const double tol = tolerance(dtype);
      check_values(exp(values({-1.0, 0.0, 1.0, 2.0}, dtype)), {0.36787944117144233, 1.0, 2.718281828459045, 7.38905609893065}, tol);
      check_values(log(values({0.5, 1.0, 2.0, 10.0}, dtype)), {-0.6931471805599453, 0.0, 0.6931471805599453, 2.302585092994046}, tol);
      check_values(sqrt(values({0.0, 0.25, 2.0, 9.0}, dtype)), {0.0, 0.5, 1.4142135623730951, 3.0}, tol);
      check_values(abs(values({-2.5, -0.0, 0.0, 3.0}, dtype)), {2.5, 0.0, 0.0, 3.0}, 0.0);
      check_values(tanh(values({-2.0, -0.5, 0.0, 0.5, 2.0}, dtype)),
                   {-0.9640275800758169, -0.46211715726000974, 0.0, 0.46211715726000974, 0.9640275800758169}, tol);
      // Outside the domain and at the edges: IEEE results, no exception.
      check_values(log(values({0.0, -1.0, INFINITY}, dtype)), {-INFINITY, NAN, INFINITY}, 0.0);
      check_values(sqrt(values({-1.0, INFINITY}, dtype)), {NAN, INFINITY}, 0.0);
      check_values(exp(values({-INFINITY, 1000.0}, dtype)), {0.0, INFINITY}, 0.0);
      check_values(tanh(values({-1000.0, 1000.0}, dtype)), {-1.0, 1.0}, 0.0);
      for (const Tensor& y : {exp(values({1.0}, dtype)), log(values({1.0}, dtype)), sqrt(values({1.0}, dtype)),
                              abs(values({1.0}, dtype)), tanh(values({1.0}, dtype))}) {
        BOOST_TEST(y.dtype() == dtype);
      }
    }
  }
}

// sin and cos at angles whose values are known exactly: 0, pi/6, pi/2, pi, and -pi/3.
BOOST_AUTO_TEST_CASE(sin_and_cos_at_known_angles) {
  const double pi = 3.141592653589793;
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const double tol = tolerance(dtype);
      const Tensor x = values({0.0, pi / 6, pi / 2, pi, -pi / 3}, dtype);
      check_values(sin(x), {0.0, 0.5, 1.0, 0.0, -0.8660254037844386}, tol);
      check_values(cos(x), {1.0, 0.8660254037844386, 0.0, -1.0, 0.5}, tol);
      check_values(sin(values({INFINITY, NAN}, dtype)), {NAN, NAN}, 0.0);  // IEEE, no exception
      BOOST_TEST(sin(x).dtype() == dtype);
      BOOST_TEST(cos(x).dtype() == dtype);
    }
  }
  // The gradients by hand: d sin/dx = cos x, d cos/dx = -sin x, at pi/3.
  Tensor a = tensor({pi / 3}, {.dtype = kFloat64, .requires_grad = true});
  (sin(a) + cos(a) * 2.0).sum().backward();
  check_values(a.grad(), {0.5 - 2 * 0.8660254037844386}, 1e-15);
}

BOOST_AUTO_TEST_CASE(sigmoid_by_hand_and_finite_at_the_extremes) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const Tensor y = sigmoid(values({-2.0, -1.0, 0.0, 1.0, 2.0}, dtype));
      BOOST_TEST(y.dtype() == dtype);
      check_values(y, {0.11920292202211755, 0.2689414213699951, 0.5, 0.7310585786300049, 0.8807970779778823},
                   tolerance(dtype));
      BOOST_TEST(y.to_vector()[2] == 0.5);  // exactly
      // sigmoid(50) rounds to 1; sigmoid(-50) = e^-50 / (1 + e^-50) = 1.9287498479639178e-22 (mpmath), a
      // tiny positive number, not 0 and not NaN. Far out, 0 and 1 exactly.
      const std::vector<double> ext = sigmoid(values({-1000.0, -50.0, 50.0, 1000.0}, dtype)).to_vector();
      BOOST_TEST(ext[0] == 0.0);
      check_relative(ext[1], 1.928749847963917783e-22, dtype == kFloat32 ? 1e-6 : 1e-14);
      BOOST_TEST(ext[2] == 1.0);
      BOOST_TEST(ext[3] == 1.0);
      // The gradient there is tiny or 0, never NaN.
      Tensor x = values({-1000.0, -50.0, 50.0, 1000.0}, dtype).requires_grad_();
      sigmoid(x).sum().backward();
      const std::vector<double> g = x.grad().to_vector();
      BOOST_TEST(g[0] == 0.0);
      check_relative(g[1], 1.928749847963917783e-22, dtype == kFloat32 ? 1e-6 : 1e-14);
      BOOST_TEST(g[3] == 0.0);
      for (double v : g) BOOST_TEST(std::isfinite(v));
    }
  }
}

BOOST_AUTO_TEST_CASE(gelu_exact_by_hand) {
  // gelu(x) = x Phi(x); Phi(1) = 0.8413447460685429, so gelu(1) = 0.8413447460685429 (mpmath).
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const Tensor y = gelu(values({-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0}, dtype));
      BOOST_TEST(y.dtype() == dtype);
      check_values(y,
                   {-0.00404969409489028358, -0.15865525393145707, -0.15426876936299344, 0.0, 0.34573123063700656,
                    0.8413447460685429, 1.9544997361036416, 2.99595030590511},
                   tolerance(dtype));
      BOOST_TEST(gelu(values({1.0}, dtype)).item() == 0.8413447460685429, boost::test_tools::tolerance(tolerance(dtype)));
      BOOST_TEST(gelu(values({1000.0}, dtype)).item() == 1000.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(gelu_exact_keeps_its_precision_in_the_negative_tail) {
  // x Phi(x) for x << 0 is a product of two moderate numbers; computing Phi as (1 + erf(x / sqrt 2)) / 2
  // subtracts two numbers near 1 and loses every digit by x = -10. References: mpmath, 40 digits.
  const std::vector<double> x = {-5.0, -10.0, -20.0};
  const std::vector<double> expected = {-1.4332578593959695584e-6, -7.619853024160526066e-23, -5.507248237212467e-88};
  const std::vector<double> y = gelu(values(x, kFloat64)).to_vector();
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT(fmt::format("gelu({})", x[i])) { check_relative(y[i], expected[i], 1e-12); }
  }
  // The gradient Phi(x) + x phi(x) too: at -10 it is -7.6184000964648140857e-22.
  Tensor t = values({-10.0}, kFloat64).requires_grad_();
  gelu(t).sum().backward();
  check_relative(t.grad().item(), -7.6184000964648140857e-22, 1e-12);
  // float32 cannot hold 1e-88: it rounds to -0, which is fine.
  BOOST_TEST(gelu(values({-20.0}, kFloat32)).item() == 0.0);
}

BOOST_AUTO_TEST_CASE(gelu_tanh_approximation_by_hand) {
  // gelu(x) ~ x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). At 1: u = 0.7978845608 * 1.044715 =
  // 0.8335614, tanh u = 0.6823840, so 0.8411920 (to 15 digits by hand in Python: 0.8411919906082768).
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const Tensor y = gelu(values({-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0}, dtype), GeluApproximation::Tanh);
      BOOST_TEST(y.dtype() == dtype);
      check_values(y,
                   {-0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0.0, 0.34571400982514394,
                    0.8411919906082768, 1.954597694087775, 2.996362607918227},
                   tolerance(dtype));
      // The approximation differs from the exact value by about 1.5e-4 at 1.
      const double diff = gelu(values({1.0}, dtype)).item() - gelu(values({1.0}, dtype), GeluApproximation::Tanh).item();
      BOOST_TEST(std::abs(diff - (0.8413447460685429 - 0.8411919906082768)) <= (dtype == kFloat32 ? 2e-7 : 1e-15));
    }
  }
}

BOOST_AUTO_TEST_CASE(relu_by_hand_and_nan_passes_through) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      check_values(relu(values({-2.0, -0.0, 0.0, 0.5, 3.0, -INFINITY, INFINITY}, dtype)),
                   {0.0, 0.0, 0.0, 0.5, 3.0, 0.0, INFINITY}, 0.0);
      // A NaN must not be hidden as 0: relu(NaN) = NaN, as in PyTorch, so a diverging run shows.
      BOOST_TEST(std::isnan(relu(values({NAN}, dtype)).item()));
      // The other ops propagate NaN too.
      for (const Tensor& y : {exp(values({NAN}, dtype)), abs(values({NAN}, dtype)), tanh(values({NAN}, dtype)),
                              sigmoid(values({NAN}, dtype)), gelu(values({NAN}, dtype)),
                              gelu(values({NAN}, dtype), GeluApproximation::Tanh), clamp(values({NAN}, dtype), -1.0, 1.0)}) {
        BOOST_TEST(std::isnan(y.item()));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(clamp_with_both_one_or_no_bounds) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const Tensor x = values({-2.0, -0.5, 0.0, 0.5, 2.0}, dtype);
      check_values(clamp(x, -1.0, 1.0), {-1.0, -0.5, 0.0, 0.5, 1.0}, 0.0);
      check_values(clamp(x, -0.25, std::nullopt), {-0.25, -0.25, 0.0, 0.5, 2.0}, 0.0);
      check_values(clamp(x, std::nullopt, 0.25), {-2.0, -0.5, 0.0, 0.25, 0.25}, 0.0);
      check_values(clamp(x, std::nullopt, std::nullopt), {-2.0, -0.5, 0.0, 0.5, 2.0}, 0.0);
      check_values(clamp(x, 0.0, 0.0), {0.0, 0.0, 0.0, 0.0, 0.0}, 0.0);
      check_values(clamp(x, -INFINITY, INFINITY), {-2.0, -0.5, 0.0, 0.5, 2.0}, 0.0);
      // lo > hi: min(max(x, lo), hi) is hi everywhere, as in PyTorch.
      check_values(clamp(x, 1.0, -1.0), {-1.0, -1.0, -1.0, -1.0, -1.0}, 0.0);
      BOOST_TEST(clamp(x, -1.0, 1.0).dtype() == dtype);
      // A bound is rounded to the tensor's dtype: clamping float32 at 0.1 gives float32's 0.1.
      if (dtype == kFloat32) BOOST_TEST(clamp(x, 0.1, std::nullopt).to_vector()[0] == static_cast<double>(0.1f));
    }
  }
}

BOOST_AUTO_TEST_CASE(clamp_with_a_nan_bound_is_a_value_error_naming_the_bounds) {
  const Tensor x = ones({2});
  BOOST_CHECK_EXCEPTION(clamp(x, NAN, 1.0), ValueError,
                        has_message("clamp: bounds must not be NaN, got lo nan and hi 1"));
  BOOST_CHECK_EXCEPTION(clamp(x, -1.5, NAN), ValueError,
                        has_message("clamp: bounds must not be NaN, got lo -1.5 and hi nan"));
  // An absent bound is reported as absent, not as 0.
  BOOST_CHECK_EXCEPTION(clamp(x, std::nullopt, NAN), ValueError,
                        has_message("clamp: bounds must not be NaN, got lo none and hi nan"));
  BOOST_CHECK_EXCEPTION(clamp(x, NAN, std::nullopt), ValueError,
                        has_message("clamp: bounds must not be NaN, got lo nan and hi none"));
  // Even on a tensor with no elements, the bounds are checked.
  BOOST_CHECK_EXCEPTION(clamp(zeros({0}), NAN, NAN), ValueError, has_message("got lo nan and hi nan"));
}

BOOST_AUTO_TEST_CASE(integer_and_bool_inputs_are_dtype_errors_naming_the_op_and_dtype) {
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> ops = {
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"log", [](const Tensor& x) { return log(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }},
      {"abs", [](const Tensor& x) { return abs(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sin", [](const Tensor& x) { return sin(x); }},
      {"cos", [](const Tensor& x) { return cos(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x, GeluApproximation::Tanh); }},
      {"clamp", [](const Tensor& x) { return clamp(x, 0.0, 1.0); }},
  };
  const Tensor i = tensor_of<std::int64_t>({1, 2}, {2});
  const Tensor b = tensor_of<bool>({true, false}, {2});
  for (const auto& [name, f] : ops) {
    BOOST_CHECK_EXCEPTION(f(i), DTypeError,
                          has_message(fmt::format("{}: expected a floating-point tensor, got int64; convert with .to(kFloat32)", name)));
    BOOST_CHECK_EXCEPTION(f(b), DTypeError, has_message(fmt::format("{}: expected a floating-point tensor, got bool", name)));
    BOOST_CHECK_EXCEPTION(f(Tensor()), ValueError, has_message(fmt::format("{}: input is an undefined tensor", name)));
  }
  // The advice in the message works.
  check_values(exp(i.to(kFloat32)), {2.718281828459045, 7.38905609893065}, 3e-7);
}

BOOST_AUTO_TEST_CASE(float32_gradients_stay_float32) {
  Tensor x = tensor({0.5, 2.0}, {.dtype = kFloat32, .requires_grad = true});
  (exp(x) + log(x) + sqrt(x) + abs(x) + tanh(x) + sigmoid(x) + relu(x) + gelu(x) + clamp(x, 0.0, 1.0)).sum().backward();
  BOOST_TEST(x.grad().dtype() == kFloat32);
  // By hand at 0.5: e^0.5 + 2 + 1/(2 sqrt 0.5) + 1 + (1 - tanh^2) + s(1 - s) + 1 + gelu'(0.5) + 1
  const double t = std::tanh(0.5);
  const double s = 1.0 / (1.0 + std::exp(-0.5));
  const double gelu_slope = 0.5 * std::erfc(-0.5 / std::sqrt(2.0)) + 0.5 * std::exp(-0.125) / std::sqrt(2.0 * M_PI);
  const double at_half = std::exp(0.5) + 2.0 + 0.5 / std::sqrt(0.5) + 1.0 + (1.0 - t * t) + s * (1.0 - s) + 1.0 + gelu_slope + 1.0;
  BOOST_TEST(x.grad().to_vector()[0] == at_half, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_SUITE_END()
