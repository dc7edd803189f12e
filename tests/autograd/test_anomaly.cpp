// Anomaly mode: the first backward step that sends a NaN or an infinity stops backward with an error
// naming the op, the gradient, the values and where the op was created in the forward pass.
#include "support/test.hpp"

#include <limits>
#include <source_location>

#include <attograd/train/report.hpp>
#include <fmt/format.h>

using namespace attograd;
using namespace attograd::testing;
using autograd::AnomalyMode;
using autograd::ForwardSite;

namespace {

Tensor leaf64(std::vector<double> values, const std::string& name = "") {
  const auto n = static_cast<std::int64_t>(values.size());
  Tensor t = tensor(values, {n}, {.dtype = kFloat64, .requires_grad = true});
  if (!name.empty()) t.set_name(name);
  return t;
}

std::string where(const std::source_location& at) {
  return fmt::format("{}:{} ({})", at.file_name(), at.line(), at.function_name());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(anomaly)

// log(0) = -inf in the forward pass, and its backward dX = dY / X divides by that 0.
BOOST_AUTO_TEST_CASE(log_of_zero_is_named_with_the_anomaly_scope) {
  Tensor x = leaf64({1.0, 0.0, 2.0}, "x");
  const std::source_location at = std::source_location::current();
  AnomalyMode anomaly(at);
  Tensor loss = sum(log(x));
  BOOST_CHECK_EXCEPTION(
      loss.backward(), AutogradError,
      has_message(fmt::format("anomaly: the backward of 'log' produced 1 infinite value in the gradient for its input "
                              "X (shape [3]): dX[1] = inf, where X[1] = 0. 'log' was op 1 of 2 in forward order, "
                              "applied to leaf 'x' [3], recorded in the scope of the AnomalyMode at {}. The gradient "
                              "it received, dY, was finite. Its rule: dX = dY / X "
                              "(docs/derivations/elementwise.md#functions-of-one-tensor)",
                              where(at))));
  BOOST_TEST(!x.grad().defined());  // backward stopped before reaching the leaf
}

// sqrt's backward dX = dY / (2 Y) divides by the output, 0 at X = 0. A ForwardSite names the line.
BOOST_AUTO_TEST_CASE(sqrt_at_zero_is_named_with_its_forward_site) {
  Tensor w = leaf64({4.0, 0.0, 9.0}, "w");
  AnomalyMode anomaly;
  std::source_location at;
  Tensor loss;
  {
    at = std::source_location::current();
    ForwardSite here(at);
    loss = sum(sqrt(w) * 3.0);
  }
  BOOST_CHECK_EXCEPTION(
      loss.backward(), AutogradError,
      has_message(fmt::format("anomaly: the backward of 'sqrt' produced 1 infinite value in the gradient for its "
                              "input X (shape [3]): dX[1] = inf, where X[1] = 0. 'sqrt' was op 1 of 3 in forward "
                              "order, applied to leaf 'w' [3], recorded in the ForwardSite at {}. The gradient it "
                              "received, dY, was finite. Its rule: dX = dY / (2 Y)",
                              where(at))));
}

// The op's inputs are named by their own position in forward order. An intermediate's value is gone
// by backward (nothing kept it), so the message gives only the gradient's.
BOOST_AUTO_TEST_CASE(an_op_deeper_in_the_graph_is_placed_by_its_inputs) {
  AnomalyMode anomaly;
  Tensor x = leaf64({1.0, 0.0});
  Tensor loss = sum(log(x * 2.0) + x);
  BOOST_CHECK_EXCEPTION(loss.backward(), AutogradError,
                        has_message("gradient for its input X (shape [2]): dX[1] = inf. 'log' was op 2 of 4 in "
                                    "forward order, applied to 'mul' (op 1), recorded"));
}

BOOST_AUTO_TEST_CASE(nan_is_reported_and_so_is_a_non_finite_gradient_received) {
  AnomalyMode anomaly;
  // sqrt(0) * 0: the mul sends 0, and sqrt's backward computes 0 / 0 = NaN.
  Tensor x = leaf64({0.0});
  Tensor y = sqrt(x) * 0.0;
  BOOST_CHECK_EXCEPTION(y.backward(tensor({1.0}, {.dtype = kFloat64})), AutogradError,
                        has_message("anomaly: the backward of 'sqrt' produced 1 NaN value in the gradient for its "
                                    "input X (shape [1]): dX[0] = nan, where X[0] = 0. 'sqrt' was op 1 of 2 in forward "
                                    "order, applied to a leaf [1]"));
  // An upstream gradient that is already NaN: the first op to pass it on is named, and the message
  // says it came in that way.
  Tensor z = leaf64({1.0, 2.0}) * 2.0;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_EXCEPTION(z.backward(tensor({1.0, nan}, {.dtype = kFloat64})), AutogradError,
                        has_message("the backward of 'mul' produced 1 NaN value in the gradient for its input A (shape "
                                    "[2]): dA[1] = nan, where A[1] = 2. 'mul' was op 1 of 1 in forward order, applied "
                                    "to a leaf [2] and the constant s = 2, recorded in the scope of the AnomalyMode at"));
  BOOST_CHECK_EXCEPTION(z.backward(tensor({1.0, nan}, {.dtype = kFloat64})), AutogradError,
                        has_message("The gradient it received, dC, already had 1 NaN value. Its rule: dA = dC * s"));
}

BOOST_AUTO_TEST_CASE(several_bad_values_are_counted) {
  AnomalyMode anomaly;
  Tensor x = leaf64({0.0, 1.0, 0.0, -0.0});
  Tensor loss = sum(log(x));
  BOOST_CHECK_EXCEPTION(loss.backward(), AutogradError,
                        has_message("produced 3 infinite values in the gradient for its input X (shape [4]): "
                                    "dX[0] = inf, where X[0] = 0"));
}

BOOST_AUTO_TEST_CASE(without_a_site_the_message_says_how_to_get_one) {
  Tensor x = leaf64({0.0});
  Tensor loss = sum(log(x));  // recorded before anomaly mode was on: no site was noted
  AnomalyMode anomaly;
  BOOST_CHECK_EXCEPTION(loss.backward(), AutogradError,
                        has_message("applied to a leaf [1] (put an autograd::ForwardSite in the forward code to get "
                                    "its file and line)"));
}

BOOST_AUTO_TEST_CASE(without_anomaly_mode_backward_lets_the_infinity_through) {
  Tensor x = leaf64({1.0, 0.0});
  sum(log(x)).backward();
  BOOST_TEST(std::isinf(x.grad().to_vector<double>()[1]));
  {
    AnomalyMode anomaly;  // a finite backward passes untouched
    Tensor w = leaf64({1.0, 2.0});
    sum(log(w)).backward();
    check_values(w.grad(), {1.0, 0.5});
  }
  // The guard is gone: the same infinity passes again.
  x.zero_grad();
  sum(log(x)).backward();
  BOOST_TEST(std::isinf(x.grad().to_vector<double>()[1]));
}

BOOST_AUTO_TEST_CASE(sites_are_noted_only_while_anomaly_mode_is_on_and_nest) {
  Tensor x = leaf64({1.0});
  {
    ForwardSite here;
    BOOST_TEST(tanh(x).grad_fn()->notes() == nullptr);  // no anomaly mode: nothing noted, nothing allocated
  }
  AnomalyMode anomaly;
  const std::source_location outer = std::source_location::current();
  ForwardSite a(outer);
  {
    const std::source_location inner = std::source_location::current();
    ForwardSite b(inner);
    const Tensor y = tanh(x);
    const autograd::NodeNotes* notes = y.grad_fn()->notes();
    BOOST_TEST_REQUIRE(notes != nullptr);
    BOOST_TEST(notes->has_where);
    BOOST_TEST(notes->where.line() == inner.line());
    BOOST_TEST(!notes->value.defined());  // anomaly mode keeps sites, not values
  }
  const Tensor z = tanh(x);
  const autograd::NodeNotes* notes = z.grad_fn()->notes();
  BOOST_TEST_REQUIRE(notes != nullptr);
  BOOST_TEST(notes->where.line() == outer.line());
}

// r * NaN: the gradient dA = dC * s is NaN because the constant s is; the message must say so, since
// no input of the op holds the NaN.
BOOST_AUTO_TEST_CASE(a_nan_constant_is_named_as_the_cause) {
  Tensor r = leaf64({1.0, 2.0}, "r");
  AnomalyMode anomaly;
  Tensor loss = sum(r * std::numeric_limits<double>::quiet_NaN());
  BOOST_CHECK_EXCEPTION(loss.backward(), AutogradError,
                        has_message("applied to leaf 'r' [2] and the constant s = nan (the constant s is itself nan: "
                                    "that is where the values come from)"));
}

// train::check_loss, which stops a run on a NaN loss, sends the user here: it must name this guard
// by its real, qualified name, so that the advice compiles when pasted.
BOOST_AUTO_TEST_CASE(the_training_stop_names_this_guard) {
  BOOST_CHECK_EXCEPTION(train::check_loss(std::numeric_limits<double>::quiet_NaN(), 3), ValueError,
                        has_message("rerun with anomaly mode on (attograd::autograd::AnomalyMode alive over forward "
                                    "and backward)"));
}

BOOST_AUTO_TEST_SUITE_END()
