// gradcheck itself: it must pass correct gradients and, more importantly, fail wrong ones with a message
// that names the input, the element and both values.
#include "support/test.hpp"

#include <string>
#include <vector>

using namespace attograd;
using namespace attograd::testing;
using autograd::Grads;
using autograd::Node;
using autograd::record;

namespace {

// y = x^2 elementwise, with the backward the caller gives (the right one is dY * 2x).
Tensor square(const Tensor& x, Node::BackwardFn backward) {
  Tensor y = x.detach() * x.detach();
  if (Node* node = record("square", y, {x})) node->backward = std::move(backward);
  return y;
}

GradcheckFn square_with(Node::BackwardFn backward) {
  return [backward](const std::vector<Tensor>& in) { return square(in[0], backward); };
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(gradcheck_checker)

BOOST_AUTO_TEST_CASE(passes_correct_gradients_and_counts_elements) {
  Generator gen(1);
  const Tensor a = rand64({2, 3}, gen);
  const Tensor b = rand64({3, 4}, gen);
  const GradcheckResult r = gradcheck([](const auto& in) { return tanh(matmul(in[0], in[1])); }, {a, b});
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(static_cast<bool>(r));
  BOOST_TEST(r.message.empty());
  BOOST_TEST(r.checked == 6 + 12);
  BOOST_TEST(r.failed == 0);
  BOOST_TEST(r.max_abs_diff < 1e-7);

  // Only inputs that require grad are checked; the others are passed through as they are.
  const Tensor c = randn({2, 3}, gen, {.dtype = kFloat64});
  const GradcheckResult partial = gradcheck([](const auto& in) { return in[0] * in[1]; }, {a, c});
  BOOST_TEST(partial.ok, partial.message);
  BOOST_TEST(partial.checked == 6);

  // A correct custom op passes.
  const GradcheckResult sq = gradcheck(square_with([X = a.detach()](const Tensor& dY, Grads& d) {
                                         d[0] = dY * 2.0 * X;
                                       }),
                                       {a});
  BOOST_TEST(sq.ok, sq.message);
}

BOOST_AUTO_TEST_CASE(fails_a_wrong_backward_naming_input_element_and_values) {
  // The backward claims d(x^2)/dx = 3x instead of 2x. Checked in the second input, so that the
  // message must name input 1.
  const Tensor other = tensor({1.0}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor x = tensor({{1.0, 2.0}, {-0.5, 4.0}}, {.dtype = kFloat64, .requires_grad = true});
  const GradcheckFn f = [](const std::vector<Tensor>& in) {
    const Tensor X = in[1].detach();
    return square(in[1], [X](const Tensor& dY, Grads& d) { d[0] = dY * 3.0 * X; }) + in[0];
  };
  const GradcheckResult r = gradcheck(f, {other, x});
  BOOST_TEST(!r.ok);
  BOOST_TEST(!static_cast<bool>(r));
  BOOST_TEST(r.checked == 1 + 4);
  BOOST_TEST(r.failed == 4);
  BOOST_TEST(r.max_abs_diff > 0.1);
  // The first failing element is [0, 0]: with the projection v, analytic = 3 * 1 * v00, numeric = 2 * 1 * v00.
  Generator seed0(0);  // gradcheck's default seed for v
  const double v00 = randn({2, 2}, seed0, {.dtype = kFloat64}).at({0, 0});
  BOOST_TEST(contains(r.message, fmt::format("gradcheck: input 1 (shape [2, 2]), element [0, 0]: analytic {:.10g} vs "
                                             "numeric ", 3.0 * v00)), r.message);
  const std::size_t at = r.message.find("vs numeric ");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  BOOST_TEST(std::stod(r.message.substr(at + 11)) == 2.0 * v00, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(contains(r.message, "> atol 1e-05 + rtol 0.001 * |numeric|)"), r.message);
  BOOST_TEST(contains(r.message, "; 4 of 5 elements outside the tolerance"), r.message);
}

BOOST_AUTO_TEST_CASE(finds_a_single_wrong_element) {
  const Tensor x = tensor({0.5, -1.0, 2.0, 3.0}, {.dtype = kFloat64, .requires_grad = true});
  // Right except at element 2, which is 1.5 times too big (still zero for a zero upstream gradient).
  const auto off_at_2 = square_with([X = x.detach()](const Tensor& dY, Grads& d) {
    Tensor g = dY * 2.0 * X;
    g.set({2}, g.at({2}) * 1.5);
    d[0] = g;
  });
  const GradcheckResult r = gradcheck(off_at_2, {x});
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.failed == 1);
  BOOST_TEST(r.checked == 4);
  Generator seed0(0);
  const double v2 = randn({4}, seed0, {.dtype = kFloat64}).at({2});
  BOOST_TEST(r.max_abs_diff == std::abs(0.5 * 2.0 * 2.0 * v2), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(contains(r.message, "gradcheck: input 0 (shape [4]), element [2]: analytic "), r.message);
  BOOST_TEST(contains(r.message, "; 1 of 4 elements outside the tolerance"), r.message);
  // Loose enough tolerances let it pass: the options are used.
  BOOST_TEST(gradcheck(off_at_2, {x}, {.rtol = 1.0}).ok);
}

BOOST_AUTO_TEST_CASE(a_missing_or_nan_gradient_fails) {
  // f cuts the graph with detach(): the analytic gradient is 0 but the function does depend on x.
  const Tensor x = tensor({0.5, 1.5}, {.dtype = kFloat64, .requires_grad = true});
  const GradcheckResult cut = gradcheck([](const auto& in) { return in[0].detach() * in[0]; }, {x});
  BOOST_TEST(!cut.ok);
  BOOST_TEST(cut.failed == 2);
  BOOST_TEST(contains(cut.message, "input 0 (shape [2]), element [0]: analytic"), cut.message);
  // A NaN gradient never passes.
  const GradcheckResult nan = gradcheck(square_with([](const Tensor& dY, Grads& d) { d[0] = dY * NAN; }), {x},
                                        {.check_repeat = false, .check_zero_grad = false});
  BOOST_TEST(!nan.ok);
  BOOST_TEST(contains(nan.message, "element [0]: analytic nan vs numeric"), nan.message);
}

BOOST_AUTO_TEST_CASE(detects_a_backward_that_is_not_repeatable) {
  // Each call of this backward returns a slightly different (and each time nearly right) gradient.
  auto calls = std::make_shared<int>(0);
  const Tensor x = tensor({0.5, 1.5}, {.dtype = kFloat64, .requires_grad = true});
  const auto drifting = square_with([calls, X = x.detach()](const Tensor& dY, Grads& d) {
    d[0] = dY * 2.0 * X + 1e-9 * (*calls)++;
  });
  const GradcheckResult r = gradcheck(drifting, {x}, {.check_zero_grad = false});
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.failed == 0);  // every element agrees with finite differences...
  BOOST_TEST(r.checked == 2);
  BOOST_TEST(contains(r.message, "gradcheck: backward is not repeatable: input 0, element [0]: "), r.message);
  BOOST_TEST(contains(r.message, " then "), r.message);
  // ...so without the repeat check it passes.
  BOOST_TEST(gradcheck(drifting, {x}, {.check_repeat = false, .check_zero_grad = false}).ok);
}

BOOST_AUTO_TEST_CASE(detects_a_gradient_from_a_zero_upstream) {
  // Right for any non-zero upstream gradient, but a zero upstream gradient yields ones.
  const Tensor x = tensor({0.5, 1.5, -2.0}, {.dtype = kFloat64, .requires_grad = true});
  const auto leaky = square_with([X = x.detach()](const Tensor& dY, Grads& d) {
    d[0] = all(eq(dY, 0.0)) ? ones_like(X) : dY * 2.0 * X;
  });
  const GradcheckResult r = gradcheck(leaky, {x});
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.failed == 0);
  BOOST_TEST(contains(r.message, "gradcheck: a zero upstream gradient gave a non-zero gradient: input 0, "
                                 "element [0]: 1"),
             r.message);
  BOOST_TEST(gradcheck(leaky, {x}, {.check_zero_grad = false}).ok);
}

BOOST_AUTO_TEST_CASE(refuses_bad_inputs) {
  const Tensor f32 = tensor({1.0, 2.0}, {.requires_grad = true});
  const Tensor f64 = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  const auto add = [](const auto& in) { return in[0] + in[1]; };
  BOOST_CHECK_EXCEPTION(gradcheck(add, {f32, f64}), DTypeError,
                        has_message("gradcheck: input 0 is float32; finite differences need float64 (pass "
                                    "x.to(kFloat64), then requires_grad_())"));
  BOOST_CHECK_EXCEPTION(gradcheck(add, {f64, f32}), DTypeError, has_message("gradcheck: input 1 is float32"));
  // float32 is fine for an input that is not checked.
  BOOST_TEST(gradcheck([](const auto& in) { return in[0] * in[1].to(kFloat64); }, {f64, f32.detach()}).ok);

  BOOST_CHECK_EXCEPTION(gradcheck(add, {f64.detach(), f64.detach()}), ValueError,
                        has_message("gradcheck: no input requires grad, so there is nothing to check"));
  BOOST_CHECK_EXCEPTION(gradcheck(add, {f64, Tensor()}), ValueError, has_message("gradcheck: input 1 is undefined"));
  BOOST_CHECK_EXCEPTION(gradcheck([](const auto& in) { return in[0].to(kFloat32); }, {f64}), DTypeError,
                        has_message("gradcheck: the function must return a float64 tensor, got float32"));
  BOOST_CHECK_EXCEPTION(gradcheck([](const auto&) { return Tensor(); }, {f64}), DTypeError,
                        has_message("the function must return a float64 tensor, got undefined"));
}

BOOST_AUTO_TEST_CASE(leaves_the_callers_tensors_alone) {
  Tensor x = tensor({0.5, -1.5, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor old_grad = tensor({7.0, 8.0, 9.0}, {.dtype = kFloat64});
  x.set_grad(old_grad);
  const std::uint64_t version = x.impl()->storage->version();
  Tensor w = tensor({1.0, 2.0, 3.0}, {.dtype = kFloat64, .requires_grad = true});
  const Tensor h = w * 2.0;  // a non-leaf input

  const GradcheckResult r = gradcheck([](const auto& in) { return (in[0] * in[1]).exp(); }, {x, h});
  BOOST_TEST(r.ok, r.message);
  check_values(x, {0.5, -1.5, 2.0}, 0.0);
  BOOST_TEST(x.impl()->storage->version() == version);
  BOOST_TEST(x.grad().is_same(old_grad));
  check_values(x.grad(), {7.0, 8.0, 9.0}, 0.0);
  BOOST_TEST(x.requires_grad());
  BOOST_TEST(x.is_leaf());
  BOOST_TEST(!w.grad().defined());  // nothing flowed back through h's graph
  BOOST_TEST(h.grad_fn_name() == "mul");
}

BOOST_AUTO_TEST_CASE(works_inside_a_no_grad_guard) {
  // Before the fix, gradcheck recorded nothing under a NoGradGuard, took the analytic gradient to be 0
  // and reported a correct op as wrong.
  Generator gen(3);
  const Tensor x = rand64({3}, gen);
  NoGradGuard no_grad;
  const GradcheckResult r = gradcheck([](const auto& in) { return in[0].tanh(); }, {x});
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(!GradMode::is_enabled());  // and the caller's mode is kept
}

BOOST_AUTO_TEST_CASE(scalars_and_the_seed_option) {
  const Tensor s = scalar_tensor(0.7, {.dtype = kFloat64, .requires_grad = true});
  const GradcheckResult r = gradcheck([](const auto& in) { return in[0].sigmoid() * in[0]; }, {s});
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(r.checked == 1);
  // Another projection vector finds the same wrong gradient.
  const GradcheckResult w = gradcheck(square_with([](const Tensor& dY, Grads& d) { d[0] = dY; }), {s},
                                      {.seed = 99});
  BOOST_TEST(!w.ok);
  BOOST_TEST(contains(w.message, "input 0 (shape []), element []: analytic"), w.message);
}

BOOST_AUTO_TEST_SUITE_END()
