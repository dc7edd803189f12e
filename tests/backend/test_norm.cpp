// layer_norm's fused kernels (lib/backend/norm.cpp, called by lib/ops/norm.cpp) against the composite
// of mean, sub, mul, sqrt and div they replace (layer_norm_composite): values and all three gradients
// in float32 and float64, with and without weight and bias, over one and two normalized dims, on a
// non-contiguous input; plus a float64 gradcheck of the fused op.
#include "support/test.hpp"

#include "ops/norm_composite.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

struct Case {
  Shape x_shape;
  Shape normalized;
  bool affine;
};

// Values and gradients of sum(Y * R) for a fixed random R, fused against composite.
void compare(const Case& c, DType dtype, double tolerance, bool transposed = false) {
  Generator gen(21);
  Tensor base = randn(c.x_shape, gen, {.dtype = dtype}) * 3.0 + 1.5;
  if (transposed) base = base.transpose(0, 1).contiguous().transpose(0, 1);  // same values, other strides
  const Tensor r = randn(c.x_shape, gen, {.dtype = dtype});
  const Tensor w0 = randn(c.normalized, gen, {.dtype = dtype});
  const Tensor b0 = randn(c.normalized, gen, {.dtype = dtype});
  Tensor x1 = base.detach().requires_grad_(), x2 = base.clone().requires_grad_();
  Tensor w1, w2, b1, b2;
  if (c.affine) {
    w1 = w0.clone().requires_grad_();
    w2 = w0.clone().requires_grad_();
    b1 = b0.clone().requires_grad_();
    b2 = b0.clone().requires_grad_();
  }
  const Tensor y1 = layer_norm(x1, c.normalized, w1, b1);
  const Tensor y2 = layer_norm_composite(x2, c.normalized, w2, b2, 1e-5);
  BOOST_TEST(y1.grad_fn_name() == "layer_norm");
  check_close(y1, y2, tolerance);
  (y1 * r).sum().backward();
  (y2 * r).sum().backward();
  check_close(x1.grad(), x2.grad(), tolerance);
  if (c.affine) {
    check_close(w1.grad(), w2.grad(), tolerance * 10);  // sums over every row
    check_close(b1.grad(), b2.grad(), tolerance * 10);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layer_norm_fused)

BOOST_AUTO_TEST_CASE(matches_the_composite_in_float64) {
  for (const Case& c : {Case{{4, 6}, {6}, true}, Case{{2, 3, 8}, {8}, true}, Case{{2, 3, 4}, {3, 4}, true},
                        Case{{5, 7}, {7}, false}, Case{{3, 1}, {1}, true}}) {
    compare(c, kFloat64, 1e-12);
  }
  compare({{3, 4, 5}, {5}, true}, kFloat64, 1e-12, /*transposed=*/true);
}

BOOST_AUTO_TEST_CASE(matches_the_composite_in_float32) {
  compare({{8, 64, 128}, {128}, true}, kFloat32, 2e-5);  // the transformers' shape, smaller batch
  compare({{6, 10}, {10}, false}, kFloat32, 2e-5);
}

BOOST_AUTO_TEST_CASE(a_constant_row_gives_the_bias_and_a_finite_gradient) {
  Tensor x = full({2, 4}, 3.0, {.dtype = kFloat64}).requires_grad_();
  Tensor b = tensor({0.5, -1.0, 2.0, 0.0}, {.dtype = kFloat64}).requires_grad_();
  const Tensor w = ones({4}, {.dtype = kFloat64});
  const Tensor y = layer_norm(x, {4}, w, b);
  check_values(y, {0.5, -1.0, 2.0, 0.0, 0.5, -1.0, 2.0, 0.0}, 1e-12);
  (y * tensor({1.0, 2.0, 3.0, 4.0}, {.dtype = kFloat64})).sum().backward();
  // xhat = 0, so dX = rstd (G - mean(G)) with rstd = 1/sqrt(eps) and G = [1, 2, 3, 4]: mean 2.5.
  const double rs = 1.0 / std::sqrt(1e-5);
  check_values(x.grad(), {-1.5 * rs, -0.5 * rs, 0.5 * rs, 1.5 * rs, -1.5 * rs, -0.5 * rs, 0.5 * rs, 1.5 * rs}, 1e-6);
  check_values(b.grad(), {2.0, 4.0, 6.0, 8.0}, 1e-12);
}

BOOST_AUTO_TEST_CASE(hand_computed_values) {
  // Row [1, 2, 3, 6]: mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5.
  const Tensor x = tensor({1.0, 2.0, 3.0, 6.0}, {.dtype = kFloat64}).reshape({1, 4});
  const double s = 1.0 / std::sqrt(3.5 + 1e-5);
  check_values(layer_norm(x, {4}), {-2.0 * s, -1.0 * s, 0.0, 3.0 * s}, 1e-12);
}

BOOST_AUTO_TEST_CASE(gradcheck_of_every_input) {
  Generator gen(4);
  check_gradients([](const auto& in) { return layer_norm(in[0], {4}, in[1], in[2]); },
                  {rand64({3, 4}, gen), rand64({4}, gen), rand64({4}, gen)});
  check_gradients([](const auto& in) { return layer_norm(in[0], {2, 3}, in[1], in[2]); },
                  {rand64({2, 2, 3}, gen), rand64({2, 3}, gen), rand64({2, 3}, gen)});
  check_gradients([](const auto& in) { return layer_norm(in[0], {5}); }, {rand64({2, 5}, gen)});
}

BOOST_AUTO_TEST_CASE(weight_of_another_dtype_is_refused) {
  // It used to take the composite path and give a float64 result; the kernels and the composite now
  // see one dtype only (docs/conventions.md, "Dtypes"), and the composite serves n = 0 alone.
  const Tensor x = tensor({1.0, 2.0, 4.0}, {.dtype = kFloat64}).reshape({1, 3});
  const Tensor w = ones({3});  // float32
  BOOST_CHECK_EXCEPTION(layer_norm(x, {3}, w), DTypeError,
                        has_message("layer_norm: expected floating-point tensors of one dtype, got input float64 and "
                                    "weight float32"));
  const Tensor y = layer_norm(x, {3}, w.to(kFloat64));
  BOOST_TEST(y.dtype() == kFloat64);
  check_close(y, layer_norm(x, {3}), 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()
