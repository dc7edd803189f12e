// mse_loss and binary_cross_entropy_with_logits: values, reductions, stability, gradchecks, errors.
#include "support/test.hpp"

#include <cmath>
#include <numbers>

using namespace attograd;
using namespace attograd::testing;

namespace {
Tensor f64(std::initializer_list<double> v) { return tensor(v, {.dtype = kFloat64}); }
}  // namespace

BOOST_AUTO_TEST_SUITE(mse_loss_op)

BOOST_AUTO_TEST_CASE(values_and_reductions) {
  const Tensor a = f64({1.0, 2.0, 3.0});
  const Tensor b = f64({1.0, 0.0, 0.0});
  check_values(mse_loss(a, b, Reduction::None), {0.0, 4.0, 9.0}, 0.0);
  check_values(mse_loss(a, b, Reduction::Sum), {13.0}, 0.0);
  check_values(mse_loss(a, b), {13.0 / 3.0}, 1e-15);
  BOOST_TEST(mse_loss(a, b).dim() == 0);
}

BOOST_AUTO_TEST_CASE(gradient_is_2_diff_over_n) {
  Tensor a = f64({1.0, 2.0, 3.0}).requires_grad_();
  Tensor b = f64({1.0, 0.0, 0.0}).requires_grad_();
  mse_loss(a, b).backward();
  check_values(a.grad(), {0.0, 4.0 / 3.0, 2.0}, 1e-15);
  check_values(b.grad(), {0.0, -4.0 / 3.0, -2.0}, 1e-15);

  Generator gen(9);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    for (Shape s : {Shape{4}, Shape{2, 3}, Shape{1, 2, 1}}) {
      check_gradients([r](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], r); },
                      {rand64(s, gen), rand64(s, gen)});
    }
  }
}

BOOST_AUTO_TEST_CASE(shapes_must_match_exactly) {
  // [N] against [N, 1] would broadcast to [N, N]: a classic silent bug, refused here.
  BOOST_CHECK_EXCEPTION(mse_loss(zeros({3}), zeros({3, 1})), ShapeError,
                        has_message("mse_loss: input [3] and target [3, 1] must have the same shape"));
  BOOST_CHECK_EXCEPTION(mse_loss(zeros({3}), tensor_of<std::int64_t>({1, 2, 3}, {3})), DTypeError,
                        has_message("mse_loss: expected floating-point tensors of one dtype, got input float32 and "
                                    "target int64"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bce_with_logits_op)

BOOST_AUTO_TEST_CASE(a_zero_logit_costs_ln_2_whatever_the_target) {
  Tensor x = f64({0.0, 0.0}).requires_grad_();
  Tensor loss = binary_cross_entropy_with_logits(x, f64({1.0, 0.25}));
  check_values(loss, {std::numbers::ln2}, 1e-15);
  loss.backward();
  // dX = (sigmoid(0) - t) / 2: exact at the point where relu and abs have their kinks
  check_values(x.grad(), {-0.25, 0.125}, 1e-15);
}

BOOST_AUTO_TEST_CASE(matches_the_textbook_formula) {
  // -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), fine for moderate x
  const std::vector<double> xs{-3.0, -0.7, 0.2, 1.5, 2.9};
  const std::vector<double> ts{0.0, 1.0, 0.3, 1.0, 0.0};
  const Tensor each = binary_cross_entropy_with_logits(tensor(xs, {5}, {.dtype = kFloat64}),
                                                       tensor(ts, {5}, {.dtype = kFloat64}), Reduction::None);
  std::vector<double> expected;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-xs[i]));
    expected.push_back(-(ts[i] * std::log(s) + (1.0 - ts[i]) * std::log(1.0 - s)));
  }
  check_values(each, expected, 1e-13);
  check_values(binary_cross_entropy_with_logits(tensor(xs, {5}, {.dtype = kFloat64}),
                                                tensor(ts, {5}, {.dtype = kFloat64}), Reduction::Sum),
               {expected[0] + expected[1] + expected[2] + expected[3] + expected[4]}, 1e-13);
}

BOOST_AUTO_TEST_CASE(is_stable_for_huge_logits) {
  for (DType t : {kFloat32, kFloat64}) {
    Tensor x = tensor({1000.0, -1000.0, 1000.0, -1000.0}, {.dtype = t, .requires_grad = true});
    Tensor loss = binary_cross_entropy_with_logits(x, tensor({0.0, 0.0, 1.0, 1.0}, {.dtype = t}), Reduction::None);
    check_values(loss, {1000.0, 0.0, 0.0, 1000.0}, 1e-12);
    loss.sum().backward();
    check_values(x.grad(), {1.0, 0.0, 0.0, -1.0}, 1e-12);  // sigmoid(x) - t
  }
}

BOOST_AUTO_TEST_CASE(gradients_for_logits_and_targets_are_checked_against_finite_differences) {
  Generator gen(10);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    for (Shape s : {Shape{5}, Shape{2, 3}, Shape{3, 1, 2}}) {
      const Tensor targets = rand(s, gen, {.dtype = kFloat64}).requires_grad_();
      check_gradients([r](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1], r); },
                      {rand64(s, gen, 3.0), targets});
    }
  }
  // logits at exactly 0 (where a composite of relu and abs would go wrong)
  check_gradients([](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
                  {zeros({3}, {.dtype = kFloat64, .requires_grad = true}), f64({0.0, 0.5, 1.0})});
}

BOOST_AUTO_TEST_CASE(shapes_and_dtypes_must_match) {
  BOOST_CHECK_EXCEPTION(binary_cross_entropy_with_logits(zeros({4}), zeros({4, 1})), ShapeError,
                        has_message("binary_cross_entropy_with_logits: logits [4] and targets [4, 1] must have the "
                                    "same shape"));
  BOOST_CHECK_EXCEPTION(binary_cross_entropy_with_logits(zeros({4}), zeros({4}, {.dtype = kFloat64})), DTypeError,
                        has_message("expected floating-point tensors of one dtype, got logits float32 and targets float64"));
  BOOST_CHECK_EXCEPTION(binary_cross_entropy_with_logits(tensor_of<std::int64_t>({1}, {1}),
                                                         tensor_of<std::int64_t>({1}, {1})),
                        DTypeError, has_message("got logits int64 and targets int64"));
}

BOOST_AUTO_TEST_SUITE_END()
