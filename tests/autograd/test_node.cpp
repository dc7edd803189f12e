// Recording the graph: record(), the nodes it links, saved tensors and their versions, release, leaf
// nodes shared between graphs, and the engine's check of what a custom backward returns.
#include "support/test.hpp"

#include <vector>

using namespace attograd;
using namespace attograd::testing;
using autograd::Grads;
using autograd::Node;
using autograd::record;

namespace {

// A custom op as a student would write one: y = 2x, with a backward given by the caller.
Tensor doubled(const Tensor& x, Node::BackwardFn backward, const char* name = "myop") {
  Tensor y = x.detach() * 2.0;  // computed without a graph; record() adds this op's node
  if (Node* node = record(name, y, {x})) node->backward = std::move(backward);
  return y;
}

Tensor leaf64(std::vector<double> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return tensor(values, {n}, {.dtype = kFloat64, .requires_grad = true});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(node)

BOOST_AUTO_TEST_CASE(record_links_the_inputs_nodes) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor c = tensor({3.0, 4.0}, {.dtype = kFloat64});  // a constant
  Tensor y = x.detach() * c;
  Node* node = record("scale", y, {x, c});
  BOOST_TEST_REQUIRE(node != nullptr);
  BOOST_TEST(y.requires_grad());
  BOOST_TEST(!y.is_leaf());
  BOOST_TEST(y.grad_fn().get() == node);
  BOOST_TEST(y.grad_fn_name() == "scale");
  BOOST_TEST(node->op() == "scale");
  BOOST_TEST((node->kind() == Node::Kind::Op));
  BOOST_TEST((node->shape() == Shape{2}));
  BOOST_TEST((node->dtype() == kFloat64));
  BOOST_TEST_REQUIRE(node->inputs().size() == 2u);
  BOOST_TEST(node->inputs()[1] == nullptr);  // the constant needs no gradient
  const Node& leaf = *node->inputs()[0];
  BOOST_TEST((leaf.kind() == Node::Kind::Leaf));
  BOOST_TEST(leaf.op() == "leaf");
  BOOST_TEST(leaf.tensor().get() == x.impl());
  BOOST_TEST(node->tensor().get() == y.impl());
  BOOST_TEST(!node->released());

  // The next op links to this node, not to a leaf.
  Tensor z = y.detach() + 1.0;
  Node* next = record("shift", z, {y});
  BOOST_TEST_REQUIRE(next != nullptr);
  BOOST_TEST(next->inputs()[0].get() == node);
}

BOOST_AUTO_TEST_CASE(record_returns_null_when_nothing_needs_a_gradient) {
  Tensor x = leaf64({1.0});
  Tensor c = tensor({2.0}, {.dtype = kFloat64});
  Tensor y = c * 2.0;
  BOOST_TEST(record("constant", y, {c}) == nullptr);
  BOOST_TEST(!y.requires_grad());
  BOOST_TEST(!y.grad_fn());
  BOOST_TEST(!autograd::needs_grad({c}));
  BOOST_TEST(autograd::needs_grad({c, x}));
  {
    NoGradGuard no_grad;
    Tensor z = x.detach() * 2.0;
    BOOST_TEST(record("off", z, {x}) == nullptr);
    BOOST_TEST(!z.requires_grad());
    BOOST_TEST(!autograd::needs_grad({x}));
  }
  // An undefined input (an absent bias) neither needs a gradient nor gets a node.
  Tensor none;
  Tensor w = x.detach() * 2.0;
  Node* node = record("with_bias", w, {x, none});
  BOOST_TEST_REQUIRE(node != nullptr);
  BOOST_TEST(node->inputs()[1] == nullptr);
  Tensor v = c * 2.0;
  BOOST_TEST(record("no_inputs_need_it", v, {none, c}) == nullptr);
}

BOOST_AUTO_TEST_CASE(record_overloads_agree) {
  Tensor x = leaf64({1.0});
  std::vector<Tensor> many;
  for (int i = 0; i < 20; ++i) many.push_back(i == 7 ? x : tensor({1.0}, {.dtype = kFloat64}));
  Tensor y = x.detach() * 2.0;
  Node* node = record("many", y, std::span<const Tensor>(many));
  BOOST_TEST_REQUIRE(node != nullptr);
  BOOST_TEST(node->inputs().size() == 20u);
  for (std::size_t i = 0; i < 20; ++i) BOOST_TEST((node->inputs()[i] != nullptr) == (i == 7));

  const Tensor& t = many[0];
  Tensor z = x.detach() * 2.0;
  BOOST_CHECK_EXCEPTION(
      record("too_many", z, {t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, x}), ValueError,
      has_message("record: at most 16 inputs in a braced list; pass a span"));
  BOOST_TEST(!z.requires_grad());
}

BOOST_AUTO_TEST_CASE(sequence_numbers_increase_in_forward_order) {
  Tensor x = leaf64({1.0});
  Tensor a = x * 2.0;
  Tensor b = a.exp();
  Tensor c = b + a;
  BOOST_TEST(a.grad_fn()->sequence_nr() < b.grad_fn()->sequence_nr());
  BOOST_TEST(b.grad_fn()->sequence_nr() < c.grad_fn()->sequence_nr());
}

BOOST_AUTO_TEST_CASE(grads_know_which_inputs_want_a_gradient) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor c = tensor({1.0, 1.0}, {.dtype = kFloat64});
  Tensor y = x.detach() + c;
  std::vector<bool> seen;
  if (Node* node = record("probe", y, {c, x})) {
    node->backward = [&seen](const Tensor& dY, Grads& d) {
      seen = {d.wanted(0), d.wanted(1)};
      BOOST_TEST(d.size() == 2u);
      BOOST_TEST(!d[0].defined());  // slots start undefined
      d[1] = dY;
    };
  }
  y.sum().backward();
  BOOST_TEST((seen == std::vector<bool>{false, true}));
  check_values(x.grad(), {1.0, 1.0});
}

BOOST_AUTO_TEST_CASE(saved_tensors_are_checked_for_in_place_changes) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor k = tensor({3.0, 5.0}, {.dtype = kFloat64});
  Tensor y = x.detach() * k;
  Node* node = record("times_k", y, {x});
  BOOST_TEST_REQUIRE(node != nullptr);
  const Tensor saved = node->save(k);
  BOOST_TEST(!saved.is_same(k));                              // a detached alias...
  BOOST_TEST(saved.impl()->storage == k.impl()->storage);     // ...of the same memory
  BOOST_TEST(node->saved_bytes() == 16u);
  BOOST_TEST(!node->save(Tensor()).defined());                // an absent tensor is not saved
  BOOST_TEST(node->saved_bytes() == 16u);
  node->backward = [K = saved](const Tensor& dY, Grads& d) { d[0] = dY * K; };
  node->check_saved_versions();  // unchanged: no exception

  k.set({0}, 4.0);  // an in-place write after saving
  BOOST_CHECK_EXCEPTION(node->check_saved_versions(), AutogradError,
                        has_message("backward: tensor 0 saved by 'times_k' (node"));
  BOOST_CHECK_EXCEPTION(node->check_saved_versions(), AutogradError,
                        has_message("was modified in place after it was saved (version 1 now, 0 when saved)"));
  BOOST_CHECK_EXCEPTION(y.sum().backward(), AutogradError, has_message("saved by 'times_k'"));
  BOOST_TEST(!x.grad().defined());  // nothing was accumulated
}

BOOST_AUTO_TEST_CASE(release_frees_the_backward_and_saved_tensors) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor y = x.exp();
  Node* node = y.grad_fn().get();
  BOOST_TEST(node->saved_bytes() > 0u);  // exp keeps its output
  BOOST_TEST(static_cast<bool>(node->backward));
  node->release();
  BOOST_TEST(node->released());
  BOOST_TEST(!node->backward);
  BOOST_TEST(node->saved_bytes() == 0u);
  BOOST_CHECK_EXCEPTION(y.sum().backward(), AutogradError, has_message("the graph through 'exp' (node"));

  // backward releases the nodes it ran through, unless asked to retain them.
  Tensor a = x * 3.0;
  a.sum().backward({}, {.retain_graph = true});
  BOOST_TEST(!a.grad_fn()->released());
  a.sum().backward();
  BOOST_TEST(a.grad_fn()->released());

  // A leaf's node is shared with later graphs: releasing it does nothing.
  const std::shared_ptr<Node> leaf = a.grad_fn()->inputs()[0];
  leaf->release();
  BOOST_TEST(!leaf->released());
}

BOOST_AUTO_TEST_CASE(a_node_sees_its_output_only_while_it_lives) {
  Tensor x = leaf64({1.0});
  std::shared_ptr<Node> node;
  {
    Tensor y = x * 2.0;
    node = y.grad_fn();
    BOOST_TEST(node->tensor().get() == y.impl());
  }
  BOOST_TEST(node->tensor() == nullptr);  // the node does not keep its output alive
}

BOOST_AUTO_TEST_CASE(a_leaf_shared_by_two_graphs_has_one_node_and_gets_both_gradients) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor y1 = x * 2.0;
  Tensor y2 = x * x;
  const Node* leaf = y1.grad_fn()->inputs()[0].get();
  BOOST_TEST(y2.grad_fn()->inputs()[0].get() == leaf);
  BOOST_TEST(y2.grad_fn()->inputs()[1].get() == leaf);
  BOOST_TEST(x.impl()->grad_accumulator.lock().get() == leaf);

  y1.sum().backward();  // dy1/dx = 2
  y2.sum().backward();  // dy2/dx = 2x
  check_values(x.grad(), {4.0, 6.0});

  // Once no graph uses it, the leaf node goes away; a new graph makes a new one.
  y1 = Tensor();
  y2 = Tensor();
  BOOST_TEST(x.impl()->grad_accumulator.expired());
  Tensor y3 = x * 5.0;
  BOOST_TEST(y3.grad_fn()->inputs()[0] != nullptr);
  BOOST_TEST(!x.impl()->grad_accumulator.expired());
}

BOOST_AUTO_TEST_CASE(the_engine_checks_the_shape_and_dtype_a_backward_returns) {
  Tensor x = leaf64({1.0, 2.0});
  Tensor y = doubled(x, [](const Tensor&, Grads& d) { d[0] = zeros({3}, {.dtype = kFloat64}); });
  BOOST_CHECK_EXCEPTION(y.sum().backward(), AutogradError,
                        has_message("backward of 'myop': the gradient for input 0 is [3] float64, expected [2] "
                                    "float64 (a backward function must return gradients shaped like its inputs)"));
  Tensor z = doubled(x, [](const Tensor& dY, Grads& d) { d[0] = dY.to(kFloat32); });
  BOOST_CHECK_EXCEPTION(z.sum().backward(), AutogradError,
                        has_message("the gradient for input 0 is [2] float32, expected [2] float64"));
  BOOST_TEST(!x.grad().defined());

  // An op that records no backward at all.
  Tensor w = x.detach() * 2.0;
  record("forgetful", w, {x});
  BOOST_CHECK_EXCEPTION(w.sum().backward(), AutogradError,
                        has_message("backward: op 'forgetful' (node"));
  BOOST_CHECK_EXCEPTION(w.sum().backward(), AutogradError, has_message("recorded no backward function"));

  // A correct custom backward works end to end.
  Tensor ok = doubled(x, [](const Tensor& dY, Grads& d) { d[0] = dY * 2.0; });
  (ok * ok).sum().backward();  // d/dx (2x)^2 = 8x
  check_values(x.grad(), {8.0, 16.0});
}

BOOST_AUTO_TEST_SUITE_END()
