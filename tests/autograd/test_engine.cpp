// The engine: topological order, accumulation (and the version of .grad it bumps), freeing, retain_graph,
// errors, hooks, and the reuse of a gradient's memory (offered, taken, and kept from those who read it).
#include <cmath>

#include "support/test.hpp"

using namespace attograd;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(leaf_gradients_add_across_backward_calls) {
  // x = 5, y = x^4: dy/dx = 4 x^3 = 500; a second backward adds another 500.
  Tensor x = scalar_tensor(5.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = pow(x, 4.0);
  y.backward({}, {.retain_graph = true});
  BOOST_TEST(x.grad().item() == 500.0);
  y.backward();
  BOOST_TEST(x.grad().item() == 1000.0);
  x.zero_grad();
  BOOST_TEST(!x.grad().defined());
}

BOOST_AUTO_TEST_CASE(a_value_used_twice_gets_both_contributions) {
  // y = x * x: two edges to the same leaf, dy/dx = x + x = 6 at x = 3.
  Tensor x = scalar_tensor(3.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = x * x;
  y.backward();
  BOOST_TEST(x.grad().item() == 6.0);

  // An intermediate used twice: a = 2x, y = a * a + a; dy/da = 2a + 1, dy/dx = 2(2a + 1) = 26 at x = 3.
  Tensor z = scalar_tensor(3.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor a = z * 2.0;
  Tensor w = a * a + a;
  w.backward();
  BOOST_TEST(z.grad().item() == 26.0);
}

BOOST_AUTO_TEST_CASE(backward_through_a_freed_graph_is_an_error) {
  Tensor x = scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = exp(x) * 3.0;
  y.backward();
  BOOST_CHECK_EXCEPTION(y.backward(), AutogradError, has_message("already freed"));
}

BOOST_AUTO_TEST_CASE(non_scalar_backward_needs_a_gradient) {
  Tensor x = ones({2, 3}, {.requires_grad = true});
  Tensor y = x * 2.0;
  BOOST_CHECK_EXCEPTION(y.backward(), AutogradError, has_message("has shape [2, 3]"));
  y.backward(ones({2, 3}));
  check_values(x.grad(), {2, 2, 2, 2, 2, 2});
  BOOST_CHECK_EXCEPTION(y.backward(ones({3})), ShapeError, has_message("the gradient is [3] float32 but the tensor is [2, 3] float32"));
}

BOOST_AUTO_TEST_CASE(backward_on_a_constant_is_an_error) {
  Tensor x = ones({2});
  BOOST_CHECK_EXCEPTION(x.sum().backward(), AutogradError, has_message("does not require grad"));
}

BOOST_AUTO_TEST_CASE(backward_on_a_loss_computed_under_no_grad_names_the_guard) {
  Tensor w = ones({2}, {.requires_grad = true});
  Tensor loss;
  Tensor hidden;
  {
    NoGradGuard guard;
    loss = (w * 3.0).sum();
    hidden = w * 2.0;
  }
  const char* says = "was computed while a NoGradGuard was alive, so no graph was recorded";
  BOOST_CHECK_EXCEPTION(loss.backward(), AutogradError, has_message(says));
  // ... also when the guard's result goes on into ops outside it.
  BOOST_CHECK_EXCEPTION((hidden * hidden).sum().backward(), AutogradError, has_message(says));
  // A constant that never met a tensor requiring grad keeps the requires_grad_() hint.
  BOOST_CHECK_EXCEPTION(ones({2}).sum().backward(), AutogradError, has_message("call requires_grad_() on the leaves"));
}

BOOST_AUTO_TEST_CASE(a_gradient_of_another_dtype_says_how_to_convert_it) {
  Tensor x = ones({2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = x * 2.0;
  BOOST_CHECK_EXCEPTION(y.backward(ones({2})), DTypeError, has_message("convert it with .to(kFloat64)"));
  BOOST_CHECK_EXCEPTION(x.set_grad(ones({2})), DTypeError, has_message("convert it with .to(kFloat64)"));
}

BOOST_AUTO_TEST_CASE(double_backward_is_refused) {
  Tensor x = scalar_tensor(1.0, {.requires_grad = true});
  Tensor y = x * x;
  BOOST_CHECK_EXCEPTION(y.backward({}, {.create_graph = true}), AutogradError, has_message("double backward"));
}

BOOST_AUTO_TEST_CASE(no_grad_guard_records_nothing) {
  Tensor x = ones({2}, {.requires_grad = true});
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(!y.grad_fn());
    {
      EnableGradGuard on;
      BOOST_TEST((x * 2.0).requires_grad());
    }
  }
  BOOST_TEST((x * 2.0).requires_grad());
}

BOOST_AUTO_TEST_CASE(detach_cuts_the_graph_and_shares_storage) {
  Tensor x = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor y = x * 3.0;
  Tensor d = y.detach();
  BOOST_TEST(!d.requires_grad());
  BOOST_TEST(d.is_leaf());
  BOOST_TEST(d.impl()->storage == y.impl()->storage);
  Tensor z = (d * x).sum();  // only the path through x carries a gradient
  z.backward();
  check_values(x.grad(), {3.0, 6.0});
}

BOOST_AUTO_TEST_CASE(retain_grad_keeps_an_intermediate_gradient) {
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor h = x * 3.0;
  h.retain_grad();
  Tensor y = (h * h).sum();
  y.backward();
  check_values(h.grad(), {6.0, 12.0});   // dy/dh = 2h
  check_values(x.grad(), {18.0, 36.0});  // dy/dx = 2h * 3
  // Intermediates keep no gradient by default, and asking for one says how to keep it.
  Tensor other = x * 2.0;
  BOOST_CHECK_EXCEPTION(other.grad(), AutogradError,
                        has_message("grad: this tensor is an intermediate (the output of mul), and backward() keeps "
                                    "the gradients of leaves only; call retain_grad() on it before backward()"));
  other.set_name("hidden");
  BOOST_CHECK_EXCEPTION(other.grad(), AutogradError, has_message("grad: 'hidden' is an intermediate"));
  // A leaf that no backward reached yet simply has none.
  BOOST_TEST(!tensor({1.0}, {.requires_grad = true}).grad().defined());
}

BOOST_AUTO_TEST_CASE(modifying_a_saved_tensor_in_place_is_caught) {
  Tensor w = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor x = tensor({3.0, 4.0});
  Tensor y = (w * x).sum();  // mul saves x
  x.add_(ones({2}));
  BOOST_CHECK_EXCEPTION(y.backward(), AutogradError, has_message("modified in place"));
}

BOOST_AUTO_TEST_CASE(in_place_update_of_a_grad_tensor_needs_no_grad) {
  Tensor w = ones({2}, {.requires_grad = true});
  BOOST_CHECK_EXCEPTION(w.add_(ones({2})), AutogradError, has_message("NoGradGuard"));
  {
    NoGradGuard guard;
    w.add_(ones({2}), -0.5);
  }
  check_values(w, {0.5, 0.5});
}

BOOST_AUTO_TEST_CASE(accumulating_into_grad_bumps_its_version) {
  // y = sum(w * x.grad) saves x.grad. A second backward adds into x.grad in place, so y's graph would
  // compute dw from the new x.grad: it must refuse, as for any other in-place write (PyTorch too).
  Tensor x = tensor({1.0, 2.0}, {.dtype = kFloat64, .requires_grad = true});
  (x * x).sum().backward();  // x.grad = 2x = [2, 4]
  Tensor w = tensor({1.0, 1.0}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = (w * x.grad()).sum();
  const std::uint64_t before = x.grad().impl()->storage->version();
  (x * x).sum().backward();  // x.grad += [2, 4]
  check_values(x.grad(), {4, 8});
  BOOST_TEST(x.grad().impl()->storage->version() == before + 1);
  BOOST_CHECK_EXCEPTION(y.backward(), AutogradError, has_message("saved by 'mul' (node"));
  BOOST_TEST(!w.grad().defined());

  // The same for the .grad of an intermediate that retains its gradient: h = 3x, L = sum(h * h),
  // h.grad = 2h = [6, 12], then [12, 24] after the second backward.
  Tensor h = x * 3.0;
  h.retain_grad();
  Tensor L = (h * h).sum();
  L.backward({}, {.retain_graph = true});
  check_values(h.grad(), {6, 12});
  Tensor z = (w * h.grad()).sum();
  L.backward();
  check_values(h.grad(), {12, 24});
  BOOST_CHECK_EXCEPTION(z.backward(), AutogradError, has_message("modified in place after it was saved"));
}

BOOST_AUTO_TEST_CASE(hooks_see_every_step_in_topological_order) {
  Tensor x = scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = exp(x * x);
  std::vector<std::string> ops;
  std::vector<bool> accumulated;
  {
    autograd::StepHookGuard hook([&](const autograd::BackwardStep& s) {
      ops.push_back(s.node.op());
      if (s.node.kind() == autograd::Node::Kind::Op && s.node.op() == "mul") {
        accumulated.assign(s.accumulated.begin(), s.accumulated.end());
      }
    });
    y.backward();
  }
  BOOST_TEST((ops == std::vector<std::string>{"exp", "mul", "leaf"}));
  // x * x sends two gradients to x: the second is added to the first.
  BOOST_TEST((accumulated == std::vector<bool>{false, true}));
}

BOOST_AUTO_TEST_CASE(after_last_step_runs_once_when_every_gradient_is_in_place) {
  Tensor x = scalar_tensor(2.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = exp(x * x);
  int calls = 0;
  double grad_seen = 0.0;
  {
    autograd::StepHookGuard hook([](const autograd::BackwardStep&) {},
                                 {.reads_grad_output = false, .after_last_step = [&] {
                                    ++calls;
                                    grad_seen = x.grad().item();
                                  }});
    y.backward({}, {.retain_graph = true});
    BOOST_TEST(calls == 1);
    BOOST_TEST(grad_seen == 4.0 * std::exp(4.0));  // d exp(x²)/dx = 2x·exp(x²) at x = 2
    // A pass that ends with an exception does not run it.
    autograd::StepHookGuard failing([](const autograd::BackwardStep&) { throw ValueError("stop"); });
    BOOST_CHECK_THROW(y.backward({}, {.retain_graph = true}), ValueError);
    BOOST_TEST(calls == 1);
  }
  y.backward();  // no hook installed any more
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(a_deep_chain_does_not_overflow_the_stack) {
  Tensor x = scalar_tensor(1.0, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 1.0;
  y.backward();
  BOOST_TEST(x.grad().item() == 1.0);
}

namespace {

// y = x, whose backward notes whether the engine offered it the incoming gradient's memory.
Tensor offer_probe(const Tensor& x, bool& offered) {
  static const autograd::Op probe_op({.name = "offer_probe_test", .rule = "dX = dY"});
  Tensor y = x.detach().clone();
  if (autograd::Node* node = autograd::record(probe_op, y, {x})) {
    node->backward = [&offered](const Tensor& dY, autograd::Grads& d) {
      offered = d.output_grad_offered();
      d[0] = dY.clone();
    };
  }
  return y;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_gradient_nothing_else_holds_is_offered_for_reuse) {
  Tensor x = ones({4, 3}, {.requires_grad = true});
  bool offered = false;
  (offer_probe(x, offered) * 2.0).sum().backward();  // mul's backward makes a fresh gradient
  BOOST_TEST(offered);
}

BOOST_AUTO_TEST_CASE(a_gradient_someone_can_see_is_not_offered) {
  Tensor x = ones({4, 3}, {.requires_grad = true});
  bool offered = true;
  // A hook is shown each step's incoming gradient after the step.
  {
    autograd::StepHookGuard hook([](const autograd::BackwardStep&) {});
    (offer_probe(x, offered) * 2.0).sum().backward();
    BOOST_TEST(!offered);
  }
  // The caller's own seed.
  offered = true;
  const Tensor up = full({4, 3}, 3.0);
  offer_probe(x, offered).backward(up);
  BOOST_TEST(!offered);
  // An expand() view (sum's backward): its elements share memory.
  offered = true;
  offer_probe(x, offered).sum().backward();
  BOOST_TEST(!offered);
}

BOOST_AUTO_TEST_CASE(taking_a_gradient_that_was_not_offered_is_an_error) {
  // A student's op whose backward takes the incoming gradient's memory without asking whether it was
  // offered: an error that names the op and says what to do, not a null dereference.
  static const autograd::Op greedy_op({.name = "greedy_take_test", .rule = "dX = dY"});
  const auto greedy = [](const Tensor& x, int takes) {
    Tensor y = x.detach().clone();
    if (autograd::Node* node = autograd::record(greedy_op, y, {x})) {
      node->backward = [takes](const Tensor&, autograd::Grads& d) {
        for (int i = 0; i < takes; ++i) d[0] = d.take_output_grad();
      };
    }
    return y;
  };
  Tensor x = ones({2, 2}, {.requires_grad = true});
  // The caller's seed is the caller's: never offered.
  BOOST_CHECK_EXCEPTION(greedy(x, 1).backward(ones({2, 2})), AutogradError,
                        has_message("backward of 'greedy_take_test': take_output_grad() was called, but the engine "
                                    "offered this backward no gradient memory; call it only when "
                                    "output_grad_offered() is true, and read the gradient argument otherwise"));
  BOOST_TEST(!x.grad().defined());
  // Offered (mul's backward made it, nothing else holds it), and taken once: fine. dX = dY = 2.
  (greedy(x, 1) * 2.0).sum().backward();
  check_values(x.grad(), {2, 2, 2, 2});
  // Taken twice: the second take has nothing left to take.
  x.zero_grad();
  BOOST_CHECK_EXCEPTION((greedy(x, 2) * 2.0).sum().backward(), AutogradError,
                        has_message("backward of 'greedy_take_test': take_output_grad() was called a second time"));
}

BOOST_AUTO_TEST_CASE(a_hook_that_does_not_read_the_gradient_leaves_the_offer_open) {
  // L = sum(relu(x) * 3). mul's backward makes dY = [3, 3, 3, 3], held by nothing else, and relu writes
  // dX = dY where x > 0 into that memory. By hand, dL/dx = [0, 3, 3, 0].
  Tensor x = tensor({{-1.0, 2.0}, {3.0, -4.0}}, {.dtype = kFloat64, .requires_grad = true});
  std::vector<std::string> taken;  // the steps whose grad_output the backward took
  std::vector<std::string> steps;
  {
    autograd::StepHookGuard watch(
        [&](const autograd::BackwardStep& s) {
          steps.push_back(s.node.op());
          if (!s.grad_output.defined()) taken.push_back(s.node.op());
        },
        {.reads_grad_output = false});
    (relu(x) * 3.0).sum().backward();
  }
  BOOST_TEST(steps == (std::vector<std::string>{"sum", "mul", "relu", "leaf"}), boost::test_tools::per_element());
  BOOST_TEST(taken == std::vector<std::string>{"relu"}, boost::test_tools::per_element());
  check_values(x.grad(), {0, 3, 3, 0});

  // Beside a hook that reads the gradient, the offer is closed again: that hook sees relu's dY intact.
  x.zero_grad();
  taken.clear();
  std::vector<double> seen;
  {
    autograd::StepHookGuard watch(
        [&](const autograd::BackwardStep& s) {
          if (!s.grad_output.defined()) taken.push_back(s.node.op());
        },
        {.reads_grad_output = false});
    autograd::StepHookGuard reader([&](const autograd::BackwardStep& s) {
      if (s.node.op() == "relu") seen = s.grad_output.to_vector();
    });
    (relu(x) * 3.0).sum().backward();
  }
  BOOST_TEST(taken.empty());
  BOOST_TEST(seen == (std::vector<double>{3, 3, 3, 3}), boost::test_tools::per_element());
  check_values(x.grad(), {0, 3, 3, 0});
}

BOOST_AUTO_TEST_CASE(gradient_checks_run_the_reuse_path) {
  // check_gradients records the ops it covers with a step hook; that hook must not close the offer,
  // or no gradient check would ever run a backward that reuses memory (relu's, and the probe's here).
  Generator gen(3);
  bool offered = false;
  check_gradients([&offered](const std::vector<Tensor>& in) { return offer_probe(relu(in[0]), offered) * 3.0; },
                  {rand64_away_from_zero({3, 4}, gen)});
  BOOST_TEST(offered);
}

BOOST_AUTO_TEST_CASE(reusing_a_gradient_changes_no_value_anyone_sees) {
  // relu takes the gradient's memory when offered: the caller's seed, a retained gradient and the
  // values a hook sees stay what they were.
  Tensor x = tensor({{-1.0, 2.0}, {3.0, -4.0}}, {.requires_grad = true});
  const Tensor up = tensor({{1.0, 1.0}, {1.0, 1.0}});
  relu(x).backward(up);
  check_values(up, {1.0, 1.0, 1.0, 1.0});
  check_values(x.grad(), {0.0, 1.0, 1.0, 0.0});

  x.zero_grad();
  Tensor h = relu(x * 1.0);
  h.retain_grad();
  (h * 3.0).sum().backward();
  check_values(h.grad(), {3.0, 3.0, 3.0, 3.0});  // the gradient h received, not relu's result
  check_values(x.grad(), {0.0, 3.0, 3.0, 0.0});

  x.zero_grad();
  std::vector<double> seen;
  {
    autograd::StepHookGuard hook([&seen](const autograd::BackwardStep& s) {
      if (s.node.op() == "relu") seen = s.grad_output.to_vector();
    });
    (relu(x) * 3.0).sum().backward();
  }
  BOOST_TEST(seen == (std::vector<double>{3.0, 3.0, 3.0, 3.0}));
  check_values(x.grad(), {0.0, 3.0, 3.0, 0.0});
}

BOOST_AUTO_TEST_SUITE_END()
