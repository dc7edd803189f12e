// to(dtype)'s backward against finite differences. gradcheck needs float64 inputs, and a float64 ->
// float64 to() records nothing, so the check goes through float32 and back: rounding to float32 makes
// the function a staircase at the scale of 1e-7, so the step is widened to 1e-2, where the staircase
// is invisible and the function is the identity it should be.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(join_dtype_grad)

BOOST_AUTO_TEST_CASE(to_float32_and_back_passes_the_gradient_through) {
  Generator gen(7);
  const GradcheckOptions wide{.eps = 1e-2, .atol = 1e-4, .rtol = 1e-3};
  for (const Shape& s : {Shape{}, Shape{4}, Shape{2, 3}}) {
    check_gradients([](const auto& in) { return to(to(in[0], kFloat32), kFloat64); }, {rand64(s, gen)}, wide);
    // Mixed dtypes: the float32 operand is converted by to() inside mul, and its gradient converted back.
    check_gradients([](const auto& in) { return to(in[0], kFloat32) * in[1]; }, {rand64(s, gen), rand64(s, gen)}, wide);
  }
}

BOOST_AUTO_TEST_CASE(the_gradient_comes_back_in_the_input_dtype) {
  Tensor x = tensor({1.5, -2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = to(x, kFloat32) * 3.0;
  BOOST_TEST(y.grad_fn()->inputs()[0]->op() == "to");
  y.backward(ones({2}));
  BOOST_TEST((x.grad().dtype() == kFloat64));
  check_values(x.grad(), {3.0, 3.0});
}

BOOST_AUTO_TEST_SUITE_END()
