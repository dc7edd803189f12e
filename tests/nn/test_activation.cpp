// Activation modules: each equals its op, values by hand, gradchecks away from kinks, printing.
#include "support/test.hpp"

#include <cmath>

#include <attograd/nn/activation.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(activation_modules)

BOOST_AUTO_TEST_CASE(values_by_hand) {
  const Tensor x = tensor({-2.0, -0.5, 0.0, 1.0, 3.0}, {.dtype = kFloat64});
  check_values(ReLU{}(x), {0.0, 0.0, 0.0, 1.0, 3.0}, 0.0);
  check_values(Tanh{}(x), {std::tanh(-2.0), std::tanh(-0.5), 0.0, std::tanh(1.0), std::tanh(3.0)}, 1e-15);
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  check_values(Sigmoid{}(x), {sig(-2.0), sig(-0.5), 0.5, sig(1.0), sig(3.0)}, 1e-15);
  // Exact GELU: x * (1 + erf(x / sqrt 2)) / 2
  auto exact = [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); };
  check_values(GELU{}(x), {exact(-2.0), exact(-0.5), 0.0, exact(1.0), exact(3.0)}, 1e-12);
  BOOST_TEST(GELU{}(x).at({3}) == 0.8413447460685429, boost::test_tools::tolerance(1e-12));  // Phi(1)
  // Tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  auto approx = [](double v) {
    return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  };
  GELU tanh_gelu{GeluApproximation::Tanh};
  check_values(tanh_gelu(x), {approx(-2.0), approx(-0.5), 0.0, approx(1.0), approx(3.0)}, 1e-12);
  // The two differ (slightly): the approximation is really used.
  BOOST_TEST(std::abs(tanh_gelu(x).at({0}) - GELU{}(x).at({0})) > 1e-5);
}

BOOST_AUTO_TEST_CASE(keep_shape_and_dtype_and_have_no_parameters) {
  const Tensor x = zeros({2, 3, 4});
  ReLU r;
  GELU g;
  Tanh t;
  Sigmoid s;
  for (const Tensor& y : {r(x), g(x), t(x), s(x)}) {
    BOOST_TEST((y.shape() == Shape{2, 3, 4}));
    BOOST_TEST((y.dtype() == kFloat32));
  }
  BOOST_TEST(r.parameter_count() + g.parameter_count() + t.parameter_count() + s.parameter_count() == 0);
}

BOOST_AUTO_TEST_CASE(gradchecks) {
  Generator gen(1);
  const Tensor away = rand64_away_from_zero({3, 4}, gen);  // ReLU's kink at 0
  ReLU r;
  check_module_gradients(r, [&](const std::vector<Tensor>& in) { return r(in[0]); }, {away});
  GELU g, gt{GeluApproximation::Tanh};
  Tanh t;
  Sigmoid s;
  const Tensor x = rand64({2, 5}, gen, 2.0);
  check_module_gradients(g, [&](const std::vector<Tensor>& in) { return g(in[0]); }, {x});
  check_module_gradients(gt, [&](const std::vector<Tensor>& in) { return gt(in[0]); }, {x});
  check_module_gradients(t, [&](const std::vector<Tensor>& in) { return t(in[0]); }, {x});
  check_module_gradients(s, [&](const std::vector<Tensor>& in) { return s(in[0]); }, {x});
}

BOOST_AUTO_TEST_CASE(printing) {
  BOOST_TEST(fmt::format("{}", ReLU{}) == "ReLU  [0 parameters]");
  BOOST_TEST(fmt::format("{}", Tanh{}) == "Tanh  [0 parameters]");
  BOOST_TEST(fmt::format("{}", Sigmoid{}) == "Sigmoid  [0 parameters]");
  BOOST_TEST(fmt::format("{}", GELU{}) == "GELU(approximate=none)  [0 parameters]");
  BOOST_TEST(fmt::format("{}", GELU{GeluApproximation::Tanh}) == "GELU(approximate=tanh)  [0 parameters]");
  BOOST_TEST((GELU{GeluApproximation::Tanh}.approximation() == GeluApproximation::Tanh));
}

BOOST_AUTO_TEST_SUITE_END()
