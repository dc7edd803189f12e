// The dtypes of add, sub, mul, div, neg and pow: promotion between tensors (bool < int64 < float32 <
// float64), integer tensors meeting scalars, and gradients that come back in each input's own dtype.
#include "support/test.hpp"

#include <cmath>
#include <cstdint>
#include <ostream>
#include <vector>

#include <fmt/format.h>

namespace attograd {
// Lets BOOST_TEST print a dtype when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& os, DType t) { return os << name(t); }
}  // namespace attograd

using namespace attograd;
using namespace attograd::testing;

namespace {

Tensor ints(const std::vector<std::int64_t>& v) { return tensor_of<std::int64_t>(v, {static_cast<std::int64_t>(v.size())}); }
Tensor bools(const std::vector<bool>& v) { return tensor_of<bool>(v, {static_cast<std::int64_t>(v.size())}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(arithmetic_dtypes)

BOOST_AUTO_TEST_CASE(float32_with_float64_promotes_to_float64_for_every_op) {
  const Tensor a = tensor({1.5, -2.0}, {.dtype = kFloat32});
  const Tensor b = tensor({0.5, 4.0}, {.dtype = kFloat64});
  for (const Tensor& y : {a + b, b + a, a - b, b - a, a * b, b * a, a / b, b / a}) BOOST_TEST(y.dtype() == kFloat64);
  check_values(a + b, {2.0, 2.0}, 0.0);
  check_values(b - a, {-1.0, 6.0}, 0.0);
  check_values(a * b, {0.75, -8.0}, 0.0);
  check_values(a / b, {3.0, -0.5}, 0.0);
  // float32's 0.1 is not float64's 0.1: the sum is computed from the float32 value, widened exactly.
  const Tensor tenth = tensor({0.1}, {.dtype = kFloat32});
  const Tensor zero = tensor({0.0}, {.dtype = kFloat64});
  BOOST_TEST((tenth + zero).item() == static_cast<double>(0.1f));
}

BOOST_AUTO_TEST_CASE(gradients_come_back_in_each_inputs_own_dtype) {
  // y = sum(a op b) with a float32 [2] and b float64 [2]. By hand, at a = (1.5, -2), b = (0.5, 4):
  //   add: da = 1, db = 1          sub: da = 1, db = -1
  //   mul: da = b, db = a          div: da = 1/b = (2, 0.25), db = -a/b^2 = (-6, 0.125)
  struct Case {
    const char* op;
    Tensor (*f)(const Tensor&, const Tensor&);
    std::vector<double> da, db;
  };
  const Case cases[] = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, {1, 1}, {1, 1}},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, {1, 1}, {-1, -1}},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, {0.5, 4}, {1.5, -2}},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, {2, 0.25}, {-6, 0.125}},
  };
  for (const Case& c : cases) {
    for (bool float32_first : {true, false}) {
      BOOST_TEST_CONTEXT(fmt::format("{}, float32 operand {}", c.op, float32_first ? "first" : "second")) {
        Tensor a = tensor({1.5, -2.0}, {.dtype = kFloat32, .requires_grad = true});
        Tensor b = tensor({0.5, 4.0}, {.dtype = kFloat64, .requires_grad = true});
        // Swapping the roles: a float64 lhs and a float32 rhs.
        if (!float32_first) {
          a = tensor({1.5, -2.0}, {.dtype = kFloat64, .requires_grad = true});
          b = tensor({0.5, 4.0}, {.dtype = kFloat32, .requires_grad = true});
        }
        c.f(a, b).sum().backward();
        BOOST_TEST(a.grad().dtype() == a.dtype());
        BOOST_TEST(b.grad().dtype() == b.dtype());
        check_values(a.grad(), c.da, 0.0);
        check_values(b.grad(), c.db, 0.0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(float32_input_broadcast_against_float64_gets_a_float32_gradient_of_its_shape) {
  Tensor bias = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat32, .requires_grad = true});
  Tensor x = ones({2, 3}, {.dtype = kFloat64, .requires_grad = true});
  (x * bias).sum().backward();
  BOOST_TEST(bias.grad().dtype() == kFloat32);
  BOOST_TEST(bias.grad().shape() == Shape{3});
  check_values(bias.grad(), {2, 2, 2}, 0.0);
  BOOST_TEST(x.grad().dtype() == kFloat64);
  check_values(x.grad(), {1, 2, 3, 1, 2, 3}, 0.0);
}

BOOST_AUTO_TEST_CASE(int64_with_int64_stays_int64_and_exact) {
  // 2^53 + 1 is not a double: a detour through floating point would lose the 1.
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  const Tensor a = ints({big, 7, -3});
  const Tensor b = ints({1, 2, 5});
  for (const Tensor& y : {a + b, a - b, a * b, -a}) BOOST_TEST(y.dtype() == kInt64);
  BOOST_TEST(((a + b).to_vector<std::int64_t>() == std::vector<std::int64_t>{big + 1, 9, 2}));
  BOOST_TEST(((a - b).to_vector<std::int64_t>() == std::vector<std::int64_t>{big - 1, 5, -8}));
  BOOST_TEST(((a * b).to_vector<std::int64_t>() == std::vector<std::int64_t>{big, 14, -15}));
  BOOST_TEST(((-a).to_vector<std::int64_t>() == std::vector<std::int64_t>{-big, -7, 3}));
  // Integral scalars keep int64 too.
  BOOST_TEST((a + 1.0).dtype() == kInt64);
  BOOST_TEST(((a + 1.0).to_vector<std::int64_t>() == std::vector<std::int64_t>{big + 1, 8, -2}));
  BOOST_TEST(((10.0 - a).to_vector<std::int64_t>() == std::vector<std::int64_t>{10 - big, 3, 13}));
  BOOST_TEST(((a * 3.0).to_vector<std::int64_t>() == std::vector<std::int64_t>{3 * big, 21, -9}));
  BOOST_TEST(((a - 2.0).to_vector<std::int64_t>() == std::vector<std::int64_t>{big - 2, 5, -5}));
}

BOOST_AUTO_TEST_CASE(int64_with_a_fractional_scalar_gives_float32) {
  const Tensor a = ints({3, -1, 0});
  for (const Tensor& y : {a * 0.5, 0.5 * a, mul(a, 0.5)}) {
    BOOST_TEST(y.dtype() == kFloat32);
    check_values(y, {1.5, -0.5, 0.0}, 0.0);
  }
  for (const Tensor& y : {a + 0.25, 0.25 + a}) {
    BOOST_TEST(y.dtype() == kFloat32);
    check_values(y, {3.25, -0.75, 0.25}, 0.0);
  }
  BOOST_TEST((a - 0.5).dtype() == kFloat32);
  check_values(a - 0.5, {2.5, -1.5, -0.5}, 0.0);
  BOOST_TEST((0.5 - a).dtype() == kFloat32);
  check_values(0.5 - a, {-2.5, 1.5, 0.5}, 0.0);
  // Infinities and NaN are not integers either.
  BOOST_TEST((a + INFINITY).dtype() == kFloat32);
  check_values(a + INFINITY, {INFINITY, INFINITY, INFINITY}, 0.0);
  BOOST_TEST(std::isnan((a * NAN).to_vector()[0]));
}

BOOST_AUTO_TEST_CASE(int64_with_an_integral_scalar_outside_int64_gives_float32) {
  // 1e20 is a whole number but no int64 holds it: converting it to int64 would be undefined behaviour.
  const Tensor a = ints({1, -2});
  for (const Tensor& y : {a + 1e20, a - 1e20, 1e20 - a, a * 1e20, a * -1e19}) {
    BOOST_TEST(y.dtype() == kFloat32);
  }
  check_values(a + 1e20, {1e20, 1e20}, 1e-7);
  check_values(a * 1e20, {1e20, -2e20}, 1e-7);
  check_values(a * -1e19, {-1e19, 2e19}, 1e-7);
  // 2^63 itself is one past the largest int64; -2^63 is the smallest int64 and fits.
  BOOST_TEST((a + 9223372036854775808.0).dtype() == kFloat32);
  BOOST_TEST((ints({0}) + -9223372036854775808.0).dtype() == kInt64);
  BOOST_TEST((ints({0}) + -9223372036854775808.0).item<std::int64_t>() == INT64_MIN);
}

BOOST_AUTO_TEST_CASE(division_of_integers_gives_float32) {
  const Tensor a = ints({7, -3, 0});
  const Tensor b = ints({2, 4, 5});
  for (const Tensor& y : {a / b, div(a, b)}) {
    BOOST_TEST(y.dtype() == kFloat32);
    check_values(y, {3.5, -0.75, 0.0}, 0.0);
  }
  for (const Tensor& y : {a / 2.0, div(a, 2.0)}) {
    BOOST_TEST(y.dtype() == kFloat32);
    check_values(y, {3.5, -1.5, 0.0}, 0.0);
  }
  for (const Tensor& y : {6.0 / b, div(6.0, b)}) {
    BOOST_TEST(y.dtype() == kFloat32);
    check_values(y, {3.0, 1.5, 1.2}, 1e-7);
  }
  // int64 / float64 follows the float.
  BOOST_TEST((a / tensor({2.0}, {.dtype = kFloat64})).dtype() == kFloat64);
  // Dividing by an integer 0 is IEEE division after the conversion, not an integer trap.
  const std::vector<double> q = (ints({1, -1, 0}) / ints({0, 0, 0})).to_vector();
  BOOST_TEST(q[0] == INFINITY);
  BOOST_TEST(q[1] == -INFINITY);
  BOOST_TEST(std::isnan(q[2]));
}

BOOST_AUTO_TEST_CASE(int64_with_floats_takes_the_float_dtype) {
  const Tensor i = ints({3, -2});
  const Tensor f32 = tensor({0.5, 0.5}, {.dtype = kFloat32});
  const Tensor f64 = tensor({0.5, 0.5}, {.dtype = kFloat64});
  for (const Tensor& y : {i + f32, f32 + i, i * f32, i - f32, i / f32}) BOOST_TEST(y.dtype() == kFloat32);
  for (const Tensor& y : {i + f64, f64 * i, i - f64, i / f64}) BOOST_TEST(y.dtype() == kFloat64);
  check_values(i + f32, {3.5, -1.5}, 0.0);
  check_values(f64 * i, {1.5, -1.0}, 0.0);
  // The float side still gets its gradient, in its own dtype; the int64 side never requires grad.
  Tensor w = tensor({0.5, 0.5}, {.dtype = kFloat32, .requires_grad = true});
  (i * w).sum().backward();
  BOOST_TEST(w.grad().dtype() == kFloat32);
  check_values(w.grad(), {3.0, -2.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(bool_arithmetic_counts_true_as_one) {
  const Tensor p = bools({true, true, false, false});
  const Tensor q = bools({true, false, true, false});
  for (const Tensor& y : {p + q, p - q, p * q, -p, p + 1.0, 2.0 * p}) BOOST_TEST(y.dtype() == kInt64);
  BOOST_TEST(((p + q).to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 1, 1, 0}));
  BOOST_TEST(((p - q).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, -1, 0}));
  BOOST_TEST(((p * q).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 0, 0}));
  BOOST_TEST(((-p).to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, -1, 0, 0}));
  BOOST_TEST(((p + 1.0).to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 1, 1}));
  BOOST_TEST(((3.0 - p).to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 3, 3}));
  // With int64 it is int64, with a float it is that float; division and fractions give float32.
  BOOST_TEST(((p + ints({10, 10, 10, 10})).to_vector<std::int64_t>() == std::vector<std::int64_t>{11, 11, 10, 10}));
  const Tensor x = tensor({1.5, 1.5, 1.5, 1.5}, {.dtype = kFloat64});
  BOOST_TEST((p * x).dtype() == kFloat64);
  check_values(p * x, {1.5, 1.5, 0.0, 0.0}, 0.0);
  BOOST_TEST((p * 0.5).dtype() == kFloat32);
  check_values(p * 0.5, {0.5, 0.5, 0.0, 0.0}, 0.0);
  BOOST_TEST((p / 2.0).dtype() == kFloat32);
  check_values(p / bools({true, true, true, true}), {1.0, 1.0, 0.0, 0.0}, 0.0);
  // A bool mask times a float tensor that requires grad: the gradient is the mask, in float.
  Tensor w = tensor({2.0, 2.0, 2.0, 2.0}, {.requires_grad = true});
  (w * p).sum().backward();
  BOOST_TEST(w.grad().dtype() == kFloat32);
  check_values(w.grad(), {1.0, 1.0, 0.0, 0.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(float32_scalar_ops_stay_float32_and_round_the_scalar_once) {
  const Tensor x = tensor({3.0}, {.dtype = kFloat32});
  for (const Tensor& y : {x + 0.1, 0.1 + x, x - 0.1, 0.1 - x, x * 0.1, 0.1 * x, x / 0.1, 0.1 / x}) {
    BOOST_TEST(y.dtype() == kFloat32);
  }
  // The scalar becomes float32 first, then float32 arithmetic: 3f * 0.1f, not 3 * 0.1 rounded.
  BOOST_TEST((x * 0.1).item() == static_cast<double>(3.0f * 0.1f));
  BOOST_TEST((x + 0.1).item() == static_cast<double>(3.0f + 0.1f));
  // Gradients of scalar ops stay float32.
  Tensor w = tensor({3.0}, {.dtype = kFloat32, .requires_grad = true});
  (0.5 / w + w * 2.0 - 1.0).sum().backward();
  BOOST_TEST(w.grad().dtype() == kFloat32);
  check_values(w.grad(), {2.0 - 0.5 / 9.0}, 1e-7);
}

BOOST_AUTO_TEST_CASE(pow_of_an_integer_tensor_is_a_dtype_error_naming_the_op) {
  BOOST_CHECK_EXCEPTION(pow(ints({1, 2}), 2.0), DTypeError,
                        has_message("pow: expected a floating-point tensor, got int64"));
  BOOST_CHECK_EXCEPTION(pow(bools({true}), 0.5), DTypeError,
                        has_message("pow: expected a floating-point tensor, got bool"));
  check_values(pow(ints({1, 2}).to(kFloat32), 2.0), {1.0, 4.0}, 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
