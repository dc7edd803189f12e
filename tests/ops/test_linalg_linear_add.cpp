// linear_add: a residual added by linear's product (a oneDNN post-op). Hand values, the composite
// linear(...) + residual as the oracle bit for bit (values and gradients, float32 and float64, one and
// two threads, with and without a bias, a residual laid out otherwise), gradchecks, NaN, errors.
#include "support/test.hpp"

#include <cmath>
#include <limits>

#include "backend/onednn.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

using Linear4 = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, const Tensor&)>;

// The gradients of sum(f(x, w, b, r) * up) with respect to x, w, b and r.
std::vector<Tensor> grads_of(const Linear4& f, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& r,
                             const Tensor& up) {
  const Tensor xs = x.detach().requires_grad_(), ws = w.detach().requires_grad_(), bs = b.detach().requires_grad_();
  const Tensor rs = r.detach().requires_grad_();
  sum(f(xs, ws, bs, rs) * up).backward();
  return {xs.grad(), ws.grad(), bs.grad(), rs.grad()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(linear_add_values_by_hand) {
  // X·Wᵀ + b = [[11, -16]]; Y = R + that = [[12, -14]]. With dY = [[1, 1]]: dR = [[1, 1]],
  // dX = dY·W = [[-2, -2]], dW = dYᵀ·X = [[1, 2], [1, 2]], db = [1, 1].
  Tensor x = tensor({{1.0, 2.0}}, {.requires_grad = true});
  Tensor w = tensor({{3.0, 4.0}, {-5.0, -6.0}}, {.requires_grad = true});
  Tensor b = tensor({0.0, 1.0}, {.requires_grad = true});
  Tensor r = tensor({{1.0, 2.0}}, {.requires_grad = true});
  Tensor y = linear_add(x, w, b, r);
  check_values(y, {12.0, -14.0});
  sum(y).backward();
  check_values(r.grad(), {1.0, 1.0});
  check_values(x.grad(), {-2.0, -2.0});
  check_values(w.grad(), {1.0, 2.0, 1.0, 2.0});
  check_values(b.grad(), {1.0, 1.0});
}

BOOST_AUTO_TEST_CASE(linear_add_is_linear_plus_the_residual_bit_for_bit) {
  Generator gen(7);
  const Linear4 fused = [](const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& r) {
    return linear_add(x, w, b, r);
  };
  const Linear4 composite = [](const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& r) {
    return r + linear(x, w, b);
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    // [2048, 128]·[128, 128] is cut into pieces (onednn_problem.hpp): two threads run them at once.
    for (const Shape& xs : {Shape{5, 8}, Shape{2, 3, 8}, Shape{8}, Shape{16, 128, 128}}) {
      const std::int64_t in = xs[-1], out = xs.numel() > 10000 ? 128 : 6;
      const Tensor x = randn(xs, gen, {.dtype = dtype});
      const Tensor w = randn({out, in}, gen, {.dtype = dtype});
      const Tensor b = randn({out}, gen, {.dtype = dtype});
      Shape ys = xs;
      ys[-1] = out;
      const Tensor r = randn(ys, gen, {.dtype = dtype});
      if (dtype == kFloat32 && xs.rank() == 2) {  // on oneDNN, the residual as a post-op
        Tensor y2 = empty(ys);
        const backend::onednn::MatmulPlan p = backend::onednn::plan(x, w.mT(), y2, {b, r});
        BOOST_TEST(p.on_onednn);
        BOOST_TEST(p.implementation.find("ref") == std::string::npos, p.implementation);
      }
      for (int threads : {1, 2}) {
        ThreadCount guard(threads);
        BOOST_TEST_INFO("dtype " << dtype << ", x " << xs << ", " << threads << " threads");
        BOOST_TEST(linear_add(x, w, b, r).to_vector() == (r + linear(x, w, b)).to_vector());
        BOOST_TEST(linear_add(x, w, {}, r).to_vector() == (r + linear(x, w)).to_vector());
        const Tensor up = randn(ys, gen, {.dtype = dtype});
        const std::vector<Tensor> a = grads_of(fused, x, w, b, r, up), c = grads_of(composite, x, w, b, r, up);
        for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i].to_vector() == c[i].to_vector());
      }
    }
  }
  // A residual laid out otherwise (a transpose) is made contiguous first: the same values.
  const Tensor x = randn({6, 4}, gen), w = randn({5, 4}, gen), b = randn({5}, gen), rt = randn({5, 6}, gen);
  BOOST_TEST(linear_add(x, w, b, rt.mT()).to_vector() == (rt.mT() + linear(x, w, b)).to_vector());
}

BOOST_AUTO_TEST_CASE(linear_add_gradients) {
  Generator gen(8);
  auto f = [](const std::vector<Tensor>& in) { return linear_add(in[0], in[1], in[2], in[3]); };
  check_gradients(f, {rand64({4, 3}, gen), rand64({5, 3}, gen), rand64({5}, gen), rand64({4, 5}, gen)});
  check_gradients(f, {rand64({2, 3, 3}, gen), rand64({4, 3}, gen), rand64({4}, gen), rand64({2, 3, 4}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return linear_add(in[0], in[1], {}, in[2]); },
                  {rand64({4, 3}, gen), rand64({2, 3}, gen), rand64({4, 2}, gen)});
  // The residual is also the input: two gradients meet in it.
  check_gradients([](const std::vector<Tensor>& in) { return linear_add(in[0], in[1], in[2], in[0]); },
                  {rand64({4, 3}, gen), rand64({3, 3}, gen), rand64({3}, gen)});
}

BOOST_AUTO_TEST_CASE(linear_add_keeps_nan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<double> y =
      linear_add(tensor({{1.0f, 1.0f}}), tensor({{1.0f, 1.0f}, {0.0f, -1.0f}}), {}, tensor({{nan, 1.0f}})).to_vector();
  BOOST_TEST(std::isnan(y[0]));
  BOOST_TEST(y[1] == 0.0);
}

BOOST_AUTO_TEST_CASE(linear_add_errors_name_it) {
  Tensor w = ones({5, 2});
  BOOST_CHECK_EXCEPTION(linear_add(ones({4, 2}), w, {}, ones({4, 4})), ShapeError,
                        has_message("linear_add: residual [4, 4] must have the output's shape [4, 5] (input [4, 2], "
                                    "weight [5, 2]); it is added as it is, not broadcast"));
  BOOST_CHECK_EXCEPTION(linear_add(ones({4, 2}), w, {}, ones({5})), ShapeError, has_message("not broadcast"));
  BOOST_CHECK_EXCEPTION(linear_add(ones({4, 2}), w, {}, ones({4, 5}, {.dtype = kFloat64})), DTypeError,
                        has_message("linear_add: expected floating-point tensors of one dtype, got input float32 and "
                                    "residual float64"));
  BOOST_CHECK_EXCEPTION(linear_add(ones({4, 3}), w, {}, ones({4, 5})), ShapeError,
                        has_message("linear_add: input [4, 3] has 3 features but weight [5, 2] expects 2"));
  BOOST_CHECK_EXCEPTION(linear_add(ones({4, 2}), w, {}, Tensor()), ValueError,
                        has_message("linear_add: residual is an undefined tensor"));
}
