// linear_relu: ReLU fused onto linear's product. Hand values, the composite relu(linear(...)) as the
// oracle bit for bit (values and gradients, float32 and float64), gradchecks, NaN, errors.
#include "support/test.hpp"

#include <cmath>
#include <limits>

using namespace attograd;
using namespace attograd::testing;

namespace {

// The gradients of sum(f(x, w, b) * up) with respect to x, w and b.
std::vector<Tensor> grads_of(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f,
                             const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& up) {
  const Tensor xs = x.detach().requires_grad_(), ws = w.detach().requires_grad_(), bs = b.detach().requires_grad_();
  sum(f(xs, ws, bs) * up).backward();
  return {xs.grad(), ws.grad(), bs.grad()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(linear_relu_values_by_hand) {
  // Z = X·Wᵀ + b = [[11, -16]]; Y = [[11, 0]]. With dY = [[1, 1]]: dZ = [[1, 0]], dX = dZ·W = [[3, 4]],
  // dW = dZᵀ·X = [[1, 2], [0, 0]], db = [1, 0].
  Tensor x = tensor({{1.0, 2.0}}, {.requires_grad = true});
  Tensor w = tensor({{3.0, 4.0}, {-5.0, -6.0}}, {.requires_grad = true});
  Tensor b = tensor({0.0, 1.0}, {.requires_grad = true});
  Tensor y = linear_relu(x, w, b);
  check_values(y, {11.0, 0.0});
  sum(y).backward();
  check_values(x.grad(), {3.0, 4.0});
  check_values(w.grad(), {1.0, 2.0, 0.0, 0.0});
  check_values(b.grad(), {1.0, 0.0});
}

BOOST_AUTO_TEST_CASE(linear_relu_is_relu_of_linear_bit_for_bit) {
  Generator gen(5);
  const auto fused = [](const Tensor& x, const Tensor& w, const Tensor& b) { return linear_relu(x, w, b); };
  const auto composite = [](const Tensor& x, const Tensor& w, const Tensor& b) { return relu(linear(x, w, b)); };
  for (DType dtype : {kFloat32, kFloat64}) {
    // The last shape is large enough for the ReLU pass to split over threads ([64, 1024] outputs).
    for (const Shape& xs : {Shape{5, 8}, Shape{2, 3, 8}, Shape{8}, Shape{64, 8}}) {
      const std::int64_t out = xs.numel() == 64 * 8 ? 1024 : 6;
      const Tensor x = randn(xs, gen, {.dtype = dtype});
      const Tensor w = randn({out, 8}, gen, {.dtype = dtype});
      const Tensor b = randn({out}, gen, {.dtype = dtype});
      BOOST_TEST_INFO("dtype " << dtype << ", x " << xs);
      const Tensor y = linear_relu(x, w, b);
      BOOST_TEST(y.to_vector() == relu(linear(x, w, b)).to_vector());
      BOOST_TEST(linear_relu(x, w).to_vector() == relu(linear(x, w)).to_vector());
      const Tensor up = randn(y.shape(), gen, {.dtype = dtype});
      const std::vector<Tensor> a = grads_of(fused, x, w, b, up), c = grads_of(composite, x, w, b, up);
      for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i].to_vector() == c[i].to_vector());
    }
  }
}

BOOST_AUTO_TEST_CASE(linear_relu_gradients) {
  // Random inputs put every pre-activation far from 0 compared with the finite differences' step.
  Generator gen(6);
  auto f = [](const std::vector<Tensor>& in) { return linear_relu(in[0], in[1], in[2]); };
  check_gradients(f, {rand64({4, 3}, gen), rand64({5, 3}, gen), rand64({5}, gen)});
  check_gradients(f, {rand64({2, 3, 3}, gen), rand64({4, 3}, gen), rand64({4}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return linear_relu(in[0], in[1]); },
                  {rand64({4, 3}, gen), rand64({2, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(linear_relu_keeps_nan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Row 0 meets the NaN: [NaN, NaN]. Row 1: [2, -1] -> [2, 0].
  const std::vector<double> y = linear_relu(tensor({{nan, 1.0f}, {1.0f, 1.0f}}), tensor({{1.0f, 1.0f}, {0.0f, -1.0f}})).to_vector();
  BOOST_TEST(std::isnan(y[0]));  // a diverging run shows, as with relu()
  BOOST_TEST(std::isnan(y[1]));
  BOOST_TEST(y[2] == 2.0);
  BOOST_TEST(y[3] == 0.0);
}

BOOST_AUTO_TEST_CASE(linear_relu_errors_name_it) {
  Tensor w = ones({5, 2});
  BOOST_CHECK_EXCEPTION(linear_relu(ones({4, 3}), w), ShapeError,
                        has_message("linear_relu: input [4, 3] has 3 features but weight [5, 2] expects 2"));
  BOOST_CHECK_EXCEPTION(linear_relu(ones({4, 2}), w, ones({4})), ShapeError,
                        has_message("linear_relu: bias must have shape [5] to match weight [5, 2], got [4]"));
  BOOST_CHECK_EXCEPTION(linear_relu(ones({4, 2}, {.dtype = kFloat64}), w), DTypeError,
                        has_message("linear_relu: expected floating-point tensors of one dtype, got input float64"));
  BOOST_CHECK_EXCEPTION(linear_relu(Tensor(), w), ValueError, has_message("linear_relu: input is an undefined tensor"));
}
