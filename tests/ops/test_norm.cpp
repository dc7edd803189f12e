// layer_norm: reference values, per-row statistics, a constant input, gradchecks, errors.
#include "support/test.hpp"

#include <cmath>

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(layer_norm_op)

BOOST_AUTO_TEST_CASE(hand_computed_values) {
  // x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25, y = (x - 2.5) / sqrt(1.25 + 1e-5)
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, {.dtype = kFloat64});
  check_values(layer_norm(x, {4}), {-1.3416354199689269, -0.447211806656309, 0.447211806656309, 1.3416354199689269},
               1e-14);
  const Tensor w = tensor({1.0, 2.0, 1.0, 2.0}, {.dtype = kFloat64});
  const Tensor b = tensor({0.0, 0.0, 1.0, 1.0}, {.dtype = kFloat64});
  check_values(layer_norm(x, {4}, w, b), {-1.3416354199689269, -0.894423613312618, 1.447211806656309, 3.6832708399378538},
               1e-14);
  // weight only, bias only
  check_values(layer_norm(x, {4}, w), {-1.3416354199689269, -0.894423613312618, 0.447211806656309, 2.6832708399378538},
               1e-14);
  check_values(layer_norm(x, {4}, {}, b), {-1.3416354199689269, -0.447211806656309, 1.447211806656309, 2.3416354199689269},
               1e-14);
}

BOOST_AUTO_TEST_CASE(variance_is_the_biased_one) {
  // mean 5, biased variance 32/8 = 4 (the unbiased 32/7 would give other values): y = (x - 5) / 2
  const Tensor x = tensor({2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0}, {.dtype = kFloat64});
  check_values(layer_norm(x, {8}, {}, {}, 0.0), {-1.5, -0.5, -0.5, -0.5, 0.0, 0.0, 1.0, 2.0}, 1e-15);
}

BOOST_AUTO_TEST_CASE(each_row_has_mean_0_and_variance_1) {
  Generator gen(3);
  const Tensor x = randn({4, 5, 16}, gen, {.dtype = kFloat64}) * 10.0 + 7.0;
  const Tensor y = layer_norm(x, {16});
  BOOST_TEST((y.shape() == Shape{4, 5, 16}));
  const Tensor mu = mean(y, {-1});
  const Tensor var = mean((y - mean(y, {-1}, true)).pow(2.0), {-1});
  check_close(mu, zeros({4, 5}, {.dtype = kFloat64}), 1e-12);
  check_close(var, ones({4, 5}, {.dtype = kFloat64}), 1e-6);  // var / (var + eps), var ~ 100

  // Over the last two dims: the statistics cover each [5, 16] block.
  const Tensor z = layer_norm(x, {5, 16});
  check_close(mean(z, {1, 2}), zeros({4}, {.dtype = kFloat64}), 1e-12);
  check_close(mean(z.pow(2.0), {1, 2}), ones({4}, {.dtype = kFloat64}), 1e-6);

  // float32 keeps its dtype and gets close too.
  const Tensor y32 = layer_norm(x.to(kFloat32), {16});
  BOOST_TEST((y32.dtype() == kFloat32));
  check_close(y32, y, 1e-5);
}

BOOST_AUTO_TEST_CASE(a_constant_input_gives_finite_output_and_gradient) {
  // var = 0: y = 0 / sqrt(eps) = 0 (then the bias), and dX = (dY - mean(dY)) / sqrt(eps): large but finite.
  Tensor x = full({2, 4}, 3.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor b = tensor({0.5, -1.0, 0.0, 2.0}, {.dtype = kFloat64});
  const Tensor up = tensor({{1.0, 2.0, 3.0, 6.0}, {0.0, 0.0, 0.0, 0.0}}, {.dtype = kFloat64});
  Tensor y = layer_norm(x, {4}, {}, b);
  check_values(y, {0.5, -1.0, 0.0, 2.0, 0.5, -1.0, 0.0, 2.0}, 0.0);
  y.backward(up);
  const double s = 1.0 / std::sqrt(1e-5);  // mean of row 0 of up is 3
  check_values(x.grad(), {-2 * s, -1 * s, 0.0, 3 * s, 0, 0, 0, 0}, 1e-9);
  BOOST_TEST(!any(isnan(x.grad())));

  Generator gen(4);
  check_gradients([](const std::vector<Tensor>& in) { return layer_norm(in[0], {3}, in[1], in[2]); },
                  {full({2, 3}, -1.5, {.dtype = kFloat64, .requires_grad = true}), rand64({3}, gen), rand64({3}, gen)});
}

BOOST_AUTO_TEST_CASE(gradient_is_checked_against_finite_differences) {
  Generator gen(5);
  auto ln = [](Shape ns) {
    return [ns](const std::vector<Tensor>& in) { return layer_norm(in[0], ns, in[1], in[2]); };
  };
  // x, weight and bias all differentiable, several shapes
  check_gradients(ln({4}), {rand64({3, 4}, gen), rand64({4}, gen), rand64({4}, gen)});
  check_gradients(ln({5}), {rand64({5}, gen), rand64({5}, gen), rand64({5}, gen)});
  check_gradients(ln({3, 2}), {rand64({2, 3, 2}, gen), rand64({3, 2}, gen), rand64({3, 2}, gen)});
  check_gradients(ln({2}), {rand64({2, 1, 3, 2}, gen, 5.0), rand64({2}, gen), rand64({2}, gen)});
  // without the affine part, and with a larger eps
  check_gradients([](const std::vector<Tensor>& in) { return layer_norm(in[0], {6}); }, {rand64({2, 6}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return layer_norm(in[0], {6}, {}, {}, 0.5); },
                  {rand64({2, 6}, gen)});
  // a size-1 normalised dim: y = 0 * ... + bias whatever x is, and dX = 0
  check_gradients(ln({1}), {rand64({3, 1}, gen), rand64({1}, gen), rand64({1}, gen)});
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_errors_naming_the_values) {
  const Tensor x = zeros({2, 3});
  BOOST_CHECK_EXCEPTION(layer_norm(x, {4}), ShapeError,
                        has_message("layer_norm: normalized_shape [4] expects an input of shape [*, 4], got [2, 3]"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {2, 3, 1}), ShapeError,
                        has_message("normalized_shape [2, 3, 1] expects an input of shape [*, 2, 3, 1], got [2, 3]"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {}), ShapeError, has_message("normalized_shape must name at least one dim"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, zeros({2})), ShapeError,
                        has_message("layer_norm: weight has shape [2] but normalized_shape is [3]"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, zeros({3}), zeros({1, 3})), ShapeError,
                        has_message("layer_norm: bias has shape [1, 3] but normalized_shape is [3]"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, {}, {}, -1e-5), ValueError,
                        has_message("layer_norm: eps must be finite and >= 0, got -1e-05"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, {}, {}, NAN), ValueError, has_message("got nan"));
  BOOST_CHECK_EXCEPTION(layer_norm(tensor_of<std::int64_t>({1, 2}, {2}), {2}), DTypeError,
                        has_message("layer_norm: expected a floating-point input, got int64"));
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, tensor_of<std::int64_t>({1, 2, 3}, {3})), DTypeError,
                        has_message("layer_norm: expected floating-point tensors of one dtype, got input "
                                    "float32 and weight int64"));
}

BOOST_AUTO_TEST_CASE(mixed_dtypes_are_refused_as_in_linear) {
  // A float32 weight and bias with a float64 input used to give a float64 result through the
  // composite; now the rule of linear and matmul (docs/conventions.md, "Dtypes").
  const Tensor x64 = ones({2, 3}, {.dtype = kFloat64});
  BOOST_CHECK_EXCEPTION(layer_norm(x64, {3}, ones({3}), zeros({3})), DTypeError,
                        has_message("layer_norm: expected floating-point tensors of one dtype, got input float64, "
                                    "weight float32 and bias float32; mixed dtypes are not promoted here: convert "
                                    "the model with model.to(kFloat64) or the input with x.to(kFloat32)"));
  BOOST_CHECK_EXCEPTION(layer_norm(ones({2, 3}), {3}, {}, zeros({3}, {.dtype = kFloat64})), DTypeError,
                        has_message("got input float32 and bias float64"));
  // One dtype throughout is fine, with or without the affine parameters.
  BOOST_TEST((layer_norm(x64, {3}, ones({3}, {.dtype = kFloat64})).dtype() == kFloat64));
  BOOST_TEST((layer_norm(x64, {3}).dtype() == kFloat64));
}

BOOST_AUTO_TEST_SUITE_END()
