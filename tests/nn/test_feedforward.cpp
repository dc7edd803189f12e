// FeedForward: shapes, parameter count, equal to the chain of its layers (ReLU and GELU), dropout only
// in training, seeding, gradchecks of input and every parameter, printing, errors.
#include "support/test.hpp"

#include <attograd/nn/feedforward.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(feedforward_module)

BOOST_AUTO_TEST_CASE(shapes_names_and_count) {
  FeedForward ff{8};
  BOOST_TEST((ff.hidden.weight.shape() == Shape{32, 8}));
  BOOST_TEST((ff.output.weight.shape() == Shape{8, 32}));
  std::vector<std::string> names;
  for (const auto& [name, t] : ff.named_parameters()) names.push_back(name);
  BOOST_TEST(names == (std::vector<std::string>{"hidden.weight", "hidden.bias", "output.weight", "output.bias"}),
             boost::test_tools::per_element());
  // 2·h·C² + h·C + C with h = 4, C = 8
  BOOST_TEST(ff.parameter_count() == 2 * 4 * 64 + 4 * 8 + 8);
  FeedForward narrow{3, {.hidden_mult = 2}};
  BOOST_TEST((narrow.hidden.weight.shape() == Shape{6, 3}));
  BOOST_TEST(narrow.parameter_count() == 2 * 2 * 9 + 2 * 3 + 3);
  const Tensor y = ff(zeros({2, 5, 8}));
  BOOST_TEST((y.shape() == Shape{2, 5, 8}));
}

BOOST_AUTO_TEST_CASE(equals_the_chain_of_its_layers) {
  Generator gen(1);
  FeedForward relu_ff{4, {.generator = &gen}};
  FeedForward gelu_ff{4, {.activation = FeedForwardActivation::GELU, .generator = &gen}};
  const Tensor x = randn({3, 4}, gen);
  check_close(relu_ff(x), relu_ff.output(relu(relu_ff.hidden(x))), 0.0);
  check_close(gelu_ff(x), gelu_ff.output(gelu(gelu_ff.hidden(x))), 0.0);
  // The activation matters: swap it and the output changes.
  BOOST_TEST((gelu_ff(x) - gelu_ff.output(relu(gelu_ff.hidden(x)))).abs().max().item() > 1e-3);
  // By hand, C = 1, h = 2: hidden = [x - 1, -x], output = 2 h0 + 3 h1 + 0.5
  FeedForward tiny{1, {.hidden_mult = 2}};
  {
    NoGradGuard no_grad;
    tiny.hidden.weight.copy_(tensor({1.0, -1.0}).reshape({2, 1}));
    tiny.hidden.bias.copy_(tensor({-1.0, 0.0}));
    tiny.output.weight.copy_(tensor({{2.0, 3.0}}));
    tiny.output.bias.copy_(tensor({0.5}));
  }
  // x = 3: relu(2) = 2, relu(-3) = 0 -> 4.5;  x = -2: relu(-3) = 0, relu(2) = 2 -> 6.5
  check_values(tiny(tensor({3.0, -2.0}).reshape({2, 1})), {4.5, 6.5}, 1e-6);
}

BOOST_AUTO_TEST_CASE(dropout_acts_only_in_training) {
  Generator gen(2);
  FeedForward ff{4, {.dropout = 0.5, .generator = &gen}};
  BOOST_TEST(&ff.dropout.generator() == &gen);
  const Tensor x = randn({16, 4}, gen);
  const Tensor plain = ff.output(relu(ff.hidden(x)));
  const Tensor trained = ff(x);
  // Training: each output is dropped (0) or kept and doubled.
  const std::vector<double> t = trained.to_vector<double>(), p = plain.to_vector<double>();
  int dropped = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == 0.0) {
      ++dropped;
    } else {
      BOOST_TEST(t[i] == 2.0 * p[i], boost::test_tools::tolerance(1e-5));
    }
  }
  BOOST_TEST(dropped > 10);
  BOOST_TEST(dropped < 54);
  ff.eval();
  check_close(ff(x), plain, 0.0);
}

BOOST_AUTO_TEST_CASE(forward_add_is_the_residual_plus_forward) {
  Generator gen(3);
  FeedForward ff{4, {.dropout = 0.5, .generator = &gen}};
  const Tensor x = randn({2, 3, 4}, gen), r = randn({2, 3, 4}, gen);
  // Training with p > 0: the sum after dropout, the same mask for the same generator state.
  const Generator::State state = gen.state();
  const Tensor trained = ff.forward_add(x, r);
  gen.set_state(state);
  BOOST_TEST(trained.to_vector() == (r + ff(x)).to_vector());
  // Evaluation: the residual is added by the output layer's product (linear_add), the same bits.
  ff.eval();
  const Tensor y = ff.forward_add(x, r);
  BOOST_TEST(y.to_vector() == (r + ff(x)).to_vector());
  BOOST_TEST(y.to_vector() != ff(x).to_vector());
  BOOST_CHECK_EXCEPTION(ff.forward_add(x, zeros({2, 4})), ShapeError,
                        has_message("FeedForward::forward_add: residual [2, 4] must have the input's shape [2, 3, 4]"));
  BOOST_CHECK_EXCEPTION(ff.forward_add(x, Tensor()), ValueError, has_message("FeedForward::forward_add"));
}

BOOST_AUTO_TEST_CASE(seeded_blocks_are_identical) {
  Generator a(5), b(5);
  FeedForward fa{6, {.generator = &a}}, fb{6, {.generator = &b}};
  for (std::size_t i = 0; i < 4; ++i) check_close(fa.parameters()[i], fb.parameters()[i], 0.0);
  FeedForward f64{2, {.dtype = kFloat64}};
  for (const Tensor& p : f64.parameters()) BOOST_TEST((p.dtype() == kFloat64));
}

BOOST_AUTO_TEST_CASE(gradcheck_input_and_every_parameter) {
  Generator gen(3);
  for (auto act : {FeedForwardActivation::ReLU, FeedForwardActivation::GELU}) {
    FeedForward ff{3, {.hidden_mult = 2, .activation = act, .generator = &gen}};
    ff.to(kFloat64);
    check_module_gradients(ff, [&](const std::vector<Tensor>& in) { return ff(in[0]); }, {rand64({2, 4, 3}, gen)});
  }
  // With dropout, the mask fixed by reseeding its generator before every call.
  Generator masks(4);
  FeedForward ff{3, {.hidden_mult = 2, .dropout = 0.2, .generator = &masks}};
  ff.to(kFloat64);
  check_module_gradients(ff,
                         [&](const std::vector<Tensor>& in) {
                           masks.manual_seed(4);
                           return ff(in[0]);
                         },
                         {rand64({5, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(prints_the_tree) {
  FeedForward ff{4, {.activation = FeedForwardActivation::GELU, .dropout = 0.1}};
  const std::string expected =
      "FeedForward(emb=4, hidden=16, activation=gelu, dropout=0.1)  [148 parameters]\n"
      "  hidden: Linear(in=4, out=16, bias=true)  weight [16, 4], bias [16]  [80 parameters]\n"
      "  output: Linear(in=16, out=4, bias=true)  weight [4, 16], bias [4]  [68 parameters]\n"
      "  dropout: Dropout(p=0.1)  [0 parameters]";
  BOOST_TEST(fmt::format("{}", ff) == expected);
  BOOST_TEST((ff.activation() == FeedForwardActivation::GELU));
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_EXCEPTION(FeedForward(0), ValueError, has_message("FeedForward: emb must be at least 1, got 0"));
  BOOST_CHECK_EXCEPTION(FeedForward(4, {.hidden_mult = 0}), ValueError,
                        has_message("FeedForward: hidden_mult must be at least 1"));
  BOOST_CHECK_EXCEPTION(FeedForward(4, {.hidden_mult = 0}), ValueError, has_message("got hidden_mult=0 with emb=4"));
  BOOST_CHECK_EXCEPTION(FeedForward(4, {.dropout = 1.5}), ValueError,
                        has_message("FeedForward: dropout must be between 0 and 1, got 1.5"));
  BOOST_CHECK_EXCEPTION(FeedForward(4, {.dtype = kInt64}), DTypeError,
                        has_message("Linear: parameters must be floating"));
  FeedForward ff{4};
  // The hidden layer and its ReLU run as one op, linear_relu, which names itself.
  BOOST_CHECK_EXCEPTION(ff(zeros({2, 5})), ShapeError, has_message("linear_relu: input [2, 5] has 5 features"));
}

BOOST_AUTO_TEST_SUITE_END()
