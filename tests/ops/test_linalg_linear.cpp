// linear: the fused X·Wᵀ + b against hand values, the composite matmul + add, gradchecks, errors.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_CASE(linear_values_by_hand) {
  Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}});
  Tensor w = tensor({{1.0, 0.0}, {0.5, -1.0}, {0.0, 2.0}});  // [3, 2]
  Tensor b = tensor({0.1, 0.2, 0.3});
  check_values(linear(x, w, b), {1.1, -1.3, 4.3, 3.1, -2.3, 8.3}, 1e-6);
  check_values(linear(x, w), {1.0, -1.5, 4.0, 3.0, -2.5, 8.0}, 1e-6);
  check_values(linear(tensor({1.0, 2.0}), w, b), {1.1, -1.3, 4.3}, 1e-6);  // rank-1 input: one row
}

BOOST_AUTO_TEST_CASE(linear_matches_the_composite_in_float32) {
  Generator gen(3);
  for (const Shape& xs : {Shape{5, 8}, Shape{2, 3, 8}, Shape{2, 2, 2, 8}, Shape{1, 8}}) {
    Tensor x = randn(xs, gen).requires_grad_();
    Tensor w = randn({6, 8}, gen).requires_grad_();
    Tensor b = randn({6}, gen).requires_grad_();
    Tensor fused = linear(x, w, b);
    Tensor composite = matmul(x, w.mT()) + b;
    check_close(fused, composite, 1e-5);
    Tensor up = randn(fused.shape(), gen);
    fused.backward(up);
    const Tensor gx = x.grad().clone(), gw = w.grad().clone(), gb = b.grad().clone();
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    composite.backward(up);
    check_close(gx, x.grad(), 1e-5);
    check_close(gw, w.grad(), 1e-5);
    check_close(gb, b.grad(), 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(linear_gradients) {
  Generator gen(4);
  auto f = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  check_gradients(f, {rand64({4, 3}, gen), rand64({2, 3}, gen), rand64({2}, gen)});
  check_gradients(f, {rand64({2, 3, 3}, gen), rand64({5, 3}, gen), rand64({5}, gen)});
  check_gradients(f, {rand64({3}, gen), rand64({2, 3}, gen), rand64({2}, gen)});
  check_gradients([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                  {rand64({4, 3}, gen), rand64({2, 3}, gen)});
  // Only the weight requires grad (a frozen input).
  Tensor x = randn({4, 3}, gen, {.dtype = kFloat64});
  check_gradients([x](const std::vector<Tensor>& in) { return linear(x, in[0], in[1]); },
                  {rand64({2, 3}, gen), rand64({2}, gen)});
}

BOOST_AUTO_TEST_CASE(linear_with_no_rows) {
  Tensor x = zeros({0, 3}, {.requires_grad = true});
  Tensor w = ones({2, 3}, {.requires_grad = true});
  Tensor b = ones({2}, {.requires_grad = true});
  Tensor y = linear(x, w, b);
  BOOST_TEST(y.shape() == (Shape{0, 2}));
  y.sum().backward();
  check_values(w.grad(), {0, 0, 0, 0, 0, 0});
  check_values(b.grad(), {0, 0});
}

BOOST_AUTO_TEST_CASE(linear_errors) {
  Tensor w = ones({5, 2});
  BOOST_CHECK_EXCEPTION(linear(ones({4, 3}), w), ShapeError,
                        has_message("linear: input [4, 3] has 3 features but weight [5, 2] expects 2"));
  BOOST_CHECK_EXCEPTION(linear(ones({4, 2}), ones({2})), ShapeError,
                        has_message("linear: weight must be 2-D [out, in], got shape [2]"));
  BOOST_CHECK_EXCEPTION(linear(ones({4, 2}), w, ones({4})), ShapeError,
                        has_message("linear: bias must have shape [5] to match weight [5, 2], got [4]"));
  BOOST_CHECK_EXCEPTION(linear(ones({4, 2}, {.dtype = kFloat64}), w), DTypeError,
                        has_message("linear: expected floating-point tensors of one dtype, got input float64 and weight "
                                    "float32; mixed dtypes are not promoted here"));
}

// A module's weight carries its path: the error says which layer of a model got the wrong input.
BOOST_AUTO_TEST_CASE(linear_errors_name_a_named_weight) {
  Tensor w = ones({5, 2});
  w.set_name("blocks.1.ff.hidden.weight");
  BOOST_CHECK_EXCEPTION(linear(ones({4, 3}), w), ShapeError,
                        has_message("linear: input [4, 3] has 3 features but weight 'blocks.1.ff.hidden.weight' [5, 2] "
                                    "expects 2"));
  BOOST_CHECK_EXCEPTION(linear(ones({4, 2}), w, ones({4})), ShapeError,
                        has_message("linear: bias must have shape [5] to match weight 'blocks.1.ff.hidden.weight' [5, 2], "
                                    "got [4]"));
  BOOST_CHECK_EXCEPTION(linear_relu(ones({4, 3}), w), ShapeError,
                        has_message("linear_relu: input [4, 3] has 3 features but weight 'blocks.1.ff.hidden.weight'"));
  w.set_name("weight");  // a lone Linear's: the name adds nothing
  BOOST_CHECK_EXCEPTION(linear(ones({4, 3}), w), ShapeError,
                        has_message("linear: input [4, 3] has 3 features but weight [5, 2] expects 2"));
}
