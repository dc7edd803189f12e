// LayerNorm: initial parameters, rows normalised, the affine applied, no-affine form, several trailing
// dims, gradchecks of input, weight and bias, printing, errors.
#include "support/test.hpp"

#include <cmath>

#include <attograd/nn/norm.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(layer_norm_module)

BOOST_AUTO_TEST_CASE(starts_as_ones_and_zeros) {
  LayerNorm ln{5};
  BOOST_TEST((ln.weight.shape() == Shape{5}));
  check_values(ln.weight, {1, 1, 1, 1, 1}, 0.0);
  check_values(ln.bias, {0, 0, 0, 0, 0}, 0.0);
  BOOST_TEST(ln.parameter_count() == 10);
  BOOST_TEST(ln.named_parameters()[0].first == "weight");
  BOOST_TEST(ln.named_parameters()[1].first == "bias");
  BOOST_TEST(ln.eps() == 1e-5);
  BOOST_TEST((ln.normalized_shape() == Shape{5}));
}

BOOST_AUTO_TEST_CASE(rows_get_mean_0_and_variance_1) {
  Generator gen(1);
  LayerNorm ln{16, {.dtype = kFloat64}};
  const Tensor x = randn({3, 4, 16}, gen, {.dtype = kFloat64}) * 5.0 + 3.0;
  const Tensor y = ln(x);
  BOOST_TEST((y.shape() == Shape{3, 4, 16}));
  check_close(y.mean({-1}), zeros({3, 4}, {.dtype = kFloat64}), 1e-12);
  check_close((y - y.mean({-1}, true)).pow(2.0).mean({-1}), ones({3, 4}, {.dtype = kFloat64}), 1e-5);
}

BOOST_AUTO_TEST_CASE(hand_computed_values_with_and_without_affine) {
  // x = [1, 2, 3, 4]: mean 2.5, variance 1.25; with eps = 0, y = (x - 2.5) / sqrt(1.25)
  const double s = 1.0 / std::sqrt(1.25);
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, {.dtype = kFloat64});
  LayerNorm ln{4, {.eps = 0.0, .dtype = kFloat64}};
  check_values(ln(x), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}, 1e-15);
  {
    NoGradGuard no_grad;
    ln.weight.copy_(tensor({2.0, 2.0, 1.0, 0.0}));
    ln.bias.copy_(tensor({0.0, 1.0, -1.0, 5.0}));
  }
  check_values(ln(x), {-3.0 * s, 1.0 - s, 0.5 * s - 1.0, 5.0}, 1e-15);

  LayerNorm plain{4, {.eps = 0.0, .elementwise_affine = false, .dtype = kFloat64}};
  BOOST_TEST(plain.parameter_count() == 0);
  BOOST_TEST(!plain.weight.defined());
  check_values(plain(x), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}, 1e-15);
  // eps enters under the root: var 1.25 + eps 0.75 = 2.
  LayerNorm eps{4, {.eps = 0.75, .elementwise_affine = false, .dtype = kFloat64}};
  const double r = 1.0 / std::sqrt(2.0);
  check_values(eps(x), {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r}, 1e-15);
}

BOOST_AUTO_TEST_CASE(over_two_trailing_dims) {
  LayerNorm ln{{2, 3}, {.dtype = kFloat64}};
  BOOST_TEST((ln.weight.shape() == Shape{2, 3}));
  BOOST_TEST(ln.parameter_count() == 12);
  Generator gen(2);
  const Tensor x = randn({4, 2, 3}, gen, {.dtype = kFloat64});
  const Tensor y = ln(x);
  check_close(y.mean({1, 2}), zeros({4}, {.dtype = kFloat64}), 1e-12);
  check_close(y.pow(2.0).mean({1, 2}), ones({4}, {.dtype = kFloat64}), 1e-4);
}

BOOST_AUTO_TEST_CASE(gradcheck_input_weight_and_bias) {
  Generator gen(3);
  LayerNorm ln{5};
  ln.to(kFloat64);
  {
    // Away from the ones / zeros start, so that a gradient that ignored them would show.
    NoGradGuard no_grad;
    ln.weight.copy_(randn({5}, gen, {.dtype = kFloat64}));
    ln.bias.copy_(randn({5}, gen, {.dtype = kFloat64}));
  }
  for (const Shape& shape : {Shape{5}, Shape{3, 5}, Shape{2, 1, 5}}) {
    check_module_gradients(ln, [&](const std::vector<Tensor>& in) { return ln(in[0]).pow(2.0); }, {rand64(shape, gen)});
  }
  LayerNorm grid{{2, 3}};
  grid.to(kFloat64);
  check_module_gradients(grid, [&](const std::vector<Tensor>& in) { return tanh(grid(in[0])); },
                         {rand64({4, 2, 3}, gen)});
  LayerNorm plain{4, {.elementwise_affine = false, .dtype = kFloat64}};
  check_gradients([&](const std::vector<Tensor>& in) { return plain(in[0]).pow(3.0); }, {rand64({3, 4}, gen)});
}

BOOST_AUTO_TEST_CASE(printing) {
  LayerNorm ln{8};
  BOOST_TEST(fmt::format("{}", ln) ==
             "LayerNorm(shape=[8], eps=1e-05, affine=true)  weight [8], bias [8]  [16 parameters]");
  LayerNorm plain{{2, 3}, {.eps = 1e-6, .elementwise_affine = false}};
  BOOST_TEST(fmt::format("{}", plain) == "LayerNorm(shape=[2, 3], eps=1e-06, affine=false)  [0 parameters]");
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_EXCEPTION(LayerNorm(0), ValueError,
                        has_message("LayerNorm: normalized_shape needs at least one dim, each at least 1, got [0]"));
  BOOST_CHECK_EXCEPTION(LayerNorm(Shape{}), ValueError, has_message("got []"));
  BOOST_CHECK_EXCEPTION(LayerNorm(Shape{3, -1}), ValueError, has_message("got [3, -1]"));
  BOOST_CHECK_EXCEPTION(LayerNorm(4, {.eps = -1.0}), ValueError,
                        has_message("LayerNorm: eps must be finite and >= 0, got -1"));
  BOOST_CHECK_EXCEPTION(LayerNorm(4, {.eps = std::nan("")}), ValueError, has_message("got nan"));
  BOOST_CHECK_EXCEPTION(LayerNorm(4, {.dtype = kInt64}), DTypeError, has_message("got dtype int64"));
  LayerNorm ln{4};
  BOOST_CHECK_EXCEPTION(ln(zeros({2, 5})), ShapeError, has_message("layer_norm: normalized_shape [4]"));
}

BOOST_AUTO_TEST_SUITE_END()
