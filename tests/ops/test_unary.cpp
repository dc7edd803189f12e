// exp, log, sqrt, abs, sin, cos, tanh, sigmoid, relu, gelu and clamp: gradients against finite differences on
// shapes of rank 0 to 3 (non-smooth ops away from their kinks, log and sqrt on positive inputs),
// gradients at the kinks by convention, views as inputs, and tensors with no elements. Forward
// values, dtypes and errors: test_unary_values.cpp.
#include "support/test.hpp"

#include <cmath>
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

using Unary = std::function<Tensor(const Tensor&)>;

// Where an op's input must stay away from: its kinks, and for log and sqrt everything <= 0.
struct UnaryCase {
  std::string name;
  Unary f;
  std::vector<double> kinks = {};
  bool positive = false;
};

// 0 and the clamp bounds are the only kinks; the bounds are picked so that random inputs fall on both
// sides of each of them.
const std::vector<UnaryCase> kOps = {
    {"exp", [](const Tensor& x) { return exp(x); }},
    {"x.exp()", [](const Tensor& x) { return x.exp(); }},
    {"log", [](const Tensor& x) { return log(x); }, {}, true},
    {"x.log()", [](const Tensor& x) { return x.log(); }, {}, true},
    {"sqrt", [](const Tensor& x) { return sqrt(x); }, {}, true},
    {"x.sqrt()", [](const Tensor& x) { return x.sqrt(); }, {}, true},
    {"abs", [](const Tensor& x) { return abs(x); }, {0.0}},
    {"x.abs()", [](const Tensor& x) { return x.abs(); }, {0.0}},
    {"sin", [](const Tensor& x) { return sin(x); }},
    {"cos", [](const Tensor& x) { return cos(x); }},
    {"tanh", [](const Tensor& x) { return tanh(x); }},
    {"x.tanh()", [](const Tensor& x) { return x.tanh(); }},
    {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
    {"x.sigmoid()", [](const Tensor& x) { return x.sigmoid(); }},
    {"relu", [](const Tensor& x) { return relu(x); }, {0.0}},
    {"x.relu()", [](const Tensor& x) { return x.relu(); }, {0.0}},
    {"gelu", [](const Tensor& x) { return gelu(x); }},
    {"gelu tanh", [](const Tensor& x) { return gelu(x, GeluApproximation::Tanh); }},
    {"clamp(-0.5, 0.5)", [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, {-0.5, 0.5}},
    {"clamp(-0.3, none)", [](const Tensor& x) { return clamp(x, -0.3, std::nullopt); }, {-0.3}},
    {"clamp(none, 0.2)", [](const Tensor& x) { return clamp(x, std::nullopt, 0.2); }, {0.2}},
    {"clamp(none, none)", [](const Tensor& x) { return clamp(x, std::nullopt, std::nullopt); }},
    {"clamp(1, -1)", [](const Tensor& x) { return clamp(x, 1.0, -1.0); }, {-1.0, 1.0}},
};

const std::vector<Shape> kShapes = {{}, {5}, {2, 3}, {2, 3, 4}, {1, 3, 1}};

// A float64 leaf of normal values times `scale`, moved at least 0.05 away from every kink, and made
// positive (|x| + 0.1) when asked.
Tensor input_for(const UnaryCase& op, const Shape& shape, Generator& gen, double scale) {
  std::vector<double> v = (randn(shape, gen, {.dtype = kFloat64}) * scale).to_vector();
  for (double& x : v) {
    if (op.positive) x = std::abs(x) + 0.1;
    for (double k : op.kinks) {
      if (std::abs(x - k) < 0.05) x = k + (x < k ? -0.05 : 0.05);
    }
  }
  return tensor(v, shape, {.dtype = kFloat64, .requires_grad = true});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(unary)

BOOST_AUTO_TEST_CASE(every_op_gradchecks_on_all_shapes) {
  Generator gen(21);
  for (const UnaryCase& op : kOps) {
    for (const Shape& shape : kShapes) {
      // scale 3 reaches the flat tails of tanh, sigmoid and gelu as well as the middle.
      for (double scale : {1.0, 3.0}) {
        BOOST_TEST_CONTEXT(fmt::format("{} on {}, scale {}", op.name, shape, scale)) {
          check_gradients([&](const std::vector<Tensor>& in) { return op.f(in[0]); },
                          {input_for(op, shape, gen, scale)});
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ops_composed_gradcheck) {
  // The derivative of each op is used with a non-trivial upstream gradient coming from the others.
  Generator gen(22);
  const UnaryCase kinks{"composed", nullptr, {0.0, -1.0, 1.0, -0.5}};  // abs, clamp, relu(clamp + 0.5)
  check_gradients(
      [](const std::vector<Tensor>& in) {
        const Tensor& x = in[0];
        return gelu(tanh(x) * 2.0) + sqrt(exp(x) + 1.0) - log(sigmoid(x)) * abs(x) + relu(clamp(x, -1.0, 1.0) + 0.5);
      },
      {input_for(kinks, {3, 4}, gen, 1.5)});
}

BOOST_AUTO_TEST_CASE(gradients_at_the_kinks_follow_the_convention) {
  // relu'(0) = 0 and abs'(0) = sign(0) = 0, as in PyTorch. clamp passes the gradient on the bounds
  // themselves: lo <= x <= hi.
  auto grad_of = [](const Unary& f, const std::vector<double>& at) {
    Tensor x = tensor(at, Shape{static_cast<std::int64_t>(at.size())}, {.dtype = kFloat64, .requires_grad = true});
    f(x).sum().backward();
    return x.grad();
  };
  const std::vector<double> at = {-2.0, -1.0, 0.0, 1.0, 2.0};
  check_values(grad_of([](const Tensor& x) { return relu(x); }, at), {0, 0, 0, 1, 1}, 0.0);
  check_values(grad_of([](const Tensor& x) { return abs(x); }, at), {-1, -1, 0, 1, 1}, 0.0);
  check_values(grad_of([](const Tensor& x) { return clamp(x, -1.0, 1.0); }, at), {0, 1, 1, 1, 0}, 0.0);
  check_values(grad_of([](const Tensor& x) { return clamp(x, 0.0, std::nullopt); }, at), {0, 0, 1, 1, 1}, 0.0);
  check_values(grad_of([](const Tensor& x) { return clamp(x, std::nullopt, 0.0); }, at), {1, 1, 1, 0, 0}, 0.0);
  check_values(grad_of([](const Tensor& x) { return clamp(x, std::nullopt, std::nullopt); }, at), {1, 1, 1, 1, 1}, 0.0);
  // lo > hi: every output is hi, a constant, so no gradient passes.
  check_values(grad_of([](const Tensor& x) { return clamp(x, 1.0, -1.0); }, at), {0, 0, 0, 0, 0}, 0.0);
}

BOOST_AUTO_TEST_CASE(clamp_forward_and_backward_agree_on_a_float32_bound) {
  // float32 rounds 0.7 down to 0.699999988 and 0.1 up to 0.100000001. An input equal to the rounded
  // bound sits exactly on the bound, where the gradient passes; comparing it with the unrounded
  // double bound would put it outside.
  Tensor x = tensor({0.7, 0.1}, {.dtype = kFloat32, .requires_grad = true});
  const Tensor lo = clamp(x, 0.7, std::nullopt);
  check_values(lo, {static_cast<double>(0.7f), static_cast<double>(0.7f)}, 0.0);
  lo.sum().backward();
  check_values(x.grad(), {1, 0}, 0.0);
  x.zero_grad();
  const Tensor hi = clamp(x, std::nullopt, 0.1);
  check_values(hi, {static_cast<double>(0.1f), static_cast<double>(0.1f)}, 0.0);
  hi.sum().backward();
  check_values(x.grad(), {0, 1}, 0.0);
}

BOOST_AUTO_TEST_CASE(smooth_gradients_by_hand) {
  auto grad_of = [](const Unary& f, const std::vector<double>& at) {
    Tensor x = tensor(at, Shape{static_cast<std::int64_t>(at.size())}, {.dtype = kFloat64, .requires_grad = true});
    f(x).sum().backward();
    return x.grad();
  };
  // exp' = exp, log' = 1/x, sqrt' = 1 / (2 sqrt x)
  check_values(grad_of([](const Tensor& x) { return exp(x); }, {0.0, 1.0}), {1.0, 2.718281828459045}, 1e-15);
  check_values(grad_of([](const Tensor& x) { return log(x); }, {0.5, 4.0}), {2.0, 0.25}, 1e-15);
  check_values(grad_of([](const Tensor& x) { return sqrt(x); }, {0.25, 4.0}), {1.0, 0.25}, 1e-15);
  // tanh' = 1 - tanh^2, sigmoid' = s (1 - s), at -3, -0.5, 0.5, 3
  const std::vector<double> at = {-3.0, -0.5, 0.5, 3.0};
  check_values(grad_of([](const Tensor& x) { return tanh(x); }, at),
               {0.009866037165440211, 0.7864477329659274, 0.7864477329659274, 0.009866037165440211}, 1e-14);
  check_values(grad_of([](const Tensor& x) { return sigmoid(x); }, at),
               {0.04517665973091214, 0.2350037122015945, 0.2350037122015945, 0.04517665973091214}, 1e-14);
  // gelu' = Phi(x) + x phi(x) (mpmath, 40 digits): gelu'(0) = 1/2, gelu'(1) = 1.0833154705876863
  check_values(grad_of([](const Tensor& x) { return gelu(x); }, {-2.0, -1.0, 0.0, 1.0, 2.0}),
               {-0.08523180107819692, -0.08331547058768629, 0.5, 1.0833154705876864, 1.085231801078197}, 1e-14);
}

BOOST_AUTO_TEST_CASE(views_as_inputs_give_the_right_values_and_gradients) {
  // base [2, 3] = [[1, 2, 3], [4, 5, 6]]; its transpose is not contiguous.
  Tensor base = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor y = sqrt(base.transpose(0, 1));
  check_values(y, {1.0, 2.0, std::sqrt(2.0), std::sqrt(5.0), std::sqrt(3.0), std::sqrt(6.0)}, 1e-15);
  y.backward(tensor({{1.0, 0.0}, {0.0, 0.0}, {0.0, 1.0}}, {.dtype = kFloat64}));
  // d sqrt(x) = 1 / (2 sqrt x) at base[0][0] = 1 and base[1][2] = 6 only.
  check_values(base.grad(), {0.5, 0, 0, 0, 0, 0.5 / std::sqrt(6.0)}, 1e-15);
  // relu of a narrowed view with a negative entry.
  Tensor v = tensor({-1.0, 2.0, -3.0, 4.0}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor r = relu(v.narrow(0, 1, 3));
  check_values(r, {2.0, 0.0, 4.0}, 0.0);
  r.sum().backward();
  check_values(v.grad(), {0, 1, 0, 1}, 0.0);

  Generator gen(23);
  for (const UnaryCase& op : kOps) {
    BOOST_TEST_CONTEXT(op.name) {
      check_gradients([&](const std::vector<Tensor>& in) { return op.f(in[0].transpose(0, 2).narrow(1, 1, 2)); },
                      {input_for(op, {2, 3, 4}, gen, 1.0)});
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_tensors_pass_through_and_get_empty_gradients) {
  for (const UnaryCase& op : kOps) {
    BOOST_TEST_CONTEXT(op.name) {
      for (DType dtype : {kFloat32, kFloat64}) {
        Tensor x = zeros({0, 3}, {.dtype = dtype, .requires_grad = true});
        const Tensor y = op.f(x);
        BOOST_TEST(y.shape() == (Shape{0, 3}));
        BOOST_TEST(y.dtype() == dtype);
        y.backward(zeros({0, 3}, {.dtype = dtype}));
        BOOST_TEST(x.grad().shape() == (Shape{0, 3}));
        BOOST_TEST(x.grad().dtype() == dtype);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ops_record_their_names_and_constants_record_nothing) {
  Tensor x = ones({2}, {.requires_grad = true});
  BOOST_TEST(exp(x).grad_fn_name() == "exp");
  BOOST_TEST(log(x).grad_fn_name() == "log");
  BOOST_TEST(sqrt(x).grad_fn_name() == "sqrt");
  BOOST_TEST(abs(x).grad_fn_name() == "abs");
  BOOST_TEST(tanh(x).grad_fn_name() == "tanh");
  BOOST_TEST(sigmoid(x).grad_fn_name() == "sigmoid");
  BOOST_TEST(relu(x).grad_fn_name() == "relu");
  BOOST_TEST(gelu(x).grad_fn_name() == "gelu");
  BOOST_TEST(clamp(x, 0.0, 1.0).grad_fn_name() == "clamp");
  const Tensor c = ones({2});
  for (const UnaryCase& op : kOps) BOOST_TEST(!op.f(c).requires_grad(), op.name);
  NoGradGuard guard;
  for (const UnaryCase& op : kOps) BOOST_TEST(!op.f(x).requires_grad(), op.name);
}

BOOST_AUTO_TEST_SUITE_END()
