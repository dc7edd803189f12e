// A user's own op through autograd::CustomOp: its gradient checks out, the teaching tools know it by
// name and rule, and a backward that returns the wrong thing is told exactly what is wrong.
#include "support/test.hpp"

#include <attograd/viz/dot.hpp>
#include <attograd/viz/explain.hpp>

using namespace attograd;
using namespace attograd::testing;
using autograd::Context;
using autograd::CustomOp;

namespace {

// Y = X³    dX = dY * 3X²
const CustomOp cube_op({.name = "cube", .rule = "dX = dY * 3X²"});
Tensor cube(const Tensor& x) {
  return cube_op.apply(
      {x},
      [](Context& ctx, const Tensors& in) {
        ctx.save(in[0]);
        return in[0] * in[0] * in[0];
      },
      [](const Context& ctx, const Tensor& dY) -> Tensors {
        const Tensor& X = ctx.saved(0);
        return {dY * 3.0 * X * X};
      });
}

// C = A + B, B broadcast    dA = dC   dB = dC summed to B's shape; `backward` is the test's choice
const CustomOp plus_op({.name = "plus", .rule = "dA = dC   dB = sum_to(dC, B)"});
Tensor plus(const Tensor& a, const Tensor& b, autograd::CustomBackward backward) {
  return plus_op.apply({a, b}, [](Context&, const Tensors& in) { return in[0] + in[1]; }, std::move(backward));
}

Tensor leaf(const Shape& shape, Generator& gen) { return rand64(shape, gen).requires_grad_(); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_custom_op_passes_gradcheck_and_counts_a_value_used_twice) {
  Generator gen(3);
  for (const Shape& s : {Shape{}, Shape{4}, Shape{2, 3}}) {
    check_gradients([](const auto& in) { return cube(in[0]); }, {rand64(s, gen)});
  }
  check_gradients([](const auto& in) { return cube(in[0]) * cube(in[0]); }, {rand64({3}, gen)});
  Tensor x = tensor({2.0}, {1}, {.dtype = kFloat64, .requires_grad = true});
  cube(x).sum().backward();
  check_values(x.grad(), {12.0});
}

BOOST_AUTO_TEST_CASE(the_forward_records_nothing_but_one_node_named_after_the_op) {
  Generator gen(1);
  Tensor x = leaf({3}, gen);
  Tensor y = cube(x);
  BOOST_TEST(y.grad_fn_name() == "cube");
  BOOST_TEST(y.grad_fn()->inputs().size() == 1u);
  BOOST_TEST((y.grad_fn()->inputs()[0]->kind() == autograd::Node::Kind::Leaf));  // no mul nodes inside
  BOOST_TEST(y.grad_fn()->op_info() == &cube_op.info());
  NoGradGuard no_grad;
  BOOST_TEST(!cube(x).requires_grad());
}

BOOST_AUTO_TEST_CASE(a_forward_returning_its_input_leaves_the_input_a_leaf) {
  const CustomOp identity_op({.name = "identity", .rule = "dX = dY"});
  Generator gen(2);
  Tensor x = leaf({2}, gen);
  Tensor y = identity_op.apply(
      {x}, [](Context&, const Tensors& in) { return in[0]; },
      [](const Context&, const Tensor& dY) -> Tensors { return {dY}; });
  BOOST_TEST(x.is_leaf());
  BOOST_TEST(y.grad_fn_name() == "identity");
  y.sum().backward();
  check_values(x.grad(), {1.0, 1.0});
}

BOOST_AUTO_TEST_CASE(the_trace_and_the_graph_picture_name_the_op_and_its_rule) {
  Generator gen(4);
  Tensor x = leaf({2}, gen);
  Tensor y = cube(x).sum();
  BOOST_TEST(viz::to_dot(y).find("cube") != std::string::npos);
  std::string trace;
  {
    viz::Explain explain(trace);
    y.backward();
  }
  BOOST_TEST(trace.find("cube  [2] -> [2]") != std::string::npos, trace);
  BOOST_TEST(trace.find("rule   dX = dY * 3X²") != std::string::npos, trace);
}

BOOST_AUTO_TEST_CASE(anomaly_mode_names_a_custom_op_that_makes_a_nan) {
  const CustomOp bad_op({.name = "bad_sqrt", .rule = "dX = dY / (2 sqrt(X))"});
  Tensor x = tensor({0.0}, {1}, {.dtype = kFloat64, .requires_grad = true});
  Tensor y = bad_op.apply(
      {x},
      [](Context& ctx, const Tensors& in) {
        ctx.save(in[0]);
        return sqrt(in[0]);
      },
      [](const Context& ctx, const Tensor& dY) -> Tensors { return {dY / (2.0 * sqrt(ctx.saved(0)))}; });
  autograd::AnomalyMode anomaly;
  BOOST_CHECK_EXCEPTION(y.sum().backward(), AutogradError, has_message("the backward of 'bad_sqrt'"));
}

BOOST_AUTO_TEST_CASE(a_saved_tensor_changed_in_place_is_refused) {
  Tensor x = tensor({1.0, 2.0}, {2}, {.dtype = kFloat64, .requires_grad = true});
  Tensor h = x * 1.0;
  Tensor y = cube(h);
  {
    NoGradGuard no_grad;
    h.detach().add_(tensor({1.0, 1.0}, {2}, {.dtype = kFloat64}));
  }
  BOOST_CHECK_EXCEPTION(y.sum().backward(), AutogradError, has_message("saved by 'cube'"));
}

BOOST_AUTO_TEST_CASE(a_blank_or_short_backward_says_how_many_gradients_are_due) {
  Generator gen(5);
  Tensor a = leaf({2, 3}, gen), b = leaf({3}, gen);
  Tensor blank = plus(a, b, [](const Context&, const Tensor&) -> Tensors { return {}; });
  BOOST_CHECK_EXCEPTION(blank.sum().backward(), AutogradError,
                        has_message("backward of 'plus' returned 0 gradients for 2 inputs; return one per input, in "
                                    "the order of the inputs (Tensor() for an input that needs no gradient). Is the "
                                    "backward still the blank `return {};`?"));
  Tensor missing = plus(a, b, [](const Context&, const Tensor& dC) -> Tensors { return {dC, Tensor()}; });
  BOOST_CHECK_EXCEPTION(missing.sum().backward(), AutogradError,
                        has_message("backward of 'plus' returned no gradient for input 1 (B, shape [3]), which "
                                    "requires grad; return dB with that shape"));
}

BOOST_AUTO_TEST_CASE(a_gradient_of_the_wrong_shape_names_the_input_and_the_fix) {
  Generator gen(6);
  Tensor a = leaf({2, 3}, gen), b = leaf({3}, gen);
  Tensor unsummed = plus(a, b, [](const Context&, const Tensor& dC) -> Tensors { return {dC, dC}; });
  BOOST_CHECK_EXCEPTION(unsummed.sum().backward(), ShapeError,
                        has_message("backward of 'plus': the gradient for input 1 (B, shape [3]) has shape [2, 3], "
                                    "expected [3]; the forward broadcast this input to [2, 3]: sum the gradient over "
                                    "the broadcast dims, sum_to(dB, ctx.input_shape(1))"));
  Tensor c = leaf({2, 3}, gen), d = leaf({3, 2}, gen);
  Tensor transposed = plus(c, transpose(d, 0, 1), [](const Context&, const Tensor& dC) -> Tensors {
    return {dC, dC};
  });
  BOOST_CHECK_NO_THROW(transposed.sum().backward());  // the transpose's own node turns it back
  const CustomOp flip_op({.name = "flip", .rule = "dX = dYᵀ"});
  Tensor y = flip_op.apply(
      {d}, [](Context&, const Tensors& in) { return contiguous(transpose(in[0], 0, 1)); },
      [](const Context&, const Tensor& dY) -> Tensors { return {dY}; });
  BOOST_CHECK_EXCEPTION(y.sum().backward(), ShapeError,
                        has_message("has shape [2, 3], expected [3, 2]; it has the right number of elements: is it "
                                    "transposed, or does it need a reshape?"));
}

BOOST_AUTO_TEST_CASE(a_gradient_of_the_wrong_dtype_names_both_dtypes) {
  Generator gen(7);
  Tensor a = leaf({3}, gen), b = leaf({3}, gen);
  Tensor y = plus(a, b, [](const Context&, const Tensor& dC) -> Tensors { return {dC, dC.to(kFloat32)}; });
  BOOST_CHECK_EXCEPTION(y.sum().backward(), DTypeError,
                        has_message("backward of 'plus': the gradient for input 1 (B, shape [3]) is float32, "
                                    "expected float64 like the input; compute it from tensors of the input's "
                                    "dtype, or convert it with .to(ctx.input_dtype(1))"));
}

BOOST_AUTO_TEST_CASE(an_input_without_grad_may_get_no_gradient_and_reading_past_the_saved_is_named) {
  Generator gen(8);
  Tensor a = leaf({3}, gen);
  Tensor b = rand64({3}, gen).detach();  // a constant
  Tensor y = plus(a, b, [](const Context& ctx, const Tensor& dC) -> Tensors {
    BOOST_TEST(!ctx.needs_grad(1));
    return {dC, Tensor()};
  });
  y.sum().backward();
  check_values(a.grad(), {1.0, 1.0, 1.0});
  Tensor z = plus(a, b, [](const Context& ctx, const Tensor&) -> Tensors { return {ctx.saved(0), Tensor()}; });
  BOOST_CHECK_EXCEPTION(z.sum().backward(), IndexError,
                        has_message("in the backward of 'plus' (inputs [3], [3]; output gradient [3]): 'plus': saved(0) "
                                    "asked for tensor 0, but the forward saved 0"));
}

BOOST_AUTO_TEST_CASE(an_error_inside_the_backward_names_the_custom_op_and_its_shapes) {
  Generator gen(9);
  Tensor a = leaf({2, 3}, gen), b = leaf({3}, gen);
  Tensor y = plus(a, b, [](const Context&, const Tensor& dC) -> Tensors { return {dC, matmul(dC, dC)}; });
  BOOST_CHECK_EXCEPTION(y.sum().backward(), ShapeError,
                        has_message("in the backward of 'plus' (inputs [2, 3], [3]; output gradient [2, 3]): matmul: "
                                    "inner dimensions differ"));
}
