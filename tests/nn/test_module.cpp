// Module: registration, dotted names, recursion, tied weights, train/eval, zero_grad, to(dtype),
// printing, and the name rules.
#include "support/test.hpp"

#include <attograd/nn/module.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

struct Affine : Module {
  Tensor weight, bias;
  Affine(std::int64_t in, std::int64_t out) : Module("Affine") {
    weight = register_parameter("weight", ones({out, in}));
    bias = register_parameter("bias", zeros({out}));
  }
  std::string describe() const override { return fmt::format("in={}, out={}", weight.size(1), weight.size(0)); }
  Tensor forward(const Tensor& x) const { return matmul(x, weight.mT()) + bias; }
};

struct Block : Module {
  Affine first{2, 3};
  Affine second{3, 1};
  Block() : Module("Block") {
    register_module("first", first);
    register_module("second", second);
    register_buffer("steps", zeros({1}, {.dtype = kInt64}));
  }
};

struct Model : Module {
  Block block;
  Affine head{1, 1};
  Model() : Module("Model") {
    register_module("block", block);
    register_module("head", head);
  }
};

std::vector<std::string> names(const std::vector<std::pair<std::string, Tensor>>& list) {
  std::vector<std::string> out;
  for (const auto& [name, t] : list) out.push_back(name);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(named_parameters_have_dotted_paths) {
  Model m;
  const std::vector<std::string> expected{"block.first.weight", "block.first.bias", "block.second.weight",
                                          "block.second.bias", "head.weight", "head.bias"};
  BOOST_TEST(names(m.named_parameters()) == expected, boost::test_tools::per_element());
  BOOST_TEST(names(m.named_buffers()) == std::vector<std::string>{"block.steps"}, boost::test_tools::per_element());
  // The tensors carry their full path too (graph pictures and errors use it).
  BOOST_TEST(m.block.second.weight.name() == "block.second.weight");
  BOOST_TEST(m.parameter_count() == 6 + 3 + 3 + 1 + 1 + 1);
  BOOST_TEST(m.parameters().size() == 6u);
  for (const Tensor& p : m.parameters()) BOOST_TEST(p.requires_grad());
}

BOOST_AUTO_TEST_CASE(a_shared_parameter_is_listed_once) {
  struct Tied : Module {
    Affine a{2, 2}, b{2, 2};
    Tied() : Module("Tied") {
      register_module("a", a);
      register_module("b", b);
    }
  } tied;
  // Tie b's weight to a's: both modules hold the same tensor.
  struct Sharer : Module {
    Tensor w;
    explicit Sharer(const Tensor& shared) : Module("Sharer") { w = register_parameter("w", shared); }
  } sharer(tied.a.weight);
  struct Both : Module {
    Affine& a;
    Sharer& s;
    Both(Affine& a_, Sharer& s_) : Module("Both"), a(a_), s(s_) {
      register_module("a", a);
      register_module("s", s);
    }
  } both(tied.a, sharer);
  BOOST_TEST(names(both.named_parameters()) == (std::vector<std::string>{"a.weight", "a.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(both.parameter_count() == 6);
}

BOOST_AUTO_TEST_CASE(train_eval_and_zero_grad_recurse) {
  Model m;
  BOOST_TEST(m.block.first.is_training());
  m.eval();
  BOOST_TEST(!m.block.first.is_training());
  BOOST_TEST(!m.is_training());
  m.train();
  BOOST_TEST(m.head.is_training());

  Tensor x = ones({4, 2});
  Tensor y = m.head.forward(m.block.second.forward(m.block.first.forward(x))).sum();
  y.backward();
  for (const Tensor& p : m.parameters()) BOOST_TEST(p.grad().defined());
  m.zero_grad();
  for (const Tensor& p : m.parameters()) BOOST_TEST(!p.grad().defined());
}

BOOST_AUTO_TEST_CASE(to_float64_converts_in_place_for_every_handle) {
  Model m;
  Tensor held = m.head.weight;  // e.g. an optimiser's handle
  m.to(kFloat64);
  BOOST_TEST(held.dtype() == kFloat64);
  BOOST_TEST(m.head.weight.dtype() == kFloat64);
  BOOST_TEST(m.named_buffers()[0].second.dtype() == kInt64);  // integer buffers stay integer
  Tensor y = m.head.forward(ones({1, 1}, {.dtype = kFloat64})).sum();
  y.backward();
  BOOST_TEST(held.grad().dtype() == kFloat64);
  m.to(kFloat32);
  BOOST_TEST(held.dtype() == kFloat32);
  BOOST_TEST(!held.grad().defined());
  BOOST_CHECK_EXCEPTION(m.to(kInt64), DTypeError, has_message("parameters must stay floating point"));
}

BOOST_AUTO_TEST_CASE(names_must_be_nonempty_unique_and_dotless) {
  struct Bad : Module {
    explicit Bad(int which) : Module("Bad") {
      if (which == 0) register_parameter("", ones({1}));
      if (which == 1) register_parameter("a.b", ones({1}));
      if (which == 2) {
        register_parameter("w", ones({1}));
        register_buffer("w", ones({1}));
      }
    }
  };
  BOOST_CHECK_EXCEPTION(Bad(0), ValueError, has_message("Bad: parameter name '' must be non-empty and contain no dot"));
  BOOST_CHECK_EXCEPTION(Bad(1), ValueError, has_message("name 'a.b' must be non-empty and contain no dot"));
  BOOST_CHECK_EXCEPTION(Bad(2), ValueError, has_message("Bad: the name 'w' is already registered"));
}

BOOST_AUTO_TEST_CASE(prints_the_tree_with_shapes_and_counts) {
  Model m;
  const std::string expected =
      "Model  [15 parameters]\n"
      "  block: Block  [13 parameters]\n"
      "    first: Affine(in=2, out=3)  weight [3, 2], bias [3]  [9 parameters]\n"
      "    second: Affine(in=3, out=1)  weight [1, 3], bias [1]  [4 parameters]\n"
      "  head: Affine(in=1, out=1)  weight [1, 1], bias [1]  [2 parameters]";
  BOOST_TEST(fmt::format("{}", m) == expected);
}

BOOST_AUTO_TEST_CASE(gradcheck_in_place_checks_a_modules_own_parameters) {
  Affine layer(3, 2);
  layer.to(kFloat64);
  Generator gen(5);
  {
    NoGradGuard no_grad;
    layer.weight.copy_(randn({2, 3}, gen, {.dtype = kFloat64}));
  }
  const Tensor before = layer.weight.clone();
  Tensor old_grad = ones({2, 3}, {.dtype = kFloat64});
  layer.weight.set_grad(old_grad);
  Tensor x = rand64({4, 3}, gen);
  auto f = [&](const std::vector<Tensor>& in) { return tanh(layer.forward(in[0])); };
  check_module_gradients(layer, f, {x});
  check_close(layer.weight, before, 0.0);               // values restored exactly
  BOOST_TEST(layer.weight.grad().is_same(old_grad));    // .grad put back as it was
  BOOST_TEST(!layer.bias.grad().defined());

  // Without in_place, gradcheck differentiates copies the module never sees: both gradients are zero,
  // and gradcheck reports those inputs as unused.
  const GradcheckResult copied = gradcheck(f, {x, layer.weight, layer.bias});
  BOOST_TEST((copied.unused_inputs == std::vector<std::size_t>{1, 2}));
}
