// The gradcheck column of docs/ops.md credits an op only through checks that target it: the op that
// made the tensor the check's function returns, for the inputs that needed a gradient.
#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_CASE(the_target_is_the_op_that_made_the_result_not_the_ops_inside) {
  Generator gen(1);
  CheckTarget target;
  check_gradients([](const auto& in) { return tanh(in[0]) * 2.0; }, {rand64({2, 3}, gen)});
  BOOST_TEST(target.key() == "mul (A * s)");
  BOOST_TEST((target.slots() == std::set<std::size_t>{0}));
}

BOOST_AUTO_TEST_CASE(only_the_inputs_that_needed_a_gradient_are_checked) {
  Generator gen(2);
  const Tensor a = randn({2, 3}, gen, {.dtype = kFloat64});  // a constant: its gradient is not checked
  CheckTarget target;
  check_gradients([a](const auto& in) { return matmul(a, in[0]); }, {rand64({3, 4}, gen)});
  BOOST_TEST(target.key() == "matmul");
  BOOST_TEST((target.slots() == std::set<std::size_t>{1}));
}

BOOST_AUTO_TEST_CASE(a_check_that_returns_its_input_targets_nothing) {
  Generator gen(3);
  CheckTarget target;
  BOOST_TEST(gradcheck([](const auto& in) { return in[0]; }, {rand64({2}, gen)}).ok);
  BOOST_TEST(target.key().empty());
}
