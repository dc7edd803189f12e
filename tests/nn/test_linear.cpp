// Linear: forward by hand, PyTorch's initialisation (bounds, spread, seeding), gradchecks of the input
// and both parameters, bias optional, dtype, printing, errors.
#include "support/test.hpp"

#include <algorithm>
#include <cmath>

#include <attograd/nn/linear.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

BOOST_AUTO_TEST_SUITE(linear_module)

BOOST_AUTO_TEST_CASE(forward_is_x_times_w_transposed_plus_b) {
  Linear fc{3, 2};
  {
    NoGradGuard no_grad;
    fc.weight.copy_(tensor({{1.0, 2.0, 3.0}, {-1.0, 0.5, 0.0}}));
    fc.bias.copy_(tensor({0.25, -2.0}));
  }
  const Tensor x = tensor({{1.0, 1.0, 1.0}, {2.0, 0.0, -1.0}});
  // row 0: [1+2+3+0.25, -1+0.5+0-2] = [6.25, -2.5]; row 1: [2+0-3+0.25, -2+0+0-2] = [-0.75, -4]
  const Tensor y = fc(x);
  BOOST_TEST((y.shape() == Shape{2, 2}));
  check_values(y, {6.25, -2.5, -0.75, -4.0}, 1e-6);
  // Leading dims pass through: [2, 1, 3] -> [2, 1, 2], same values.
  check_values(fc(x.reshape({2, 1, 3})), {6.25, -2.5, -0.75, -4.0}, 1e-6);
  BOOST_TEST((fc(x.reshape({2, 1, 3})).shape() == Shape{2, 1, 2}));
}

BOOST_AUTO_TEST_CASE(without_bias_there_is_only_a_weight) {
  Linear fc{3, 2, {.bias = false}};
  BOOST_TEST(!fc.has_bias());
  BOOST_TEST(!fc.bias.defined());
  BOOST_TEST(fc.parameter_count() == 6);
  BOOST_TEST(fc.named_parameters().size() == 1u);
  BOOST_TEST(fc.named_parameters()[0].first == "weight");
  {
    NoGradGuard no_grad;
    fc.weight.copy_(tensor({{1.0, 2.0, 3.0}, {-1.0, 0.5, 0.0}}));
  }
  check_values(fc(tensor({{1.0, 1.0, 1.0}})), {6.0, -0.5}, 1e-6);
}

BOOST_AUTO_TEST_CASE(shapes_counts_names_and_requires_grad) {
  Linear fc{2, 16};
  BOOST_TEST((fc.weight.shape() == Shape{16, 2}));
  BOOST_TEST((fc.bias.shape() == Shape{16}));
  BOOST_TEST(fc.in_features() == 2);
  BOOST_TEST(fc.out_features() == 16);
  BOOST_TEST(fc.parameter_count() == 2 * 16 + 16);
  BOOST_TEST(fc.named_parameters()[0].first == "weight");
  BOOST_TEST(fc.named_parameters()[1].first == "bias");
  BOOST_TEST(fc.weight.requires_grad());
  BOOST_TEST(fc.bias.requires_grad());
  BOOST_TEST((fc.weight.dtype() == kFloat32));
  Linear wide{2, 3, {.dtype = kFloat64}};
  BOOST_TEST((wide.weight.dtype() == kFloat64));
  BOOST_TEST((wide.bias.dtype() == kFloat64));
}

BOOST_AUTO_TEST_CASE(initialisation_is_uniform_within_one_over_sqrt_in) {
  Generator gen(11);
  Linear fc{100, 200, {.generator = &gen}};
  const double bound = 1.0 / std::sqrt(100.0);  // 0.1
  for (const Tensor& p : {fc.weight, fc.bias}) {
    const std::vector<double> v = p.to_vector<double>();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    BOOST_TEST(*lo >= -bound);
    BOOST_TEST(*hi <= bound);
    // The whole range is used: not, say, U(-bound/2, bound/2).
    BOOST_TEST(*lo < -0.9 * bound);
    BOOST_TEST(*hi > 0.9 * bound);
  }
  // U(-b, b) has mean 0 and variance b^2 / 3; 20000 draws pin both well within these margins.
  const std::vector<double> w = fc.weight.to_vector<double>();
  double sum = 0.0, sq = 0.0;
  for (double x : w) sum += x, sq += x * x;
  const double n = static_cast<double>(w.size());
  BOOST_TEST(std::abs(sum / n) < 0.003);
  BOOST_TEST(std::abs(sq / n - bound * bound / 3.0) < 0.1 * bound * bound / 3.0);
}

BOOST_AUTO_TEST_CASE(the_bound_follows_the_input_width_not_the_output) {
  Generator gen(2);
  Linear narrow_in{4, 300, {.generator = &gen}};  // bound 0.5
  const std::vector<double> v = narrow_in.weight.to_vector<double>();
  double biggest = 0.0;
  for (double x : v) biggest = std::max(biggest, std::abs(x));
  BOOST_TEST(biggest <= 0.5);
  BOOST_TEST(biggest > 0.45);
}

BOOST_AUTO_TEST_CASE(seeded_layers_are_identical_and_different_seeds_differ) {
  Generator a(7), b(7), c(8);
  Linear la{5, 3, {.generator = &a}}, lb{5, 3, {.generator = &b}}, lc{5, 3, {.generator = &c}};
  check_close(la.weight, lb.weight, 0.0);
  check_close(la.bias, lb.bias, 0.0);
  BOOST_TEST(la.weight.to_vector<double>() != lc.weight.to_vector<double>());
  // Without a generator, the default one: manual_seed makes it repeatable too.
  manual_seed(3);
  Linear d1{5, 3};
  manual_seed(3);
  Linear d2{5, 3};
  check_close(d1.weight, d2.weight, 0.0);
  check_close(d1.bias, d2.bias, 0.0);
  // The weight is drawn first, then the bias, from one stream.
  Generator e(7);
  const Tensor w = uniform({3, 5}, -1.0 / std::sqrt(5.0), 1.0 / std::sqrt(5.0), e);
  check_close(la.weight, w, 0.0);
}

BOOST_AUTO_TEST_CASE(gradcheck_input_weight_and_bias) {
  Generator gen(4);
  for (bool bias : {true, false}) {
    Linear fc{3, 4, {.bias = bias, .generator = &gen}};
    fc.to(kFloat64);
    for (const Shape& shape : {Shape{3}, Shape{5, 3}, Shape{2, 1, 3}}) {
      const Tensor x = rand64(shape, gen);
      check_module_gradients(fc, [&](const std::vector<Tensor>& in) { return fc(in[0]); }, {x});
    }
  }
}

BOOST_AUTO_TEST_CASE(gradients_by_hand) {
  // y = sum(x·Wᵀ + b): dW[o, i] = sum over rows of x[:, i], db[o] = number of rows, dx[r, i] = sum_o W[o, i]
  Linear fc{2, 3, {.dtype = kFloat64}};
  {
    NoGradGuard no_grad;
    fc.weight.copy_(tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}));
  }
  Tensor x = tensor({{1.0, -1.0}, {2.0, 0.5}}, {.dtype = kFloat64, .requires_grad = true});
  fc(x).sum().backward();
  check_values(fc.weight.grad(), {3.0, -0.5, 3.0, -0.5, 3.0, -0.5}, 1e-12);
  check_values(fc.bias.grad(), {2.0, 2.0, 2.0}, 1e-12);
  check_values(x.grad(), {9.0, 12.0, 9.0, 12.0}, 1e-12);
}

BOOST_AUTO_TEST_CASE(the_module_header_example_works_as_written) {
  // include/attograd/nn/module.hpp's example: Linear members registered by the parent.
  struct Mlp : Module {
    Linear hidden{2, 16}, out{16, 1};
    Mlp() : Module("Mlp") {
      register_module("hidden", hidden);
      register_module("out", out);
    }
    Tensor forward(const Tensor& x) const { return out(tanh(hidden(x))); }
  } net;
  std::vector<std::string> names;
  for (auto& [name, p] : net.named_parameters()) names.push_back(fmt::format("{} {}", name, p.shape()));
  BOOST_TEST(names == (std::vector<std::string>{"hidden.weight [16, 2]", "hidden.bias [16]", "out.weight [1, 16]",
                                                "out.bias [1]"}),
             boost::test_tools::per_element());
  BOOST_TEST(net.hidden.weight.name() == "hidden.weight");
  const Tensor x = ones({3, 2});
  check_close(net.forward(x), linear(tanh(linear(x, net.hidden.weight, net.hidden.bias)), net.out.weight, net.out.bias),
              0.0);
  BOOST_TEST(fmt::format("{}", net) ==
             "Mlp  [65 parameters]\n"
             "  hidden: Linear(in=2, out=16, bias=true)  weight [16, 2], bias [16]  [48 parameters]\n"
             "  out: Linear(in=16, out=1, bias=true)  weight [1, 16], bias [1]  [17 parameters]");
}

BOOST_AUTO_TEST_CASE(prints_its_configuration) {
  Linear fc{2, 16};
  BOOST_TEST(fc.describe() == "in=2, out=16, bias=true");
  BOOST_TEST(fmt::format("{}", fc) == "Linear(in=2, out=16, bias=true)  weight [16, 2], bias [16]  [48 parameters]");
  Linear nb{3, 1, {.bias = false}};
  BOOST_TEST(fmt::format("{}", nb) == "Linear(in=3, out=1, bias=false)  weight [1, 3]  [3 parameters]");
}

BOOST_AUTO_TEST_CASE(bad_sizes_dtypes_and_inputs) {
  BOOST_CHECK_EXCEPTION(Linear(0, 16), ValueError,
                        has_message("Linear: in and out must be at least 1, got in=0, out=16"));
  BOOST_CHECK_EXCEPTION(Linear(2, -3), ValueError, has_message("got in=2, out=-3"));
  BOOST_CHECK_EXCEPTION(Linear(2, 3, {.dtype = kInt64}), DTypeError,
                        has_message("Linear: parameters must be floating point, got dtype int64"));
  Linear fc{3, 2};
  BOOST_CHECK_EXCEPTION(fc(ones({4, 5})), ShapeError, has_message("linear: input [4, 5] has 5 features"));
}

BOOST_AUTO_TEST_SUITE_END()
