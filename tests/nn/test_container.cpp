// Sequential and ModuleList: in-place construction, "0", "1", ... names and paths from a parent,
// Sequential == the manual chain, typed access, iteration, train/eval reaching children, gradchecks,
// printing the tree, errors.
#include "support/test.hpp"

#include <attograd/nn/activation.hpp>
#include <attograd/nn/container.hpp>
#include <attograd/nn/dropout.hpp>
#include <attograd/nn/linear.hpp>

using namespace attograd;
using namespace attograd::nn;
using namespace attograd::testing;

namespace {

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.named_parameters()) out.push_back(name);
  return out;
}

// The module.hpp example: a parent with a Sequential member.
struct Mlp : Module {
  Sequential net;
  Mlp() : Module("Mlp") {
    net.add<Linear>(2, 16);
    net.add<Tanh>();
    net.add<Linear>(16, 1);
    register_module("net", net);
  }
  Tensor forward(const Tensor& x) const { return net(x); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(containers)

BOOST_AUTO_TEST_CASE(sequential_equals_the_manual_chain) {
  Generator gen(1);
  Sequential seq;
  Linear& first = seq.add<Linear>(2, 16, LinearOptions{.generator = &gen});
  Tanh& act = seq.add<Tanh>();
  Linear& last = seq.add<Linear>(16, 1, LinearOptions{.generator = &gen});
  BOOST_TEST(seq.size() == 3u);
  BOOST_TEST(&seq[0] == &first);  // add returns the module the Sequential holds
  BOOST_TEST(&seq[1] == &act);
  BOOST_TEST(&seq.at<Linear>(2) == &last);
  const Tensor x = randn({5, 2}, gen);
  const Tensor y = seq(x);
  BOOST_TEST((y.shape() == Shape{5, 1}));
  check_close(y, last(act(first(x))), 0.0);
  check_close(y, linear(tanh(linear(x, first.weight, first.bias)), last.weight, last.bias), 0.0);
}

BOOST_AUTO_TEST_CASE(an_empty_sequential_is_the_identity) {
  Sequential seq;
  BOOST_TEST(seq.empty());
  const Tensor x = tensor({1.0, 2.0});
  BOOST_TEST(seq(x).is_same(x));
  BOOST_TEST(seq.parameter_count() == 0);
}

BOOST_AUTO_TEST_CASE(children_are_named_by_index_and_paths_include_the_parent) {
  Mlp mlp;
  const std::vector<std::string> expected{"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"};
  BOOST_TEST(names(mlp) == expected, boost::test_tools::per_element());
  BOOST_TEST(mlp.parameter_count() == 2 * 16 + 16 + 16 + 1);
  // The tensors carry the same path, since the layers were added before the Sequential was registered.
  BOOST_TEST(mlp.net.at<Linear>(2).weight.name() == "net.2.weight");
  BOOST_TEST(mlp.net.children().size() == 3u);
  BOOST_TEST(mlp.net.children()[1].first == "1");
}

// A module added to a container after the container was registered still gets its full path: each
// module knows where it was registered.
BOOST_AUTO_TEST_CASE(names_of_modules_added_after_registration) {
  struct Late : Module {
    Sequential net;
    Late() : Module("Late") {
      register_module("net", net);
      net.add<Linear>(2, 2);  // added after registration
    }
  } late;
  BOOST_TEST(late.named_parameters()[0].first == "net.0.weight");  // right
  BOOST_TEST(late.net.at<Linear>(0).weight.name() == "net.0.weight");
}

BOOST_AUTO_TEST_CASE(module_list_holds_and_names_modules) {
  struct Stack : Module {
    ModuleList blocks;
    Stack() : Module("Stack") {
      for (int i = 0; i < 3; ++i) blocks.add<Linear>(4, 4, LinearOptions{.bias = i != 1});
      register_module("blocks", blocks);
    }
    Tensor forward(const Tensor& x) const {
      Tensor h = x;
      for (std::size_t i = 0; i < blocks.size(); ++i) h = relu(blocks.at<Linear>(i)(h));
      return h;
    }
  } stack;
  const std::vector<std::string> expected{"blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.2.weight",
                                          "blocks.2.bias"};
  BOOST_TEST(names(stack) == expected, boost::test_tools::per_element());
  BOOST_TEST(stack.parameter_count() == 3 * 16 + 2 * 4);
  BOOST_TEST(stack.blocks.at<Linear>(2).bias.name() == "blocks.2.bias");
  // Iteration visits them in order, as Module& (and const Module& through a const list).
  std::vector<std::string> seen;
  for (Module& m : stack.blocks) seen.push_back(m.describe());
  BOOST_TEST(seen == (std::vector<std::string>{"in=4, out=4, bias=true", "in=4, out=4, bias=false",
                                               "in=4, out=4, bias=true"}),
             boost::test_tools::per_element());
  const ModuleList& view = stack.blocks;
  std::size_t n = 0;
  for (const Module& m : view) {
    BOOST_TEST(&m == &view[n]);
    ++n;
  }
  BOOST_TEST(n == 3u);
  BOOST_TEST(std::distance(view.begin(), view.end()) == 3);
  // The owner's forward uses them.
  Tensor x = ones({2, 4});
  Tensor manual = x;
  for (std::size_t i = 0; i < 3; ++i) manual = relu(stack.blocks.at<Linear>(i)(manual));
  check_close(stack.forward(x), manual, 0.0);
}

BOOST_AUTO_TEST_CASE(containers_nest) {
  Sequential outer;
  Sequential& inner = outer.add<Sequential>();
  inner.add<Linear>(3, 3);
  inner.add<ReLU>();
  outer.add<Linear>(3, 2);
  const std::vector<std::string> expected{"0.0.weight", "0.0.bias", "1.weight", "1.bias"};
  BOOST_TEST(names(outer) == expected, boost::test_tools::per_element());
  const Tensor x = ones({1, 3});
  check_close(outer(x), outer.at<Linear>(1)(relu(inner.at<Linear>(0)(x))), 0.0);
}

BOOST_AUTO_TEST_CASE(train_and_eval_reach_the_children) {
  Sequential seq;
  seq.add<Linear>(4, 4);
  Dropout& drop = seq.add<Dropout>(0.5, std::uint64_t{3});
  seq.eval();
  BOOST_TEST(!drop.is_training());
  BOOST_TEST(!seq[0].is_training());
  const Tensor x = ones({2, 4});
  check_close(seq(x), seq.at<Linear>(0)(x), 0.0);  // dropout off
  seq.train();
  BOOST_TEST(drop.is_training());
  BOOST_TEST(eq(seq(ones({64, 4})), 0.0).to(kFloat32).sum().item() > 0.0);  // dropout on: some outputs zeroed
}

BOOST_AUTO_TEST_CASE(gradcheck_every_parameter) {
  Generator gen(2);
  Mlp mlp;
  mlp.to(kFloat64);
  check_module_gradients(mlp, [&](const std::vector<Tensor>& in) { return mlp.forward(in[0]); }, {rand64({3, 2}, gen)});
  Sequential seq;
  seq.add<Linear>(3, 5, LinearOptions{.generator = &gen});
  seq.add<GELU>();
  seq.add<Linear>(5, 2, LinearOptions{.generator = &gen});
  seq.add<Sigmoid>();
  seq.to(kFloat64);
  check_module_gradients(seq, [&](const std::vector<Tensor>& in) { return seq(in[0]); }, {rand64({4, 3}, gen)});
}

BOOST_AUTO_TEST_CASE(prints_the_tree) {
  Mlp mlp;
  const std::string expected =
      "Mlp  [65 parameters]\n"
      "  net: Sequential  [65 parameters]\n"
      "    0: Linear(in=2, out=16, bias=true)  weight [16, 2], bias [16]  [48 parameters]\n"
      "    1: Tanh  [0 parameters]\n"
      "    2: Linear(in=16, out=1, bias=true)  weight [1, 16], bias [1]  [17 parameters]";
  BOOST_TEST(fmt::format("{}", mlp) == expected);
  ModuleList list;
  list.add<ReLU>();
  BOOST_TEST(fmt::format("{}", list) == "ModuleList  [0 parameters]\n  0: ReLU  [0 parameters]");
}

BOOST_AUTO_TEST_CASE(errors) {
  Sequential seq;
  seq.add<Linear>(2, 3);
  seq.add<Tanh>();
  BOOST_CHECK_EXCEPTION(seq[2], IndexError, has_message("Sequential: index 2 is out of range for 2 modules"));
  BOOST_CHECK_EXCEPTION(seq.at<Linear>(1), ValueError,
                        has_message("Sequential: module 1 is a Tanh, not the type asked for"));
  ModuleList list;
  BOOST_CHECK_EXCEPTION(list[0], IndexError, has_message("ModuleList: index 0 is out of range for 0 modules"));
  list.add<ReLU>();
  const ModuleList& view = list;
  BOOST_CHECK_EXCEPTION(view.at<Tanh>(0), ValueError, has_message("ModuleList: module 0 is a ReLU"));
  BOOST_CHECK_EXCEPTION(view[1], IndexError, has_message("index 1 is out of range for 1 module"));
  // A module whose constructor throws is not added.
  BOOST_CHECK_EXCEPTION(seq.add<Linear>(0, 3), ValueError, has_message("Linear: in and out must be at least 1"));
  BOOST_TEST(seq.size() == 2u);
  // A shape mismatch between layers is reported by the layer that receives it.
  seq.add<Linear>(4, 1);
  BOOST_CHECK_EXCEPTION(seq(ones({1, 2})), ShapeError, has_message("linear: input [1, 3] has 3 features"));
}

BOOST_AUTO_TEST_SUITE_END()
