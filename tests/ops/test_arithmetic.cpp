// add, sub, mul, div, neg, pow and the operators: gradients against finite differences on shapes of
// rank 0 to 3, size-1 dims and broadcasts, with a scalar on either side; forward values worked out by
// hand in float32 and float64. dtypes: test_arithmetic_dtypes.cpp; errors: test_arithmetic_errors.cpp;
// broadcast gradients, views, empty tensors: test_arithmetic_broadcast.cpp.
#include "support/test.hpp"

#include <cmath>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace attograd {
// Lets BOOST_TEST print a dtype when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& os, DType t) { return os << name(t); }
}  // namespace attograd

using namespace attograd;
using namespace attograd::testing;

namespace {

using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
using Unary = std::function<Tensor(const Tensor&)>;

struct BinaryCase {
  std::string name;
  Binary f;
  bool rhs_is_divisor = false;  // keep the rhs away from 0
};

// Every binary op, by name and through its operator.
const std::vector<BinaryCase> kBinaryOps = {
    {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
    {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
    {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
    {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, true},
    {"a + b", [](const Tensor& a, const Tensor& b) { return a + b; }},
    {"a - b", [](const Tensor& a, const Tensor& b) { return a - b; }},
    {"a * b", [](const Tensor& a, const Tensor& b) { return a * b; }},
    {"a / b", [](const Tensor& a, const Tensor& b) { return a / b; }, true},
};

// Same shapes of rank 0 to 3, size-1 dims, and broadcasts in every direction.
const std::vector<std::pair<Shape, Shape>> kShapePairs = {
    {{}, {}},           {{4}, {4}},           {{2, 3}, {2, 3}},     {{2, 3, 4}, {2, 3, 4}},
    {{1, 3}, {1, 3}},   {{2, 1, 3}, {2, 1, 3}}, {{2, 3}, {3}},       {{3}, {2, 3}},
    {{2, 1}, {1, 3}},   {{4, 1, 3}, {2, 1}},  {{2, 1}, {4, 1, 3}},  {{}, {2, 3}},
    {{2, 3}, {}},       {{1}, {2, 3}},        {{2, 3, 1}, {1, 4}},  {{1, 1}, {1}},
};

const std::vector<Shape> kShapes = {{}, {5}, {2, 3}, {2, 3, 4}, {1, 3, 1}};

// A float64 input: requires grad when `wanted`, else a constant. Divisors keep 0.5 away from 0.
Tensor input(const Shape& shape, Generator& gen, bool divisor, bool wanted) {
  Tensor t = divisor ? rand64_away_from_zero(shape, gen, 0.5) : rand64(shape, gen);
  return wanted ? t : t.detach();
}

Tensor values(const std::vector<double>& v, DType dtype) {
  return tensor(v, Shape{static_cast<std::int64_t>(v.size())}, {.dtype = dtype});
}

const DType kFloatTypes[] = {kFloat32, kFloat64};

}  // namespace

BOOST_AUTO_TEST_SUITE(arithmetic)

BOOST_AUTO_TEST_CASE(binary_ops_gradcheck_on_all_shapes_with_either_or_both_inputs_requiring_grad) {
  Generator gen(1);
  for (const BinaryCase& op : kBinaryOps) {
    for (const auto& [sa, sb] : kShapePairs) {
      for (const auto& [wants_a, wants_b] : {std::pair{true, true}, {true, false}, {false, true}}) {
        BOOST_TEST_CONTEXT(fmt::format("{}: a {} (grad {}), b {} (grad {})", op.name, sa, wants_a, sb, wants_b)) {
          const Tensor a = input(sa, gen, false, wants_a);
          const Tensor b = input(sb, gen, op.rhs_is_divisor, wants_b);
          check_gradients([&](const std::vector<Tensor>& in) { return op.f(in[0], in[1]); }, {a, b});
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_same_tensor_on_both_sides_gradchecks) {
  // a + a, a - a, a * a, a / a: both edges lead to one leaf, whose gradient is their sum.
  Generator gen(2);
  for (const BinaryCase& op : kBinaryOps) {
    BOOST_TEST_CONTEXT(op.name) {
      check_gradients([&](const std::vector<Tensor>& in) { return op.f(in[0], in[0]); },
                      {rand64_away_from_zero({2, 3}, gen, 0.5)});
    }
  }
}

BOOST_AUTO_TEST_CASE(scalar_on_either_side_gradchecks) {
  struct ScalarCase {
    std::string name;
    Unary f;
    bool input_is_divisor = false;
  };
  const std::vector<ScalarCase> cases = {
      {"add(x, 2.5)", [](const Tensor& x) { return add(x, 2.5); }},
      {"x + 2.5", [](const Tensor& x) { return x + 2.5; }},
      {"2.5 + x", [](const Tensor& x) { return 2.5 + x; }},
      {"sub(x, 2.5)", [](const Tensor& x) { return sub(x, 2.5); }},
      {"sub(2.5, x)", [](const Tensor& x) { return sub(2.5, x); }},
      {"x - 2.5", [](const Tensor& x) { return x - 2.5; }},
      {"2.5 - x", [](const Tensor& x) { return 2.5 - x; }},
      {"mul(x, -1.5)", [](const Tensor& x) { return mul(x, -1.5); }},
      {"mul(x, 0)", [](const Tensor& x) { return mul(x, 0.0); }},
      {"x * -1.5", [](const Tensor& x) { return x * -1.5; }},
      {"-1.5 * x", [](const Tensor& x) { return -1.5 * x; }},
      {"div(x, -1.5)", [](const Tensor& x) { return div(x, -1.5); }},
      {"x / 4", [](const Tensor& x) { return x / 4.0; }},
      {"div(2.5, x)", [](const Tensor& x) { return div(2.5, x); }, true},
      {"2.5 / x", [](const Tensor& x) { return 2.5 / x; }, true},
      {"neg(x)", [](const Tensor& x) { return neg(x); }},
      {"-x", [](const Tensor& x) { return -x; }},
  };
  Generator gen(3);
  for (const ScalarCase& c : cases) {
    for (const Shape& shape : kShapes) {
      BOOST_TEST_CONTEXT(fmt::format("{} on {}", c.name, shape)) {
        check_gradients([&](const std::vector<Tensor>& in) { return c.f(in[0]); },
                        {input(shape, gen, c.input_is_divisor, true)});
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(pow_gradchecks_for_each_kind_of_exponent) {
  // Integer exponents are smooth everywhere (except -1 at 0); fractional ones need x > 0.
  struct PowCase {
    double p;
    bool positive_only;
    bool away_from_zero;
  };
  const PowCase cases[] = {{0.0, false, false}, {1.0, false, false}, {2.0, false, false}, {3.0, false, false},
                           {0.5, true, true},   {-1.0, false, true}, {-0.5, true, true},  {1.5, true, true},
                           {-2.0, false, true}};
  Generator gen(4);
  for (const PowCase& c : cases) {
    for (const Shape& shape : kShapes) {
      BOOST_TEST_CONTEXT(fmt::format("pow(x, {}) on {}", c.p, shape)) {
        Tensor x = c.away_from_zero ? rand64_away_from_zero(shape, gen, 0.3) : rand64(shape, gen);
        if (c.positive_only) x = x.detach().abs().requires_grad_();
        check_gradients([&](const std::vector<Tensor>& in) { return pow(in[0], c.p); }, {x});
        check_gradients([&](const std::vector<Tensor>& in) { return in[0].pow(c.p); }, {x});
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(binary_forward_values_by_hand) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const Tensor a = values({1.0, -2.0, 3.5, 0.0}, dtype);
      const Tensor b = values({4.0, 0.5, -2.0, 8.0}, dtype);
      // All of these are exact in binary floating point: compare exactly.
      for (const Tensor& y : {add(a, b), a + b}) check_values(y, {5.0, -1.5, 1.5, 8.0}, 0.0);
      for (const Tensor& y : {sub(a, b), a - b}) check_values(y, {-3.0, -2.5, 5.5, -8.0}, 0.0);
      for (const Tensor& y : {mul(a, b), a * b}) check_values(y, {4.0, -1.0, -7.0, 0.0}, 0.0);
      for (const Tensor& y : {div(a, b), a / b}) check_values(y, {0.25, -4.0, -1.75, 0.0}, 0.0);
      for (const Tensor& y : {add(a, b), sub(a, b), mul(a, b), div(a, b)}) {
        BOOST_TEST(y.dtype() == dtype);
        BOOST_TEST(y.shape() == Shape{4});
      }
      // 1/3 is not exact: float32 rounds it.
      check_values(div(values({1.0}, dtype), values({3.0}, dtype)), {1.0 / 3.0}, dtype == kFloat32 ? 1e-7 : 1e-16);
    }
  }
}

BOOST_AUTO_TEST_CASE(scalar_forward_values_by_hand) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const Tensor a = values({1.0, -2.0, 3.5, 0.0}, dtype);
      for (const Tensor& y : {add(a, 2.5), a + 2.5, 2.5 + a}) check_values(y, {3.5, 0.5, 6.0, 2.5}, 0.0);
      for (const Tensor& y : {sub(a, 2.5), a - 2.5}) check_values(y, {-1.5, -4.5, 1.0, -2.5}, 0.0);
      for (const Tensor& y : {sub(2.5, a), 2.5 - a}) check_values(y, {1.5, 4.5, -1.0, 2.5}, 0.0);
      for (const Tensor& y : {mul(a, -2.0), a * -2.0, -2.0 * a}) check_values(y, {-2.0, 4.0, -7.0, 0.0}, 0.0);
      for (const Tensor& y : {div(a, 4.0), a / 4.0}) check_values(y, {0.25, -0.5, 0.875, 0.0}, 0.0);
      const Tensor b = values({4.0, 0.5, -2.0, 8.0}, dtype);
      for (const Tensor& y : {div(2.0, b), 2.0 / b}) check_values(y, {0.5, 4.0, -1.0, 0.25}, 0.0);
      for (const Tensor& y : {neg(a), -a}) check_values(y, {-1.0, 2.0, -3.5, 0.0}, 0.0);
      for (const Tensor& y : {add(a, 2.5), sub(2.5, a), mul(a, 3.0), div(a, 3.0), div(3.0, b), neg(a)}) {
        BOOST_TEST(y.dtype() == dtype);  // a scalar never changes a floating tensor's dtype
      }
      // Division by a scalar 0 follows IEEE: +-inf, and NaN for 0 / 0.
      const std::vector<double> by_zero = div(a, 0.0).to_vector();
      BOOST_TEST(by_zero[0] == INFINITY);
      BOOST_TEST(by_zero[1] == -INFINITY);
      BOOST_TEST(std::isnan(by_zero[3]));
    }
  }
}

BOOST_AUTO_TEST_CASE(broadcast_forward_values_by_hand) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      // [2, 3] with [3]: the row is added to every row.
      const Tensor m = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = dtype});
      const Tensor row = values({10.0, 20.0, 30.0}, dtype);
      check_values(m + row, {11, 22, 33, 14, 25, 36}, 0.0);
      check_values(row - m, {9, 18, 27, 6, 15, 24}, 0.0);
      // [2, 1] with [1, 3]: an outer product.
      const Tensor col = tensor(std::vector<double>{1.0, 2.0}, {2, 1}, {.dtype = dtype});
      const Tensor line = tensor({{1.0, 2.0, 4.0}}, {.dtype = dtype});
      const Tensor outer = col * line;
      BOOST_TEST(outer.shape() == (Shape{2, 3}));
      check_values(outer, {1, 2, 4, 2, 4, 8}, 0.0);
      check_values(col / line, {1, 0.5, 0.25, 2, 1, 0.5}, 0.0);
      // rank 0 with [2, 3].
      const Tensor five = scalar_tensor(5.0, {.dtype = dtype});
      check_values(five - m, {4, 3, 2, 1, 0, -1}, 0.0);
      BOOST_TEST((m * five).shape() == (Shape{2, 3}));
      // [4, 1, 3] with [2, 1] gives [4, 2, 3]: out[i][j][k] = a[i][0][k] + b[j][0].
      const Tensor a = arange(12.0, {.dtype = dtype}).reshape({4, 1, 3});
      const Tensor b = tensor(std::vector<double>{100.0, 200.0}, {2, 1}, {.dtype = dtype});
      const Tensor c = a + b;
      BOOST_TEST_REQUIRE(c.shape() == (Shape{4, 2, 3}));
      std::vector<double> expected;
      for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 2; ++j) {
          for (int k = 0; k < 3; ++k) expected.push_back(3 * i + k + 100.0 * (j + 1));
        }
      }
      check_values(c, expected, 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(pow_forward_values_by_hand) {
  for (DType dtype : kFloatTypes) {
    BOOST_TEST_CONTEXT(fmt::format("{}", dtype)) {
      const double tol = dtype == kFloat32 ? 1e-7 : 1e-15;
      const Tensor x = values({-2.0, 0.0, 0.5, 3.0}, dtype);
      check_values(pow(x, 0.0), {1, 1, 1, 1}, 0.0);  // 0^0 = 1, as in C and PyTorch
      check_values(pow(x, 1.0), {-2, 0, 0.5, 3}, 0.0);
      check_values(pow(x, 2.0), {4, 0, 0.25, 9}, 0.0);
      check_values(pow(x, 3.0), {-8, 0, 0.125, 27}, 0.0);
      check_values(pow(x, -1.0), {-0.5, INFINITY, 2, 1.0 / 3.0}, tol);
      // A fractional power of a negative number is NaN (no complex numbers).
      check_values(pow(x, 0.5), {NAN, 0, 0.7071067811865476, 1.7320508075688772}, tol);
      BOOST_TEST(pow(x, 0.5).dtype() == dtype);
      check_values(x.pow(3.0), {-8, 0, 0.125, 27}, 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(pow_gradients_by_hand_including_at_zero) {
  // d/dx x^p = p x^(p-1). At x = 0: p = 0 gives 0 (not 0 * 0^-1 = NaN), p = 1 gives 1, p = 2, 3 give 0.
  auto grad_of = [](double p, const std::vector<double>& at) {
    Tensor x = tensor(at, Shape{static_cast<std::int64_t>(at.size())}, {.dtype = kFloat64, .requires_grad = true});
    pow(x, p).sum().backward();
    return x.grad();
  };
  const std::vector<double> at = {-2.0, 0.0, 0.5, 3.0};
  check_values(grad_of(0.0, at), {0, 0, 0, 0}, 0.0);
  check_values(grad_of(1.0, at), {1, 1, 1, 1}, 0.0);
  check_values(grad_of(2.0, at), {-4, 0, 1, 6}, 0.0);
  check_values(grad_of(3.0, at), {12, 0, 0.75, 27}, 0.0);
  check_values(grad_of(-1.0, {-2.0, 0.5, 3.0}), {-0.25, -4.0, -1.0 / 9.0}, 1e-15);
  check_values(grad_of(0.5, {0.5, 3.0, 4.0}), {0.7071067811865476, 0.2886751345948129, 0.25}, 1e-15);
}

BOOST_AUTO_TEST_CASE(binary_gradients_by_hand) {
  // At a = 3, b = -2: d(a*b) = (b, a) = (-2, 3); d(a/b) = (1/b, -a/b^2) = (-0.5, -0.75);
  // d(a-b) = (1, -1).
  auto grads = [](const Binary& f) {
    Tensor a = scalar_tensor(3.0, {.dtype = kFloat64, .requires_grad = true});
    Tensor b = scalar_tensor(-2.0, {.dtype = kFloat64, .requires_grad = true});
    f(a, b).backward();
    return std::pair{a.grad().item(), b.grad().item()};
  };
  BOOST_TEST((grads(kBinaryOps[0].f) == std::pair{1.0, 1.0}));
  BOOST_TEST((grads(kBinaryOps[1].f) == std::pair{1.0, -1.0}));
  BOOST_TEST((grads(kBinaryOps[2].f) == std::pair{-2.0, 3.0}));
  BOOST_TEST((grads(kBinaryOps[3].f) == std::pair{-0.5, -0.75}));
  // Scalar sides: d(2.5 - x) = -1, d(x * -1.5) = -1.5, d(x / 4) = 0.25, d(6 / x) = -6 / x^2 = -2/3 at 3.
  auto grad = [](const Unary& f) {
    Tensor x = scalar_tensor(3.0, {.dtype = kFloat64, .requires_grad = true});
    f(x).backward();
    return x.grad().item();
  };
  BOOST_TEST(grad([](const Tensor& x) { return 2.5 - x; }) == -1.0);
  BOOST_TEST(grad([](const Tensor& x) { return x - 2.5; }) == 1.0);
  BOOST_TEST(grad([](const Tensor& x) { return -1.5 * x; }) == -1.5);
  BOOST_TEST(grad([](const Tensor& x) { return x / 4.0; }) == 0.25);
  BOOST_TEST(std::abs(grad([](const Tensor& x) { return 6.0 / x; }) - (-2.0 / 3.0)) < 1e-15);
  BOOST_TEST(grad([](const Tensor& x) { return -x; }) == -1.0);
}

BOOST_AUTO_TEST_CASE(div_gradient_stays_finite_for_tiny_operands_in_float32) {
  // a = b = 1e-23: c = 1 and dc/db = -a / b^2 = -1e23, well inside float32's range, but b^2 = 1e-46 is
  // not: it rounds to 0, and a gradient computed as -a / (b * b) would be -inf.
  Tensor a = tensor({1e-23}, {.requires_grad = true});
  Tensor b = tensor({1e-23}, {.requires_grad = true});
  div(a, b).sum().backward();
  BOOST_TEST(std::isfinite(b.grad().item()));
  BOOST_TEST(b.grad().item() == -1e23, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(a.grad().item() == 1e23, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(ops_record_their_names_in_the_graph) {
  Tensor a = ones({2}, {.requires_grad = true});
  Tensor b = ones({2});
  BOOST_TEST((a + b).grad_fn_name() == "add");
  BOOST_TEST((a - b).grad_fn_name() == "sub");
  BOOST_TEST((a * b).grad_fn_name() == "mul");
  BOOST_TEST((a / b).grad_fn_name() == "div");
  BOOST_TEST((-a).grad_fn_name() == "neg");
  // A scalar on either side: x - s is a subtraction in the graph too, not an addition of -s.
  BOOST_TEST((a + 1.0).grad_fn_name() == "add");
  BOOST_TEST((a - 1.0).grad_fn_name() == "sub");
  BOOST_TEST((1.0 - a).grad_fn_name() == "rsub");
  BOOST_TEST((a * 2.0).grad_fn_name() == "mul");
  BOOST_TEST((a / 2.0).grad_fn_name() == "div");
  BOOST_TEST((2.0 / a).grad_fn_name() == "rdiv");
  BOOST_TEST(pow(a, 3.0).grad_fn_name() == "pow");
  // Constants record nothing.
  BOOST_TEST(!(b + b).requires_grad());
  BOOST_TEST((b + b).grad_fn_name() == "");
}

BOOST_AUTO_TEST_SUITE_END()
